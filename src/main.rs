//! shimctl: one binary that is both the control CLI (`shimctl ...`) and, linked under an
//! agent's name (`claude`, `codex`, ...), a shim that runs that agent inside a Lima VM.

mod agents;
mod cmd;
mod config;
mod dispatch;
mod env_policy;
mod error;
mod exec;
mod exposure;
mod host;
mod invoked;
mod lima;
mod locations;
mod paths;
mod quote;
mod shim;
mod shims;
mod signals;
mod ui;

fn main() {
    let code = dispatch::run();
    std::process::exit(code);
}
