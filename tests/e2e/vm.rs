//! The VM side: `shimctl vm`, `share`/`unshare`, `doctor`, and the Lima template.

use std::path::PathBuf;
use std::process::Output;

use crate::world::*;
use yaml_rust2::{Yaml, YamlLoader};

const TEMPLATE: &str = include_str!("../../install/lima/agent.yaml");

fn with_git_identity(w: &World) {
    std::fs::write(
        w.home.join(".gitconfig"),
        "[user]\n\tname = Ada Lovelace\n\temail = ada@example.com\n",
    )
    .unwrap();
}

fn shimctl(w: &World, args: &[&str]) -> Output {
    w.shimctl()
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("FAKE_LIMA_GUEST_HOME", &w.guest_home)
        .output()
        .unwrap()
}

fn lima_yaml(w: &World, vm: &str) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(w.lima_home.join(vm).join("lima.yaml")).unwrap()).unwrap()
}

#[test]
fn template_is_yaml_with_the_pieces_we_promise() {
    let docs = YamlLoader::load_from_str(TEMPLATE).expect("install/lima/agent.yaml parses");
    let t = &docs[0];
    let bases: Vec<&str> = t["base"]
        .as_vec()
        .unwrap()
        .iter()
        .filter_map(Yaml::as_str)
        .collect();
    assert!(
        bases.iter().any(|b| b.ends_with("docker")),
        "based on Lima's docker template: {bases:?}"
    );
    assert_eq!(t["cpus"].as_i64(), Some(4));
    assert_eq!(t["memory"].as_str(), Some("4GiB"));
    assert_eq!(t["disk"].as_str(), Some("60GiB"));
    assert_eq!(
        t["mounts"].as_vec().map(Vec::len),
        Some(0),
        "no host mounts"
    );
    let scripts: String = t["provision"]
        .as_vec()
        .unwrap()
        .iter()
        .map(|p| p["script"].as_str().unwrap().to_string())
        .collect();
    for piece in [
        "git",
        "build-essential",
        "mise",
        "claude.ai/install.sh",
        "@openai/codex",
        "opencode-ai",
        "bubblewrap",
        "socat",
        "tinyproxy-bin",
        "shimctl-bwrap",
    ] {
        assert!(scripts.contains(piece), "provisioning installs {piece}");
    }
    let user = t["provision"]
        .as_vec()
        .unwrap()
        .iter()
        .find(|p| p["mode"].as_str() == Some("user"));
    assert!(user.is_some(), "agents are installed for the guest user");
}

#[test]
fn vm_create_uses_our_template_shares_nothing_and_copies_git_identity() {
    let w = World::new();
    with_git_identity(&w);
    let out = w
        .shimctl()
        .args(["vm", "create"])
        .env("SHIMCTL_VM", "agents")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("FAKE_LIMA_GUEST_HOME", &w.guest_home)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let dir = w.lima_home.join("agents");
    assert_eq!(
        std::fs::read_to_string(dir.join("template.yaml")).unwrap(),
        TEMPLATE
    );
    assert_eq!(
        lima_yaml(&w, "agents")["mounts"],
        serde_json::json!([]),
        "created with --mount-none"
    );
    // shimctl's steps with their times; Lima's lines only in the log.
    let err = stderr(&out);
    for step in [
        "shimctl: creating VM `agents` from shimctl's template: done in ",
        "shimctl: starting VM `agents` for the first time: it fetches its image and installs the agents, often 3-10 minutes: done in ",
    ] {
        assert!(err.contains(step), "{step}\n{err}");
    }
    assert!(
        !err.contains("level=info"),
        "Lima's lines are not shown: {err}"
    );
    let log = std::fs::read_to_string(w.home.join(".cache/shimctl/limactl-start.log")).unwrap();
    assert!(log.contains("Starting the instance agents"), "{log}");
    let git = std::fs::read_to_string(w.guest_home.join(".gitconfig")).unwrap();
    assert!(
        git.contains("Ada Lovelace") && git.contains("ada@example.com"),
        "{git}"
    );

    let out = w
        .shimctl()
        .args(["vm", "create"])
        .env("SHIMCTL_VM", "agents")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("already exists"), "{}", stderr(&out));
}

/// A step that fails shows Lima's last lines and where the rest is; `-v` streams them all.
#[test]
fn a_failed_vm_step_shows_limas_lines_and_verbose_streams_them() {
    let w = World::new();
    let out = w
        .shimctl()
        .args(["vm", "create"])
        .env("SHIMCTL_VM", "agents")
        .env("FAKE_LIMA_FAIL", "start")
        .output()
        .unwrap();
    assert_failed(
        &w,
        &out,
        CANNOT_RUN,
        &[
            "`limactl start --tty=false agents` failed; Lima's lines are above, all of them in ~/.cache/shimctl/limactl-start.log",
        ],
    );
    let err = stderr(&out);
    assert!(
        err.contains("starting VM `agents` for the first time"),
        "{err}"
    );
    assert!(err.contains(": failed after "), "{err}");
    assert!(
        err.contains("  time=\"now\" level=fatal msg=\"did not receive an event"),
        "{err}"
    );
    assert!(
        err.contains("waiting (29)") && !err.contains("waiting (9)"),
        "the last 20 lines: {err}"
    );

    let out = w
        .shimctl()
        .args(["vm", "start", "-v"])
        .env("SHIMCTL_VM", "agents")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("Starting the instance agents"), "{err}");
    assert!(
        err.contains("shimctl: starting VM `agents` (usually under a minute): done in "),
        "{err}"
    );
}

#[test]
fn vm_create_from_a_template_file() {
    let w = World::new();
    let file = w.root.join("mine.yaml");
    std::fs::write(&file, "base: template:default\n").unwrap();
    let out = w
        .shimctl()
        .args(["vm", "create", "--template"])
        .arg(&file)
        .env("SHIMCTL_VM", "mine")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(w.lima_home.join("mine/template.yaml")).unwrap(),
        "base: template:default\n"
    );
    assert_eq!(lima_yaml(&w, "mine")["mounts"], serde_json::json!([]));
    assert!(
        stdout(&out).contains("the host has no git user.name"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn vm_start_stop_delete() {
    let w = World::new();
    let status = |w: &World| w.lima_home.join("sandbox/ha.pid").exists();
    assert!(shimctl(&w, &["vm", "stop"]).status.success());
    assert!(!status(&w));
    assert!(shimctl(&w, &["vm", "start"]).status.success());
    assert!(status(&w));
    let out = shimctl(&w, &["vm", "delete"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "no terminal and no --yes: refused"
    );
    assert!(stderr(&out).contains("--yes"));
    assert!(w.lima_home.join("sandbox").exists());
    assert!(shimctl(&w, &["vm", "delete", "--yes"]).status.success());
    assert!(!w.lima_home.join("sandbox").exists());
    let out = shimctl(&w, &["vm", "start"]);
    assert!(
        stderr(&out).contains("shimctl vm create"),
        "{}",
        stderr(&out)
    );
}

fn set_expressions(w: &World) -> Vec<String> {
    std::fs::read_to_string(&w.log)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            serde_json::from_str::<serde_json::Value>(l)
                .ok()?
                .get("set")?
                .as_str()
                .map(String::from)
        })
        .collect()
}

#[test]
fn share_and_unshare_an_awkward_path_round_trip() {
    let w = World::new();
    let awkward = w.root.join("My Work, \"odd\" it's \\ ü");
    std::fs::create_dir_all(&awkward).unwrap();

    let out = w.shim("claude").current_dir(&awkward).output().unwrap();
    assert_eq!(out.status.code(), Some(CANNOT_RUN));
    assert!(stderr(&out).contains("shimctl share ."), "{}", stderr(&out));

    let out = w
        .shimctl()
        .current_dir(&awkward)
        .args(["share", "."])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("stopping VM `sandbox`"),
        "a running VM is stopped and started again"
    );
    assert!(w.lima_home.join("sandbox/ha.pid").exists(), "running again");
    assert_eq!(set_expressions(&w).len(), 1);
    let yaml = lima_yaml(&w, "sandbox");
    assert!(
        yaml["mounts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["location"] == awkward.to_str().unwrap() && m["writable"] == true),
        "the path arrives in lima.yaml exactly: {yaml}"
    );

    let out = w
        .shim("claude")
        .current_dir(&awkward)
        .arg("x")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(w.record("claude").cwd, awkward);

    let out = w
        .shimctl()
        .current_dir(&awkward)
        .args(["share", "."])
        .output()
        .unwrap();
    assert!(stdout(&out).contains("already shared"), "{}", stdout(&out));

    let out = w.shimctl().arg("unshare").arg(&awkward).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let out = w.shim("claude").current_dir(&awkward).output().unwrap();
    assert_eq!(out.status.code(), Some(CANNOT_RUN), "not shared any more");
    let mounts = lima_yaml(&w, "sandbox")["mounts"].as_array().unwrap().len();
    assert_eq!(mounts, 1, "the other share is untouched");
}

#[test]
fn share_at_a_guest_path_under_the_guest_home() {
    let w = World::new();
    let skills = w.root.join("skills");
    std::fs::create_dir_all(&skills).unwrap();
    let guest_skills: PathBuf = w.guest_home.join(".claude/skills");
    std::fs::create_dir_all(&guest_skills).unwrap();
    let out = w
        .shimctl()
        .arg("share")
        .arg(&skills)
        .args(["--at", "~/.claude/skills", "--read-only"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let yaml = lima_yaml(&w, "sandbox");
    let m = yaml["mounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["location"] == skills.to_str().unwrap())
        .unwrap();
    assert_eq!(m["mountPoint"], guest_skills.to_str().unwrap());
    assert_eq!(m["writable"], false);

    let out = w
        .shim("claude")
        .current_dir(&skills)
        .arg("x")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("read-only"));
    assert_eq!(w.record("claude").cwd, guest_skills);
}

#[test]
fn share_refuses_overlaps_and_warns_about_secrets() {
    let w = World::new();
    let out = w.shimctl().args(["share", "."]).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "the project is inside an existing share"
    );
    assert!(stderr(&out).contains("overlaps"), "{}", stderr(&out));

    let other = w.root.join("other");
    std::fs::create_dir_all(other.join(".ssh")).unwrap();
    let before = std::fs::read(w.lima_home.join("sandbox/lima.yaml")).unwrap();
    // Without a terminal to ask on, secrets are shared only with --yes.
    let out = w.shimctl().arg("share").arg(&other).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("exposes .ssh"), "{}", stderr(&out));
    assert!(stderr(&out).contains("--yes"), "{}", stderr(&out));
    assert_eq!(
        std::fs::read(w.lima_home.join("sandbox/lima.yaml")).unwrap(),
        before
    );
    let out = w
        .shimctl()
        .arg("share")
        .arg(&other)
        .arg("--yes")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("exposes .ssh"), "{}", stderr(&out));
}

fn doctor(cmd: &mut std::process::Command) -> (i32, String) {
    let out = cmd
        .arg("doctor")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .unwrap();
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    (out.status.code().unwrap(), stdout(&out))
}

fn line_with<'a>(text: &'a str, needle: &str) -> &'a str {
    text.lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle:?} in\n{text}"))
}

fn healthy() -> World {
    let w = World::new();
    std::fs::write(
        w.guest_home.join(".gitconfig"),
        "[user]\n\tname = Ada\n\temail = ada@example.com\n",
    )
    .unwrap();
    // The start-up files install.sh writes, so every caller doctor tries finds the shims.
    let env = w.home.join(".local/share/shimctl/env");
    let snippet = w.shimctl().args(["init", "sh"]).output().unwrap();
    std::fs::write(&env, &snippet.stdout).unwrap();
    let line = format!(". '{}'\n", env.display());
    for f in [".profile", ".zshenv"] {
        std::fs::write(w.home.join(f), &line).unwrap();
    }
    std::fs::create_dir_all(w.home.join(".config/fish")).unwrap();
    std::fs::write(
        w.home.join(".config/fish/config.fish"),
        format!("'{SHIMCTL}' init fish | source\n"),
    )
    .unwrap();
    w
}

#[test]
fn doctor_passes_when_all_is_well() {
    let w = healthy();
    let (code, text) = doctor(&mut w.shimctl());
    assert_eq!(code, 0, "{text}");
    assert!(text.lines().all(|l| l.starts_with('✓')), "{text}");
    assert!(line_with(&text, "limactl 2.2.0").starts_with('✓'));
    assert!(line_with(&text, "is shared, writable").starts_with('✓'));
    assert!(line_with(&text, "claude is installed in the VM").starts_with('✓'));
    assert!(line_with(&text, "git identity in the VM: Ada <ada@example.com>").starts_with('✓'));
    assert!(
        line_with(
            &text,
            "`claude` is the shim for bash -lc, sh -lc, zsh -c, zsh -lc, fish -c"
        )
        .starts_with('✓'),
        "{text}"
    );
}

/// doctor tries each shell a program may start, with only the start-up files deciding,
/// and names one that would run the host's program.
#[test]
fn doctor_names_the_callers_that_would_run_the_host_program() {
    let w = healthy();
    std::fs::remove_file(w.home.join(".zshenv")).unwrap();
    let host_bin = w.home.join("bin");
    std::fs::create_dir_all(&host_bin).unwrap();
    w.write_exec(&host_bin.join("claude"), "#!/bin/sh\n");
    std::fs::write(
        w.home.join(".zshenv"),
        format!("PATH={}:$PATH\n", host_bin.display()),
    )
    .unwrap();
    let (code, text) = doctor(&mut w.shimctl());
    assert_eq!(code, 0, "warnings only: {text}");
    let line = line_with(&text, "`zsh -c` runs");
    assert!(
        line.starts_with('!')
            && line.contains(&format!(
                "{}, the host's claude, not the shim",
                host_bin.join("claude").display()
            )),
        "{text}"
    );
    assert!(
        line_with(&text, "`claude` is the shim for bash -lc, sh -lc, fish -c").starts_with('✓'),
        "{text}"
    );
}

#[test]
fn doctor_names_each_fault_with_its_fix() {
    let w = healthy();
    let (code, text) = doctor(
        w.shimctl()
            .env("PATH", format!("{}:/usr/bin:/bin", w.shims.display())),
    );
    assert_eq!(code, 1);
    assert!(
        line_with(&text, "limactl not found").contains("fix: brew install lima"),
        "{text}"
    );

    let (code, text) = doctor(w.shimctl().env("SHIMCTL_VM", "nope"));
    assert_eq!(code, 1);
    assert!(
        line_with(&text, "VM `nope` does not exist").ends_with("(fix: shimctl vm create)"),
        "{text}"
    );

    let elsewhere = w.root.join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let (code, text) = doctor(w.shimctl().current_dir(&elsewhere));
    assert_eq!(code, 1);
    assert!(
        line_with(&text, "is not shared").ends_with("(fix: shimctl share .)"),
        "{text}"
    );

    let host_bin = w.host_program("codex", "#!/bin/sh\n");
    let path = format!(
        "{}:{}:{}:/usr/bin:/bin",
        host_bin.display(),
        w.shims.display(),
        w.lima_bin.display()
    );
    // A fish without shimctl's line: the advice is to add it.
    std::fs::remove_file(w.home.join(".config/fish/config.fish")).unwrap();
    let (code, text) = doctor(w.shimctl().env("PATH", &path).env("SHELL", "/usr/bin/fish"));
    assert_eq!(code, 1);
    assert!(
        line_with(&text, "`codex` on PATH is").contains("shimctl init fish | source"),
        "{text}"
    );

    std::fs::remove_file(w.guest_bin.join("opencode")).unwrap();
    std::fs::remove_file(w.guest_home.join(".gitconfig")).unwrap();
    let (code, text) = doctor(&mut w.shimctl());
    assert_eq!(code, 1);
    assert!(
        line_with(&text, "opencode is not installed in VM")
            .contains("npm install --global opencode-ai"),
        "{text}"
    );
    assert!(
        line_with(&text, "git user.name is not set").starts_with('!')
            && line_with(&text, "git user.name is not set")
                .contains("(fix: shimctl run git config --global user.name '...')"),
        "{text}"
    );

    w.write_config("vm = 3\n");
    let (code, text) = doctor(&mut w.shimctl());
    assert_eq!(code, 1);
    assert!(line_with(&text, "line 1").starts_with('✗'), "{text}");
}

#[test]
fn doctor_warns_about_shared_secrets_and_a_stopped_vm() {
    let w = healthy();
    std::fs::create_dir_all(w.home.join(".aws")).unwrap();
    w.make_vm("sandbox", &[(&w.home, None, true)]);
    w.set_running("sandbox", false);
    let (code, text) = doctor(&mut w.shimctl());
    assert_eq!(code, 0, "warnings do not fail: {text}");
    let secrets = line_with(&text, "which exposes");
    assert!(
        secrets.starts_with('!')
            && secrets.contains("the whole home directory")
            && secrets.contains(".aws"),
        "{text}"
    );
    assert!(
        line_with(&text, "is Stopped").contains("starts it"),
        "{text}"
    );
    assert!(line_with(&text, "not running").starts_with('!'), "{text}");
}

#[test]
fn doctor_reports_a_missing_shim_directory() {
    let w = healthy();
    std::fs::remove_dir_all(&w.shims).unwrap();
    let (code, text) = doctor(&mut w.shimctl());
    assert_eq!(code, 1);
    assert!(
        line_with(&text, "no shims in").ends_with("(fix: shimctl install)"),
        "{text}"
    );
}

fn mounts_of(w: &World) -> Vec<serde_json::Value> {
    lima_yaml(w, "sandbox")["mounts"]
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn every_spelling_of_a_shared_directory_is_the_same_share() {
    let projects = |w: &World| w.root.join("home/Projects");
    // Shared writable as written through a symlink, and as written with a trailing slash.
    for through_link in [true, false] {
        let w = World::new();
        let written = if through_link {
            let link = w.root.join("projects-link");
            symlink(&projects(&w), &link);
            link
        } else {
            PathBuf::from(format!("{}/", projects(&w).display()))
        };
        w.make_vm("sandbox", &[(&written, None, true)]);
        // And named on the command line with `..` in it.
        let arg = format!("{}/app/../", projects(&w).display());
        let out = w
            .shimctl()
            .args(["share", &arg, "--read-only"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(stdout(&out).contains("instead of"), "{}", stdout(&out));
        let mounts = mounts_of(&w);
        assert_eq!(mounts.len(), 1, "one share, not two: {mounts:?}");
        assert_eq!(mounts[0]["writable"], false, "{mounts:?}");
        // The agent really cannot write there now.
        let out = w.shim("claude").arg("x").output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(stderr(&out).contains("read-only"), "{}", stderr(&out));
    }
}

#[test]
fn unshare_inside_a_share_names_the_share() {
    let w = World::new();
    let before = std::fs::read(w.lima_home.join("sandbox/lima.yaml")).unwrap();
    let out = w.shimctl().args(["unshare", "."]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let projects = w.root.join("home/Projects");
    assert!(
        stderr(&out).contains(&format!("inside {}", projects.display())),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("shimctl unshare "),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        std::fs::read(w.lima_home.join("sandbox/lima.yaml")).unwrap(),
        before
    );
}

#[test]
fn at_is_normalised_and_dotdot_or_root_refused() {
    let w = World::new();
    let skills = w.root.join("skills");
    std::fs::create_dir_all(&skills).unwrap();
    for bad in ["/work/../etc", "/", "relative"] {
        let out = w
            .shimctl()
            .arg("share")
            .arg(&skills)
            .args(["--at", bad])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad}: {}", stderr(&out));
        assert!(stderr(&out).contains("--at"), "{}", stderr(&out));
    }
    let out = w
        .shimctl()
        .arg("share")
        .arg(&skills)
        .args(["--at", "//work/./skills/"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        mounts_of(&w)
            .iter()
            .any(|m| m["mountPoint"] == "/work/skills"),
        "{:?}",
        mounts_of(&w)
    );
}

#[test]
fn hard_characters_in_paths_mean_the_same_to_lima() {
    let w = World::new();
    let dir = w.root.join(r#"back\slash "quote" $HOME `x` 日本 it's"#);
    std::fs::create_dir_all(&dir).unwrap();
    let out = w.shimctl().arg("share").arg(&dir).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        mounts_of(&w)
            .iter()
            .any(|m| m["location"] == dir.to_str().unwrap()),
        "{:?}",
        mounts_of(&w)
    );
    let out = w
        .shim("claude")
        .current_dir(&dir)
        .arg("x")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(w.record("claude").cwd, dir);
    let out = w.shimctl().arg("unshare").arg(&dir).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(mounts_of(&w).len(), 1);
}

/// Starts `shimctl share` in its own process group (as a terminal's foreground job is),
/// with limactl's `edit` hanging, and sends `signal` once the VM has been stopped.
fn interrupt_share(w: &World, signal: libc::c_int, to_group: bool) -> std::process::Output {
    use std::os::unix::process::CommandExt;
    let dir = w.root.join("newdir");
    std::fs::create_dir_all(&dir).unwrap();
    let child = w
        .shimctl()
        .arg("share")
        .arg(&dir)
        .env("FAKE_LIMA_HANG", "edit")
        .process_group(0)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id() as i32;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while w.lima_home.join("sandbox/ha.pid").exists() || !edit_started(w) {
        assert!(std::time::Instant::now() < deadline, "edit never started");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    unsafe { libc::kill(if to_group { -pid } else { pid }, signal) };
    child.wait_with_output().unwrap()
}

fn edit_started(w: &World) -> bool {
    w.limactl_calls().iter().any(|c| c[0] == "edit")
}

#[test]
fn an_interrupted_share_changes_nothing_and_restarts_the_vm() {
    // Ctrl-C reaches the whole foreground group, limactl included.
    let w = World::new();
    let before = std::fs::read(w.lima_home.join("sandbox/lima.yaml")).unwrap();
    let out = interrupt_share(&w, libc::SIGINT, true);
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("nothing was changed"),
        "{}",
        stderr(&out)
    );
    assert!(
        w.lima_home.join("sandbox/ha.pid").exists(),
        "the VM runs again"
    );
    assert_eq!(
        std::fs::read(w.lima_home.join("sandbox/lima.yaml")).unwrap(),
        before
    );

    // SIGTERM or a hang-up to shimctl alone: limactl keeps hanging until the time limit.
    for signal in [libc::SIGTERM, libc::SIGHUP] {
        let w = World::builder().config("vm_timeout = 2\n").build();
        let before = std::fs::read(w.lima_home.join("sandbox/lima.yaml")).unwrap();
        let out = interrupt_share(&w, signal, false);
        assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
        assert!(
            w.lima_home.join("sandbox/ha.pid").exists(),
            "the VM runs again"
        );
        assert_eq!(
            std::fs::read(w.lima_home.join("sandbox/lima.yaml")).unwrap(),
            before
        );
    }
}

#[test]
fn template_scripts_pass_shellcheck() {
    let docs = YamlLoader::load_from_str(TEMPLATE).unwrap();
    for step in docs[0]["provision"].as_vec().unwrap() {
        let script = step["script"].as_str().unwrap();
        let mut child = std::process::Command::new("shellcheck")
            .args(["-s", "bash", "-"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("shellcheck is installed (.ci/run installs it)");
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(script.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{script}\n{}", stdout(&out));
    }
}

#[test]
fn vm_provision_runs_the_templates_egress_step_as_root_in_the_vm() {
    let w = World::new();
    let out = w.shimctl().args(["vm", "provision"]).output().unwrap();
    let call = w.last_shell_call();
    assert_eq!(
        call[..7],
        ["shell", "--workdir", "/", "sandbox", "sudo", "bash", "-c"],
        "{call:?}"
    );
    let script = &call[7];
    assert!(script.starts_with("set -eu -o pipefail\n"), "{script}");
    assert!(
        TEMPLATE.contains(&script.replace('\n', "\n    ")),
        "the same lines as the template's step"
    );
    // The test guest's user may not sudo: the failure is limactl's, said as such.
    assert_eq!(out.status.code(), Some(CANNOT_RUN), "{}", stderr(&out));
    assert!(stderr(&out).contains("limactl"), "{}", stderr(&out));
}
