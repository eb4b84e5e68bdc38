//! Replacing this process with another program. The shim never waits on a child: the
//! terminal's process group, signals, stdin and the exit code all belong to what it execs.
//!
//! Through std's `CommandExt::exec` (as rustup's src/command.rs does): it builds the new
//! environment without touching this process's own, and in the exec path it restores the
//! default disposition of SIGPIPE (Rust's runtime ignores it, and an ignored signal survives
//! exec), so `shimctl bypass claude | head -1` behaves like `claude | head -1`. See
//! library/std/src/sys/process/unix/unix.rs, `do_exec`: "Reset signal handling so the child
//! process starts in a standardized state".

use std::ffi::OsString;
use std::io::ErrorKind;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

use crate::error::Failure;

pub struct Replacement<'a> {
    pub program: &'a Path,
    /// argv[0] the program sees.
    pub arg0: OsString,
    pub args: Vec<OsString>,
    pub set_env: Vec<(OsString, OsString)>,
    pub remove_env: Vec<OsString>,
}

/// Only returns on failure.
pub fn replace_process(r: Replacement<'_>) -> Failure {
    let mut command = Command::new(r.program);
    command.arg0(&r.arg0).args(&r.args);
    for name in &r.remove_env {
        command.env_remove(name);
    }
    for (name, value) in &r.set_env {
        command.env(name, value);
    }
    let err = command.exec();
    let message = format!("cannot run {}: {err}", r.program.display());
    match err.kind() {
        ErrorKind::NotFound => Failure::not_found(message),
        // A NUL byte inside an argument is refused by std before exec.
        ErrorKind::InvalidInput => Failure::cannot_run(format!(
            "{message}; an argument contains a NUL byte, which no program can receive"
        )),
        _ => Failure::cannot_exec(message),
    }
}
