//! Proxy mode: what happens when a user types an agent's name. Builds a [`Plan`] (pure
//! knowledge: which VM, which directory, which command, which variables) and replaces the
//! process with it. `shimctl explain` prints the same plan.

use std::convert::Infallible;
use std::ffi::{OsStr, OsString};
use std::io::IsTerminal;
use std::path::PathBuf;

use crate::agents::{Agent, FullAutoDecision};
use crate::bypass;
use crate::config::{Door, Loaded, VmSource};
use crate::env_policy;
use crate::error::{Failure, Result};
use crate::exec::{self, Replacement};
use crate::guest_paths;
use crate::lima::{
    self, Limactl, Mount,
    command::{ShellCommand, SshDoor},
    process,
};
use crate::sandbox::{self, Sandbox};
use crate::share_risks;

/// The host's environment, read once for a start: every choice the launch path makes on a
/// variable (which are forwarded, which full-auto values the user already set, how long
/// Lima's script gets, COLORTERM for ssh) reads this copy.
#[derive(Clone, Debug, Default)]
pub struct HostEnv(Vec<(OsString, OsString)>);

impl HostEnv {
    pub fn capture() -> Self {
        HostEnv(std::env::vars_os().collect())
    }

    pub fn get(&self, name: impl AsRef<OsStr>) -> Option<&OsStr> {
        let name = name.as_ref();
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_os_str())
    }

    fn names(&self) -> impl Iterator<Item = OsString> + '_ {
        self.0.iter().map(|(k, _)| k.clone())
    }
}

/// What a start depends on, gathered once (config, limactl, the instance, the directory,
/// the environment, the terminal): [`plan`] is a function of this value and does no I/O.
pub struct Inputs<'a> {
    pub loaded: &'a Loaded,
    pub env: HostEnv,
    pub limactl: Limactl,
    pub vm: String,
    /// Why that VM (a route, the agent's `vm`, ...).
    pub vm_source: VmSource,
    pub instance: lima::Instance,
    /// The VM's host agent is alive.
    pub running: bool,
    /// Lima's ssh configuration when `door = "ssh"` and the VM runs.
    pub door: Option<SshDoor>,
    /// The host's working directory, as getcwd gives it.
    pub cwd: std::io::Result<PathBuf>,
    /// What the agent must never be able to write: shimctl's own files, the limactl it runs.
    pub own_files: Vec<(&'static str, PathBuf)>,
    /// stdout is a terminal (Lima and the ssh door ask ssh for a pty exactly then).
    pub stdout_tty: bool,
}

/// Reads what [`plan`] needs for GUEST: limactl (and its version), the VM, its instance
/// (from the cache when nothing changed), the directory and the environment.
pub fn gather<'a>(loaded: &'a Loaded, guest: &Guest<'_>) -> Result<Inputs<'a>> {
    let agent = match guest {
        Guest::Agent(agent, _) => Some(*agent),
        Guest::Command(_) => None,
    };
    let cwd = std::env::current_dir();
    let limactl = lima::find_limactl(loaded)?;
    lima::checked_version(&limactl)?;
    let (vm, vm_source) = loaded.vm_choice(agent, cwd.as_deref().ok())?;
    if let VmSource::Route(path) = &vm_source
        && !lima::exists(&vm)?
    {
        return Err(Failure::cannot_run(format!(
            "VM `{vm}` does not exist, and the route for {path} in {} picks it; create it from there with `shimctl vm create`, or change that route",
            loaded.short_display_path()
        )));
    }
    let instance = lima::instance(&limactl, &vm)?;
    // Without --start, Lima 2.0.0-2.0.3 exits 0 and runs nothing for a stopped VM when
    // stdout is not a terminal (a script would think the agent succeeded); newer versions
    // fail with their own message. One stat and a kill(pid, 0) say it first, for all.
    let running = lima::host_agent_running(&lima::instance_dir(&vm)?);
    let door = match loaded.door() {
        Door::Ssh => lima::ssh_door(&vm),
        Door::Limactl => None,
    };
    // Resolving them costs system calls: only a writable share can reach them.
    let mut own_files = Vec::new();
    if instance.mounts.iter().any(|m| m.writable) {
        own_files = share_risks::own_files();
        own_files.push(("the limactl it runs", limactl.canonical.clone()));
    }
    Ok(Inputs {
        loaded,
        env: HostEnv::capture(),
        limactl,
        vm,
        vm_source,
        instance,
        running,
        door,
        cwd,
        own_files,
        stdout_tty: std::io::stdout().is_terminal(),
    })
}

pub struct Plan {
    pub vm: String,
    pub vm_source: VmSource,
    pub host_cwd: PathBuf,
    /// The mount that holds the directory; None when it is not shared and the command
    /// needs no project (it runs in the guest user's home).
    pub mount: Option<Mount>,
    /// Names of the host variables forwarded.
    pub forwarded: Vec<String>,
    /// For an agent: whether full-auto went in, and why.
    pub decision: Option<FullAutoDecision>,
    /// Wildcard patterns with the forwarded names only they matched.
    pub wildcard_forwarded: Vec<(String, Vec<String>)>,
    /// The agent's sandbox in the VM (None: `sandbox = false`, or not an agent).
    pub sandbox: Option<Sandbox>,
    /// The VM is stopped and this start boots it first (`start = true`).
    pub starts_vm: bool,
    /// Exactly what runs: the shim execs it, `explain` prints it.
    pub launch: Launch,
}

impl Plan {
    pub fn guest_cwd(&self) -> &std::path::Path {
        &self.launch.shell.workdir
    }
}

/// How the command reaches the VM.
#[derive(Clone, Debug)]
pub enum Via {
    /// `limactl shell`.
    Limactl,
    /// Lima's ssh configuration, straight (`door = "ssh"`, the VM running).
    Ssh {
        door: SshDoor,
        /// The guest user's shell, for the SCRIPT the door builds itself.
        guest_shell: String,
        tty: bool,
        colorterm: bool,
    },
}

/// One exec, preceded (when the words are too long for one ssh argument) by one
/// `limactl shell` call that stages them in the guest.
#[derive(Clone, Debug)]
pub struct Launch {
    pub via: Via,
    pub limactl: Limactl,
    /// The guest command; when staged, the words below are what it runs.
    pub shell: ShellCommand,
    /// The guest command's words, written to a private file in the guest before the exec;
    /// the exec then runs [`STAGE_READER`] on that file.
    pub staged: Option<Vec<OsString>>,
    /// How many leading words of the agent's command are the sandbox's launcher.
    pub launcher_words: usize,
    /// Variables set for the exec'd program (limactl's controls, full-auto values).
    pub set_env: Vec<(OsString, OsString)>,
    /// Variables removed for it (shimctl's own markers).
    pub remove_env: Vec<OsString>,
}

impl Launch {
    pub fn program(&self) -> &std::path::Path {
        match &self.via {
            Via::Limactl => &self.limactl.path,
            Via::Ssh { door, .. } => &door.ssh,
        }
    }

    /// The exec's words, argv[0] first; when staged, `staged_file` is the path staging
    /// returned (explain shows a placeholder).
    pub fn argv(&self, staged_file: &OsStr) -> Vec<OsString> {
        let mut shell = self.shell.clone();
        if self.staged.is_some() {
            shell.command = read_staged_command(staged_file.to_os_string());
        }
        match &self.via {
            Via::Limactl => shell.argv(),
            Via::Ssh {
                door,
                guest_shell,
                tty,
                colorterm,
            } => shell
                .ssh_argv(door, guest_shell, *tty, *colorterm)
                .expect("plan staged what does not fit"),
        }
    }

    /// The agent's command words, wherever they travel (in the exec or staged).
    pub fn words(&self) -> &[OsString] {
        self.staged.as_deref().unwrap_or(&self.shell.command)
    }

    /// The same launch with the agent's command words replaced (for display).
    pub fn with_words(&self, words: Vec<OsString>) -> Launch {
        let mut shown = self.clone();
        match &mut shown.staged {
            Some(staged) => *staged = words,
            None => shown.shell.command = words,
        }
        shown
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
    if bypass::runs_here()?.is_some() {
        return bypass::run_real(agent.program_file_name(), args);
    }
    let guest = Guest::Agent(agent, &args);
    let plan = plan(&gather(loaded, &guest)?, guest)?;
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

/// `shimctl shell` and `shimctl run`: WORDS (none: the login shell) in the VM.
pub fn run_command(loaded: &Loaded, words: &[OsString]) -> Result<Infallible> {
    let guest = Guest::Command(words);
    exec_plan(plan(&gather(loaded, &guest)?, guest)?)
}

/// Replaces this process with the plan's launch, staging its words in the guest first
/// when they are too long to pass.
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
    let launch = plan.launch;
    if let Via::Ssh { door, .. } = &launch.via {
        lima::open_door(&launch.limactl, door)?;
    }
    let file = match &launch.staged {
        Some(words) => stage_arguments(&launch.limactl, &launch.shell, words)?,
        None => OsString::new(),
    };
    let mut argv = launch.argv(&file);
    let program = launch.program().to_path_buf();
    let failure = exec::replace_process(Replacement {
        program: &program,
        arg0: argv.remove(0),
        args: argv,
        set_env: launch.set_env,
        remove_env: launch.remove_env,
    });
    Err(Failure::cannot_run(failure.message))
}

/// Writes WORDS, each NUL-terminated, to a new private file in the guest (through the ssh
/// session's stdin, so no size limit applies), and returns its path.
fn stage_arguments(
    limactl: &Limactl,
    shell: &ShellCommand,
    words: &[OsString],
) -> Result<OsString> {
    let mut data = Vec::new();
    for word in words {
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
pub const STAGE_WRITER: &str = r#"umask 077 && f=$(mktemp "${TMPDIR:-/tmp}/shimctl-args.XXXXXXXX") && cat >"$f" && printf %s "$f""#;

/// Run by the guest's bash: reads the staged words back (NUL-separated, so any byte but
/// NUL survives), removes the file, and becomes the agent. `mapfile -d ''` needs bash 4.4.
pub const STAGE_READER: &str = r#"mapfile -d '' -t a <"$1"; s=$?; rm -f -- "$1"; if [ "$s" != 0 ] || [ "${#a[@]}" = 0 ]; then echo "shimctl: cannot read the staged arguments from $1" >&2; exit 125; fi; exec -- "${a[@]}""#;

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

/// The plan for GUEST from INPUTS alone: which directory, which words, which variables,
/// and the one launch that runs them. No I/O, so it is tested without a process.
pub fn plan(inputs: &Inputs<'_>, guest: Guest<'_>) -> Result<Plan> {
    let Inputs {
        loaded,
        env,
        limactl,
        vm,
        instance,
        running,
        ..
    } = inputs;
    let agent = match guest {
        Guest::Agent(agent, _) => Some(agent),
        Guest::Command(_) => None,
    };
    if !loaded.start() && !running {
        return Err(Failure::cannot_run(format!(
            "VM `{vm}` is stopped (the config says start = false); start it: shimctl vm start"
        )));
    }

    own_files_not_shared(vm, &inputs.own_files, &instance.mounts)?;

    let host_cwd = inputs.cwd.as_ref().map_err(|e| {
        Failure::cannot_run(format!(
            "cannot read the current directory ({e}); cd to a project directory"
        ))
    })?;
    let (guest_cwd, mount) = match guest_paths::guest_dir(host_cwd, &instance.mounts) {
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
            _ => return Err(not_shared(host_cwd, vm, &instance.mounts, agent)),
        },
    };

    let patterns = loaded.env_patterns(agent);
    let mut forwarded = env_policy::select(&patterns, env.names());
    let (argv, full_auto_env, decision) = match guest {
        Guest::Agent(agent, args) => {
            let translated: Vec<OsString> = args
                .iter()
                .map(|a| guest_paths::translate_arg(a, &instance.mounts))
                .collect();
            let agent_args: Vec<OsString> = agent
                .args
                .iter()
                .map(|a| guest_paths::translate_arg(a, &instance.mounts))
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
                vm,
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
    let mut set_env: Vec<(OsString, OsString)> = Vec::new();
    for (name, value) in &full_auto_env {
        // A value the user set on the host wins over the profile's.
        if env.get(name).is_none() {
            set_env.push((name.into(), value.into()));
        }
        forwarded.push(name.clone());
    }
    forwarded.sort();
    forwarded.dedup();

    let mut shell = ShellCommand {
        limactl: limactl.path.clone(),
        workdir: guest_cwd,
        start: loaded.start(),
        vm: vm.clone(),
        forwarded: forwarded.clone(),
        command: argv,
    };
    let via = match &inputs.door {
        Some(door) => Via::Ssh {
            door: door.clone(),
            guest_shell: instance
                .guest_shell
                .clone()
                .unwrap_or_else(|| "/bin/bash".into()),
            tty: inputs.stdout_tty,
            colorterm: env.get("COLORTERM").is_some(),
        },
        None => Via::Limactl,
    };
    let fits = match &via {
        Via::Limactl => shell.fits_one_argument(|name| {
            set_env
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .or_else(|| env.get(name).map(OsStr::to_os_string))
        }),
        Via::Ssh {
            door,
            guest_shell,
            tty,
            colorterm,
        } => shell
            .ssh_argv(door, guest_shell, *tty, *colorterm)
            .is_some(),
    };
    let staged = (!fits).then(|| std::mem::take(&mut shell.command));
    match via {
        // limactl reads its controls from its environment; ssh gets only the full-auto
        // values (the rest is already in this environment, and LIMA_SHELLENV_* mean
        // nothing to it).
        Via::Limactl => set_env.extend(shell.limactl_env()),
        Via::Ssh { .. } => {}
    }
    Ok(Plan {
        vm: vm.clone(),
        vm_source: inputs.vm_source.clone(),
        host_cwd: host_cwd.clone(),
        mount,
        forwarded,
        decision,
        wildcard_forwarded,
        sandbox,
        starts_vm: !running,
        launch: Launch {
            via,
            limactl: limactl.clone(),
            shell,
            staged,
            launcher_words,
            set_env,
            remove_env: vec![bypass::GUARD_VAR.into(), bypass::BYPASS_VAR.into()],
        },
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

fn own_files_not_shared(vm: &str, own: &[(&str, PathBuf)], mounts: &[Mount]) -> Result<()> {
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
        share_risks::share_suggestion(cwd),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn inputs<'a>(loaded: &'a Loaded, env: &[(&str, &str)], door: bool) -> Inputs<'a> {
        let mount = Mount {
            location: "/home/me/Projects".into(),
            resolved: "/home/me/Projects".into(),
            mount_point: "/home/me/Projects".into(),
            writable: true,
        };
        Inputs {
            loaded,
            env: HostEnv(env.iter().map(|(k, v)| (k.into(), v.into())).collect()),
            limactl: Limactl {
                path: "/usr/local/bin/limactl".into(),
                canonical: "/usr/local/bin/limactl".into(),
                source: "PATH",
                query_timeout: Duration::from_secs(30),
                vm_timeout: Duration::from_secs(900),
            },
            vm: "sandbox".into(),
            vm_source: VmSource::Default,
            instance: lima::Instance {
                mounts: vec![mount],
                guest_home: Some("/home/me.guest".into()),
                guest_shell: Some("/bin/bash".into()),
            },
            running: true,
            door: door.then(|| SshDoor {
                ssh: "/usr/bin/ssh".into(),
                config: "/home/me/.lima/sandbox/ssh.config".into(),
                host: "lima-sandbox".into(),
                socket: "/home/me/.lima/sandbox/shimctl-door.sock".into(),
            }),
            cwd: Ok("/home/me/Projects/app".into()),
            own_files: vec![(
                "shimctl's config",
                "/home/me/.config/shimctl/config.toml".into(),
            )],
            stdout_tty: false,
        }
    }

    fn no_sandbox() -> Loaded {
        Loaded {
            config: crate::config::parse("sandbox = false\n").unwrap(),
            path: None,
        }
    }

    fn words(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    #[test]
    fn a_command_too_long_for_one_argument_is_staged_through_either_door() {
        let loaded = no_sandbox();
        let claude = loaded.agent("claude").unwrap();
        let long = "it's ".repeat(40_000);
        let args = words(&["-p", &long]);
        for door in [false, true] {
            let plan = plan(&inputs(&loaded, &[], door), Guest::Agent(&claude, &args)).unwrap();
            let launch = &plan.launch;
            let staged = launch.staged.as_ref().expect("staged");
            assert_eq!(staged.last().unwrap(), long.as_str(), "door {door}");
            let argv = launch.argv(OsStr::new("/tmp/shimctl-args.x"));
            // What execs is small, and it reads the staged file.
            assert!(argv.iter().map(|a| a.len()).sum::<usize>() < 4096);
            let text: String = argv.iter().map(|a| a.to_string_lossy()).collect();
            assert!(text.contains("shimctl-args.x") && text.contains("mapfile"));
            let expected: &std::path::Path = if door {
                "/usr/bin/ssh".as_ref()
            } else {
                "/usr/local/bin/limactl".as_ref()
            };
            assert_eq!(launch.program(), expected);
        }
        // A short one goes in the exec itself.
        let args = words(&["-p", "short"]);
        let plan = plan(&inputs(&loaded, &[], true), Guest::Agent(&claude, &args)).unwrap();
        assert!(plan.launch.staged.is_none());
        assert!(
            plan.launch
                .argv(OsStr::new(""))
                .contains(&"lima-sandbox".into())
        );
    }

    #[test]
    fn variables_come_from_the_captured_environment_only() {
        let loaded = no_sandbox();
        let gemini = loaded.agent("gemini").unwrap();
        let env = [
            ("GEMINI_API_KEY", "k"),
            ("GEMINI_CLI_TRUST_WORKSPACE", "false"),
            ("AWS_SECRET_ACCESS_KEY", "s"),
        ];
        let plan = plan(&inputs(&loaded, &env, false), Guest::Agent(&gemini, &[])).unwrap();
        assert!(plan.forwarded.contains(&"GEMINI_API_KEY".to_string()));
        assert!(!plan.forwarded.iter().any(|n| n.starts_with("AWS_")));
        // The user's own value of a full-auto variable wins: the launch does not set it.
        assert!(
            !plan
                .launch
                .set_env
                .iter()
                .any(|(k, _)| k == "GEMINI_CLI_TRUST_WORKSPACE")
        );
        let plan = plan_for(&loaded, &gemini);
        assert!(
            plan.launch
                .set_env
                .contains(&("GEMINI_CLI_TRUST_WORKSPACE".into(), "true".into()))
        );
    }

    fn plan_for(loaded: &Loaded, agent: &Agent) -> Plan {
        plan(&inputs(loaded, &[], false), Guest::Agent(agent, &[])).unwrap()
    }

    #[test]
    fn an_unshared_directory_runs_what_needs_no_project_in_the_guest_home() {
        let loaded = no_sandbox();
        let claude = loaded.agent("claude").unwrap();
        let mut elsewhere = inputs(&loaded, &[], false);
        elsewhere.cwd = Ok("/srv/other".into());
        let version = words(&["--version"]);
        let plan = plan(&elsewhere, Guest::Agent(&claude, &version)).unwrap();
        assert!(plan.mount.is_none());
        assert_eq!(plan.guest_cwd(), std::path::Path::new("/home/me.guest"));
        let work = words(&["-p", "fix it"]);
        let refused = super::plan(&elsewhere, Guest::Agent(&claude, &work))
            .err()
            .unwrap();
        assert!(
            refused.message.contains("is not shared"),
            "{}",
            refused.message
        );
    }

    #[test]
    fn own_files_in_a_writable_share_stop_the_start() {
        let loaded = no_sandbox();
        let claude = loaded.agent("claude").unwrap();
        let mut inside = inputs(&loaded, &[], false);
        inside.own_files = vec![(
            "shimctl's config",
            "/home/me/Projects/dots/config.toml".into(),
        )];
        let refused = plan(&inside, Guest::Agent(&claude, &[])).err().unwrap();
        assert!(
            refused.message.contains("shimctl's config"),
            "{}",
            refused.message
        );
    }
}
