//! What sharing a directory with the VM hands the agent that it should not have: the whole
//! home, the root, the usual credential files, and shimctl's own files (whose change the
//! host runs). Used by `share` (ask, refuse), `doctor` (warn), the shim (stop) and to choose
//! what a message suggests.

use std::path::{Path, PathBuf};

use crate::host_dirs;

/// Directories under the home that hold many programs' tokens: sharing one (or what holds
/// it) exposes them, sharing a directory inside one need not.
const SECRET_HOLDERS: &[&str] = &[".config", ".local", ".cache"];

/// Credentials: sharing one, what holds it, or anything inside it exposes it.
const SECRETS: &[&str] = &[
    ".ssh",
    ".aws",
    ".gnupg",
    ".kube",
    ".config/gh",
    ".config/gcloud",
    ".netrc",
    ".docker/config.json",
    ".git-credentials",
];

fn canonical(p: &Path) -> std::path::PathBuf {
    crate::guest_paths::resolve(p).unwrap_or_else(|_| p.to_path_buf())
}

/// The secrets that sharing `dir` (resolved) exposes, each as a short description: those
/// it holds, and the one it is inside. Both the user's home and `dir` itself are looked in
/// (another user's home shared as a project still has its `.ssh`).
pub fn exposed_secrets(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let home = host_dirs::home().map(|h| canonical(&h));
    if dir == Path::new("/") {
        found.push("the whole file system".to_string());
    } else if let Some(home) = &home
        && home.starts_with(dir)
    {
        found.push(format!("the whole home directory {}", home.display()));
    }
    for s in SECRET_HOLDERS {
        if home.as_ref().is_some_and(|h| h.join(s).starts_with(dir)) {
            found.push(s.to_string());
        }
    }
    for s in SECRETS {
        let in_home = home.as_ref().map(|h| h.join(s));
        let exposed = in_home
            .as_ref()
            .is_some_and(|p| (p.starts_with(dir) && p.exists()) || dir.starts_with(p))
            || dir.join(s).exists();
        if exposed {
            found.push(s.to_string());
        }
    }
    found.dedup();
    found
}

/// shimctl's own files, whose change the host runs: the config, the shim directory, the
/// cache, the binary and LIMA_HOME (the instances' ssh.config, Lima's key). Resolved.
pub fn own_files() -> Vec<(&'static str, PathBuf)> {
    let mut own = Vec::new();
    if let Some((config, _)) = host_dirs::config_file() {
        own.push(("shimctl's config", config));
    }
    if let Some(d) = host_dirs::default_shim_dir() {
        own.push(("the shim directory", d));
    }
    if let Some(d) = host_dirs::cache_dir() {
        own.push(("shimctl's cache", d));
    }
    if let Some(d) = host_dirs::lima_home() {
        own.push(("LIMA_HOME", d));
    }
    let mut own: Vec<_> = own
        .into_iter()
        .map(|(what, p)| (what, resolved_or_parent(&p)))
        .collect();
    // On Linux the kernel's name for this binary (/proc/self/exe) is resolved already.
    if let Ok(exe) = std::env::current_exe() {
        let exe = if cfg!(target_os = "linux") {
            exe
        } else {
            resolved_or_parent(&exe)
        };
        own.push(("the shimctl binary", exe));
    }
    own
}

/// A path with symlinks resolved; one that does not exist yet, by its nearest parent.
pub fn resolved_or_parent(p: &Path) -> PathBuf {
    if let Ok(c) = crate::guest_paths::resolve(p) {
        return c;
    }
    match (p.parent(), p.file_name()) {
        (Some(parent), Some(name)) if parent != p => resolved_or_parent(parent).join(name),
        _ => p.to_path_buf(),
    }
}

/// Which of `own` a share of `dir` (resolved) would hand the agent: a share that holds one,
/// or lies inside one.
pub fn own_files_in<'a>(
    dir: &Path,
    own: &'a [(&'static str, PathBuf)],
) -> Vec<&'a (&'static str, PathBuf)> {
    own.iter()
        .filter(|(_, p)| p.starts_with(dir) || dir.starts_with(p))
        .collect()
}

/// The command a message suggests for sharing `cwd`: `shimctl share .`, unless that would
/// expose secrets, then a project directory instead.
pub fn share_suggestion(cwd: &Path) -> String {
    if exposed_secrets(cwd).is_empty() {
        "shimctl share .".into()
    } else {
        "cd to a project directory and run `shimctl share .` there (sharing this one would expose secrets)"
            .into()
    }
}
