//! Agent profiles: what each agent is called in the VM, how its full-auto mode is switched
//! on, when it must not be, and which variables it needs. The data is in `profiles/` (a file per agent), the
//! full-auto decision in `full_auto.rs`.

#[cfg(test)]
mod check;
mod full_auto;
mod profiles;

use std::ffi::OsString;

pub use full_auto::FullAutoDecision;
use profiles::{BUILTINS, HELP_VERSION};

/// The agents linked by `shimctl install` when none are named.
pub const DEFAULT_AGENTS: &[&str] = &["claude", "codex", "opencode"];

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
    /// Hosts allowed by default when egress is on (the built-in profiles' own services).
    pub egress_hosts: Vec<String>,
    /// Home paths (`~/...`) of the agent's logins and settings.
    pub state: Vec<String>,
}

#[derive(Clone, Debug, Default)]
pub struct FullAuto {
    pub enabled: bool,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub after_subcommands: Vec<String>,
    pub skip_subcommands: Vec<String>,
    /// Of the skipped subcommands, those the CLI recognises only as its first argument.
    pub first_only_subcommands: Vec<String>,
    pub skip_flags: Vec<String>,
    /// A flag that chooses a permission mode only with a value starting so.
    pub skip_flag_values: Vec<(String, String)>,
    /// Variables that, forwarded to the agent, mean the user chose a permission mode.
    pub skip_env: Vec<String>,
    pub value_flags: Vec<String>,
    /// Flags that take every following word up to the next flag.
    pub variadic_flags: Vec<String>,
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
                first_only_subcommands: strings(b.first_only_subcommands),
                skip_flags: strings(&HELP_VERSION)
                    .into_iter()
                    .chain(strings(b.skip_flags))
                    .collect(),
                skip_flag_values: b
                    .skip_flag_values
                    .iter()
                    .map(|(f, v)| (f.to_string(), v.to_string()))
                    .collect(),
                skip_env: strings(b.skip_env),
                value_flags: strings(b.value_flags),
                variadic_flags: strings(b.variadic_flags),
            },
            egress_hosts: strings(b.egress_hosts),
            state: strings(b.state),
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
                // A program of the user's: `-V` is a version flag often enough to keep.
                skip_flags: HELP_VERSION
                    .iter()
                    .chain(&["-V"])
                    .map(|s| s.to_string())
                    .collect(),
                ..FullAuto::default()
            },
            egress_hosts: Vec::new(),
            state: Vec::new(),
        }
    }

    /// The program's file name, for finding the host's real one.
    pub fn program_file_name(&self) -> &str {
        self.program.rsplit('/').next().unwrap_or(&self.program)
    }
}

/// How to install `program` in VM `vm`, as a command to paste (doctor, and the sandbox's
/// message when the agent is missing there).
pub fn install_hint(vm: &str, program: &str) -> String {
    match BUILTINS.iter().find(|b| b.name == program) {
        Some(b) if !b.install.is_empty() => {
            let words = shell_words::split(b.install).expect("profiles' install commands parse");
            let words: Vec<&[u8]> = words.iter().map(|w| w.as_bytes()).collect();
            format!("limactl shell {vm} {}", crate::quote::sh_join(words))
        }
        _ => format!("install {program} inside the VM (limactl shell {vm})"),
    }
}
