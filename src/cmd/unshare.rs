//! `shimctl unshare DIR`: stop sharing a host directory with the VM.

use std::path::{Path, PathBuf};

use argh::FromArgs;

use crate::config;
use crate::error::{Exit, Failure, Result};
use crate::lima::{self, control};
use crate::quote::sh_quote;

/// Stop sharing a host directory with the VM.
#[derive(FromArgs)]
#[argh(subcommand, name = "unshare", help_triggers("-h", "--help", "help"))]
pub struct Args {
    /// the host directory
    #[argh(positional)]
    dir: PathBuf,
    /// restart the VM even though agent sessions run in it (they end)
    #[argh(switch)]
    yes: bool,
}

pub fn run(args: Args) -> Result<Exit> {
    let loaded = config::load()?;
    let (limactl, vm) = lima::target(&loaded)?;
    lima::require_vm(&vm)?;
    // A directory deleted since it was shared can still be unshared by its path.
    let dir = std::fs::canonicalize(&args.dir)
        .unwrap_or_else(|_| std::path::absolute(&args.dir).unwrap_or(args.dir.clone()));
    let listed = lima::instance::query(&limactl, &vm)?;
    let is_it = |m: &lima::Mount| m.resolved == dir || m.location == dir;
    let matching: Vec<&Path> = listed
        .instance
        .mounts
        .iter()
        .filter(|m| is_it(m))
        .map(|m| m.location.as_path())
        .collect();
    if matching.is_empty() {
        if let Some(outer) = listed
            .instance
            .mounts
            .iter()
            .find(|m| dir.starts_with(&m.resolved))
        {
            return Err(Failure::refused(format!(
                "{} is not a share of its own: it is inside {}, which VM `{vm}` shares as a whole; to stop sharing that: shimctl unshare {}",
                dir.display(),
                outer.location.display(),
                sh_quote(outer.location.as_os_str().as_encoded_bytes())
            )));
        }
        return Err(Failure::refused(format!(
            "{} is not shared with VM `{vm}`",
            dir.display()
        )));
    }
    let olds: Vec<PathBuf> = matching
        .iter()
        .flat_map(|p| control::written_forms(p))
        .collect();
    let expr = control::remove_mounts_expr(&olds.iter().map(PathBuf::as_path).collect::<Vec<_>>())?;
    let verify = || {
        let after = lima::instance::query(&limactl, &vm)?;
        if after.instance.mounts.iter().any(is_it) {
            Err(Failure::cannot_run(format!(
                "{} is still shared: the mount comes from Lima's global config ($LIMA_HOME/_config/default.yaml or override.yaml); remove it there",
                dir.display()
            )))
        } else {
            Ok(())
        }
    };
    let running = listed.status == "Running";
    if running && !control::may_stop(&vm, "unsharing (the VM restarts)", args.yes)? {
        crate::say!("nothing was changed");
        return Ok(Exit::Refused);
    }
    control::edit(&limactl, &vm, running, &expr, &verify)?;
    crate::say!("{} is no longer shared with VM `{vm}`", dir.display());
    Ok(Exit::Success)
}
