//! Driving limactl for `shimctl` commands (never on the shim's hot path): VM life cycle,
//! mount edits, and questions asked inside the guest.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStringExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::{Limactl, process};
use crate::error::{Failure, Result};
use crate::quote::yq_string;
use crate::signals;

/// Runs `limactl ARGS...` with the terminal attached, so Lima's progress streams through.
pub fn run<S: AsRef<OsStr>>(limactl: &Limactl, args: &[S]) -> Result<()> {
    let status = process::attached(&limactl.path, args, limactl.vm_timeout)?;
    if status.success() {
        Ok(())
    } else {
        let args: Vec<OsString> = args.iter().map(|a| a.as_ref().to_os_string()).collect();
        Err(Failure::cannot_run(format!(
            "`{}` failed; see Lima's message above",
            process::shown(&args)
        )))
    }
}

/// How a long limactl step shows itself: Lima's own lines (`-v`), or shimctl's one line.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    Lima,
    Quiet,
}

/// Runs a long limactl step (`create`, `start`, `stop`, ...) as one line of shimctl's:
/// DOING with the time elapsed, redrawn on a terminal, a start and an end line otherwise.
/// Lima's lines go to a log in shimctl's cache; they are shown when the step fails, and
/// streamed as they come with `Progress::Lima`.
pub fn step<S: AsRef<OsStr>>(
    limactl: &Limactl,
    doing: &str,
    args: &[S],
    progress: Progress,
) -> Result<()> {
    use std::io::{IsTerminal, Write};
    let started = std::time::Instant::now();
    let verb = args
        .first()
        .and_then(|a| a.as_ref().to_str())
        .unwrap_or("limactl");
    let log_path = crate::host_dirs::cache_dir().map(|d| d.join(format!("limactl-{verb}.log")));
    let log = log_path.as_ref().and_then(|path| {
        std::fs::create_dir_all(path.parent()?).ok()?;
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(path)
            .ok()
    });
    let (Progress::Quiet, Some(log), Some(log_path)) = (progress, log, &log_path) else {
        crate::tell!("shimctl: {doing}...");
        run(limactl, args)?;
        crate::tell!("shimctl: {doing}: done in {}", elapsed(started.elapsed()));
        return Ok(());
    };
    let terminal = std::io::stderr().is_terminal();
    if !terminal {
        crate::tell!("shimctl: {doing}...");
    }
    let frames = ['|', '/', '-', '\\'];
    let mut frame = 0;
    let status = process::logged(&limactl.path, args, log, limactl.vm_timeout, |t| {
        if terminal {
            frame = (frame + 1) % frames.len();
            let _ = write!(
                std::io::stderr(),
                "\r\x1b[Kshimctl: {doing} {} {}",
                frames[frame],
                elapsed(t)
            );
        }
    });
    if terminal {
        let _ = write!(std::io::stderr(), "\r\x1b[K");
    }
    let args: Vec<OsString> = args.iter().map(|a| a.as_ref().to_os_string()).collect();
    let shown_log = crate::host_dirs::tilde_form(log_path).unwrap_or_else(|| log_path.clone());
    match status {
        Ok(status) if status.success() => {
            crate::tell!("shimctl: {doing}: done in {}", elapsed(started.elapsed()));
            Ok(())
        }
        Ok(_) => {
            crate::tell!(
                "shimctl: {doing}: failed after {}",
                elapsed(started.elapsed())
            );
            let text = std::fs::read(log_path).unwrap_or_default();
            let text = String::from_utf8_lossy(&text);
            let lines: Vec<&str> = text.lines().collect();
            for line in &lines[lines.len().saturating_sub(LOG_TAIL)..] {
                crate::tell!("  {line}");
            }
            Err(Failure::cannot_run(format!(
                "`{}` failed; Lima's lines are above, all of them in {}",
                process::shown(&args),
                shown_log.display()
            )))
        }
        Err(e) => Err(e),
    }
}

/// Lima's last lines shown when a step fails: its error and what led to it.
const LOG_TAIL: usize = 20;

/// `42 s`, `3 min 05 s`.
fn elapsed(t: std::time::Duration) -> String {
    let s = t.as_secs();
    if s < 60 {
        format!("{s} s")
    } else {
        format!("{} min {:02} s", s / 60, s % 60)
    }
}

/// Runs COMMAND in the guest (workdir `/`) and returns its stdout; None when it failed or
/// did not answer in time.
pub fn guest_output(limactl: &Limactl, vm: &str, command: &[&str]) -> Option<String> {
    let mut args: Vec<OsString> = vec!["shell".into(), "--workdir".into(), "/".into(), vm.into()];
    args.extend(command.iter().map(OsString::from));
    let out = process::output(&limactl.path, &args, None, limactl.query_timeout).ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A yq string for a path, or a message saying why the path cannot go into Lima's YAML.
fn yq_path(path: &Path) -> Result<String> {
    path.to_str().and_then(yq_string).ok_or_else(|| {
        Failure::usage(format!(
            "{} cannot be shared: Lima's config holds only text without control characters",
            path.display()
        ))
    })
}

/// `del(...)` of every mount whose location is one of `locations`.
pub fn remove_mounts_expr(locations: &[&Path]) -> Result<String> {
    let conds: Vec<String> = locations
        .iter()
        .map(|l| yq_path(l).map(|q| format!(".location == {q}")))
        .collect::<Result<_>>()?;
    Ok(format!("del(.mounts[] | select({}))", conds.join(" or ")))
}

/// The ways lima.yaml may spell a mount Lima reports at `location`: as reported, with a
/// trailing slash, and as `~/...` (Lima expands `~` when it reports a mount). Deleting by
/// each keeps a second, differently written mount of the same directory from surviving.
pub fn written_forms(location: &Path) -> Vec<PathBuf> {
    let mut forms = vec![location.to_path_buf()];
    forms.extend(crate::host_dirs::tilde_form(location));
    let with_slash: Vec<PathBuf> = forms
        .iter()
        .map(|f| {
            let mut s = f.clone().into_os_string();
            s.push("/");
            PathBuf::from(s)
        })
        .collect();
    forms.extend(with_slash);
    forms.dedup();
    forms
}

/// Removes every mount written as one of `olds`, then adds `location` at `mount_point`.
pub fn share_expr(
    olds: &[&Path],
    location: &Path,
    mount_point: &Path,
    writable: bool,
) -> Result<String> {
    let add = format!(
        ".mounts += [{{\"location\": {}, \"mountPoint\": {}, \"writable\": {writable}}}]",
        yq_path(location)?,
        yq_path(mount_point)?
    );
    Ok(if olds.is_empty() {
        add
    } else {
        format!("{} | {add}", remove_mounts_expr(olds)?)
    })
}

/// Applies a yq expression to the VM's config, all or nothing: Lima refuses to edit a
/// running VM, so a running one is stopped first and started again afterwards, whatever
/// happens in between. `verify` checks the result as Lima reports it; if the edit fails,
/// the result is not what was meant, or the command is interrupted (Ctrl-C, SIGTERM, a
/// closed terminal) before the edit is through, lima.yaml gets its old contents back.
pub fn edit(
    limactl: &Limactl,
    vm: &str,
    running: bool,
    expr: &str,
    verify: &dyn Fn() -> Result<()>,
) -> Result<()> {
    let _deferred = signals::defer();
    let yaml = super::instance_dir(vm)?.join("lima.yaml");
    let backup = std::fs::read(&yaml)
        .map_err(|e| Failure::cannot_run(format!("cannot read {}: {e}", yaml.display())))?;
    let mut stopped = Ok(());
    if running {
        crate::say!("stopping VM `{vm}` to change its mounts (it starts again afterwards)");
        stopped = run(limactl, &["stop", "--tty=false", vm]);
    }
    let outcome = stopped
        .and_then(|_| interrupted())
        .and_then(|_| run(limactl, &["edit", "--tty=false", vm, "--set", expr]))
        .and_then(|_| verify())
        .and_then(|_| interrupted());
    let mut restored = true;
    if outcome.is_err() && std::fs::read(&yaml).ok().as_deref() != Some(backup.as_slice()) {
        restored = restore(&yaml, &backup).is_ok();
    }
    let restarted = !running || restart(limactl, vm);
    if !restored {
        crate::tell!(
            "shimctl: could not put back {}; its old contents are lost, check the VM's mounts with `limactl list --json {vm}`",
            yaml.display()
        );
    }
    if !restarted {
        crate::tell!(
            "shimctl: VM `{vm}` is stopped and could not be started again; start it: shimctl vm start"
        );
    }
    if let Some(signal) = signals::received() {
        return Err(Failure::interrupted(format!(
            "interrupted by {}; {}",
            signals::name(signal),
            if outcome.is_ok() {
                "the change was made"
            } else {
                "nothing was changed"
            }
        )));
    }
    outcome
}

fn interrupted() -> Result<()> {
    match signals::received() {
        Some(signal) => Err(Failure::interrupted(format!(
            "interrupted by {}",
            signals::name(signal)
        ))),
        None => Ok(()),
    }
}

/// Writes `bytes` back over `path` atomically, keeping its permissions.
fn restore(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("yaml.shimctl-restore");
    let perms = std::fs::metadata(path).map(|m| m.permissions()).ok();
    std::fs::write(&tmp, bytes)?;
    if let Some(p) = perms {
        std::fs::set_permissions(&tmp, p)?;
    }
    std::fs::rename(&tmp, path)
}

/// Starts the VM again after an edit, in its own process group so that a second Ctrl-C
/// does not stop the start half-way. True when it runs.
fn restart(limactl: &Limactl, vm: &str) -> bool {
    process::detached(
        &limactl.path,
        &["start", "--tty=false", vm],
        limactl.vm_timeout,
    )
    .is_ok_and(|s| s.success())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn share_expression_removes_then_adds() {
        let e = share_expr(
            &[Path::new("/a b/c,d"), Path::new("~/c,d")],
            Path::new("/a b/c,d"),
            Path::new("/g"),
            true,
        )
        .unwrap();
        let q = |p: &str| yq_string(p).unwrap();
        assert_eq!(
            e,
            format!(
                r#"del(.mounts[] | select(.location == {} or .location == {})) | .mounts += [{{"location": {}, "mountPoint": {}, "writable": true}}]"#,
                q("/a b/c,d"),
                q("~/c,d"),
                q("/a b/c,d"),
                q("/g")
            )
        );
    }

    #[test]
    fn paths_with_newlines_are_refused() {
        assert!(share_expr(&[], Path::new("/a\nb"), Path::new("/g"), false).is_err());
    }
}

/// The sessions of VM `vm` that run from this host: each `limactl shell` (the shim's door,
/// `shimctl shell` and `run`) and each ssh of the ssh door, by what it runs (an agent's
/// name, `shell`, or `agent` when the ssh door hides it). Read from /proc; where there is
/// none (macOS), none are found.
pub fn sessions(vm: &str) -> Vec<String> {
    let me = std::process::id().to_string();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let ssh_host = format!("lima-{vm}");
    // Only this LIMA_HOME's VM of that name: another Lima home may hold one too.
    let ours = crate::host_dirs::lima_home();
    let lima_home_of = |proc_dir: &Path| -> Option<PathBuf> {
        let environ = std::fs::read(proc_dir.join("environ")).ok()?;
        let var = |name: &[u8]| {
            environ
                .split(|&b| b == 0)
                .find_map(|kv| kv.strip_prefix(name).filter(|v| !v.is_empty()))
                .map(|v| PathBuf::from(std::ffi::OsString::from_vec(v.to_vec())))
        };
        var(b"LIMA_HOME=").or_else(|| var(b"HOME=").map(|h| h.join(".lima")))
    };
    let instance = ours.as_ref().map(|h| h.join(vm));
    let mut found = Vec::new();
    for entry in dir.flatten() {
        let name = entry.file_name();
        if name.to_string_lossy() == me
            || !name.to_string_lossy().bytes().all(|b| b.is_ascii_digit())
        {
            continue;
        }
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let words: Vec<&[u8]> = cmdline
            .split(|&b| b == 0)
            .filter(|w| !w.is_empty())
            .collect();
        let Some(what) = session_of(&words, vm.as_bytes(), ssh_host.as_bytes()) else {
            continue;
        };
        // ssh names the instance's ssh.config; limactl's environment names its LIMA_HOME.
        let same_home =
            if what == "agent" && words.iter().any(|w| *w == b"ssh" || w.ends_with(b"/ssh")) {
                instance.as_ref().is_some_and(|d| {
                    let d = d.as_os_str().as_encoded_bytes();
                    words.iter().any(|w| w.windows(d.len()).any(|x| x == d))
                })
            } else {
                lima_home_of(&entry.path()) == ours
            };
        if same_home {
            found.push(what);
        }
    }
    found.sort();
    found
}

/// What one process's command line runs in the VM, if it is a session of it.
fn session_of(words: &[&[u8]], vm: &[u8], ssh_host: &[u8]) -> Option<String> {
    let base = |w: &[u8]| -> Vec<u8> { w.rsplit(|&b| b == b'/').next().unwrap_or(w).to_vec() };
    if words.first().is_some_and(|w| base(w) == b"ssh") {
        // A session runs a command after the host; the door's own ControlMaster
        // (`ssh ... -N -f lima-VM`) runs none and outlives every session.
        let host = words.iter().position(|w| *w == ssh_host)?;
        return (host + 1 < words.len()).then(|| "agent".to_string());
    }
    // limactl itself, or a script of that name run by its interpreter (the test stand-in).
    let at = words.iter().take(2).position(|w| base(w) == b"limactl")?;
    let rest = &words[at + 1..];
    if rest.first() != Some(&b"shell".as_slice()) {
        return None;
    }
    // `shell [--workdir DIR] [--preserve-env] [--start] VM COMMAND...`
    let mut i = 1;
    while i < rest.len() && rest[i].starts_with(b"--") {
        i += if rest[i] == b"--workdir" || rest[i] == b"--shell" {
            2
        } else {
            1
        };
    }
    if rest.get(i) != Some(&vm) {
        return None;
    }
    let command = &rest[i + 1..];
    let text = |w: &[u8]| String::from_utf8_lossy(w).into_owned();
    if command.iter().any(|w| *w == b"shimctl-staged") {
        return Some("agent".into());
    }
    if let Some(s) = command.iter().position(|w| *w == b"shimctl-sandbox") {
        let after = &command[s..];
        let dashes = after.iter().position(|w| *w == b"--")?;
        return after.get(dashes + 1).map(|w| text(&base(w)));
    }
    match command.first() {
        None => Some("shell".into()),
        Some(w) if w.contains(&b'=') => Some("shell".into()),
        Some(w) => Some(text(&base(w))),
    }
}

/// Before stopping VM `vm` (`doing` says why): the sessions running in it end with it, so
/// they are named, and on a terminal the user is asked; without one, only `--yes` goes on.
pub fn may_stop(vm: &str, doing: &str, yes: bool) -> Result<bool> {
    let running = sessions(vm);
    if running.is_empty() {
        return Ok(true);
    }
    let mut names = running.clone();
    names.dedup();
    let what = format!(
        "{} session{} of VM `{vm}` run{} on this machine ({}); {doing} ends {}",
        running.len(),
        if running.len() == 1 { "" } else { "s" },
        if running.len() == 1 { "s" } else { "" },
        names.join(", "),
        if running.len() == 1 { "it" } else { "them" }
    );
    if yes {
        crate::tell!("shimctl: {what}");
        return Ok(true);
    }
    crate::ui::confirm(
        &format!("shimctl: {what}. Go on?"),
        format!("{what}; end them first, or pass --yes"),
    )
}

#[cfg(test)]
mod session_tests {
    use super::*;

    fn of(line: &[&str]) -> Option<String> {
        let words: Vec<&[u8]> = line.iter().map(|w| w.as_bytes()).collect();
        session_of(&words, b"sandbox", b"lima-sandbox")
    }

    #[test]
    fn sessions_are_told_by_what_they_run() {
        let launcher = [
            "/usr/bin/limactl",
            "shell",
            "--workdir",
            "/p",
            "--start",
            "sandbox",
            "/bin/bash",
            "-c",
            "SCRIPT",
            "shimctl-sandbox",
            "--vm",
            "sandbox",
            "--need",
            "bwrap",
            "--",
            "claude",
            "--dangerously-skip-permissions",
        ];
        assert_eq!(of(&launcher).as_deref(), Some("claude"));
        assert_eq!(
            of(&[
                "limactl",
                "shell",
                "--workdir",
                "/p",
                "sandbox",
                "codex",
                "--yolo"
            ])
            .as_deref(),
            Some("codex")
        );
        assert_eq!(
            of(&[
                "/usr/bin/python3",
                "/t/limactl",
                "shell",
                "--workdir",
                "/",
                "sandbox"
            ])
            .as_deref(),
            Some("shell")
        );
        assert_eq!(
            of(&[
                "ssh",
                "-F",
                "/x/ssh.config",
                "lima-sandbox",
                "--",
                "cd /p; exec claude"
            ])
            .as_deref(),
            Some("agent")
        );
        assert_eq!(
            of(&["limactl", "shell", "--workdir", "/p", "other", "claude"]),
            None
        );
        assert_eq!(of(&["limactl", "list", "--json", "sandbox"]), None);
        assert_eq!(of(&["ssh", "lima-other"]), None);
        // The ssh door's ControlMaster is no session: it runs nothing.
        assert_eq!(
            of(&[
                "ssh",
                "-F",
                "/x/ssh.config",
                "-o",
                "ControlMaster=yes",
                "-N",
                "-f",
                "lima-sandbox"
            ]),
            None
        );
    }
}
