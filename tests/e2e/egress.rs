//! Egress: the sandbox the agent runs in when the config has an [egress] table. The shim
//! builds the guest command as usual (through the stand-in and the ssh guest); the test
//! then replays that exact command as the guest user inside a network and mount namespace
//! of its own (tests/egress/netns.sh), with local servers standing for allowed and denied
//! hosts and for the VM's host, and tests/egress/escape-agent trying every way out.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use crate::world::*;

const EGRESS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/egress");

const ALLOW: &str =
    r#"allow = ["allowed.test", "*.wild.test", "host.lima.internal:8000", "localhost:8080"]"#;

/// Every attempt the escape agent makes, and what must come of it.
const EXPECTED: &[(&str, &str)] = &[
    ("allow-https", "ok"),
    ("allow-http", "ok"),
    ("allow-subdomain", "ok"),
    ("allow-host-service", "ok"),
    ("allow-vm-service", "ok"),
    ("denied-https", "blocked"),
    ("denied-http", "blocked"),
    ("wildcard-is-not-the-domain", "blocked"),
    ("allowed-host-other-port", "blocked"),
    ("userinfo-trick", "blocked"),
    ("suffix-trick", "blocked"),
    ("host-service-other-port", "blocked"),
    ("host-ip-through-proxy", "blocked"),
    ("vm-service-other-port", "blocked"),
    ("vm-service-through-proxy", "blocked"),
    ("gateway-connect", "blocked"),
    ("noproxy-name", "blocked"),
    ("noproxy-ip", "blocked"),
    ("direct-tcp", "blocked"),
    ("direct-udp", "blocked"),
    ("dns-to-resolver", "blocked"),
    ("icmp-dgram", "blocked"),
    ("icmp-raw", "blocked"),
    ("sudo", "blocked"),
    ("setuid", "blocked"),
    ("user-namespace", "blocked"),
    ("see-the-proxy", "blocked"),
    ("proxy-policy-files", "blocked"),
    ("write-.bashrc", "own"),
    ("write-.profile", "own"),
    ("write-.bash_profile", "own"),
    ("write-.bash_login", "own"),
    ("write-.zshrc", "own"),
    ("write-.zshenv", "own"),
    ("write-.gitconfig", "own"),
    ("replace-bashrc", "own"),
    ("fish-config", "own"),
    ("systemd-unit", "own"),
    ("move-config-away", "own"),
    ("ssh-keys", "own"),
    ("tool-dir", "blocked"),
    ("crontab", "blocked"),
    ("cron-spool", "blocked"),
    ("systemd-user-bus", "blocked"),
    ("container-socket", "blocked"),
    ("project-writable", "ok"),
    ("home-writable", "ok"),
];

fn can_run() -> bool {
    root_or_skip("a network namespace and a second user")
}

fn run(cmd: &mut Command) -> std::process::Output {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}{}",
        stdout(&out),
        stderr(&out)
    );
    out
}

struct Escape {
    world: World,
    results: BTreeMap<String, String>,
    stdout: String,
    stderr: String,
}

/// A world whose config allows ALLOW (plus `extra`), an `escape` agent, and the escape
/// agent's run in the test namespace.
fn escape_run(extra: &str) -> Escape {
    escape_run_with(extra, &[])
}

fn escape_run_with(extra: &str, env: &[(&str, &str)]) -> Escape {
    let w = World::builder()
        .config(&format!(
            "[egress]\n{ALLOW}\n{extra}\n[agents.escape]\nfull_auto = false\n"
        ))
        .build();
    w.link_shim("escape");
    std::fs::copy(
        Path::new(EGRESS_DIR).join("escape-agent"),
        w.guest_bin.join("escape"),
    )
    .unwrap();
    // The guest user's own start-up files, which it could change without the sandbox.
    for (file, text) in [
        (".bashrc", "# my bashrc\n"),
        (".profile", "# my profile\n"),
        (".zshrc", "# my zshrc\n"),
        (".ssh/authorized_keys", "ssh-ed25519 AAAA me\n"),
    ] {
        let path = w.guest_home.join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let net = TestNet::new(&w);
    let guest_command = net.recorded_command(&w, w.shim("escape"));
    let out = net.replay(&w, &guest_command, env, &[]);
    let text = stdout(&out);
    let results = checks(&text);
    Escape {
        world: w,
        results,
        stdout: text,
        stderr: stderr(&out),
    }
}

/// The test's stand-ins for the internet and the VM's host (tests/egress/servers.py),
/// reached through names in the namespace's own /etc/hosts.
struct TestNet {
    dir: std::path::PathBuf,
}

impl TestNet {
    fn new(w: &World) -> TestNet {
        let dir = w.root.join("egress");
        std::fs::create_dir_all(&dir).unwrap();
        // The servers' certificate, trusted by the agent's curl.
        run(Command::new("openssl")
            .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"])
            .args(["-subj", "/CN=allowed.test"])
            .args([
                "-addext",
                "subjectAltName=DNS:allowed.test,DNS:a.wild.test,DNS:wild.test,DNS:denied.test,DNS:allowed.test.denied.test",
            ])
            .arg("-keyout")
            .arg(dir.join("key.pem"))
            .arg("-out")
            .arg(dir.join("cert.pem")));
        std::fs::copy(dir.join("cert.pem"), w.guest_bin.join("cert.pem")).unwrap();
        std::fs::write(
            dir.join("hosts"),
            "127.0.0.1 localhost allowed.test denied.test wild.test a.wild.test allowed.test.denied.test\n192.168.5.2 host.lima.internal\n",
        )
        .unwrap();
        TestNet { dir }
    }

    /// The shim's real guest command for `shim` (an agent run), recorded by the stand-in
    /// while the guest side only exits (`record-only` beside the guest's tools).
    fn recorded_command(&self, w: &World, mut shim: Command) -> Vec<String> {
        let user = &guest_user().0;
        std::fs::write(w.guest_bin.join("record-only"), "").unwrap();
        for dir in [&w.guest_home, &w.root.join("home/Projects")] {
            run(Command::new("chown").arg("-R").arg(user).arg(dir));
        }
        let out = shim.output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        std::fs::remove_file(w.guest_bin.join("record-only")).unwrap();
        let call = w.last_shell_call();
        let at = call
            .windows(2)
            .position(|p| p[0] == "sandbox" && p[1] == "/bin/bash")
            .expect("the guest command starts with the egress launcher");
        call[at + 1..].to_vec()
    }

    /// Runs `guest_command` as the guest user in the project, inside the test's network,
    /// mount and PID namespace, with `guest_env` as the variables Lima would forward.
    fn replay(
        &self,
        w: &World,
        guest_command: &[String],
        env: &[(&str, &str)],
        guest_env: &[(&str, &str)],
    ) -> std::process::Output {
        let lines: String = guest_env
            .iter()
            .map(|(k, v)| format!("{k}={v}\n"))
            .collect();
        std::fs::write(self.dir.join("guest-env"), lines).unwrap();
        let out = Command::new("timeout")
            // Its own PID namespace too: whatever is left when netns.sh ends dies with it.
            .args([
                "150",
                "unshare",
                "--net",
                "--mount",
                "--pid",
                "--mount-proc",
                "--fork",
            ])
            .arg(Path::new(EGRESS_DIR).join("netns.sh"))
            .arg(&self.dir)
            .arg(&guest_user().0)
            .arg(&w.project)
            .arg(&w.guest_home)
            .arg(format!("{}:/usr/bin:/bin", w.guest_bin.display()))
            .arg("--")
            .args(guest_command)
            .envs(env.iter().copied())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
        let udp = std::fs::read_to_string(self.dir.join("udp.log")).unwrap();
        assert_eq!(udp, "", "a datagram left the sandbox");
        out
    }

    /// The requests the servers received: `METHOD host path` per line.
    fn requests(&self) -> String {
        std::fs::read_to_string(self.dir.join("requests.log")).unwrap_or_default()
    }
}

fn assert_expected(e: &Escape, except: &[(&str, &str)]) {
    for (name, want) in EXPECTED {
        let want = except
            .iter()
            .find(|(n, _)| n == name)
            .map_or(*want, |(_, w)| *w);
        assert_eq!(
            e.results.get(*name).map(String::as_str),
            Some(want),
            "{name}\n{}{}",
            e.stdout,
            e.stderr
        );
    }
    assert_eq!(e.results.len(), EXPECTED.len(), "{}", e.stdout);
}

#[test]
fn the_agent_reaches_allowed_hosts_and_nothing_else() {
    if !can_run() {
        return;
    }
    let e = escape_run("");
    // The controls: outside the sandbox the same user has the network, the host service
    // and the container socket (and passwordless sudo, where sudo is installed).
    for control in ["curl", "/usr/bin/python3"] {
        assert!(
            e.stdout.contains(&format!("control {control} works")),
            "{}",
            e.stdout
        );
    }
    if Path::new("/usr/bin/sudo").exists() {
        assert!(e.stdout.contains("control sudo works"), "{}", e.stdout);
    }
    assert!(
        e.stdout.contains("guest-exit 0"),
        "{}{}",
        e.stdout,
        e.stderr
    );
    assert_expected(&e, &[]);

    // A refusal names the host and the line that would allow it, once per host.
    let said = "shimctl: egress blocked denied.test:443 for escape; to allow it, add \"denied.test\" to allow = [...] under [egress] (or [agents.escape.egress]) in ~/.config/shimctl/config.toml";
    assert_eq!(e.stderr.matches(said).count(), 1, "{}", e.stderr);
    assert!(
        e.stderr
            .contains("egress blocked host.lima.internal:8001 for escape; to allow it, add \"host.lima.internal:8001\""),
        "{}",
        e.stderr
    );

    // Nothing outside the sandbox changed; what the agent may change did.
    let w = &e.world;
    let read = |f: &str| std::fs::read_to_string(w.guest_home.join(f)).unwrap_or_default();
    assert_eq!(read(".bashrc"), "# my bashrc\n");
    assert_eq!(read(".profile"), "# my profile\n");
    assert_eq!(read(".zshrc"), "# my zshrc\n");
    assert_eq!(read(".ssh/authorized_keys"), "ssh-ed25519 AAAA me\n");
    assert!(!w.guest_home.join(".bash_login").exists());
    assert!(!w.guest_home.join(".gitconfig").exists());
    assert_eq!(
        read(".bash_profile"),
        format!("PATH={}:$PATH\n", w.guest_bin.display())
    );
    assert!(!w.guest_home.join(".config").exists());
    assert!(!w.guest_bin.join("escape-evil").exists());
    let own = |f: &str| std::fs::read_to_string(w.agent_home().join(f)).unwrap_or_default();
    assert_eq!(own("agent-state"), "state\n");
    assert!(own(".bashrc").contains("evil"), "it wrote its own home");
    assert_eq!(
        std::fs::read_to_string(w.project.join("sandbox-wrote-this")).unwrap(),
        "made-in-sandbox\n"
    );
}

#[test]
fn the_container_socket_is_shown_only_when_the_user_opts_in() {
    if !can_run() {
        return;
    }
    let e = escape_run("container_socket = true");
    // The documented trade-off: the engine's socket is reachable, the rest still holds.
    assert_expected(&e, &[("container-socket", "ESCAPED")]);
}

#[test]
fn egress_test_agrees_with_the_proxy() {
    let w = World::builder()
        .config(&format!(
            "[egress]\n{ALLOW}\n[agents.escape]\ncommand = \"escape\"\n"
        ))
        .build();
    let test = |host: &str| {
        w.shimctl()
            .args(["egress", "test", host, "--agent", "escape"])
            .output()
            .unwrap()
    };
    for host in [
        "allowed.test",
        "http://allowed.test/x",
        "a.wild.test",
        "host.lima.internal:8000",
        "localhost:8080",
    ] {
        let out = test(host);
        assert_eq!(out.status.code(), Some(0), "{host}: {}", stdout(&out));
        assert!(stdout(&out).starts_with("allowed: "), "{}", stdout(&out));
    }
    for host in [
        "denied.test",
        "wild.test",
        "allowed.test:8443",
        "allowed.test.denied.test",
        "host.lima.internal:8001",
        "192.168.5.2:8000",
        "localhost:8081",
    ] {
        let out = test(host);
        assert_eq!(out.status.code(), Some(1), "{host}: {}", stdout(&out));
        assert!(stdout(&out).starts_with("blocked: "), "{}", stdout(&out));
    }
    let out = test("denied.test");
    assert!(
        stdout(&out).contains("add \"denied.test\" to allow = [...] under [egress]"),
        "{}",
        stdout(&out)
    );
    // Defaults: claude's own service, unless turned off.
    let out = w
        .shimctl()
        .args(["egress", "test", "api.anthropic.com"])
        .output()
        .unwrap();
    assert!(
        stdout(&out).contains("claude's built-in defaults"),
        "{}",
        stdout(&out)
    );
    w.write_config(&format!(
        "[egress]\n{ALLOW}\n[agents.claude.egress]\ndefaults = false\n"
    ));
    let out = w
        .shimctl()
        .args(["egress", "test", "api.anthropic.com"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
}

#[test]
fn explain_and_doctor_show_the_policy() {
    let w = World::builder()
        .config("[egress]\nallow = [\"github.com\"]\n")
        .build();
    let out = w.shimctl().args(["explain", "claude"]).output().unwrap();
    let text = stdout(&out);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        text.contains("egress:    on: claude runs in a sandbox"),
        "{text}"
    );
    assert!(text.contains("github.com  ([egress] allow)"), "{text}");
    assert!(
        text.contains("api.anthropic.com  (claude's built-in defaults"),
        "{text}"
    );
    assert!(text.contains("container engine: hidden"), "{text}");
    assert!(
        text.contains(" sandbox '<shimctl sandbox>' claude --dangerously-skip-permissions"),
        "{text}"
    );
    // The policy is listed once; the full command has it as the proxy's filter.
    assert_eq!(text.matches("github.com").count(), 1, "{text}");
    let out = w
        .shimctl()
        .args(["explain", "--full", "claude"])
        .output()
        .unwrap();
    assert!(
        stdout(&out).contains(r"--filter-text $'^github\\.com:(80|443)$\n"),
        "{}",
        stdout(&out)
    );
    let out = w.shimctl().arg("doctor").output().unwrap();
    assert!(
        stdout(&out).contains("egress: on for claude (8 hosts)"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn a_bad_rule_names_its_line() {
    let w = World::builder()
        .config("vm = \"sandbox\"\n[egress]\nallow = [\"https://github.com\"]\n")
        .build();
    let out = w.shim("claude").output().unwrap();
    assert_failed(
        &w,
        &out,
        CANNOT_RUN,
        &[
            "line 3",
            "`allow`",
            "`https://github.com` is not a host rule",
        ],
    );
}

#[test]
fn without_bubblewrap_the_agent_does_not_start() {
    if !can_run() {
        return;
    }
    let e = escape_run_with("", &[("HIDE_BWRAP", "1")]);
    assert!(
        e.stdout.contains("guest-exit 125"),
        "{}{}",
        e.stdout,
        e.stderr
    );
    assert!(e.results.is_empty(), "the agent ran: {}", e.stdout);
    assert!(
        e.stderr.contains(
            "shimctl: the agent sandbox needs bwrap in VM `sandbox`; install what it needs: shimctl vm provision"
        ),
        "{}",
        e.stderr
    );
}

/// Every process below `pid` (children through /proc's parent links).
fn descendants(pid: u32) -> Vec<u32> {
    let mut parents: Vec<(u32, u32)> = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(p) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if let Some(ppid) = parent_pid(&e.path()) {
            parents.push((p, ppid));
        }
    }
    let mut found = vec![pid];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        found.extend(
            parents
                .iter()
                .filter(|(_, pp)| *pp == parent)
                .map(|(p, _)| *p),
        );
        i += 1;
    }
    found.remove(0);
    found
}

/// Alive and not a zombie.
fn running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z")
    })
}

#[test]
fn a_killed_launcher_leaves_no_proxy_and_no_agent_behind() {
    let w = World::builder()
        .config("[egress]\n[agents.sleeper]\ncommand = \"sleep\"\nfull_auto = false\n")
        .build();
    w.link_shim("sleeper");
    let mut child = w
        .shim("sleeper")
        .arg("300")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    let (launcher, below) = loop {
        if let Some(pid) = launcher_of(&w.root) {
            let below = descendants(pid);
            // Up: the proxy's bubblewrap, socat, tail, the reader, the agent's sandbox.
            let names: Vec<String> = below
                .iter()
                .filter_map(|p| std::fs::read_to_string(format!("/proc/{p}/comm")).ok())
                .collect();
            if names.iter().any(|n| n.trim() == "sleep") {
                break (pid, below);
            }
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "the sandboxed agent never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert!(below.len() >= 5, "{below:?}");
    let mine: Vec<std::path::PathBuf> = private_dirs()
        .into_iter()
        .filter(|d| {
            std::fs::read_to_string(d.join("pid"))
                .is_ok_and(|p| p.split_whitespace().next() == Some(&launcher.to_string()))
        })
        .collect();
    assert_eq!(mine.len(), 1, "the launcher's private directory: {mine:?}");
    let private_dir = mine[0].clone();
    // SAFETY: a plain kill(2) of a process this test's world started.
    unsafe { libc::kill(launcher as i32, libc::SIGKILL) };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while below.iter().any(|p| running(*p)) {
        assert!(
            std::time::Instant::now() < deadline,
            "left running after the launcher died: {:?}",
            below.iter().filter(|p| running(**p)).collect::<Vec<_>>()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // ssh reports the remote side's death as Lima does.
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(255));
    // Its private directory, which it could not remove itself, goes at the next start
    // (this test's, or any other's running at the same time).
    let out = w.shim("sleeper").arg("0").output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!private_dir.exists(), "{} was left", private_dir.display());
}

/// The sandbox launchers' private directories on this machine (the test guest's).
fn private_dirs() -> Vec<std::path::PathBuf> {
    let mut dirs = Vec::new();
    let uid = std::process::Command::new("id")
        .args(["-u", &guest_user().0])
        .output()
        .map(|o| stdout(&o).trim().to_string())
        .unwrap_or_default();
    for base in ["/tmp".to_string(), format!("/run/user/{uid}")] {
        if let Ok(entries) = std::fs::read_dir(&base) {
            dirs.extend(
                entries
                    .flatten()
                    .filter(|e| {
                        e.file_name()
                            .to_string_lossy()
                            .starts_with("shimctl-sandbox.")
                    })
                    .map(|e| e.path()),
            );
        }
    }
    dirs
}

/// The real CLIs, inside the sandbox, send their requests through the proxy (an agent
/// that ignored the proxy variables would find no network at all). claude is pointed at
/// http://allowed.test, whose server answers 400 and records what it got; codex (which
/// first wants chatgpt.com, and then waits for the network) is seen at the proxy, which
/// refuses its hosts by name.
#[test]
fn real_agents_talk_through_the_proxy() {
    let Some(agents) = crate::real_agents::agents_dir() else {
        return;
    };
    if !can_run() {
        return;
    }
    /// The agent, its arguments, the variables it is given, and what must be seen.
    type Case<'a> = (&'a str, &'a [&'a str], &'a [(&'a str, &'a str)], &'a str);
    let cases: &[Case] = &[
        (
            "claude",
            &["-p", "hi"],
            &[
                ("ANTHROPIC_API_KEY", "sk-ant-shimctl-test"),
                ("ANTHROPIC_BASE_URL", "http://allowed.test"),
                ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1"),
            ],
            "server got: POST allowed.test /v1/messages",
        ),
        (
            "codex",
            &["exec", "hi"],
            &[("OPENAI_API_KEY", "sk-shimctl-test")],
            "shimctl: egress blocked chatgpt.com:443 for codex",
        ),
    ];
    for (agent, args, env, seen) in cases {
        let w = World::builder()
            .config(&format!(
                "[egress]\nallow = [\"allowed.test\"]\ndefaults = false\n[agents.{agent}]\nenv = [{}]\n",
                env.iter()
                    .map(|(k, _)| format!("\"{k}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
            .build();
        let program = agents.join("node_modules/.bin").join(agent);
        let _ = std::fs::remove_file(w.guest_bin.join(agent));
        // Bounded: an agent that keeps retrying is stopped after 15 s.
        w.write_exec(
            &w.guest_bin.join(agent),
            &format!(
                "#!/bin/sh\n[ -e \"${{0%/*}}/record-only\" ] && exit 0\nexec timeout 15 {} \"$@\"\n",
                program.display()
            ),
        );
        symlink(
            &agents.join("node_modules/.bin/node"),
            &w.guest_bin.join("node"),
        );
        if !w.shims.join(agent).exists() {
            symlink(Path::new(SHIMCTL), &w.shims.join(agent));
        }
        let net = TestNet::new(&w);
        let mut shim = w.shim(agent);
        shim.args(*args).envs(env.iter().copied());
        let command = net.recorded_command(&w, shim);
        let out = net.replay(&w, &command, &[], env);
        let seen_all = format!(
            "{}{}",
            net.requests()
                .lines()
                .map(|l| format!("server got: {l}\n"))
                .collect::<String>(),
            stderr(&out)
        );
        assert!(
            seen_all.contains(seen),
            "{agent}: expected `{seen}` in:\n{seen_all}\n{}",
            stdout(&out)
        );
        assert!(!stdout(&out).contains("guest-exit 0"), "{}", stdout(&out));
    }
}

#[test]
fn ctrl_c_reaches_the_sandboxed_agent() {
    let w = World::builder()
        .config("[egress]\n[agents.sh]\ncommand = \"bash\"\nfull_auto = false\n")
        .build();
    let shim = w.shims.join("sh");
    symlink(Path::new(SHIMCTL), &shim);
    for (script, marker, want) in [
        ("exec sleep 61", "sleep\u{0}61\u{0}", 255),
        (
            "trap 'exit 42' INT; sleep 62 & wait",
            "sleep\u{0}62\u{0}",
            42,
        ),
    ] {
        let line = format!("{} -c \"{script}\"", shim.display());
        let out = crate::ssh_guest::ctrl_c_in_a_terminal(&w, &line, marker);
        assert_eq!(out.status.code(), Some(want), "{script}: {}", stderr(&out));
    }
}

/// A policy of any size starts: 10,000 rules are 20,000 filter words, staged (more than
/// Lima's one ssh argument holds) and handed to the proxy in one step. (What it costs is
/// the benchmark's row, not a test's.)
#[test]
fn ten_thousand_rules_start_the_agent() {
    let rules: Vec<String> = (0..10_000)
        .map(|i| format!("\"h{i}.example.com\""))
        .collect();
    let w = World::builder()
        .config(&format!("[egress]\nallow = [{}]\n", rules.join(", ")))
        .build();
    let out = w.shim("claude").arg("hello").output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        w.record("claude").argv,
        words(&["--dangerously-skip-permissions", "hello"])
    );
    // Staged: the extra `limactl shell` call wrote the words in the guest first.
    assert_eq!(
        w.limactl_calls().iter().filter(|c| c[0] == "shell").count(),
        2
    );
}

/// The guest's processes whose working directory is in `dir` (the agent, the launcher
/// and all it started run there, inside a namespace or not); not the host's ssh client
/// and Lima's ControlMaster, which run there too.
fn working_in(dir: &Path) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let pid = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            let cwd = std::fs::read_link(e.path().join("cwd")).ok()?;
            let comm = std::fs::read_to_string(e.path().join("comm")).unwrap_or_default();
            (cwd.starts_with(dir) && comm.trim() != "ssh" && running(pid)).then_some(pid)
        })
        .collect()
}

/// Killed at any moment of its start (before the proxy is up, while the sandbox is being
/// set up, after the agent runs), the launcher leaves nothing behind and the shim returns.
#[test]
fn a_launcher_killed_at_any_moment_leaves_nothing() {
    killed_at_any_moment("[egress]\n");
    killed_at_any_moment("");
}

fn killed_at_any_moment(egress: &str) {
    let w = World::builder()
        .config(&format!(
            "{egress}[agents.sleeper]\ncommand = \"sleep\"\nfull_auto = false\n"
        ))
        .build();
    w.link_shim("sleeper");
    for delay_ms in [0u64, 2, 5, 10, 20, 40, 80, 160, 400] {
        let err = w.root.join("sleeper.err");
        let mut child = w
            .shim("sleeper")
            .arg("300")
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&err).unwrap())
            .spawn()
            .unwrap();
        let started = std::time::Instant::now();
        let launcher = loop {
            if let Some(pid) = launcher_of(&w.root) {
                break pid;
            }
            assert!(
                started.elapsed() < std::time::Duration::from_secs(30),
                "the launcher never started"
            );
            std::thread::sleep(std::time::Duration::from_millis(1));
        };
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        // SAFETY: a plain kill(2) of a process this test's world started.
        unsafe { libc::kill(launcher as i32, libc::SIGKILL) };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let left = working_in(&w.root);
            if left.is_empty() {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "killed {delay_ms} ms in, left running: {:?}",
                left.iter()
                    .map(|p| std::fs::read_to_string(format!("/proc/{p}/comm")).unwrap_or_default())
                    .collect::<Vec<_>>()
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let status = child.wait().unwrap();
        assert_eq!(
            status.code(),
            Some(255),
            "killed {delay_ms} ms in: {}",
            std::fs::read_to_string(&err).unwrap_or_default()
        );
    }
}
