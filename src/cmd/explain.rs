//! `shimctl explain AGENT [ARGS...]`: what typing the agent would run, without running it.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;

use argh::FromArgs;

use crate::agents::FullAutoDecision;
use crate::bypass;
use crate::config;
use crate::egress;
use crate::error::{Exit, Failure, Result};
use crate::invoked;
use crate::launch;
use crate::quote::{sh_assignment, sh_join};
use crate::sandbox;

/// Show what `AGENT ARGS...` would run in the VM (command, directory, variables), without running it.
#[derive(FromArgs)]
#[argh(subcommand, name = "explain", help_triggers("-h", "--help", "help"))]
pub struct Args {
    /// print the whole command, the sandbox's scripts included (it runs when pasted)
    #[argh(switch)]
    pub(super) full: bool,
    /// the agent, e.g. claude
    #[argh(positional)]
    pub(super) agent: String,
    /// the arguments you would give it
    #[argh(positional, greedy)]
    pub(super) args: Vec<String>,
}

/// Where explain's command line shows the staged file's path (known only once written).
const STAGED_FILE: &str = "<staged file>";

pub fn run(args: &[OsString], full: bool) -> Result<Exit> {
    let (name, rest) = args
        .split_first()
        .ok_or_else(|| Failure::usage("usage: shimctl explain AGENT [ARGS...]"))?;
    let name = invoked::name_of(name);
    let loaded = config::load()?;
    let agent = loaded.agent(&name).ok_or_else(|| {
        Failure::usage(format!(
            "`{name}` is not a known agent (known: {})",
            loaded.agent_names().join(", ")
        ))
    })?;
    if let Some(why) = bypass::runs_here()? {
        match bypass::find_real_program(agent.program_file_name()) {
            Some(p) => crate::say!("runs on this machine ({why}): {}", p.display()),
            None => crate::say!(
                "runs on this machine ({why}), but no `{}` is on PATH",
                agent.program_file_name()
            ),
        }
        return Ok(Exit::Success);
    }
    let guest = launch::Guest::Agent(&agent, rest);
    let plan = launch::plan(&launch::gather(&loaded, &guest)?, guest)?;
    let launch = &plan.launch;

    // The sandbox's launcher is kilobytes of scripts and options, described below; one word
    // stands for it unless --full asks for the exact command.
    let shown = if !full && launch.launcher_words > 0 {
        let mut words = launch.words().to_vec();
        words.splice(
            ..launch.launcher_words,
            [OsString::from("<shimctl sandbox>")],
        );
        launch.with_words(words)
    } else {
        launch.clone()
    };
    let mut line: Vec<String> = shown
        .set_env
        .iter()
        .map(|(k, v)| sh_assignment(&k.to_string_lossy(), v.as_bytes()))
        .collect();
    line.push(sh_join(
        shown
            .argv(OsStr::new(STAGED_FILE))
            .iter()
            .map(|a| a.as_bytes()),
    ));

    let mount = &plan.mount;
    crate::say!("command:   {}", line.join(" "));
    match &plan.vm_source {
        crate::config::VmSource::Default => crate::say!("vm:        {}", plan.vm),
        source => crate::say!("vm:        {} ({source})", plan.vm),
    }
    crate::say!(
        "directory: {} -> {}",
        plan.host_cwd.display(),
        plan.guest_cwd().display()
    );
    match mount {
        Some(mount) => crate::say!(
            "mount:     {} -> {} ({})",
            mount.location.display(),
            mount.mount_point.display(),
            if mount.writable {
                "writable"
            } else {
                "read-only"
            }
        ),
        None => crate::say!(
            "mount:     none: the directory is not shared; this needs no project, so it runs in the VM user's home"
        ),
    }
    let names = &plan.forwarded;
    crate::say!(
        "env:       {}",
        if names.is_empty() {
            "nothing forwarded".to_string()
        } else {
            names.join(" ")
        }
    );
    for (pattern, names) in &plan.wildcard_forwarded {
        crate::say!(
            "warning:   the pattern `{pattern}` forwards {} to the agent in the VM",
            names.join(" ")
        );
    }
    if let Some(decision) = &plan.decision {
        crate::say!("full-auto: {}", decision.describe(&agent.full_auto));
    }
    for line in sandbox::describe(plan.sandbox.as_ref(), &agent.name) {
        crate::say!("{line}");
    }
    match plan.sandbox.as_ref().and_then(|s| s.egress.as_ref()) {
        Some(policy) => {
            for line in egress::describe(policy, &agent.name) {
                crate::say!("{line}");
            }
        }
        None if plan.sandbox.is_some() => {
            crate::say!("egress:    off (no [egress] table): the agent reaches any host")
        }
        None => {}
    }
    if let launch::Via::Ssh { .. } = launch.via {
        crate::say!(
            "door:      ssh, through Lima's own connection (VM running); variables go by ssh's SendEnv, not on the command line"
        );
    }
    if let Some(words) = &launch.staged {
        let bytes: usize = words.iter().map(|w| w.len() + 1).sum();
        crate::say!(
            "staged:    the command's {} words ({} KiB) are too long for one ssh argument (128 KiB): `{}` first writes them to a private file in the VM, and the command above runs them from {STAGED_FILE}",
            words.len(),
            bytes.div_ceil(1024),
            sh_join(
                [
                    launch.limactl.path.as_os_str().as_bytes(),
                    b"shell",
                    b"--workdir",
                    b"/",
                    launch.shell.vm.as_bytes(),
                    b"sh",
                    b"-c",
                    launch::STAGE_WRITER.as_bytes(),
                ]
                .into_iter()
            )
        );
    }
    if plan.decision == Some(FullAutoDecision::Added)
        && plan.mount.as_ref().is_some_and(|m| !m.writable)
    {
        crate::say!("note:      the directory is read-only in the VM");
    }
    Ok(Exit::Success)
}
