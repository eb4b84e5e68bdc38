//! The `limactl shell` command line. Lima quotes every COMMAND word itself, so words go in
//! as separate arguments, never as shell text.

use std::ffi::OsString;
use std::path::PathBuf;

#[derive(Debug)]
pub struct ShellCommand {
    pub limactl: PathBuf,
    pub workdir: PathBuf,
    pub start: bool,
    pub vm: String,
    /// Names of host variables Lima may pass on; empty means none at all.
    pub forwarded: Vec<String>,
    /// The guest command; its first word is always the profile's program name, so Lima never
    /// takes user text for a `NAME=value` assignment.
    pub command: Vec<OsString>,
}

impl ShellCommand {
    pub fn argv(&self) -> Vec<OsString> {
        let mut argv: Vec<OsString> = vec![
            self.limactl.clone().into(),
            "shell".into(),
            // Always given: without it Lima would cd to the HOST path, wrong under a custom
            // mountPoint, and silently fall back to the home directory when unshared.
            "--workdir".into(),
            self.workdir.clone().into(),
        ];
        if !self.forwarded.is_empty() {
            argv.push("--preserve-env".into());
        }
        if self.start {
            argv.push("--start".into());
        }
        argv.push(self.vm.clone().into());
        argv.extend(self.command.iter().cloned());
        argv
    }

    /// Variables limactl itself needs: block everything, then allow exactly our list
    /// (`LIMA_SHELLENV_ALLOW` alone only exempts names from Lima's default block list).
    pub fn limactl_env(&self) -> Vec<(OsString, OsString)> {
        if self.forwarded.is_empty() {
            return Vec::new();
        }
        vec![
            ("LIMA_SHELLENV_BLOCK".into(), "*".into()),
            (
                "LIMA_SHELLENV_ALLOW".into(),
                self.forwarded.join(",").into(),
            ),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(forwarded: &[&str], start: bool) -> ShellCommand {
        ShellCommand {
            limactl: "/usr/bin/limactl".into(),
            workdir: "/w d".into(),
            start,
            vm: "sandbox".into(),
            forwarded: forwarded.iter().map(|s| s.to_string()).collect(),
            command: vec!["claude".into(), "A=b".into()],
        }
    }

    #[test]
    fn flags_come_before_the_instance() {
        let c = cmd(&["LANG", "TZ"], true);
        let argv: Vec<String> = c
            .argv()
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect();
        assert_eq!(
            argv,
            [
                "/usr/bin/limactl",
                "shell",
                "--workdir",
                "/w d",
                "--preserve-env",
                "--start",
                "sandbox",
                "claude",
                "A=b"
            ]
        );
        assert_eq!(
            c.limactl_env(),
            vec![
                ("LIMA_SHELLENV_BLOCK".into(), "*".into()),
                ("LIMA_SHELLENV_ALLOW".into(), "LANG,TZ".into())
            ]
        );
    }

    #[test]
    fn nothing_to_forward_means_no_preserve_env() {
        let c = cmd(&[], false);
        assert!(!c.argv().contains(&"--preserve-env".into()));
        assert!(!c.argv().contains(&"--start".into()));
        assert!(c.limactl_env().is_empty());
    }
}
