//! Everyday use: a shell and any command in the VM, status at a glance, the CLI's help,
//! safer suggestions, and doctor's advice.

use std::ffi::OsStr;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::process::Stdio;

use crate::world::*;

#[test]
fn shimctl_shell_opens_the_login_shell_in_the_guest_directory() {
    let w = World::new();
    let mut child = w
        .shimctl()
        .arg("shell")
        .env("ANTHROPIC_API_KEY", "sk-secret")
        .env("LANG", "C.UTF-8")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"pwd; echo \"home=$HOME lang=$LANG key=${ANTHROPIC_API_KEY:-unset}\"; exit 3\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.starts_with(&format!("{}\n", w.project.display())),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "home={} lang=C.UTF-8 key=unset",
            w.guest_home.display()
        )),
        "only the global allow list: {text}"
    );
    let call = w.last_shell_call();
    assert_eq!(
        call.last().unwrap(),
        "sandbox",
        "no command: a login shell: {call:?}"
    );

    // From a directory that is not shared, the shell and `shimctl run` (doctor's fixes are
    // `shimctl run git config --global ...`) start in the VM user's home, with a note.
    let elsewhere = w.root.join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let note = "is not shared with VM `sandbox`, so this runs in the VM user's home";
    let mut child = w
        .shimctl()
        .arg("shell")
        .current_dir(&elsewhere)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"pwd\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), format!("{}\n", w.guest_home.display()));
    assert!(stderr(&out).contains(note), "{}", stderr(&out));
    let out = w
        .shimctl()
        .args(["run", "pwd"])
        .current_dir(&elsewhere)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), format!("{}\n", w.guest_home.display()));
    assert!(stderr(&out).contains(note), "{}", stderr(&out));
}

#[test]
fn shimctl_run_runs_any_command_byte_for_byte_without_full_auto() {
    let w = World::new();
    let hard: Vec<&[u8]> = vec![b"-p", b"it's $HOME `id`", b"", b"\xff\n", b"a b=c"];
    w.set_exit_status(9);
    let out = w
        .shimctl()
        .args(["run", "claude"])
        .args(hard.iter().map(|a| OsStr::from_bytes(a)))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(9), "{}", stderr(&out));
    let expected: Vec<Vec<u8>> = hard.iter().map(|a| a.to_vec()).collect();
    assert_eq!(
        w.record("claude").argv,
        expected,
        "no full-auto flag, nothing changed"
    );

    // `--` ends shimctl's options; a first word with `=` is a program name, not an assignment.
    let mark = w.root.join("pwned");
    let out = w
        .shimctl()
        .args(["run", "--"])
        .arg(format!("$(touch {})=1", mark.display()))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(127), "{}", stderr(&out));
    assert!(!mark.exists(), "a word was run as shell code");
}

#[test]
fn status_shows_vm_shares_here_and_shims_in_text_and_json() {
    let w = World::new();
    let out = w.shimctl().arg("status").output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let projects = w.root.join("home/Projects");
    assert!(text.contains("VM:      sandbox (Running)"), "{text}");
    assert!(text.contains("Lima:    2.2.0"), "{text}");
    assert!(
        text.contains(&format!("{0} -> {0} (writable)", projects.display())),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "{} is shared through {}",
            w.project.display(),
            projects.display()
        )),
        "{text}"
    );
    assert!(text.contains("claude: first on PATH"), "{text}");

    let out = w.shimctl().args(["status", "--json"]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["vm"]["status"], "Running");
    assert_eq!(v["shares"][0]["host"], projects.to_str().unwrap());
    assert_eq!(v["here"]["shared"], true);
    assert_eq!(v["here"]["guest"], w.project.to_str().unwrap());
    assert_eq!(v["shims"][0]["name"], "claude");
    assert_eq!(v["shims"][0]["first_on_path"], true);
    // Nothing ran in the VM.
    assert!(w.limactl_calls().iter().all(|c| c[0] != "shell"));
}

#[test]
fn help_is_there_for_everyone() {
    let w = World::new();
    let out = w.shimctl().output().unwrap();
    assert!(out.status.success());
    let text = stdout(&out);
    for line in ["  share", "  status", "  run", "  shell", "  vm"] {
        let l = text
            .lines()
            .find(|l| l.starts_with(line))
            .unwrap_or_else(|| panic!("{text}"));
        assert!(
            l.split_whitespace().count() > 2,
            "a description on the same line: {l}"
        );
    }
    let out = w.shimctl().arg("--help").output().unwrap();
    for word in [
        "SHIMCTL_BYPASS",
        "SHIMCTL_VM",
        "SHIMCTL_CONFIG",
        "LIMACTL",
        "LIMA_HOME",
        "--version",
    ] {
        assert!(stdout(&out).contains(word), "{word}: {}", stdout(&out));
    }
    for sub in ["share", "status", "vm", "install", "doctor", "run"] {
        let out = w.shimctl().args([sub, "-h"]).output().unwrap();
        assert!(out.status.success(), "{sub} -h: {}", stderr(&out));
        assert!(stdout(&out).starts_with("Usage: shimctl"), "{sub}");
    }
    let out = w.shimctl().args(["vm", "create", "-h"]).output().unwrap();
    assert!(stdout(&out).contains("--template"));
    let out = w
        .shimctl()
        .args(["explain", "--", "claude", "x"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("full-auto: added"));
}

#[test]
fn the_home_directory_is_never_suggested_for_sharing() {
    let w = World::new();
    let keys = w.root.join("keys");
    std::fs::create_dir_all(keys.join(".aws")).unwrap();
    for dir in [w.home.clone(), keys] {
        let out = w
            .shim("claude")
            .current_dir(&dir)
            .arg("x")
            .output()
            .unwrap();
        let err = stderr(&out);
        assert_failed(
            &w,
            &out,
            CANNOT_RUN,
            &["is not shared", "project directory"],
        );
        assert!(!err.contains("share it: shimctl share ."), "{err}");
    }
}

#[test]
fn bypass_and_the_variable_treat_a_calling_wrapper_alike() {
    let w = World::new();
    let wrappers = w.root.join("wrappers");
    std::fs::create_dir_all(&wrappers).unwrap();
    w.write_exec(
        &wrappers.join("claude"),
        "#!/bin/sh\nexec claude --more \"$@\"\n",
    );
    let path = format!(
        "{}:{}:{}:/usr/bin:/bin",
        w.shims.display(),
        wrappers.display(),
        w.lima_bin.display()
    );
    let by_command = w
        .shimctl()
        .args(["bypass", "claude", "x"])
        .env("PATH", &path)
        .output()
        .unwrap();
    let by_variable = w
        .shim("claude")
        .arg("x")
        .env("PATH", &path)
        .env("SHIMCTL_BYPASS", "1")
        .output()
        .unwrap();
    assert_eq!(by_command.status.code(), by_variable.status.code());
    assert_eq!(
        by_command.status.code(),
        Some(CANNOT_RUN),
        "{}",
        stderr(&by_command)
    );
    assert!(
        stderr(&by_command).contains("loop"),
        "{}",
        stderr(&by_command)
    );
    assert!(!w.any_ran(), "the wrapper's call never went to the VM");
}

#[test]
fn doctor_says_a_missing_limactl_fix_once_and_excuses_agents_without_shims() {
    let w = World::new();
    std::fs::write(
        w.guest_home.join(".gitconfig"),
        "[user]\n\tname = Ada\n\temail = ada@example.com\n",
    )
    .unwrap();
    let out = w
        .shimctl()
        .arg("doctor")
        .env("PATH", format!("{}:/usr/bin:/bin", w.shims.display()))
        .output()
        .unwrap();
    assert_eq!(
        stdout(&out).matches("brew install lima").count(),
        1,
        "{}",
        stdout(&out)
    );

    // No shims, and an agent missing in the VM: reported, not failed.
    std::fs::remove_file(w.guest_bin.join("opencode")).unwrap();
    std::fs::remove_dir_all(&w.shims).unwrap();
    let out = w.shimctl().arg("doctor").output().unwrap();
    let text = stdout(&out);
    let line = text
        .lines()
        .find(|l| l.contains("opencode is not installed"))
        .unwrap();
    assert!(line.starts_with('!'), "{text}");
}

#[test]
fn a_path_changed_after_the_rc_ran_is_named_as_such() {
    let w = World::new();
    std::fs::write(w.home.join(".bashrc"), "eval \"$(shimctl init bash)\"\n").unwrap();
    let host_bin = w.host_program("claude", "#!/bin/sh\n");
    let path = format!(
        "{}:{}:{}:/usr/bin:/bin",
        host_bin.display(),
        w.shims.display(),
        w.lima_bin.display()
    );
    for sub in ["doctor", "list"] {
        let out = w
            .shimctl()
            .arg(sub)
            .env("PATH", &path)
            .env("SHELL", "/bin/bash")
            .output()
            .unwrap();
        let text = stdout(&out);
        assert!(
            text.contains("this shell's PATH was changed after it ran"),
            "{sub}: {text}"
        );
        assert!(!text.contains("add `eval"), "{sub}: {text}");
    }
}

/// An agent that is not installed in the VM: the sandbox says so, naming the VM and the
/// command that installs it there, with the shell's status for a missing program (127).
#[test]
fn an_agent_missing_in_the_vm_is_named_with_its_install_command() {
    let w = World::new();
    std::fs::remove_file(w.guest_bin.join("opencode")).unwrap();
    let out = w.shim("opencode").arg("run").output().unwrap();
    assert_eq!(out.status.code(), Some(127), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(
            "shimctl: opencode is not installed in VM `sandbox` (not on the agent's PATH there); install it: limactl shell sandbox npm install --global opencode-ai"
        ),
        "{}",
        stderr(&out)
    );
}

/// A mistyped command line: one `shimctl:` line naming what is wrong, the nearest command or
/// flag, and the help to read; exit 2, and nothing runs.
#[test]
fn a_mistyped_command_line_says_what_was_meant() {
    let w = World::new();
    for (args, says) in [
        (
            &["stauts"][..],
            "unknown command `stauts`; did you mean `shimctl status`? (see: shimctl --help)",
        ),
        (
            &["vm", "strat"],
            "unknown command `strat`; did you mean `shimctl vm start`? (see: shimctl vm --help)",
        ),
        (
            &["install", "--frce"],
            "unknown option `--frce`; did you mean `shimctl install --force`? (see: shimctl install --help)",
        ),
        (
            &["share"],
            "missing argument: dir (see: shimctl share --help)",
        ),
        (
            &["frobnicate"],
            "unknown command `frobnicate` (see: shimctl --help)",
        ),
    ] {
        let out = w.shimctl().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert_eq!(stderr(&out), format!("shimctl: {says}\n"), "{args:?}");
        assert!(stdout(&out).is_empty());
    }
    assert!(w.limactl_calls().is_empty(), "{:?}", w.limactl_calls());
}

/// Editors that take a wrapper program (VS Code's `claudeCode.claudeProcessWrapper`,
/// Claude Code's `CLAUDE_CODE_PROCESS_WRAPPER`) call it with the host program first: the
/// agent that program is runs in the VM with the rest, as the shim runs it; the bundled
/// host program never runs. `shimctl wrap` and a link named `shimctl-wrap` are the same.
#[test]
fn a_wrapper_runs_the_wrapped_agent_in_the_vm() {
    let w = World::new();
    let bundled = w
        .root
        .join("editor/extensions/anthropic.claude-code-9.9.9/resources/claude-code/cli.js");
    std::fs::create_dir_all(bundled.parent().unwrap()).unwrap();
    w.write_exec(&bundled, "#!/bin/sh\necho HOST-RAN >&2\nexit 99\n");
    w.link_shim("shimctl-wrap");
    let args = ["--output-format", "stream-json", "-p", "hi there"];
    let via_subcommand = w
        .shimctl()
        .arg("wrap")
        .arg(&bundled)
        .args(args)
        .output()
        .unwrap();
    let via_link = w
        .shim("shimctl-wrap")
        .arg(&bundled)
        .args(args)
        .output()
        .unwrap();
    for out in [via_subcommand, via_link] {
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(!stderr(&out).contains("HOST-RAN"));
        let rec = w.record("claude");
        assert_eq!(
            rec.argv,
            words(&[
                "--dangerously-skip-permissions",
                "--output-format",
                "stream-json",
                "-p",
                "hi there"
            ])
        );
    }
    // A program that is no agent: refused, with the way out; nothing runs.
    let out = w
        .shimctl()
        .args(["wrap", "/usr/bin/node", "x.js"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(CANNOT_RUN), "{}", stderr(&out));
    assert!(
        stderr(&out).starts_with("shimctl: shimctl wrap: /usr/bin/node is none of the agents"),
        "{}",
        stderr(&out)
    );
}

/// Stopping the VM under running sessions ends them: `vm stop`, `share` and `unshare`
/// (which restart it), and `vm delete`, name the sessions (by the program they run) and, without a terminal to ask on, change
/// nothing unless `--yes`.
#[test]
fn the_vm_is_not_stopped_under_running_sessions_without_a_yes() {
    let w = World::builder()
        .config("[agents.sleeper]\ncommand = \"sleep\"\nfull_auto = false\n")
        .build();
    w.link_shim("sleeper");
    let mut session = w
        .shim("sleeper")
        .arg("300")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while launcher_of(&w.root).is_none() {
        assert!(
            started.elapsed().as_secs() < 30,
            "the session never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let other = w.root.join("other");
    std::fs::create_dir_all(&other).unwrap();
    let cases: [&[&str]; 3] = [
        &["vm", "stop"],
        &["share", other.to_str().unwrap()],
        &["unshare", w.project.parent().unwrap().to_str().unwrap()],
    ];
    for args in cases {
        let out = w.shimctl().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("1 session of VM `sandbox` runs on this machine (sleep)")
                && stderr(&out).contains("or pass --yes"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    assert!(
        !w.limactl_calls()
            .iter()
            .any(|c| c[0] == "stop" || c[0] == "edit"),
        "{:?}",
        w.limactl_calls()
    );
    let out = w.shimctl().args(["vm", "stop", "--yes"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("stopping it ends it"),
        "{}",
        stderr(&out)
    );
    assert!(w.limactl_calls().iter().any(|c| c[0] == "stop"));
    let _ = session.kill();
    let _ = session.wait();
}

/// From a directory that is not shared, what needs no project (help, version, the
/// subcommands that take no permission mode: `claude mcp`, `codex login`) runs in the VM
/// user's home, with a note; agent work there is still refused.
#[test]
fn what_needs_no_project_runs_from_a_directory_that_is_not_shared() {
    let w = World::new();
    let elsewhere = w.root.join("not-shared");
    std::fs::create_dir_all(&elsewhere).unwrap();
    for args in [&["--version"][..], &["mcp", "list"]] {
        let out = w
            .shim("claude")
            .args(args)
            .current_dir(&elsewhere)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out)
                .contains("is not shared with VM `sandbox`, so this runs in the VM user's home"),
            "{}",
            stderr(&out)
        );
        let rec = w.record("claude");
        assert_eq!(rec.argv, words(args), "no full-auto flag for {args:?}");
        assert_eq!(rec.cwd, w.guest_home, "{args:?}");
    }
    let out = w
        .shim("claude")
        .args(["-p", "fix it"])
        .current_dir(&elsewhere)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(CANNOT_RUN), "{}", stderr(&out));
    assert!(stderr(&out).contains("not shared"), "{}", stderr(&out));
}
