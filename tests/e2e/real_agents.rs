//! The real agent CLIs (pinned in tests/agents/, installed by tests/agents/install.sh into
//! `$SHIMCTL_AGENTS_DIR`) through the shim and the Lima stand-in: the whole chain with real
//! programs. Skipped, saying so, when they are not installed; required in CI
//! (`SHIMCTL_REQUIRE_AGENTS=1`). Offline: each runs in the guest in an empty network
//! namespace of its own (`unshare -rn`, a user namespace: no privilege needed).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::world::*;

pub fn agents_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("SHIMCTL_AGENTS_DIR").map(PathBuf::from);
    match dir.filter(|d| d.join(".stamp").exists()) {
        Some(d) => Some(std::fs::canonicalize(d).unwrap()),
        None if std::env::var_os("SHIMCTL_REQUIRE_AGENTS").is_some_and(|v| v == "1") => {
            panic!("SHIMCTL_REQUIRE_AGENTS=1 but SHIMCTL_AGENTS_DIR holds no agents")
        }
        None => {
            eprintln!("skipped: the real agent CLIs are not installed (tests/agents/install.sh)");
            None
        }
    }
}

// The built-in profiles, read from the same files the binary is built from.
#[path = "../../src/agents/profiles/mod.rs"]
#[allow(dead_code)]
mod profiles;

use profiles::{BUILTINS, Builtin, Package};

fn profile(agent: &str) -> &'static Builtin {
    BUILTINS.iter().find(|b| b.name == agent).unwrap()
}

/// The pinned version of an agent, as its `--version` prints it.
fn pinned_version(agent: &str) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/agents");
    match profile(agent).package {
        Package::PyPi(package) => {
            let reqs = std::fs::read_to_string(root.join("requirements.txt")).unwrap();
            let prefix = format!("{package}==");
            let line = reqs.lines().find(|l| l.starts_with(&prefix)).unwrap();
            line.trim_start_matches(&prefix).to_string()
        }
        Package::Npm(package) => {
            let json: serde_json::Value =
                serde_json::from_slice(&std::fs::read(root.join("package.json")).unwrap()).unwrap();
            let v = json["dependencies"][package].as_str().unwrap();
            // amp prints its version without the `-g<commit>` suffix of the npm version.
            v.split("-g").next().unwrap().to_string()
        }
        Package::Unavailable => unreachable!("{agent} is on no registry"),
    }
}

/// A world whose guest runs the real `agent` (and Node 22 for it) instead of a fake.
fn world_with(dir: &Path, agent: &str) -> World {
    // Offline in the guest: the sandbox with egress on has only loopback, and a proxy to
    // the agent's own hosts (unreachable from here).
    let w = World::builder()
        .config("[egress]\n[agents.claude]\nenv = [\"IS_SANDBOX\"]\n")
        .build();
    let program = match profile(agent).package {
        Package::PyPi(_) => dir.join("venv/bin").join(agent),
        _ => dir.join("node_modules/.bin").join(agent),
    };
    let _ = std::fs::remove_file(w.guest_bin.join(agent));
    w.write_exec(
        &w.guest_bin.join(agent),
        &format!("#!/bin/sh\nexec {} \"$@\"\n", program.display()),
    );
    symlink(
        &dir.join("node_modules/.bin/node"),
        &w.guest_bin.join("node"),
    );
    let link = w.shims.join(agent);
    if !link.exists() {
        symlink(Path::new(SHIMCTL), &link);
    }
    w
}

/// Runs the shim as `agent ARGS` and returns all it printed.
fn through_shim(w: &World, agent: &str, args: &[&str]) -> (Option<i32>, String) {
    let mut cmd = Command::new("timeout");
    w.base_env(&mut cmd);
    cmd.arg("120");
    cmd.arg(w.shims.join(agent))
        .args(args)
        .env("IS_SANDBOX", "1")
        .env("AMP_API_KEY", "shimctl-check")
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null());
    let out = cmd.output().unwrap();
    (out.status.code(), stdout(&out) + &stderr(&out))
}

#[test]
fn each_real_cli_runs_through_the_shim_and_the_stand_in() {
    let Some(dir) = agents_dir() else { return };
    // SAFETY: no memory effects.
    let root = unsafe { libc::geteuid() } == 0;
    for (agent, (args, rejected)) in BUILTINS
        .iter()
        .filter_map(|b| Some((b.name, b.through_shim?)))
    {
        let w = world_with(&dir, agent);
        let (code, out) = through_shim(&w, agent, &["--version"]);
        assert_eq!(code, Some(0), "{agent} --version: {out}");
        assert!(
            out.contains(&pinned_version(agent)),
            "{agent} --version: {out}"
        );
        if !root {
            eprintln!("{agent}: not root, so no network namespace: the parse-only run was skipped");
            continue;
        }
        let (_, out) = through_shim(&w, agent, args);
        assert!(
            !out.contains(rejected),
            "{agent} {args:?} through the shim: {out}"
        );
        let call = w.last_shell_call();
        assert!(
            call.iter().any(|w| w.starts_with("--")
                && (w.contains("danger")
                    || w == "--yolo"
                    || w == "--auto"
                    || w == "--allow-all"
                    || w == "--yes-always")),
            "{agent}: the full-auto flag went in: {call:?}"
        );
    }
}
