//! Driving limactl for `shimctl` commands (never on the shim's hot path): VM life cycle,
//! mount edits, and questions asked inside the guest.

use std::ffi::{OsStr, OsString};
use std::path::Path;

use super::{Limactl, process};
use crate::error::{Failure, Result};
use crate::quote::yq_string;

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

/// Replaces any mount of `location` (as written in `also_written`, too) with a new one.
pub fn share_expr(
    location: &Path,
    also_written: &[&Path],
    mount_point: &Path,
    writable: bool,
) -> Result<String> {
    let mut olds = vec![location];
    olds.extend_from_slice(also_written);
    Ok(format!(
        "{} | .mounts += [{{\"location\": {}, \"mountPoint\": {}, \"writable\": {writable}}}]",
        remove_mounts_expr(&olds)?,
        yq_path(location)?,
        yq_path(mount_point)?
    ))
}

/// Applies a yq expression to the VM's config, stopping it first if it runs (Lima refuses
/// to edit a running VM) and starting it again afterwards.
pub fn edit(limactl: &Limactl, vm: &str, running: bool, expr: &str) -> Result<()> {
    if running {
        crate::say!("stopping VM `{vm}` to change its mounts (it starts again afterwards)");
        run(limactl, &["stop", "--tty=false", vm])?;
    }
    let edited = run(limactl, &["edit", "--tty=false", vm, "--set", expr]);
    if running {
        run(limactl, &["start", "--tty=false", vm])?;
    }
    edited
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn share_expression_removes_then_adds() {
        let e = share_expr(
            Path::new("/a b/c,d"),
            &[Path::new("~/c,d")],
            Path::new("/g"),
            true,
        )
        .unwrap();
        assert_eq!(
            e,
            r#"del(.mounts[] | select(.location == "/a b/c,d" or .location == "~/c,d")) | .mounts += [{"location": "/a b/c,d", "mountPoint": "/g", "writable": true}]"#
        );
    }

    #[test]
    fn paths_with_newlines_are_refused() {
        assert!(share_expr(Path::new("/a\nb"), &[], Path::new("/g"), false).is_err());
    }
}
