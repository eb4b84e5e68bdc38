//! One error type for everything that ends shimctl early: an exit status and a message for
//! people (cause + fix, one or two lines).

use std::fmt;

/// The agent could not be started (the convention of `env`, `nice`, `timeout`): callers can
/// tell shimctl's own failures from the agent's exit codes.
pub const CANNOT_RUN: i32 = 125;
/// No program to run, as a shell reports it.
pub const NOT_FOUND: i32 = 127;

#[derive(Debug)]
pub struct Failure {
    pub code: i32,
    pub message: String,
}

impl Failure {
    pub fn cannot_run(message: impl Into<String>) -> Self {
        Failure {
            code: CANNOT_RUN,
            message: message.into(),
        }
    }

    pub fn with_code(code: i32, message: impl Into<String>) -> Self {
        Failure {
            code,
            message: message.into(),
        }
    }

    /// Prints the message the way every shimctl failure looks and returns the exit status.
    pub fn report(&self) -> i32 {
        eprintln!("shimctl: {}", self.message);
        self.code
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

pub type Result<T> = std::result::Result<T, Failure>;
