//! The invoked-name dispatch: argv[0]'s name (see [`crate::invoked`]) decides whether this
//! process is the control CLI or a shim.

use std::ffi::OsString;

use crate::config;
use crate::error::Failure;
use crate::invoked::{self, ARG0_VAR, CONTROL_NAME};
use crate::{cmd, launch};

pub fn run() -> i32 {
    let mut args = std::env::args_os();
    let arg0 = args.next().unwrap_or_default();
    let rest: Vec<OsString> = args.collect();
    let name = invoked::invoked_name(std::env::var_os(ARG0_VAR).as_deref(), &arg0);

    if name == CONTROL_NAME {
        return cmd::run(rest);
    }
    if name == invoked::WRAP_NAME {
        return match run_wrapped(rest) {
            Ok(never) => match never {},
            Err(failure) => crate::ui::report(&failure),
        };
    }
    match run_shim(&name, rest) {
        Ok(never) => match never {},
        Err(failure) => crate::ui::report(&failure),
    }
}

fn run_shim(name: &str, args: Vec<OsString>) -> Result<std::convert::Infallible, Failure> {
    let loaded = config::load()?;
    let Some(agent) = loaded.agent(name) else {
        return Err(Failure::cannot_run(format!(
            "`{name}` is not an agent shimctl knows (known: {}); add [agents.{name}] to {} or run `shimctl` itself",
            loaded.agent_names().join(", "),
            loaded.display_path(),
        )));
    };
    launch::run(&loaded, &agent, args)
}

/// A program wrapper, as editors and launchers call one (VS Code's
/// `claudeCode.claudeProcessWrapper`, Claude Code's `CLAUDE_CODE_PROCESS_WRAPPER`): the
/// first argument is the host program the caller meant to run (often a copy bundled with
/// the editor), the rest its arguments. The agent is the one that program is; it runs in
/// the VM exactly as the shim would run it, and the host program never runs.
pub fn run_wrapped(args: Vec<OsString>) -> Result<std::convert::Infallible, Failure> {
    let Some((program, rest)) = args.split_first() else {
        return Err(Failure::usage(
            "shimctl wrap: no program to wrap (usage: shimctl wrap PROGRAM [ARGS...])",
        ));
    };
    let loaded = config::load()?;
    let names = loaded.agent_names();
    let Some(name) = wrapped_agent(program, &names) else {
        return Err(Failure::cannot_run(format!(
            "shimctl wrap: {} is none of the agents shimctl knows ({}); point the wrapper setting at the shim itself instead (e.g. {}/claude)",
            std::path::Path::new(program).display(),
            names.join(", "),
            crate::host_dirs::default_shim_dir()
                .map(|d| d.display().to_string())
                .unwrap_or_else(|| "the shim directory".into())
        )));
    };
    let agent = loaded.agent(&name).expect("a known agent name");
    launch::run(&loaded, &agent, rest.to_vec())
}

/// Which agent a wrapped program is: its file name (`claude`), else the nearest directory
/// of its path named after one (`.../claude-code/cli.js`, `.../codex-linux-x64/bin/...`).
fn wrapped_agent(program: &OsString, names: &[String]) -> Option<String> {
    let path = std::path::Path::new(program);
    let file = invoked::name_of(program);
    if names.contains(&file) {
        return Some(file);
    }
    path.ancestors().skip(1).find_map(|dir| {
        let dir = dir.file_name()?.to_string_lossy().into_owned();
        names
            .iter()
            .find(|n| dir == **n || dir.starts_with(&format!("{n}-")))
            .cloned()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wrapped_program_is_the_agent_it_is_named_after() {
        let names: Vec<String> = ["claude", "codex", "pi"].map(String::from).to_vec();
        let agent = |p: &str| wrapped_agent(&OsString::from(p), &names);
        assert_eq!(
            agent("/opt/x/native-binary/claude").as_deref(),
            Some("claude")
        );
        assert_eq!(agent("/home/u/.vscode/extensions/anthropic.claude-code-2.0.0/resources/claude-code/cli.js").as_deref(), Some("claude"));
        assert_eq!(
            agent("/usr/lib/node_modules/@openai/codex/bin/codex.js").as_deref(),
            Some("codex")
        );
        assert_eq!(agent("/usr/bin/node"), None);
        assert_eq!(agent("/opt/pipeline/tool"), None);
    }
}
