//! One error type for everything that ends shimctl early: an exit status with a name and a
//! message for people (cause + fix, one or two lines). Every status shimctl itself chooses
//! is an [`Exit`]; docs/troubleshooting.md lists them. The named statuses are modelled
//! on Volta's `ExitCode` (crates/volta-core/src/error/mod.rs).

use std::fmt;

/// Exit statuses shimctl chooses (an agent's own status passes through untouched).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    Success = 0,
    /// A check found a problem, or shimctl declined to act: `doctor` failures, a refused
    /// confirmation, a foreign file where a shim would go, an overlapping share.
    Refused = 1,
    /// The command line was wrong: unknown subcommand, flag or agent name, a bad argument.
    Usage = 2,
    /// shimctl could not do what was asked (the convention of `env`, `nice`, `timeout`):
    /// no limactl, no VM, bad config, directory not shared, limactl failed or hung. Callers
    /// can tell it from the agent's own exit codes.
    CannotRun = 125,
    /// The program was found but could not be executed.
    CannotExec = 126,
    /// No program to run, as a shell reports it.
    NotFound = 127,
    /// Stopped by Ctrl-C, SIGTERM or a closed terminal, after putting things back (128 +
    /// SIGINT, as a shell reports an interrupted command).
    Interrupted = 130,
}

impl Exit {
    pub fn code(self) -> i32 {
        self as i32
    }
}

#[derive(Debug)]
pub struct Failure {
    pub exit: Exit,
    /// What went wrong (and, until a caller gives `fix` apart, what to do).
    pub message: String,
    /// The command or step that fixes it, when known apart from the cause: doctor shows
    /// it in its own column, everything else after the cause.
    pub fix: Option<String>,
}

impl Failure {
    fn new(exit: Exit, message: impl Into<String>) -> Self {
        Failure {
            exit,
            message: message.into(),
            fix: None,
        }
    }

    pub fn with_fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }

    pub fn cannot_run(message: impl Into<String>) -> Self {
        Self::new(Exit::CannotRun, message)
    }

    pub fn refused(message: impl Into<String>) -> Self {
        Self::new(Exit::Refused, message)
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(Exit::Usage, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(Exit::NotFound, message)
    }

    pub fn interrupted(message: impl Into<String>) -> Self {
        Self::new(Exit::Interrupted, message)
    }

    pub fn cannot_exec(message: impl Into<String>) -> Self {
        Self::new(Exit::CannotExec, message)
    }

    pub fn code(&self) -> i32 {
        self.exit.code()
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        match &self.fix {
            Some(fix) => write!(f, "; {fix}"),
            None => Ok(()),
        }
    }
}

pub type Result<T> = std::result::Result<T, Failure>;
