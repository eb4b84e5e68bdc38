//! The sandbox every agent runs in: nothing a hostile agent does in the VM runs on the host
//! or outside the sandbox later. tests/sandbox/attacker, started through the shim as an
//! agent in a shared git project, plants everything that would make the host's git,
//! editors or shells, or a later process in the VM, run its program; the tests then do what
//! the user does on the host (git status, diff, log -p, add, commit, checkout) and look,
//! from outside, at every place it wrote. The same attacker without the sandbox
//! (`sandbox = false`) is the control: there it gets through.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::world::*;

const ATTACKER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/sandbox/attacker");

fn can_run() -> bool {
    root_or_skip("a second user, the whole file system read from outside")
}

fn git(dir: &Path, args: &[&str]) -> std::process::Output {
    // The host user's git, with a config of its own (nothing of the machine's), trusting the
    // project although the guest user owns it (the host user does in a real share).
    Command::new("git")
        .arg("-c")
        .arg("safe.directory=*")
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", dir.parent().unwrap().join(".host-git-home"))
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "host")
        .env("GIT_AUTHOR_EMAIL", "host@example.com")
        .env("GIT_COMMITTER_NAME", "host")
        .env("GIT_COMMITTER_EMAIL", "host@example.com")
        .env("GIT_PAGER", "cat")
        .output()
        .unwrap()
}

fn git_ok(dir: &Path, args: &[&str]) {
    let out = git(dir, args);
    assert!(out.status.success(), "git {args:?}: {}", stderr(&out));
}

/// The project as a user has it: a repository with hooks (husky), a submodule's and a
/// linked work tree's git directories, editor and agent settings, a nested repository.
fn make_project(w: &World) {
    let p = &w.project;
    git_ok(p, &["init", "-q", "-b", "main"]);
    for (file, text) in [
        ("README", "hello\n"),
        (".vscode/settings.json", "{}\n"),
        (".envrc", "export X=1\n"),
        (".mcp.json", "{}\n"),
        (".claude/settings.json", "{}\n"),
        (".idea/workspace.xml", "<x/>\n"),
        (".gitmodules", ""),
        (".husky/pre-commit", "#!/bin/sh\nexit 0\n"),
    ] {
        let path = p.join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    git_ok(p, &["config", "core.hooksPath", ".husky"]);
    git_ok(p, &["add", "-A"]);
    git_ok(p, &["commit", "-q", "-m", "start"]);
    git_ok(p, &["worktree", "add", "-q", "../side", "-b", "side"]);
    // A submodule's git directory, as `git submodule add` leaves it.
    let module = p.join(".git/modules/lib");
    git_ok(&w.root, &["init", "-q", "--bare", module.to_str().unwrap()]);
    std::fs::create_dir_all(p.join("sub/inner")).unwrap();
    git_ok(&p.join("sub/inner"), &["init", "-q"]);
    let user = &guest_user().0;
    let ok = Command::new("chown")
        .arg("-R")
        .arg(user)
        .arg(w.root.join("home/Projects"))
        .status()
        .unwrap()
        .success();
    assert!(ok);
}

struct Attack {
    world: World,
    results: BTreeMap<String, String>,
    stdout: String,
    stderr: String,
}

/// Every socket file on this machine (the test guest's), for the attacker to try.
fn every_socket() -> Vec<String> {
    let out = Command::new("find")
        .args([
            "/", "(", "-path", "/proc", "-o", "-path", "/sys", ")", "-prune",
        ])
        .args(["-o", "-type", "s", "-print"])
        .output()
        .unwrap();
    stdout(&out).lines().map(String::from).collect()
}

/// This world's probe file name: another test run on the machine has its own.
fn probe_name(w: &World) -> String {
    format!(
        ".shimctl-probe-{}",
        w.root.file_name().unwrap().to_string_lossy()
    )
}

fn attack(config: &str) -> Attack {
    let w = World::builder()
        .config(&format!("{config}\n[agents.attacker]\nfull_auto = false\n"))
        .build();
    w.link_shim("attacker");
    std::fs::copy(ATTACKER, w.guest_bin.join("attacker")).unwrap();
    std::fs::write(w.guest_bin.join("probe-everywhere"), probe_name(&w)).unwrap();
    // The guest user's own tools and start-up files, which the agent must leave alone.
    w.write_exec(&w.guest_bin.join("mise"), "#!/bin/sh\necho mise\n");
    for (file, text) in [(".bashrc", "# my bashrc\n"), (".profile", "# my profile\n")] {
        std::fs::write(w.guest_home.join(file), text).unwrap();
    }
    make_project(&w);
    // A listener only the guest user's own processes outside the sandbox may reach.
    let listener_path = w.guest_home.join("listener.sock");
    let user = &guest_user().0;
    let mut listener = Command::new("setpriv")
        .args(["--reuid", user, "--regid", user, "--clear-groups", "--"])
        .args(["/usr/bin/python3", "-c"])
        .arg("import socket,sys,time; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(8); time.sleep(120)")
        .arg(&listener_path)
        .spawn()
        .unwrap();
    for _ in 0..250 {
        if listener_path.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(
        listener_path.exists(),
        "the guest user's listener did not start"
    );
    let mut sockets = every_socket();
    sockets.push(listener_path.display().to_string());
    std::fs::write(w.guest_bin.join("sockets.list"), sockets.join("\n")).unwrap();

    let out = w.shim("attacker").output().unwrap();
    let _ = listener.kill();
    let _ = listener.wait();
    let text = stdout(&out);
    let results = checks(&text);
    Attack {
        world: w,
        results,
        stdout: text,
        stderr: stderr(&out),
    }
}

/// What the host user does in the project afterwards; returns what the agent's program
/// recorded when any of it ran the program.
fn host_uses_the_project(w: &World) -> String {
    let p = &w.project;
    for args in [
        &["status"][..],
        &["diff"],
        &["log", "-p", "-2"],
        &["add", "-A"],
        &["commit", "-q", "-m", "host", "--allow-empty"],
        &["checkout", "-q", "-b", "host-branch"],
        &["checkout", "-q", "main"],
    ] {
        let _ = git(p, args);
    }
    let _ = git(&p.join("newrepo"), &["status"]);
    let _ = git(&p.join("newrepo"), &["checkout", "-q", "-b", "x"]);
    let _ = git(&p.join("sub/inner"), &["status"]);
    let _ = git(&p.join("made-gitfile"), &["status"]);
    let _ = git(&p.join("made-sub"), &["status"]);
    let _ = git(&p.join(".made-gitdir"), &["status"]);
    let _ = git(&p.join("made-bare.git"), &["fetch", "-q", "origin"]);
    let _ = git(&w.root.join("home/Projects/side"), &["status"]);
    std::fs::read_to_string(p.join(".pwned")).unwrap_or_default()
}

/// Probe files the attacker left in every directory it could write, found from outside.
fn probes(w: &World) -> Vec<PathBuf> {
    let out = Command::new("find")
        .args([
            "/", "(", "-path", "/proc", "-o", "-path", "/sys", ")", "-prune",
        ])
        .args(["-o", "-name", &probe_name(w), "-print"])
        .output()
        .unwrap();
    let found: Vec<PathBuf> = stdout(&out).lines().map(PathBuf::from).collect();
    for f in &found {
        let _ = std::fs::remove_file(f);
    }
    found
}

#[test]
fn nothing_the_agent_plants_runs_on_the_host() {
    if !can_run() {
        return;
    }
    let a = attack("");
    let w = &a.world;
    let attacks: Vec<(&String, &String)> = a
        .results
        .iter()
        .filter(|(k, _)| {
            k.starts_with("git-config")
                || k.starts_with("git-hook")
                || k.starts_with("git-husky")
                || k.starts_with("git-info")
                || k.starts_with("git-rename")
                || k.starts_with("git-gitfile")
                || k.starts_with("git-submodule")
                || k.starts_with("git-worktree")
                || k.starts_with("host-file")
                || k.starts_with("nested-repo")
                || k.starts_with("tool-")
                || k.starts_with("socket-")
                || k.starts_with("sudo")
                || *k == "setuid"
                || *k == "user-namespace"
        })
        .filter(|(k, _)| *k != "sudo-message")
        .collect();
    assert!(attacks.len() > 40, "{}{}", a.stdout, a.stderr);
    for (name, result) in &attacks {
        // config.worktree is the agent's to write (git reads it only when .git/config
        // says so, and that is read-only); the host check below shows it runs nothing.
        if name.as_str() == "git-config-worktree" {
            continue;
        }
        assert_eq!(
            result.as_str(),
            "blocked",
            "{name}\n{}{}",
            a.stdout,
            a.stderr
        );
    }
    // Every socket of the machine was tried, the guest user's own listener included.
    let tried: usize = a.results["sockets-tried"].parse().unwrap();
    assert!(tried >= 1, "{}", a.stdout);
    // Ordinary git work still works.
    for op in [
        "git-commit",
        "git-branch",
        "git-tag",
        "git-stash",
        "git-switch",
        "git-merge",
        "git-rebase",
    ] {
        assert_eq!(
            a.results.get(op).map(String::as_str),
            Some("ok"),
            "{op}\n{}{}",
            a.stdout,
            a.stderr
        );
    }
    // What fails says why, naming shimctl and the way out.
    assert!(
        a.results["sudo-message"].contains("shimctl: sudo: attacker has no root in its sandbox")
            && a.results["sudo-message"].contains("shimctl run sudo"),
        "{}",
        a.results["sudo-message"]
    );
    assert!(
        a.results["git-note"].contains("shimctl: note:")
            && a.results["git-note"].contains("protect_shares = false"),
        "{}",
        a.results["git-note"]
    );
    // The planted commondir and the new repository's config and hooks were taken out.
    assert!(!w.project.join(".git/commondir").exists());
    assert!(
        a.stderr
            .contains("/.git/commondir, which sent git to another configuration"),
        "{}",
        a.stderr
    );
    assert!(
        a.stderr
            .contains("newrepo is a repository made during the session"),
        "{}",
        a.stderr
    );

    // What the session made where there was none, the host would run: set aside, with a
    // message; its own submodule keeps working, minus what it planted.
    for made in [
        "made/.envrc",
        "made/.mcp.json",
        "made/.vscode",
        "made-gitfile/.git",
    ] {
        assert!(
            !w.project.join(made).exists()
                && w.project.join(format!("{made}.made-in-sandbox")).exists(),
            "{made} was not set aside\n{}",
            a.stderr
        );
        assert!(
            a.stderr.contains("made-in-sandbox") && a.stderr.contains(made),
            "no message for {made}: {}",
            a.stderr
        );
    }
    assert!(w.project.join("made-sub/.git").is_file(), "{}", a.stderr);
    assert!(
        a.stderr
            .contains("modules/made-sub is a repository made during the session"),
        "{}",
        a.stderr
    );

    // The host does what users do; nothing the agent wrote runs.
    let ran = host_uses_the_project(w);
    assert_eq!(ran, "", "the host ran the agent's program");
    // The agent's own commits are there for the host.
    let log = git(&w.project, &["log", "--format=%s", "main"]);
    assert!(stdout(&log).contains("agent change"), "{}", stdout(&log));

    // Outside its sandbox, nothing changed: the VM user's home and tools.
    let read = |f: &str| std::fs::read_to_string(w.guest_home.join(f)).unwrap_or_default();
    assert_eq!(read(".bashrc"), "# my bashrc\n");
    assert_eq!(read(".profile"), "# my profile\n");
    for f in [
        ".zshenv",
        ".zshenv.zwc",
        ".bash_completion",
        ".config",
        ".local/lib",
    ] {
        assert!(
            !w.guest_home.join(f).exists(),
            "{f} appeared in the real home"
        );
    }
    assert_eq!(read(".local/bin/mise"), "#!/bin/sh\necho mise\n");

    // The class: every new file it could make anywhere is in the project (outside what
    // the host runs) or in its own home.
    let own_home = w.agent_home();
    let protected = [
        ".git/hooks",
        ".git/info",
        ".husky",
        ".vscode",
        ".claude",
        ".idea",
        ".git/modules/lib/hooks",
        ".git/modules/lib/info",
    ];
    let projects = w.root.join("home/Projects");
    for probe in probes(w) {
        let dir = probe.parent().unwrap();
        let allowed = dir.starts_with(&own_home)
            || (dir.starts_with(&projects)
                && !protected.iter().any(|p| dir.starts_with(w.project.join(p))));
        assert!(allowed, "the agent wrote {}", probe.display());
    }

    // The control, after the scan (its probes land all over the machine): without the
    // sandbox the same agent gets through, so the checks above can fail.
    let a = attack("sandbox = false");
    assert_eq!(
        a.results
            .get("git-config-core.fsmonitor")
            .map(String::as_str),
        Some("ESCAPED"),
        "{}",
        a.stdout
    );
    assert_eq!(
        a.results.get("git-hook-pre-commit").map(String::as_str),
        Some("ESCAPED")
    );
    let listener = format!(
        "socket-{}",
        a.world.guest_home.join("listener.sock").display()
    );
    assert_eq!(
        a.results.get(&listener).map(String::as_str),
        Some("ESCAPED"),
        "outside the sandbox the guest user's socket answers\n{}",
        a.stdout
    );
    // (Its later attacks replace .git altogether, so what runs is the new repository's.)
    let ran = host_uses_the_project(&a.world);
    assert!(ran.contains("newrepo"), "{ran}");
    probes(&a.world);
}

/// shimctl's own files are never the agent's to change: sharing what holds them writable
/// is refused, read-only asks like a secret, and a start stops when one of them (a config
/// symlinked into a share, as dotfile managers do) lies inside a writable share.
#[test]
fn shimctl_own_files_are_never_shared_writable() {
    let w = World::new();
    w.write_config("");
    let before = std::fs::read(w.lima_home.join("sandbox/lima.yaml")).unwrap();
    for dir in [".config", ".local", ".lima"] {
        let out = w
            .shimctl()
            .arg("share")
            .arg(w.home.join(dir))
            .arg("--yes")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{dir}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("writable would let the agent change")
                && stderr(&out).contains("--read-only"),
            "{dir}: {}",
            stderr(&out)
        );
    }
    // Read-only, it is a secret: asked for (no terminal here, so --yes is needed).
    let out = w
        .shimctl()
        .arg("share")
        .arg(w.home.join(".config"))
        .arg("--read-only")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("--yes"), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("shimctl's config"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        std::fs::read(w.lima_home.join("sandbox/lima.yaml")).unwrap(),
        before
    );

    // A config that is a symlink into the writable share stops every start.
    let real = w.project.join("dotfiles-config.toml");
    std::fs::write(&real, "").unwrap();
    let config = w.home.join(".config/shimctl/config.toml");
    std::fs::remove_file(&config).unwrap();
    symlink(&real, &config);
    let out = w.shim("claude").output().unwrap();
    assert_failed(
        &w,
        &out,
        CANNOT_RUN,
        &["shimctl's config", "shares writable", "shimctl unshare"],
    );
}

/// A table for an agent that does not exist is a mistake, not a new agent: taken
/// silently, `[agents.claude-code.egress]` would leave claude unfiltered.
#[test]
fn a_misspelt_agent_table_stops_the_start_with_the_right_name() {
    let w = World::builder()
        .config("[agents.claude-code.egress]\nallow = [\"github.com\"]\n")
        .build();
    let out = w.shim("claude").output().unwrap();
    assert_failed(
        &w,
        &out,
        CANNOT_RUN,
        &["`claude-code` is not an agent; did you mean `claude`?"],
    );
    let out = w.shimctl().arg("status").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("config:  broken"), "{}", stdout(&out));
}

/// `sandbox = false` (per agent here) is said by explain, status and doctor.
#[test]
fn agents_without_the_sandbox_are_named() {
    let w = World::builder()
        .config("[agents.codex]\nsandbox = false\n")
        .build();
    let out = w.shimctl().args(["explain", "codex"]).output().unwrap();
    assert!(
        stdout(&out).contains("sandbox:   OFF for codex (sandbox = false)"),
        "{}",
        stdout(&out)
    );
    let out = w.shimctl().args(["explain", "claude"]).output().unwrap();
    assert!(
        stdout(&out).contains("sandbox:   on: claude"),
        "{}",
        stdout(&out)
    );
    let out = w.shimctl().args(["status", "--json"]).output().unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let shims = json["shims"].as_array().unwrap();
    let sandbox_of = |name: &str| {
        shims
            .iter()
            .find(|s| s["name"] == name)
            .map(|s| s["sandbox"].as_bool().unwrap())
    };
    assert_eq!(sandbox_of("codex"), Some(false));
    assert_eq!(sandbox_of("claude"), Some(true));
    let out = w.shimctl().arg("doctor").output().unwrap();
    assert!(
        stdout(&out).contains("codex run without the sandbox (sandbox = false)"),
        "{}",
        stdout(&out)
    );
    // And it really runs without: its record lands in the VM user's own home.
    let out = w.shim("codex").arg("x").output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(w.guest_home.join("records/codex/argv").exists());
}
