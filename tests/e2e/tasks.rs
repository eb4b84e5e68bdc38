//! `shimctl task`: a git worktree and a VM cloned from a stopped base per task, routed so
//! that a plain `claude` in the worktree runs in the task's VM and sees only its worktree.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::world::*;

fn git(dir: &Path, args: &[&str]) -> Output {
    let out = Command::new("git")
        .args(["-c", "user.name=Tester", "-c", "user.email=t@example.test"])
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("HOME", dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", stderr(&out));
    out
}

/// The world's project as a git repository with one commit, and a stopped base VM.
fn task_world() -> World {
    let w = World::new();
    // A config of the user's that `task new` adds to (with the suite's [egress] table in
    // its egress pass, so tasks' agents run filtered then).
    w.write_config("");
    git(&w.project, &["init", "-q", "-b", "main"]);
    std::fs::write(w.project.join("README"), "app\n").unwrap();
    git(&w.project, &["add", "README"]);
    git(&w.project, &["commit", "-qm", "start"]);
    w
}

fn worktree(w: &World, name: &str) -> PathBuf {
    w.home.join("Projects/app.tasks").join(name)
}

fn new_task(w: &World, name: &str) -> Output {
    w.shimctl()
        .args(["task", "new", "--", name])
        .output()
        .unwrap()
}

/// The VM of the last `limactl shell` call.
fn shell_vm(w: &World) -> String {
    let calls = w.limactl_calls();
    let call = calls
        .iter()
        .rev()
        .find(|c| c[0] == "shell")
        .expect("a shell call");
    let mut i = 1;
    while call[i].starts_with("--") {
        i += if call[i] == "--workdir" { 2 } else { 1 };
    }
    call[i].clone()
}

fn mounts(w: &World, vm: &str) -> Vec<String> {
    let yaml: serde_json::Value =
        serde_json::from_slice(&std::fs::read(w.lima_home.join(vm).join("lima.yaml")).unwrap())
            .unwrap();
    yaml["mounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["location"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn each_task_runs_its_agent_in_its_own_vm_and_worktree() {
    let w = task_world();
    // The base VM: made, provisioned by its first start, and left stopped.
    let out = w
        .shimctl()
        .args(["vm", "create", "--base"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(w.lima_home.join("sandbox-base/lima.yaml").exists());
    assert!(
        !w.lima_home.join("sandbox-base/ha.pid").exists(),
        "left stopped"
    );
    // Something the base shares must not reach a task.
    w.make_vm("sandbox-base", &[(&w.home.join("Projects"), None, true)]);
    w.set_running("sandbox-base", false);
    for name in ["a", "b"] {
        let out = new_task(&w, name);
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(
            stdout(&out).contains(&format!("cd {} && claude", worktree(&w, name).display())),
            "{}",
            stdout(&out)
        );
        let branch = git(&worktree(&w, name), &["branch", "--show-current"]);
        assert_eq!(stdout(&branch).trim(), name);
    }
    let git_dir = w.project.join(".git");
    for name in ["a", "b"] {
        let vm = format!("task-{name}");
        let shared = mounts(&w, &vm);
        assert_eq!(
            shared,
            [
                worktree(&w, name).display().to_string(),
                git_dir.display().to_string()
            ],
            "{vm} shares only its worktree and the git directory"
        );
        let out = w
            .shim("claude")
            .arg("x")
            .current_dir(worktree(&w, name))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(shell_vm(&w), vm);
        assert_eq!(w.record("claude").cwd, worktree(&w, name));
        // The sandbox (and in the suite's egress pass, the filter) as for any VM.
        let out = w
            .shimctl()
            .args(["explain", "claude"])
            .current_dir(worktree(&w, name))
            .output()
            .unwrap();
        let shown = stdout(&out);
        assert!(
            field(&shown, "vm").starts_with(&format!("{vm} (the route for")),
            "{shown}"
        );
        assert!(field(&shown, "sandbox").starts_with("on"), "{shown}");
        assert_eq!(
            field(&shown, "egress").starts_with("off"),
            !egress_mode(),
            "{shown}"
        );
    }
    let out = w.shimctl().args(["task", "list"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let list = stdout(&out);
    for name in ["a", "b"] {
        assert!(
            list.contains(&format!(
                "{name}: {} (branch {name}, 0 files not committed",
                worktree(&w, name).display()
            )),
            "{list}"
        );
        assert!(
            list.contains(&format!("VM `task-{name}` running, idle")),
            "{list}"
        );
    }
    let out = w.shimctl().arg("status").output().unwrap();
    assert!(
        stdout(&out).contains("tasks:   2 (2 VMs running, 2 of them idle"),
        "{}",
        stdout(&out)
    );
    // The main checkout still runs in the default VM.
    let out = w.shim("claude").arg("x").output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(shell_vm(&w), "sandbox");
}

#[test]
fn task_rm_names_what_would_be_lost_and_needs_a_yes_without_a_terminal() {
    let w = task_world();
    w.make_vm("sandbox-base", &[]);
    w.set_running("sandbox-base", false);
    let out = new_task(&w, "feat");
    assert!(out.status.success(), "{}", stderr(&out));
    let tree = worktree(&w, "feat");
    std::fs::write(tree.join("notes.txt"), "wip\n").unwrap();
    std::fs::write(tree.join("README"), "changed\n").unwrap();
    git(&tree, &["commit", "-qam", "work"]);
    let out = w
        .shimctl()
        .args(["task", "rm", "feat"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("1 files not committed") && err.contains("notes.txt"),
        "{err}"
    );
    assert!(err.contains("VM `task-feat` and its home"), "{err}");
    assert!(err.contains("--yes"), "{err}");
    assert!(tree.exists() && w.lima_home.join("task-feat").exists());
    let out = w
        .shimctl()
        .args(["task", "rm", "feat", "--yes"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("branch feat keeps its"),
        "{}",
        stdout(&out)
    );
    assert!(!tree.exists());
    assert!(!w.lima_home.join("task-feat").exists());
    let config = std::fs::read_to_string(w.home.join(".config/shimctl/config.toml")).unwrap();
    assert!(!config.contains("task-feat"), "{config}");
    // The branch, and the commit on it, stay.
    let log = git(&w.project, &["log", "--format=%s", "feat"]);
    assert!(stdout(&log).starts_with("work\n"));
    // Its route is gone with it: the worktree path runs nowhere special any more.
    let out = w.shimctl().args(["task", "list"]).output().unwrap();
    assert!(stdout(&out).contains("no tasks"), "{}", stdout(&out));
}

#[test]
fn a_bad_name_a_running_base_or_a_failed_clone_leave_nothing_behind() {
    let w = task_world();
    w.make_vm("sandbox-base", &[]);
    for bad in ["a b", "-x", "x..y", "x/y", ".hidden", ""] {
        let out = new_task(&w, bad);
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("cannot name a task"),
            "{}",
            stderr(&out)
        );
    }
    // A base that runs may be in use: it is not stopped for a clone.
    let out = new_task(&w, "t");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("`sandbox-base` runs"),
        "{}",
        stderr(&out)
    );
    w.set_running("sandbox-base", false);
    let out = w
        .shimctl()
        .args(["task", "new", "t"])
        .env("FAKE_LIMA_FAIL", "clone")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(CANNOT_RUN), "{}", stderr(&out));
    assert!(!worktree(&w, "t").exists(), "the worktree is undone");
    let branches = git(&w.project, &["branch", "--list", "t"]);
    assert_eq!(stdout(&branches), "", "the branch is undone");
    assert!(!w.lima_home.join("task-t").exists());
    assert!(
        !w.home.join(".config/shimctl/config.toml").exists()
            || !std::fs::read_to_string(w.home.join(".config/shimctl/config.toml"))
                .unwrap()
                .contains("task-t")
    );
    // Then it works.
    let out = new_task(&w, "t");
    assert!(out.status.success(), "{}", stderr(&out));
    // Outside a repository: said so.
    let out = w
        .shimctl()
        .args(["task", "new", "u"])
        .current_dir(&w.home)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("not in a git repository"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_task_interrupted_while_its_vm_is_cloned_is_undone() {
    let w = task_world();
    w.make_vm("sandbox-base", &[]);
    w.set_running("sandbox-base", false);
    let mut child = w
        .shimctl()
        .args(["task", "new", "t"])
        .env("FAKE_LIMA_HANG", "clone")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the clone runs (the worktree is made by then), then SIGTERM shimctl.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !w.limactl_calls().iter().any(|c| c[0] == "clone") {
        assert!(std::time::Instant::now() < deadline, "no clone started");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(worktree(&w, "t").exists());
    // SAFETY: a signal to our own child.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    let started = std::time::Instant::now();
    let status = child.wait().unwrap();
    let mut err = String::new();
    use std::io::Read;
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert_eq!(status.code(), Some(130), "{err}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "it stops the step"
    );
    assert!(
        err.contains("interrupted by SIGTERM") && err.contains("undone"),
        "{err}"
    );
    assert!(!worktree(&w, "t").exists());
    assert_eq!(stdout(&git(&w.project, &["branch", "--list", "t"])), "");
    assert!(!w.lima_home.join("task-t").exists());
}
