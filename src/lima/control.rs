//! Driving limactl for `shimctl` commands (never on the shim's hot path): VM life cycle,
//! mount edits, and questions asked inside the guest.

use std::ffi::{OsStr, OsString};
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
    forms.extend(crate::locations::tilde_form(location));
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
