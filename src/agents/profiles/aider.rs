//! `aider`: the shim's profile, how the VM installs it, where the tests get it, and the
//! invocations that prove the profile against the real CLI.

use super::*;

pub const PROFILE: Builtin = Builtin {
    name: "aider",
    full_auto_args: &["--yes-always"],
    full_auto_env: &[],
    full_auto_subcommands: NONE,
    after_subcommands: NONE,
    skip_subcommands: NONE,
    first_only_subcommands: NONE,
    hidden_subcommands: NONE,
    skip_flags: &[
        "--yes-always",
        "--no-yes-always",
        "--no-auto-accept-architect",
    ],
    skip_flag_values: &[],
    skip_env: &["AIDER_YES_ALWAYS"],
    value_flags: NONE,
    variadic_flags: NONE,
    not_permission_choices: &["--auto-accept-architect"],
    env: &[
        "ANTHROPIC_API_KEY",
        "OPENAI_API_KEY",
        "GEMINI_API_KEY",
        "OPENROUTER_API_KEY",
        "OPENAI_API_BASE",
        "DEEPSEEK_API_KEY",
        "GROQ_API_KEY",
        "VERTEXAI_PROJECT",
        "AIDER_YES_ALWAYS",
    ],
    state: &["~/.aider"],
    egress_hosts: &["api.openai.com", "api.anthropic.com", "openrouter.ai"],

    install: "",
    package: Package::PyPi("aider-chat"),
    probes: &[Probe {
        args: &[
            "{FLAG}",
            "--exit",
            "--no-git",
            "--no-check-update",
            "--no-show-model-warnings",
            "--no-analytics",
            "--model",
            "gpt-4o",
            "--openai-api-key",
            "shimctl-check",
        ],
        env: &[],
        rejected: "unrecognized arguments",
        refused: &[],
    }],
    through_shim: Some((
        &[
            "--exit",
            "--no-git",
            "--no-check-update",
            "--no-show-model-warnings",
            "--no-analytics",
            "--model",
            "gpt-4o",
            "--openai-api-key",
            "shimctl-check",
        ],
        "unrecognized arguments",
    )),
};
