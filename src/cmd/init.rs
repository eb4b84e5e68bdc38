//! `shimctl init SHELL`: the shell snippet that puts the shims first on PATH (kept in
//! `shell/`, embedded here).

use argh::FromArgs;

use crate::error::{Exit, Failure, Result};

/// Print shell code that puts the shim directory first on PATH (and completions).
#[derive(FromArgs)]
#[argh(subcommand, name = "init")]
pub struct Args {
    /// bash, zsh or fish
    #[argh(positional)]
    shell: String,
}

pub fn snippet(shell: &str) -> Option<&'static str> {
    match shell {
        "bash" => Some(include_str!("../../shell/shimctl.bash")),
        "zsh" => Some(include_str!("../../shell/shimctl.zsh")),
        "fish" => Some(include_str!("../../shell/shimctl.fish")),
        _ => None,
    }
}

pub fn run(args: Args) -> Result<Exit> {
    let text = snippet(&args.shell).ok_or_else(|| {
        Failure::usage(format!(
            "no snippet for `{}`; use bash, zsh or fish",
            args.shell
        ))
    })?;
    crate::ui::out_raw(text);
    Ok(Exit::Success)
}
