//! Replacing this process with another program. The shim never waits on a child: the
//! terminal's process group, signals, stdin and the exit code all belong to what it execs.

use std::ffi::{CString, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::error::{Failure, NOT_FOUND};

pub struct Replacement<'a> {
    pub program: &'a Path,
    pub argv: Vec<OsString>,
    pub set_env: Vec<(OsString, OsString)>,
    pub remove_env: Vec<OsString>,
}

fn c_string(bytes: &[u8]) -> Result<CString, Failure> {
    CString::new(bytes).map_err(|_| {
        Failure::cannot_run("an argument contains a NUL byte, which no program can receive")
    })
}

/// Only returns on failure.
pub fn replace_process(r: Replacement<'_>) -> Failure {
    let program = match c_string(r.program.as_os_str().as_bytes()) {
        Ok(p) => p,
        Err(f) => return f,
    };
    let argv: Result<Vec<CString>, Failure> =
        r.argv.iter().map(|a| c_string(a.as_bytes())).collect();
    let argv = match argv {
        Ok(a) => a,
        Err(f) => return f,
    };
    let mut pointers: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    pointers.push(std::ptr::null());

    for name in &r.remove_env {
        // SAFETY: shimctl starts no threads, so nothing reads the environment concurrently.
        unsafe { std::env::remove_var(name) };
    }
    for (name, value) in &r.set_env {
        // SAFETY: as above.
        unsafe { std::env::set_var(name, value) };
    }
    // SAFETY: program and every argv entry are NUL-terminated and outlive the call; the
    // pointer array ends with NULL.
    unsafe { libc::execvp(program.as_ptr(), pointers.as_ptr()) };
    let err = std::io::Error::last_os_error();
    let code = if err.kind() == std::io::ErrorKind::NotFound {
        NOT_FOUND
    } else {
        126
    };
    Failure::with_code(code, format!("cannot run {}: {err}", r.program.display()))
}
