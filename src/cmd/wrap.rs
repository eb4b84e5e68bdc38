//! `shimctl wrap PROGRAM [ARGS...]` (also the multicall name `shimctl-wrap`): for editors
//! and launchers that take a wrapper program rather than looking `claude` up on PATH. The
//! agent that PROGRAM is runs in the VM as the shim would run it (crate::dispatch).

use std::ffi::OsString;

use argh::FromArgs;

use crate::error::{Exit, Result};

/// Run the agent a wrapped program is in the VM (for editors' wrapper settings).
#[derive(FromArgs)]
#[argh(subcommand, name = "wrap", help_triggers("-h", "--help", "help"))]
pub struct Args {
    /// the host program the caller meant to run, e.g. a bundled claude
    #[argh(positional)]
    pub(super) program: String,
    /// its arguments, passed unchanged
    #[argh(positional, greedy)]
    pub(super) args: Vec<String>,
}

pub fn run(words: &[OsString]) -> Result<Exit> {
    match crate::dispatch::run_wrapped(words.to_vec())? {}
}
