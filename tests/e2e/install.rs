//! `shimctl install`, `uninstall`, `list` in a temporary HOME.

use std::path::Path;

use crate::world::*;

/// A world without the pre-made shims, with a host `claude` on PATH before anything else.
fn fresh() -> (World, std::path::PathBuf) {
    let w = World::new();
    std::fs::remove_dir_all(&w.shims).unwrap();
    let host_bin = w.host_program("claude", "#!/bin/sh\nexit 0\n");
    (w, host_bin)
}

fn run(w: &World, args: &[&str], path: &str) -> (i32, String) {
    let out = w
        .shimctl()
        .args(args)
        .env("PATH", path)
        .env("SHELL", "/bin/zsh")
        .output()
        .unwrap();
    (out.status.code().unwrap(), stdout(&out) + &stderr(&out))
}

#[test]
fn install_links_the_default_agents_and_is_idempotent() {
    let (w, host_bin) = fresh();
    let path = format!("{}:{}:/usr/bin:/bin", w.shims.display(), host_bin.display());
    let (code, out) = run(&w, &["install"], &path);
    assert_eq!(code, 0, "{out}");
    let exe = std::fs::canonicalize(SHIMCTL).unwrap();
    for agent in ["claude", "codex", "opencode"] {
        assert_eq!(
            std::fs::read_link(w.shims.join(agent)).unwrap(),
            exe,
            "{agent}"
        );
    }
    assert!(
        out.contains(&format!(
            "host program {}",
            host_bin.join("claude").display()
        )),
        "{out}"
    );
    assert!(out.contains("typing `claude` runs it in the VM"), "{out}");

    let before: Vec<_> = std::fs::read_dir(&w.shims)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let (code, out) = run(&w, &["install"], &path);
    assert_eq!(code, 0);
    assert!(
        out.contains("claude: already installed") && out.contains("nothing changed"),
        "{out}"
    );
    let after: Vec<_> = std::fs::read_dir(&w.shims)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(before.len(), after.len());
}

#[test]
fn a_foreign_file_is_kept_unless_forced() {
    let (w, _) = fresh();
    std::fs::create_dir_all(&w.shims).unwrap();
    std::fs::write(w.shims.join("claude"), "mine").unwrap();
    let path = format!("{}:/usr/bin:/bin", w.shims.display());
    let (code, out) = run(&w, &["install", "claude"], &path);
    assert_eq!(code, 1);
    assert!(
        out.contains("is a regular file, not a shimctl link") && out.contains("--force"),
        "{out}"
    );
    assert_eq!(
        std::fs::read_to_string(w.shims.join("claude")).unwrap(),
        "mine"
    );

    let (code, out) = run(&w, &["install", "claude", "--force"], &path);
    assert_eq!(code, 0, "{out}");
    assert!(
        std::fs::symlink_metadata(w.shims.join("claude"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
}

#[test]
fn uninstall_removes_only_our_links() {
    let (w, _) = fresh();
    let path = format!("{}:/usr/bin:/bin", w.shims.display());
    run(&w, &["install", "claude", "codex"], &path);
    std::fs::write(w.shims.join("notes"), "keep me").unwrap();
    symlink(Path::new("/bin/sh"), &w.shims.join("opencode"));
    let (code, out) = run(&w, &["uninstall"], &path);
    assert_eq!(code, 0, "{out}");
    assert!(!w.shims.join("claude").exists() && !w.shims.join("codex").exists());
    assert!(w.shims.join("notes").exists());
    assert!(std::fs::symlink_metadata(w.shims.join("opencode")).is_ok());
    assert!(
        out.contains("opencode:") && out.contains("left alone"),
        "{out}"
    );
}

#[test]
fn shadowing_is_detected_and_explained() {
    let (w, host_bin) = fresh();
    // The real claude comes before the shims on this PATH.
    let path = format!("{}:{}:/usr/bin:/bin", host_bin.display(), w.shims.display());
    let (code, out) = run(&w, &["install", "claude"], &path);
    assert_eq!(code, 0);
    assert!(
        out.contains(&format!(
            "claude: shadowed by {} on PATH",
            host_bin.join("claude").display()
        )),
        "{out}"
    );
    assert!(
        out.contains("eval \"$(shimctl init zsh)\"") && out.contains("~/.zshrc"),
        "{out}"
    );

    let (_, out) = run(&w, &["list"], &path);
    let row = out.lines().find(|l| l.starts_with("claude")).unwrap();
    assert!(
        row.contains("sandbox")
            && row.contains(&format!("no: {}", host_bin.join("claude").display())),
        "{out}"
    );

    let path = format!("{}:{}:/usr/bin:/bin", w.shims.display(), host_bin.display());
    let (_, out) = run(&w, &["list"], &path);
    let row = out.lines().find(|l| l.starts_with("claude")).unwrap();
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(
        cells,
        [
            "claude",
            "sandbox",
            "yes",
            host_bin.join("claude").to_str().unwrap()
        ],
        "{out}"
    );
}

#[test]
fn list_shows_each_agents_vm() {
    let (w, _) = fresh();
    w.write_config("[agents.codex]\nvm = \"other\"\n");
    let path = format!("{}:/usr/bin:/bin", w.shims.display());
    run(&w, &["install"], &path);
    let (_, out) = run(&w, &["list"], &path);
    let vm = |agent: &str| {
        out.lines()
            .find(|l| l.starts_with(agent))
            .unwrap()
            .split_whitespace()
            .nth(1)
            .unwrap()
            .to_string()
    };
    assert_eq!(vm("claude"), "sandbox");
    assert_eq!(vm("codex"), "other");
    assert!(
        out.lines()
            .find(|l| l.starts_with("opencode"))
            .unwrap()
            .ends_with('-'),
        "no host opencode: {out}"
    );
}

#[test]
fn installing_an_unknown_agent_is_refused() {
    let (w, _) = fresh();
    let (code, out) = run(&w, &["install", "clod"], "/usr/bin:/bin");
    assert_eq!(code, 2);
    assert!(out.contains("`clod` is not an agent"), "{out}");
}

#[test]
fn version_flag_prints_the_version() {
    let out = std::process::Command::new(SHIMCTL)
        .arg("--version")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        stdout(&out),
        format!("shimctl {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn uninstall_refuses_paths_and_shimctl_itself() {
    let (w, _) = fresh();
    let path = format!("{}:/usr/bin:/bin", w.shims.display());
    run(&w, &["install", "claude"], &path);
    // A copy of the binary standing where the user keeps it, as `command -v shimctl` names it.
    let bin = w.root.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::copy(SHIMCTL, bin.join("shimctl")).unwrap();
    let copy = bin.join("shimctl");
    for arg in [
        copy.display().to_string(),
        SHIMCTL.to_string(),
        "shimctl".into(),
        "../claude".into(),
        "..".into(),
    ] {
        let (code, out) = run(&w, &["uninstall", &arg], &path);
        assert_eq!(code, 2, "{arg}: {out}");
        assert!(out.contains("not an agent name"), "{out}");
    }
    assert!(
        copy.exists() && Path::new(SHIMCTL).exists(),
        "no binary deleted"
    );
    assert!(
        w.shims.join("claude").exists(),
        "no shim deleted by a refused call"
    );
    // A hard copy of shimctl in the shim directory is not a link: left alone.
    std::fs::hard_link(&copy, w.shims.join("codex")).unwrap();
    let (code, out) = run(&w, &["uninstall", "codex"], &path);
    assert_eq!(code, 0, "{out}");
    assert!(w.shims.join("codex").exists(), "{out}");
}

#[test]
fn uninstall_says_where_the_name_now_leads() {
    let (w, host_bin) = fresh();
    let path = format!("{}:{}:/usr/bin:/bin", w.shims.display(), host_bin.display());
    run(&w, &["install", "claude", "codex"], &path);
    let (code, out) = run(&w, &["uninstall"], &path);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(&format!(
            "claude: removed; typing `claude` now runs {} on this machine",
            host_bin.join("claude").display()
        )),
        "{out}"
    );
    assert!(
        out.contains("codex: removed (no `codex` on this machine)"),
        "{out}"
    );
}
