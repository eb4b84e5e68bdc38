//! Proxy mode: what happens when a user types an agent's name. Builds a [`Plan`] (pure
//! knowledge: which VM, which directory, which command, which variables) and replaces the
//! process with it. `shimctl explain` prints the same plan.

use std::convert::Infallible;
use std::ffi::OsString;
use std::io::IsTerminal;
use std::path::PathBuf;

use crate::agents::{Agent, FullAutoDecision};
use crate::config::Door;
use crate::config::Loaded;
use crate::env_policy;
use crate::error::{Failure, Result};
use crate::exec::{self, Replacement};
use crate::exposure;
use crate::host;
use crate::lima::{
    self, Limactl, Mount,
    command::{ShellCommand, SshDoor},
    process,
};
use crate::paths;
use crate::sandbox::{self, Sandbox};

pub struct Plan {
    pub limactl: Limactl,
    /// Set when the command goes straight through Lima's ssh connection (`door = "ssh"`
    /// and the VM runs); otherwise through `limactl shell`.
    pub door: Option<SshDoor>,
    /// The guest user's shell, for the SCRIPT the ssh door builds itself.
    pub guest_shell: String,
    pub vm: String,
    pub host_cwd: PathBuf,
    /// The mount that holds the directory; None when it is not shared and the command
    /// needs no project (it runs in the guest user's home).
    pub mount: Option<Mount>,
    pub shell: ShellCommand,
    /// Variables set for limactl: its own controls and full-auto variables to forward.
    pub limactl_env: Vec<(OsString, OsString)>,
    /// For an agent: whether full-auto went in, and why.
    pub decision: Option<FullAutoDecision>,
    /// The arguments are too long for Lima's one ssh argument: they go through a file in
    /// the guest, written by an extra `limactl shell` call before the real one.
    pub staged: bool,
    /// Wildcard patterns with the forwarded names only they matched.
    pub wildcard_forwarded: Vec<(String, Vec<String>)>,
    /// The agent's sandbox in the VM (None: `sandbox = false`, or not an agent).
    pub sandbox: Option<Sandbox>,
    /// How many leading words of the guest command are the sandbox's launcher.
    pub launcher_words: usize,
    /// The VM is stopped and this start boots it first (`start = true`).
    pub starts_vm: bool,
}

impl Plan {
    pub fn guest_cwd(&self) -> &std::path::Path {
        &self.shell.workdir
    }
}

/// What runs in the VM.
pub enum Guest<'a> {
    /// An agent with the user's arguments: its profile decides full-auto and variables.
    Agent(&'a Agent, &'a [OsString]),
    /// Any command, words as given (`shimctl run`); none: the login shell (`shimctl shell`).
    Command(&'a [OsString]),
}

pub fn run(loaded: &Loaded, agent: &Agent, args: Vec<OsString>) -> Result<Infallible> {
    if host::runs_here()?.is_some() {
        return host::run_real(agent.program_file_name(), args);
    }
    let plan = plan(loaded, Guest::Agent(agent, &args))?;
    match &plan.mount {
        Some(m) if !m.writable => crate::tell!(
            "shimctl: note: {} is shared read-only with VM `{}`: {} cannot write there",
            plan.host_cwd.display(),
            plan.vm,
            agent.name
        ),
        _ => {}
    }
    exec_plan(plan)
}

/// Replaces this process with the plan's `limactl shell` (or Lima's ssh, through the ssh
/// door), staging arguments in the guest first when they are too long to pass.
pub fn exec_plan(plan: Plan) -> Result<Infallible> {
    if plan.mount.is_none() {
        crate::tell!(
            "shimctl: note: {} is not shared with VM `{}`, so this runs in the VM user's home",
            plan.host_cwd.display(),
            plan.vm
        );
    }
    if plan.starts_vm {
        // Lima's own lines follow; this one says why the wait and how long.
        crate::tell!(
            "shimctl: VM `{}` is stopped; starting it first (usually under a minute, minutes on its first boot)",
            plan.vm
        );
    }
    let mut shell = plan.shell;
    let remove_env = vec![host::GUARD_VAR.into(), host::BYPASS_VAR.into()];
    if let Some(door) = &plan.door {
        lima::open_door(&plan.limactl, door)?;
        let tty = std::io::stdout().is_terminal();
        let argv = match shell.ssh_argv(door, &plan.guest_shell, tty) {
            Some(argv) => argv,
            None => {
                let file = stage_arguments(&plan.limactl, &shell)?;
                shell.command = read_staged_command(file);
                shell
                    .ssh_argv(door, &plan.guest_shell, tty)
                    .expect("the staged command is short")
            }
        };
        // Only the full-auto values: the rest is already in this environment, and
        // LIMA_SHELLENV_* mean nothing to ssh.
        let set_env = plan
            .limactl_env
            .into_iter()
            .filter(|(k, _)| !k.as_encoded_bytes().starts_with(b"LIMA_SHELLENV_"))
            .collect();
        let mut args = argv;
        let arg0 = args.remove(0);
        let failure = exec::replace_process(Replacement {
            program: &door.ssh,
            arg0,
            args,
            set_env,
            remove_env,
        });
        return Err(Failure::cannot_run(failure.message));
    }
    if plan.staged {
        let file = stage_arguments(&plan.limactl, &shell)?;
        shell.command = read_staged_command(file);
    }
    let mut argv = shell.argv();
    let failure = exec::replace_process(Replacement {
        program: &shell.limactl,
        arg0: argv.remove(0),
        args: argv,
        set_env: plan.limactl_env,
        remove_env,
    });
    Err(Failure::cannot_run(failure.message))
}

/// Writes the guest command's words, each NUL-terminated, to a new private file in the
/// guest (through the ssh session's stdin, so no size limit applies), and returns its path.
fn stage_arguments(limactl: &Limactl, shell: &ShellCommand) -> Result<OsString> {
    let mut data = Vec::new();
    for word in &shell.command {
        data.extend_from_slice(word.as_encoded_bytes());
        data.push(0);
    }
    let mut args: Vec<OsString> = vec!["shell".into(), "--workdir".into(), "/".into()];
    if shell.start {
        args.push("--start".into());
    }
    args.push(shell.vm.clone().into());
    args.extend(["sh".into(), "-c".into(), STAGE_WRITER.into()]);
    // Starting a stopped VM takes minutes; a query does not.
    let timeout = if shell.start {
        limactl.vm_timeout
    } else {
        limactl.query_timeout
    };
    let out = process::output(&limactl.path, &args, Some(data), timeout)?;
    let path = String::from_utf8_lossy(&out.stdout).into_owned();
    let plain = path.starts_with('/')
        && path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-".contains(&b));
    if !out.status.success() || !plain {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(Failure::cannot_run(format!(
            "the arguments are too long for one ssh argument, and staging them in VM `{}` failed ({}); check the VM with `limactl shell {} true`",
            shell.vm,
            err.lines().last().unwrap_or("no message").trim(),
            shell.vm
        )));
    }
    Ok(path.into())
}

/// Run by the guest's `sh`: a private file, filled from stdin, its path on stdout.
const STAGE_WRITER: &str = r#"umask 077 && f=$(mktemp "${TMPDIR:-/tmp}/shimctl-args.XXXXXXXX") && cat >"$f" && printf %s "$f""#;

/// Run by the guest's bash: reads the staged words back (NUL-separated, so any byte but
/// NUL survives), removes the file, and becomes the agent. `mapfile -d ''` needs bash 4.4.
const STAGE_READER: &str = r#"mapfile -d '' -t a <"$1"; s=$?; rm -f -- "$1"; if [ "$s" != 0 ] || [ "${#a[@]}" = 0 ]; then echo "shimctl: cannot read the staged arguments from $1" >&2; exit 125; fi; exec -- "${a[@]}""#;

/// The guest command that runs the staged words; its first word is a fixed program, so
/// Lima never takes it for a `NAME=value` assignment.
fn read_staged_command(file: OsString) -> Vec<OsString> {
    vec![
        "bash".into(),
        "-c".into(),
        STAGE_READER.into(),
        "shimctl-staged".into(),
        file,
    ]
}

pub fn plan(loaded: &Loaded, guest: Guest<'_>) -> Result<Plan> {
    let agent = match guest {
        Guest::Agent(agent, _) => Some(agent),
        Guest::Command(_) => None,
    };
    let limactl = lima::find_limactl(loaded)?;
    lima::checked_version(&limactl)?;
    let vm = loaded.vm_for(agent)?;
    let instance = lima::instance(&limactl, &vm)?;
    // Without --start, Lima 2.0.0-2.0.3 exits 0 and runs nothing for a stopped VM when
    // stdout is not a terminal (a script would think the agent succeeded); newer versions
    // fail with their own message. One stat and a kill(pid, 0) say it first, for all.
    let running = lima::host_agent_running(&lima::instance_dir(&vm)?);
    if !loaded.start() && !running {
        return Err(Failure::cannot_run(format!(
            "VM `{vm}` is stopped (the config says start = false); start it: shimctl vm start"
        )));
    }

    own_files_not_shared(&vm, &limactl, &instance.mounts)?;

    let host_cwd = std::env::current_dir().map_err(|e| {
        Failure::cannot_run(format!(
            "cannot read the current directory ({e}); cd to a project directory"
        ))
    })?;
    let (guest_cwd, mount) = match paths::guest_dir(&host_cwd, &instance.mounts) {
        Some((guest_cwd, mount)) => (guest_cwd, Some(mount.clone())),
        // `claude --version`, `codex login`, `claude mcp ...` need no project, nor does
        // what the user runs by hand (`shimctl shell`, `shimctl run git config --global`):
        // from a directory that is not shared they run in the VM user's home. Agent work
        // there is refused: it would not see the files the user is looking at.
        None => match (&guest, instance.guest_home.as_deref()) {
            (Guest::Agent(agent, args), Some(home)) if needs_no_project(agent, args) => {
                (PathBuf::from(home), None)
            }
            (Guest::Command(_), Some(home)) => (PathBuf::from(home), None),
            _ => return Err(not_shared(&host_cwd, &vm, &instance.mounts, agent)),
        },
    };

    let mut patterns = loaded.global_env();
    if let Guest::Agent(agent, _) = guest {
        patterns.extend(agent.env.iter().cloned());
    }
    let mut forwarded = env_policy::select(&patterns, std::env::vars_os().map(|(k, _)| k));
    let (argv, full_auto_env, decision) = match guest {
        Guest::Agent(agent, args) => {
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
            let command = agent.command(&translated, &forwarded);
            (command.argv, command.env, Some(command.decision))
        }
        Guest::Command(words) => (command_words(words), Vec::new(), None),
    };
    let sandbox = agent.and_then(|a| sandbox::for_agent(loaded, a, &instance.mounts));
    let (argv, launcher_words) = match (&sandbox, agent) {
        (Some(sandbox), Some(agent)) => {
            let config = loaded.short_display_path();
            let mut words = sandbox.launcher_words(
                &agent.name,
                agent.program_file_name(),
                &vm,
                &config,
                &instance.mounts,
            );
            let n = words.len();
            words.extend(argv);
            (words, n)
        }
        _ => (argv, 0),
    };

    let wildcard_forwarded = env_policy::wildcard_matches(&patterns, &forwarded);
    let mut limactl_env: Vec<(OsString, OsString)> = Vec::new();
    for (name, value) in &full_auto_env {
        // A value the user set on the host wins over the profile's.
        if std::env::var_os(name).is_none() {
            limactl_env.push((name.into(), value.into()));
        }
        forwarded.push(name.clone());
    }
    forwarded.sort();
    forwarded.dedup();

    let shell = ShellCommand {
        limactl: limactl.path.clone(),
        workdir: guest_cwd,
        start: loaded.start(),
        vm: vm.clone(),
        forwarded,
        command: argv,
    };
    limactl_env.extend(shell.limactl_env());
    let staged = !shell.fits_one_argument(|name| {
        limactl_env
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .or_else(|| std::env::var_os(name))
    });
    let door = match loaded.door() {
        Door::Ssh => lima::ssh_door(&vm),
        Door::Limactl => None,
    };
    Ok(Plan {
        limactl,
        door,
        guest_shell: instance
            .guest_shell
            .clone()
            .unwrap_or_else(|| "/bin/bash".into()),
        staged,
        vm,
        host_cwd,
        mount,
        shell,
        limactl_env,
        decision,
        wildcard_forwarded,
        sandbox,
        launcher_words,
        starts_vm: !running,
    })
}

/// The agent must not be able to change what the host runs: shimctl's config, shims, cache
/// and binary, the limactl it runs, LIMA_HOME. A symlink into a share (dotfile managers make
/// them) counts where it leads.
/// Whether the agent's arguments ask for no project: its help or version, or a subcommand
/// that takes no permission mode (login, mcp, update, ...: the profile's skip list).
fn needs_no_project(agent: &Agent, args: &[OsString]) -> bool {
    match agent.command(args, &[]).decision {
        FullAutoDecision::Subcommand(_) => true,
        FullAutoDecision::UserFlag(flag) => {
            ["--help", "-h", "--version", "-v", "-V"].contains(&flag.as_str())
        }
        _ => false,
    }
}

fn own_files_not_shared(vm: &str, limactl: &Limactl, mounts: &[Mount]) -> Result<()> {
    if !mounts.iter().any(|m| m.writable) {
        return Ok(());
    }
    let mut own = exposure::own_files();
    own.push(("the limactl it runs", limactl.canonical.clone()));
    for m in mounts.iter().filter(|m| m.writable) {
        if let Some((what, p)) = own.iter().find(|(_, p)| p.starts_with(&m.resolved)) {
            return Err(Failure::cannot_run(format!(
                "{what} ({}) is inside {}, which VM `{vm}` shares writable: the agent could change what this machine runs; share it read-only or not at all (shimctl unshare {}), or move {what} out of it",
                p.display(),
                m.location.display(),
                crate::quote::sh_quote(m.location.as_os_str().as_encoded_bytes())
            )));
        }
    }
    Ok(())
}

/// A user's command as guest command words. Lima reads leading words that contain `=` as
/// variable assignments, written unquoted (docs/lima.md), so such a program name goes
/// behind the shell's `command --`, which runs it by exactly that name.
fn command_words(words: &[OsString]) -> Vec<OsString> {
    match words.first() {
        Some(first) if first.as_encoded_bytes().contains(&b'=') => {
            let mut argv: Vec<OsString> = vec!["command".into(), "--".into()];
            argv.extend(words.iter().cloned());
            argv
        }
        _ => words.to_vec(),
    }
}

fn not_shared(cwd: &std::path::Path, vm: &str, mounts: &[Mount], agent: Option<&Agent>) -> Failure {
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
    let host = match agent {
        Some(a) => format!(", or run on the host: shimctl bypass {} ...", a.name),
        None => String::new(),
    };
    Failure::cannot_run(format!(
        "{} is not shared with VM `{vm}` ({shares})\n  share it: {}{host}",
        cwd.display(),
        exposure::share_suggestion(cwd),
    ))
}
