//! `shimctl init SHELL`: the shell snippet that puts the shims first on PATH, with
//! completions. The snippets are templates in `shell/` (as rustup's `env.sh` with
//! `{cargo_bin}`, and starship's `init`): the shim directory, subcommands, flags and agent
//! names are filled in from what this binary uses, so they cannot disagree with it.

use std::path::PathBuf;

use argh::FromArgs;

use super::CommandSpec;
use crate::config;
use crate::error::{Exit, Failure, Result};
use crate::quote::{fish_quote, sh_quote};
use crate::shim_dir;

/// Print shell code that puts the shim directory first on PATH (and completions).
#[derive(FromArgs)]
#[argh(subcommand, name = "init", help_triggers("-h", "--help", "help"))]
pub struct Args {
    /// bash, zsh or fish (PATH and completions), or sh (PATH only, POSIX: for ~/.profile
    /// and ~/.zshenv)
    #[argh(positional)]
    shell: String,
    /// shim directory (default: $XDG_DATA_HOME/shimctl/shims)
    #[argh(option)]
    dir: Option<PathBuf>,
}

const BASH: &str = include_str!("../../shell/shimctl.bash");
const ZSH: &str = include_str!("../../shell/shimctl.zsh");
const FISH: &str = include_str!("../../shell/shimctl.fish");
const SH: &str = include_str!("../../shell/shimctl.sh");

pub fn run(args: Args) -> Result<Exit> {
    let template = match args.shell.as_str() {
        "bash" => BASH,
        "zsh" => ZSH,
        "fish" => FISH,
        "sh" => SH,
        other => {
            return Err(Failure::usage(format!(
                "no snippet for `{other}`; use bash, zsh, fish or sh"
            )));
        }
    };
    let dir = shim_dir::shim_dir(args.dir.as_deref())?;
    let dir = std::path::absolute(&dir).unwrap_or(dir);
    // A broken config must not break every new shell: the built-in agents still complete.
    let agents = config::load().unwrap_or_default().agent_names().join(" ");
    let specs = super::command_specs();
    let quoted_dir = if args.shell == "fish" {
        fish_quote(&dir.to_string_lossy())
    } else {
        Some(sh_quote(dir.as_os_str().as_encoded_bytes()))
    };
    let quoted_dir = quoted_dir.ok_or_else(|| {
        Failure::cannot_run(format!(
            "the shim directory {} holds characters fish cannot be given; pick another with --dir",
            dir.display()
        ))
    })?;
    let text = render(template, &quoted_dir, &agents, &specs);
    crate::ui::out_raw(&text);
    Ok(Exit::Success)
}

fn names(specs: &[CommandSpec]) -> String {
    let mut names: Vec<&str> = specs.iter().map(|s| s.name).collect();
    names.push("help");
    names.join(" ")
}

/// `name:description` words for zsh's `_describe`.
fn zsh_described(specs: &[CommandSpec]) -> String {
    specs
        .iter()
        .map(|s| {
            let entry = format!("{}:{}", s.name, s.description.replace(':', "\\:"));
            sh_quote(entry.as_bytes())
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Every command with flags, keyed as the completion scripts look it up: a top-level
/// command by its name, a nested one as `parent:name` (`vm:stop` and `task:stop` differ).
fn with_flags(specs: &[CommandSpec]) -> Vec<(String, &CommandSpec)> {
    specs
        .iter()
        .flat_map(|s| {
            std::iter::once((s.name.to_string(), s)).chain(
                s.subcommands
                    .iter()
                    .map(move |sub| (format!("{}:{}", s.name, sub.name), sub)),
            )
        })
        .collect()
}

/// The commands that have subcommands of their own (`vm`, `task`, ...).
fn nested(specs: &[CommandSpec]) -> String {
    specs
        .iter()
        .filter(|s| !s.subcommands.is_empty())
        .map(|s| s.name)
        .collect::<Vec<_>>()
        .join(" ")
}

fn flag_names(spec: &CommandSpec) -> String {
    spec.flags
        .iter()
        .map(|(f, _)| f.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

fn fish_complete_flag(command: &str, flag: &str, takes_value: bool) -> String {
    let condition = match command.split_once(':') {
        Some((parent, sub)) => format!(
            "-n \"__fish_seen_subcommand_from {parent}; and __fish_seen_subcommand_from {sub}\""
        ),
        None => format!("-n \"__fish_seen_subcommand_from {command}\""),
    };
    let name = match flag.strip_prefix("--") {
        Some(long) => format!("-l {long}"),
        None => format!("-s {}", flag.trim_start_matches('-')),
    };
    let value = match (takes_value, flag) {
        (false, _) => "",
        (true, "--dir") => " -x -a \"(__fish_complete_directories)\"",
        (true, "--template") => " -r -F",
        (true, _) => " -x",
    };
    format!("complete -c shimctl {condition} {name}{value}")
}

fn render(template: &str, dir: &str, agents: &str, specs: &[CommandSpec]) -> String {
    let vm = specs
        .iter()
        .find(|s| s.name == "vm")
        .map(|s| s.subcommands.as_slice())
        .unwrap_or(&[]);
    let bash_flags: Vec<String> = with_flags(specs)
        .iter()
        .map(|(key, s)| format!("            {key}) words=\"{}\" ;;", flag_names(s)))
        .collect();
    let zsh_flags: Vec<String> = with_flags(specs)
        .iter()
        .map(|(key, s)| format!("            {key}) compadd -- {} ;;", flag_names(s)))
        .collect();
    let task_names: Vec<&str> = specs
        .iter()
        .find(|s| s.name == "task")
        .map(|s| s.subcommands.iter().map(|t| t.name).collect())
        .unwrap_or_default();
    let fish_subcommands: Vec<String> = specs
        .iter()
        .map(|s| {
            format!(
                "complete -c shimctl -n __fish_use_subcommand -a {} -d {}",
                s.name,
                fish_quote(s.description).unwrap_or_default()
            )
        })
        .collect();
    let vm_names: Vec<&str> = vm.iter().map(|s| s.name).collect();
    let fish_vm: Vec<String> = vm
        .iter()
        .map(|s| {
            format!(
                "complete -c shimctl -n \"__fish_seen_subcommand_from vm; and not __fish_seen_subcommand_from {}\" -a {} -d {}",
                vm_names.join(" "),
                s.name,
                fish_quote(s.description).unwrap_or_default()
            )
        })
        .collect();
    let fish_flags: Vec<String> = with_flags(specs)
        .iter()
        .flat_map(|(key, s)| {
            s.flags
                .iter()
                .filter(|(f, _)| f != "-h")
                .map(move |(f, v)| fish_complete_flag(key, f, *v))
        })
        .collect();
    template
        .replace("@SHIM_DIR@", dir)
        .replace("@SUBCOMMANDS@", &names(specs))
        .replace("@VM_SUBCOMMANDS@", &vm_names.join(" "))
        .replace("@TASK_SUBCOMMANDS@", &task_names.join(" "))
        .replace("@NESTED@", &nested(specs))
        .replace("@AGENTS@", agents)
        .replace("@BASH_FLAGS@", &bash_flags.join("\n"))
        .replace("@ZSH_SUBCOMMANDS@", &zsh_described(specs))
        .replace("@ZSH_VM_SUBCOMMANDS@", &zsh_described(vm))
        .replace("@ZSH_FLAGS@", &zsh_flags.join("\n"))
        .replace("@FISH_SUBCOMMANDS@", &fish_subcommands.join("\n"))
        .replace("@FISH_VM_SUBCOMMANDS@", &fish_vm.join("\n"))
        .replace("@FISH_FLAGS@", &fish_flags.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_placeholder_is_filled() {
        let specs = super::super::command_specs();
        for template in [BASH, ZSH, FISH] {
            let text = render(template, "/d", "claude", &specs);
            let left =
                text.split('@').skip(1).step_by(2).find(|w| {
                    !w.is_empty() && w.bytes().all(|b| b.is_ascii_uppercase() || b == b'_')
                });
            assert_eq!(left, None, "{text}");
        }
        let install = specs.iter().find(|s| s.name == "install").unwrap();
        assert!(install.flags.contains(&("--dir".to_string(), true)));
        assert!(install.flags.contains(&("--force".to_string(), false)));
        let vm = specs.iter().find(|s| s.name == "vm").unwrap();
        assert!(vm.subcommands.iter().any(|s| s.name == "create"));
    }
}
