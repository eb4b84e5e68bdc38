//! install/install.sh end to end in a temporary HOME: a real `cargo install` (debug profile,
//! into a temporary root), the shims, the rc line, and `--uninstall` undoing all of it.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::world::*;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/install/install.sh");

fn real_home_dir(var: &str, under_home: &str) -> PathBuf {
    std::env::var_os(var)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap()).join(under_home))
}

fn script(w: &World, root: &Path, args: &[&str]) -> (bool, String) {
    let cargo = PathBuf::from(std::env::var_os("CARGO").expect("run by cargo"));
    let toolchain_bin = cargo.parent().unwrap();
    let out = Command::new("sh")
        .arg(SCRIPT)
        .args(args)
        .env_clear()
        .env("HOME", &w.home)
        .env("SHELL", "/bin/bash")
        .env("PATH", format!("{}:/usr/bin:/bin", toolchain_bin.display()))
        .env("CARGO_HOME", real_home_dir("CARGO_HOME", ".cargo"))
        .env("RUSTUP_HOME", real_home_dir("RUSTUP_HOME", ".rustup"))
        .env("CARGO_INSTALL_ROOT", root)
        // Reuse one build directory across runs, so only the first run compiles everything.
        .env(
            "CARGO_TARGET_DIR",
            concat!(env!("CARGO_MANIFEST_DIR"), "/target/install-sh"),
        )
        .env("SHIMCTL_CARGO_ARGS", "--debug")
        .output()
        .unwrap();
    (out.status.success(), stdout(&out) + &stderr(&out))
}

#[test]
fn install_sh_sets_up_and_uninstall_undoes() {
    let w = World::new();
    std::fs::remove_dir_all(&w.shims).unwrap();
    let rc = w.home.join(".bashrc");
    let original = "# my settings\nexport EDITOR=vi\n";
    std::fs::write(&rc, original).unwrap();
    let root = w.root.join("cargo-root");

    let (ok, out) = script(&w, &root, &[]);
    assert!(ok, "{out}");
    let bin = root.join("bin/shimctl");
    assert!(bin.exists(), "{out}");
    for agent in ["claude", "codex", "opencode"] {
        assert_eq!(
            std::fs::read_link(w.shims.join(agent)).unwrap(),
            std::fs::canonicalize(&bin).unwrap()
        );
    }
    let text = std::fs::read_to_string(&rc).unwrap();
    assert!(text.starts_with(original), "{text}");
    assert_eq!(
        text.matches("shimctl").count(),
        2,
        "one line, naming the binary and the marker: {text}"
    );
    assert!(
        out.contains("Next:") && out.contains("open a new shell"),
        "{out}"
    );

    // A new interactive bash now finds the shim first.
    let found = Command::new("bash")
        .args(["-ic", "command -v claude"])
        .env_clear()
        .env("HOME", &w.home)
        .env("PATH", "/usr/bin:/bin")
        .output()
        .unwrap();
    assert_eq!(
        stdout(&found).trim(),
        w.shims.join("claude").display().to_string(),
        "{}",
        stderr(&found)
    );

    let (ok, out) = script(&w, &root, &[]);
    assert!(ok, "{out}");
    assert_eq!(
        std::fs::read_to_string(&rc).unwrap(),
        text,
        "a second run adds nothing"
    );
    assert!(out.contains("already sets up shimctl"), "{out}");

    let (ok, out) = script(&w, &root, &["--uninstall"]);
    assert!(ok, "{out}");
    assert_eq!(std::fs::read_to_string(&rc).unwrap(), original);
    assert!(!w.shims.exists(), "shim directory removed once empty");
    assert!(!bin.exists(), "binary uninstalled");
}
