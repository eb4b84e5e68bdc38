//! `shimctl install`: link agent names to this binary in the shim directory.

use std::path::{Path, PathBuf};

use argh::FromArgs;

use crate::agents::DEFAULT_AGENTS;
use crate::bypass;
use crate::config;
use crate::error::{Exit, Failure, Result};
use crate::shim_dir::{self, Me, Slot, Standing};

/// Link agent names to shimctl in the shim directory, so typing them runs them in the VM.
#[derive(FromArgs)]
#[argh(subcommand, name = "install", help_triggers("-h", "--help", "help"))]
pub struct Args {
    /// agents to link (default: claude codex opencode)
    #[argh(positional)]
    agents: Vec<String>,
    /// shim directory (default: $XDG_DATA_HOME/shimctl/shims)
    #[argh(option)]
    dir: Option<PathBuf>,
    /// replace a file at a shim's place even if it is not ours
    #[argh(switch)]
    force: bool,
}

pub fn run(args: Args) -> Result<Exit> {
    let loaded = config::load()?;
    let me = shim_dir::me()?;
    let dir = shim_dir::shim_dir(args.dir.as_deref())?;
    let agents: Vec<String> = if args.agents.is_empty() {
        DEFAULT_AGENTS.iter().map(|s| s.to_string()).collect()
    } else {
        args.agents
    };
    let known = loaded.agent_names();
    if let Some(unknown) = agents.iter().find(|a| !known.contains(a)) {
        return Err(Failure::usage(format!(
            "`{unknown}` is not an agent shimctl knows (known: {}); add [agents.{unknown}] to the config first",
            known.join(", ")
        )));
    }
    std::fs::create_dir_all(&dir)
        .map_err(|e| Failure::cannot_run(format!("cannot create {}: {e}", dir.display())))?;

    let mut changed = false;
    let mut refused = false;
    for agent in &agents {
        let link = dir.join(agent);
        match shim_dir::inspect(&link, &me) {
            Slot::Ours if points_at(&link, &me.path) => crate::say!("{agent}: already installed"),
            Slot::Ours => {
                replace(&link, &me.path)?;
                changed = true;
                crate::say!("{agent}: now points at {}", me.path.display());
            }
            Slot::Foreign(what) if !args.force => {
                refused = true;
                crate::say!(
                    "{agent}: {} is {what}, not a shimctl link; left alone (remove it, or use --force to replace it)",
                    link.display()
                );
            }
            Slot::Foreign(_) | Slot::Empty => {
                replace(&link, &me.path)?;
                changed = true;
                crate::say!(
                    "{agent}: linked {} -> {}",
                    link.display(),
                    me.path.display()
                );
            }
        }
    }
    if !changed {
        crate::say!("nothing changed in {}", dir.display());
    }
    report_path(&loaded, &agents, &dir, &me);
    Ok(if refused {
        Exit::Refused
    } else {
        Exit::Success
    })
}

fn points_at(link: &Path, target: &Path) -> bool {
    std::fs::read_link(link).is_ok_and(|t| t == target)
}

/// Links `link` to `target`, atomically replacing whatever is there.
fn replace(link: &Path, target: &Path) -> Result<()> {
    let tmp = link.with_file_name(format!(
        ".{}.shimctl-tmp",
        link.file_name().unwrap_or_default().to_string_lossy()
    ));
    // Even --force never deletes a directory's contents.
    if std::fs::symlink_metadata(link).is_ok_and(|m| m.is_dir()) {
        return Err(Failure::cannot_run(format!(
            "{} is a directory; move it away yourself, then install again",
            link.display()
        )));
    }
    let _ = std::fs::remove_file(&tmp);
    let fail =
        |e: std::io::Error| Failure::cannot_run(format!("cannot link {}: {e}", link.display()));
    std::os::unix::fs::symlink(target, &tmp).map_err(fail)?;
    std::fs::rename(&tmp, link).map_err(fail)
}

/// For each agent: the host's own program, and whether the shim wins on this PATH.
fn report_path(loaded: &config::Loaded, agents: &[String], dir: &Path, me: &Me) {
    let mut advise = false;
    let mut not_on_path = Vec::new();
    for agent in agents {
        let host = match bypass::find_real_program(&loaded.program_for(agent)) {
            Some(p) => format!("host program {}", p.display()),
            None => "no host program".into(),
        };
        match shim_dir::standing(agent, me) {
            Standing::First => crate::say!("{agent}: typing `{agent}` runs it in the VM ({host})"),
            Standing::Shadowed(p) => {
                advise = true;
                crate::say!("{agent}: shadowed by {} on PATH ({host})", p.display());
            }
            Standing::NotOnPath => {
                advise = true;
                not_on_path.push(format!("{agent} ({host})"));
            }
        }
    }
    // One line for the directory, not one per agent.
    if !not_on_path.is_empty() {
        crate::say!(
            "{} is not on PATH yet, for {}",
            dir.display(),
            not_on_path.join(", ")
        );
    }
    if advise {
        crate::say!(
            "to put the shims first on PATH, {}",
            shim_dir::path_advice(dir)
        );
    }
}
