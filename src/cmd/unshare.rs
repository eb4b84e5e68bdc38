//! `shimctl unshare DIR`: stop sharing a host directory with the VM.

use std::path::{Path, PathBuf};

use argh::FromArgs;

use crate::config;
use crate::error::{Exit, Failure, Result};
use crate::lima::{self, control};
use crate::locations;

/// Stop sharing a host directory with the VM.
#[derive(FromArgs)]
#[argh(subcommand, name = "unshare", help_triggers("-h", "--help", "help"))]
pub struct Args {
    /// the host directory
    #[argh(positional)]
    dir: PathBuf,
}

pub fn run(args: Args) -> Result<Exit> {
    let loaded = config::load()?;
    let (limactl, vm) = lima::target(&loaded)?;
    lima::require_vm(&vm)?;
    // A directory deleted since it was shared can still be unshared by its path.
    let dir = std::fs::canonicalize(&args.dir)
        .unwrap_or_else(|_| std::path::absolute(&args.dir).unwrap_or(args.dir.clone()));
    let listed = lima::instance::query(&limactl, &vm)?;
    let matching: Vec<&Path> = listed
        .instance
        .mounts
        .iter()
        .filter(|m| m.resolved == dir || m.location == dir)
        .map(|m| m.location.as_path())
        .collect();
    if matching.is_empty() {
        return Err(Failure::refused(format!(
            "{} is not shared with VM `{vm}`",
            dir.display()
        )));
    }
    let mut locations: Vec<PathBuf> = matching.iter().map(|p| p.to_path_buf()).collect();
    locations.extend(matching.iter().filter_map(|p| locations::tilde_form(p)));
    let expr =
        control::remove_mounts_expr(&locations.iter().map(PathBuf::as_path).collect::<Vec<_>>())?;
    control::edit(&limactl, &vm, listed.status == "Running", &expr)?;

    let after = lima::instance::query(&limactl, &vm)?;
    if after
        .instance
        .mounts
        .iter()
        .any(|m| m.resolved == dir || m.location == dir)
    {
        return Err(Failure::cannot_run(format!(
            "{} is still shared: the mount comes from Lima's global config ($LIMA_HOME/_config/default.yaml or override.yaml); remove it there",
            dir.display()
        )));
    }
    crate::say!("{} is no longer shared with VM `{vm}`", dir.display());
    Ok(Exit::Success)
}
