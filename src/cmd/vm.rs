//! `shimctl vm create|start|stop|delete|clone|provision`: the agents VM's life cycle,
//! through limactl.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use argh::FromArgs;

use crate::config;
use crate::error::{Exit, Failure, Result};
use crate::host_dirs;
use crate::lima::{self, Limactl, control, control::Progress};

/// Our Lima template for an agents VM (install/lima/agent.yaml).
pub const TEMPLATE: &str = include_str!("../../install/lima/agent.yaml");

/// Create, start, stop or delete the agents VM (the config's `vm`, default `sandbox`).
#[derive(FromArgs)]
#[argh(subcommand, name = "vm", help_triggers("-h", "--help", "help"))]
pub struct Args {
    #[argh(subcommand)]
    command: VmCommand,
}

/// The `vm` subcommands, for completions.
pub const COMMANDS: &[&argh::CommandInfo] = <VmCommand as argh::SubCommands>::COMMANDS;

#[derive(FromArgs)]
#[argh(subcommand)]
enum VmCommand {
    Create(CreateArgs),
    Start(StartArgs),
    Stop(StopArgs),
    Delete(DeleteArgs),
    Provision(ProvisionArgs),
    Clone(CloneArgs),
}

/// Create the VM from shimctl's template (no host directories shared), start it, and give
/// it the host's git identity.
#[derive(FromArgs)]
#[argh(subcommand, name = "create", help_triggers("-h", "--help", "help"))]
struct CreateArgs {
    /// a Lima template file to use instead of shimctl's
    #[argh(option)]
    template: Option<PathBuf>,
    /// make the base VM that `shimctl task new` clones (`VM-base`), and leave it stopped
    #[argh(switch)]
    base: bool,
    /// show Lima's own lines as they come
    #[argh(switch, short = 'v')]
    verbose: bool,
}

/// Start the VM.
#[derive(FromArgs)]
#[argh(subcommand, name = "start", help_triggers("-h", "--help", "help"))]
struct StartArgs {
    /// show Lima's own lines as they come
    #[argh(switch, short = 'v')]
    verbose: bool,
}

/// Stop the VM.
#[derive(FromArgs)]
#[argh(subcommand, name = "stop", help_triggers("-h", "--help", "help"))]
struct StopArgs {
    /// stop it even though agent sessions run in it (they end)
    #[argh(switch)]
    yes: bool,
    /// show Lima's own lines as they come
    #[argh(switch, short = 'v')]
    verbose: bool,
}

/// Delete the VM (it is disposable: `shimctl vm create` makes a fresh one).
#[derive(FromArgs)]
#[argh(subcommand, name = "delete", help_triggers("-h", "--help", "help"))]
struct DeleteArgs {
    /// do not ask for confirmation (nor about the sessions running in it)
    #[argh(switch)]
    yes: bool,
    /// show Lima's own lines as they come
    #[argh(switch, short = 'v')]
    verbose: bool,
}

/// Clone a stopped VM (copy-on-write where the file system allows): `limactl clone`.
#[derive(FromArgs)]
#[argh(subcommand, name = "clone", help_triggers("-h", "--help", "help"))]
struct CloneArgs {
    /// the stopped VM to clone
    #[argh(positional)]
    from: String,
    /// the new VM's name
    #[argh(positional)]
    to: String,
    /// show Lima's own lines as they come
    #[argh(switch, short = 'v')]
    verbose: bool,
}

/// Install in the VM what shimctl's template installs for egress (bubblewrap, socat,
/// tinyproxy), for a VM made before that step existed. Runs as root in the VM.
#[derive(FromArgs)]
#[argh(subcommand, name = "provision", help_triggers("-h", "--help", "help"))]
struct ProvisionArgs {
    /// show Lima's own lines as they come
    #[argh(switch, short = 'v')]
    verbose: bool,
}

pub fn run(args: Args) -> Result<Exit> {
    let loaded = config::load()?;
    let (limactl, vm) = lima::target(&loaded)?;
    match args.command {
        VmCommand::Create(a) if a.base => {
            let base = super::task::default_base(&loaded)?;
            create(&limactl, &base, a.template.as_deref(), progress(a.verbose))?;
            control::step(
                &limactl,
                &format!("stopping VM `{base}`: tasks are cloned from it stopped"),
                &["stop", "--tty=false", base.as_str()],
                progress(a.verbose),
            )?;
            crate::say!(
                "base VM `{base}` is ready (stopped); in a git repository: shimctl task new NAME"
            );
        }
        VmCommand::Create(a) => {
            create(&limactl, &vm, a.template.as_deref(), progress(a.verbose))?;
            crate::say!(
                "VM `{vm}` is ready; share a project with it: cd ~/Projects && shimctl share ."
            );
        }
        VmCommand::Clone(a) => {
            for name in [&a.from, &a.to] {
                if !config::valid_vm_name(name) {
                    return Err(Failure::usage(format!("`{name}` is not a valid VM name")));
                }
            }
            lima::require_vm(&a.from)?;
            if lima::host_agent_running(&lima::instance_dir(&a.from)?) {
                return Err(Failure::refused(format!(
                    "VM `{}` runs, and Lima clones only a stopped VM; stop it first: limactl stop {}",
                    a.from, a.from
                )));
            }
            control::step(
                &limactl,
                &format!("cloning VM `{}` as `{}`", a.from, a.to),
                &["clone", "--tty=false", a.from.as_str(), a.to.as_str()],
                progress(a.verbose),
            )?;
            crate::say!("VM `{}` is a clone of `{}` (stopped)", a.to, a.from);
        }
        VmCommand::Start(a) => {
            lima::require_vm(&vm)?;
            control::step(
                &limactl,
                &format!("starting VM `{vm}` (usually under a minute)"),
                &["start", "--tty=false", vm.as_str()],
                progress(a.verbose),
            )?;
        }
        VmCommand::Stop(a) => {
            lima::require_vm(&vm)?;
            if !control::may_stop(&vm, "stopping it", a.yes)? {
                crate::say!("left VM `{vm}` running");
                return Ok(Exit::Refused);
            }
            control::step(
                &limactl,
                &format!("stopping VM `{vm}`"),
                &["stop", "--tty=false", vm.as_str()],
                progress(a.verbose),
            )?;
        }
        VmCommand::Provision(a) => {
            lima::require_vm(&vm)?;
            let script = egress_provision_script();
            control::step(
                &limactl,
                &format!("installing bubblewrap, socat and tinyproxy in VM `{vm}`"),
                &[
                    "shell",
                    "--workdir",
                    "/",
                    vm.as_str(),
                    "sudo",
                    "bash",
                    "-c",
                    script.as_str(),
                ],
                progress(a.verbose),
            )?;
            crate::say!("VM `{vm}` has what egress needs (bubblewrap, socat, tinyproxy)");
        }
        VmCommand::Delete(a) => {
            lima::require_vm(&vm)?;
            if !a.yes && !confirm_delete(&vm)? || !control::may_stop(&vm, "deleting it", a.yes)? {
                crate::say!("left VM `{vm}` as it is");
                return Ok(Exit::Refused);
            }
            control::step(
                &limactl,
                &format!("deleting VM `{vm}`"),
                &["delete", "--tty=false", "--force", vm.as_str()],
                progress(a.verbose),
            )?;
            crate::say!("deleted VM `{vm}`; `shimctl vm create` makes a fresh one");
        }
    }
    Ok(Exit::Success)
}

fn progress(verbose: bool) -> Progress {
    if verbose {
        Progress::Lima
    } else {
        Progress::Quiet
    }
}

/// The template's egress step, between its begin and end lines, unindented: one script for
/// new VMs (the template) and old ones (`vm provision`).
fn egress_provision_script() -> String {
    let mut lines = Vec::new();
    let mut inside = false;
    for line in TEMPLATE.lines() {
        let text = line.trim_start();
        if text == "# shimctl-egress-provision: begin" {
            inside = true;
        } else if text == "# shimctl-egress-provision: end" {
            break;
        } else if inside {
            lines.push(line.strip_prefix("    ").unwrap_or(line));
        }
    }
    lines.join("\n")
}

fn confirm_delete(vm: &str) -> Result<bool> {
    crate::ui::confirm(
        &format!(
            "Delete VM `{vm}`? It is disposable (`shimctl vm create` makes a fresh one), but what lives only inside it is lost: agent logins, files outside shared directories."
        ),
        format!("deleting VM `{vm}` needs confirmation: run it in a terminal, or pass --yes"),
    )
}

fn create(limactl: &Limactl, vm: &str, template: Option<&Path>, progress: Progress) -> Result<()> {
    if lima::exists(vm)? {
        return Err(Failure::refused(format!(
            "VM `{vm}` already exists; to start over: shimctl vm delete, then shimctl vm create"
        )));
    }
    let from = template.map_or("shimctl's template".into(), |t| t.display().to_string());
    let template = match template {
        Some(t) if t.is_file() => t.to_path_buf(),
        Some(t) => {
            return Err(Failure::usage(format!(
                "template {} is not a file",
                t.display()
            )));
        }
        None => write_embedded_template()?,
    };
    // --mount-none: whatever the template or Lima's defaults say, no host directory is shared.
    control::step(
        limactl,
        &format!("creating VM `{vm}` from {from}"),
        &[
            "create".as_ref(),
            "--tty=false".as_ref(),
            format!("--name={vm}").as_ref(),
            "--mount-none".as_ref(),
            template.as_os_str(),
        ],
        progress,
    )?;
    control::step(
        limactl,
        &format!(
            "starting VM `{vm}` for the first time: it fetches its image and installs the agents, often 3-10 minutes"
        ),
        &["start", "--tty=false", vm],
        progress,
    )?;
    copy_git_identity(limactl, vm);
    Ok(())
}

fn write_embedded_template() -> Result<PathBuf> {
    let dir = host_dirs::cache_dir()
        .ok_or_else(|| Failure::cannot_run("cannot place the cache directory: set HOME"))?;
    let path = dir.join("agent.yaml");
    std::fs::create_dir_all(&dir)
        .and_then(|_| std::fs::write(&path, TEMPLATE))
        .map_err(|e| Failure::cannot_run(format!("cannot write {}: {e}", path.display())))?;
    Ok(path)
}

fn host_git(key: &str) -> Option<String> {
    let out = Command::new("git")
        .args(["config", "--get", key])
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let value = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !value.is_empty()).then_some(value)
}

/// Name and email only: commits made in the VM carry the user's identity, nothing secret
/// (no credentials, no signing keys) is copied.
fn copy_git_identity(limactl: &Limactl, vm: &str) {
    for key in ["user.name", "user.email"] {
        match host_git(key) {
            Some(value) => {
                match control::guest_output(
                    limactl,
                    vm,
                    &["git", "config", "--global", key, &value],
                ) {
                    Some(_) => crate::say!("set git {key} in the VM to the host's: {value}"),
                    None => crate::say!(
                        "could not set git {key} in the VM; set it there: shimctl run git config --global {key} '...'"
                    ),
                }
            }
            None => crate::say!(
                "the host has no git {key}; set it in the VM: shimctl run git config --global {key} '...'"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn provision_script_is_the_templates_egress_step() {
        let script = super::egress_provision_script();
        assert!(script.starts_with("set -eu -o pipefail\n"), "{script}");
        assert!(script.contains("apt-get install") && script.contains("tinyproxy-bin"));
        assert!(script.trim_end().ends_with("fi"), "{script}");
    }
}
