//! Terminal helpers shared by the end-to-end suite and the real-Lima tier (both include
//! this file): where a test types Ctrl-C into a terminal made by `script`, it must wait
//! until ssh holds that terminal in raw mode, or the byte stops the local side instead.

use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// The parent of the process whose /proc directory is `proc_dir`, from its `stat` (whose
/// second field may hold spaces, so the fields are read after the last `)`).
pub fn parent_pid(proc_dir: &Path) -> Option<u32> {
    let stat = std::fs::read_to_string(proc_dir.join("stat")).ok()?;
    stat.rsplit_once(')')?
        .1
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Whether the terminal that `script` (pid `script`) made for its command is in raw mode
/// (no ICANON): found through the standard input of the command, `script`'s child.
pub fn terminal_is_raw(script: u32) -> bool {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return false;
    };
    for e in entries.flatten() {
        if parent_pid(&e.path()) != Some(script) {
            continue;
        }
        let Ok(tty) = std::fs::read_link(e.path().join("fd/0")) else {
            continue;
        };
        let Ok(file) = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NOCTTY)
            .open(&tty)
        else {
            continue;
        };
        // SAFETY: a zeroed termios is a valid out-parameter; the fd is open.
        let mut t: libc::termios = unsafe { std::mem::zeroed() };
        if unsafe { libc::tcgetattr(std::os::fd::AsRawFd::as_raw_fd(&file), &mut t) } == 0 {
            return t.c_lflag & libc::ICANON == 0;
        }
    }
    false
}
