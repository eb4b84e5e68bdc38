//! `shimctl explain` shows what would run, without running it, and never a secret's value.

use crate::world::*;

#[test]
fn explain_shows_command_dir_env_names_and_full_auto() {
    let w = World::new();
    w.no_egress();
    let out = w
        .shimctl()
        .args(["explain", "claude", "-p", "it's $HOME"])
        .env("ANTHROPIC_API_KEY", "sk-ant-secret-value")
        .env("LANG", "C.UTF-8")
        .env("AWS_SECRET_ACCESS_KEY", "aws-secret")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        !text.contains("sk-ant-secret-value") && !text.contains("aws-secret"),
        "{text}"
    );
    let command = field(&text, "command");
    assert!(
        command.ends_with(
            r#"sandbox '<shimctl sandbox>' claude --dangerously-skip-permissions -p 'it'\''s $HOME'"#
        ),
        "{command}"
    );
    assert!(
        command.contains("LIMA_SHELLENV_ALLOW=ANTHROPIC_API_KEY,LANG"),
        "{command}"
    );
    assert!(
        command.contains(&format!("--workdir {}", w.project.display())),
        "{command}"
    );
    assert_eq!(field(&text, "vm"), "sandbox");
    assert_eq!(
        field(&text, "directory"),
        format!("{0} -> {0}", w.project.display())
    );
    assert!(field(&text, "mount").ends_with("(writable)"));
    assert_eq!(field(&text, "env"), "ANTHROPIC_API_KEY LANG");
    assert!(field(&text, "full-auto").starts_with("added (--dangerously-skip-permissions"));
    assert!(!w.ran("claude"), "explain runs nothing");
}

#[test]
fn explain_says_why_full_auto_was_not_added() {
    let w = World::new();
    let out = w
        .shimctl()
        .args(["explain", "claude", "mcp", "list"])
        .output()
        .unwrap();
    assert!(field(&stdout(&out), "full-auto").contains("`mcp` is a subcommand"));
    let out = w
        .shimctl()
        .args(["explain", "codex", "--yolo", "x"])
        .output()
        .unwrap();
    assert!(field(&stdout(&out), "full-auto").contains("you gave `--yolo`"));
    let out = w
        .shimctl()
        .args(["explain", "claude", "--help"])
        .output()
        .unwrap();
    assert!(
        field(&stdout(&out), "full-auto").contains("you gave `--help`"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn the_explained_command_runs_as_shown_when_pasted() {
    let w = World::new();
    w.no_egress();
    let args = ["-p", "a'b \"c\" `d` $e", "line\nbreak", ""];
    let out = w
        .shimctl()
        .args(["explain", "--full", "claude"])
        .args(args)
        .env("LANG", "C")
        .output()
        .unwrap();
    let command = field(&stdout(&out), "command").to_string();
    let mut bash = std::process::Command::new("bash");
    w.base_env(&mut bash);
    let out = bash
        .arg("-c")
        .arg(&command)
        .env("LANG", "C")
        .output()
        .unwrap();
    assert!(out.status.success(), "{command}: {}", stderr(&out));
    let mut expected = words(&["--dangerously-skip-permissions"]);
    expected.extend(words(&args));
    assert_eq!(w.record("claude").argv, expected);
}

#[test]
fn explain_reports_the_same_failures_as_the_shim() {
    let w = World::new();
    let elsewhere = w.root.join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let out = w
        .shimctl()
        .args(["explain", "claude"])
        .current_dir(&elsewhere)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(CANNOT_RUN));
    assert!(stderr(&out).contains("is not shared"));
    // An unknown agent named on shimctl's command line is a usage error, as in `install`.
    let out = w.shimctl().args(["explain", "nope"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("not a known agent"));
}
