//! `shimctl doctor`: checks every piece between typing `claude` and the agent running in the
//! VM, one line each, with the command that fixes what fails. Reports, never crashes, when
//! pieces are missing.

use argh::FromArgs;

use crate::agents::DEFAULT_AGENTS;
use crate::config::{self, Loaded};
use crate::egress;
use crate::env_policy;
use crate::error::{Exit, Result};
use crate::guest_paths;
use crate::lima::{self, Limactl, Listed, control};
use crate::quote::sh_quote;
use crate::sandbox;
use crate::share_risks::exposed_secrets;
use crate::shim_dir::{self, Standing};

/// Check the set-up: Lima, the VM, sharing, the shims on PATH, the agents inside the VM.
#[derive(FromArgs)]
#[argh(subcommand, name = "doctor", help_triggers("-h", "--help", "help"))]
pub struct Args {}

#[derive(Default)]
struct Report {
    failed: bool,
}

/// The mark of a line, coloured when stdout is a terminal and NO_COLOR is unset or empty
/// (https://no-color.org): green ✓, yellow ! for a warning, red ✗ for a failure.
fn mark(symbol: &str, colour: &str) -> String {
    use std::io::IsTerminal;
    let plain = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
        || !std::io::stdout().is_terminal();
    if plain {
        symbol.to_string()
    } else {
        format!("\x1b[{colour}m{symbol}\x1b[0m")
    }
}

impl Report {
    fn ok(&mut self, text: impl AsRef<str>) {
        crate::say!("{} {}", mark("✓", "32"), text.as_ref());
    }

    fn fail(&mut self, text: impl AsRef<str>, fix: impl AsRef<str>) {
        self.failed = true;
        crate::say!(
            "{} {} (fix: {})",
            mark("✗", "31"),
            text.as_ref(),
            fix.as_ref()
        );
    }

    fn warn(&mut self, text: impl AsRef<str>, fix: impl AsRef<str>) {
        crate::say!(
            "{} {} (fix: {})",
            mark("!", "33"),
            text.as_ref(),
            fix.as_ref()
        );
    }
}

pub fn run(_: Args) -> Result<Exit> {
    let mut r = Report::default();
    let loaded = match config::load() {
        Ok(l) => {
            match &l.path {
                Some(p) if p.exists() => r.ok(format!("config {} is valid", p.display())),
                _ => r.ok("no config file: defaults apply"),
            }
            l
        }
        Err(f) => {
            r.fail(f.message, "edit the file at the line named");
            Loaded::default()
        }
    };
    let vm = loaded
        .vm_for(None)
        .unwrap_or_else(|_| config::DEFAULT_VM.into());
    let listed = check_lima(&mut r, &loaded, &vm);
    if let Some((_, listed)) = &listed {
        check_shares(&mut r, &vm, listed);
    }
    let (names, installed) = check_shims(&mut r);
    if installed {
        check_callers(&mut r, &names);
    }
    check_env(&mut r, &loaded, &names);
    let sandbox_on = check_sandbox(&mut r, &loaded, &names);
    let egress_on = check_egress(&mut r, &loaded, &names);
    let mut needed: Vec<&str> = Vec::new();
    if sandbox_on {
        needed.extend(sandbox::SANDBOX_TOOLS);
    }
    if egress_on {
        needed.extend(sandbox::EGRESS_TOOLS);
    }
    let agents: Vec<String> = names.iter().map(|n| loaded.program_for(n)).collect();
    match &listed {
        Some((limactl, l)) if l.status == "Running" => {
            check_guest(&mut r, limactl, &vm, &agents, installed, &needed)
        }
        Some(_) => r.warn(
            format!("VM `{vm}` is not running, so the agents and git inside it were not checked"),
            "shimctl vm start, then shimctl doctor",
        ),
        None => {}
    }
    Ok(if r.failed {
        Exit::Refused
    } else {
        Exit::Success
    })
}

/// limactl, its version, and the VM; the VM as Lima lists it when all is well.
fn check_lima(r: &mut Report, loaded: &Loaded, vm: &str) -> Option<(Limactl, Listed)> {
    let limactl = match lima::find_limactl(loaded) {
        Ok(p) => p,
        Err(f) => {
            let fix = f.fix.unwrap_or_else(|| "see the message".into());
            r.fail(f.message, fix);
            return None;
        }
    };
    match lima::checked_version(&limactl) {
        Ok(v) => r.ok(format!("limactl {v} ({})", limactl.path.display())),
        Err(f) => {
            r.fail(f.message, "brew upgrade lima");
            return None;
        }
    }
    if !lima::exists(vm).unwrap_or(false) {
        r.fail(format!("VM `{vm}` does not exist"), "shimctl vm create");
        return None;
    }
    let listed = match lima::instance::query(&limactl, vm) {
        Ok(l) => l,
        Err(f) => {
            r.fail(f.message, format!("limactl list {vm}"));
            return None;
        }
    };
    match listed.status.as_str() {
        "Running" => r.ok(format!("VM `{vm}` is running")),
        s if loaded.start() => r.ok(format!(
            "VM `{vm}` is {s}; typing an agent's name starts it"
        )),
        s => r.fail(
            format!("VM `{vm}` is {s} and the config says start = false"),
            "shimctl vm start",
        ),
    }
    Some((limactl, listed))
}

fn check_shares(r: &mut Report, vm: &str, listed: &Listed) {
    let mounts = &listed.instance.mounts;
    match std::env::current_dir() {
        Ok(cwd) => match guest_paths::guest_dir(&cwd, mounts) {
            Some((guest, m)) if m.writable => r.ok(format!(
                "{} is shared, writable, at {}",
                cwd.display(),
                guest.display()
            )),
            Some((guest, m)) => r.warn(
                format!(
                    "{} is shared read-only at {}: agents cannot write there",
                    cwd.display(),
                    guest.display()
                ),
                format!(
                    "shimctl unshare {0} && shimctl share {0}",
                    sh_quote(m.location.as_os_str().as_encoded_bytes())
                ),
            ),
            None => r.fail(
                format!("{} is not shared with VM `{vm}`", cwd.display()),
                "shimctl share .",
            ),
        },
        Err(e) => r.fail(
            format!("cannot read the current directory: {e}"),
            "cd to a project",
        ),
    }
    for m in mounts {
        let exposed = exposed_secrets(&m.resolved);
        if !exposed.is_empty() {
            r.warn(
                format!(
                    "VM `{vm}` shares {}, which exposes {} to the agent",
                    m.location.display(),
                    exposed.join(", ")
                ),
                format!(
                    "shimctl unshare {}, then share project directories only",
                    sh_quote(m.location.as_os_str().as_encoded_bytes())
                ),
            );
        }
    }
}

/// Variables that a wildcard pattern forwards, named (never their values): a `*` can carry
/// a secret the user did not mean to send.
fn check_env(r: &mut Report, loaded: &Loaded, names: &[String]) {
    let host: Vec<std::ffi::OsString> = std::env::vars_os().map(|(k, _)| k).collect();
    let mut seen: Vec<(String, Vec<String>)> = Vec::new();
    for name in names {
        let Some(agent) = loaded.agent(name) else {
            continue;
        };
        let patterns = loaded.env_patterns(Some(&agent));
        let forwarded = env_policy::select(&patterns, host.iter().cloned());
        for group in env_policy::wildcard_matches(&patterns, &forwarded) {
            if !seen.contains(&group) {
                r.warn(
                    format!(
                        "the pattern `{}` forwards {} to the agent in the VM",
                        group.0,
                        group.1.join(" ")
                    ),
                    "name the variables you mean in the config's `env` instead",
                );
                seen.push(group);
            }
        }
    }
}

/// The shim directory and, per shim, whether it wins on PATH. Returns the shims' names,
/// and whether they are installed shims (else the default agents, checked loosely).
fn check_shims(r: &mut Report) -> (Vec<String>, bool) {
    let defaults = || DEFAULT_AGENTS.iter().map(|s| s.to_string()).collect();
    let (Ok(me), Ok(dir)) = (shim_dir::me(), shim_dir::shim_dir(None)) else {
        r.fail(
            "cannot find the shimctl binary or the shim directory",
            "set HOME",
        );
        return (defaults(), false);
    };
    let names = shim_dir::ours(&dir, &me);
    if names.is_empty() {
        r.fail(format!("no shims in {}", dir.display()), "shimctl install");
        return (defaults(), false);
    }
    r.ok(format!(
        "shim directory {} holds {}",
        dir.display(),
        names.join(", ")
    ));
    for name in &names {
        match shim_dir::standing(name, &me) {
            Standing::First => r.ok(format!("`{name}` on PATH is the shim")),
            Standing::Shadowed(p) => r.fail(
                format!("`{name}` on PATH is {}, not the shim", p.display()),
                shim_dir::path_advice(&dir),
            ),
            Standing::NotOnPath => r.fail(
                format!("{} is not on PATH", dir.display()),
                shim_dir::path_advice(&dir),
            ),
        }
    }
    (names, true)
}

/// What a program that starts a shell gets for the first agent: each shell installed
/// here, as an IDE task, an orchestrator or a desktop launcher starts it (login or not), in
/// an environment with only HOME, USER and a system PATH, so that only the start-up files
/// decide. One that finds the host's program (or nothing) is named.
fn check_callers(r: &mut Report, names: &[String]) {
    let Some(agent) = names.first() else { return };
    let Ok(dir) = shim_dir::shim_dir(None) else {
        return;
    };
    let shim = dir.join(agent);
    let probe = format!("command -v -- {agent}");
    let fish_probe = format!("command -v {agent}");
    let callers: [(&str, &str, Vec<&str>); 5] = [
        ("bash -lc", "bash", vec!["-lc", probe.as_str()]),
        ("sh -lc", "sh", vec!["-lc", probe.as_str()]),
        ("zsh -c", "zsh", vec!["-c", probe.as_str()]),
        ("zsh -lc", "zsh", vec!["-lc", probe.as_str()]),
        ("fish -c", "fish", vec!["-c", fish_probe.as_str()]),
    ];
    let system_path = "/usr/local/bin:/usr/bin:/bin";
    let mut fine = Vec::new();
    for (caller, shell, args) in callers {
        let Some(program) =
            crate::host_dirs::executables_on_path(std::path::Path::new(shell)).next()
        else {
            continue;
        };
        let mut cmd = std::process::Command::new(&program);
        cmd.args(&args)
            .env_clear()
            .env("PATH", system_path)
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        for var in [
            "HOME",
            "USER",
            "LOGNAME",
            "ZDOTDIR",
            "XDG_CONFIG_HOME",
            "XDG_DATA_HOME",
        ] {
            if let Some(v) = std::env::var_os(var) {
                cmd.env(var, v);
            }
        }
        let Some(found) = output_within(cmd, std::time::Duration::from_secs(10)) else {
            r.warn(
                format!("`{caller} {agent}` did not answer within 10 s (a start-up file hangs?)"),
                format!("look at the start-up files {shell} reads"),
            );
            continue;
        };
        let found = found.lines().last().unwrap_or("").trim().to_string();
        if std::path::Path::new(&found) == shim {
            fine.push(caller);
        } else if found.is_empty() {
            r.warn(
                format!("`{caller}` finds no {agent} (programs that start it that way get none)"),
                "install/install.sh, or source `shimctl init sh` from ~/.profile and ~/.zshenv",
            );
        } else {
            r.warn(
                format!("`{caller}` runs {found}, the host's {agent}, not the shim"),
                "install/install.sh, or source `shimctl init sh` from ~/.profile and ~/.zshenv",
            );
        }
    }
    if !fine.is_empty() {
        r.ok(format!("`{agent}` is the shim for {}", fine.join(", ")));
    }
}

/// A command's stdout, or None when it did not end in time (it is killed then).
fn output_within(mut cmd: std::process::Command, limit: std::time::Duration) -> Option<String> {
    let mut child = cmd.stdout(std::process::Stdio::piped()).spawn().ok()?;
    let mut stdout = child.stdout.take()?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut stdout, &mut text);
        let _ = tx.send(text);
    });
    let deadline = std::time::Instant::now() + limit;
    loop {
        match child.try_wait() {
            // Something it started in the background may hold its stdout: not for long.
            Ok(Some(_)) => return rx.recv_timeout(std::time::Duration::from_secs(1)).ok(),
            Ok(None) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
}

const GUEST_PROBE: &str = r#"for a in "$@"; do printf 'agent\t%s\t%s\n' "$a" "$(command -v -- "$a" || true)"; done
printf 'git\tuser.name\t%s\n' "$(git config --global user.name || true)"
printf 'git\tuser.email\t%s\n' "$(git config --global user.email || true)"
for t in $SHIMCTL_TOOLS; do printf 'tool\t%s\t%s\n' "$t" "$(command -v -- "$t" || true)"; done"#;

/// `shims_installed`: a missing agent fails only when its shim would run it; without
/// shims, the default agents are only reported.
fn check_guest(
    r: &mut Report,
    limactl: &Limactl,
    vm: &str,
    programs: &[String],
    shims_installed: bool,
    needed: &[&str],
) {
    let mut missing_tools = Vec::new();
    // The tools to look for, from the list the sandbox is built with.
    let probe = format!("SHIMCTL_TOOLS='{}'\n{GUEST_PROBE}", needed.join(" "));
    let mut command = vec!["bash", "-c", probe.as_str(), "shimctl-doctor"];
    command.extend(programs.iter().map(String::as_str));
    let Some(out) = control::guest_output(limactl, vm, &command) else {
        r.fail(
            format!("cannot run a command in VM `{vm}`"),
            format!("limactl shell {vm}, and see Lima's error"),
        );
        return;
    };
    let mut git = Vec::new();
    for line in out.lines() {
        let mut fields = line.splitn(3, '\t');
        match (fields.next(), fields.next(), fields.next()) {
            (Some("agent"), Some(name), Some("")) if shims_installed => r.fail(
                format!("{name} is not installed in VM `{vm}`"),
                crate::agents::install_hint(vm, name),
            ),
            (Some("agent"), Some(name), Some("")) => r.warn(
                format!("{name} is not installed in VM `{vm}`"),
                crate::agents::install_hint(vm, name),
            ),
            (Some("agent"), Some(name), Some(path)) => {
                r.ok(format!("{name} is installed in the VM ({path})"))
            }
            // Agents commit without it only with git's own guess: worth fixing, not broken.
            (Some("git"), Some(key), Some("")) => r.warn(
                format!("git {key} is not set in VM `{vm}` (agents' commits get a guessed one)"),
                format!("shimctl run git config --global {key} '...'"),
            ),
            (Some("git"), Some(_), Some(value)) => git.push(value.to_string()),
            (Some("tool"), Some(tool), Some("")) if needed.contains(&tool) => {
                missing_tools.push(tool.to_string())
            }
            _ => {}
        }
    }
    if git.len() == 2 {
        r.ok(format!("git identity in the VM: {} <{}>", git[0], git[1]));
    }
    if !needed.is_empty() {
        if missing_tools.is_empty() {
            r.ok(format!(
                "VM `{vm}` has what the agents' sandbox needs ({})",
                needed.join(", ")
            ));
        } else {
            r.fail(
                format!(
                    "VM `{vm}` lacks {}, which the agents' sandbox needs (agents cannot start)",
                    missing_tools.join(", ")
                ),
                "shimctl vm provision",
            );
        }
    }
}

/// Which agents with a shim run in the sandbox; whether any does.
fn check_sandbox(r: &mut Report, loaded: &Loaded, names: &[String]) -> bool {
    let (mut on, mut off) = (Vec::new(), Vec::new());
    for name in names {
        if let Some(agent) = loaded.agent(name) {
            if loaded.sandbox_enabled(&agent) {
                on.push(name.clone());
            } else {
                off.push(name.clone());
            }
        }
    }
    if !off.is_empty() {
        r.warn(
            format!(
                "{} run without the sandbox (sandbox = false): what they write in the VM can run outside it later, on this machine too (git hooks in a share)",
                off.join(", ")
            ),
            format!("remove `sandbox = false` from {}", loaded.short_display_path()),
        );
    }
    if !on.is_empty() {
        r.ok(format!(
            "sandbox: on for {} (docs/sandbox.md)",
            on.join(", ")
        ));
    }
    if loaded
        .sandbox_table()
        .and_then(|t| t.container_socket)
        .unwrap_or(false)
    {
        r.warn(
            "the sandbox shows the container engine (container_socket = true): what it starts is outside the sandbox",
            "remove container_socket from the config unless the agent needs containers",
        );
    }
    !on.is_empty()
}

/// The egress policy of each agent with a shim; whether any has one.
fn check_egress(r: &mut Report, loaded: &Loaded, names: &[String]) -> bool {
    let mut on = Vec::new();
    for name in names {
        if let Some(agent) = loaded.agent(name)
            && let Some(policy) = egress::policy(loaded, &agent)
        {
            on.push(format!("{name} ({} hosts)", policy.rules.len()));
            if policy.container_socket {
                r.warn(
                    format!("egress for {name} shows the container socket (container_socket = true): what the engine starts is not filtered"),
                    "remove container_socket from the config unless the agent needs containers",
                );
            }
        }
    }
    if on.is_empty() {
        r.ok("egress: off (no [egress] table): agents reach any host from the VM");
        false
    } else {
        r.ok(format!(
            "egress: on for {}; `shimctl explain AGENT` lists the hosts, `shimctl egress test HOST` checks one",
            on.join(", ")
        ));
        true
    }
}
