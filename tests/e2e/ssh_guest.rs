//! What ssh itself does between the shim and the agent, over the real OpenSSH test guest:
//! terminals and where output lands, exit statuses, signals, an unreachable guest, the
//! environment; and the stand-in's fidelity to Lima where the two could differ.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::terminal::terminal_is_raw;
use crate::world::*;

/// How an agent was started, as it saw it, and where its two lines of output landed.
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    ttys: (bool, bool, bool),
    /// Where "fake claude ran" (its stderr line) ended up: "terminal", "err-file", "out-file".
    stderr_went: &'static str,
}

/// Runs `line` (a shell command naming `$AGENT`) in bash, inside a terminal made by
/// `script` when `terminal`, with `agent` as `$AGENT`, and reports what the agent saw.
fn observe(w: &World, agent: &Path, home: &Path, line: &str, terminal: bool) -> Seen {
    // Inside the shared project: the shim runs there.
    let files = w.project.join("io");
    let _ = std::fs::remove_dir_all(&files);
    std::fs::create_dir_all(&files).unwrap();
    let script = format!("cd {} && {line}", files.display());
    let mut cmd = if terminal {
        let mut c = Command::new("script");
        c.args(["-qec", &format!("bash -c '{script}'"), "/dev/null"]);
        c
    } else {
        let mut c = Command::new("bash");
        c.args(["-c", &script]);
        c
    };
    w.base_env(&mut cmd);
    let out = cmd
        .env("AGENT", agent)
        .env("HOME", home)
        .env("TERM", "xterm")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let record_home = if home == w.home {
        w.agent_home()
    } else {
        home.to_path_buf()
    };
    let d = record_home.join("records/claude");
    let yes = |f: &str| {
        std::fs::read(d.join(f))
            .unwrap_or_default()
            .starts_with(b"yes")
    };
    let ttys = (yes("stdin-tty"), yes("stdout-tty"), yes("stderr-tty"));
    let read = |f: &str| std::fs::read_to_string(files.join(f)).unwrap_or_default();
    let needle = "fake claude ran";
    let stderr_went = if read("err").contains(needle) {
        "err-file"
    } else if read("out").contains(needle) {
        "out-file"
    } else if String::from_utf8_lossy(&out.stdout).contains(needle)
        || String::from_utf8_lossy(&out.stderr).contains(needle)
    {
        "terminal"
    } else {
        "nowhere"
    };
    let _ = std::fs::remove_dir_all(record_home.join("records"));
    Seen { ttys, stderr_went }
}

#[test]
fn terminals_and_pipes_as_ssh_makes_them() {
    let w = World::new();
    let local_home = w.root.join("local-home");
    std::fs::create_dir_all(&local_home).unwrap();
    let local = w.guest_bin.join("claude");
    let shim = w.shims.join("claude");
    let case = |line: &str, terminal: bool| {
        (
            observe(&w, &local, &local_home, line, terminal),
            observe(&w, &shim, &w.home, line, terminal),
        )
    };
    let seen = |ttys, stderr_went| Seen { ttys, stderr_went };

    // No terminal anywhere: the same as locally.
    let (here, vm) = case("echo in | \"$AGENT\" x >out 2>err", false);
    assert_eq!(here, seen((false, false, false), "err-file"));
    assert_eq!(vm, here);

    // A terminal on all three: the same as locally.
    let (here, vm) = case("\"$AGENT\" x", true);
    assert_eq!(here, seen((true, true, true), "terminal"));
    assert_eq!(vm, here);

    // In a terminal, stderr to a file: ssh -t gives the agent one pty for all three, so
    // its stderr arrives merged into stdout on the terminal, not in the file.
    let (here, vm) = case("\"$AGENT\" x 2>err", true);
    assert_eq!(here, seen((true, true, false), "err-file"));
    assert_eq!(vm, seen((true, true, true), "terminal"));

    // In a terminal, stdout piped: no -t (stdout is no terminal), so no pty at all: stdin
    // is not a terminal in the VM either; stderr still reaches the terminal.
    let (here, vm) = case("\"$AGENT\" x | cat >out", true);
    assert_eq!(here, seen((true, false, true), "terminal"));
    assert_eq!(vm, seen((false, false, false), "terminal"));

    // In a terminal, stdin piped: -t is asked for, but OpenSSH allocates no pty when its
    // stdin is not a terminal; output still reaches the terminal.
    let (here, vm) = case("echo in | \"$AGENT\" x", true);
    assert_eq!(here, seen((false, true, true), "terminal"));
    assert_eq!(vm, seen((false, false, false), "terminal"));
}

#[test]
fn every_exit_status_comes_back() {
    let w = World::new();
    for code in 0..=255 {
        w.set_exit_status(code);
        let out = w.shim("claude").arg("x").output().unwrap();
        assert_eq!(out.status.code(), Some(code), "{}", stderr(&out));
    }
}

#[test]
fn an_agent_killed_by_a_signal_is_255_as_lima_reports_it() {
    let w = World::new();
    let out = w
        .shimctl()
        .args(["run", "sh", "-c", "kill -KILL $$"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(255), "{}", stderr(&out));
}

/// Ctrl-C reaches the agent through the pty (ssh puts the local terminal in raw mode), the
/// agent dies of SIGINT, and Lima reports a remote death by signal as 255, not 130.
#[test]
fn ctrl_c_in_an_interactive_session_ends_the_agent() {
    let w = World::new();
    let out = ctrl_c_in_a_terminal(
        &w,
        &format!("{} run sleep 60", Path::new(SHIMCTL).display()),
        "sleep\u{0}60\u{0}",
    );
    assert_eq!(out.status.code(), Some(255), "{}", stderr(&out));
}

/// Runs `command_line` in a terminal (`script`), and types Ctrl-C once a process whose argv
/// starts with `marker` (NUL-separated, as /proc shows it) runs and ssh holds the terminal
/// in raw mode, so the byte goes to the remote pty (before that, it would stop the local
/// side instead). Returns how it ended, within 30 s.
pub fn ctrl_c_in_a_terminal(w: &World, command_line: &str, marker: &str) -> std::process::Output {
    let mut cmd = Command::new("script");
    w.base_env(&mut cmd);
    let mut child = cmd
        .args(["-qec", command_line, "/dev/null"])
        .env("TERM", "xterm")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !sleeping(marker) {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the agent never started"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // A mux client enters raw mode only when its session is confirmed, which may come
    // after the remote command started.
    while !terminal_is_raw(child.id()) {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "ssh never put the terminal in raw mode"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.stdin.as_mut().unwrap().write_all(b"\x03").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "Ctrl-C did not end it"
    );
    out
}

/// Whether some process's argv starts with `prefix` (NUL-separated, as in /proc).
fn sleeping(prefix: &str) -> bool {
    std::fs::read_dir("/proc").is_ok_and(|entries| {
        entries.flatten().any(|e| {
            std::fs::read(e.path().join("cmdline")).is_ok_and(|c| c.starts_with(prefix.as_bytes()))
        })
    })
}

#[test]
fn an_unreachable_guest_is_255() {
    let mut w = World::new();
    w.sshd.stop();
    let out = w.shim("claude").arg("x").output().unwrap();
    assert_eq!(out.status.code(), Some(255), "{}", stderr(&out));
    assert!(stderr(&out).contains("ssh"), "{}", stderr(&out));
    assert!(!w.any_ran());
}

#[test]
fn only_the_allow_list_crosses_ssh() {
    let w = World::new();
    let mut cmd = w.shim("claude");
    for i in 0..20 {
        cmd.env(format!("HOSTONLY_{i}"), "secret");
    }
    let out = cmd
        .arg("x")
        .env("LANG", "C.UTF-8")
        .env("ANTHROPIC_API_KEY", "sk-test")
        .env("SSH_AUTH_SOCK", "/host/agent")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let env = w.record("claude").env;
    assert_eq!(env.get("LANG").map(String::as_str), Some("C.UTF-8"));
    assert_eq!(
        env.get("ANTHROPIC_API_KEY").map(String::as_str),
        Some("sk-test")
    );
    assert!(env.keys().all(|k| !k.starts_with("HOSTONLY_")), "{env:?}");
    assert!(!env.contains_key("SSH_AUTH_SOCK"), "{env:?}");
    assert!(
        env.contains_key("SSH_CONNECTION"),
        "set by the guest's sshd: {env:?}"
    );
    assert_eq!(env["USER"], w.sshd.user);
}

/// The stand-in itself, where a difference from Lima would go unnoticed otherwise.
fn limactl(w: &World) -> Command {
    let mut cmd = Command::new(w.lima_bin.join("limactl"));
    w.base_env(&mut cmd);
    cmd
}

#[test]
fn the_stand_in_reads_flags_and_env_lists_as_lima_does() {
    let w = World::new();
    let out = |cmd: &mut Command| {
        let o = cmd.output().unwrap();
        (o.status.code(), stdout(&o), stderr(&o))
    };
    // COLORTERM goes by SendEnv even without --preserve-env.
    let (code, text, err) = out(limactl(&w)
        .args([
            "shell",
            "--workdir",
            "/",
            "sandbox",
            "printenv",
            "COLORTERM",
        ])
        .env("COLORTERM", "truecolor"));
    assert_eq!((code, text.trim()), (Some(0), "truecolor"), "{err}");
    // An empty LIMA_SHELLENV_BLOCK is Lima's default list: HOME stays the guest's.
    let (code, text, err) = out(limactl(&w)
        .args([
            "shell",
            "--workdir",
            "/",
            "--preserve-env",
            "sandbox",
            "sh",
            "-c",
        ])
        .arg("echo \"$FOO $HOME\"")
        .env("LIMA_SHELLENV_BLOCK", "")
        .env("FOO", "passed"));
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(text.trim(), format!("passed {}", w.guest_home.display()));
    // One `+` is trimmed; a second is an invalid pattern.
    let (code, _, _) = out(limactl(&w)
        .args([
            "shell",
            "--workdir",
            "/",
            "--preserve-env",
            "sandbox",
            "true",
        ])
        .env("LIMA_SHELLENV_BLOCK", "++FOO"));
    assert_eq!(code, Some(1));
    // `--instance NAME -- CMD` and `-- NAME CMD`.
    for args in [
        &[
            "shell",
            "--workdir",
            "/",
            "--instance",
            "sandbox",
            "--",
            "echo",
            "hi",
        ][..],
        &["shell", "--workdir", "/", "--", "sandbox", "echo", "hi"],
    ] {
        let (code, text, err) = out(limactl(&w).args(args));
        assert_eq!((code, text.trim()), (Some(0), "hi"), "{args:?}: {err}");
    }
}
