//! `shimctl` itself: one file per subcommand. `explain` and `bypass` take the agent's
//! arguments raw (any bytes, flags included), so they are split off before argh parses.

pub mod bypass;
pub mod doctor;
pub mod egress;
pub mod explain;
pub mod init;
pub mod install;
pub mod list;
pub mod run;
pub mod share;
pub mod shell;
pub mod status;
pub mod task;
pub mod uninstall;
pub mod unshare;
pub mod vm;
pub mod wrap;

use std::ffi::OsString;

use argh::{FromArgs, SubCommands};

use crate::error::{Exit, Failure, Result};

/// Run AI coding agents inside a Lima VM by typing their usual names.
#[derive(FromArgs)]
#[argh(
    help_triggers("-h", "--help", "help"),
    note = "Linked under an agent's name (claude, codex, ...), shimctl runs that agent in the VM.
`shimctl --version` prints the version.

Environment:
  SHIMCTL_BYPASS=1   run the host's own program instead of the VM's (0 or unset: the VM)
  SHIMCTL_VM         the Lima instance to use (default: the config's `vm`, else sandbox)
  SHIMCTL_CONFIG     the config file (default: $XDG_CONFIG_HOME/shimctl/config.toml)
  LIMACTL            the limactl to run (default: the config's `limactl`, else PATH)
  LIMA_HOME          where Lima keeps its VMs (default: ~/.lima)"
)]
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
    Status(status::Args),
    Shell(shell::Args),
    Run(run::Args),
    Egress(egress::Args),
    Wrap(wrap::Args),
    Task(task::Args),
}

pub fn run(args: Vec<OsString>) -> i32 {
    let code = match dispatch(args) {
        Ok(exit) => exit.code(),
        Err(failure) => crate::ui::report(&failure),
    };
    crate::ui::finish(code)
}

fn dispatch(args: Vec<OsString>) -> Result<Exit> {
    if args.is_empty() {
        overview();
        return Ok(Exit::Success);
    }
    if args.len() == 1 && (args[0] == "--version" || args[0] == "-V") {
        crate::say!("shimctl {}", env!("CARGO_PKG_VERSION"));
        return Ok(Exit::Success);
    }
    // These take a command's words raw (any bytes, its flags included), so argh never
    // sees them; a `--` first is the usual end of shimctl's own options.
    if let Some(name @ ("explain" | "bypass" | "run" | "wrap")) =
        args.first().and_then(|a| a.to_str())
        && args.len() > 1
        && !is_help(&args[1])
    {
        let (full, words) = match &args[1..] {
            [flag, rest @ ..] if name == "explain" && flag == "--full" => (true, rest),
            rest => (false, rest),
        };
        let words = match words {
            [dashes, rest @ ..] if dashes == "--" => rest,
            rest => rest,
        };
        return match name {
            "explain" => explain::run(words, full),
            "bypass" => bypass::run(words.to_vec()),
            "wrap" => wrap::run(words),
            _ => run::run(words),
        };
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
                    crate::tell!("{}", usage_error(&refs, &exit.output));
                    Exit::Usage
                }
            });
        }
    };
    match cli.command {
        Command::Explain(a) => explain::run(&agent_and_args(&a.agent, &a.args), a.full),
        Command::Bypass(a) => bypass::run(agent_and_args(&a.agent, &a.args)),
        Command::Install(a) => install::run(a),
        Command::Uninstall(a) => uninstall::run(a),
        Command::List(a) => list::run(a),
        Command::Init(a) => init::run(a),
        Command::Doctor(a) => doctor::run(a),
        Command::Vm(a) => vm::run(a),
        Command::Share(a) => share::run(a),
        Command::Unshare(a) => unshare::run(a),
        Command::Status(a) => status::run(a),
        Command::Shell(a) => shell::run(a),
        Command::Run(a) => run::run(&agent_and_args(&a.command, &a.args)),
        Command::Egress(a) => egress::run(a),
        Command::Wrap(a) => wrap::run(&agent_and_args(&a.program, &a.args)),
        Command::Task(a) => task::run(a),
    }
}

/// argh's complaint about a command line as one `shimctl:` line: what is wrong, the
/// nearest subcommand or flag when a word was not recognised, and where the help is.
fn usage_error(words: &[&str], argh_output: &str) -> String {
    // The subcommand path the words name, as far as it goes (`vm start`, `share`).
    let specs = command_specs();
    let mut path: Vec<&str> = Vec::new();
    let mut level: &[CommandSpec] = &specs;
    let mut current: Option<&CommandSpec> = None;
    for w in words {
        match level.iter().find(|c| c.name == *w) {
            Some(c) => {
                path.push(c.name);
                current = Some(c);
                level = &c.subcommands;
            }
            None => break,
        }
    }
    let help = if path.is_empty() {
        "shimctl --help".to_string()
    } else {
        format!("shimctl {} --help", path.join(" "))
    };
    let mut lines = argh_output.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next().unwrap_or("bad command line");
    let rest: Vec<&str> = lines.collect();
    let what = if let Some(word) = first.strip_prefix("Unrecognized argument: ") {
        let near = if word.starts_with('-') {
            current.and_then(|c| {
                crate::config::nearest(
                    word,
                    c.flags
                        .iter()
                        .map(|(f, _)| f.as_str())
                        .filter(|f| f.len() > 2),
                )
            })
        } else if !level.is_empty() {
            crate::config::nearest(word, level.iter().map(|c| c.name))
        } else {
            None
        };
        let kind = if word.starts_with('-') {
            "option"
        } else if level.is_empty() {
            "argument"
        } else {
            "command"
        };
        match near {
            Some(n) => {
                let mut fixed: Vec<&str> = path.clone();
                fixed.push(n);
                format!(
                    "unknown {kind} `{word}`; did you mean `shimctl {}`?",
                    fixed.join(" ")
                )
            }
            None => format!("unknown {kind} `{word}`"),
        }
    } else if first.starts_with("Required positional arguments not provided") {
        format!("missing argument: {}", rest.join(", "))
    } else if let Some(opts) = first.strip_prefix("Required options not provided:") {
        format!(
            "missing option {}",
            if rest.is_empty() {
                opts.trim().to_string()
            } else {
                rest.join(", ")
            }
        )
    } else {
        let mut all = vec![first];
        all.extend(rest);
        let text = all.join("; ");
        let mut chars = text.chars();
        match chars.next() {
            Some(c) => c.to_lowercase().chain(chars).collect(),
            None => text,
        }
    };
    format!("shimctl: {what} (see: {help})")
}

/// Bare `shimctl`: each subcommand on one line, with what it does.
fn overview() {
    crate::say!("shimctl: run AI coding agents inside a Lima VM by typing their usual names.\n");
    crate::say!("Usage: shimctl <command> [<args>]\n\nCommands:");
    let width = Command::COMMANDS
        .iter()
        .map(|c| c.name.len())
        .max()
        .unwrap_or(0);
    for c in Command::COMMANDS {
        crate::say!("  {:width$}  {}", c.name, c.description);
    }
    crate::say!(
        "\n`shimctl COMMAND -h` shows a command's options; `shimctl -h` the environment variables."
    );
}

/// A subcommand as completions see it, taken from argh's own tables and usage lines, so a
/// new subcommand or flag is completed without editing the shell scripts.
pub struct CommandSpec {
    pub name: &'static str,
    pub description: &'static str,
    /// Each flag, and whether it takes a value.
    pub flags: Vec<(String, bool)>,
    pub subcommands: Vec<CommandSpec>,
}

/// Every subcommand, `vm`'s included.
pub fn command_specs() -> Vec<CommandSpec> {
    specs(Command::COMMANDS, &[])
}

fn specs(commands: &[&'static argh::CommandInfo], path: &[&str]) -> Vec<CommandSpec> {
    commands
        .iter()
        .map(|info| {
            let mut words: Vec<&str> = path.to_vec();
            words.push(info.name);
            let subcommands = match words.as_slice() {
                ["vm"] => specs(vm::COMMANDS, &words),
                ["egress"] => specs(egress::COMMANDS, &words),
                ["task"] => specs(task::COMMANDS, &words),
                _ => Vec::new(),
            };
            words.push("--help");
            let usage = match Cli::from_args(&["shimctl"], &words) {
                Err(exit) => exit.output,
                Ok(_) => String::new(),
            };
            CommandSpec {
                name: info.name,
                description: info.description,
                flags: usage_flags(usage.lines().next().unwrap_or("")),
                subcommands,
            }
        })
        .collect()
}

/// The flags of an argh usage line (`Usage: shimctl install [--dir <dir>] [--force] ...`),
/// `-h`/`--help` added.
fn usage_flags(usage: &str) -> Vec<(String, bool)> {
    let tokens: Vec<&str> = usage.split_whitespace().collect();
    let mut flags = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        let bare = token.trim_start_matches('[');
        let name = bare.trim_end_matches(']');
        if name.starts_with("--") && name.len() > 2 {
            let takes_value =
                !bare.ends_with(']') && tokens.get(i + 1).is_some_and(|t| t.starts_with('<'));
            flags.push((name.to_string(), takes_value));
        }
    }
    flags.push(("--help".into(), false));
    flags.push(("-h".into(), false));
    flags
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
