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
        _ => unreachable!(),
    };
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
fn shellcheck_passes() {
    let root = env!("CARGO_MANIFEST_DIR");
    for (file, dialect) in [("shell/shimctl.bash", "bash"), ("install/install.sh", "sh")] {
        let out = Command::new("shellcheck")
            .args(["-s", dialect])
            .arg(Path::new(root).join(file))
            .output()
            .expect("shellcheck is needed (.ci/run installs it)");
        assert!(out.status.success(), "{file}:\n{}", stdout(&out));
    }
}

#[test]
fn init_rejects_other_shells() {
    let out = Command::new(SHIMCTL)
        .args(["init", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("bash, zsh or fish"));
}
