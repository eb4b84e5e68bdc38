//! `shimctl share DIR`: share a host directory with the VM.

use std::path::{Path, PathBuf};

use argh::FromArgs;

use crate::config;
use crate::error::{Exit, Failure, Result};
use crate::exposure;
use crate::lima::{self, control};
use crate::locations;

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
}

/// A host directory: it must exist; symlinks resolved as Lima compares them.
pub fn host_dir(dir: &Path) -> Result<PathBuf> {
    std::fs::canonicalize(dir)
        .ok()
        .filter(|d| d.is_dir())
        .ok_or_else(|| Failure::usage(format!("{} is not a directory", dir.display())))
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
    if mounts
        .iter()
        .any(|m| m.resolved == dir && m.mount_point == mount_point && m.writable == writable)
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
            crate::quote::sh_quote(m.location.as_os_str().as_encoded_bytes())
        )));
    }
    for secret in exposure::exposed_secrets(&dir) {
        crate::tell!(
            "shimctl: warning: sharing {} exposes {secret} to the agent",
            dir.display()
        );
    }
    let tilde = locations::tilde_form(&dir);
    let expr = control::share_expr(
        &dir,
        &tilde.iter().map(PathBuf::as_path).collect::<Vec<_>>(),
        &mount_point,
        writable,
    )?;
    control::edit(&limactl, &vm, listed.status == "Running", &expr)?;
    crate::say!(
        "shared {} with VM `{vm}` at {} ({})",
        dir.display(),
        mount_point.display(),
        if writable { "writable" } else { "read-only" }
    );
    Ok(Exit::Success)
}

/// `--at`: absolute, or `~`/`~/x` under the guest user's home as Lima reports it.
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
    if path.is_absolute() {
        Ok(path)
    } else {
        Err(Failure::usage(format!(
            "--at {at}: give an absolute guest path, or one starting with ~/"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_expands_the_guest_home() {
        assert_eq!(
            guest_path("~/.claude/skills", Some("/home/me.guest")).unwrap(),
            PathBuf::from("/home/me.guest/.claude/skills")
        );
        assert_eq!(
            guest_path("~", Some("/home/me.guest")).unwrap(),
            PathBuf::from("/home/me.guest")
        );
        assert_eq!(guest_path("/work", None).unwrap(), PathBuf::from("/work"));
        assert!(guest_path("work", None).is_err());
        assert!(guest_path("~/x", None).is_err());
        assert_eq!(guest_path("~x", None).unwrap_err().exit, Exit::Usage);
    }
}
