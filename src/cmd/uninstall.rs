//! `shimctl uninstall`: remove our links, never anything else.

use std::path::PathBuf;

use argh::FromArgs;

use crate::bypass;
use crate::config;
use crate::error::{Exit, Failure, Result};
use crate::invoked::{self, CONTROL_NAME};
use crate::shim_dir::{self, Slot};

/// Remove shims (only links in the shim directory that point at a shimctl binary).
#[derive(FromArgs)]
#[argh(subcommand, name = "uninstall", help_triggers("-h", "--help", "help"))]
pub struct Args {
    /// agents to unlink (default: every shim in the directory)
    #[argh(positional)]
    agents: Vec<String>,
    /// shim directory (default: $XDG_DATA_HOME/shimctl/shims)
    #[argh(option)]
    dir: Option<PathBuf>,
}

/// A name that can only mean a link in the shim directory: a plain file name that is not
/// shimctl itself. `shimctl uninstall "$(command -v shimctl)"` must not delete the binary.
fn check_name(name: &str) -> Result<()> {
    let plain = !name.is_empty()
        && !name.contains('/')
        && name != "."
        && name != ".."
        && invoked::name_of(std::ffi::OsStr::new(name)) != CONTROL_NAME;
    if plain {
        Ok(())
    } else {
        Err(Failure::usage(format!(
            "`{name}` is not an agent name; give the names of shims, e.g. `shimctl uninstall claude`"
        )))
    }
}

pub fn run(args: Args) -> Result<Exit> {
    let me = shim_dir::me()?;
    let dir = shim_dir::shim_dir(args.dir.as_deref())?;
    for name in &args.agents {
        check_name(name)?;
    }
    let names: Vec<String> = if args.agents.is_empty() {
        shim_dir::entry_names(&dir)
    } else {
        args.agents
    };
    let loaded = config::load().unwrap_or_default();
    let mut removed = 0;
    for name in &names {
        let link = dir.join(name);
        let is_link = std::fs::symlink_metadata(&link).is_ok_and(|m| m.file_type().is_symlink());
        match shim_dir::inspect(&link, &me) {
            Slot::Ours if is_link => {
                std::fs::remove_file(&link).map_err(|e| {
                    Failure::cannot_run(format!("cannot remove {}: {e}", link.display()))
                })?;
                removed += 1;
                let program = loaded.program_for(name);
                match bypass::find_real_program(&program) {
                    Some(p) => crate::say!(
                        "{name}: removed; typing `{name}` now runs {} on this machine, outside the VM",
                        p.display()
                    ),
                    None => crate::say!("{name}: removed (no `{program}` on this machine)"),
                }
            }
            Slot::Ours => crate::say!(
                "{name}: {} is not a link but a copy of shimctl; left alone",
                link.display()
            ),
            Slot::Foreign(what) => {
                crate::say!("{name}: {} is {what}; left alone", link.display())
            }
            Slot::Empty if !name.starts_with('.') => crate::say!("{name}: no shim"),
            Slot::Empty => {}
        }
    }
    if removed == 0 {
        crate::say!("nothing removed from {}", dir.display());
    }
    Ok(Exit::Success)
}
