//! The invoked-name rule, one function for the shim, `explain` and `install`: the name a
//! shim answers to is the file name of argv[0] exactly as typed, never the resolved link
//! (`claude -> shimctl` must act as `claude`; rustup#4224 broke callers that resolved it),
//! and never a stem: a link `claude.safe` is the agent `claude.safe`, not `claude`. Only a
//! Windows `.exe` is stripped.

use std::ffi::OsStr;
use std::path::Path;

/// The name under which this binary is the control CLI.
pub const CONTROL_NAME: &str = "shimctl";
/// The name under which this binary is a program wrapper (`shimctl wrap`).
pub const WRAP_NAME: &str = "shimctl-wrap";
/// Forces the invoked name, for tests and launchers that rewrite argv[0].
pub const ARG0_VAR: &str = "SHIMCTL_ARG0";

/// The name a program invoked as `arg0` answers to.
pub fn name_of(arg0: &OsStr) -> String {
    let file = Path::new(arg0)
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    match file.strip_suffix(".exe") {
        Some(stem) if !stem.is_empty() => stem.to_string(),
        _ => file,
    }
}

/// The invoked name of this process: `$SHIMCTL_ARG0` when set and not empty, else argv[0]'s.
pub fn invoked_name(forced: Option<&OsStr>, arg0: &OsStr) -> String {
    match forced.filter(|f| !f.is_empty()) {
        Some(forced) => name_of(forced),
        None => name_of(arg0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> String {
        invoked_name(None, OsStr::new(s))
    }

    #[test]
    fn name_is_the_whole_file_name_as_typed() {
        assert_eq!(name("/home/u/.local/share/shimctl/shims/claude"), "claude");
        assert_eq!(name("codex"), "codex");
        assert_eq!(name("./shimctl"), "shimctl");
        assert_eq!(name("/x/claude.safe"), "claude.safe");
        assert_eq!(name("pi.dev"), "pi.dev");
        assert_eq!(name("claude.exe"), "claude");
        assert_eq!(name(".exe"), ".exe");
    }

    #[test]
    fn forced_name_wins_unless_empty() {
        assert_eq!(
            invoked_name(Some(OsStr::new("codex")), OsStr::new("shimctl")),
            "codex"
        );
        assert_eq!(
            invoked_name(Some(OsStr::new("")), OsStr::new("claude")),
            "claude"
        );
    }
}
