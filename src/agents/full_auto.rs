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
    /// A forwarded variable that chooses a permission mode.
    UserEnv(String),
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
            FullAutoDecision::UserEnv(v) => {
                format!("not added: {v} is set and forwarded, and chooses the permission mode")
            }
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

/// One command-line word that is a flag: its name, and the value written into the same word
/// (`--flag=value`, or a value-taking short flag's glued `-avalue` / `-a=value`).
fn split_flag<'a>(arg: &'a [u8], fa: &FullAuto) -> (&'a [u8], Option<&'a [u8]>) {
    if arg.starts_with(b"--") {
        return match arg.iter().position(|&b| b == b'=') {
            Some(eq) => (&arg[..eq], Some(&arg[eq + 1..])),
            None => (arg, None),
        };
    }
    if arg.len() > 2 {
        let short = &arg[..2];
        if fa.value_flags.iter().any(|f| f.as_bytes() == short) {
            let value = &arg[2..];
            return (short, Some(value.strip_prefix(b"=").unwrap_or(value)));
        }
    }
    (arg, None)
}

impl Agent {
    /// Decides on full-auto from what the user typed and assembles the guest command.
    /// `user_args` are already path-translated; they are never reordered or altered.
    /// `forwarded` are the names of the variables the agent will get.
    pub fn command(&self, user_args: &[OsString], forwarded: &[String]) -> AgentCommand {
        let fa = &self.full_auto;
        let mut first_positional: Option<usize> = None;
        let mut decision = if !fa.enabled {
            FullAutoDecision::DisabledInConfig
        } else if fa.args.is_empty() && fa.env.is_empty() {
            FullAutoDecision::NothingConfigured
        } else if let Some(v) = fa.skip_env.iter().find(|v| forwarded.contains(v)) {
            FullAutoDecision::UserEnv(v.clone())
        } else {
            FullAutoDecision::Added
        };
        let mut user_chose = |choice: FullAutoDecision| {
            if decision == FullAutoDecision::Added {
                decision = choice;
            }
        };
        let chooses_by_value = |flag: &[u8], value: &[u8]| {
            fa.skip_flag_values
                .iter()
                .any(|(f, prefix)| f.as_bytes() == flag && value.starts_with(prefix.as_bytes()))
        };

        let configured = self.args.iter().map(|a| (a, false));
        let typed = user_args.iter().map(|a| (a, true));
        let mut typed_index = 0usize;
        // The flag whose value comes next, and whether every following word is its value.
        let mut value_of: Option<&[u8]> = None;
        let mut variadic = false;
        for (arg, is_typed) in configured.chain(typed) {
            let bytes = arg.as_bytes();
            let index = typed_index;
            if is_typed {
                typed_index += 1;
            }
            if bytes == b"--" {
                break;
            }
            if bytes.starts_with(b"-") && bytes.len() > 1 {
                variadic = false;
                value_of = None;
                let (name, inline) = split_flag(bytes, fa);
                if let Some(flag) = fa.skip_flags.iter().find(|f| f.as_bytes() == name) {
                    user_chose(FullAutoDecision::UserFlag(flag.clone()));
                }
                match inline {
                    Some(value) if chooses_by_value(name, value) => {
                        user_chose(FullAutoDecision::UserFlag(
                            String::from_utf8_lossy(bytes).into_owned(),
                        ));
                    }
                    Some(_) => {}
                    None if fa.variadic_flags.iter().any(|f| f.as_bytes() == name) => {
                        variadic = true;
                    }
                    None if fa.value_flags.iter().any(|f| f.as_bytes() == name) => {
                        value_of = Some(name);
                    }
                    None => {}
                }
            } else if let Some(flag) = value_of.take() {
                if chooses_by_value(flag, bytes) {
                    user_chose(FullAutoDecision::UserFlag(format!(
                        "{} {}",
                        String::from_utf8_lossy(flag),
                        String::from_utf8_lossy(bytes)
                    )));
                }
            } else if variadic {
                // Another value of a flag that takes several.
            } else if is_typed && first_positional.is_none() {
                first_positional = Some(index);
                let first_word = index == 0 && self.args.is_empty();
                let only_first = fa
                    .first_only_subcommands
                    .iter()
                    .any(|s| s.as_bytes() == bytes);
                if let Some(sub) = fa.skip_subcommands.iter().find(|s| s.as_bytes() == bytes)
                    && (first_word || !only_first)
                {
                    user_chose(FullAutoDecision::Subcommand(sub.clone()));
                }
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
        Agent::builtin(agent).unwrap().command(&os(args), &[])
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
    fn opencode_gets_auto_at_the_root_or_after_run_and_keeps_its_denies() {
        let c = run("opencode", &["run", "x"]);
        assert_eq!(c.argv, os(&["opencode", "run", "--auto", "x"]));
        assert!(
            c.env.is_empty(),
            "no OPENCODE_PERMISSION: it would override denies"
        );
        let c = run("opencode", &["/some/project"]);
        assert_eq!(c.argv, os(&["opencode", "--auto", "/some/project"]));
        let c = run("opencode", &["auth", "login"]);
        assert_eq!(c.decision, FullAutoDecision::Subcommand("auth".into()));
        for flag in ["--auto", "--yolo", "--dangerously-skip-permissions"] {
            assert_eq!(
                run("opencode", &[flag, "run", "x"]).decision,
                FullAutoDecision::UserFlag(flag.into()),
                "{flag}"
            );
        }
        let c = Agent::builtin("opencode")
            .unwrap()
            .command(&os(&["run", "x"]), &["OPENCODE_PERMISSION".to_string()]);
        assert_eq!(
            c.decision,
            FullAutoDecision::UserEnv("OPENCODE_PERMISSION".into())
        );
        assert_eq!(c.argv, os(&["opencode", "run", "x"]));
    }

    #[test]
    fn claude_subcommands_recognised_only_first_are_prompts_elsewhere() {
        let c = run("claude", &["kill", "abc123"]);
        assert_eq!(c.decision, FullAutoDecision::Subcommand("kill".into()));
        assert_eq!(c.argv, os(&["claude", "kill", "abc123"]));
        // After a flag, claude itself reads `kill ID` as a prompt.
        let c = run("claude", &["--model", "opus", "kill", "the bug"]);
        assert_eq!(c.decision, FullAutoDecision::Added);
        for sub in [
            "stop",
            "rm",
            "logs",
            "attach",
            "respawn",
            "ultrareview",
            "purge",
        ] {
            assert_eq!(
                run("claude", &[sub, "x"]).decision,
                FullAutoDecision::Subcommand(sub.into())
            );
        }
    }

    #[test]
    fn permission_choices_are_respected() {
        for (agent, args) in [
            ("claude", &["--restricted", "-p", "x"][..]),
            ("claude", &["--allow-dangerously-skip-permissions", "x"]),
            ("codex", &["--approve-for-me", "x"]),
            ("codex", &["exec", "--approve-for-me", "x"]),
            ("codex", &["-anever", "x"]),
            ("codex", &["-a=never", "x"]),
            ("codex", &["-sread-only", "x"]),
            ("codex", &["-c", "approval_policy=never", "x"]),
            ("codex", &["--config=sandbox_mode=read-only", "x"]),
            ("codex", &["-capproval_policy=never", "exec", "x"]),
            ("copilot", &["--allow-all-tools", "-p", "x"]),
            ("copilot", &["--allow-all-paths"]),
            ("copilot", &["--allow-all-urls"]),
            ("copilot", &["--mode", "plan"]),
            ("copilot", &["--plan"]),
            ("copilot", &["--autopilot"]),
            ("copilot", &["--deny-tool=shell"]),
            ("gemini", &["--approval-mode", "plan"]),
        ] {
            let c = run(agent, args);
            assert!(
                matches!(c.decision, FullAutoDecision::UserFlag(_)),
                "{agent} {args:?}: {:?}",
                c.decision
            );
            assert_eq!(c.argv[1..], os(args), "{agent} {args:?}: untouched");
        }
        // A `-c` that sets something else is no permission choice.
        let c = run("codex", &["-c", "model=o3", "exec", "x"]);
        assert_eq!(
            c.argv,
            os(&[
                "codex",
                "-c",
                "model=o3",
                "exec",
                "--dangerously-bypass-approvals-and-sandbox",
                "x"
            ])
        );
        let c = Agent::builtin("claude")
            .unwrap()
            .command(&os(&["-p", "x"]), &["CLAUDE_CODE_RESTRICTED".to_string()]);
        assert!(matches!(c.decision, FullAutoDecision::UserEnv(_)));
    }

    #[test]
    fn gemini_subcommands_and_their_aliases_skip_full_auto() {
        for args in [
            &["skill", "list"][..],
            &["hook", "migrate"],
            &["gemma", "status"],
            &["extension", "list"],
        ] {
            assert_eq!(
                run("gemini", args).decision,
                FullAutoDecision::Subcommand(args[0].into()),
                "{args:?}"
            );
        }
    }

    #[test]
    fn values_of_flags_that_take_several_are_not_subcommands() {
        let c = run("claude", &["--add-dir", "/a", "mcp", "-p", "fix"]);
        assert_eq!(c.decision, FullAutoDecision::Added);
        // codex no longer has `mcp-server` or `app`: they are prompts now.
        assert_eq!(run("codex", &["app"]).decision, FullAutoDecision::Added);
    }

    #[test]
    fn configured_args_come_before_the_users_and_count_as_a_choice() {
        let mut agent = Agent::builtin("claude").unwrap();
        agent.args = os(&["--model", "opus"]);
        let c = agent.command(&os(&["hi"]), &[]);
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
            agent.command(&os(&["hi"]), &[]).decision,
            FullAutoDecision::UserFlag("--permission-mode".into())
        );
    }

    #[test]
    fn disabled_full_auto_leaves_arguments_alone() {
        let mut agent = Agent::builtin("claude").unwrap();
        agent.full_auto.enabled = false;
        let c = agent.command(&os(&["-p", "x"]), &[]);
        assert_eq!(c.argv, os(&["claude", "-p", "x"]));
        assert_eq!(c.decision, FullAutoDecision::DisabledInConfig);
    }
}
