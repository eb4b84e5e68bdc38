//! `shimctl bypass AGENT [ARGS...]`: run the host's real program, not the VM's.

use std::ffi::OsString;

use argh::FromArgs;

use crate::config;
use crate::error::{Failure, Result};
use crate::host;

/// Run the host's real AGENT program with ARGS, outside the VM.
#[derive(FromArgs)]
#[argh(subcommand, name = "bypass")]
pub struct Args {
    /// the agent, e.g. claude
    #[argh(positional)]
    pub(super) agent: String,
    /// its arguments, passed unchanged
    #[argh(positional, greedy)]
    pub(super) args: Vec<String>,
}

pub fn run(mut args: Vec<OsString>) -> Result<i32> {
    if args.is_empty() {
        return Err(Failure::with_code(
            2,
            "usage: shimctl bypass AGENT [ARGS...]",
        ));
    }
    let name = args.remove(0).to_string_lossy().into_owned();
    // An agent not in any profile is still a program name the user may want from the host.
    let program = config::load()
        .ok()
        .and_then(|l| l.agent(&name))
        .map(|a| a.program_file_name().to_string())
        .unwrap_or(name.clone());
    match host::run_real(&program, args)? {}
}
