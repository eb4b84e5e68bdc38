//! `shimctl bypass AGENT [ARGS...]`: run the host's real program, not the VM's.

use std::ffi::OsString;

use argh::FromArgs;

use crate::bypass;
use crate::config;
use crate::error::{Exit, Failure, Result};
use crate::invoked;

/// Run the host's real AGENT program with ARGS, outside the VM.
#[derive(FromArgs)]
#[argh(subcommand, name = "bypass", help_triggers("-h", "--help", "help"))]
pub struct Args {
    /// the agent, e.g. claude
    #[argh(positional)]
    pub(super) agent: String,
    /// its arguments, passed unchanged
    #[argh(positional, greedy)]
    pub(super) args: Vec<String>,
}

pub fn run(mut args: Vec<OsString>) -> Result<Exit> {
    if args.is_empty() {
        return Err(Failure::usage("usage: shimctl bypass AGENT [ARGS...]"));
    }
    let name = invoked::name_of(&args.remove(0));
    // A broken config must not stop a user from reaching the host's own program.
    let program = config::load().unwrap_or_default().program_for(&name);
    match bypass::run_real(&program, args)? {}
}
