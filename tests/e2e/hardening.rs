//! Hostile input and faults: nothing leaks, nothing runs on the host, nothing hangs.

use crate::world::*;

use std::ffi::OsStr;
use std::os::fd::FromRawFd;
use std::os::unix::ffi::OsStrExt;

/// About 100 KB of prose with quotes: Lima's double quoting makes it one ssh argument over
/// Linux's 128 KiB cap.
fn big_prompt() -> Vec<u8> {
    "Don't stop: fix the \"parser\" in foo's module, then run `cargo test` and $CHECK.\n"
        .repeat(1300)
        .into_bytes()
}

#[test]
fn a_large_prompt_reaches_the_agent_intact_and_the_staged_copy_is_removed() {
    let w = World::new();
    let prompt = big_prompt();
    assert!(prompt.len() > 60_000);
    let out = w
        .shim("claude")
        .arg("-p")
        .arg(OsStr::from_bytes(&prompt))
        .arg("")
        .arg(OsStr::from_bytes(b"\xff\n"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        w.record("claude").argv,
        vec![
            b"--dangerously-skip-permissions".to_vec(),
            b"-p".to_vec(),
            prompt,
            b"".to_vec(),
            b"\xff\n".to_vec()
        ]
    );
    // One extra limactl shell call carried the words; nothing is left in the guest's /tmp.
    let shells = w
        .limactl_calls()
        .into_iter()
        .filter(|c| c[0] == "shell")
        .count();
    assert_eq!(shells, 2);
    let left: Vec<_> = std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("shimctl-args."))
        .filter(|e| {
            std::fs::read(e.path()).is_ok_and(|b| b.windows(12).any(|x| x == b"foo's module"))
        })
        .collect();
    assert!(left.is_empty(), "staged files left: {left:?}");
}

#[test]
fn exit_status_and_stdin_survive_staging() {
    let w = World::new();
    w.set_exit_status(42);
    let mut child = w
        .shim("claude")
        .arg("-p")
        .arg(OsStr::from_bytes(&big_prompt()))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"from stdin\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(42), "{}", stderr(&out));
    assert_eq!(w.record("claude").stdin, b"from stdin\n");
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 6, ..Default::default() })]
    /// Whatever a shell could pass to a local agent (any bytes but NUL, up to ~1 MiB in all,
    /// each word under the kernel's per-argument cap) arrives byte for byte in the VM.
    #[test]
    fn any_argv_up_to_a_mebibyte_arrives_byte_for_byte(args in proptest::collection::vec(
        proptest::collection::vec(1u8..=255, 0..120_000), 0..9)) {
        let w = World::new();
        let agent = w.plain_agent();
        let os_args: Vec<&OsStr> = args.iter().map(|a| OsStr::from_bytes(a)).collect();
        let out = w.shim(agent).args(&os_args).output().unwrap();
        proptest::prop_assert!(out.status.success(), "{}", stderr(&out));
        proptest::prop_assert_eq!(w.record(agent).argv, args);
    }
}

// ---- Environment: the VM never gets the host's identity ----

#[test]
fn a_star_pattern_never_forwards_the_hosts_identity() {
    let w = World::builder().config("env = [\"*\"]\n").build();
    let out = w
        .shim("claude")
        .arg("x")
        .env("MY_SETTING", "on")
        .env("SSH_AUTH_SOCK", "/host/agent.sock")
        .env("XDG_RUNTIME_DIR", "/run/user/host")
        .env("TERM", "host-term")
        .env("SHELL", "/host/shell")
        .env("LIMA_HOME", &w.lima_home)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let env = w.record("claude").env;
    assert_eq!(env.get("MY_SETTING").map(String::as_str), Some("on"));
    assert_eq!(
        env["HOME"],
        w.guest_home.to_str().unwrap(),
        "the guest's HOME"
    );
    assert!(
        env["PATH"].contains(w.guest_bin.to_str().unwrap()) && !env["PATH"].contains("lima-bin"),
        "the guest's PATH: {}",
        env["PATH"]
    );
    for name in ["SSH_AUTH_SOCK", "XDG_RUNTIME_DIR", "TERM", "LIMA_HOME"] {
        assert!(!env.contains_key(name), "{name} reached the VM");
    }
    assert_ne!(env.get("SHELL").map(String::as_str), Some("/host/shell"));
}

#[test]
fn explain_names_what_a_wildcard_forwards_without_values() {
    let w = World::builder().config("env = [\"*_TOKEN\"]\n").build();
    let out = w
        .shimctl()
        .args(["explain", "claude", "x"])
        .env("GITHUB_TOKEN", "ghp-secret-value")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("`*_TOKEN` forwards GITHUB_TOKEN"), "{text}");
    assert!(!text.contains("ghp-secret-value"), "{text}");
}

#[test]
fn a_config_that_names_an_identity_variable_is_refused() {
    for config in [
        "env = [\"HOME\"]\n",
        "[agents.claude]\nenv = [\"SSH_AUTH_SOCK\"]\n",
        "[agents.claude]\nfull_auto_env = { PATH = \"/x\" }\n",
        "env = [\"SHIMCTL_VM\"]\n",
    ] {
        let w = World::builder().config(config).build();
        let out = w.shim("claude").arg("x").output().unwrap();
        assert_failed(&w, &out, CANNOT_RUN, &["config error", "line"]);
    }
}

// ---- The invoked name is the whole file name ----

#[test]
fn a_dotted_link_runs_its_own_profile() {
    let w = World::builder()
        .config("[agents.\"claude.safe\"]\ncommand = \"claude\"\nfull_auto = false\n\n[agents.\"pi.dev\"]\ncommand = \"pi\"\n")
        .build();
    symlink(std::path::Path::new(SHIMCTL), &w.shims.join("claude.safe"));
    symlink(std::path::Path::new(SHIMCTL), &w.shims.join("pi.dev"));
    let out = w.shim("claude.safe").arg("hello").output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(w.record("claude").argv, words(&["hello"]), "no full-auto");
    let out = w.shim("pi.dev").arg("hi").output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(w.record("pi").argv, words(&["hi"]));
}

// ---- Nothing from an untrusted place runs on the host ----

/// An executable that leaves a mark when run, planted where an agent could write.
fn plant(w: &World, dir: &std::path::Path, name: &str) -> std::path::PathBuf {
    let mark = w.root.join(format!("planted-{name}-ran"));
    w.write_exec(
        &dir.join(name),
        &format!("#!/bin/sh\ntouch '{}'\n", mark.display()),
    );
    mark
}

#[test]
fn relative_and_empty_path_entries_are_never_searched() {
    let w = World::new();
    let limactl_mark = plant(&w, &w.project, "limactl");
    let claude_mark = plant(&w, &w.project, "claude-host");
    for path in [".", "", "./"] {
        let path = format!("{path}:{}:/usr/bin:/bin", w.shims.display());
        let out = w
            .shim("claude")
            .arg("x")
            .env("PATH", &path)
            .output()
            .unwrap();
        assert_failed(&w, &out, CANNOT_RUN, &["limactl not found"]);
        let out = w
            .shimctl()
            .args(["bypass", "claude-host"])
            .env("PATH", &path)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(127), "{}", stderr(&out));
    }
    assert!(!limactl_mark.exists(), "./limactl ran on the host");
    assert!(!claude_mark.exists(), "./claude-host ran on the host");
}

#[test]
fn a_limactl_that_is_shimctl_is_refused_not_recursed_into() {
    let w = World::new();
    for limactl in [w.shims.join("codex"), std::path::PathBuf::from(SHIMCTL)] {
        let out = w
            .shim("claude")
            .arg("x")
            .env("LIMACTL", &limactl)
            .output()
            .unwrap();
        assert_failed(&w, &out, CANNOT_RUN, &["which is shimctl"]);
        w.write_config(&format!("limactl = \"{}\"\n", limactl.display()));
        let out = w.shim("claude").arg("x").output().unwrap();
        assert_failed(&w, &out, CANNOT_RUN, &["which is shimctl"]);
        w.write_config("");
    }
}

#[test]
fn shimctl_bypass_accepts_only_1_and_0() {
    let w = World::new();
    for value in ["false", "no", "off", "yes", "true", "2"] {
        let out = w
            .shim("claude")
            .arg("x")
            .env("SHIMCTL_BYPASS", value)
            .output()
            .unwrap();
        assert_failed(&w, &out, CANNOT_RUN, &["SHIMCTL_BYPASS", "1", "0"]);
    }
    for value in ["0", ""] {
        let out = w
            .shim("claude")
            .arg("x")
            .env("SHIMCTL_BYPASS", value)
            .output()
            .unwrap();
        assert!(out.status.success(), "{value:?}: {}", stderr(&out));
        assert!(w.ran("claude"), "{value:?} runs in the VM");
    }
}

// ---- Bounded waiting, bounded reading ----

#[test]
fn a_hung_limactl_is_stopped_at_the_time_limit() {
    for (hang, call) in [
        ("version", "limactl --version"),
        ("list", "limactl list --json sandbox"),
    ] {
        let w = World::builder().config("query_timeout = 1\n").build();
        let started = std::time::Instant::now();
        let out = w
            .shim("claude")
            .arg("x")
            .env("FAKE_LIMA_HANG", hang)
            .output()
            .unwrap();
        assert_failed(
            &w,
            &out,
            CANNOT_RUN,
            &[call, "did not finish within 1 s", "limactl list"],
        );
        assert!(
            started.elapsed().as_secs() < 20,
            "it waited {:?}",
            started.elapsed()
        );
    }
}

#[test]
fn vm_commands_have_a_time_limit_too() {
    let w = World::builder()
        .config("vm_timeout = 1\n")
        .stopped()
        .build();
    let out = w
        .shimctl()
        .args(["vm", "start"])
        .env("FAKE_LIMA_HANG", "start")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(CANNOT_RUN), "{}", stderr(&out));
    assert!(stderr(&out).contains("limactl start"), "{}", stderr(&out));
}

fn mkfifo(path: &std::path::Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn a_fifo_or_huge_file_as_config_is_an_error_naming_it() {
    let w = World::new();
    let fifo = w.root.join("config-fifo");
    mkfifo(&fifo);
    let out = w
        .shim("claude")
        .arg("x")
        .env("SHIMCTL_CONFIG", &fifo)
        .output()
        .unwrap();
    assert_failed(&w, &out, CANNOT_RUN, &["config-fifo", "not a regular file"]);
    let big = w.root.join("big.toml");
    std::fs::write(&big, format!("# {}\n", "x".repeat(2 << 20))).unwrap();
    let out = w
        .shim("claude")
        .arg("x")
        .env("SHIMCTL_CONFIG", &big)
        .output()
        .unwrap();
    assert_failed(&w, &out, CANNOT_RUN, &["big.toml", "larger than"]);
}

#[test]
fn odd_cache_files_are_misses_not_hangs_or_crashes() {
    let w = World::new();
    let cache = w.home.join(".cache/shimctl");
    std::fs::create_dir_all(&cache).unwrap();
    mkfifo(&cache.join("limactl-version"));
    let out = w.shim("claude").arg("x").output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    // A corrupt entry whose mount count is absurd.
    for entry in std::fs::read_dir(&cache).unwrap() {
        let path = entry.unwrap().path();
        if path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("instance-")
        {
            let mut bytes = std::fs::read(&path).unwrap();
            let fields: Vec<&[u8]> = bytes.split(|&b| b == 0).collect();
            let mut corrupt = Vec::new();
            for (i, f) in fields.iter().enumerate().take(fields.len() - 1) {
                corrupt.extend_from_slice(if i == 6 { b"18446744073709551615" } else { f });
                corrupt.push(0);
            }
            bytes = corrupt;
            std::fs::write(&path, bytes).unwrap();
        }
    }
    let out = w.shim("codex").arg("x").output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(w.ran("codex"));
}

#[test]
fn relative_xdg_directories_are_ignored() {
    let w = World::new();
    let planted = w.project.join("cfg/shimctl");
    std::fs::create_dir_all(&planted).unwrap();
    std::fs::write(planted.join("config.toml"), "vm = \"evil\"\n").unwrap();
    let out = w
        .shim("claude")
        .arg("x")
        .env("XDG_CONFIG_HOME", "cfg")
        .env("XDG_CACHE_HOME", "cache")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(w.ran("claude"), "ran in the default VM, not `evil`");
    assert!(!w.project.join("cache").exists(), "no cache in the project");
}

// ---- Output never panics ----

#[test]
fn a_closed_pipe_or_a_full_disk_never_panics() {
    let w = World::new();
    // A pipe whose reader is gone: `shimctl list | head -0`, without the race.
    let mut fds = [0; 2];
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    unsafe { libc::close(fds[0]) };
    let write_end = unsafe { std::os::fd::OwnedFd::from_raw_fd(fds[1]) };
    let out = w
        .shimctl()
        .arg("list")
        .stdout(std::process::Stdio::from(write_end))
        .output()
        .unwrap();
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    let full = std::fs::File::create("/dev/full").unwrap();
    let out = w
        .shimctl()
        .arg("--help")
        .stdout(std::process::Stdio::from(full))
        .output()
        .unwrap();
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    assert_eq!(out.status.code(), Some(CANNOT_RUN), "{}", stderr(&out));
    assert!(stderr(&out).contains("cannot write"), "{}", stderr(&out));
}

#[test]
fn the_agent_runs_when_only_a_note_could_not_be_written() {
    let w = World::new();
    w.make_vm("sandbox", &[(&w.root.join("home/Projects"), None, false)]);
    let full = std::fs::File::create("/dev/full").unwrap();
    let out = w
        .shim("claude")
        .arg("x")
        .stderr(std::process::Stdio::from(full))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(w.ran("claude"));
}

#[test]
fn bypassed_programs_start_with_sigpipe_at_its_default() {
    let w = World::new();
    let host_bin = w.root.join("host-bin");
    std::fs::create_dir_all(&host_bin).unwrap();
    let report = w.root.join("sigign");
    w.write_exec(
        &host_bin.join("claude"),
        &format!(
            "#!/bin/sh\ngrep '^SigIgn' /proc/self/status > '{}'\n",
            report.display()
        ),
    );
    let path = format!("{}:{}:/usr/bin:/bin", w.shims.display(), host_bin.display());
    let out = w
        .shimctl()
        .args(["bypass", "claude"])
        .env("PATH", &path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let line = std::fs::read_to_string(&report).unwrap();
    let mask = u64::from_str_radix(line.split_whitespace().nth(1).unwrap(), 16).unwrap();
    assert_eq!(
        mask & (1 << (libc::SIGPIPE - 1)),
        0,
        "SIGPIPE ignored: {line}"
    );
}

// ---- Mounts and versions from limactl are validated ----

#[test]
fn version_output_that_is_not_limas_is_an_error_naming_it() {
    let w = World::new();
    let out = w
        .shim("claude")
        .arg("x")
        .env("FAKE_LIMA_VERSION_OUTPUT", "wrapper 3.0.0 for limactl")
        .output()
        .unwrap();
    assert_failed(
        &w,
        &out,
        CANNOT_RUN,
        &["wrapper 3.0.0 for limactl", "limactl version X.Y.Z"],
    );
}

#[test]
fn a_relative_mount_location_is_ignored_with_a_warning() {
    let w = World::new();
    let projects = w.root.join("home/Projects");
    w.make_vm(
        "sandbox",
        &[
            (std::path::Path::new("."), None, true),
            (&projects, None, true),
        ],
    );
    let out = w.shim("claude").arg("x").output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("is not an absolute path"),
        "{}",
        stderr(&out)
    );
    let out = w
        .shim("claude")
        .arg("x")
        .current_dir(&w.lima_bin)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(CANNOT_RUN),
        "`.` matches nothing: {}",
        stderr(&out)
    );
}

#[test]
fn a_dotdot_out_of_a_moved_mount_stays_as_typed() {
    let w = World::new();
    let guest_work = w.root.join("guest-view/work");
    std::fs::create_dir_all(&guest_work).unwrap();
    w.make_vm("sandbox", &[(&w.project, Some(&guest_work), true)]);
    let climbing = format!("{}/../secret", w.project.display());
    let inside = format!("{}/a/../b/./c//", w.project.display());
    let agent = w.plain_agent();
    let out = w.shim(agent).arg(&climbing).arg(&inside).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        w.record(agent).argv,
        vec![
            climbing.into_bytes(),
            format!("{}/a/../b/./c//", guest_work.display()).into_bytes()
        ]
    );
}

#[test]
fn doctor_names_what_a_wildcard_forwards() {
    let w = World::builder().config("env = [\"AWS_*\"]\n").build();
    let out = w
        .shimctl()
        .arg("doctor")
        .env("AWS_SECRET_ACCESS_KEY", "aws-secret-value")
        .output()
        .unwrap();
    let text = stdout(&out);
    assert!(
        text.contains("`AWS_*` forwards AWS_SECRET_ACCESS_KEY"),
        "{text}"
    );
    assert!(!text.contains("aws-secret-value"), "{text}");
}

#[test]
fn programs_shimctl_runs_start_with_the_standard_descriptors_open() {
    // Started with stdin and stderr closed, shimctl opens /dev/null there first (as Rust's
    // runtime does, which the no_main entry skips), so neither a file it opens nor the
    // program it execs finds them missing.
    let w = World::new();
    let host_bin = w.root.join("host-bin");
    std::fs::create_dir_all(&host_bin).unwrap();
    let report = w.root.join("fds");
    w.write_exec(
        &host_bin.join("claude"),
        &format!(
            "#!/bin/sh\nfor fd in 0 1 2; do [ -e /proc/self/fd/$fd ] && echo open || echo closed; done > '{}'\n",
            report.display()
        ),
    );
    let mut cmd = std::process::Command::new("bash");
    w.base_env(&mut cmd);
    let out = cmd
        .arg("-c")
        .arg(format!("exec 0<&- 2>&-; exec {SHIMCTL} bypass claude"))
        .env(
            "PATH",
            format!("{}:{}:/usr/bin:/bin", w.shims.display(), host_bin.display()),
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        std::fs::read_to_string(&report).unwrap(),
        "open\nopen\nopen\n"
    );
}
