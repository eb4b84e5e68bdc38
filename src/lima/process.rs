//! Running limactl and waiting for it, never for ever. A wedged limactl (a hung host agent,
//! a stuck ssh) must not hang the shim or a `shimctl` command: every call that is waited
//! for has a time limit, after which it is killed and the caller gets a message naming the
//! call and what to try.

use std::ffi::{OsStr, OsString};
use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::error::{Failure, Result};

/// More than limactl ever prints for a query; the rest is not read.
const MAX_OUTPUT: u64 = 16 << 20;

pub struct Output {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// `limactl a b c` as a person would type it, for messages.
pub fn shown(args: &[OsString]) -> String {
    let words: Vec<String> = args
        .iter()
        .map(|a| crate::quote::sh_quote(a.as_encoded_bytes()))
        .collect();
    format!("limactl {}", words.join(" "))
}

fn timed_out(args: &[OsString], timeout: Duration) -> Failure {
    Failure::cannot_run(format!(
        "`{}` did not finish within {} s and was stopped; check Lima with `limactl list` (restart Lima's host agent with `limactl stop -f VM` if it hangs), or raise the limit in the config",
        shown(args),
        timeout.as_secs()
    ))
}

fn cannot_start(limactl: &Path, e: std::io::Error) -> Failure {
    Failure::cannot_run(format!(
        "cannot run {}: {e}; {}",
        limactl.display(),
        super::INSTALL_HINT
    ))
}

fn read_all(mut pipe: impl Read + Send + 'static) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = (&mut pipe).take(MAX_OUTPUT).read_to_end(&mut buf);
        // Drain the rest so the writer never blocks on a full pipe.
        let _ = std::io::copy(&mut pipe, &mut std::io::sink());
        let _ = tx.send(buf);
    });
    rx
}

/// Waits for the child in a thread, so the caller can stop waiting at a deadline.
fn wait_in_thread(mut child: std::process::Child) -> mpsc::Receiver<std::io::Result<ExitStatus>> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait());
    });
    rx
}

fn kill(pid: u32, group: bool) {
    let pid = pid as libc::pid_t;
    // SAFETY: kill has no memory effects; the child has not been reaped yet (its waiter has
    // not returned), so the pid still names it (or its process group).
    unsafe { libc::kill(if group { -pid } else { pid }, libc::SIGKILL) };
}

/// Runs `limactl ARGS` with stdin from `input` (or nothing), capturing its output.
/// It runs in its own process group, so a timeout also stops what it started (ssh).
pub fn output(
    limactl: &Path,
    args: &[OsString],
    input: Option<Vec<u8>>,
    timeout: Duration,
) -> Result<Output> {
    let mut child = Command::new(limactl)
        .args(args)
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|e| cannot_start(limactl, e))?;
    let pid = child.id();
    if let (Some(mut stdin), Some(input)) = (child.stdin.take(), input) {
        std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
    }
    let stdout = read_all(child.stdout.take().expect("piped"));
    let stderr = read_all(child.stderr.take().expect("piped"));
    let deadline = Instant::now() + timeout;
    let status = match wait_in_thread(child).recv_timeout(timeout) {
        Ok(status) => status.map_err(|e| cannot_start(limactl, e))?,
        Err(_) => {
            kill(pid, true);
            return Err(timed_out(args, timeout));
        }
    };
    // Output pipes close when limactl exits, unless something it started keeps them open.
    let grace = deadline
        .saturating_duration_since(Instant::now())
        .max(Duration::from_secs(1));
    let stdout = stdout
        .recv_timeout(grace)
        .map_err(|_| timed_out(args, timeout))?;
    let stderr = stderr.recv_timeout(grace).unwrap_or_default();
    Ok(Output {
        status,
        stdout,
        stderr,
    })
}

/// Runs `limactl ARGS` on the user's terminal (progress streams through), in the
/// terminal's process group so Ctrl-C reaches it as it reaches shimctl.
pub fn attached<S: AsRef<OsStr>>(
    limactl: &Path,
    args: &[S],
    timeout: Duration,
) -> Result<ExitStatus> {
    on_terminal(limactl, args, timeout, false)
}

/// Runs `limactl ARGS` on the user's terminal but in its own process group: a Ctrl-C meant
/// for shimctl does not reach it (used to finish what must be finished, such as starting
/// the VM again after an interrupted edit).
pub fn detached<S: AsRef<OsStr>>(
    limactl: &Path,
    args: &[S],
    timeout: Duration,
) -> Result<ExitStatus> {
    on_terminal(limactl, args, timeout, true)
}

/// Runs `limactl ARGS` in the terminal's process group (Ctrl-C reaches it as it reaches
/// shimctl) with its output appended to `log` instead of the terminal, calling `tick` with
/// the time elapsed about ten times a second while it runs.
pub fn logged<S: AsRef<OsStr>>(
    limactl: &Path,
    args: &[S],
    log: std::fs::File,
    timeout: Duration,
    mut tick: impl FnMut(Duration),
) -> Result<ExitStatus> {
    let args: Vec<OsString> = args.iter().map(|a| a.as_ref().to_os_string()).collect();
    let err = log.try_clone().map_err(|e| cannot_start(limactl, e))?;
    let child = Command::new(limactl)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(err)
        .spawn()
        .map_err(|e| cannot_start(limactl, e))?;
    let pid = child.id();
    let started = Instant::now();
    let done = wait_in_thread(child);
    loop {
        match done.recv_timeout(Duration::from_millis(100)) {
            Ok(status) => return status.map_err(|e| cannot_start(limactl, e)),
            // A signal deferred while shimctl holds something half-made (a task being
            // created): the step is stopped so that it can be undone now.
            Err(mpsc::RecvTimeoutError::Timeout) if crate::signals::received().is_some() => {
                kill(pid, false);
                let _ = done.recv();
                return Err(Failure::interrupted(format!(
                    "`{}` interrupted",
                    shown(&args)
                )));
            }
            Err(mpsc::RecvTimeoutError::Timeout) if started.elapsed() < timeout => {
                tick(started.elapsed())
            }
            Err(_) => {
                kill(pid, false);
                return Err(timed_out(&args, timeout));
            }
        }
    }
}

fn on_terminal<S: AsRef<OsStr>>(
    limactl: &Path,
    args: &[S],
    timeout: Duration,
    own_group: bool,
) -> Result<ExitStatus> {
    let args: Vec<OsString> = args.iter().map(|a| a.as_ref().to_os_string()).collect();
    let mut command = Command::new(limactl);
    command.args(&args);
    if own_group {
        command.stdin(Stdio::null()).process_group(0);
    }
    let child = command.spawn().map_err(|e| cannot_start(limactl, e))?;
    let pid = child.id();
    match wait_in_thread(child).recv_timeout(timeout) {
        Ok(status) => status.map_err(|e| cannot_start(limactl, e)),
        Err(_) => {
            kill(pid, own_group);
            Err(timed_out(&args, timeout))
        }
    }
}
