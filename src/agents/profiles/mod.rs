//! The built-in agent profiles, one file per agent: the one place a maintainer edits when
//! that agent's CLI changes (tests/e2e reads these files too). Checked against the real CLIs at the versions pinned in tests/agents/ by the
//! profile check (`check.rs`, see docs/development.md): every real subcommand must be
//! classified here, every real permission-choosing flag listed, every value-taking flag
//! known, and the full-auto flag must parse where the shim puts it. docs/agents.md has the
//! facts users need. The config can change any of these or add agents.

mod aider;
mod amp;
mod claude;
mod codex;
mod copilot;
mod cursor_agent;
mod gemini;
mod opencode;

pub struct Builtin {
    pub name: &'static str,
    pub full_auto_args: &'static [&'static str],
    pub full_auto_env: &'static [(&'static str, &'static str)],
    /// Subcommands that run the agent, so full-auto goes in: before the user's arguments,
    /// or right after the subcommand when it is in `after_subcommands` too.
    #[cfg_attr(not(test), allow(dead_code))] // read by the profile check
    pub full_auto_subcommands: &'static [&'static str],
    pub after_subcommands: &'static [&'static str],
    /// Subcommands that take no permission mode: full-auto is left out.
    pub skip_subcommands: &'static [&'static str],
    /// Of the skipped ones, those the CLI recognises only as its very first argument (after
    /// a flag the word is a prompt, and full-auto goes in).
    pub first_only_subcommands: &'static [&'static str],
    /// Subcommands `--help` does not list (the check asks each for its own help).
    #[cfg_attr(not(test), allow(dead_code))] // read by the profile check
    pub hidden_subcommands: &'static [&'static str],
    /// Flags meaning "just help/version" or "the user already chose a permission mode",
    /// besides [`HELP_VERSION`].
    pub skip_flags: &'static [&'static str],
    /// A flag that chooses a permission mode only with such a value (`-c approval_policy=`).
    pub skip_flag_values: &'static [(&'static str, &'static str)],
    /// Variables that, forwarded to the agent, mean the user chose a permission mode.
    pub skip_env: &'static [&'static str],
    /// Flags whose next argument is their value, so it is not taken for a subcommand.
    pub value_flags: &'static [&'static str],
    /// Flags that take every following word up to the next flag (commander's `<x...>`).
    pub variadic_flags: &'static [&'static str],
    /// Real flags whose help reads like a permission choice but is not one (reviewed).
    #[cfg_attr(not(test), allow(dead_code))] // read by the profile check
    pub not_permission_choices: &'static [&'static str],
    /// Variables the agent reads for auth, base URL, model or provider.
    pub env: &'static [&'static str],
    /// Hosts of the agent's own service and login, allowed when egress is on (unless the
    /// config says `defaults = false`); taken from the URLs in the CLI.
    pub egress_hosts: &'static [&'static str],
    /// Where the agent keeps its logins and settings in the home: copied into the
    /// sandbox's own home when that is first made, so a login done before carries over.
    pub state: &'static [&'static str],
    /// The command that installs it in the VM, run there as the guest user ("" when none
    /// is known): doctor's fix and the sandbox's message when it is missing.
    pub install: &'static str,
    /// Where tests/agents/ pins it.
    #[cfg_attr(not(test), allow(dead_code))] // read by the profile check
    pub package: Package,
    /// Invocations whose parser rejects unknown options, `{FLAG}` standing for the flag:
    /// run by the profile check with a bogus flag (must be rejected) and the real one.
    #[cfg_attr(not(test), allow(dead_code))] // read by the profile check
    pub probes: &'static [Probe],
    /// Arguments the shim is given (it adds the full-auto flag), and what the CLI prints
    /// had that flag not parsed there: the real CLI through the shim (tests/e2e).
    #[allow(dead_code)] // read by tests/e2e/real_agents.rs, which includes these files
    pub through_shim: Option<(&'static [&'static str], &'static str)>,
}

/// Where the real CLI comes from, as tests/agents/ pins it.
#[cfg_attr(not(test), allow(dead_code))] // read by the profile check
pub enum Package {
    /// npm, in tests/agents/package.json.
    Npm(&'static str),
    /// PyPI, in tests/agents/requirements.txt.
    PyPi(&'static str),
    /// On no registry the project reaches (its profile is unverified).
    Unavailable,
}

/// An invocation whose parser rejects unknown options.
#[cfg_attr(not(test), allow(dead_code))] // read by the profile check
pub struct Probe {
    pub args: &'static [&'static str],
    pub env: &'static [(&'static str, &'static str)],
    /// What the CLI prints for an unknown option there.
    pub rejected: &'static str,
    /// What it must not print with the real flag and the profile's full-auto variables.
    pub refused: &'static [&'static str],
}

/// Help and version flags every agent has: skip full-auto, added to each profile's own
/// `skip_flags` (which lists only what differs, such as `-v` or `-V` for the version).
pub const HELP_VERSION: [&str; 3] = ["-h", "--help", "--version"];

pub const NONE: &[&str] = &[];

pub const BUILTINS: &[Builtin] = &[
    claude::PROFILE,
    codex::PROFILE,
    opencode::PROFILE,
    gemini::PROFILE,
    copilot::PROFILE,
    aider::PROFILE,
    amp::PROFILE,
    cursor_agent::PROFILE,
];
