//! `cursor-agent`: the shim's profile, how the VM installs it, where the tests get it, and the
//! invocations that prove the profile against the real CLI.

use super::*;

pub const PROFILE: Builtin = Builtin {
    name: "cursor-agent",
    full_auto_args: &["--force"],
    full_auto_env: &[],
    full_auto_subcommands: NONE,
    after_subcommands: NONE,
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
    first_only_subcommands: NONE,
    hidden_subcommands: NONE,
    skip_flags: &["-v", "-f", "--force", "--yolo"],
    skip_flag_values: &[],
    skip_env: NONE,
    value_flags: &["--model", "--workspace"],
    variadic_flags: NONE,
    not_permission_choices: NONE,
    env: &["CURSOR_API_KEY"],
    state: &["~/.cursor", "~/.config/cursor"],
    egress_hosts: &["cursor.com", "*.cursor.com", "*.cursor.sh"],

    install: "",
    package: Package::Unavailable,
    probes: &[],
    through_shim: None,
};
