//! Typing an agent's name runs it in the VM: arguments, directory, stdin, terminal and exit
//! code as if it ran locally.

use std::ffi::OsStr;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::process::Stdio;

use crate::world::*;
use proptest::prelude::*;

#[test]
fn claude_runs_in_the_vm_with_full_auto_and_prints_nothing() {
    let w = World::new();
    let out = w
        .shim("claude")
        .args(["-p", "fix the bug in foo's parser"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let r = w.record("claude");
    assert_eq!(
        r.argv,
        words(&[
            "--dangerously-skip-permissions",
            "-p",
            "fix the bug in foo's parser"
        ])
    );
    assert_eq!(r.cwd, w.project);
    assert_eq!(
        stderr(&out),
        "fake claude ran\n",
        "nothing of shimctl's on the way in"
    );
}

fn hard_corpus() -> Vec<Vec<u8>> {
    let mut corpus: Vec<Vec<u8>> = [
        &b"it's"[..],
        b"say \"hi\"",
        b"$(touch /tmp/shimctl-pwned)",
        b"`id`",
        b"$HOME and ${PATH}",
        b"*",
        b"*.rs",
        b"line1\nline2",
        b"\ttab",
        b"",
        b"-n",
        b"--",
        b"X=y",
        b"A=$(id)",
        b"a b=c",
        b"\xff\xfe not utf-8 \x80",
        b"; rm -rf / ; echo",
        b"| cat && true || false",
        b"\\backslash\\",
        b"~",
        b"~/x",
        b"# not a comment",
        b"!history",
        "日本語 ✓".as_bytes(),
        b"'\"'\"'",
        b" ",
    ]
    .iter()
    .map(|a| a.to_vec())
    .collect();
    corpus.push(vec![b'x'; 40_000]);
    corpus
}

#[test]
fn hard_arguments_arrive_byte_for_byte_for_every_shim() {
    let w = World::new();
    let corpus = hard_corpus();
    let args: Vec<&OsStr> = corpus.iter().map(|a| OsStr::from_bytes(a)).collect();
    for (agent, added) in [
        ("claude", vec![b"--dangerously-skip-permissions".to_vec()]),
        (
            "codex",
            vec![b"--dangerously-bypass-approvals-and-sandbox".to_vec()],
        ),
        ("opencode", vec![b"--auto".to_vec()]),
    ] {
        let out = w.shim(agent).args(&args).output().unwrap();
        assert!(out.status.success(), "{agent}: {}", stderr(&out));
        let mut expected = added;
        expected.extend(corpus.iter().cloned());
        assert_eq!(w.record(agent).argv, expected, "{agent}");
    }
    assert!(!std::path::Path::new("/tmp/shimctl-pwned").exists());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
    #[test]
    fn any_argument_list_arrives_intact(args in proptest::collection::vec(
        proptest::collection::vec(1u8..=255, 0..24), 0..6)) {
        let w = World::new();
        let agent = w.plain_agent();
        let os_args: Vec<&OsStr> = args.iter().map(|a| OsStr::from_bytes(a)).collect();
        let out = w.shim(agent).args(&os_args).output().unwrap();
        prop_assert!(out.status.success(), "{}", stderr(&out));
        prop_assert_eq!(w.record(agent).argv, args);
    }
}

#[test]
fn exit_codes_come_back() {
    let w = World::new();
    for code in [0, 1, 3, 42, 255] {
        w.set_exit_status(code);
        let out = w.shim("claude").arg("-p").arg("x").output().unwrap();
        assert_eq!(out.status.code(), Some(code), "{}", stderr(&out));
    }
}

#[test]
fn stdin_is_delivered() {
    let w = World::new();
    let mut child = w
        .shim("claude")
        .arg("-p")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"hi\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let r = w.record("claude");
    assert_eq!(r.stdin, b"hi\n");
    assert!(!r.stdin_tty && !r.stdout_tty);
}

#[test]
fn a_terminal_stays_a_terminal() {
    let w = World::new();
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        panic!("`script` (util-linux) is needed for the terminal test; .ci/run installs it");
    }
    let shim = w.shims.join("claude");
    let mut cmd = std::process::Command::new("script");
    w.base_env(&mut cmd);
    let out = cmd
        .args(["-qec", &format!("{} hello", shim.display()), "/dev/null"])
        .env("TERM", "xterm-256color")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let r = w.record("claude");
    assert!(r.stdin_tty && r.stdout_tty, "both ends were a terminal");
    // TERM is never forwarded by shimctl (Lima's block list): ssh's pty request carries it.
    assert_eq!(
        r.env.get("TERM").map(String::as_str),
        Some("xterm-256color")
    );
}

#[test]
fn custom_mount_point_maps_directory_and_path_arguments() {
    let w = World::new();
    let guest_work = w.root.join("guest-view/work");
    std::fs::create_dir_all(guest_work.join("sub")).unwrap();
    std::fs::create_dir_all(w.project.join("sub")).unwrap();
    w.make_vm("sandbox", &[(&w.project, Some(&guest_work), true)]);
    let file = w.project.join("sub/a.rs");
    let out = w
        .shim("claude")
        .current_dir(w.project.join("sub"))
        .arg("--add-dir")
        .arg(&file)
        .arg(format!("--settings={}", file.display()))
        .arg("relative/a.rs")
        .arg(format!("see {}", file.display()))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let r = w.record("claude");
    assert_eq!(r.cwd, guest_work.join("sub"));
    let guest_file = guest_work.join("sub/a.rs");
    assert_eq!(
        r.argv,
        vec![
            b"--dangerously-skip-permissions".to_vec(),
            b"--add-dir".to_vec(),
            guest_file.as_os_str().as_bytes().to_vec(),
            format!("--settings={}", guest_file.display()).into_bytes(),
            b"relative/a.rs".to_vec(),
            format!("see {}", file.display()).into_bytes(),
        ]
    );
}

#[test]
fn symlinked_project_directory_is_found_through_the_link() {
    let w = World::new();
    // The VM shares the directory by a symlinked name; the shell's cwd is the physical path.
    let link = w.root.join("code-link");
    symlink(&w.root.join("home/Projects"), &link);
    w.make_vm("sandbox", &[(&link, None, true)]);
    let out = w.shim("claude").arg("x").output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(w.record("claude").cwd, link.join("app"));

    // And a project entered through a symlink maps by where it really is.
    w.make_vm("sandbox", &[(&w.root.join("home/Projects"), None, true)]);
    let out = w
        .shim("codex")
        .current_dir(link.join("app"))
        .arg("x")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(w.record("codex").cwd, w.project);
}

#[test]
fn unshared_directory_fails_closed_with_both_ways_out() {
    let w = World::new();
    let elsewhere = w.root.join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let out = w
        .shim("claude")
        .current_dir(&elsewhere)
        .arg("x")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(CANNOT_RUN));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "{} is not shared with VM `sandbox`",
            elsewhere.display()
        )),
        "{err}"
    );
    assert!(
        err.contains(&w.root.join("home/Projects").display().to_string()),
        "lists what is shared: {err}"
    );
    assert!(err.contains("shimctl bypass claude"), "{err}");
    assert!(err.lines().count() <= 2, "{err}");
    assert!(!w.ran("claude"));
}

#[test]
fn read_only_share_runs_with_a_note() {
    let w = World::new();
    w.make_vm("sandbox", &[(&w.root.join("home/Projects"), None, false)]);
    let out = w.shim("claude").arg("x").output().unwrap();
    assert!(out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("read-only") && err.contains("cannot write"),
        "{err}"
    );
    assert!(w.ran("claude"));
}

#[test]
fn only_allow_listed_variables_reach_the_agent() {
    let w = World::new();
    let run = |w: &World, agent: &str| {
        let out = w
            .shim(agent)
            .arg("x")
            .env("AWS_SECRET_ACCESS_KEY", "s3cret-aws")
            .env("ANTHROPIC_API_KEY", "sk-ant-1")
            .env("OPENAI_API_KEY", "sk-oai-1")
            .env("GITHUB_TOKEN", "ghp-1")
            .env("LANG", "C.UTF-8")
            .env("LC_ALL", "C.UTF-8")
            .env("SHIMCTL_BYPASS_HOPS", "1:/x")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(!stderr(&out).contains("sk-ant-1"));
        w.record(agent).env
    };
    let env = run(&w, "claude");
    assert_eq!(
        env.get("ANTHROPIC_API_KEY").map(String::as_str),
        Some("sk-ant-1")
    );
    assert_eq!(env.get("LANG").map(String::as_str), Some("C.UTF-8"));
    assert_eq!(env.get("LC_ALL").map(String::as_str), Some("C.UTF-8"));
    for absent in [
        "AWS_SECRET_ACCESS_KEY",
        "OPENAI_API_KEY",
        "GITHUB_TOKEN",
        "SHIMCTL_BYPASS_HOPS",
        "LIMA_SHELLENV_ALLOW",
    ] {
        assert!(!env.contains_key(absent), "{absent} reached the VM");
    }
    assert_eq!(
        env.get("HOME").map(String::as_str),
        w.guest_home.to_str(),
        "guest HOME, not the host's"
    );

    let env = run(&w, "codex");
    assert!(env.contains_key("OPENAI_API_KEY") && !env.contains_key("ANTHROPIC_API_KEY"));

    w.write_config("env = [\"GITHUB_TOKEN\"]\n");
    let env = run(&w, "claude");
    assert_eq!(env.get("GITHUB_TOKEN").map(String::as_str), Some("ghp-1"));
    assert!(!env.contains_key("AWS_SECRET_ACCESS_KEY"));
}

#[test]
fn nothing_to_forward_means_no_preserve_env() {
    let w = World::new();
    let out = w.shim("claude").arg("x").output().unwrap();
    assert!(out.status.success());
    let shell = w.last_shell_call();
    assert!(!shell.contains(&"--preserve-env".to_string()), "{shell:?}");
    let out = w.shim("claude").arg("x").env("LANG", "C").output().unwrap();
    assert!(out.status.success());
    let shell = w.last_shell_call();
    assert!(shell.contains(&"--preserve-env".to_string()), "{shell:?}");
}

#[test]
fn full_auto_follows_each_profile() {
    let w = World::new();
    symlink(std::path::Path::new(SHIMCTL), &w.shims.join("gemini"));
    let argv = |agent: &str, args: &[&str]| {
        let out = w.shim(agent).args(args).output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        w.record(agent)
    };
    assert_eq!(
        argv("claude", &["mcp", "list"]).argv,
        words(&["mcp", "list"])
    );
    assert_eq!(
        argv("claude", &["--permission-mode", "plan", "x"]).argv,
        words(&["--permission-mode", "plan", "x"])
    );
    assert_eq!(argv("claude", &["--version"]).argv, words(&["--version"]));
    assert_eq!(
        argv("codex", &["exec", "do it"]).argv,
        words(&[
            "exec",
            "--dangerously-bypass-approvals-and-sandbox",
            "do it"
        ])
    );
    assert_eq!(argv("codex", &["login"]).argv, words(&["login"]));
    assert_eq!(
        argv("opencode", &["run", "x"]).argv,
        words(&["run", "--auto", "x"])
    );
    assert_eq!(
        argv("opencode", &["auth", "login"]).argv,
        words(&["auth", "login"])
    );
    let r = argv("gemini", &["-p", "x"]);
    assert_eq!(
        r.env.get("GEMINI_CLI_TRUST_WORKSPACE").map(String::as_str),
        Some("true"),
        "full-auto variables reach the agent"
    );
    let r = argv("gemini", &["mcp", "list"]);
    assert!(!r.env.contains_key("GEMINI_CLI_TRUST_WORKSPACE"));

    w.write_config("[agents.claude]\nfull_auto = false\n");
    assert_eq!(argv("claude", &["-p", "x"]).argv, words(&["-p", "x"]));
    w.write_config("[agents.claude]\nfull_auto_args = [\"--permission-mode\", \"acceptEdits\"]\nargs = [\"--model\", \"opus\"]\n");
    assert_eq!(
        argv("claude", &["-p", "x"]).argv,
        words(&[
            "--permission-mode",
            "acceptEdits",
            "--model",
            "opus",
            "-p",
            "x"
        ])
    );
}

#[test]
fn an_agent_added_in_the_config_gets_a_shim() {
    let w = World::new();
    w.write_config("[agents.pi]\nfull_auto_args = [\"--yes\"]\nenv = [\"PI_*\"]\n");
    symlink(std::path::Path::new(SHIMCTL), &w.shims.join("pi"));
    let out = w
        .shim("pi")
        .args(["hello"])
        .env("PI_KEY", "k")
        .env("OTHER", "o")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let r = w.record("pi");
    assert_eq!(r.argv, words(&["--yes", "hello"]));
    assert_eq!(r.env.get("PI_KEY").map(String::as_str), Some("k"));
    assert!(!r.env.contains_key("OTHER"));
}

#[test]
fn config_errors_name_file_line_and_key() {
    let w = World::new();
    w.write_config("vm = \"sandbox\"\n\n[agents.claude]\nful_auto = false\n");
    let out = w.shim("claude").arg("x").output().unwrap();
    assert_eq!(out.status.code(), Some(CANNOT_RUN));
    let err = stderr(&out);
    assert!(
        err.contains("config.toml") && err.contains("line 4") && err.contains("ful_auto"),
        "{err}"
    );
    assert!(!w.ran("claude"));

    w.write_config("start = \"sometimes\"\n");
    let err = stderr(&w.shim("claude").output().unwrap());
    assert!(err.contains("line 1") && err.contains("`start`"), "{err}");

    let out = w
        .shim("claude")
        .env("SHIMCTL_CONFIG", w.root.join("missing.toml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(CANNOT_RUN));
    assert!(stderr(&out).contains("missing.toml"));
}

#[test]
fn unknown_name_lists_the_known_agents() {
    let w = World::new();
    let out = w
        .shim("claude")
        .env("SHIMCTL_ARG0", "clod")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(CANNOT_RUN));
    let err = stderr(&out);
    assert!(
        err.contains("`clod`") && err.contains("claude, codex, opencode"),
        "{err}"
    );
}

#[test]
fn vm_is_chosen_by_env_then_agent_then_config() {
    let w = World::new();
    w.make_vm("other", &[(&w.root.join("home/Projects"), None, true)]);
    w.make_vm("third", &[(&w.root.join("home/Projects"), None, true)]);
    let vm_of_last_run = |w: &World| {
        let shell = w.last_shell_call();
        // The VM is the word before the guest command (the agent, or the egress launcher).
        let pos = shell
            .iter()
            .position(|a| a == "claude" || a == "/bin/bash")
            .unwrap();
        shell[pos - 1].clone()
    };
    assert!(w.shim("claude").output().unwrap().status.success());
    assert_eq!(vm_of_last_run(&w), "sandbox");
    w.write_config("vm = \"other\"\n");
    assert!(w.shim("claude").output().unwrap().status.success());
    assert_eq!(vm_of_last_run(&w), "other");
    w.write_config("vm = \"other\"\n[agents.claude]\nvm = \"third\"\n");
    assert!(w.shim("claude").output().unwrap().status.success());
    assert_eq!(vm_of_last_run(&w), "third");
    assert!(
        w.shim("claude")
            .env("SHIMCTL_VM", "sandbox")
            .output()
            .unwrap()
            .status
            .success()
    );
    assert_eq!(vm_of_last_run(&w), "sandbox");
}

#[test]
fn lima_home_is_honoured() {
    let w = World::new();
    let other_home = w.root.join("lima-elsewhere");
    std::fs::rename(&w.lima_home, &other_home).unwrap();
    let out = w.shim("claude").output().unwrap();
    assert_eq!(out.status.code(), Some(CANNOT_RUN));
    let out = w
        .shim("claude")
        .env("LIMA_HOME", &other_home)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn stopped_vm_is_started_unless_configured_not_to() {
    let w = World::new();
    w.set_running("sandbox", false);
    w.write_config("start = false\n");
    // Every Lima version, 2.0.x included (which would exit 0 and run nothing), gets
    // shimctl's own failure, with the fix.
    for version in ["2.2.0", "2.0.3"] {
        let out = w
            .shim("claude")
            .arg("x")
            .env("FAKE_LIMA_VERSION", version)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(CANNOT_RUN), "Lima {version}");
        assert!(stderr(&out).contains("is stopped"), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("shimctl vm start"),
            "{}",
            stderr(&out)
        );
        assert!(!w.ran("claude"));
    }
    w.write_config("");
    let out = w.shim("claude").arg("x").output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(w.ran("claude"));
    // The wait is announced once, before Lima boots the VM ...
    assert_eq!(
        stderr(&out)
            .matches("is stopped; starting it first")
            .count(),
        1,
        "{}",
        stderr(&out)
    );
    // ... and a running VM starts the agent without a word.
    let out = w.shim("claude").arg("x").output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("starting it"), "{}", stderr(&out));
}
