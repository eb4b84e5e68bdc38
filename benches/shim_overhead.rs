//! What the shim costs on top of limactl. Run with `cargo bench --bench shim_overhead`
//! (BENCH_RUNS sets the runs per variant, default 400). Prints figures; asserts nothing.
//!
//! Interleaved, from this one process, each run a fresh child:
//! 1. direct: the stand-in limactl (benches/fake_limactl.c, compiled with `cc`) with the
//!    arguments the shim would give it: the floor;
//! 2. warm: the shim invoked as `claude`, cache warm;
//! 3. cold: the same right after the cache was deleted (asks `limactl --version` and
//!    `limactl list --json`);
//! 4. explain: `shimctl explain claude`, for reference.
//!
//! Then, untimed: peak resident memory (getrusage of the child, which Linux carries across
//! exec, so it covers the shim before it exec'd), the processes a warm run starts (strace,
//! when installed), and the limactl calls each variant makes.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const SHIMCTL: &str = env!("CARGO_BIN_EXE_shimctl");

struct Bench {
    root: PathBuf,
    limactl: PathBuf,
    shim: PathBuf,
    project: PathBuf,
    cache: PathBuf,
    log: PathBuf,
}

impl Bench {
    fn setup() -> Bench {
        let root = std::env::temp_dir().join(format!("shimctl-bench-{}", std::process::id()));
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
        let shim = shims.join("claude");
        std::os::unix::fs::symlink(SHIMCTL, &shim).unwrap();
        Bench {
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

    let names = [
        "direct limactl (floor)",
        "shim, warm cache",
        "shim, cold cache",
        "shimctl explain",
    ];
    let mut times: Vec<Vec<Duration>> = (0..4).map(|_| Vec::with_capacity(runs)).collect();
    let mut peak_kib = [0i64; 4];
    for _ in 0..5 {
        measure(b.shim());
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
                _ => b.explain(),
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
    let mut medians = [Duration::ZERO; 4];
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
    println!(
        "warm shim vs direct: x{:.2}, +{:.3} ms (target: at most +1 ms)",
        medians[1].as_secs_f64() / medians[0].as_secs_f64(),
        ms(medians[1]) - ms(medians[0])
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
    let _ = std::fs::remove_dir_all(&b.root);
}
