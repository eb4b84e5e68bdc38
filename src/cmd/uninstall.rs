//! `shimctl uninstall`: remove our links, never anything else.

use std::path::PathBuf;

use argh::FromArgs;

use crate::error::{Exit, Failure, Result};
use crate::shims::{self, Slot};

/// Remove shims (only links that point at a shimctl binary).
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

pub fn run(args: Args) -> Result<Exit> {
    let me = shims::me()?;
    let dir = shims::shim_dir(args.dir.as_deref())?;
    let names: Vec<String> = if args.agents.is_empty() {
        shims::entry_names(&dir)
    } else {
        args.agents
    };
    let mut removed = 0;
    for name in &names {
        let link = dir.join(name);
        match shims::inspect(&link, &me) {
            Slot::Ours => {
                std::fs::remove_file(&link).map_err(|e| {
                    Failure::cannot_run(format!("cannot remove {}: {e}", link.display()))
                })?;
                removed += 1;
                crate::say!("{name}: removed");
            }
            Slot::Foreign(what) => crate::say!("{name}: {} is {what}; left alone", link.display()),
            Slot::Empty if !name.starts_with('.') => crate::say!("{name}: no shim"),
            Slot::Empty => {}
        }
    }
    if removed == 0 {
        crate::say!("nothing removed from {}", dir.display());
    }
    Ok(Exit::Success)
}
