//! `shimctl share DIR`: share a host directory with the VM.

use std::path::{Component, Path, PathBuf};

use argh::FromArgs;

use crate::config;
use crate::error::{Exit, Failure, Result};
use crate::lima::{self, Mount, control};
use crate::quote::sh_quote;
use crate::share_risks;

/// Share a host directory with the VM, writable unless --read-only, at the same path unless
/// --at is given (`~` there is the guest user's home).
#[derive(FromArgs)]
#[argh(subcommand, name = "share", help_triggers("-h", "--help", "help"))]
pub struct Args {
    /// the host directory
    #[argh(positional)]
    dir: PathBuf,
    /// where the guest sees it (default: the same path)
    #[argh(option)]
    at: Option<String>,
    /// the agent can read but not write it
    #[argh(switch)]
    read_only: bool,
    /// share it even if it holds secrets (the home directory, .ssh, .aws, ...), and
    /// restart the VM even though agent sessions run in it
    #[argh(switch)]
    yes: bool,
}

/// A host directory: it must exist; symlinks, `..` and trailing slashes resolved as Lima
/// resolves them, so every spelling of one directory is one share.
pub fn host_dir(dir: &Path) -> Result<PathBuf> {
    std::fs::canonicalize(dir)
        .ok()
        .filter(|d| d.is_dir())
        .ok_or_else(|| Failure::usage(format!("{} is not a directory", dir.display())))
}

fn describe(m: &Mount) -> String {
    format!(
        "{} at {} ({})",
        m.location.display(),
        m.mount_point.display(),
        if m.writable { "writable" } else { "read-only" }
    )
}

pub fn run(args: Args) -> Result<Exit> {
    let loaded = config::load()?;
    let (limactl, vm) = lima::target(&loaded)?;
    lima::require_vm(&vm)?;
    let dir = host_dir(&args.dir)?;
    let listed = lima::instance::query(&limactl, &vm)?;
    let mount_point = match args.at.as_deref() {
        None => dir.clone(),
        Some(at) => guest_path(at, listed.instance.guest_home.as_deref())?,
    };
    let writable = !args.read_only;

    let mounts = &listed.instance.mounts;
    let same: Vec<&Mount> = mounts.iter().filter(|m| m.resolved == dir).collect();
    if let [m] = same.as_slice()
        && m.mount_point == mount_point
        && m.writable == writable
    {
        crate::say!(
            "{} is already shared with VM `{vm}` at {}",
            dir.display(),
            mount_point.display()
        );
        return Ok(Exit::Success);
    }
    if let Some(m) = mounts.iter().find(|m| {
        m.resolved != dir && (dir.starts_with(&m.resolved) || m.resolved.starts_with(&dir))
    }) {
        return Err(Failure::refused(format!(
            "{} overlaps {}, which VM `{vm}` already shares, and Lima cannot mount overlapping directories; unshare it first: shimctl unshare {}",
            dir.display(),
            m.location.display(),
            sh_quote(m.location.as_os_str().as_encoded_bytes())
        )));
    }
    if let Some(m) = mounts
        .iter()
        .find(|m| m.resolved != dir && m.mount_point == mount_point)
    {
        return Err(Failure::refused(format!(
            "the guest path {} already shows {}; pick another with --at",
            mount_point.display(),
            m.location.display()
        )));
    }
    let own = share_risks::own_files();
    let held = share_risks::own_files_in(&dir, &own);
    let mut secrets = share_risks::exposed_secrets(&dir);
    if !held.is_empty() {
        let list: Vec<String> = held
            .iter()
            .map(|(what, p)| format!("{what} ({})", p.display()))
            .collect();
        if writable {
            return Err(Failure::refused(format!(
                "sharing {} writable would let the agent change {}, which the host runs; share it --read-only, or a directory that does not hold them",
                dir.display(),
                list.join(", ")
            )));
        }
        secrets.extend(list);
    }
    if !secrets.is_empty() {
        if !args.yes && !confirm(&dir, &secrets)? {
            crate::say!("left VM `{vm}` as it is");
            return Ok(Exit::Refused);
        }
        crate::tell!(
            "shimctl: warning: sharing {} exposes {} to the agent",
            dir.display(),
            secrets.join(", ")
        );
    }

    let mut olds: Vec<PathBuf> = control::written_forms(&dir);
    for m in &same {
        olds.extend(control::written_forms(&m.location));
    }
    let olds: Vec<&Path> = olds.iter().map(PathBuf::as_path).collect();
    let expr = control::share_expr(&olds, &dir, &mount_point, writable)?;
    let verify = || {
        let after = lima::instance::query(&limactl, &vm)?;
        let now: Vec<&Mount> = after
            .instance
            .mounts
            .iter()
            .filter(|m| m.resolved == dir)
            .collect();
        match now.as_slice() {
            [m] if m.mount_point == mount_point && m.writable == writable => Ok(()),
            _ => Err(Failure::refused(format!(
                "VM `{vm}` would still share {} as {}, which shimctl cannot replace (Lima's global config, $LIMA_HOME/_config, may hold it); nothing was changed",
                dir.display(),
                now.iter()
                    .map(|m| describe(m))
                    .collect::<Vec<_>>()
                    .join(" and ")
            ))),
        }
    };
    let running = listed.status == "Running";
    if running && !control::may_stop(&vm, "sharing (the VM restarts)", args.yes)? {
        crate::say!("nothing was changed");
        return Ok(Exit::Refused);
    }
    control::edit(&limactl, &vm, running, &expr, &verify)?;
    let new = format!(
        "{} at {} ({})",
        dir.display(),
        mount_point.display(),
        if writable { "writable" } else { "read-only" }
    );
    match same.as_slice() {
        [] => crate::say!("shared {new} with VM `{vm}`"),
        old => crate::say!(
            "VM `{vm}` now shares {new}, instead of {}",
            old.iter()
                .map(|m| describe(m))
                .collect::<Vec<_>>()
                .join(" and ")
        ),
    }
    Ok(Exit::Success)
}

/// Asks on a terminal; without one, sharing secrets needs --yes.
fn confirm(dir: &Path, secrets: &[String]) -> Result<bool> {
    let what = format!(
        "sharing {} exposes {} to the agent",
        dir.display(),
        secrets.join(", ")
    );
    crate::ui::confirm(
        &format!("{what}. Share it anyway?"),
        format!("{what}; share a project directory instead, or pass --yes to share it anyway"),
    )
}

/// `--at`: absolute, or `~`/`~/x` under the guest user's home as Lima reports it;
/// `.` and repeated slashes dropped; `..` (where would it lead?) and `/` itself refused.
fn guest_path(at: &str, guest_home: Option<&str>) -> Result<PathBuf> {
    let path = match at.strip_prefix('~') {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => {
            let home = guest_home.ok_or_else(|| {
                Failure::cannot_run(
                    "Lima did not report the guest user's home; give --at as an absolute path",
                )
            })?;
            PathBuf::from(format!("{home}{rest}"))
        }
        _ => PathBuf::from(at),
    };
    if !path.is_absolute() {
        return Err(Failure::usage(format!(
            "--at {at}: give an absolute guest path, or one starting with ~/"
        )));
    }
    let mut normal = PathBuf::from("/");
    for component in path.components() {
        match component {
            Component::Normal(part) => normal.push(part),
            Component::ParentDir => {
                return Err(Failure::usage(format!(
                    "--at {at}: `..` is not allowed; write the guest path without it"
                )));
            }
            _ => {}
        }
    }
    if normal == Path::new("/") {
        return Err(Failure::usage(format!(
            "--at {at}: a share cannot cover the guest's whole file system; give a directory"
        )));
    }
    Ok(normal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_expands_the_guest_home_and_is_normalised() {
        assert_eq!(
            guest_path("~/.claude/skills", Some("/home/me.guest")).unwrap(),
            PathBuf::from("/home/me.guest/.claude/skills")
        );
        assert_eq!(
            guest_path("~", Some("/home/me.guest")).unwrap(),
            PathBuf::from("/home/me.guest")
        );
        assert_eq!(guest_path("/work", None).unwrap(), PathBuf::from("/work"));
        assert_eq!(
            guest_path("//work/./x//", None).unwrap(),
            PathBuf::from("/work/x")
        );
        assert!(guest_path("work", None).is_err());
        assert!(guest_path("~/x", None).is_err());
        assert_eq!(guest_path("~x", None).unwrap_err().exit, Exit::Usage);
        assert_eq!(
            guest_path("/work/../etc", None).unwrap_err().exit,
            Exit::Usage
        );
        assert_eq!(guest_path("/", None).unwrap_err().exit, Exit::Usage);
        assert_eq!(guest_path("/./", None).unwrap_err().exit, Exit::Usage);
    }
}
