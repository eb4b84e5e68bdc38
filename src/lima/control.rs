//! Driving limactl for `shimctl` commands (never on the shim's hot path): VM life cycle,
//! mount edits, and questions asked inside the guest.

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::error::{Failure, Result};
use crate::quote::yq_string;

/// Runs `limactl ARGS...` with the terminal attached, so Lima's progress streams through.
pub fn run<I, S>(limactl: &Path, args: I) -> Result<()>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let args: Vec<S> = args.into_iter().collect();
    let shown: Vec<String> = args
        .iter()
        .map(|a| a.as_ref().to_string_lossy().into_owned())
        .collect();
    let status = Command::new(limactl)
        .args(&args)
        .status()
        .map_err(|e| Failure::with_code(1, format!("cannot run {}: {e}", limactl.display())))?;
    if status.success() {
        Ok(())
    } else {
        Err(Failure::with_code(
            status.code().unwrap_or(1),
            format!(
                "`limactl {}` failed; see Lima's message above",
                shown.join(" ")
            ),
        ))
    }
}

/// Runs COMMAND in the guest (workdir `/`) and returns its stdout; None when it failed.
pub fn guest_output(limactl: &Path, vm: &str, command: &[&str]) -> Option<String> {
    let out = Command::new(limactl)
        .args(["shell", "--workdir", "/", vm])
        .args(command)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A yq string for a path, or a message saying why the path cannot go into Lima's YAML.
fn yq_path(path: &Path) -> Result<String> {
    path.to_str().and_then(yq_string).ok_or_else(|| {
        Failure::with_code(
            1,
            format!(
                "{} cannot be shared: Lima's config holds only text without control characters",
                path.display()
            ),
        )
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
pub fn edit(limactl: &Path, vm: &str, running: bool, expr: &str) -> Result<()> {
    if running {
        println!("stopping VM `{vm}` to change its mounts (it starts again afterwards)");
        run(limactl, ["stop", "--tty=false", vm])?;
    }
    let edited = run(limactl, ["edit", "--tty=false", vm, "--set", expr]);
    if running {
        run(limactl, ["start", "--tty=false", vm])?;
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
