//! Running the host's own program instead of the VM's: on request (`SHIMCTL_BYPASS=1`,
//! `shimctl bypass`) and inside a Lima guest. The search skips shims (the shim directory
//! and anything that is the same file as shimctl), and a pid-scoped guard stops a wrapper
//! that calls back into the shim from looping.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::error::{Failure, NOT_FOUND, Result};
use crate::exec::{self, Replacement};
use crate::locations;

pub const BYPASS_VAR: &str = "SHIMCTL_BYPASS";
/// Set on the program a bypass hands over to, as `PID:PATH`. Only the process with that pid
/// (which may exec the shim again) and its direct children can match it, so it is inert
/// further down and never changes what the agent's own subprocesses do.
pub const GUARD_VAR: &str = "SHIMCTL_BYPASS_PID";
/// Forces guest detection (`1` or `0`), for tests and unusual guests.
pub const IN_GUEST_VAR: &str = "SHIMCTL_IN_GUEST";

pub fn bypass_requested() -> bool {
    std::env::var_os(BYPASS_VAR).is_some_and(|v| !v.is_empty() && v != "0")
}

/// Seeing Lima's cloud-init mount or guest agent, a program knows it runs in a Lima VM.
pub fn in_lima_guest() -> bool {
    match std::env::var_os(IN_GUEST_VAR) {
        Some(v) if v == "1" => true,
        Some(v) if v == "0" => false,
        _ => Path::new("/mnt/lima-cidata").exists() || Path::new("/usr/local/bin/lima-guestagent").exists(),
    }
}

/// Fails when the program we bypassed to has called straight back into a shim.
pub fn check_loop(name: &str) -> Result<()> {
    let Some(guard) = std::env::var_os(GUARD_VAR) else { return Ok(()) };
    let bytes = guard.as_bytes();
    let Some(colon) = bytes.iter().position(|&b| b == b':') else { return Ok(()) };
    let Some(pid) = std::str::from_utf8(&bytes[..colon]).ok().and_then(|p| p.parse::<u32>().ok()) else {
        return Ok(());
    };
    // SAFETY: getppid cannot fail.
    let parent = unsafe { libc::getppid() } as u32;
    if pid == parent || pid == std::process::id() {
        let program = Path::new(OsStr::from_bytes(&bytes[colon + 1..]));
        return Err(Failure::cannot_run(format!(
            "loop: {} runs `{name}` again, which is the shim; make it call the real program by its full path, or take it off PATH",
            program.display()
        )));
    }
    Ok(())
}

fn canonical(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

/// Directories whose entries are shims, compared both as written and resolved (mise's rule).
fn shim_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(d) = locations::default_shim_dir() {
        dirs.push(canonical(&d));
        dirs.push(d);
    }
    dirs
}

/// The first `name` on PATH that is not a shim: not in a shim directory and not the same
/// file as the running shimctl (by canonical path or by device and inode).
pub fn find_real_program(name: &str) -> Option<PathBuf> {
    let me = std::env::current_exe().ok().map(|p| canonical(&p));
    let me_id = me.as_deref().and_then(|p| std::fs::metadata(p).ok()).map(|m| (m.dev(), m.ino()));
    let skip_dirs = shim_dirs();
    for dir in locations::path_dirs() {
        if skip_dirs.iter().any(|s| *s == dir || *s == canonical(&dir)) {
            continue;
        }
        let candidate = dir.join(name);
        let Ok(meta) = std::fs::metadata(&candidate) else { continue };
        if !crate::lima::is_executable(&candidate) {
            continue;
        }
        if me_id == Some((meta.dev(), meta.ino())) || me.as_deref() == Some(canonical(&candidate).as_path()) {
            continue;
        }
        return Some(candidate);
    }
    None
}

/// Replaces this process with the host's real `program`, arguments untouched.
pub fn run_real(program: &str, args: Vec<OsString>) -> Result<std::convert::Infallible> {
    let Some(path) = find_real_program(program) else {
        return Err(Failure::with_code(
            NOT_FOUND,
            format!("no `{program}` on PATH besides the shims; install it on this machine to run it outside the VM"),
        ));
    };
    let mut guard = format!("{}:", std::process::id()).into_bytes();
    guard.extend_from_slice(path.as_os_str().as_bytes());
    let mut argv = vec![OsString::from(program)];
    argv.extend(args);
    Err(exec::replace_process(Replacement {
        program: &path,
        argv,
        set_env: vec![(GUARD_VAR.into(), OsString::from_vec(guard))],
        remove_env: Vec::new(),
    }))
}
