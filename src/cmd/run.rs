//! `shimctl run CMD [ARGS...]`: any command in the VM, in the guest directory that shows
//! the current one; arguments byte for byte, its exit status passed through (exec).

use std::ffi::OsString;

use argh::FromArgs;

use crate::config;
use crate::error::{Exit, Failure, Result};
use crate::launch;

/// Run a command in the VM, in the directory that shows this one (else the VM user's home).
#[derive(FromArgs)]
#[argh(subcommand, name = "run", help_triggers("-h", "--help", "help"))]
pub struct Args {
    /// the command, e.g. npm
    #[argh(positional)]
    pub(super) command: String,
    /// its arguments, passed unchanged
    #[argh(positional, greedy)]
    pub(super) args: Vec<String>,
}

pub fn run(words: &[OsString]) -> Result<Exit> {
    if words.is_empty() {
        return Err(Failure::usage("usage: shimctl run CMD [ARGS...]"));
    }
    let loaded = config::load()?;
    match launch::run_command(&loaded, words)? {}
}
