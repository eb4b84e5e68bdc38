//! An instance as `limactl list --json NAME` describes it: the authoritative view, with
//! defaults, `~` expansion and the `_config` merges already applied.

use std::path::PathBuf;

use serde::Deserialize;

use super::{Limactl, process};
use crate::error::{Failure, Result};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mount {
    /// The host directory as Lima reports it.
    pub location: PathBuf,
    /// The same with symlinks resolved, for comparing with the physical working directory.
    pub resolved: PathBuf,
    /// Where the guest sees it.
    pub mount_point: PathBuf,
    pub writable: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Instance {
    pub mounts: Vec<Mount>,
    pub guest_home: Option<String>,
    /// The guest user's login shell, which Lima's command runs (v2.2+).
    pub guest_shell: Option<String>,
}

/// What `limactl list --json` says beyond what the shim caches.
#[derive(Clone, Debug)]
pub struct Listed {
    pub instance: Instance,
    /// Running, Stopped or Broken.
    pub status: String,
    /// Mounts that were left out, each with the reason (for a warning).
    pub ignored: Vec<String>,
}

impl Listed {
    pub fn warn_ignored(&self) {
        for why in &self.ignored {
            crate::tell!("shimctl: warning: {why}");
        }
    }
}

#[derive(Deserialize)]
struct ListEntry {
    #[serde(default)]
    status: String,
    #[serde(default)]
    config: Option<ListConfig>,
}

#[derive(Deserialize)]
struct ListConfig {
    #[serde(default)]
    mounts: Option<Vec<ListMount>>,
    #[serde(default)]
    user: Option<ListUser>,
}

#[derive(Deserialize)]
struct ListMount {
    location: String,
    #[serde(rename = "mountPoint", default)]
    mount_point: Option<String>,
    #[serde(default)]
    writable: Option<bool>,
}

#[derive(Deserialize)]
struct ListUser {
    #[serde(default)]
    home: Option<String>,
    #[serde(default)]
    shell: Option<String>,
}

fn expand_tilde(path: &str) -> PathBuf {
    match (path.strip_prefix('~'), crate::host_dirs::home()) {
        (Some(""), Some(home)) => home,
        (Some(rest), Some(home)) if rest.starts_with('/') => home.join(&rest[1..]),
        _ => PathBuf::from(path),
    }
}

/// Parses the first JSON object of `limactl list --json NAME` output.
pub fn parse_list_json(text: &str) -> std::result::Result<Listed, String> {
    let first = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .ok_or("empty output")?;
    let entry: ListEntry = serde_json::from_str(first).map_err(|e| e.to_string())?;
    let config = entry.config.ok_or("no `config` in the output")?;
    let mut ignored = Vec::new();
    let mut mounts = Vec::new();
    for m in config.mounts.unwrap_or_default() {
        let location = expand_tilde(&m.location);
        // Lima resolves such a location against its own working directory; shimctl cannot
        // know it, and matching it against ours could map a directory to the wrong share.
        if !location.is_absolute() {
            ignored.push(format!(
                "VM mount location `{}` is not an absolute path; it is ignored (fix it with `limactl edit`)",
                m.location.escape_debug()
            ));
            continue;
        }
        let mount_point = m
            .mount_point
            .filter(|p| !p.is_empty())
            .map(|p| expand_tilde(&p))
            .unwrap_or_else(|| location.clone());
        mounts.push(Mount {
            resolved: crate::guest_paths::resolve(&location).unwrap_or_else(|_| location.clone()),
            location,
            mount_point,
            writable: m.writable.unwrap_or(false),
        });
    }
    Ok(Listed {
        instance: Instance {
            mounts,
            guest_home: config.user.as_ref().and_then(|u| u.home.clone()),
            guest_shell: config.user.and_then(|u| u.shell),
        },
        status: entry.status,
        ignored,
    })
}

/// Asks limactl (a process: only when the cache is cold, and in `shimctl` commands).
pub fn query(limactl: &Limactl, vm: &str) -> Result<Listed> {
    let args = ["list".into(), "--json".into(), vm.into()];
    let out = process::output(&limactl.path, &args, None, limactl.query_timeout)?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let detail = err.lines().last().unwrap_or("").trim();
        return Err(Failure::cannot_run(format!(
            "`limactl list --json {vm}` failed ({detail}); check the VM with `limactl list`"
        )));
    }
    parse_list_json(&String::from_utf8_lossy(&out.stdout)).map_err(|e| {
        Failure::cannot_run(format!(
            "cannot read `limactl list --json {vm}` output ({e}); is {} really Lima 2.x?",
            limactl.path.display()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_mounts_and_user() {
        let json = r#"{"name":"sandbox","status":"Running","config":{"mounts":[{"location":"/Users/me/Projects","mountPoint":"/Users/me/Projects","writable":true},{"location":"/opt/skills","mountPoint":"/home/me.linux/.claude/skills","writable":false}],"user":{"name":"me","home":"/home/me.linux","shell":"/bin/bash"}}}
{"name":"other"}"#;
        let listed = parse_list_json(json).unwrap();
        assert_eq!(listed.status, "Running");
        let i = listed.instance;
        assert_eq!(i.mounts.len(), 2);
        assert_eq!(i.mounts[0].location, PathBuf::from("/Users/me/Projects"));
        assert!(i.mounts[0].writable);
        assert_eq!(
            i.mounts[1].mount_point,
            PathBuf::from("/home/me.linux/.claude/skills")
        );
        assert!(!i.mounts[1].writable);
        assert_eq!(i.guest_home.as_deref(), Some("/home/me.linux"));
    }

    #[test]
    fn missing_mount_point_defaults_to_location() {
        let i = parse_list_json(r#"{"config":{"mounts":[{"location":"/srv/x"}]}}"#)
            .unwrap()
            .instance;
        assert_eq!(i.mounts[0].mount_point, PathBuf::from("/srv/x"));
        assert!(!i.mounts[0].writable);
    }

    #[test]
    fn relative_or_empty_locations_are_ignored_with_a_reason() {
        let listed = parse_list_json(
            r#"{"config":{"mounts":[{"location":""},{"location":"."},{"location":"rel/dir"},{"location":"/ok"}]}}"#,
        )
        .unwrap();
        assert_eq!(listed.instance.mounts.len(), 1);
        assert_eq!(listed.instance.mounts[0].location, PathBuf::from("/ok"));
        assert_eq!(listed.ignored.len(), 3, "{:?}", listed.ignored);
        assert!(listed.ignored[2].contains("rel/dir"));
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(parse_list_json("").is_err());
        assert!(parse_list_json("not json").is_err());
        assert!(parse_list_json("{}").is_err());
    }
}
