//! What the shim needs from Lima: finding limactl, its version, the VM, and remembering
//! the VM's mounts so a warm start spawns nothing but the final exec.

use crate::world::*;

fn calls_named(w: &World, first: &str) -> usize {
    w.limactl_calls()
        .iter()
        .filter(|c| c.first().map(String::as_str) == Some(first))
        .count()
}

#[test]
fn warm_runs_ask_limactl_nothing() {
    let w = World::new();
    assert!(w.shim("claude").output().unwrap().status.success());
    assert_eq!(calls_named(&w, "--version"), 1);
    assert_eq!(calls_named(&w, "list"), 1);
    w.clear_log();
    assert!(w.shim("codex").output().unwrap().status.success());
    assert!(w.shim("claude").output().unwrap().status.success());
    let calls = w.limactl_calls();
    assert_eq!(
        calls.len(),
        2,
        "only the two `limactl shell` execs: {calls:?}"
    );
    assert!(calls.iter().all(|c| c[0] == "shell"));
}

#[test]
fn a_changed_vm_config_is_read_again() {
    let w = World::new();
    assert!(w.shim("claude").output().unwrap().status.success());
    let guest_view = w.root.join("guest-view");
    std::fs::create_dir_all(&guest_view).unwrap();
    w.make_vm("sandbox", &[(&w.project, Some(&guest_view), true)]);
    w.clear_log();
    assert!(w.shim("claude").output().unwrap().status.success());
    assert_eq!(calls_named(&w, "list"), 1);
    assert_eq!(
        calls_named(&w, "--version"),
        0,
        "limactl itself did not change"
    );
    assert_eq!(w.record("claude").cwd, guest_view, "the new mount is used");
}

#[test]
fn lima_wide_config_files_invalidate_too() {
    let w = World::new();
    assert!(w.shim("claude").output().unwrap().status.success());
    let config = w.lima_home.join("_config");
    std::fs::create_dir_all(&config).unwrap();
    let guest_view = w.root.join("guest-view");
    std::fs::create_dir_all(&guest_view).unwrap();
    let override_yaml = serde_json::json!({"mounts": [{"location": w.project.to_str().unwrap(), "mountPoint": guest_view.to_str().unwrap(), "writable": true}]});
    std::fs::write(config.join("override.yaml"), override_yaml.to_string()).unwrap();
    w.clear_log();
    assert!(w.shim("claude").output().unwrap().status.success());
    assert_eq!(calls_named(&w, "list"), 1);
    assert_eq!(w.record("claude").cwd, guest_view);

    std::fs::write(config.join("default.yaml"), "{}").unwrap();
    w.clear_log();
    assert!(w.shim("claude").output().unwrap().status.success());
    assert_eq!(calls_named(&w, "list"), 1);
}

#[test]
fn a_new_limactl_is_asked_its_version_again() {
    let w = World::new();
    assert!(w.shim("claude").output().unwrap().status.success());
    let limactl = w.lima_bin.join("limactl");
    let text = std::fs::read_to_string(&limactl).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    w.write_exec(&limactl, &format!("{text}\n# upgraded\n"));
    w.clear_log();
    assert!(w.shim("claude").output().unwrap().status.success());
    assert_eq!(calls_named(&w, "--version"), 1);
}

#[test]
fn missing_limactl_fails_closed_with_install_hint() {
    let w = World::new();
    let out = w
        .shim("claude")
        .env("PATH", format!("{}:/usr/bin:/bin", w.shims.display()))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(CANNOT_RUN));
    let err = stderr(&out);
    assert!(
        err.contains("limactl not found") && err.contains("brew install lima"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(!w.ran("claude"));
}

#[test]
fn limactl_variable_and_config_are_honoured() {
    let w = World::new();
    let elsewhere = w.root.join("opt/lima/bin");
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::fs::rename(w.lima_bin.join("limactl"), elsewhere.join("limactl")).unwrap();
    let out = w
        .shim("claude")
        .env("LIMACTL", elsewhere.join("limactl"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    w.write_config(&format!(
        "limactl = \"{}\"\n",
        elsewhere.join("limactl").display()
    ));
    let out = w.shim("codex").output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(w.ran("codex"));
}

#[test]
fn old_lima_is_refused() {
    let w = World::new();
    let out = w
        .shim("claude")
        .env("FAKE_LIMA_VERSION", "1.2.1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(CANNOT_RUN));
    let err = stderr(&out);
    assert!(
        err.contains("Lima 1.2.1 is too old") && err.contains("2.0.0"),
        "{err}"
    );
    assert!(!w.ran("claude"));
}

#[test]
fn lima_2_0_works_with_its_older_script_form() {
    let w = World::new();
    let out = w
        .shim("claude")
        .env("FAKE_LIMA_VERSION", "2.0.3")
        .args(["it's", "$x"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        w.record("claude").argv,
        words(&["--dangerously-skip-permissions", "it's", "$x"])
    );
}

#[test]
fn missing_vm_fails_closed_with_the_way_to_create_it() {
    let w = World::new();
    let out = w.shim("claude").env("SHIMCTL_VM", "nope").output().unwrap();
    assert_eq!(out.status.code(), Some(CANNOT_RUN));
    let err = stderr(&out);
    assert!(
        err.contains("VM `nope` does not exist") && err.contains("create it with"),
        "{err}"
    );
    assert!(!w.ran("claude"));
}

#[test]
fn limactl_failures_pass_through_untouched() {
    let w = World::new();
    // An instance directory whose shell fails the way ssh does.
    let fail = w.root.join("fail-limactl");
    w.write_exec(
        &fail,
        "#!/bin/sh\ncase \"$1\" in --version) echo 'limactl version 2.2.0';; list) exec \"$REAL\" \"$@\";; *) echo 'ssh: connect refused' >&2; exit 255;; esac\n",
    );
    let out = w
        .shim("claude")
        .env("LIMACTL", &fail)
        .env("REAL", w.lima_bin.join("limactl"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(255));
    assert!(stderr(&out).contains("connect refused"));
}
