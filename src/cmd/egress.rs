//! `shimctl egress test HOST`: whether an agent in the egress sandbox could reach HOST, and
//! which rule decides it.

use argh::FromArgs;

use crate::config;
use crate::egress::{self, Source};
use crate::error::{Exit, Failure, Result};

/// Egress (the config's [egress] table): which hosts agents may reach from the VM.
#[derive(FromArgs)]
#[argh(subcommand, name = "egress", help_triggers("-h", "--help", "help"))]
pub struct Args {
    #[argh(subcommand)]
    command: EgressCommand,
}

/// The `egress` subcommands, for completions.
pub const COMMANDS: &[&argh::CommandInfo] = <EgressCommand as argh::SubCommands>::COMMANDS;

#[derive(FromArgs)]
#[argh(subcommand)]
enum EgressCommand {
    Test(TestArgs),
}

/// Say whether HOST (a host, host:port or URL) would be allowed, and by which rule; exits
/// 0 when allowed, 1 when blocked.
#[derive(FromArgs)]
#[argh(subcommand, name = "test", help_triggers("-h", "--help", "help"))]
struct TestArgs {
    /// the host, e.g. github.com, localhost:3000 or https://api.github.com/x
    #[argh(positional)]
    host: String,
    /// the agent whose policy to use (default claude)
    #[argh(option)]
    agent: Option<String>,
}

pub fn run(args: Args) -> Result<Exit> {
    let EgressCommand::Test(a) = args.command;
    let loaded = config::load()?;
    let name = a.agent.as_deref().unwrap_or("claude");
    let agent = loaded.agent(name).ok_or_else(|| {
        Failure::usage(format!(
            "`{name}` is not a known agent (known: {})",
            loaded.agent_names().join(", ")
        ))
    })?;
    let (host, port) = egress::parse_target(&a.host).ok_or_else(|| {
        Failure::usage(format!(
            "`{}` is not a host, host:port or http(s) URL",
            a.host
        ))
    })?;
    let config = loaded.short_display_path();
    let Some(policy) = egress::policy(&loaded, &agent) else {
        crate::say!(
            "allowed: egress is off for {name} (no [egress] table in {config}), so it reaches any host, {host}:{port} included"
        );
        return Ok(Exit::Success);
    };
    match policy.decide(&host, port) {
        Some((rule, source)) => {
            let place = match source {
                Source::Default(_) => source.to_string(),
                _ => format!("{source} in {config}"),
            };
            crate::say!("allowed: {host}:{port} for {name}, by `{rule}` ({place})");
            Ok(Exit::Success)
        }
        None => {
            crate::say!(
                "blocked: {host}:{port} for {name}; to allow it, add \"{}\" to allow = [...] under [egress] (or [agents.{name}.egress]) in {config}",
                egress::suggested_rule(&host, port)
            );
            Ok(Exit::Refused)
        }
    }
}
