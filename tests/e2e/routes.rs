//! `[[routes]]`: the VM is picked by the deepest route holding the working directory, before
//! the agent's and the global `vm`; `SHIMCTL_VM` still wins.

use crate::world::*;

/// The VM of the last `limactl shell` call.
fn shell_vm(w: &World) -> String {
    let calls = w.limactl_calls();
    let call = calls
        .iter()
        .rev()
        .find(|c| c[0] == "shell")
        .expect("a shell call");
    // `shell [--workdir DIR] [--preserve-env] [--start] VM ...`
    let mut i = 1;
    while call[i].starts_with("--") {
        i += if call[i] == "--workdir" { 2 } else { 1 };
    }
    call[i].clone()
}

/// Two VMs that share ~/Projects: `outer` and `inner`.
fn two_vms() -> World {
    let w = World::new();
    let projects = w.home.join("Projects");
    std::fs::create_dir_all(projects.join("other")).unwrap();
    w.make_vm("outer", &[(&projects, None, true)]);
    w.make_vm("inner", &[(&projects, None, true)]);
    w
}

#[test]
fn the_deepest_route_picks_the_vm_and_shimctl_vm_still_wins() {
    let w = two_vms();
    w.write_config(
        "vm = \"sandbox\"\n[agents.claude]\nvm = \"sandbox\"\n\n[[routes]]\npath = \"~/Projects\"\nvm = \"outer\"\n\n[[routes]]\npath = \"~/Projects/app\"\nvm = \"inner\"\n",
    );
    let out = w.shim("claude").arg("x").output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(shell_vm(&w), "inner");
    let out = w
        .shim("claude")
        .arg("x")
        .current_dir(w.home.join("Projects/other"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(shell_vm(&w), "outer");
    // Outside every route: the agent's own `vm`.
    let out = w
        .shim("claude")
        .arg("--version")
        .current_dir(&w.home)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(shell_vm(&w), "sandbox");
    let out = w
        .shim("claude")
        .arg("x")
        .env("SHIMCTL_VM", "outer")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(shell_vm(&w), "outer");
    // explain and status say which route applied.
    let out = w.shimctl().args(["explain", "claude"]).output().unwrap();
    assert!(
        field(&stdout(&out), "vm").contains("inner (the route for ~/Projects/app)"),
        "{}",
        stdout(&out)
    );
    let out = w.shimctl().args(["status"]).output().unwrap();
    assert!(
        stdout(&out).contains("inner (Running), by the route for ~/Projects/app"),
        "{}",
        stdout(&out)
    );
    let out = w.shimctl().args(["status", "--json"]).output().unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["vm"]["route"], "~/Projects/app");
}

#[test]
fn a_route_through_a_symlink_applies_to_the_physical_directory() {
    let w = two_vms();
    let link = w.home.join("work");
    symlink(&w.project, &link);
    w.write_config("[[routes]]\npath = \"~/work\"\nvm = \"inner\"\n");
    // getcwd gives the physical directory: the route's resolved form matches it.
    let out = w.shim("claude").arg("x").output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(shell_vm(&w), "inner");
    let out = w
        .shim("claude")
        .arg("x")
        .current_dir(&link)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(shell_vm(&w), "inner");
}

#[test]
fn a_route_to_a_missing_vm_fails_closed_naming_the_route() {
    let w = two_vms();
    w.write_config("[[routes]]\npath = \"~/Projects/app\"\nvm = \"gone\"\n");
    let out = w.shim("claude").arg("x").output().unwrap();
    assert_failed(
        &w,
        &out,
        CANNOT_RUN,
        &[
            "VM `gone` does not exist",
            "the route for ~/Projects/app",
            "shimctl vm create",
        ],
    );
    assert!(!w.ran("claude"));
    // A bad route is a config error, with its line.
    w.write_config("[[routes]]\npath = \"relative/dir\"\nvm = \"inner\"\n");
    let out = w.shim("claude").arg("x").output().unwrap();
    assert_failed(&w, &out, CANNOT_RUN, &["line 2", "path"]);
}

#[test]
fn changing_a_routes_vm_takes_effect_on_the_next_start() {
    let w = two_vms();
    let guest_inner = w.root.join("guest-inner");
    std::fs::create_dir_all(&guest_inner).unwrap();
    // `inner` sees the project elsewhere: the guest directory tells which VM's mounts ran.
    w.make_vm("inner", &[(&w.project, Some(&guest_inner), true)]);
    w.write_config("[[routes]]\npath = \"~/Projects/app\"\nvm = \"inner\"\n");
    let out = w.shim("claude").arg("x").output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(w.record("claude").cwd, guest_inner);
    w.write_config("[[routes]]\npath = \"~/Projects/app\"\nvm = \"outer\"\n");
    let out = w.shim("claude").arg("x").output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(shell_vm(&w), "outer");
    assert_eq!(w.record("claude").cwd, w.project);
}
