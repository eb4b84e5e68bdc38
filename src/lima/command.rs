//! The `limactl shell` command line. Lima quotes every COMMAND word itself, so words go in
//! as separate arguments, never as shell text.
//!
//! Lima joins the working directory, the forwarded variables and every COMMAND word, each
//! quoted twice, into ONE ssh argument (its SCRIPT; docs/lima.md), and Linux refuses to
//! exec a program with any single argument of 128 KiB or more (MAX_ARG_STRLEN). Arguments
//! that would not fit are staged in the guest first (see `crate::launch`).

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::PathBuf;

use crate::quote::lima_quote;

/// Linux's cap on one argument, the terminating NUL included (include/uapi/linux/binfmts.h).
pub const MAX_ARG_STRLEN: usize = 32 * 4096;
/// Room for the part of SCRIPT shimctl does not know: the guest user's shell path.
const SHELL_MARGIN: usize = 1024;

/// Lima's ssh configuration of a running instance, `ssh -F <instance>/ssh.config
/// lima-NAME`, used over a ControlMaster of shimctl's own (`socket`). Lima's own master
/// cannot carry the variables: a multiplexed session's environment is filtered by the
/// master's `SendEnv` (OpenSSH clientloop.c, client_session2_setup), and Lima starts its
/// master with COLORTERM at most. shimctl's master is started with `SendEnv=*` and no
/// session (`-N`), so it sends exactly what each client passes on, and nothing of its own.
#[derive(Clone, Debug)]
pub struct SshDoor {
    pub ssh: PathBuf,
    pub config: PathBuf,
    pub host: String,
    pub socket: PathBuf,
}

impl SshDoor {
    /// The command that opens the door's connection (once per VM start).
    pub fn master_argv(&self) -> Vec<OsString> {
        let mut argv: Vec<OsString> = vec!["-F".into(), self.config.clone().into()];
        for opt in [
            "ControlMaster=yes".to_string(),
            format!("ControlPath={}", self.socket.display()),
            "ControlPersist=yes".into(),
            "SendEnv=*".into(),
            "LogLevel=ERROR".into(),
        ] {
            argv.push("-o".into());
            argv.push(opt.into());
        }
        argv.extend(["-N".into(), "-f".into(), self.host.clone().into()]);
        argv
    }
}

#[derive(Clone, Debug)]
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

    /// SCRIPT as Lima builds it (cmd/limactl/shell.go):
    /// `cd Q(workdir) || exit 1 ; exec [env Q(K=V) ...]SHELL -l [-c Q(Q(word) ...)]`, where
    /// `env` holds the forwarded variables' values when they travel in the script.
    pub fn lima_script(&self, env: &[(&str, OsString)], shell: &[u8]) -> Vec<u8> {
        let mut script = b"cd ".to_vec();
        script.extend(lima_quote(self.workdir.as_os_str().as_bytes()));
        script.extend_from_slice(b" || exit 1 ; exec ");
        if !env.is_empty() {
            script.extend_from_slice(b"env ");
            for (name, value) in env {
                let mut kv = name.as_bytes().to_vec();
                kv.push(b'=');
                kv.extend_from_slice(value.as_bytes());
                script.extend(lima_quote(&kv));
                script.push(b' ');
            }
        }
        script.extend_from_slice(shell);
        script.extend_from_slice(b" -l");
        if !self.command.is_empty() {
            let words: Vec<Vec<u8>> = self
                .command
                .iter()
                .map(|w| lima_quote(OsStr::as_bytes(w)))
                .collect();
            script.extend_from_slice(b" -c ");
            script.extend(lima_quote(&words.join(&b' ')));
        }
        script
    }

    /// The length of the SCRIPT limactl will build, `value` giving each forwarded
    /// variable's value. The shell path is not known here; [`Self::fits_one_argument`]
    /// leaves room for it.
    pub fn script_len(&self, value: impl Fn(&str) -> Option<OsString>) -> usize {
        let env: Vec<(&str, OsString)> = self
            .forwarded
            .iter()
            .filter_map(|n| value(n).map(|v| (n.as_str(), v)))
            .collect();
        let mut len = self.lima_script(&env, b"").len();
        if !self.forwarded.is_empty() && env.is_empty() {
            len += "env ".len();
        }
        len
    }

    /// The ssh command that runs this through Lima's ssh configuration, as limactl would
    /// but without it: the same SCRIPT, except that forwarded variables travel by ssh's
    /// environment channel (`SendEnv`, values in ssh's own environment), never in an
    /// argument. None when SCRIPT would not fit in one argument: the guest's sshd runs it as
    /// `SHELL -c SCRIPT`, one argument there too (the caller stages then).
    /// `colorterm`: COLORTERM is set here (limactl's own ssh sends it; so does the door).
    pub fn ssh_argv(
        &self,
        door: &SshDoor,
        shell: &str,
        tty: bool,
        colorterm: bool,
    ) -> Option<Vec<OsString>> {
        let script = self.lima_script(&[], &lima_quote(shell.as_bytes()));
        if script.len() + SHELL_MARGIN >= MAX_ARG_STRLEN {
            return None;
        }
        let mut argv: Vec<OsString> = vec![
            door.ssh.clone().into(),
            "-F".into(),
            door.config.clone().into(),
            "-o".into(),
            format!("ControlPath={}", door.socket.display()).into(),
            // A client only: should the connection be gone, ssh connects on its own.
            "-o".into(),
            "ControlMaster=no".into(),
        ];
        if tty {
            argv.push("-t".into());
        }
        for name in &self.forwarded {
            argv.push("-o".into());
            argv.push(format!("SendEnv={name}").into());
        }
        if colorterm && !self.forwarded.iter().any(|n| n == "COLORTERM") {
            argv.extend(["-o".into(), "SendEnv=COLORTERM".into()]);
        }
        argv.extend([
            "-o".into(),
            "LogLevel=ERROR".into(),
            door.host.clone().into(),
            "--".into(),
            OsString::from_vec(script),
        ]);
        Some(argv)
    }

    /// Whether Lima's SCRIPT for this command fits in one exec argument.
    pub fn fits_one_argument(&self, value: impl Fn(&str) -> Option<OsString>) -> bool {
        // A quick bound first: quoting twice makes a word at most 4x + 8 longer.
        let rough: usize = self.command.iter().map(|w| w.len() * 4 + 8).sum::<usize>()
            + self.workdir.as_os_str().len() * 4;
        if rough + SHELL_MARGIN * 8 < MAX_ARG_STRLEN && self.forwarded.is_empty() {
            return true;
        }
        self.script_len(value) + SHELL_MARGIN < MAX_ARG_STRLEN
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

    /// SCRIPT built the long way, as Lima does, with `/bin/bash` for the shell.
    fn lima_script(c: &ShellCommand, env: &[(&str, &str)]) -> Vec<u8> {
        let mut s = b"cd ".to_vec();
        s.extend(lima_quote(c.workdir.as_os_str().as_bytes()));
        s.extend_from_slice(b" || exit 1 ; exec ");
        if !c.forwarded.is_empty() {
            s.extend_from_slice(b"env ");
            for (k, v) in env {
                s.extend(lima_quote(format!("{k}={v}").as_bytes()));
                s.push(b' ');
            }
        }
        s.extend_from_slice(b"/bin/bash -l -c ");
        let words: Vec<Vec<u8>> = c.command.iter().map(|w| lima_quote(w.as_bytes())).collect();
        s.extend(lima_quote(&words.join(&b' ')));
        s
    }

    #[test]
    fn script_length_is_what_lima_builds() {
        let mut c = cmd(&["LANG", "TZ"], true);
        c.command = vec![
            "claude".into(),
            "it's \"quoted\" $x".into(),
            "".into(),
            OsString::from_vec(b"\xff'".to_vec()),
        ];
        let env = [("LANG", "C.UTF-8"), ("TZ", "it's")];
        let value = |n: &str| env.iter().find(|(k, _)| *k == n).map(|(_, v)| v.into());
        let script = lima_script(&c, &env);
        assert_eq!(c.script_len(value) + "/bin/bash".len(), script.len());
        let pairs: Vec<(&str, OsString)> = env.iter().map(|(k, v)| (*k, (*v).into())).collect();
        assert_eq!(c.lima_script(&pairs, b"/bin/bash"), script);
    }

    #[test]
    fn the_ssh_door_sends_the_same_script_and_no_values() {
        let mut c = cmd(&["LANG", "TZ"], false);
        c.command = vec!["claude".into(), "it's a b".into()];
        let door = SshDoor {
            ssh: "/usr/bin/ssh".into(),
            config: "/l/sandbox/ssh.config".into(),
            host: "lima-sandbox".into(),
            socket: "/l/sandbox/shimctl-door.sock".into(),
        };
        let argv = c.ssh_argv(&door, "/bin/bash", true, false).unwrap();
        let at = argv.iter().position(|a| a == "--").unwrap();
        assert_eq!(argv[at - 1], "lima-sandbox");
        assert!(argv.contains(&"-t".into()));
        assert!(argv.contains(&"SendEnv=LANG".into()) && argv.contains(&"SendEnv=TZ".into()));
        // limactl's SCRIPT without `env`: the values go by SendEnv.
        assert_eq!(
            argv[at + 1..],
            [OsString::from_vec(c.lima_script(&[], b"/bin/bash"))]
        );
        // Too long for the guest's `SHELL -c`: the caller stages it.
        c.command = vec!["claude".into(), "x".repeat(140_000).into()];
        assert!(c.ssh_argv(&door, "/bin/bash", false, false).is_none());
    }

    #[test]
    fn long_arguments_do_not_fit() {
        let mut c = cmd(&[], false);
        c.command = vec!["claude".into(), "x".repeat(100_000).into()];
        assert!(c.fits_one_argument(|_| None), "100 KB of plain text fits");
        c.command = vec!["claude".into(), "it's ".repeat(20_000).into()];
        assert!(!c.fits_one_argument(|_| None), "quotes grow 4x and more");
        c.command = vec!["claude".into(), "a b".repeat(60_000).into()];
        assert!(!c.fits_one_argument(|_| None));
    }

    #[test]
    fn nothing_to_forward_means_no_preserve_env() {
        let c = cmd(&[], false);
        assert!(!c.argv().contains(&"--preserve-env".into()));
        assert!(!c.argv().contains(&"--start".into()));
        assert!(c.limactl_env().is_empty());
    }
}
