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
    script_for(w, root, args, "/bin/bash")
}

fn script_for(w: &World, root: &Path, args: &[&str], shell: &str) -> (bool, String) {
    let cargo = PathBuf::from(std::env::var_os("CARGO").expect("run by cargo"));
    let toolchain_bin = cargo.parent().unwrap();
    let out = Command::new("sh")
        .arg(SCRIPT)
        .args(args)
        .env_clear()
        .env("HOME", &w.home)
        .env("SHELL", shell)
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
    assert!(
        out.contains("Installed package") || out.contains("Replaced package"),
        "cargo's own output is shown: {out}"
    );
    assert_eq!(
        out.matches("added to").count(),
        2,
        "each change said once: {out}"
    );
    let login = w.home.join(".profile");
    assert!(
        std::fs::read_to_string(&login).unwrap().contains(". '"),
        "login shells source shimctl's PATH file"
    );
    let bin = root.join("bin/shimctl");
    assert!(bin.exists(), "{out}");
    if cfg!(all(target_os = "linux", target_env = "gnu")) {
        let ldd = Command::new("ldd").arg(&bin).output().unwrap();
        let text = stdout(&ldd) + &stderr(&ldd);
        assert!(
            text.contains("not a dynamic executable") || text.contains("statically linked"),
            "install.sh builds a static binary on Linux/glibc: {text}"
        );
    }
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
        out.contains("Next:") && out.contains("Open a new shell"),
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

    // And a bash login shell, which reads ~/.profile and not ~/.bashrc.
    let found = Command::new("bash")
        .args(["-lc", "command -v claude"])
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

    let (ok, out) = script(&w, &root, &["--uninstall"]);
    assert!(ok, "{out}");
    assert_eq!(std::fs::read_to_string(&rc).unwrap(), original);
    assert!(
        !login.exists(),
        "the login file install.sh created is gone: {out}"
    );
    assert!(!w.shims.exists(), "shim directory removed once empty");
    assert!(!bin.exists(), "binary uninstalled");
}

/// Runs `install.sh --uninstall` with no binary installed (so no cargo), in `home`.
fn uninstall_in(home: &Path, extra: &[(&str, &str)]) -> (bool, String) {
    let mut cmd = Command::new("sh");
    cmd.arg(SCRIPT)
        .arg("--uninstall")
        .env_clear()
        .env("HOME", home)
        .env("SHELL", "/bin/bash")
        .env("PATH", "/usr/bin:/bin")
        .env("CARGO_INSTALL_ROOT", "/nonexistent/shimctl-root")
        .current_dir(home);
    for (k, v) in extra {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (out.status.success(), stdout(&out) + &stderr(&out))
}

const ADDED: &str = "eval \"$('/opt/bin/shimctl' init bash)\" # added by shimctl install.sh\n";
const MINE: &str =
    "# my settings\nexport EDITOR=vi\n# note: the line # added by shimctl install.sh\n";

#[test]
fn uninstall_removes_only_the_exact_line_and_keeps_a_symlinked_rc() {
    use std::os::unix::fs::PermissionsExt;
    let w = World::new();
    let dotfiles = w.root.join("dotfiles");
    std::fs::create_dir_all(&dotfiles).unwrap();
    let target = dotfiles.join("bashrc");
    std::fs::write(&target, format!("{MINE}{ADDED}")).unwrap();
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o640)).unwrap();
    symlink(&target, &w.home.join(".bashrc"));
    let (ok, out) = uninstall_in(&w.home, &[]);
    assert!(ok, "{out}");
    let rc = w.home.join(".bashrc");
    assert!(
        std::fs::symlink_metadata(&rc)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        std::fs::read_to_string(&target).unwrap(),
        MINE,
        "the user's mention stays"
    );
    let mode = std::fs::metadata(&target).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640);
}

#[test]
fn uninstall_ignores_relative_xdg_directories() {
    let w = World::new();
    let keep = w.home.join("rel/cache/shimctl/keep");
    std::fs::create_dir_all(keep.parent().unwrap()).unwrap();
    std::fs::write(&keep, "x").unwrap();
    let (ok, out) = uninstall_in(&w.home, &[("XDG_CACHE_HOME", "rel/cache")]);
    assert!(ok, "{out}");
    assert!(keep.exists(), "a relative XDG_CACHE_HOME was used: {out}");
    let (ok, out) = uninstall_in(&w.home, &[("HOME", "relative")]);
    assert!(
        !ok && out.contains("HOME must be an absolute path"),
        "{out}"
    );
}

/// A small file system of its own for the home (root only), unmounted when dropped.
struct SmallFs(PathBuf);

impl SmallFs {
    fn mount(dir: &Path, options: &str) -> Option<SmallFs> {
        if unsafe { libc::geteuid() } != 0 {
            eprintln!("skipped: mounting a small tmpfs needs root");
            return None;
        }
        std::fs::create_dir_all(dir).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", options, "tmpfs"])
            .arg(dir)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            eprintln!("skipped: cannot mount a tmpfs here");
            return None;
        }
        Some(SmallFs(dir.to_path_buf()))
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

fn fill(dir: &Path) {
    let _ = Command::new("dd")
        .args(["if=/dev/zero", "bs=4096"])
        .arg(format!("of={}", dir.join("filler").display()))
        .stderr(std::process::Stdio::null())
        .status();
}

#[test]
fn a_full_disk_or_a_read_only_home_leaves_the_rc_untouched() {
    let w = World::new();
    // Non-root: an unwritable directory is enough.
    if unsafe { libc::geteuid() } != 0 {
        use std::os::unix::fs::PermissionsExt;
        let home = w.root.join("ro-home");
        std::fs::create_dir_all(&home).unwrap();
        std::fs::write(home.join(".bashrc"), format!("{MINE}{ADDED}")).unwrap();
        std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o555)).unwrap();
        let (ok, out) = uninstall_in(&home, &[]);
        std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert!(!ok && out.contains("unchanged"), "{out}");
        assert_eq!(
            std::fs::read_to_string(home.join(".bashrc")).unwrap(),
            format!("{MINE}{ADDED}")
        );
        eprintln!("skipped the full-disk case: mounting a small tmpfs needs root");
        return;
    }
    for case in ["full", "read-only"] {
        let home = w.root.join(format!("home-{case}"));
        let Some(_fs) = SmallFs::mount(&home, "size=256k") else {
            return;
        };
        let rc = home.join(".bashrc");
        let original = format!("{MINE}{}{ADDED}", "# padding\n".repeat(2000));
        std::fs::write(&rc, &original).unwrap();
        if case == "full" {
            fill(&home);
        } else {
            let ok = Command::new("mount")
                .args(["-o", "remount,ro"])
                .arg(&home)
                .status()
                .unwrap()
                .success();
            assert!(ok);
        }
        let (ok, out) = uninstall_in(&home, &[]);
        assert!(!ok, "{case}: reported success: {out}");
        assert!(out.contains("unchanged"), "{case}: {out}");
        assert_eq!(std::fs::read_to_string(&rc).unwrap(), original, "{case}");
        let leftovers: Vec<_> = std::fs::read_dir(&home)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with(".shimctl-rc"))
            .collect();
        assert!(leftovers.is_empty(), "{case}: {leftovers:?}");
    }
}

/// What `command -v claude` finds for a caller: `program args...` with only HOME and PATH.
fn found_by(home: &Path, program: &str, args: &[&str], path: &str) -> String {
    let out = Command::new(program)
        .args(args)
        .env_clear()
        .env("HOME", home)
        .env("PATH", path)
        .env("TERM", "dumb")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{program} is needed (.ci/run installs it): {e}"));
    stdout(&out).lines().last().unwrap_or("").trim().to_string()
}

/// Every kind of caller finds the shim before the host's own claude, on a home made of
/// Debian's stock start-up files (whose ~/.bashrc returns at once when not interactive, and
/// whose ~/.profile prepends ~/.local/bin, where claude's own installer puts it): login and
/// non-login, interactive or not, sh, bash, zsh, fish, and a program started from a desktop
/// session (whose PATH ~/.profile made). Uninstalling gives the files back as they were.
#[test]
fn every_shell_a_program_may_start_finds_the_shim() {
    let w = World::new();
    std::fs::remove_dir_all(&w.shims).unwrap();
    let skel = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/debian-12-skel");
    let bashrc = std::fs::read_to_string(skel.join("bashrc")).unwrap();
    let profile = std::fs::read_to_string(skel.join("profile")).unwrap();
    std::fs::write(w.home.join(".bashrc"), &bashrc).unwrap();
    std::fs::write(w.home.join(".profile"), &profile).unwrap();
    let host_bin = w.home.join(".local/bin");
    std::fs::create_dir_all(&host_bin).unwrap();
    w.write_exec(
        &host_bin.join("claude"),
        "#!/bin/sh\necho the host's claude\n",
    );
    let root = w.root.join("cargo-root");
    for shell in ["/bin/bash", "/usr/bin/zsh", "/usr/bin/fish"] {
        let (ok, out) = script_for(&w, &root, &[], shell);
        assert!(ok, "{shell}: {out}");
    }
    let shim = w.shims.join("claude").display().to_string();
    let home = &w.home;
    let base = "/usr/bin:/bin";
    let session_path = {
        let out = Command::new("sh")
            .args(["-lc", "printf %s \"$PATH\""])
            .env_clear()
            .env("HOME", home)
            .env("PATH", base)
            .output()
            .unwrap();
        stdout(&out)
    };
    for (caller, program, args, path) in [
        (
            "bash -lc (IDE tasks, orchestrators)",
            "bash",
            &["-lc", "command -v claude"][..],
            base,
        ),
        ("bash -ic", "bash", &["-ic", "command -v claude"], base),
        ("sh -lc", "sh", &["-lc", "command -v claude"], base),
        ("zsh -c", "zsh", &["-c", "command -v claude"], base),
        ("zsh -lc", "zsh", &["-lc", "command -v claude"], base),
        ("zsh -ic", "zsh", &["-ic", "command -v claude"], base),
        ("fish -c", "fish", &["-c", "command -v claude"], base),
        (
            "a program of the desktop session (bash -c)",
            "bash",
            &["-c", "command -v claude"],
            session_path.as_str(),
        ),
    ] {
        assert_eq!(found_by(home, program, args, path), shim, "{caller}");
    }

    let (ok, out) = script(&w, &root, &["--uninstall"]);
    assert!(ok, "{out}");
    assert_eq!(
        std::fs::read_to_string(w.home.join(".bashrc")).unwrap(),
        bashrc
    );
    assert_eq!(
        std::fs::read_to_string(w.home.join(".profile")).unwrap(),
        profile
    );
    for made in [
        ".zshrc",
        ".zshenv",
        ".config/fish/config.fish",
        ".local/share/shimctl/env",
    ] {
        assert!(!w.home.join(made).exists(), "{made} is left: {out}");
    }
    assert_eq!(
        found_by(home, "bash", &["-lc", "command -v claude"], base),
        host_bin.join("claude").display().to_string()
    );
}
