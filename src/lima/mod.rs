//! What shimctl knows about Lima: finding limactl and its version, an instance's mounts
//! (from `limactl list --json`, remembered until the instance's config changes), and the
//! `limactl shell` command line. Facts from ../shared/lima-contract.md.

pub mod cache;
pub mod command;
pub mod control;
pub mod instance;
pub mod version;

use std::path::{Path, PathBuf};

use crate::error::{Failure, Result};
use crate::locations;

pub use instance::{Instance, Listed, Mount};
pub use version::Version;

pub const INSTALL_HINT: &str = "install Lima 2.0 or newer (macOS: `brew install lima`; Linux: https://lima-vm.io/docs/installation/)";

/// limactl as Lima's own `lima` script finds it: `$LIMACTL`, else the config's `limactl`,
/// else `limactl` on PATH.
pub fn find_limactl(configured: Option<&Path>) -> Result<PathBuf> {
    let (wanted, source) = match std::env::var_os("LIMACTL").filter(|v| !v.is_empty()) {
        Some(v) => (PathBuf::from(v), "$LIMACTL"),
        None => match configured {
            Some(p) => (p.to_path_buf(), "the config's `limactl`"),
            None => (PathBuf::from("limactl"), "PATH"),
        },
    };
    let found = if wanted.as_os_str().as_encoded_bytes().contains(&b'/') {
        locations::is_executable(&wanted).then_some(wanted.clone())
    } else {
        locations::executables_on_path(&wanted).next()
    };
    found.ok_or_else(|| {
        Failure::cannot_run(format!(
            "limactl not found (looked for `{}` via {source}); {INSTALL_HINT}",
            wanted.display()
        ))
    })
}

/// `$LIMA_HOME/NAME`, or an error when LIMA_HOME cannot be placed.
pub fn instance_dir(vm: &str) -> Result<PathBuf> {
    let home = locations::lima_home().ok_or_else(|| {
        Failure::cannot_run("cannot tell where Lima keeps its VMs: set HOME or LIMA_HOME")
    })?;
    Ok(home.join(vm))
}

/// The version of this limactl, asking it only when the binary changed since last time.
pub fn checked_version(limactl: &Path) -> Result<Version> {
    let version = cache::limactl_version(limactl)?;
    if version < Version::MINIMUM {
        return Err(Failure::cannot_run(format!(
            "Lima {version} is too old: shimctl needs limactl {} or newer ({}); upgrade Lima (macOS: `brew upgrade lima`)",
            Version::MINIMUM,
            limactl.display()
        )));
    }
    Ok(version)
}

/// Whether the instance exists (its lima.yaml does), without asking limactl.
pub fn exists(vm: &str) -> Result<bool> {
    Ok(instance_dir(vm)?.join("lima.yaml").exists())
}

/// Everything the shim needs to know about the VM, from the cache when nothing changed.
pub fn instance(limactl: &Path, vm: &str) -> Result<Instance> {
    let dir = instance_dir(vm)?;
    cache::instance(limactl, vm, &dir)
}
