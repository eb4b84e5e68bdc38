//! `shimctl status`: the VM, its shares, where this directory stands, and the shims, at a
//! glance. Nothing slow: one `limactl list` at most (the version comes from the cache), no
//! command in the VM.

use std::path::{Path, PathBuf};

use argh::FromArgs;
use serde::Serialize;

use crate::config;
use crate::error::{Exit, Result};
use crate::guest_paths;
use crate::lima::{self, Mount};
use crate::shim_dir::{self, Standing};

/// Show the VM, its shares, whether this directory is shared, and the shims on PATH.
#[derive(FromArgs)]
#[argh(subcommand, name = "status", help_triggers("-h", "--help", "help"))]
pub struct Args {
    /// print JSON, for scripts
    #[argh(switch)]
    json: bool,
}

struct Status {
    vm: String,
    /// The route (its directory as written) that picked the VM for this directory.
    route: Option<String>,
    limactl: Option<String>,
    lima_version: Option<String>,
    /// Why the VM could not be looked at, if it could not.
    problem: Option<String>,
    exists: bool,
    state: Option<String>,
    shares: Vec<Mount>,
    cwd: Option<PathBuf>,
    /// The share this directory is under, and its guest path.
    here: Option<(Mount, PathBuf)>,
    shim_dir: Option<PathBuf>,
    shims: Vec<(String, Standing)>,
    /// Agents (with a shim) that the config runs without the sandbox.
    unsandboxed: Vec<String>,
    /// Why the config could not be read; every agent start fails with it.
    config_problem: Option<String>,
    /// The tasks' VMs: how many, running, running without a session.
    tasks: super::task::Summary,
}

fn gather() -> Status {
    let (loaded, config_problem) = match config::load() {
        Ok(l) => (l, None),
        Err(f) => (config::Loaded::default(), Some(f.to_string())),
    };
    let cwd = std::env::current_dir().ok();
    let (vm, source) = loaded
        .vm_choice(None, cwd.as_deref())
        .unwrap_or_else(|_| (config::DEFAULT_VM.into(), config::VmSource::Default));
    let mut s = Status {
        vm: vm.clone(),
        route: match source {
            config::VmSource::Route(path) => Some(path),
            _ => None,
        },
        limactl: None,
        lima_version: None,
        problem: None,
        exists: false,
        state: None,
        shares: Vec::new(),
        cwd,
        here: None,
        shim_dir: None,
        shims: Vec::new(),
        unsandboxed: Vec::new(),
        config_problem,
        tasks: super::task::summary(&loaded),
    };
    match lima::find_limactl(&loaded) {
        Ok(limactl) => {
            s.limactl = Some(limactl.path.display().to_string());
            match lima::checked_version(&limactl) {
                Ok(v) => s.lima_version = Some(v.to_string()),
                Err(f) => s.problem = Some(f.to_string()),
            }
            s.exists = lima::exists(&vm).unwrap_or(false);
            if s.exists && s.problem.is_none() {
                match lima::instance::query(&limactl, &vm) {
                    Ok(listed) => {
                        s.state = Some(listed.status);
                        s.shares = listed.instance.mounts;
                    }
                    Err(f) => s.problem = Some(f.to_string()),
                }
            }
        }
        Err(f) => s.problem = Some(f.to_string()),
    }
    if let Some(cwd) = &s.cwd {
        s.here = guest_paths::guest_dir(cwd, &s.shares).map(|(guest, m)| (m.clone(), guest));
    }
    if let (Ok(me), Ok(dir)) = (shim_dir::me(), shim_dir::shim_dir(None)) {
        s.shims = shim_dir::ours(&dir, &me)
            .into_iter()
            .map(|name| {
                let standing = shim_dir::standing(&name, &me);
                (name, standing)
            })
            .collect();
        s.shim_dir = Some(dir);
    }
    s.unsandboxed = s
        .shims
        .iter()
        .filter(|(name, _)| {
            loaded
                .agent(name)
                .is_some_and(|a| !loaded.sandbox_enabled(&a))
        })
        .map(|(name, _)| name.clone())
        .collect();
    s
}

fn mode(m: &Mount) -> &'static str {
    if m.writable { "writable" } else { "read-only" }
}

fn text(s: &Status) {
    let vm = match (&s.state, s.exists) {
        (Some(state), _) => format!("{} ({state})", s.vm),
        (None, true) => format!("{} (exists)", s.vm),
        (None, false) => format!("{} (does not exist: shimctl vm create)", s.vm),
    };
    match &s.route {
        Some(path) => crate::say!("VM:      {vm}, by the route for {path}"),
        None => crate::say!("VM:      {vm}"),
    }
    if let (Some(v), Some(path)) = (&s.lima_version, &s.limactl) {
        crate::say!("Lima:    {v} ({path})");
    }
    if let Some(problem) = &s.problem {
        crate::say!("problem: {problem}");
    }
    if s.shares.is_empty() {
        crate::say!("shares:  none");
    }
    for (i, m) in s.shares.iter().enumerate() {
        crate::say!(
            "{}{} -> {} ({})",
            if i == 0 { "shares:  " } else { "         " },
            m.location.display(),
            m.mount_point.display(),
            mode(m)
        );
    }
    match (&s.cwd, &s.here) {
        (Some(cwd), Some((m, guest))) => crate::say!(
            "here:    {} is shared through {} ({}), at {} in the VM",
            cwd.display(),
            m.location.display(),
            mode(m),
            guest.display()
        ),
        (Some(cwd), None) => crate::say!("here:    {} is not shared", cwd.display()),
        (None, _) => crate::say!("here:    the current directory cannot be read"),
    }
    if s.shims.is_empty() {
        crate::say!(
            "shims:   none in {} (shimctl install)",
            s.shim_dir
                .as_deref()
                .map(Path::display)
                .map(|d| d.to_string())
                .unwrap_or_default()
        );
    }
    for (i, (name, standing)) in s.shims.iter().enumerate() {
        let how = match standing {
            Standing::First => "first on PATH: typing it runs it in the VM".to_string(),
            Standing::Shadowed(p) => format!("shadowed by {}", p.display()),
            Standing::NotOnPath => "the shim directory is not on PATH".to_string(),
        };
        let sandbox = if s.unsandboxed.contains(name) {
            " (no sandbox: sandbox = false)"
        } else {
            ""
        };
        crate::say!(
            "{}{name}: {how}{sandbox}",
            if i == 0 { "shims:   " } else { "         " }
        );
    }
    let t = &s.tasks;
    if t.tasks > 0 {
        crate::say!(
            "tasks:   {} ({} VMs running, {} of them idle: shimctl task stop NAME frees one; shimctl task list)",
            t.tasks,
            t.running,
            t.idle
        );
    }
    if let Some(problem) = &s.config_problem {
        crate::say!("config:  broken, every agent start fails: {problem}");
    }
}

/// `status --json`, for scripts: field names and order are part of the interface
/// (docs/usage.md); paths as text (lossy where they are not UTF-8).
#[derive(Serialize)]
struct JsonStatus<'a> {
    vm: JsonVm<'a>,
    problem: Option<&'a str>,
    shares: Vec<JsonShare>,
    here: Option<JsonHere>,
    shim_dir: Option<String>,
    shims: Vec<JsonShim<'a>>,
    config_problem: Option<&'a str>,
}

#[derive(Serialize)]
struct JsonVm<'a> {
    name: &'a str,
    route: Option<&'a str>,
    exists: bool,
    status: Option<&'a str>,
    lima_version: Option<&'a str>,
    limactl: Option<&'a str>,
}

#[derive(Serialize)]
struct JsonShare {
    host: String,
    guest: String,
    writable: bool,
}

#[derive(Serialize)]
struct JsonHere {
    path: String,
    shared: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    share: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    guest: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    writable: Option<bool>,
}

#[derive(Serialize)]
struct JsonShim<'a> {
    name: &'a str,
    first_on_path: bool,
    shadowed_by: Option<String>,
    sandbox: bool,
}

fn text_of(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

fn json(s: &Status) {
    let here = s.cwd.as_ref().map(|cwd| match &s.here {
        Some((m, guest)) => JsonHere {
            path: text_of(cwd),
            shared: true,
            share: Some(text_of(&m.location)),
            guest: Some(text_of(guest)),
            writable: Some(m.writable),
        },
        None => JsonHere {
            path: text_of(cwd),
            shared: false,
            share: None,
            guest: None,
            writable: None,
        },
    });
    let status = JsonStatus {
        vm: JsonVm {
            name: &s.vm,
            route: s.route.as_deref(),
            exists: s.exists,
            status: s.state.as_deref(),
            lima_version: s.lima_version.as_deref(),
            limactl: s.limactl.as_deref(),
        },
        problem: s.problem.as_deref(),
        shares: s
            .shares
            .iter()
            .map(|m| JsonShare {
                host: text_of(&m.location),
                guest: text_of(&m.mount_point),
                writable: m.writable,
            })
            .collect(),
        here,
        shim_dir: s.shim_dir.as_deref().map(text_of),
        shims: s
            .shims
            .iter()
            .map(|(name, standing)| JsonShim {
                name,
                first_on_path: matches!(standing, Standing::First),
                shadowed_by: match standing {
                    Standing::Shadowed(p) => Some(text_of(p)),
                    _ => None,
                },
                sandbox: !s.unsandboxed.contains(name),
            })
            .collect(),
        config_problem: s.config_problem.as_deref(),
    };
    // Serializing these types cannot fail (string keys, no maps of other keys).
    crate::say!(
        "{}",
        serde_json::to_string(&status).expect("status serializes")
    );
}

pub fn run(args: Args) -> Result<Exit> {
    let status = gather();
    if args.json {
        json(&status)
    } else {
        text(&status)
    }
    // A broken config stops every agent start: not a healthy status.
    Ok(if status.config_problem.is_some() {
        Exit::Refused
    } else {
        Exit::Success
    })
}
