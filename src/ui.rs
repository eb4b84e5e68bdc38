//! Output that never panics. `println!` panics when stdout is a closed pipe or a full disk
//! (`shimctl list | head -1`, `shimctl --help >/dev/full`); a tool that stands between a
//! user and their agent must never die of a message it could not print. Writes go through
//! here; a failed write is remembered, and [`finish`] turns it into an exit status.

use std::io::{ErrorKind, Write};
use std::sync::Mutex;

use crate::error::Exit;

/// The first stdout write error other than a closed pipe, for the exit status.
static STDOUT_ERROR: Mutex<Option<String>> = Mutex::new(None);

fn remember(e: std::io::Error) {
    // A reader that went away (`| head -1`) got what it wanted: not a failure.
    if e.kind() == ErrorKind::BrokenPipe {
        return;
    }
    if let Ok(mut slot) = STDOUT_ERROR.lock() {
        slot.get_or_insert_with(|| e.to_string());
    }
}

/// Text to stdout, as is.
pub fn out_raw(text: &str) {
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout
        .write_all(text.as_bytes())
        .and_then(|_| stdout.flush())
    {
        remember(e);
    }
}

/// One line to stdout.
pub fn out_line(text: &str) {
    let mut line = String::with_capacity(text.len() + 1);
    line.push_str(text);
    line.push('\n');
    out_raw(&line);
}

/// One line to stderr; if stderr is closed or full there is nobody left to tell.
pub fn error_line(text: &str) {
    let mut line = String::with_capacity(text.len() + 1);
    line.push_str(text);
    line.push('\n');
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

/// A yes/no question on the terminal (stderr, answered on stdin), no by default. Without a
/// terminal nobody can answer: `refusal` is the failure then.
pub fn confirm(question: &str, refusal: String) -> crate::error::Result<bool> {
    use std::io::{BufRead, IsTerminal};
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(crate::error::Failure::refused(refusal));
    }
    let _ = write!(std::io::stderr(), "{question} [y/N] ");
    let mut answer = String::new();
    stdin
        .lock()
        .read_line(&mut answer)
        .map_err(|e| crate::error::Failure::cannot_run(e.to_string()))?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}

/// Prints a failure the way every shimctl failure looks and returns its exit status.
pub fn report(failure: &crate::error::Failure) -> i32 {
    error_line(&format!("shimctl: {failure}"));
    failure.code()
}

/// The exit status once the command is done: a lost stdout (other than a closed pipe)
/// fails a command that otherwise succeeded, as coreutils do.
pub fn finish(code: i32) -> i32 {
    let error = STDOUT_ERROR.lock().ok().and_then(|mut e| e.take());
    match error {
        Some(e) if code == 0 => {
            error_line(&format!("shimctl: cannot write the output: {e}"));
            Exit::CannotRun.code()
        }
        _ => code,
    }
}

/// `say!(...)`: a formatted line on stdout.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => { $crate::ui::out_line(&format!($($arg)*)) };
}

/// `tell!(...)`: a formatted line on stderr (warnings and notes).
#[macro_export]
macro_rules! tell {
    ($($arg:tt)*) => { $crate::ui::error_line(&format!($($arg)*)) };
}
