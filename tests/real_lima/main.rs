//! The real-Lima tier: shimctl against a real limactl and a real guest booted under QEMU,
//! through the installed shim and `shimctl` commands only. `tests/real-lima/run` prepares
//! the Lima install (tests/real-lima/prepare) and runs this binary; docs/real-lima.md says
//! what it covers. One VM boot serves the scenarios that allow it, in name order (the tier
//! runs with one test thread; a lock keeps them apart all the same).
//!
//! Without SHIMCTL_REAL_LIMA_DIR (the prepared install) these tests fail, unless
//! SHIMCTL_SKIP_REAL_LIMA=1 says to skip them; CI never sets it.

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock};

#[path = "../support/terminal.rs"]
mod terminal;
use terminal::terminal_is_raw;

const SHIMCTL: &str = env!("CARGO_BIN_EXE_shimctl");
const REPO: &str = env!("CARGO_MANIFEST_DIR");
const VM: &str = "sandbox";

struct Tier {
    dir: PathBuf,
    user: String,
    home: PathBuf,
    template: PathBuf,
}

static LOCK: Mutex<()> = Mutex::new(());
static TIER: OnceLock<Option<Tier>> = OnceLock::new();

fn tier() -> Option<(&'static Tier, MutexGuard<'static, ()>)> {
    let guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let t = TIER.get_or_init(|| {
        let Some(dir) = std::env::var_os("SHIMCTL_REAL_LIMA_DIR") else {
            assert!(
                std::env::var_os("SHIMCTL_SKIP_REAL_LIMA").is_some_and(|v| v == "1"),
                "the real-Lima tier needs SHIMCTL_REAL_LIMA_DIR (run tests/real-lima/run), or SHIMCTL_SKIP_REAL_LIMA=1 to skip it"
            );
            return None;
        };
        let dir = PathBuf::from(dir);
        let user = std::env::var("SHIMCTL_REAL_LIMA_USER").unwrap_or_else(|_| "shimlima".into());
        let home = PathBuf::from(format!("/home/{user}"));
        let t = Tier {
            template: dir.join("template.yaml"),
            dir,
            user,
            home,
        };
        t.install();
        Some(t)
    });
    t.as_ref().map(|t| (t, guard))
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

impl Tier {
    fn shims(&self) -> PathBuf {
        self.home.join(".local/share/shimctl/shims")
    }

    /// A command as the Lima user, with nothing of this process's environment but what a
    /// user's shell would have.
    fn cmd(&self, program: &str) -> Command {
        let mut c = Command::new("runuser");
        c.args(["-u", &self.user, "--", "env", "-i"])
            .arg(format!("HOME={}", self.home.display()))
            .arg(format!("USER={}", self.user))
            .arg(format!("LIMA_HOME={}", self.home.join(".lima").display()))
            .arg(format!(
                "QEMU_SYSTEM_X86_64={}",
                self.dir.join("bin/qemu-system-x86_64").display()
            ))
            .arg(format!(
                "PATH={}:{}:/usr/bin:/bin",
                self.shims().display(),
                self.dir.join("bin").display()
            ))
            .arg("LANG=C.UTF-8")
            .arg(program)
            .current_dir(self.home.join("Projects/app"));
        c
    }

    fn shimctl(&self, args: &[&str]) -> Output {
        self.cmd(SHIMCTL).args(args).output().unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.shimctl(args);
        assert!(
            out.status.success(),
            "shimctl {args:?}: {}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        text(&out.stdout)
    }

    fn write_config(&self, body: &str) {
        let dir = self.home.join(".config/shimctl");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("config.toml"), body).unwrap();
        chown(&self.user, &self.home.join(".config"));
    }

    /// shimctl's shims for the Lima user, a project, a config; the VM made from the offline
    /// template and started (once for the whole tier).
    fn install(&self) {
        // The tier's user is the tier's own: what an earlier run left in its home (shims
        // linked to another checkout's binary, a config, a VM whose mounts name another
        // checkout's paths) would decide this run. Starting from nothing costs a boot;
        // SHIMCTL_REAL_LIMA_REUSE=1 keeps the VM for a quicker run by hand.
        for d in [
            ".local/share/shimctl",
            ".config/shimctl",
            ".cache/shimctl",
            "Projects",
        ] {
            let _ = std::fs::remove_dir_all(self.home.join(d));
        }
        if std::env::var_os("SHIMCTL_REAL_LIMA_REUSE").is_none_or(|v| v != "1") {
            let _ = self.cmd("limactl").args(["delete", "-f", VM]).output();
        }
        // Task VMs an earlier run of g_ left (their worktrees went with Projects).
        let _ = self
            .cmd("limactl")
            .args(["delete", "-f", "task-ga", "task-gb"])
            .output();
        for d in ["Projects/app", ".local/share"] {
            std::fs::create_dir_all(self.home.join(d)).unwrap();
        }
        chown(&self.user, &self.home);
        self.write_config("vm_timeout = 600\n[agents.pi]\ncommand = \"pi\"\nfull_auto_env = { PI_AUTO = \"1\" }\n");
        self.ok(&["install", "claude", "codex", "pi"]);
        let listed = self
            .cmd("limactl")
            .args(["list", "--json"])
            .output()
            .unwrap();
        if !text(&listed.stdout).contains(&format!("\"name\":\"{VM}\"")) {
            let started = std::time::Instant::now();
            let out = self.shimctl(&[
                "vm",
                "create",
                "--template",
                self.template.to_str().unwrap(),
            ]);
            if !out.status.success() {
                // About one boot in a dozen hangs under software emulation: once more.
                eprintln!(
                    "real-lima: vm create failed, retrying the start: {}",
                    text(&out.stderr)
                );
                let _ = self.cmd("limactl").args(["stop", "-f", VM]).output();
                self.ok(&["vm", "start"]);
            }
            eprintln!(
                "real-lima: VM created and started in {:.0?} (accelerator {})",
                started.elapsed(),
                std::env::var("SHIMCTL_REAL_LIMA_ACCEL").unwrap_or_default()
            );
        }
        // A VM left from an earlier run may be stopped (.ci/run stops it at the end).
        self.ensure_running();
        // The fake agent (tests/lima-standin/fake-agent) in the guest user's ~/.local/bin.
        let fake = std::fs::read(Path::new(REPO).join("tests/lima-standin/fake-agent")).unwrap();
        self.run_in_guest(
            "mkdir -p ~/.local/bin && cat > ~/.local/bin/fake-agent && chmod 755 ~/.local/bin/fake-agent && for a in pi codex; do ln -sf fake-agent ~/.local/bin/$a; done",
            &fake,
        );
    }

    /// The harness's own command in the guest, outside the sandbox, with stdin: straight
    /// through limactl (the scenarios go through the shim and shimctl).
    fn run_in_guest(&self, script: &str, stdin: &[u8]) -> Vec<u8> {
        self.run_in(VM, script, stdin)
    }

    /// The same in another VM of the tier's (a task's).
    fn run_in(&self, vm: &str, script: &str, stdin: &[u8]) -> Vec<u8> {
        let mut child = self
            .cmd("limactl")
            .args(["shell", "--workdir", "/", vm, "bash", "-c", script])
            .current_dir(&self.home)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child.stdin.take().unwrap().write_all(stdin).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{script}: {}", text(&out.stderr));
        out.stdout
    }

    fn ensure_running(&self) {
        let listed = self
            .cmd("limactl")
            .args(["list", "--json", VM])
            .output()
            .unwrap();
        if !text(&listed.stdout).contains("\"status\":\"Running\"") {
            self.ok(&["vm", "start"]);
        }
    }

    /// The last record of the fake agent NAME in the sandbox's home: argv words, cwd, env.
    fn record(&self, name: &str) -> Record {
        self.record_in(VM, name)
    }

    fn record_in(&self, vm: &str, name: &str) -> Record {
        let script = format!(
            "d=~/.shimctl-sandbox/home/records/{name}; [ -d $d ] || d=~/records/{name}; for f in argv cwd env; do base64 -w0 $d/$f; echo; done"
        );
        let out = text(&self.run_in(vm, &script, b""));
        let mut lines = out.lines().map(|l| decode(l.trim()));
        let split = |b: Vec<u8>| -> Vec<Vec<u8>> {
            let mut v: Vec<Vec<u8>> = b.split(|&c| c == 0).map(<[u8]>::to_vec).collect();
            v.pop();
            v
        };
        let argv = split(lines.next().unwrap());
        let cwd = lines.next().unwrap();
        let env = split(lines.next().unwrap())
            .into_iter()
            .filter_map(|kv| {
                let kv = text(&kv);
                kv.split_once('=')
                    .map(|(k, v)| (k.to_string(), v.to_string()))
            })
            .collect();
        (argv, cwd, env)
    }
}

type Record = (Vec<Vec<u8>>, Vec<u8>, Vec<(String, String)>);

fn chown(user: &str, path: &Path) {
    let ok = Command::new("chown")
        .arg("-R")
        .arg(user)
        .arg(path)
        .status()
        .unwrap()
        .success();
    assert!(ok);
}

/// Standard base64 (what coreutils' `base64 -w0` writes) back to bytes.
fn decode(s: &str) -> Vec<u8> {
    let value = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64: {c}"),
        }
    };
    let mut out = Vec::with_capacity(s.len() / 4 * 3);
    for chunk in s.as_bytes().chunks(4) {
        let data: Vec<u8> = chunk.iter().copied().filter(|&c| c != b'=').collect();
        let mut n = 0u32;
        for (i, &c) in data.iter().enumerate() {
            n |= value(c) << (18 - 6 * i);
        }
        let bytes = n.to_be_bytes();
        out.extend_from_slice(&bytes[1..data.len().max(1)]);
    }
    out
}

#[test]
fn a_the_shipped_template_validates_and_the_vm_is_healthy() {
    let Some((t, _g)) = tier() else { return };
    let out = t
        .cmd("limactl")
        .arg("validate")
        .arg(Path::new(REPO).join("install/lima/agent.yaml"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    t.ensure_running();
    let status: serde_json::Value = serde_json::from_str(&t.ok(&["status", "--json"])).unwrap();
    assert_eq!(status["vm"]["status"], "Running", "{status}");
    assert_eq!(
        status["vm"]["lima_version"],
        std::env::var("SHIMCTL_REAL_LIMA_VERSION").unwrap_or_default()
    );
}

#[test]
fn b_shares_edit_the_real_lima_yaml_while_stopped() {
    let Some((t, _g)) = tier() else { return };
    t.ok(&["vm", "stop"]);
    // doctor on a stopped VM: says so, with the fix.
    let out = t.shimctl(&["doctor"]);
    assert!(
        text(&out.stdout).contains("is not running"),
        "{}",
        text(&out.stdout)
    );
    let odd = t.home.join("Projects/odd name 'q' $x \\ ü");
    std::fs::create_dir_all(&odd).unwrap();
    let other = t.home.join("Shared/docs");
    std::fs::create_dir_all(&other).unwrap();
    chown(&t.user, &t.home);
    let link = t.home.join("projects-link");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(t.home.join("Projects"), &link).unwrap();
    let yaml = || std::fs::read_to_string(t.home.join(".lima/sandbox/lima.yaml")).unwrap();
    // Every spelling is one share; Lima's own yq does the editing.
    let mounts = || -> Vec<serde_json::Value> {
        let listed = t
            .cmd("limactl")
            .args(["list", "--json", VM])
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
        v["config"]["mounts"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    };
    t.ok(&["share", t.home.join("Projects").to_str().unwrap()]);
    t.ok(&["share", &format!("{}/", link.display())]);
    assert_eq!(mounts().len(), 1, "{}", yaml());
    t.ok(&[
        "share",
        other.to_str().unwrap(),
        "--read-only",
        "--at",
        "/srv/docs",
    ]);
    let y = yaml();
    assert!(y.contains("/srv/docs"), "{y}");
    let mounts = mounts();
    assert_eq!(mounts.len(), 2, "{mounts:?}");
    let docs = mounts
        .iter()
        .find(|m| m["mountPoint"] == "/srv/docs")
        .unwrap();
    assert_eq!(docs["writable"], false);
    let projects = mounts
        .iter()
        .find(|m| m["location"] == t.home.join("Projects").to_str().unwrap())
        .unwrap();
    assert_eq!(projects["writable"], true);
    // A name with spaces, quotes, `$`, a backslash and unicode, inside a share: refused
    // as overlapping, by its real name.
    let out = t.shimctl(&["share", odd.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("overlaps"),
        "{}",
        text(&out.stderr)
    );
    t.ok(&["unshare", other.to_str().unwrap()]);
    assert!(!yaml().contains("/srv/docs"));
    t.ok(&["vm", "start"]);
    let status: serde_json::Value = serde_json::from_str(&t.ok(&["status", "--json"])).unwrap();
    assert_eq!(status["here"]["shared"], true, "{status}");
}

#[test]
fn c_arguments_env_cwd_and_exit_statuses_through_both_doors() {
    let Some((t, _g)) = tier() else { return };
    t.ensure_running();
    // Three words of 60 KB: more than Lima's one ssh argument holds, so they are staged.
    let big = "x'\"$`\\ ".repeat(7_500);
    let hostile: Vec<&[u8]> = vec![
        b"",
        b"it's $HOME `id` $(id) \"q\" \\",
        b"line\nbreak\ttab",
        b"-p",
        b"\xff\xfe not utf-8",
        big.as_bytes(),
        big.as_bytes(),
        big.as_bytes(),
    ];
    for door in ["limactl", "ssh"] {
        t.write_config(&format!(
            "vm_timeout = 600\ndoor = \"{door}\"\n[agents.pi]\ncommand = \"pi\"\nfull_auto_env = {{ PI_AUTO = \"1\" }}\n"
        ));
        let mut c = t.cmd("pi");
        for a in &hostile {
            c.arg(std::ffi::OsStr::from_bytes(a));
        }
        let out = c
            .env("ANTHROPIC_API_KEY", "not-forwarded-to-pi")
            .output()
            .unwrap();
        assert!(out.status.success(), "{door}: {}", text(&out.stderr));
        let (argv, cwd, env) = t.record("pi");
        assert_eq!(argv.len(), hostile.len(), "{door}");
        for (got, want) in argv.iter().zip(&hostile) {
            assert_eq!(got.as_slice(), *want, "{door}");
        }
        assert_eq!(
            cwd,
            t.home.join("Projects/app").as_os_str().as_bytes(),
            "{door}"
        );
        let names: Vec<&str> = env.iter().map(|(k, _)| k.as_str()).collect();
        assert!(names.contains(&"PI_AUTO"), "{door}: {names:?}");
        assert!(!names.contains(&"ANTHROPIC_API_KEY"), "{door}");
        let home = env
            .iter()
            .find(|(k, _)| k == "HOME")
            .map(|(_, v)| v.clone());
        assert_ne!(
            home.as_deref(),
            t.home.to_str(),
            "{door}: the host's HOME arrived"
        );
        // Exit statuses as the agent gave them.
        for code in [0, 1, 2, 42, 125, 126, 127, 128, 255] {
            t.run_in_guest(&format!("echo {code} > ~/.local/bin/exit-status"), b"");
            let out = t.cmd("pi").arg("x").output().unwrap();
            assert_eq!(
                out.status.code(),
                Some(code),
                "{door}: {}",
                text(&out.stderr)
            );
        }
        t.run_in_guest("rm -f ~/.local/bin/exit-status", b"");
    }
}

#[test]
fn d_nothing_the_agent_plants_runs_on_the_host() {
    let Some((t, _g)) = tier() else { return };
    t.ensure_running();
    t.write_config(
        "vm_timeout = 600\n[agents.attacker]\ncommand = \"attacker\"\nfull_auto = false\n",
    );
    let project = t.home.join("Projects/attacked");
    let _ = std::fs::remove_dir_all(&project);
    std::fs::create_dir_all(&project).unwrap();
    let git = |args: &[&str]| {
        Command::new("git")
            .args([
                "-c",
                "safe.directory=*",
                "-c",
                "user.name=h",
                "-c",
                "user.email=h@h",
            ])
            .args(args)
            .current_dir(&project)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", "/nonexistent")
            .output()
            .unwrap()
    };
    std::fs::write(project.join("README"), "hello\n").unwrap();
    for args in [
        &["init", "-q", "-b", "main"][..],
        &["add", "-A"],
        &["commit", "-qm", "start"],
    ] {
        assert!(git(args).status.success());
    }
    chown(&t.user, &project);
    let link = t.shims().join("attacker");
    if !link.exists() {
        std::os::unix::fs::symlink(SHIMCTL, &link).unwrap();
    }
    let attacker = std::fs::read(Path::new(REPO).join("tests/sandbox/attacker")).unwrap();
    t.run_in_guest(
        "cat > ~/.local/bin/attacker && chmod 755 ~/.local/bin/attacker",
        &attacker,
    );
    let out = t.cmd("attacker").current_dir(&project).output().unwrap();
    let stdout = text(&out.stdout);
    for line in stdout.lines().filter(|l| {
        l.starts_with("check git-config")
            || l.starts_with("check git-hook")
            || l.starts_with("check tool-")
            || l.starts_with("check socket-")
            || l == &"check sudo ESCAPED"
    }) {
        if line.starts_with("check git-config-worktree") {
            continue;
        }
        assert!(
            line.ends_with(" blocked"),
            "{line}\n{stdout}{}",
            text(&out.stderr)
        );
    }
    assert!(
        stdout.contains("check git-commit ok"),
        "{stdout}{}",
        text(&out.stderr)
    );
    for args in [
        &["status"][..],
        &["diff"],
        &["log", "-p", "-1"],
        &["add", "-A"],
        &["commit", "-qm", "host"],
    ] {
        let _ = git(args);
    }
    assert!(
        !project.join(".pwned").exists(),
        "the host ran the agent's program: {}",
        std::fs::read_to_string(project.join(".pwned")).unwrap_or_default()
    );
}

#[test]
fn e_egress_on_the_real_guest() {
    let Some((t, _g)) = tier() else { return };
    t.ensure_running();
    // A server on the host's loopback, which the guest reaches as host.lima.internal.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for stream in listener.incoming().flatten() {
            // The whole request first: a proxy may send it in pieces, and a reply before
            // the last one has the connection reset under it.
            let mut s = stream;
            let mut got = Vec::new();
            let mut buf = [0u8; 2048];
            while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                }
            }
            let _ = s.write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 12\r\n\r\nhello-tier\r\n");
        }
    });
    t.write_config(&format!(
        "vm_timeout = 600\n[egress]\nallow = [\"host.lima.internal:{port}\"]\n[agents.fetcher]\ncommand = \"curl\"\nfull_auto = false\n"
    ));
    let link = t.shims().join("fetcher");
    if !link.exists() {
        std::os::unix::fs::symlink(SHIMCTL, &link).unwrap();
    }
    let out = t
        .cmd("fetcher")
        .args([
            "-sS",
            "--max-time",
            "20",
            &format!("http://host.lima.internal:{port}/"),
        ])
        .output()
        .unwrap();
    assert!(
        text(&out.stdout).contains("hello-tier"),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let out = t
        .cmd("fetcher")
        .args(["-sS", "--max-time", "20", "https://denied.example/"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("shimctl: egress blocked denied.example:443 for fetcher"),
        "{}",
        text(&out.stderr)
    );
    let out = t
        .cmd("fetcher")
        .args([
            "-sS",
            "--max-time",
            "5",
            "--noproxy",
            "*",
            &format!("http://host.lima.internal:{port}/"),
        ])
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "around the proxy: {}",
        text(&out.stdout)
    );
}

#[test]
fn f_the_real_claude_runs_through_the_shim() {
    let Some((t, _g)) = tier() else { return };
    t.ensure_running();
    t.write_config("vm_timeout = 600\n");
    let pinned: serde_json::Value = serde_json::from_slice(
        &std::fs::read(Path::new(REPO).join("tests/agents/package.json")).unwrap(),
    )
    .unwrap();
    let version = pinned["dependencies"]["@anthropic-ai/claude-code"]
        .as_str()
        .unwrap();
    let out = t.cmd("claude").arg("--version").output().unwrap();
    assert!(
        text(&out.stdout).contains(version),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

#[test]
fn base64_decodes_what_coreutils_writes() {
    assert_eq!(decode("aGk="), b"hi");
    assert_eq!(decode("aGVsbG8="), b"hello");
    assert_eq!(decode("AP8K"), [0u8, 255, 10]);
    assert_eq!(decode(""), b"");
}

/// Two tasks cloned from the tier's stopped VM: each agent runs in its own VM, in its own
/// worktree, and sees neither the main checkout nor the other task's worktree.
#[test]
fn g_two_tasks_each_in_a_vm_and_a_worktree_of_its_own() {
    let Some((t, _g)) = tier() else { return };
    let repo = t.home.join("Projects/app");
    let git = |args: &[&str]| {
        let out = t
            .cmd("git")
            .args(["-c", "user.name=Tier", "-c", "user.email=tier@example.test"])
            .arg("-C")
            .arg(&repo)
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {}", text(&out.stderr));
        text(&out.stdout)
    };
    if !repo.join(".git").exists() {
        git(&["init", "-q", "-b", "main"]);
        std::fs::write(repo.join("README"), "app\n").unwrap();
        chown(&t.user, &repo);
        git(&["add", "README"]);
        git(&["commit", "-qm", "start"]);
    }
    t.write_config(
        "vm_timeout = 600\n[agents.pi]\ncommand = \"pi\"\nfull_auto_env = { PI_AUTO = \"1\" }\n",
    );
    // The tier's VM is the base: stopped for the clones, started again at the end.
    t.ok(&["vm", "stop", "--yes"]);
    let tasks = ["ga", "gb"];
    for name in tasks {
        let started = std::time::Instant::now();
        t.ok(&["task", "new", name, "--base", VM]);
        eprintln!("real-lima: task {name} made in {:.1?}", started.elapsed());
    }
    let worktree = |name: &str| t.home.join("Projects/app.tasks").join(name);
    for (name, other) in [("ga", "gb"), ("gb", "ga")] {
        let vm = format!("task-{name}");
        let started = std::time::Instant::now();
        let out = t
            .cmd("pi")
            .arg("from the task")
            .current_dir(worktree(name))
            .output()
            .unwrap();
        assert!(out.status.success(), "{name}: {}", text(&out.stderr));
        eprintln!(
            "real-lima: first agent of task {name} (its VM's first boot) in {:.1?}",
            started.elapsed()
        );
        let (argv, cwd, _) = t.record_in(&vm, "pi");
        assert_eq!(argv, [b"from the task".to_vec()]);
        assert_eq!(cwd, worktree(name).as_os_str().as_bytes());
        let seen = text(&t.run_in(
            &vm,
            &format!(
                "for p in {} {} {}; do [ -e \"$p\" ] && echo \"$p\"; done; true",
                worktree(name).display(),
                worktree(other).join("README").display(),
                repo.join("README").display()
            ),
            b"",
        ));
        assert_eq!(
            seen.trim(),
            worktree(name).display().to_string(),
            "{vm} sees only its worktree"
        );
        // Its git works there, on its branch.
        let branch = text(&t.run_in(
            &vm,
            &format!("git -C {} branch --show-current", worktree(name).display()),
            b"",
        ));
        assert_eq!(branch.trim(), name);
    }
    let list = t.ok(&["task", "list"]);
    assert!(list.contains("VM `task-ga` running"), "{list}");
    for name in tasks {
        t.ok(&["task", "rm", name, "--yes"]);
    }
    assert!(t.ok(&["task", "list"]).contains("no tasks"));
    t.ok(&["vm", "start"]);
}

/// What the fake agent NAME saw as terminals (stdin, stdout, stderr) in VM `sandbox`.
fn ttys(t: &Tier, name: &str) -> (bool, bool, bool) {
    let script = format!(
        "d=~/.shimctl-sandbox/home/records/{name}; [ -d $d ] || d=~/records/{name}; cat $d/stdin-tty $d/stdout-tty $d/stderr-tty"
    );
    let out = text(&t.run_in_guest(&script, b""));
    let yes: Vec<bool> = out.lines().map(|l| l.trim() == "yes").collect();
    assert_eq!(yes.len(), 3, "{out}");
    (yes[0], yes[1], yes[2])
}

/// The pid of the process whose command line starts with PREFIX (NUL-separated words).
fn pid_of(prefix: &[u8]) -> Option<u32> {
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let cmdline = std::fs::read(e.path().join("cmdline")).ok()?;
        cmdline
            .starts_with(prefix)
            .then(|| e.file_name().to_str()?.parse().ok())
            .flatten()
    })
}

/// The terminal/pipe matrix of docs/troubleshooting.md and Ctrl-C, on the real VM through
/// both doors: what the agent sees as terminals is what OpenSSH makes of the shim's.
#[test]
fn h_terminals_pipes_and_ctrl_c_through_both_doors() {
    let Some((t, _g)) = tier() else { return };
    t.ensure_running();
    let projects = t.home.join("Projects");
    t.ok(&["share", projects.to_str().unwrap()]);
    let app = projects.join("app");
    for door in ["limactl", "ssh"] {
        t.write_config(&format!(
            "vm_timeout = 600\ndoor = \"{door}\"\n[agents.pi]\ncommand = \"pi\"\n"
        ));
        let in_terminal = |line: &str| {
            t.cmd("script")
                .args([
                    "-qec",
                    &format!("cd {} && {line}", app.display()),
                    "/dev/null",
                ])
                .env("TERM", "xterm")
                .stdin(Stdio::null())
                .output()
                .unwrap()
        };
        let err = app.join("h-err");
        let _ = std::fs::remove_file(&err);
        // All three a terminal: the same as locally.
        let out = in_terminal("pi x");
        assert!(out.status.success(), "{door}: {}", text(&out.stdout));
        assert_eq!(ttys(t, "pi"), (true, true, true), "{door}");
        // stderr to a file: one pty for all three, stderr merged into the terminal.
        let out = in_terminal("pi x 2>h-err");
        assert!(out.status.success(), "{door}");
        assert_eq!(ttys(t, "pi"), (true, true, true), "{door}");
        assert!(text(&out.stdout).contains("fake pi ran"), "{door}");
        assert_eq!(
            std::fs::read_to_string(&err).unwrap_or_default(),
            "",
            "{door}"
        );
        // stdout piped: no pty at all; stderr still reaches the terminal.
        let out = in_terminal("pi x | cat >/dev/null");
        assert!(out.status.success(), "{door}");
        assert_eq!(ttys(t, "pi"), (false, false, false), "{door}");
        assert!(text(&out.stdout).contains("fake pi ran"), "{door}");
        // No terminal anywhere.
        let out = t.cmd("pi").arg("x").stdin(Stdio::null()).output().unwrap();
        assert!(out.status.success(), "{door}");
        assert_eq!(ttys(t, "pi"), (false, false, false), "{door}");
        assert!(text(&out.stderr).contains("fake pi ran"), "{door}");
        let _ = std::fs::remove_file(&err);

        // Ctrl-C typed in the terminal ends the command in the VM; Lima reports the
        // remote death by signal as 255.
        t.run_in_guest("rm -f /tmp/shimctl-h-started", b"");
        let marker = format!("h-ctrl-c-{door}");
        let mut child = t
            .cmd("script")
            .args([
                "-qec",
                &format!(
                    "{SHIMCTL} run sh -c 'touch /tmp/shimctl-h-started; exec sleep 61' {marker}"
                ),
                "/dev/null",
            ])
            .env("TERM", "xterm")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let started = std::time::Instant::now();
        let within = |what: &str| {
            assert!(
                started.elapsed() < std::time::Duration::from_secs(120),
                "{door}: {what}"
            );
            std::thread::sleep(std::time::Duration::from_millis(200));
        };
        let script = loop {
            if let Some(pid) = pid_of(b"script\0-qec\0") {
                break pid;
            }
            within("script never started");
        };
        while !text(&t.run_in_guest("test -e /tmp/shimctl-h-started && echo yes; true", b""))
            .contains("yes")
        {
            within("the command never started in the VM");
        }
        while !terminal_is_raw(script) {
            within("ssh never put the terminal in raw mode");
        }
        use std::io::Write;
        child.stdin.as_mut().unwrap().write_all(b"\x03").unwrap();
        let out = child.wait_with_output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(255),
            "{door}: {}",
            text(&out.stdout)
        );
        let left = text(&t.run_in_guest("pgrep -f '^sleep 61' || true", b""));
        assert_eq!(left.trim(), "", "{door}: the command outlived Ctrl-C");
    }
}
