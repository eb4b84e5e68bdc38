//! `shimctl shell`: the guest user's login shell, in the guest directory that shows the
//! current one.

use argh::FromArgs;

use crate::config;
use crate::error::{Exit, Result};
use crate::launch;

/// Open a login shell in the VM, in the directory that shows this one (else the VM user's home).
#[derive(FromArgs)]
#[argh(subcommand, name = "shell", help_triggers("-h", "--help", "help"))]
pub struct Args {}

pub fn run(_: Args) -> Result<Exit> {
    let loaded = config::load()?;
    match launch::run_command(&loaded, &[])? {}
}
