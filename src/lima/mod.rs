//! What shimctl knows about Lima: finding limactl and its version, an instance's mounts
//! (from `limactl list --json`, remembered until the instance's config changes), and the
//! `limactl shell` command line. The facts, with links to Lima's source, are in
//! docs/lima.md.

pub mod cache;
pub mod command;
pub mod control;
pub mod instance;
pub mod process;
pub mod version;

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::Loaded;
use crate::error::{Failure, Result};
use crate::host_dirs;

pub use instance::{Instance, Listed, Mount};
pub use version::Version;

/// How to get Lima: the fix of a failure that finds none.
pub const INSTALL_HINT: &str = "brew install lima (macOS), or Lima 2.0 or newer from https://lima-vm.io/docs/installation/ (Linux)";

/// A limactl to call, with the time limits for waiting on it.
#[derive(Clone, Debug)]
pub struct Limactl {
    /// As found (what the user named, or the PATH entry): what is executed.
    pub path: PathBuf,
    /// Symlinks resolved (when it is one): what the version cache is keyed on.
    pub canonical: PathBuf,
    /// Where it was found, for messages.
    pub source: &'static str,
    pub query_timeout: Duration,
    pub vm_timeout: Duration,
}

fn is_shimctl(path: &Path, source: &str) -> Failure {
    Failure::cannot_run(format!(
        "limactl from {source} is {}, which is shimctl, not Lima",
        path.display()
    ))
    .with_fix(format!("point {source} at Lima's limactl, or unset it"))
}

impl Limactl {
    /// Refuses a limactl that is this very binary (by device and inode), which would run
    /// the shim again instead of Lima. Asked only before limactl is first run: the version
    /// cache remembers only a limactl that answered as Lima.
    pub fn refuse_shimctl(&self) -> Result<()> {
        let is_me = std::fs::metadata(&self.canonical)
            .ok()
            .is_some_and(|m| Some((m.dev(), m.ino())) == me_id());
        if is_me {
            Err(is_shimctl(&self.path, self.source))
        } else {
            Ok(())
        }
    }
}

/// The running binary's device and inode, to tell a limactl that is really shimctl.
fn me_id() -> Option<(u64, u64)> {
    // One stat through the kernel's link where there is one, else std's lookup.
    let me = if cfg!(target_os = "linux") {
        PathBuf::from("/proc/self/exe")
    } else {
        std::env::current_exe().ok()?
    };
    std::fs::metadata(me).ok().map(|m| (m.dev(), m.ino()))
}

/// limactl as Lima's own `lima` script finds it: `$LIMACTL`, else the config's `limactl`,
/// else `limactl` on PATH (absolute entries only). One that is shimctl itself, or a link to
/// any shimctl, is refused: it would run the shim again instead of Lima.
pub fn find_limactl(loaded: &Loaded) -> Result<Limactl> {
    let (wanted, source) = match std::env::var_os("LIMACTL").filter(|v| !v.is_empty()) {
        Some(v) => (PathBuf::from(v), "$LIMACTL"),
        None => match loaded.limactl() {
            Some(p) => (p.to_path_buf(), "the config's `limactl`"),
            None => (PathBuf::from("limactl"), "PATH"),
        },
    };
    let found = if wanted.as_os_str().as_encoded_bytes().contains(&b'/') {
        // Relative to the current directory (a project) would be as unsafe as `.` on PATH.
        (wanted.is_absolute() && host_dirs::is_executable(&wanted)).then(|| wanted.clone())
    } else {
        host_dirs::executables_on_path(&wanted).next()
    };
    let Some(path) = found else {
        let why = if wanted.as_os_str().as_encoded_bytes().contains(&b'/') && !wanted.is_absolute()
        {
            " (a relative path is not used: give an absolute one)"
        } else {
            ""
        };
        return Err(Failure::cannot_run(format!(
            "limactl not found (looked for `{}` via {source}{why})",
            wanted.display()
        ))
        .with_fix(INSTALL_HINT));
    };
    // Resolved (Homebrew's limactl is a link; a directory on the way may be one too): a
    // link to any shimctl build is refused by name, this very binary by device and inode,
    // and the shim checks the real path against the writable shares.
    let canonical = crate::guest_paths::resolve(&path).unwrap_or_else(|_| path.clone());
    let renamed = canonical.file_name() != path.file_name();
    if renamed && canonical.file_name().is_some_and(|n| n == "shimctl") {
        return Err(is_shimctl(&path, source));
    }
    Ok(Limactl {
        path,
        canonical,
        source,
        query_timeout: loaded.query_timeout(),
        vm_timeout: loaded.vm_timeout(),
    })
}

/// `$LIMA_HOME/NAME`, or an error when LIMA_HOME cannot be placed.
pub fn instance_dir(vm: &str) -> Result<PathBuf> {
    let home = host_dirs::lima_home().ok_or_else(|| {
        Failure::cannot_run("cannot tell where Lima keeps its VMs: set HOME or LIMA_HOME")
    })?;
    Ok(home.join(vm))
}

/// The version of this limactl, asking it only when the binary changed since last time.
pub fn checked_version(limactl: &Limactl) -> Result<Version> {
    let version = cache::limactl_version(limactl)?;
    if version < Version::MINIMUM {
        return Err(Failure::cannot_run(format!(
            "Lima {version} is too old: shimctl needs limactl {} or newer ({}); upgrade Lima (macOS: `brew upgrade lima`)",
            Version::MINIMUM,
            limactl.path.display()
        )));
    }
    Ok(version)
}

/// Whether the instance exists (its lima.yaml does), without asking limactl.
pub fn exists(vm: &str) -> Result<bool> {
    Ok(instance_dir(vm)?.join("lima.yaml").exists())
}

/// Whether the instance's host agent runs, as Lima judges it (a live pid in `ha.pid`),
/// without starting a process.
pub fn host_agent_running(dir: &Path) -> bool {
    let Ok(text) = host_dirs::read_small_file(&dir.join("ha.pid"), 64) else {
        return false;
    };
    let Some(pid) = std::str::from_utf8(&text)
        .ok()
        .and_then(|t| t.trim().parse::<libc::pid_t>().ok())
        .filter(|&p| p > 0)
    else {
        return false;
    };
    // SAFETY: signal 0 only checks that the process exists.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// The ssh door to the VM, when it can be used without limactl: the VM runs (its host
/// agent is alive) and Lima has written its `ssh.config`. Stats only, no process.
pub fn ssh_door(vm: &str) -> Option<command::SshDoor> {
    let dir = instance_dir(vm).ok()?;
    let config = dir.join("ssh.config");
    if !host_agent_running(&dir) || !config.is_file() {
        return None;
    }
    let ssh = host_dirs::executables_on_path(Path::new("ssh")).next()?;
    Some(command::SshDoor {
        ssh,
        config,
        host: format!("lima-{vm}"),
        socket: dir.join("shimctl-door.sock"),
    })
}

/// Opens the door's own ControlMaster when it is not open yet (the first start after the
/// VM's): one `ssh -N -f`, waited for with the query time limit.
pub fn open_door(limactl: &Limactl, door: &command::SshDoor) -> Result<()> {
    if door.socket.exists() {
        return Ok(());
    }
    let out = process::output(&door.ssh, &door.master_argv(), None, limactl.query_timeout)?;
    if out.status.success() {
        Ok(())
    } else {
        Err(Failure::cannot_run(format!(
            "cannot open an ssh connection to the VM ({}); try `door = \"limactl\"` in the config",
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

/// Everything the shim needs to know about the VM, from the cache when nothing changed.
pub fn instance(limactl: &Limactl, vm: &str) -> Result<Instance> {
    let dir = instance_dir(vm)?;
    cache::instance(limactl, vm, &dir)
}

/// limactl (checked for version) and the VM name, as every VM command needs them.
pub fn target(loaded: &Loaded) -> Result<(Limactl, String)> {
    let limactl = find_limactl(loaded)?;
    checked_version(&limactl)?;
    Ok((limactl, loaded.vm_for(None)?))
}

pub fn require_vm(vm: &str) -> Result<()> {
    if exists(vm)? {
        Ok(())
    } else {
        Err(Failure::cannot_run(format!(
            "VM `{vm}` does not exist; create it with `shimctl vm create`"
        )))
    }
}
