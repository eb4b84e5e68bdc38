//! The invoked-name dispatch: the file stem of argv[0] decides whether this process is the
//! control CLI or a shim. The link is never resolved: `claude -> shimctl` must act as
//! `claude` (rustup#4224 broke callers that resolved it).

use std::ffi::OsString;
use std::path::Path;

use crate::config;
use crate::error::Failure;
use crate::{cmd, shim};

pub const CONTROL_NAME: &str = "shimctl";
/// Forces the invoked name, for tests and launchers that rewrite argv[0].
pub const ARG0_VAR: &str = "SHIMCTL_ARG0";

pub fn run() -> i32 {
    let mut args = std::env::args_os();
    let arg0 = args.next().unwrap_or_default();
    let rest: Vec<OsString> = args.collect();
    let name = invoked_name(std::env::var_os(ARG0_VAR), &arg0);

    if name == CONTROL_NAME {
        return cmd::run(rest);
    }
    match run_shim(&name, rest) {
        Ok(never) => match never {},
        Err(failure) => failure.report(),
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
    shim::run(&loaded, &agent, args)
}

pub fn invoked_name(forced: Option<OsString>, arg0: &OsString) -> String {
    if let Some(forced) = forced.filter(|f| !f.is_empty()) {
        return forced.to_string_lossy().into_owned();
    }
    Path::new(arg0)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_is_the_stem_of_argv0_as_typed() {
        assert_eq!(
            invoked_name(None, &"/home/u/.local/share/shimctl/shims/claude".into()),
            "claude"
        );
        assert_eq!(invoked_name(None, &"codex".into()), "codex");
        assert_eq!(invoked_name(None, &"./shimctl".into()), "shimctl");
    }

    #[test]
    fn forced_name_wins_unless_empty() {
        assert_eq!(
            invoked_name(Some("codex".into()), &"shimctl".into()),
            "codex"
        );
        assert_eq!(invoked_name(Some("".into()), &"claude".into()), "claude");
    }
}
