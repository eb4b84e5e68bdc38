//! Agent profiles: what each agent is called in the VM, how its full-auto mode is switched
//! on, when it must not be, and which variables it needs. Built-in defaults come from
//! ../shared/agents.md; the config can change any of them or add agents.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;

struct Builtin {
    name: &'static str,
    full_auto_args: &'static [&'static str],
    full_auto_env: &'static [(&'static str, &'static str)],
    /// Subcommands whose own flags carry full-auto (older codex ignores a root flag for exec).
    after_subcommands: &'static [&'static str],
    skip_subcommands: &'static [&'static str],
    /// Flags meaning "just help/version" or "the user already chose a permission mode".
    skip_flags: &'static [&'static str],
    /// Flags whose next argument is their value, so it is not taken for a subcommand.
    value_flags: &'static [&'static str],
    env: &'static [&'static str],
}

/// Agents that talk to several model providers take any of their keys.
const MULTI_PROVIDER_KEYS: &[&str] = &[
    "ANTHROPIC_API_KEY",
    "OPENAI_API_KEY",
    "GEMINI_API_KEY",
    "OPENROUTER_API_KEY",
];

const HELP_VERSION: [&str; 4] = ["-h", "--help", "-V", "--version"];

const BUILTINS: &[Builtin] = &[
    Builtin {
        name: "claude",
        full_auto_args: &["--dangerously-skip-permissions"],
        full_auto_env: &[],
        after_subcommands: &[],
        skip_subcommands: &[
            "auth",
            "setup-token",
            "mcp",
            "plugin",
            "plugins",
            "update",
            "install",
            "doctor",
            "daemon",
            "import",
            "logs",
            "rm",
            "stop",
            "attach",
            "respawn",
            "project",
            "agents",
        ],
        skip_flags: &[
            "-h",
            "--help",
            "-v",
            "--version",
            "--dangerously-skip-permissions",
            "--permission-mode",
        ],
        value_flags: &[
            "--model",
            "--fallback-model",
            "--settings",
            "--output-format",
            "--input-format",
            "--system-prompt",
            "--append-system-prompt",
            "--system-prompt-file",
            "--append-system-prompt-file",
            "--session-id",
            "--agent",
            "--agents",
            "--debug-file",
            "--plugin-dir",
        ],
        env: &[
            "ANTHROPIC_API_KEY",
            "ANTHROPIC_AUTH_TOKEN",
            "CLAUDE_CODE_OAUTH_TOKEN",
        ],
    },
    Builtin {
        name: "codex",
        full_auto_args: &["--dangerously-bypass-approvals-and-sandbox"],
        full_auto_env: &[],
        after_subcommands: &["exec", "e"],
        skip_subcommands: &[
            "login",
            "logout",
            "mcp",
            "mcp-server",
            "app-server",
            "app",
            "completion",
            "sandbox",
            "debug",
            "execpolicy",
            "apply",
            "a",
            "cloud",
            "features",
            "doctor",
            "review",
        ],
        skip_flags: &[
            "-h",
            "--help",
            "-V",
            "--version",
            "--yolo",
            "--dangerously-bypass-approvals-and-sandbox",
            "--full-auto",
            "-a",
            "--ask-for-approval",
            "-s",
            "--sandbox",
        ],
        value_flags: &[
            "-c",
            "--config",
            "-m",
            "--model",
            "-p",
            "--profile",
            "-C",
            "--cd",
            "--add-dir",
            "-i",
            "--image",
            "--local-provider",
        ],
        env: &["OPENAI_API_KEY", "CODEX_API_KEY"],
    },
    Builtin {
        name: "opencode",
        full_auto_args: &[],
        full_auto_env: &[("OPENCODE_PERMISSION", r#"{"*":"allow"}"#)],
        after_subcommands: &[],
        skip_subcommands: &[
            "auth",
            "mcp",
            "models",
            "agent",
            "upgrade",
            "uninstall",
            "serve",
            "web",
            "acp",
            "attach",
            "export",
            "import",
            "github",
            "session",
            "stats",
            "debug",
            "completion",
            "db",
        ],
        skip_flags: &["-h", "--help", "-v", "--version"],
        value_flags: &[],
        env: MULTI_PROVIDER_KEYS,
    },
    Builtin {
        name: "gemini",
        full_auto_args: &["--yolo"],
        // Without it gemini silently downgrades yolo in folders it does not trust.
        full_auto_env: &[("GEMINI_CLI_TRUST_WORKSPACE", "true")],
        after_subcommands: &[],
        skip_subcommands: &["mcp", "extensions", "extension", "skills", "hooks"],
        skip_flags: &[
            "-h",
            "--help",
            "-v",
            "--version",
            "-y",
            "--yolo",
            "--approval-mode",
        ],
        value_flags: &[
            "-m",
            "--model",
            "--include-directories",
            "--policy",
            "--session-file",
        ],
        env: &["GEMINI_API_KEY", "GOOGLE_API_KEY"],
    },
    Builtin {
        name: "copilot",
        full_auto_args: &["--allow-all"],
        full_auto_env: &[],
        after_subcommands: &[],
        skip_subcommands: &[
            "help",
            "init",
            "login",
            "logout",
            "mcp",
            "plugin",
            "plugins",
            "update",
            "version",
            "completion",
            "config",
        ],
        skip_flags: &["-h", "--help", "-v", "--version", "--allow-all", "--yolo"],
        value_flags: &["--model", "--add-dir", "-C", "--log-dir", "--config-dir"],
        env: &["COPILOT_GITHUB_TOKEN"],
    },
    Builtin {
        name: "aider",
        full_auto_args: &["--yes-always"],
        full_auto_env: &[],
        after_subcommands: &[],
        skip_subcommands: &[],
        skip_flags: &["-h", "--help", "--version", "--yes-always"],
        value_flags: &[],
        env: MULTI_PROVIDER_KEYS,
    },
    Builtin {
        name: "amp",
        full_auto_args: &["--dangerously-allow-all"],
        full_auto_env: &[],
        after_subcommands: &[],
        skip_subcommands: &[
            "login", "logout", "threads", "mcp", "tools", "config", "update", "doctor", "usage",
        ],
        skip_flags: &["-h", "--help", "-V", "--version", "--dangerously-allow-all"],
        value_flags: &[],
        env: &["AMP_API_KEY"],
    },
    Builtin {
        name: "cursor-agent",
        full_auto_args: &["--force"],
        full_auto_env: &[],
        after_subcommands: &[],
        skip_subcommands: &[
            "login",
            "logout",
            "status",
            "update",
            "upgrade",
            "ls",
            "create-chat",
            "mcp",
        ],
        skip_flags: &["-h", "--help", "-v", "--version", "-f", "--force", "--yolo"],
        value_flags: &["--model", "--workspace"],
        env: &["CURSOR_API_KEY"],
    },
];

/// Variables every agent gets when set on the host: terminal and locale only.
pub const GLOBAL_ENV: &[&str] = &["LANG", "LC_*", "TZ", "COLORTERM", "NO_COLOR", "FORCE_COLOR"];

pub fn builtin_names() -> impl Iterator<Item = &'static str> {
    BUILTINS.iter().map(|b| b.name)
}

#[derive(Clone, Debug)]
pub struct Agent {
    /// The name the shim was invoked as.
    pub name: String,
    /// The program run in the VM; always the first word of the guest command.
    pub program: String,
    pub vm: Option<String>,
    /// Added before the user's arguments.
    pub args: Vec<OsString>,
    /// Names or `*` patterns of host variables this agent needs.
    pub env: Vec<String>,
    pub full_auto: FullAuto,
}

#[derive(Clone, Debug)]
pub struct FullAuto {
    pub enabled: bool,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub after_subcommands: Vec<String>,
    pub skip_subcommands: Vec<String>,
    pub skip_flags: Vec<String>,
    pub value_flags: Vec<String>,
}

impl Agent {
    pub fn builtin(name: &str) -> Option<Agent> {
        let b = BUILTINS.iter().find(|b| b.name == name)?;
        let strings = |xs: &[&str]| xs.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        Some(Agent {
            name: name.to_string(),
            program: name.to_string(),
            vm: None,
            args: Vec::new(),
            env: strings(b.env),
            full_auto: FullAuto {
                enabled: true,
                args: strings(b.full_auto_args),
                env: b
                    .full_auto_env
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                after_subcommands: strings(b.after_subcommands),
                skip_subcommands: strings(b.skip_subcommands),
                skip_flags: strings(b.skip_flags),
                value_flags: strings(b.value_flags),
            },
        })
    }

    /// An agent known only from the config: no full-auto until the config says how.
    pub fn custom(name: &str) -> Agent {
        Agent {
            name: name.to_string(),
            program: name.to_string(),
            vm: None,
            args: Vec::new(),
            env: Vec::new(),
            full_auto: FullAuto {
                enabled: true,
                args: Vec::new(),
                env: Vec::new(),
                after_subcommands: Vec::new(),
                skip_subcommands: Vec::new(),
                skip_flags: HELP_VERSION.iter().map(|s| s.to_string()).collect(),
                value_flags: Vec::new(),
            },
        }
    }

    /// The program's file name, for finding the host's real one.
    pub fn program_file_name(&self) -> &str {
        self.program.rsplit('/').next().unwrap_or(&self.program)
    }
}

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
