//! A world for end-to-end tests: a temporary host HOME with shims, the Lima stand-in
//! (tests/lima-standin/limactl) as `limactl`, a VM whose simulated guest has fake agents
//! that record how they were started, and a project directory shared with the VM.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub use crate::guest::{DEDICATED_USER, Sshd, guest_user, ssh_config};

pub const SHIMCTL: &str = env!("CARGO_BIN_EXE_shimctl");
const STANDIN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/lima-standin/limactl");
const FAKE_AGENT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/lima-standin/fake-agent");
pub const AGENTS: &[&str] = &[
    "claude",
    "codex",
    "opencode",
    "gemini",
    "copilot",
    "aider",
    "amp",
    "cursor-agent",
    "pi",
];

pub struct World {
    /// Dropped before the directory it lives in.
    pub sshd: Sshd,
    _tmp: tempfile::TempDir,
    /// Resolved (no symlinks), so paths compare with what getcwd reports.
    pub root: PathBuf,
    pub home: PathBuf,
    pub lima_home: PathBuf,
    pub lima_bin: PathBuf,
    pub shims: PathBuf,
    pub guest_home: PathBuf,
    pub guest_bin: PathBuf,
    pub project: PathBuf,
    pub log: PathBuf,
}

fn python() -> String {
    for p in ["/usr/bin/python3", "/usr/local/bin/python3"] {
        if Path::new(p).exists() {
            return p.into();
        }
    }
    let out = Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .expect("python3 is needed to run the Lima stand-in");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// SHIMCTL_TEST_EGRESS=1: run the suite with egress on (`.ci/run` runs it both ways).
pub fn egress_mode() -> bool {
    std::env::var_os("SHIMCTL_TEST_EGRESS").is_some_and(|v| v == "1")
}

pub fn symlink(target: &Path, link: &Path) {
    std::os::unix::fs::symlink(target, link).unwrap();
}

/// A world with a few choices made before it is built (Volta's sandbox builder).
#[derive(Default)]
pub struct Builder {
    config: Option<String>,
    stopped: bool,
}

impl Builder {
    pub fn config(mut self, text: &str) -> Self {
        self.config = Some(text.to_string());
        self
    }

    pub fn stopped(mut self) -> Self {
        self.stopped = true;
        self
    }

    pub fn build(self) -> World {
        let w = World::new();
        if let Some(text) = &self.config {
            w.write_config(text);
        }
        if self.stopped {
            w.set_running("sandbox", false);
        }
        w
    }
}

impl World {
    pub fn builder() -> Builder {
        Builder::default()
    }

    pub fn new() -> World {
        // Not under /tmp: the egress sandbox gives the agent a private /tmp, and the fake
        // agents must stay visible in it.
        let tmp = tempfile::Builder::new()
            .prefix("e2e-world.")
            .tempdir_in("/var/tmp")
            .unwrap();
        let root = std::fs::canonicalize(tmp.path()).unwrap();
        // The guest user must reach the project, the guest home and the fake agents.
        std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o755)).unwrap();
        let guest_home = root.join("guest-home");
        let lima_home = root.join("home/.lima");
        std::fs::create_dir_all(&guest_home).unwrap();
        let sshd = Sshd::start(&root.join("sshd"), &guest_home, &root);
        let w = World {
            home: root.join("home"),
            lima_home,
            lima_bin: root.join("lima-bin"),
            shims: root.join("home/.local/share/shimctl/shims"),
            guest_home: guest_home.clone(),
            // The guest user's own tools, as the template installs them: the agent's
            // sandbox shows ~/.local/bin read-only.
            guest_bin: guest_home.join(".local/bin"),
            project: root.join("home/Projects/app"),
            log: root.join("limactl.log"),
            root,
            sshd,
            _tmp: tmp,
        };
        for d in [
            &w.home,
            &w.lima_home.join("_config"),
            &w.lima_bin,
            &w.shims,
            &w.guest_bin,
            &w.project,
        ] {
            std::fs::create_dir_all(d).unwrap();
        }
        if guest_user().1 {
            let ok = Command::new("chown")
                .arg(DEDICATED_USER)
                .arg(&w.guest_home)
                .status()
                .unwrap()
                .success();
            assert!(ok);
        }
        // Lima's own key for the guest, as in $LIMA_HOME/_config/user.
        let key = w.lima_home.join("_config/user");
        std::fs::copy(&w.sshd.client_key, &key).unwrap();
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        let standin = std::fs::read_to_string(STANDIN).unwrap();
        let body = standin.split_once('\n').unwrap().1;
        w.write_exec(
            &w.lima_bin.join("limactl"),
            &format!("#!{}\n{body}", python()),
        );
        // A copy the guest user can run wherever the repository is.
        let fake = w.guest_bin.join("fake-agent");
        std::fs::copy(FAKE_AGENT, &fake).unwrap();
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        for agent in AGENTS {
            symlink(&fake, &w.guest_bin.join(agent));
        }
        for agent in ["claude", "codex", "opencode"] {
            symlink(Path::new(SHIMCTL), &w.shims.join(agent));
        }
        std::fs::write(
            w.guest_home.join(".bash_profile"),
            format!("PATH={}:$PATH\n", w.guest_bin.display()),
        )
        .unwrap();
        w.make_vm("sandbox", &[(&w.root.join("home/Projects"), None, true)]);
        if egress_mode() {
            w.write_config("");
        }
        w
    }

    /// A config agent whose full-auto is only a variable, so the argv it receives is exactly
    /// the user's: the agent for byte-for-byte tests. Returns its name.
    pub fn plain_agent(&self) -> &'static str {
        let file = self.home.join(".config/shimctl/config.toml");
        let before = std::fs::read_to_string(&file).unwrap_or_default();
        self.write_config(&format!(
            "{before}\n[agents.pi]\nfull_auto_env = {{ PI_AUTO = \"1\" }}\n"
        ));
        let link = self.shims.join("pi");
        if !link.exists() {
            symlink(Path::new(SHIMCTL), &link);
        }
        "pi"
    }

    pub fn write_exec(&self, path: &Path, text: &str) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::write(path, text).unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    /// Links NAME in the shim directory to shimctl, as `shimctl install NAME` would, and
    /// returns the link.
    pub fn link_shim(&self, name: &str) -> PathBuf {
        let link = self.shims.join(name);
        if std::fs::symlink_metadata(&link).is_err() {
            symlink(Path::new(SHIMCTL), &link);
        }
        link
    }

    /// A program of the host's own named NAME running SCRIPT, in the world's `host-bin`
    /// directory (which is on no PATH until a test puts it there); returns that directory.
    pub fn host_program(&self, name: &str, script: &str) -> PathBuf {
        let dir = self.root.join("host-bin");
        std::fs::create_dir_all(&dir).unwrap();
        self.write_exec(&dir.join(name), script);
        dir
    }

    /// Creates (or rewrites) an instance with these mounts: (location, mountPoint, writable).
    pub fn make_vm(&self, name: &str, mounts: &[(&Path, Option<&Path>, bool)]) {
        let dir = self.lima_home.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let mounts: Vec<serde_json::Value> = mounts
            .iter()
            .map(|(loc, mp, w)| {
                let mut m = serde_json::json!({"location": loc.to_str().unwrap(), "writable": w});
                if let Some(mp) = mp {
                    m["mountPoint"] = mp.to_str().unwrap().into();
                }
                m
            })
            .collect();
        let yaml = serde_json::json!({
            "mounts": mounts,
            "user": {"home": self.guest_home.to_str().unwrap(), "shell": "/bin/bash"},
        });
        self.write_ssh_config(name);
        std::fs::write(
            dir.join("lima.yaml"),
            serde_json::to_vec_pretty(&yaml).unwrap(),
        )
        .unwrap();
        self.set_running(name, true);
    }

    /// `<instance>/ssh.config` as Lima writes it: how to reach the guest's sshd.
    pub fn write_ssh_config(&self, name: &str) {
        let dir = self.lima_home.join(name);
        std::fs::write(
            dir.join("ssh.config"),
            ssh_config(name, &self.lima_home, self.sshd.port, &self.sshd.user),
        )
        .unwrap();
    }

    /// Running, as the stand-in judges it: `ha.pid` names a live process (this test's).
    pub fn set_running(&self, name: &str, running: bool) {
        let pid_file = self.lima_home.join(name).join("ha.pid");
        if running {
            std::fs::write(pid_file, std::process::id().to_string()).unwrap();
        } else {
            let _ = std::fs::remove_file(pid_file);
        }
    }

    /// The environment every run starts from: nothing of the test runner's.
    pub fn base_env(&self, cmd: &mut Command) {
        cmd.env_clear()
            .env("HOME", &self.home)
            .env("USER", "tester")
            .env(
                "PATH",
                format!(
                    "{}:{}:/usr/bin:/bin",
                    self.shims.display(),
                    self.lima_bin.display()
                ),
            )
            .env("FAKE_LIMA_LOG", &self.log)
            // For instances the stand-in creates: where their guest's sshd listens.
            .env("FAKE_LIMA_SSH_PORT", self.sshd.port.to_string())
            .env("FAKE_LIMA_SSH_USER", &self.sshd.user)
            .current_dir(&self.project);
    }

    /// A command that runs `agent` through its shim symlink.
    pub fn shim(&self, agent: &str) -> Command {
        let mut cmd = Command::new(self.shims.join(agent));
        self.base_env(&mut cmd);
        cmd
    }

    pub fn shimctl(&self) -> Command {
        let mut cmd = Command::new(SHIMCTL);
        self.base_env(&mut cmd);
        cmd
    }

    /// An empty config even in egress mode: for tests of what explain prints without it.
    pub fn no_egress(&self) {
        let dir = self.home.join(".config/shimctl");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("config.toml"), "").unwrap();
    }

    /// Writes the config; in egress mode (SHIMCTL_TEST_EGRESS=1) with an `[egress]` table
    /// added, so every agent start goes through the egress sandbox.
    pub fn write_config(&self, text: &str) {
        let dir = self.home.join(".config/shimctl");
        std::fs::create_dir_all(&dir).unwrap();
        let text = if egress_mode() && !text.contains("[egress]") {
            format!("{text}\n[egress]\n")
        } else {
            text.to_string()
        };
        std::fs::write(dir.join("config.toml"), text).unwrap();
    }

    /// Read by the fake agents from beside themselves (the sandbox shows them read-only).
    pub fn set_exit_status(&self, code: i32) {
        std::fs::write(self.guest_bin.join("exit-status"), code.to_string()).unwrap();
    }

    /// The home the agents see: their sandbox's own (made at the first start), or the
    /// guest user's without the sandbox.
    pub fn agent_home(&self) -> PathBuf {
        let private = self.guest_home.join(".shimctl-sandbox/home");
        if private.is_dir() {
            private
        } else {
            self.guest_home.clone()
        }
    }

    fn records(&self) -> PathBuf {
        self.agent_home().join("records")
    }

    pub fn record(&self, agent: &str) -> Record {
        let d = self.records().join(agent);
        let read = |f: &str| std::fs::read(d.join(f)).unwrap_or_default();
        let split = |bytes: Vec<u8>| -> Vec<Vec<u8>> {
            let mut parts: Vec<Vec<u8>> = bytes.split(|&b| b == 0).map(<[u8]>::to_vec).collect();
            parts.pop();
            parts
        };
        assert!(d.join("argv").exists(), "{agent} did not run in the guest");
        Record {
            argv: split(read("argv")),
            cwd: PathBuf::from(OsStr::from_bytes(&read("cwd"))),
            env: split(read("env"))
                .into_iter()
                .filter_map(|kv| {
                    let kv = String::from_utf8_lossy(&kv).into_owned();
                    kv.split_once('=')
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                })
                .collect(),
            stdin_tty: read("stdin-tty").starts_with(b"yes"),
            stdout_tty: read("stdout-tty").starts_with(b"yes"),
            stdin: read("stdin"),
        }
    }

    /// Whether any agent ran in the guest.
    pub fn any_ran(&self) -> bool {
        std::fs::read_dir(self.records()).is_ok_and(|mut d| d.next().is_some())
    }

    pub fn ran(&self, agent: &str) -> bool {
        self.records().join(agent).join("argv").exists()
    }

    /// Every limactl invocation so far, as argument lists.
    pub fn limactl_calls(&self) -> Vec<Vec<String>> {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        text.lines()
            .filter_map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                v.get("argv").map(|a| {
                    a.as_array()
                        .unwrap()
                        .iter()
                        .map(|w| {
                            let bytes: Vec<u8> = w
                                .as_array()
                                .unwrap()
                                .iter()
                                .map(|b| b.as_u64().unwrap() as u8)
                                .collect();
                            String::from_utf8_lossy(&bytes).into_owned()
                        })
                        .collect()
                })
            })
            .collect()
    }

    /// The arguments of the last `limactl shell` call.
    pub fn last_shell_call(&self) -> Vec<String> {
        self.limactl_calls()
            .into_iter()
            .rev()
            .find(|c| c[0] == "shell")
            .expect("limactl shell was called")
    }

    pub fn clear_log(&self) {
        let _ = std::fs::remove_file(&self.log);
    }
}

pub struct Record {
    pub argv: Vec<Vec<u8>>,
    pub cwd: PathBuf,
    pub env: BTreeMap<String, String>,
    pub stdin_tty: bool,
    pub stdout_tty: bool,
    pub stdin: Vec<u8>,
}

pub use crate::terminal::parent_pid;

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn words(xs: &[&str]) -> Vec<Vec<u8>> {
    xs.iter().map(|s| s.as_bytes().to_vec()).collect()
}

/// The run failed the way shimctl fails: this exit status, one message that mentions each
/// of `mentions`, no panic, and no agent ran anywhere.
#[track_caller]
pub fn assert_failed(w: &World, out: &Output, code: i32, mentions: &[&str]) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(code), "stderr: {err}");
    assert!(!err.contains("panicked"), "{err}");
    for m in mentions {
        assert!(err.contains(m), "expected {m:?} in: {err}");
    }
    assert!(!w.any_ran(), "an agent ran although the run failed: {err}");
}

pub fn is_root() -> bool {
    // SAFETY: no memory effects.
    unsafe { libc::geteuid() == 0 }
}

/// Tests that need root (namespaces, a second user, the whole file system read from
/// outside); CI runs as root. Elsewhere they fail unless explicitly skipped, so a green
/// run never hides them. `why`: what they need root for.
pub fn root_or_skip(why: &str) -> bool {
    if is_root() {
        return true;
    }
    assert!(
        std::env::var_os("SHIMCTL_SKIP_ROOT_TESTS").is_some(),
        "these tests need root ({why}); set SHIMCTL_SKIP_ROOT_TESTS=1 to skip them"
    );
    false
}

/// The sandbox launcher of the world rooted at `root` (its command line names the world's
/// share), if it runs: the top one, since its subshells (a `$(...)`, the scan's
/// `<(find ...)`) carry the same command line.
pub fn launcher_of(root: &Path) -> Option<u32> {
    let root = root.display().to_string();
    let found: Vec<u32> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let cmdline = std::fs::read(e.path().join("cmdline")).ok()?;
            let words: Vec<&[u8]> = cmdline.split(|&b| b == 0).collect();
            let is_launcher = words.get(3) == Some(&b"shimctl-sandbox".as_slice())
                && words.iter().any(|w| w.starts_with(root.as_bytes()));
            let pid = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            is_launcher.then_some(pid)
        })
        .collect();
    // The launcher's subshells carry its command line; the launcher is the one whose
    // parent is not among them. A subshell that ended while this ran has no parent to read
    // and is no candidate: with pids wrapped (pid_max 32768 here) it can sort before the
    // launcher, and killing it would leave the launcher running.
    found.iter().copied().find(|p| {
        parent_pid(Path::new(&format!("/proc/{p}"))).is_some_and(|pp| !found.contains(&pp))
    })
}

/// The `check NAME RESULT` lines a test agent (tests/egress/escape-agent,
/// tests/sandbox/attacker) prints, by name.
pub fn checks(stdout: &str) -> BTreeMap<String, String> {
    stdout
        .lines()
        .filter_map(|l| l.strip_prefix("check "))
        .filter_map(|l| l.split_once(' '))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The value of explain's `NAME:` line in OUT.
pub fn field<'a>(out: &'a str, name: &str) -> &'a str {
    out.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .unwrap_or_else(|| panic!("no `{name}:` line in\n{out}"))
        .trim()
}

/// shimctl's status when it cannot run what was asked (no limactl, no VM, bad config, a
/// directory not shared): never the agent's, which passes through untouched.
pub const CANNOT_RUN: i32 = 125;
