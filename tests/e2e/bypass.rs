//! Running the host's real program: on request, inside a guest, and never in a loop.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use crate::world::*;

/// A host `claude` that records its arguments and exits 7.
fn real_claude(w: &World, dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join("claude");
    let log = w.root.join("host-claude.args");
    w.write_exec(
        &path,
        &format!(
            "#!/bin/sh\nprintf '%s\\n' \"$@\" > '{}'\nexit 7\n",
            log.display()
        ),
    );
    path
}

fn host_args(w: &World) -> Option<String> {
    std::fs::read_to_string(w.root.join("host-claude.args")).ok()
}

fn with_path(w: &World, mut cmd: Command, dirs: &[&Path]) -> Command {
    let mut path: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
    path.push(w.lima_bin.display().to_string());
    path.push("/usr/bin:/bin".into());
    cmd.env("PATH", path.join(":"));
    cmd
}

fn output_within(mut cmd: Command, limit: Duration) -> Output {
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > limit {
            child.kill().unwrap();
            panic!("still running after {limit:?}: a loop");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn bypass_variable_runs_the_host_program_skipping_the_shims() {
    let w = World::new();
    let host_bin = w.root.join("host-bin");
    real_claude(&w, &host_bin);
    let cmd = with_path(&w, w.shim("claude"), &[&w.shims, &host_bin]);
    let out = output_within(
        {
            let mut c = cmd;
            c.env("SHIMCTL_BYPASS", "1").args(["-p", "it's $HOME"]);
            c
        },
        Duration::from_secs(10),
    );
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    assert_eq!(
        host_args(&w).unwrap(),
        "-p\nit's $HOME\n",
        "arguments untouched, no full-auto on the host"
    );
    assert!(!w.ran("claude"), "nothing ran in the VM");
}

#[test]
fn bypass_command_skips_other_shim_directories_and_stray_links() {
    let w = World::new();
    let second_shims = w.root.join("more-shims");
    std::fs::create_dir_all(&second_shims).unwrap();
    symlink(Path::new(SHIMCTL), &second_shims.join("claude"));
    let stray = w.root.join("stray");
    std::fs::create_dir_all(&stray).unwrap();
    std::fs::hard_link(SHIMCTL, stray.join("claude")).unwrap();
    let host_bin = w.root.join("host-bin");
    real_claude(&w, &host_bin);
    let mut cmd = with_path(
        &w,
        w.shimctl(),
        &[&w.shims, &second_shims, &stray, &host_bin],
    );
    cmd.args(["bypass", "claude", "--help"]);
    let out = output_within(cmd, Duration::from_secs(10));
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    assert_eq!(host_args(&w).unwrap(), "--help\n");
}

#[test]
fn no_host_program_is_exit_127_with_a_message() {
    let w = World::new();
    let out = w
        .shim("claude")
        .env("SHIMCTL_BYPASS", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(127));
    assert!(
        stderr(&out).contains("no `claude` on PATH besides the shims"),
        "{}",
        stderr(&out)
    );
    let out = w.shimctl().args(["bypass", "codex"]).output().unwrap();
    assert_eq!(out.status.code(), Some(127));
}

#[test]
fn a_wrapper_that_calls_back_into_the_shim_ends_fast() {
    let w = World::new();
    for body in [
        "claude \"$@\"",
        "exec claude \"$@\"",
        "claude --more \"$@\"",
        // A grandchild of the wrapper calls back, not the wrapper itself.
        "sh -c 'true; claude \"$@\"' sh \"$@\"",
    ] {
        let wrappers = w.root.join("wrappers");
        std::fs::create_dir_all(&wrappers).unwrap();
        w.write_exec(&wrappers.join("claude"), &format!("#!/bin/sh\n{body}\n"));
        let mut cmd = with_path(&w, w.shim("claude"), &[&w.shims, &wrappers]);
        cmd.env("SHIMCTL_BYPASS", "1").arg("x");
        let out = output_within(cmd, Duration::from_secs(20));
        assert_eq!(
            out.status.code(),
            Some(CANNOT_RUN),
            "{body}: {}",
            stderr(&out)
        );
        let err = stderr(&out);
        assert!(
            err.contains("loop") && err.contains(&wrappers.join("claude").display().to_string()),
            "{err}"
        );
    }
}

#[test]
fn the_guard_does_not_change_what_the_agents_subshells_do() {
    let w = World::new();
    let host_bin = w.root.join("host-bin");
    std::fs::create_dir_all(&host_bin).unwrap();
    let log = w.root.join("nested.log");
    // A real agent whose tool runs `claude` in a subshell several times, as agents do.
    w.write_exec(
        &host_bin.join("claude"),
        &format!(
            "#!/bin/bash\necho \"run $1\" >> '{log}'\nif [ \"$1\" = outer ]; then for i in 1 2 3 4 5 6; do bash -c 'claude inner'; done; fi\n",
            log = log.display()
        ),
    );
    let mut cmd = with_path(&w, w.shim("claude"), &[&w.shims, &host_bin]);
    cmd.env("SHIMCTL_BYPASS", "1").arg("outer");
    let out = output_within(cmd, Duration::from_secs(20));
    assert!(out.status.success(), "{}", stderr(&out));
    let runs = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        runs.lines().filter(|l| *l == "run inner").count(),
        6,
        "{runs}"
    );
}

#[test]
fn inside_a_lima_guest_the_shim_runs_the_guests_program() {
    let w = World::new();
    let host_bin = w.root.join("host-bin");
    real_claude(&w, &host_bin);
    let mut cmd = with_path(&w, w.shim("claude"), &[&w.shims, &host_bin]);
    cmd.env("SHIMCTL_IN_GUEST", "1").arg("x");
    let out = output_within(cmd, Duration::from_secs(10));
    assert_eq!(out.status.code(), Some(7));
    assert_eq!(host_args(&w).unwrap(), "x\n");
    assert!(
        w.limactl_calls().is_empty(),
        "limactl is not involved in a guest"
    );
}
