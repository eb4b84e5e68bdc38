//! The `shell/` snippets in real bash, zsh and fish (installed by .ci/run), and shellcheck
//! on the sh/bash scripts.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::world::*;

struct Setup {
    _w: World,
    home: PathBuf,
    shim_dir: PathBuf,
    real_bin: PathBuf,
}

/// A HOME with a space in it, a shim for claude, and a real claude elsewhere.
fn setup() -> Setup {
    let w = World::new();
    let home = w.root.join("my home");
    let shim_dir = home.join(".local/share/shimctl/shims");
    std::fs::create_dir_all(&shim_dir).unwrap();
    symlink(Path::new(SHIMCTL), &shim_dir.join("claude"));
    let real_bin = w.root.join("real bin");
    std::fs::create_dir_all(&real_bin).unwrap();
    w.write_exec(&real_bin.join("claude"), "#!/bin/sh\n");
    Setup {
        _w: w,
        home,
        shim_dir,
        real_bin,
    }
}

/// Runs `script` in `shell` and returns its stdout lines: `command -v claude`, PATH after
/// one source, PATH after a second.
fn run(shell: &str, s: &Setup, initial_path: &str) -> Vec<String> {
    let (args, script): (Vec<&str>, String) = match shell {
        "bash" => (
            vec!["--norc", "--noprofile", "-c"],
            format!(
                r#"eval "$('{SHIMCTL}' init bash)"; command -v claude; echo "$PATH"; eval "$('{SHIMCTL}' init bash)"; echo "$PATH""#
            ),
        ),
        "zsh" => (
            vec!["-f", "-c"],
            format!(
                r#"eval "$('{SHIMCTL}' init zsh)"; command -v claude; echo "$PATH"; eval "$('{SHIMCTL}' init zsh)"; echo "$PATH""#
            ),
        ),
        "fish" => (
            vec!["--no-config", "-c"],
            format!(
                r#"'{SHIMCTL}' init fish | source; command -v claude; string join : $PATH; '{SHIMCTL}' init fish | source; string join : $PATH"#
            ),
        ),
        // The POSIX snippet, sourced as ~/.profile and ~/.zshenv do, in each shell that
        // reads those files.
        "sh-in-dash" | "sh-in-bash" | "sh-in-zsh" => (
            vec!["-c"],
            format!(
                r#"f=$(mktemp) && '{SHIMCTL}' init sh >"$f" && . "$f"; command -v claude; echo "$PATH"; . "$f"; echo "$PATH"; rm -f "$f""#
            ),
        ),
        _ => unreachable!(),
    };
    let shell = shell.strip_prefix("sh-in-").unwrap_or(shell);
    let out = Command::new(shell)
        .args(args)
        .arg(script)
        .env_clear()
        .env("HOME", &s.home)
        .env("PATH", initial_path)
        .output()
        .unwrap_or_else(|e| panic!("{shell} is needed (.ci/run installs it): {e}"));
    assert!(out.status.success(), "{shell}: {}", stderr(&out));
    stdout(&out).lines().map(String::from).collect()
}

fn check(shell: &str) {
    let s = setup();
    let shims = s.shim_dir.display().to_string();
    let real = s.real_bin.display().to_string();
    for initial in [
        format!("{real}:/usr/bin:/bin:{shims}"),
        format!("{real}:/usr/bin:{shims}:/bin:{shims}"),
        format!("{real}:/usr/bin:/bin"),
        format!("{shims}:{real}:/usr/bin:/bin"),
    ] {
        let lines = run(shell, &s, &initial);
        assert_eq!(lines.len(), 3, "{shell}: {lines:?}");
        assert_eq!(
            lines[0],
            s.shim_dir.join("claude").display().to_string(),
            "{shell} from {initial}"
        );
        assert_eq!(
            lines[1],
            format!("{shims}:{real}:/usr/bin:/bin"),
            "{shell} from {initial}"
        );
        assert_eq!(
            lines[2], lines[1],
            "{shell}: sourcing twice changes nothing"
        );
    }
}

#[test]
fn bash_snippet_puts_the_shims_first() {
    check("bash");
}

#[test]
fn zsh_snippet_puts_the_shims_first() {
    check("zsh");
}

#[test]
fn fish_snippet_puts_the_shims_first() {
    check("fish");
}

#[test]
fn sh_snippet_puts_the_shims_first_in_dash_bash_and_zsh() {
    for shell in ["sh-in-dash", "sh-in-bash", "sh-in-zsh"] {
        check(shell);
    }
}

#[test]
fn shellcheck_passes() {
    let root = env!("CARGO_MANIFEST_DIR");
    let out = Command::new("shellcheck")
        .args(["-s", "sh"])
        .arg(Path::new(root).join("install/install.sh"))
        .output()
        .expect("shellcheck is needed (.ci/run installs it)");
    assert!(out.status.success(), "install.sh:\n{}", stdout(&out));
    // The bash snippet as the binary renders it, not the template.
    let w = World::new();
    let snippet = w.shimctl().args(["init", "bash"]).output().unwrap();
    assert!(snippet.status.success());
    let mut check = Command::new("shellcheck")
        .args(["-s", "bash", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    check
        .stdin
        .take()
        .unwrap()
        .write_all(&snippet.stdout)
        .unwrap();
    let out = check.wait_with_output().unwrap();
    assert!(out.status.success(), "init bash:\n{}", stdout(&out));
    let snippet = w.shimctl().args(["init", "sh"]).output().unwrap();
    assert!(snippet.status.success());
    let mut check = Command::new("shellcheck")
        .args(["-s", "sh", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    check
        .stdin
        .take()
        .unwrap()
        .write_all(&snippet.stdout)
        .unwrap();
    let out = check.wait_with_output().unwrap();
    assert!(out.status.success(), "init sh:\n{}", stdout(&out));
}

/// The sandbox's scripts, sent to the guest with every start: bash through shellcheck, the
/// waiter through perl's own syntax check; and the test helpers that play the guest.
#[test]
fn the_sandbox_scripts_lint_clean() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for script in [
        "shell/sandbox.bash",
        "shell/egress.bash",
        "tests/sandbox/attacker",
        "tests/egress/escape-agent",
        "tests/real-lima/prepare",
        "tests/real-lima/run",
    ] {
        let out = Command::new("shellcheck")
            .args(["-s", "bash"])
            .arg(root.join(script))
            .output()
            .expect("shellcheck is needed (.ci/run installs it)");
        assert!(out.status.success(), "{script}:\n{}", stdout(&out));
    }
    let out = Command::new("perl")
        .arg("-c")
        .arg(root.join("shell/waiter.pl"))
        .output()
        .unwrap();
    assert!(out.status.success(), "waiter.pl: {}", stderr(&out));
}

/// A world whose project holds a directory `apps-dir` and a file `apple.txt`, and whose
/// config adds the agent `pi`.
fn completion_world() -> World {
    let w = World::builder()
        .config("[agents.pi]\ncommand = \"pi\"\n")
        .build();
    std::fs::create_dir_all(w.project.join("apps-dir")).unwrap();
    std::fs::write(w.project.join("apple.txt"), "").unwrap();
    w
}

/// The cases every shell must complete: (command line typed so far, expected candidates).
const CASES: &[(&str, &[&str])] = &[
    ("shimctl sha", &["share"]),
    ("shimctl share ap", &["apps-dir"]),
    ("shimctl unshare ap", &["apps-dir"]),
    ("shimctl vm cr", &["create"]),
    ("shimctl vm create --te", &["--template"]),
    ("shimctl task rm --k", &["--keep-worktree"]),
    ("shimctl vm stop --y", &["--yes"]),
    ("shimctl install --f", &["--force"]),
    ("shimctl install cl", &["claude"]),
    ("shimctl explain p", &["pi"]),
    ("shimctl install --dir ap", &["apps-dir"]),
];

#[test]
fn bash_completes_subcommands_flags_agents_and_directories() {
    let w = completion_world();
    for (line, expected) in CASES {
        let words: Vec<&str> = line.split(' ').collect();
        let script = format!(
            r#"eval "$('{SHIMCTL}' init bash)"; COMP_WORDS=({}); COMP_CWORD={}; _shimctl_complete; printf '%s\n' "${{COMPREPLY[@]}}""#,
            words.join(" "),
            words.len() - 1
        );
        let mut bash = Command::new("bash");
        w.base_env(&mut bash);
        let out = bash
            .args(["--norc", "--noprofile", "-c", &script])
            .output()
            .unwrap();
        assert!(out.status.success(), "{line}: {}", stderr(&out));
        let got: Vec<String> = stdout(&out)
            .lines()
            .map(|l| l.trim_end_matches('/').to_string())
            .collect();
        assert_eq!(&got, expected, "bash: {line}");
    }
}

#[test]
fn fish_completes_subcommands_flags_agents_and_directories() {
    let w = completion_world();
    for (line, expected) in CASES {
        let script = format!("'{SHIMCTL}' init fish | source; complete -C '{line}'");
        let mut fish = Command::new("fish");
        w.base_env(&mut fish);
        let out = fish.args(["--no-config", "-c", &script]).output().unwrap();
        assert!(out.status.success(), "{line}: {}", stderr(&out));
        let got: Vec<String> = stdout(&out)
            .lines()
            .map(|l| {
                l.split('\t')
                    .next()
                    .unwrap()
                    .trim_end_matches('/')
                    .to_string()
            })
            .collect();
        assert_eq!(&got, expected, "fish: {line}");
    }
    // Subcommands come with their descriptions.
    let script = format!("'{SHIMCTL}' init fish | source; complete -C 'shimctl doc'");
    let mut fish = Command::new("fish");
    w.base_env(&mut fish);
    let out = fish.args(["--no-config", "-c", &script]).output().unwrap();
    assert!(
        stdout(&out).starts_with("doctor\tCheck the set-up"),
        "{}",
        stdout(&out)
    );
}

/// zsh's completion runs only in an interactive shell at a prompt: drive one through a
/// pseudo-terminal (zsh/zpty), started with `-f` so no compinit has run, as in a ~/.zshrc
/// that never calls it. Each case types the line, presses TAB, and prints the result.
#[test]
fn zsh_completes_without_compinit_in_the_rc() {
    let w = completion_world();
    // zle handles the keys in order, TAB's completion included, so no waiting is needed
    // between them; each case then reads until its `COMPLETED:` line has been printed.
    let mut driver = String::from(
        "zmodload zsh/zpty\nzpty -b z \"zsh -f -i\"\nzpty -w z 'PS1=\"> \"; eval \"$(\"$SHIMCTL\" init zsh)\"'\n",
    );
    for (line, _) in CASES {
        driver.push_str(&format!(
            "zpty -w -n z $'{line}\\t'\nzpty -w -n z $'\\C-a echo COMPLETED: \\n'\nzpty -r z chunk $'*\\nCOMPLETED: *\\n*'\nprint -r -- \"$chunk\"\n"
        ));
    }
    driver.push_str("zpty -d z\n");
    let mut zsh = Command::new("timeout");
    w.base_env(&mut zsh);
    let out = zsh
        .args(["120", "zsh", "-f", "-c", &driver])
        .env("SHIMCTL", SHIMCTL)
        .output()
        .unwrap();
    let text = stdout(&out).replace('\r', "");
    let completed: Vec<String> = text
        .lines()
        .filter_map(|l| l.strip_prefix("COMPLETED: "))
        .map(|l| l.trim_end().to_string())
        .collect();
    let expected: Vec<String> = CASES
        .iter()
        .map(|(line, exp)| {
            let mut words: Vec<&str> = line.split(' ').collect();
            words.pop();
            format!("{} {}", words.join(" "), exp[0])
        })
        .collect();
    assert_eq!(completed, expected, "zsh output:\n{text}");
}

#[test]
fn init_rejects_other_shells() {
    let out = Command::new(SHIMCTL)
        .args(["init", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("bash, zsh, fish or sh"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn the_snippet_puts_first_the_directory_the_binary_uses() {
    let w = World::new();
    let custom = w.root.join("my shims");
    for (extra, expected) in [
        (vec![], w.shims.clone()),
        (
            vec!["--dir".to_string(), custom.display().to_string()],
            custom.clone(),
        ),
    ] {
        let script = format!(
            r#"eval "$("$SHIMCTL" init bash {})"; printf '%s\n' "${{PATH%%:*}}""#,
            extra
                .iter()
                .map(|a| format!("'{a}'"))
                .collect::<Vec<_>>()
                .join(" ")
        );
        let mut bash = Command::new("bash");
        w.base_env(&mut bash);
        let out = bash
            .args(["--norc", "--noprofile", "-c", &script])
            .env("SHIMCTL", SHIMCTL)
            // Relative: the XDG spec says to ignore it, and so does the binary.
            .env("XDG_DATA_HOME", "relative/data")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(stdout(&out).trim_end(), expected.display().to_string());
    }
}
