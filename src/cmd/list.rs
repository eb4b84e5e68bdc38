//! `shimctl list`: each shim, its VM, whether it wins on PATH, and the host's own program.

use std::path::PathBuf;

use argh::FromArgs;

use crate::bypass;
use crate::config;
use crate::error::{Exit, Result};
use crate::shim_dir::{self, Standing};

/// List the installed shims: VM, whether each comes first on PATH, the real host program.
#[derive(FromArgs)]
#[argh(subcommand, name = "list", help_triggers("-h", "--help", "help"))]
pub struct Args {
    /// shim directory (default: $XDG_DATA_HOME/shimctl/shims)
    #[argh(option)]
    dir: Option<PathBuf>,
}

pub fn run(args: Args) -> Result<Exit> {
    let loaded = config::load()?;
    let me = shim_dir::me()?;
    let dir = shim_dir::shim_dir(args.dir.as_deref())?;
    let names = shim_dir::ours(&dir, &me);
    if names.is_empty() {
        crate::say!("no shims in {}; run `shimctl install`", dir.display());
        return Ok(Exit::Success);
    }
    let mut rows = vec![[
        "AGENT".to_string(),
        "VM".into(),
        "FIRST ON PATH".into(),
        "HOST PROGRAM".into(),
    ]];
    let mut shadowed = false;
    for name in &names {
        let agent = loaded.agent(name);
        let vm = match &agent {
            Some(a) => loaded
                .vm_for(Some(a))
                .unwrap_or_else(|f| format!("? ({f})")),
            None => "- (not an agent in the config)".into(),
        };
        let first = match shim_dir::standing(name, &me) {
            Standing::First => "yes".to_string(),
            Standing::Shadowed(p) => {
                shadowed = true;
                format!("no: {}", p.display())
            }
            Standing::NotOnPath => {
                shadowed = true;
                "no: not on PATH".into()
            }
        };
        let real = bypass::find_real_program(&loaded.program_for(name))
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "-".into());
        rows.push([name.clone(), vm, first, real]);
    }
    let widths: Vec<usize> = (0..4)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    for row in &rows {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        crate::say!("{}", line.join("  ").trim_end());
    }
    if shadowed {
        crate::say!(
            "to put the shims first on PATH, {}",
            shim_dir::path_advice(&dir)
        );
    }
    Ok(Exit::Success)
}
