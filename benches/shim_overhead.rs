//! What the shim costs on top of limactl. Run with `cargo bench --bench shim_overhead`
//! (BENCH_RUNS sets the runs per variant, default 400). Prints figures; asserts nothing.
//!
//! Interleaved, from this one process, each run a fresh child:
//! 1. direct: the stand-in limactl (benches/fake_limactl.c, compiled with `cc`) with the
//!    arguments the shim would give it: the floor;
//! 2. warm: the shim invoked as `claude`, cache warm;
//! 3. cold: the same right after the cache was deleted (asks `limactl --version` and
//!    `limactl list --json`);
//! 4. explain: `shimctl explain claude`, for reference;
//! 5. the empty C exec hop (benches/exec_hop.c) in front of the same limactl: the floor
//!    for any exec'ing shim; the warm shim's extra is printed as a multiple of the hop's;
//! 6. on Linux/glibc, the warm shim built as install/install.sh builds it (static, built
//!    here with `cargo build --release --target HOST` into target/bench-static).
//!
//! Then, when an sshd is available (the tests' guest, tests/e2e/guest.rs), the two doors
//! side by side against a real ssh guest running `true`: through the stand-in limactl
//! (Python: slower to start than Lima's Go limactl) and through `door = "ssh"`, with the
//! same login shell run by ssh over the ControlMaster alone as their floor.
//!
//! Then, untimed: peak resident memory (getrusage of the child, which Linux carries across
//! exec, so it covers the shim before it exec'd), the processes a warm run starts (strace,
//! when installed), and the limactl calls each variant makes.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[path = "../tests/e2e/guest.rs"]
#[allow(dead_code)]
mod guest;

const SHIMCTL: &str = env!("CARGO_BIN_EXE_shimctl");

struct Bench {
    root: PathBuf,
    limactl: PathBuf,
    hop: PathBuf,
    shim: PathBuf,
    static_shim: Option<PathBuf>,
    project: PathBuf,
    cache: PathBuf,
    log: PathBuf,
}

impl Bench {
    fn setup() -> Bench {
        // Not under /tmp: the egress row's sandbox has a /tmp of its own, and the guest's
        // `claude` must stay visible in it.
        let root = Path::new("/var/tmp").join(format!("shimctl-bench-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let home = root.join("home");
        let project = home.join("Projects/app");
        let bin = root.join("bin");
        let shims = root.join("shims");
        for d in [&project, &bin, &shims, &home.join(".lima/sandbox")] {
            std::fs::create_dir_all(d).unwrap();
        }
        std::fs::write(home.join(".lima/sandbox/lima.yaml"), "{}\n").unwrap();
        let limactl = bin.join("limactl");
        let source = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/fake_limactl.c");
        let cc = Command::new("cc")
            .args(["-O2", "-o"])
            .arg(&limactl)
            .arg(source)
            .status();
        assert!(
            cc.is_ok_and(|s| s.success()),
            "a C compiler (`cc`) is needed for the stand-in limactl"
        );
        let hop = bin.join("hop");
        let hop_source = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/exec_hop.c");
        let cc = Command::new("cc")
            .args(["-O2", "-o"])
            .arg(&hop)
            .arg(hop_source)
            .status();
        assert!(cc.is_ok_and(|s| s.success()));
        let shim = shims.join("claude");
        std::os::unix::fs::symlink(SHIMCTL, &shim).unwrap();
        let static_shim = static_build().map(|bin| {
            let link = root.join("static-shims/claude");
            std::fs::create_dir_all(link.parent().unwrap()).unwrap();
            std::os::unix::fs::symlink(bin, &link).unwrap();
            link
        });
        Bench {
            hop,
            static_shim,
            cache: home.join(".cache/shimctl"),
            log: root.join("calls.log"),
            root,
            limactl,
            shim,
            project,
        }
    }

    fn command(&self, program: &Path) -> Command {
        let mut cmd = Command::new(program);
        cmd.env_clear()
            .env("HOME", self.root.join("home"))
            .env(
                "PATH",
                format!("{}:/usr/bin:/bin", self.limactl.parent().unwrap().display()),
            )
            .env("BENCH_MOUNT", self.root.join("home/Projects"))
            .current_dir(&self.project)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        cmd
    }

    fn direct(&self) -> Command {
        let mut cmd = self.command(&self.limactl);
        cmd.args(["shell", "--workdir"]).arg(&self.project).args([
            "--start",
            "sandbox",
            "claude",
            "--dangerously-skip-permissions",
            "-p",
            "hi",
        ]);
        cmd
    }

    fn shim(&self) -> Command {
        let mut cmd = self.command(&self.shim);
        cmd.args(["-p", "hi"]);
        cmd
    }

    fn hop(&self) -> Command {
        let direct = self.direct();
        let mut cmd = self.command(&self.hop);
        cmd.arg(&self.limactl).args(direct.get_args());
        cmd
    }

    fn static_shim(&self) -> Option<Command> {
        let mut cmd = self.command(self.static_shim.as_ref()?);
        cmd.args(["-p", "hi"]);
        Some(cmd)
    }

    fn explain(&self) -> Command {
        let mut cmd = self.command(Path::new(SHIMCTL));
        cmd.args(["explain", "claude", "-p", "hi"]);
        cmd
    }

    fn calls(&self, mut cmd: Command) -> Vec<String> {
        let _ = std::fs::remove_file(&self.log);
        assert!(cmd.env("BENCH_LOG", &self.log).status().unwrap().success());
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(String::from)
            .collect()
    }
}

/// Runs a command to completion; wall time and peak resident set (KiB).
fn measure(mut cmd: Command) -> (Duration, i64) {
    let start = Instant::now();
    // Reaped by wait4 below, which also reports the child's peak memory (Child::wait cannot).
    #[allow(clippy::zombie_processes)]
    let child = cmd.spawn().expect("spawn");
    let mut status = 0;
    // SAFETY: rusage is plain data; wait4 fills it for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    let elapsed = start.elapsed();
    assert!(
        pid > 0 && libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "run failed"
    );
    (elapsed, usage.ru_maxrss)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn execs_of_a_warm_run(b: &Bench) -> Option<usize> {
    let out_file = b.root.join("strace.out");
    let mut cmd = Command::new("strace");
    cmd.args([
        "-f",
        "-qq",
        "-e",
        "trace=execve,fork,vfork,clone,clone3",
        "-o",
    ])
    .arg(&out_file);
    let shim = b.shim();
    cmd.arg(shim.get_program()).args(shim.get_args());
    for (k, v) in shim.get_envs() {
        if let Some(v) = v {
            cmd.env(k, v);
        }
    }
    cmd.env("HOME", b.root.join("home"))
        .current_dir(&b.project)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd.status().ok()?.success().then_some(())?;
    let trace = std::fs::read_to_string(&out_file).ok()?;
    let execs = trace
        .lines()
        .filter(|l| l.contains("execve(") && !l.contains("ENOENT"))
        .count();
    let forks = trace
        .lines()
        .filter(|l| l.contains("clone") || l.contains("fork("))
        .count();
    Some(execs + forks)
}

/// shimctl built as install.sh builds it on Linux/glibc: static, with an explicit target.
fn static_build() -> Option<PathBuf> {
    if !cfg!(all(target_os = "linux", target_env = "gnu")) {
        return None;
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(&cargo).args(["-vV"]).output().ok()?;
    let host = String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(String::from))?;
    let target_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/target/bench-static");
    let var = format!(
        "CARGO_TARGET_{}_RUSTFLAGS",
        host.to_uppercase().replace(['-', '.'], "_")
    );
    eprintln!("building the static shim (as install/install.sh does) for {host} ...");
    let ok = Command::new(&cargo)
        .args([
            "build",
            "--release",
            "--locked",
            "--bin",
            "shimctl",
            "--target",
            &host,
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("CARGO_TARGET_DIR", target_dir)
        .env(var, "-C target-feature=+crt-static")
        .stdout(Stdio::null())
        .status()
        .ok()?
        .success();
    ok.then(|| PathBuf::from(format!("{target_dir}/{host}/release/shimctl")))
}

fn main() {
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(400);
    let b = Bench::setup();

    // Untimed checks first: what each variant asks limactl.
    let _ = std::fs::remove_dir_all(&b.cache);
    let cold_calls = b.calls(b.shim());
    let warm_calls = b.calls(b.shim());

    let mut names = vec![
        "direct limactl (floor)",
        "shim, warm cache",
        "shim, cold cache",
        "shimctl explain",
        "empty C exec hop",
    ];
    if b.static_shim.is_some() {
        names.push("shim, warm, static build");
    }
    let n = names.len();
    let mut times: Vec<Vec<Duration>> = (0..n).map(|_| Vec::with_capacity(runs)).collect();
    let mut peak_kib = vec![0i64; n];
    for _ in 0..5 {
        measure(b.shim());
        if let Some(cmd) = b.static_shim() {
            measure(cmd);
        }
    }
    for _ in 0..runs {
        for (i, series) in times.iter_mut().enumerate() {
            let cmd = match i {
                0 => b.direct(),
                1 => b.shim(),
                2 => {
                    let _ = std::fs::remove_dir_all(&b.cache);
                    b.shim()
                }
                3 => b.explain(),
                4 => b.hop(),
                _ => {
                    // The static build shares the cache: warm it first.
                    measure(b.shim());
                    b.static_shim().unwrap()
                }
            };
            let (t, rss) = measure(cmd);
            series.push(t);
            peak_kib[i] = peak_kib[i].max(rss);
        }
        // Leave the cache warm for the next warm run.
        measure(b.shim());
    }

    println!("shimctl shim overhead: {runs} interleaved runs each, wall time per start");
    println!(
        "{:<26} {:>10} {:>10} {:>12}",
        "", "median ms", "p95 ms", "peak RSS KiB"
    );
    let mut medians = vec![Duration::ZERO; n];
    for (i, series) in times.iter_mut().enumerate() {
        series.sort();
        medians[i] = percentile(series, 0.5);
        println!(
            "{:<26} {:>10.3} {:>10.3} {:>12}",
            names[i],
            ms(medians[i]),
            ms(percentile(series, 0.95)),
            peak_kib[i]
        );
    }
    let extra = |i: usize| ms(medians[i]) - ms(medians[0]);
    println!(
        "warm shim vs direct: x{:.2}, +{:.3} ms (target: at most +1 ms)",
        medians[1].as_secs_f64() / medians[0].as_secs_f64(),
        extra(1)
    );
    println!(
        "warm shim's extra as a multiple of the empty C exec hop's (+{:.3} ms): x{:.2} dynamic{}",
        extra(4),
        extra(1) / extra(4),
        if n > 5 {
            format!(
                ", x{:.2} static build (target: at most x1.30)",
                extra(5) / extra(4)
            )
        } else {
            " (no static build on this platform)".into()
        }
    );
    println!(
        "cold shim vs direct: +{:.3} ms, limactl calls: {:?} (target: at most one `list`, one `--version`)",
        ms(medians[2]) - ms(medians[0]),
        cold_calls
    );
    println!("warm shim limactl calls: {warm_calls:?} (target: only the final `shell`)");
    match execs_of_a_warm_run(&b) {
        Some(n) => println!(
            "warm shim processes (strace: execve + fork/clone): {n} (2 = the shim itself and the final exec of limactl, nothing else)"
        ),
        None => println!("warm shim processes: strace not available; see the limactl calls above"),
    }
    println!(
        "peak RSS target for the shim: under 4096 KiB (the shim's row is the max of the shim and limactl)"
    );
    doors(&b.root, runs.min(100));
    let _ = std::fs::remove_dir_all(&b.root);
}

/// `door = "limactl"` vs `door = "ssh"` against a real ssh guest.
/// Whether `program` is in /usr/bin or /bin.
fn which(program: &str) -> bool {
    ["/usr/bin", "/bin"]
        .iter()
        .any(|d| Path::new(d).join(program).exists())
}

fn doors(root: &Path, runs: usize) {
    use std::os::unix::fs::PermissionsExt;
    let Some(_) = ["/usr/sbin/sshd", "/usr/local/sbin/sshd"]
        .iter()
        .find(|p| Path::new(p).exists())
    else {
        println!("doors: no sshd here (Debian: openssh-server), so the doors were not compared");
        return;
    };
    let dir = root.join("doors");
    let home = dir.join("home");
    let lima = dir.join("lima");
    let project = dir.join("project");
    let guest_home = dir.join("guest-home");
    // The guest user's tools, where the template puts them: the sandbox shows them.
    let bin = guest_home.join(".local/bin");
    for d in [
        &home,
        &lima.join("sandbox"),
        &lima.join("_config"),
        &project,
        &guest_home,
        &bin,
    ] {
        std::fs::create_dir_all(d).unwrap();
    }
    for d in [root, &dir] {
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let (user, dedicated) = guest::guest_user().clone();
    if dedicated {
        let _ = Command::new("chown").arg(&user).arg(&guest_home).status();
    }
    std::os::unix::fs::symlink("/bin/true", bin.join("claude")).unwrap();
    std::fs::write(
        guest_home.join(".bash_profile"),
        format!("PATH={}:$PATH\n", bin.display()),
    )
    .unwrap();
    let sshd = guest::Sshd::start(&dir.join("sshd"), &guest_home, &dir);
    let key = lima.join("_config/user");
    std::fs::copy(&sshd.client_key, &key).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let instance = lima.join("sandbox");
    std::fs::write(
        instance.join("lima.yaml"),
        format!(
            "{{\"mounts\": [{{\"location\": \"{}\", \"writable\": true}}], \"user\": {{\"home\": \"{}\", \"shell\": \"/bin/bash\"}}}}",
            project.display(),
            guest_home.display()
        ),
    )
    .unwrap();
    std::fs::write(instance.join("ha.pid"), std::process::id().to_string()).unwrap();
    std::fs::write(
        instance.join("ssh.config"),
        guest::ssh_config("sandbox", &lima, sshd.port, &sshd.user),
    )
    .unwrap();
    let standin = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/lima-standin/limactl"
    ))
    .unwrap();
    let limactl = dir.join("limactl");
    std::fs::write(&limactl, standin).unwrap();
    std::fs::set_permissions(&limactl, std::fs::Permissions::from_mode(0o755)).unwrap();
    let shim = dir.join("claude");
    std::os::unix::fs::symlink(SHIMCTL, &shim).unwrap();
    std::fs::write(dir.join("limactl.toml"), "sandbox = false\n").unwrap();
    std::fs::write(dir.join("ssh.toml"), "door = \"ssh\"\nsandbox = false\n").unwrap();
    std::fs::write(dir.join("sandbox.toml"), "door = \"ssh\"\n").unwrap();
    std::fs::write(dir.join("egress.toml"), "door = \"ssh\"\n[egress]\n").unwrap();
    // 10,000 allow rules: a policy of any size costs about as much as a small one.
    let many: Vec<String> = (0..10_000)
        .map(|i| format!("\"h{i}.example.com\""))
        .collect();
    std::fs::write(
        dir.join("egress-10k.toml"),
        format!("door = \"ssh\"\n[egress]\nallow = [{}]\n", many.join(", ")),
    )
    .unwrap();
    let egress = which("bwrap") && which("tinyproxy") && which("socat");

    let run = |config: &str| {
        let mut cmd = Command::new(&shim);
        cmd.env_clear()
            .env("HOME", &home)
            .env("LIMA_HOME", &lima)
            .env("LIMACTL", &limactl)
            .env("PATH", "/usr/bin:/bin")
            .env("SHIMCTL_CONFIG", dir.join(config))
            .current_dir(&project)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        cmd
    };
    let mux = || {
        let mut cmd = Command::new("ssh");
        cmd.arg("-F")
            .arg(instance.join("ssh.config"))
            .args(["-o", "LogLevel=ERROR", "lima-sandbox", "--"])
            .arg(format!(
                "cd {} || exit 1 ; exec /bin/bash -l -c true",
                project.display()
            ))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        cmd
    };
    // Open both doors' connections (Lima's master, and the ssh door's own).
    let mut configs = vec!["limactl.toml", "ssh.toml", "", "sandbox.toml"];
    let mut names = vec![
        "door = limactl, no sandbox",
        "door = ssh, no sandbox",
        "ssh over the mux (same login)",
        "door = ssh, sandbox",
    ];
    if egress {
        configs.extend(["egress.toml", "egress-10k.toml"]);
        names.extend(["door = ssh, egress", "door = ssh, egress, 10k rules"]);
    } else {
        println!(
            "egress: bubblewrap, tinyproxy or socat is missing here, so its rows are left out"
        );
    }
    let start = |config: &str| {
        if config.is_empty() {
            mux()
        } else {
            run(config)
        }
    };
    for _ in 0..3 {
        for c in &configs {
            measure(start(c));
        }
    }
    let mut times: Vec<Vec<Duration>> = configs.iter().map(|_| Vec::with_capacity(runs)).collect();
    for _ in 0..runs {
        for (i, c) in configs.iter().enumerate() {
            times[i].push(measure(start(c)).0);
        }
    }
    println!();
    println!(
        "the doors, {runs} interleaved starts each against a real ssh guest (guest user {user}) running `true`"
    );
    println!("{:<30} {:>10} {:>10}", "", "median ms", "p95 ms");
    for (name, series) in names.iter().zip(times.iter_mut()) {
        series.sort();
        println!(
            "{:<30} {:>10.3} {:>10.3}",
            name,
            ms(percentile(series, 0.5)),
            ms(percentile(series, 0.95))
        );
    }
    println!(
        "(the stand-in limactl is a Python script; Lima's Go limactl adds 5-15 ms over ssh alone, README;\n sandbox: the guest-side launcher and bubblewrap, docs/sandbox.md; egress adds the proxy, docs/egress.md)"
    );
    drop(sshd);
}
