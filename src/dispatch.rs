//! The invoked-name dispatch: argv[0]'s name (see [`crate::invoked`]) decides whether this
//! process is the control CLI or a shim.

use std::ffi::OsString;

use crate::config;
use crate::error::Failure;
use crate::invoked::{self, ARG0_VAR, CONTROL_NAME};
use crate::{cmd, shim};

pub fn run() -> i32 {
    let mut args = std::env::args_os();
    let arg0 = args.next().unwrap_or_default();
    let rest: Vec<OsString> = args.collect();
    let name = invoked::invoked_name(std::env::var_os(ARG0_VAR).as_deref(), &arg0);

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
