//! `shimctl` itself: one file per subcommand. `explain` and `bypass` take the agent's
//! arguments raw (any bytes, flags included), so they are split off before argh parses.

pub mod bypass;
pub mod doctor;
pub mod explain;
pub mod init;
pub mod install;
pub mod list;
pub mod share;
pub mod uninstall;
pub mod unshare;
pub mod vm;

use std::ffi::OsString;

use argh::FromArgs;

use crate::error::{Exit, Failure, Result};

/// Run AI coding agents inside a Lima VM by typing their usual names.
#[derive(FromArgs)]
struct Cli {
    #[argh(subcommand)]
    command: Command,
}

#[derive(FromArgs)]
#[argh(subcommand)]
enum Command {
    Install(install::Args),
    Uninstall(uninstall::Args),
    List(list::Args),
    Init(init::Args),
    Explain(explain::Args),
    Bypass(bypass::Args),
    Doctor(doctor::Args),
    Vm(vm::Args),
    Share(share::Args),
    Unshare(unshare::Args),
}

pub fn run(args: Vec<OsString>) -> i32 {
    let code = match dispatch(args) {
        Ok(exit) => exit.code(),
        Err(failure) => failure.report(),
    };
    crate::ui::finish(code)
}

fn dispatch(args: Vec<OsString>) -> Result<Exit> {
    if args.len() == 1 && (args[0] == "--version" || args[0] == "-V") {
        crate::say!("shimctl {}", env!("CARGO_PKG_VERSION"));
        return Ok(Exit::Success);
    }
    match args.first().and_then(|a| a.to_str()) {
        Some("explain") if args.len() > 1 && !is_help(&args[1]) => return explain::run(&args[1..]),
        Some("bypass") if args.len() > 1 && !is_help(&args[1]) => {
            return bypass::run(args[1..].to_vec());
        }
        _ => {}
    }
    let strings: Vec<String> = args
        .into_iter()
        .map(|a| {
            a.into_string()
                .map_err(|_| Failure::usage("arguments to shimctl must be UTF-8"))
        })
        .collect::<Result<_>>()?;
    let refs: Vec<&str> = strings.iter().map(String::as_str).collect();
    let cli = match Cli::from_args(&["shimctl"], &refs) {
        Ok(cli) => cli,
        Err(exit) => {
            return Ok(match exit.status {
                Ok(()) => {
                    crate::say!("{}", exit.output);
                    Exit::Success
                }
                Err(()) => {
                    crate::tell!("{}", exit.output);
                    Exit::Usage
                }
            });
        }
    };
    match cli.command {
        Command::Explain(a) => explain::run(&agent_and_args(&a.agent, &a.args)),
        Command::Bypass(a) => bypass::run(agent_and_args(&a.agent, &a.args)),
        Command::Install(a) => install::run(a),
        Command::Uninstall(a) => uninstall::run(a),
        Command::List(a) => list::run(a),
        Command::Init(a) => init::run(a),
        Command::Doctor(a) => doctor::run(a),
        Command::Vm(a) => vm::run(a),
        Command::Share(a) => share::run(a),
        Command::Unshare(a) => unshare::run(a),
    }
}

/// `AGENT ARGS...` as words, for the subcommands that pass an agent's arguments on.
fn agent_and_args(agent: &str, args: &[String]) -> Vec<OsString> {
    std::iter::once(agent)
        .chain(args.iter().map(String::as_str))
        .map(OsString::from)
        .collect()
}

fn is_help(arg: &OsString) -> bool {
    arg == "--help" || arg == "help" || arg == "-h"
}
