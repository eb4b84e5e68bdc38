//! Running the host's own program instead of the VM's: on request (`SHIMCTL_BYPASS=1`,
//! `shimctl bypass`) and inside a Lima guest. The search skips shims (the shim directory
//! and anything that is the same file as shimctl), and a hop count stops a wrapper that
//! calls back into the shim from looping.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use crate::error::{Failure, Result};
use crate::exec::{self, Replacement};
use crate::host_dirs;
use crate::shim_dir::{Me, canonical};

pub const BYPASS_VAR: &str = "SHIMCTL_BYPASS";
/// Set on the program a bypass hands over to, as `HOPS:PATH`: how many bypasses are nested
/// here, and the last program. It never changes which program runs, only how deep bypasses
/// may nest, so an agent's subshells can run `claude` as often as they like (each at one
/// level deeper), while a wrapper that calls back into the shim, however indirectly, is
/// stopped after a few hops instead of looping. It never reaches the VM.
pub const GUARD_VAR: &str = "SHIMCTL_BYPASS_HOPS";
/// Forces guest detection (`1` or `0`), for tests and unusual guests.
pub const IN_GUEST_VAR: &str = "SHIMCTL_IN_GUEST";
/// Nesting allowed before it counts as a loop: a wrapper that adds flags and calls the next
/// program is fine, and so is an agent running itself; a chain this deep is not.
const MAX_HOPS: u32 = 4;

/// `SHIMCTL_BYPASS`: `1` bypasses; unset, empty or `0` does not. Anything else is refused,
/// not guessed: `SHIMCTL_BYPASS=false` meaning "bypass" would run the agent on the host
/// against the user's evident wish.
fn bypass_requested() -> Result<bool> {
    match std::env::var_os(BYPASS_VAR) {
        None => Ok(false),
        Some(v) if v.is_empty() || v == "0" => Ok(false),
        Some(v) if v == "1" => Ok(true),
        Some(v) => Err(Failure::cannot_run(format!(
            "{BYPASS_VAR}=`{}` is not understood: set it to 1 to run the host's program, or 0 (or unset it) to run in the VM",
            v.to_string_lossy().escape_debug()
        ))),
    }
}

/// Why an agent runs on this machine instead of in the VM, if it does.
pub fn runs_here() -> Result<Option<&'static str>> {
    Ok(if bypass_requested()? {
        Some("SHIMCTL_BYPASS=1")
    } else if in_lima_guest() {
        Some("this is a Lima guest")
    } else {
        None
    })
}

/// Seeing Lima's cloud-init mount or guest agent, a program knows it runs in a Lima VM.
fn in_lima_guest() -> bool {
    match std::env::var_os(IN_GUEST_VAR) {
        Some(v) if v == "1" => true,
        Some(v) if v == "0" => false,
        _ => {
            Path::new("/mnt/lima-cidata").exists()
                || Path::new("/usr/local/bin/lima-guestagent").exists()
        }
    }
}

/// How many bypasses are nested above this process, and the program of the last one.
fn previous_hops() -> Option<(u32, PathBuf)> {
    let guard = std::env::var_os(GUARD_VAR)?;
    let (hops, program) = guard
        .as_bytes()
        .split_at(guard.as_bytes().iter().position(|&b| b == b':')?);
    let hops: u32 = std::str::from_utf8(hops).ok()?.parse().ok()?;
    Some((hops, PathBuf::from(OsStr::from_bytes(&program[1..]))))
}

/// Directories whose entries are shims, compared both as written and resolved (mise's rule).
fn shim_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(d) = host_dirs::default_shim_dir() {
        dirs.push(canonical(&d));
        dirs.push(d);
    }
    dirs
}

/// The first `name` on PATH that is not a shim: not in a shim directory and not the same
/// file as the running shimctl (by canonical path or by device and inode).
pub fn find_real_program(name: &str) -> Option<PathBuf> {
    let me = Me::find();
    let skip_dirs = shim_dirs();
    host_dirs::executables_on_path(Path::new(name)).find(|candidate| {
        let dir = candidate.parent().unwrap_or(Path::new(""));
        let in_shim_dir = skip_dirs.iter().any(|s| s == dir || *s == canonical(dir));
        let is_shim = me.as_ref().is_some_and(|me| me.is_same_file(candidate));
        !in_shim_dir && !is_shim
    })
}

/// Replaces this process with the host's real `program`, arguments untouched.
pub fn run_real(program: &str, args: Vec<OsString>) -> Result<std::convert::Infallible> {
    let hops = match previous_hops() {
        Some((hops, last)) if hops >= MAX_HOPS => {
            return Err(Failure::cannot_run(format!(
                "loop: {} keeps running `{program}`, which is the shim again; make it call the real program by its full path, or take it off PATH",
                last.display()
            )));
        }
        Some((hops, _)) => hops + 1,
        None => 1,
    };
    let Some(path) = find_real_program(program) else {
        return Err(Failure::not_found(format!(
            "no `{program}` on PATH besides the shims; install it on this machine to run it outside the VM"
        )));
    };
    let mut guard = format!("{hops}:").into_bytes();
    guard.extend_from_slice(path.as_os_str().as_bytes());
    Err(exec::replace_process(Replacement {
        program: &path,
        arg0: OsString::from(program),
        args,
        // Both ways of asking (`shimctl bypass`, SHIMCTL_BYPASS=1) leave the same mark, so
        // a host wrapper that runs `claude` again behaves the same under either: it stays on
        // the host, and the hop count stops it if it loops.
        set_env: vec![
            (GUARD_VAR.into(), OsString::from_vec(guard)),
            (BYPASS_VAR.into(), "1".into()),
        ],
        remove_env: Vec::new(),
    }))
}
