//! Where shimctl and Lima keep things on the host. The same layout on every OS (XDG
//! variables, else dot-directories under the home), so docs and scripts need one answer.
//!
//! Relative `HOME` and `XDG_*` values are ignored (the XDG Base Directory spec: "If an
//! implementation encounters a relative path in any of these variables it should consider
//! the path invalid and ignore it"): resolved against the current directory, which may be
//! a shared project the agent writes, they would let a project supply shimctl's config or
//! cache. PATH entries that are empty or relative are skipped for the same reason.

use std::ffi::{CStr, OsStr, OsString};
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

fn absolute_var(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
}

/// The home directory from the password database, for when `$HOME` is unset or relative.
fn passwd_home() -> Option<PathBuf> {
    let mut buf = vec![0u8; 4096];
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the call; buf outlives the use of pwd's strings.
    let rc = unsafe {
        libc::getpwuid_r(
            libc::getuid(),
            &mut pwd,
            buf.as_mut_ptr().cast(),
            buf.len(),
            &mut result,
        )
    };
    if rc != 0 || result.is_null() || pwd.pw_dir.is_null() {
        return None;
    }
    // SAFETY: pw_dir points into buf, NUL-terminated by getpwuid_r.
    let dir = unsafe { CStr::from_ptr(pwd.pw_dir) };
    Some(PathBuf::from(OsStr::from_bytes(dir.to_bytes()))).filter(|p| p.is_absolute())
}

/// `$HOME` first (a static build cannot always ask NSS, and users expect `HOME=/x cmd` to
/// work), then the password database; never a relative path.
pub fn home() -> Option<PathBuf> {
    absolute_var("HOME").or_else(passwd_home)
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

/// `$LIMA_HOME`, else `~/.lima`. Lima resolves its symlinks; shimctl only opens and stats
/// files below it, which works through them, so it spares the shim the resolving.
pub fn lima_home() -> Option<PathBuf> {
    match std::env::var_os("LIMA_HOME") {
        Some(h) if !h.is_empty() => Some(PathBuf::from(h)),
        _ => Some(home()?.join(".lima")),
    }
}

/// `~/rest` for a path under the host home: lima.yaml may hold a location written that way.
/// `~/x` as a path under the home directory; anything else as written.
pub fn expand_tilde(s: &str) -> PathBuf {
    match (s.strip_prefix("~/"), home()) {
        (Some(rest), Some(home)) => home.join(rest),
        _ => PathBuf::from(s),
    }
}

pub fn tilde_form(path: &Path) -> Option<PathBuf> {
    let home = home()?;
    let rest = path.strip_prefix(&home).ok()?;
    Some(Path::new("~").join(rest))
}

/// The absolute directories of `$PATH`, in order. Empty and relative entries (`:`, `.`)
/// would make a lookup depend on the current directory, typically a shared project the
/// agent can write: a `./limactl` planted there must never run on the host.
pub fn path_dirs() -> Vec<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_else(|| OsString::from("/usr/bin:/bin"));
    std::env::split_paths(&path)
        .filter(|d| d.is_absolute())
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

/// Why a file could not be read by [`read_small_file`].
#[derive(Debug)]
pub enum ReadError {
    Missing,
    NotRegular,
    TooLarge(u64),
    Io(std::io::Error),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Missing => f.write_str("it does not exist"),
            ReadError::NotRegular => f.write_str("it is not a regular file"),
            ReadError::TooLarge(max) => write!(f, "it is larger than {max} bytes"),
            ReadError::Io(e) => write!(f, "{e}"),
        }
    }
}

/// The contents of a regular file of at most `max` bytes. Opened without blocking (a FIFO
/// planted where a cache file goes must not hang the shim) and checked on the open file,
/// so what is checked is what is read.
pub fn read_small_file(path: &Path, max: u64) -> Result<Vec<u8>, ReadError> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => ReadError::Missing,
            _ => ReadError::Io(e),
        })?;
    let meta = file.metadata().map_err(ReadError::Io)?;
    if !meta.is_file() {
        return Err(ReadError::NotRegular);
    }
    if meta.len() > max {
        return Err(ReadError::TooLarge(max));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    // take(): the file may grow between the check and the read.
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    if bytes.len() as u64 > max {
        return Err(ReadError::TooLarge(max));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_files_only() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f");
        std::fs::write(&f, b"12345").unwrap();
        assert_eq!(read_small_file(&f, 5).unwrap(), b"12345");
        assert!(matches!(
            read_small_file(&f, 4),
            Err(ReadError::TooLarge(4))
        ));
        assert!(matches!(
            read_small_file(dir.path(), 4),
            Err(ReadError::NotRegular)
        ));
        assert!(matches!(
            read_small_file(&dir.path().join("nope"), 4),
            Err(ReadError::Missing)
        ));
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.as_os_str().as_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        assert!(matches!(
            read_small_file(&fifo, 4),
            Err(ReadError::NotRegular)
        ));
    }
}
