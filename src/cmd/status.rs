//! `shimctl status`: the VM, its shares, where this directory stands, and the shims, at a
//! glance. Nothing slow: one `limactl list` at most (the version comes from the cache), no
//! command in the VM.

use std::path::{Path, PathBuf};

use argh::FromArgs;

use crate::config;
use crate::error::{Exit, Result};
use crate::guest_paths;
use crate::lima::{self, Mount};
use crate::quote::json_string;
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
}

fn gather() -> Status {
    let (loaded, config_problem) = match config::load() {
        Ok(l) => (l, None),
        Err(f) => (config::Loaded::default(), Some(f.to_string())),
    };
    let vm = loaded
        .vm_for(None)
        .unwrap_or_else(|_| config::DEFAULT_VM.into());
    let mut s = Status {
        vm: vm.clone(),
        limactl: None,
        lima_version: None,
        problem: None,
        exists: false,
        state: None,
        shares: Vec::new(),
        cwd: std::env::current_dir().ok(),
        here: None,
        shim_dir: None,
        shims: Vec::new(),
        unsandboxed: Vec::new(),
        config_problem,
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
    crate::say!("VM:      {vm}");
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
    if let Some(problem) = &s.config_problem {
        crate::say!("config:  broken, every agent start fails: {problem}");
    }
}

fn opt(v: Option<String>) -> String {
    v.map(|s| json_string(&s)).unwrap_or_else(|| "null".into())
}

fn path(p: &Path) -> String {
    json_string(&p.to_string_lossy())
}

fn json(s: &Status) {
    let shares: Vec<String> = s
        .shares
        .iter()
        .map(|m| {
            format!(
                "{{\"host\":{},\"guest\":{},\"writable\":{}}}",
                path(&m.location),
                path(&m.mount_point),
                m.writable
            )
        })
        .collect();
    let here = match (&s.cwd, &s.here) {
        (Some(cwd), Some((m, guest))) => format!(
            "{{\"path\":{},\"shared\":true,\"share\":{},\"guest\":{},\"writable\":{}}}",
            path(cwd),
            path(&m.location),
            path(guest),
            m.writable
        ),
        (Some(cwd), None) => format!("{{\"path\":{},\"shared\":false}}", path(cwd)),
        (None, _) => "null".into(),
    };
    let shims: Vec<String> = s
        .shims
        .iter()
        .map(|(name, standing)| {
            let (first, by) = match standing {
                Standing::First => (true, None),
                Standing::Shadowed(p) => (false, Some(p.display().to_string())),
                Standing::NotOnPath => (false, None),
            };
            format!(
                "{{\"name\":{},\"first_on_path\":{first},\"shadowed_by\":{},\"sandbox\":{}}}",
                json_string(name),
                opt(by),
                !s.unsandboxed.contains(name)
            )
        })
        .collect();
    crate::say!(
        "{{\"vm\":{{\"name\":{},\"exists\":{},\"status\":{},\"lima_version\":{},\"limactl\":{}}},\"problem\":{},\"shares\":[{}],\"here\":{here},\"shim_dir\":{},\"shims\":[{}],\"config_problem\":{}}}",
        json_string(&s.vm),
        s.exists,
        opt(s.state.clone()),
        opt(s.lima_version.clone()),
        opt(s.limactl.clone()),
        opt(s.problem.clone()),
        shares.join(","),
        opt(s.shim_dir.as_deref().map(|d| d.display().to_string())),
        shims.join(","),
        opt(s.config_problem.clone())
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
