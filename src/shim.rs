//! Proxy mode: what happens when a user types an agent's name. Builds a [`Plan`] (pure
//! knowledge: which VM, which directory, which command, which variables) and replaces the
//! process with it. `shimctl explain` prints the same plan.

use std::convert::Infallible;
use std::ffi::OsString;
use std::path::PathBuf;

use crate::agents::{Agent, FullAutoDecision};
use crate::config::Loaded;
use crate::env_policy;
use crate::error::{Failure, Result};
use crate::exec::{self, Replacement};
use crate::exposure;
use crate::host;
use crate::lima::{self, Mount, command::ShellCommand};
use crate::paths;

pub struct Plan {
    pub vm: String,
    pub host_cwd: PathBuf,
    pub mount: Mount,
    pub shell: ShellCommand,
    /// Variables set for limactl: its own controls and full-auto variables to forward.
    pub limactl_env: Vec<(OsString, OsString)>,
    pub decision: FullAutoDecision,
    /// Wildcard patterns with the forwarded names only they matched.
    pub wildcard_forwarded: Vec<(String, Vec<String>)>,
}

impl Plan {
    pub fn guest_cwd(&self) -> &std::path::Path {
        &self.shell.workdir
    }
}

pub fn run(loaded: &Loaded, agent: &Agent, args: Vec<OsString>) -> Result<Infallible> {
    if host::runs_here()?.is_some() {
        return host::run_real(agent.program_file_name(), args);
    }
    let plan = plan(loaded, agent, &args)?;
    if !plan.mount.writable {
        crate::tell!(
            "shimctl: note: {} is shared read-only with VM `{}`: {} cannot write there",
            plan.host_cwd.display(),
            plan.vm,
            agent.name
        );
    }
    let mut argv = plan.shell.argv();
    let failure = exec::replace_process(Replacement {
        program: &plan.shell.limactl,
        arg0: argv.remove(0),
        args: argv,
        set_env: plan.limactl_env,
        remove_env: vec![host::GUARD_VAR.into(), host::BYPASS_VAR.into()],
    });
    Err(Failure::cannot_run(failure.message))
}

pub fn plan(loaded: &Loaded, agent: &Agent, args: &[OsString]) -> Result<Plan> {
    let limactl = lima::find_limactl(loaded)?;
    lima::checked_version(&limactl)?;
    let vm = loaded.vm_for(Some(agent))?;
    let instance = lima::instance(&limactl, &vm)?;
    // Without --start, Lima 2.0.0-2.0.3 exits 0 and runs nothing for a stopped VM when
    // stdout is not a terminal (a script would think the agent succeeded); newer versions
    // fail with their own message. One stat and a kill(pid, 0) say it first, for all.
    if !loaded.start() && !lima::host_agent_running(&lima::instance_dir(&vm)?) {
        return Err(Failure::cannot_run(format!(
            "VM `{vm}` is stopped (the config says start = false); start it: shimctl vm start"
        )));
    }

    let host_cwd = std::env::current_dir().map_err(|e| {
        Failure::cannot_run(format!(
            "cannot read the current directory ({e}); cd to a project directory"
        ))
    })?;
    let Some((guest_cwd, mount)) = paths::guest_dir(&host_cwd, &instance.mounts) else {
        return Err(not_shared(&host_cwd, &vm, &instance.mounts, &agent.name));
    };
    let mount = mount.clone();

    let translated: Vec<OsString> = args
        .iter()
        .map(|a| paths::translate_arg(a, &instance.mounts))
        .collect();
    let agent_args: Vec<OsString> = agent
        .args
        .iter()
        .map(|a| paths::translate_arg(a, &instance.mounts))
        .collect();
    let agent = Agent {
        args: agent_args,
        ..agent.clone()
    };
    let command = agent.command(&translated);

    let mut patterns = loaded.global_env();
    patterns.extend(agent.env.iter().cloned());
    let mut forwarded = env_policy::select(&patterns, std::env::vars_os().map(|(k, _)| k));
    let wildcard_forwarded = env_policy::wildcard_matches(&patterns, &forwarded);
    let mut limactl_env: Vec<(OsString, OsString)> = Vec::new();
    for (name, value) in &command.env {
        // A value the user set on the host wins over the profile's.
        if std::env::var_os(name).is_none() {
            limactl_env.push((name.into(), value.into()));
        }
        forwarded.push(name.clone());
    }
    forwarded.sort();
    forwarded.dedup();

    let shell = ShellCommand {
        limactl: limactl.path,
        workdir: guest_cwd,
        start: loaded.start(),
        vm: vm.clone(),
        forwarded,
        command: command.argv,
    };
    limactl_env.extend(shell.limactl_env());
    Ok(Plan {
        vm,
        host_cwd,
        mount,
        shell,
        limactl_env,
        decision: command.decision,
        wildcard_forwarded,
    })
}

fn not_shared(cwd: &std::path::Path, vm: &str, mounts: &[Mount], agent: &str) -> Failure {
    let shares = if mounts.is_empty() {
        "it shares no directory".to_string()
    } else {
        let list: Vec<String> = mounts
            .iter()
            .map(|m| {
                format!(
                    "{}{}",
                    m.location.display(),
                    if m.writable { "" } else { " (read-only)" }
                )
            })
            .collect();
        format!("it shares {}", list.join(", "))
    };
    Failure::cannot_run(format!(
        "{} is not shared with VM `{vm}` ({shares})\n  share it: {}, or run on the host: shimctl bypass {agent} ...",
        cwd.display(),
        exposure::share_suggestion(cwd),
    ))
}
