//! The full-auto decision: from what the user typed, whether the agent's full-auto switch
//! goes in and where, without ever reordering or altering the user's arguments.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;

use super::{Agent, FullAuto};

/// Whether full-auto goes in, and if not, why (shown by `shimctl explain`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FullAutoDecision {
    Added,
    DisabledInConfig,
    NothingConfigured,
    Subcommand(String),
    UserFlag(String),
}

impl FullAutoDecision {
    pub fn describe(&self, full_auto: &FullAuto) -> String {
        match self {
            FullAutoDecision::Added => {
                let mut parts: Vec<String> = full_auto.args.clone();
                parts.extend(full_auto.env.iter().map(|(k, v)| format!("{k}={v}")));
                format!("added ({})", parts.join(" "))
            }
            FullAutoDecision::DisabledInConfig => {
                "not added: full_auto = false in the config".into()
            }
            FullAutoDecision::NothingConfigured => {
                "not added: this agent has no full_auto_args or full_auto_env in the config".into()
            }
            FullAutoDecision::Subcommand(s) => {
                format!("not added: `{s}` is a subcommand that takes no permission mode")
            }
            FullAutoDecision::UserFlag(f) => format!("not added: you gave `{f}`"),
        }
    }
}

/// The agent's part of the guest command: program, arguments, and variables to set.
#[derive(Debug)]
pub struct AgentCommand {
    pub argv: Vec<OsString>,
    pub env: Vec<(String, String)>,
    pub decision: FullAutoDecision,
}

fn flag_matches(arg: &[u8], flag: &str) -> bool {
    let flag = flag.as_bytes();
    arg == flag
        || (flag.starts_with(b"--")
            && arg.len() > flag.len()
            && arg.starts_with(flag)
            && arg[flag.len()] == b'=')
}

impl Agent {
    /// Decides on full-auto from what the user typed and assembles the guest command.
    /// `user_args` are already path-translated; they are never reordered or altered.
    pub fn command(&self, user_args: &[OsString]) -> AgentCommand {
        let fa = &self.full_auto;
        let mut first_positional: Option<usize> = None;
        let mut decision = if !fa.enabled {
            FullAutoDecision::DisabledInConfig
        } else if fa.args.is_empty() && fa.env.is_empty() {
            FullAutoDecision::NothingConfigured
        } else {
            FullAutoDecision::Added
        };

        let configured = self.args.iter().map(|a| (a, false));
        let typed = user_args.iter().map(|a| (a, true));
        let mut typed_index = 0usize;
        let mut value_next = false;
        for (arg, is_typed) in configured.chain(typed) {
            let bytes = arg.as_bytes();
            if bytes == b"--" {
                break;
            }
            if std::mem::take(&mut value_next) {
                // The value of the previous flag: neither a flag nor a subcommand.
            } else if bytes.starts_with(b"-") && bytes.len() > 1 {
                value_next = fa.value_flags.iter().any(|f| f.as_bytes() == bytes);
                if decision == FullAutoDecision::Added
                    && let Some(flag) = fa.skip_flags.iter().find(|f| flag_matches(bytes, f))
                {
                    decision = FullAutoDecision::UserFlag(flag.clone());
                }
            } else if is_typed && first_positional.is_none() {
                first_positional = Some(typed_index);
                if decision == FullAutoDecision::Added
                    && let Some(sub) = fa.skip_subcommands.iter().find(|s| s.as_bytes() == bytes)
                {
                    decision = FullAutoDecision::Subcommand(sub.clone());
                }
            }
            if is_typed {
                typed_index += 1;
            }
        }

        let mut argv: Vec<OsString> =
            Vec::with_capacity(1 + fa.args.len() + self.args.len() + user_args.len());
        argv.push(OsString::from(&self.program));
        let added = decision == FullAutoDecision::Added;
        let after_sub = first_positional.filter(|&i| {
            fa.after_subcommands
                .iter()
                .any(|s| OsStr::new(s) == user_args[i])
        });
        if added && after_sub.is_none() {
            argv.extend(fa.args.iter().map(OsString::from));
        }
        argv.extend(self.args.iter().cloned());
        match after_sub {
            Some(i) if added => {
                argv.extend(user_args[..=i].iter().cloned());
                argv.extend(fa.args.iter().map(OsString::from));
                argv.extend(user_args[i + 1..].iter().cloned());
            }
            _ => argv.extend(user_args.iter().cloned()),
        }
        let env = if added { fa.env.clone() } else { Vec::new() };
        AgentCommand {
            argv,
            env,
            decision,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(xs: &[&str]) -> Vec<OsString> {
        xs.iter().map(OsString::from).collect()
    }

    fn run(agent: &str, args: &[&str]) -> AgentCommand {
        Agent::builtin(agent).unwrap().command(&os(args))
    }

    #[test]
    fn claude_gets_its_flag_before_the_prompt() {
        let c = run("claude", &["-p", "fix it"]);
        assert_eq!(
            c.argv,
            os(&["claude", "--dangerously-skip-permissions", "-p", "fix it"])
        );
        assert_eq!(c.decision, FullAutoDecision::Added);
    }

    #[test]
    fn claude_subcommands_and_help_skip_full_auto() {
        assert_eq!(
            run("claude", &["mcp", "list"]).decision,
            FullAutoDecision::Subcommand("mcp".into())
        );
        assert_eq!(
            run("claude", &["mcp", "list"]).argv,
            os(&["claude", "mcp", "list"])
        );
        assert_eq!(
            run("claude", &["--version"]).decision,
            FullAutoDecision::UserFlag("--version".into())
        );
        assert_eq!(
            run("claude", &["--permission-mode=plan", "x"]).decision,
            FullAutoDecision::UserFlag("--permission-mode".into())
        );
    }

    #[test]
    fn a_prompt_that_names_a_subcommand_later_is_still_a_prompt() {
        let c = run("claude", &["explain the mcp module"]);
        assert_eq!(c.decision, FullAutoDecision::Added);
    }

    #[test]
    fn arguments_after_double_dash_are_not_inspected() {
        let c = run("claude", &["--", "--help"]);
        assert_eq!(c.decision, FullAutoDecision::Added);
    }

    #[test]
    fn codex_exec_gets_the_flag_after_the_subcommand() {
        let c = run("codex", &["exec", "do it"]);
        assert_eq!(
            c.argv,
            os(&[
                "codex",
                "exec",
                "--dangerously-bypass-approvals-and-sandbox",
                "do it"
            ])
        );
        let c = run("codex", &["--model", "o3", "e", "x"]);
        assert_eq!(
            c.argv,
            os(&[
                "codex",
                "--model",
                "o3",
                "e",
                "--dangerously-bypass-approvals-and-sandbox",
                "x"
            ])
        );
        let c = run("codex", &["fix"]);
        assert_eq!(
            c.argv,
            os(&["codex", "--dangerously-bypass-approvals-and-sandbox", "fix"])
        );
        assert_eq!(
            run("codex", &["-a", "never", "x"]).decision,
            FullAutoDecision::UserFlag("-a".into())
        );
        assert_eq!(
            run("codex", &["login"]).decision,
            FullAutoDecision::Subcommand("login".into())
        );
    }

    #[test]
    fn opencode_full_auto_is_an_environment_variable() {
        let c = run("opencode", &["run", "x"]);
        assert_eq!(c.argv, os(&["opencode", "run", "x"]));
        assert_eq!(
            c.env,
            vec![(
                "OPENCODE_PERMISSION".to_string(),
                r#"{"*":"allow"}"#.to_string()
            )]
        );
        let c = run("opencode", &["auth", "login"]);
        assert!(c.env.is_empty());
    }

    #[test]
    fn configured_args_come_before_the_users_and_count_as_a_choice() {
        let mut agent = Agent::builtin("claude").unwrap();
        agent.args = os(&["--model", "opus"]);
        let c = agent.command(&os(&["hi"]));
        assert_eq!(
            c.argv,
            os(&[
                "claude",
                "--dangerously-skip-permissions",
                "--model",
                "opus",
                "hi"
            ])
        );
        agent.args = os(&["--permission-mode", "plan"]);
        assert_eq!(
            agent.command(&os(&["hi"])).decision,
            FullAutoDecision::UserFlag("--permission-mode".into())
        );
    }

    #[test]
    fn disabled_full_auto_leaves_arguments_alone() {
        let mut agent = Agent::builtin("claude").unwrap();
        agent.full_auto.enabled = false;
        let c = agent.command(&os(&["-p", "x"]));
        assert_eq!(c.argv, os(&["claude", "-p", "x"]));
        assert_eq!(c.decision, FullAutoDecision::DisabledInConfig);
    }
}
