//! Where shimctl and Lima keep things on the host. The same layout on every OS (XDG
//! variables, else dot-directories under the home), so docs and scripts need one answer.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// `$HOME` first: a static build cannot always ask NSS, and users expect `HOME=/x cmd` to work.
pub fn home() -> Option<PathBuf> {
    match std::env::var_os("HOME") {
        Some(h) if !h.is_empty() => Some(PathBuf::from(h)),
        _ => directories::BaseDirs::new().map(|b| b.home_dir().to_path_buf()),
    }
}

fn absolute_var(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
}

fn xdg(var: &str, under_home: &str) -> Option<PathBuf> {
    absolute_var(var).or_else(|| home().map(|h| h.join(under_home)))
}

pub const CONFIG_VAR: &str = "SHIMCTL_CONFIG";

/// The config file and whether the user named it explicitly (then it must exist).
pub fn config_file() -> Option<(PathBuf, bool)> {
    if let Some(p) = std::env::var_os(CONFIG_VAR).filter(|p| !p.is_empty()) {
        return Some((PathBuf::from(p), true));
    }
    xdg("XDG_CONFIG_HOME", ".config").map(|d| (d.join("shimctl/config.toml"), false))
}

pub fn cache_dir() -> Option<PathBuf> {
    xdg("XDG_CACHE_HOME", ".cache").map(|d| d.join("shimctl"))
}

pub fn default_shim_dir() -> Option<PathBuf> {
    xdg("XDG_DATA_HOME", ".local/share").map(|d| d.join("shimctl/shims"))
}

/// `$LIMA_HOME`, else `~/.lima`, with symlinks resolved as Lima resolves them.
pub fn lima_home() -> Option<PathBuf> {
    let raw = match std::env::var_os("LIMA_HOME") {
        Some(h) if !h.is_empty() => PathBuf::from(h),
        _ => home()?.join(".lima"),
    };
    Some(std::fs::canonicalize(&raw).unwrap_or(raw))
}

/// The directories of `$PATH`, in order, empty entries meaning the current directory.
pub fn path_dirs() -> Vec<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_else(|| OsString::from("/usr/bin:/bin"));
    std::env::split_paths(&path)
        .map(|d| {
            if d.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                d
            }
        })
        .collect()
}

pub fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Every executable `name` on PATH, in the order a shell would try them.
pub fn executables_on_path(name: &Path) -> impl Iterator<Item = PathBuf> + '_ {
    path_dirs()
        .into_iter()
        .map(move |d| d.join(name))
        .filter(|p| is_executable(p))
}
