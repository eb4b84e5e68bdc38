//! The direct door (`door = "ssh"`): the shim runs Lima's ssh itself when the VM runs,
//! with the same observable result as through limactl, and forwarded values never on a
//! command line.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::process::Command;

use crate::world::*;

/// A world with the ssh door, after a first run (which opens the door's connection).
fn door_world() -> World {
    let w = World::builder().config("door = \"ssh\"\n").build();
    let out = w.shim("claude").arg("warm up").output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(w.lima_home.join("sandbox/shimctl-door.sock").exists());
    w.clear_log();
    w
}

fn shell_calls(w: &World) -> usize {
    w.limactl_calls().iter().filter(|c| c[0] == "shell").count()
}

#[test]
fn both_doors_give_the_same_result() {
    let hard: Vec<&[u8]> = vec![
        b"it's",
        b"$(touch /tmp/shimctl-door-pwned)",
        b"`id`",
        b"",
        b"line1\nline2",
        b"\xff\xfe",
        b"A=b",
        b"*",
        b" ",
    ];
    let run = |w: &World| {
        w.set_exit_status(7);
        let out = w
            .shim("claude")
            .args(hard.iter().map(|a| OsStr::from_bytes(a)))
            .env("LANG", "C.UTF-8")
            .env("ANTHROPIC_API_KEY", "sk-door")
            .env("HOSTONLY", "x")
            .output()
            .unwrap();
        let r = w.record("claude");
        let env: Vec<(String, Option<String>)> = ["LANG", "ANTHROPIC_API_KEY", "HOSTONLY"]
            .iter()
            .map(|k| (k.to_string(), r.env.get(*k).cloned()))
            .collect();
        (
            out.status.code(),
            r.argv,
            r.cwd,
            env,
            r.stdin_tty,
            r.stdout_tty,
        )
    };
    let limactl = World::new();
    let door = door_world();
    let via_limactl = run(&limactl);
    let via_door = run(&door);
    assert_eq!(shell_calls(&door), 0, "the door did not use limactl");
    // Different temporary roots: compare the cwd relative to each project.
    let rel =
        |w: &World, cwd: &std::path::Path| cwd.strip_prefix(&w.project).unwrap().to_path_buf();
    assert_eq!(via_door.0, via_limactl.0);
    assert_eq!(via_door.1, via_limactl.1);
    assert_eq!(rel(&door, &via_door.2), rel(&limactl, &via_limactl.2));
    assert_eq!(via_door.3, via_limactl.3);
    assert_eq!((via_door.4, via_door.5), (via_limactl.4, via_limactl.5));
    assert!(!std::path::Path::new("/tmp/shimctl-door-pwned").exists());
}

#[test]
fn a_closed_connection_is_reopened_and_a_stopped_vm_goes_through_limactl() {
    let w = door_world();
    let sock = w.lima_home.join("sandbox/shimctl-door.sock");
    let _ = Command::new("ssh")
        .args(["-F", "/dev/null", "-O", "exit", "-o"])
        .arg(format!("ControlPath={}", sock.display()))
        .arg("x")
        .output();
    // The master removes its socket as it exits, just after answering.
    for _ in 0..100 {
        if !sock.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(!sock.exists());
    let out = w.shim("claude").arg("x").output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(shell_calls(&w), 0, "still the door");
    assert!(sock.exists(), "the door's connection is open again");

    w.clear_log();
    w.set_running("sandbox", false);
    let out = w.shim("claude").arg("x").output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(shell_calls(&w), 1, "a stopped VM needs limactl's --start");
}

#[test]
fn forwarded_values_never_appear_on_a_command_line() {
    let w = door_world();
    // An `ssh` first on PATH that records its argv, then runs the real one.
    let spy = w.root.join("spy");
    std::fs::create_dir_all(&spy).unwrap();
    let argv_log = w.root.join("ssh-argv");
    w.write_exec(
        &spy.join("ssh"),
        &format!(
            "#!/bin/sh\nprintf '%s\\n' \"$@\" >> '{}'\nexec /usr/bin/ssh \"$@\"\n",
            argv_log.display()
        ),
    );
    let path = format!(
        "{}:{}:{}:/usr/bin:/bin",
        spy.display(),
        w.shims.display(),
        w.lima_bin.display()
    );
    let out = w
        .shim("claude")
        .arg("x")
        .env("PATH", &path)
        .env("ANTHROPIC_API_KEY", "sk-ant-never-in-argv")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        w.record("claude")
            .env
            .get("ANTHROPIC_API_KEY")
            .map(String::as_str),
        Some("sk-ant-never-in-argv"),
        "it arrived"
    );
    let logged = std::fs::read_to_string(&argv_log).unwrap();
    assert!(logged.contains("SendEnv=ANTHROPIC_API_KEY"), "{logged}");
    assert!(!logged.contains("sk-ant-never-in-argv"), "{logged}");
}

/// The guest's sshd runs the command as `SHELL -c COMMAND`, one argument, so the door has
/// the same 128 KiB limit for the command as limactl (without the variables' values, which
/// go by SendEnv), and stages what is longer the same way.
#[test]
fn the_door_stages_what_one_argument_cannot_hold() {
    let w = door_world();
    let agent = w.plain_agent();
    // 40 KB of quotes: quoted twice, far over 128 KiB.
    let word = vec![b'\''; 40_000];
    let out = w
        .shim(agent)
        .arg(OsStr::from_bytes(&word))
        .arg("")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(w.record(agent).argv, vec![word.clone(), Vec::new()]);
    assert_eq!(shell_calls(&w), 1, "one staging call, then the door");
    // explain shows that very launch: ssh, reading the words staged first.
    let out = w
        .shimctl()
        .args(["explain", agent])
        .arg(OsStr::from_bytes(&word))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let command = field(&stdout(&out), "command").to_string();
    assert!(command.contains("ssh -F "), "{command}");
    assert!(command.contains("<staged file>"), "{command}");
    assert!(!command.contains("limactl shell"), "{command}");
    assert!(
        stdout(&out).contains("staged:    the command's"),
        "{}",
        stdout(&out)
    );
}
