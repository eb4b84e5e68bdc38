//! shimctl: one binary that is both the control CLI (`shimctl ...`) and, linked under an
//! agent's name (`claude`, `codex`, ...), a shim that runs that agent inside a Lima VM.
//!
//! The entry point is C's `main`, not Rust's (`no_main`): typing `claude` pays for every
//! step before the final exec, and Rust's runtime start-up (reading /proc/self/maps, a
//! signal stack, handlers) measured as a good part of the shim's own cost
//! (docs/overhead.md). What of it matters is done here: the standard descriptors are made sure to
//! be open, and SIGPIPE is ignored so a write to a closed pipe is an error to handle (std
//! resets it to the default for the programs it execs: exec.rs). `std::env::args_os` still
//! works: std captures argv itself on the platforms shimctl supports.
#![cfg_attr(not(test), no_main)]

mod agents;
mod bypass;
mod cmd;
mod config;
mod dispatch;
mod egress;
mod egress_rule;
mod env_policy;
mod error;
mod exec;
mod guest_paths;
mod host_dirs;
mod invoked;
mod launch;
mod lima;
mod quote;
mod sandbox;
mod share_risks;
mod shim_dir;
mod signals;
mod ui;

/// What std's runtime would have done first: descriptors 0-2 open (a program started with
/// one closed would otherwise write its messages into whatever file it opens next), and
/// SIGPIPE ignored.
fn start_up() {
    for fd in 0..=2 {
        // SAFETY: F_GETFD only asks whether the descriptor exists.
        let closed = unsafe { libc::fcntl(fd, libc::F_GETFD) } == -1
            && std::io::Error::last_os_error().raw_os_error() == Some(libc::EBADF);
        if closed {
            // SAFETY: a NUL-terminated path; open takes the lowest free descriptor, `fd`.
            unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDWR) };
        }
    }
    // SAFETY: setting a disposition has no memory effects.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
}

fn run() -> i32 {
    start_up();
    dispatch::run()
}

#[cfg(not(test))]
#[unsafe(no_mangle)]
extern "C" fn main(_argc: libc::c_int, _argv: *const *const libc::c_char) -> libc::c_int {
    // Flush and run exit handlers as `std::process::exit` does.
    std::process::exit(run());
}

/// The unit tests' harness brings its own entry point and ignores this one; it keeps the
/// same start-up reachable there.
#[cfg(test)]
fn main() {
    std::process::exit(run());
}
