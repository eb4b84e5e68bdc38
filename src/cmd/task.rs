//! `shimctl task new|list|stop|rm`: one feature, one agent, a VM and a git worktree of its
//! own. `task new NAME` makes, from the git repository here, a worktree on a new branch
//! NAME beside it, a VM `task-NAME` cloned from a stopped base VM and sharing only that
//! worktree and the repository's git directory, and a route from the worktree to that VM:
//! `cd` into the worktree and type `claude`. Each step is undone if a later one fails or
//! the command is interrupted.
//!
//! A task is recorded only as its route in the config, marked by a comment
//! ([`ROUTE_MARK`]), so the shim needs nothing more than the routes it reads anyway.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use argh::FromArgs;

use crate::config::{self, Loaded};
use crate::error::{Exit, Failure, Result};
use crate::host_dirs;
use crate::lima::{self, Limactl, control, control::Progress};
use crate::signals;

/// Work on a feature in a VM and a git worktree of its own (`task new NAME`, then `cd` to
/// the worktree and type `claude`).
#[derive(FromArgs)]
#[argh(subcommand, name = "task", help_triggers("-h", "--help", "help"))]
pub struct Args {
    #[argh(subcommand)]
    command: TaskCommand,
}

/// The `task` subcommands, for completions.
pub const COMMANDS: &[&argh::CommandInfo] = <TaskCommand as argh::SubCommands>::COMMANDS;

#[derive(FromArgs)]
#[argh(subcommand)]
enum TaskCommand {
    New(NewArgs),
    List(ListArgs),
    Stop(StopArgs),
    Rm(RmArgs),
}

/// Make task NAME from the git repository here: a worktree on a new branch NAME, a VM
/// cloned from the base VM that shares only that worktree, and a route between them.
#[derive(FromArgs)]
#[argh(subcommand, name = "new", help_triggers("-h", "--help", "help"))]
struct NewArgs {
    /// the task's name (its branch, and its VM `task-NAME`)
    #[argh(positional)]
    name: String,
    /// the stopped VM to clone (default: the `vm` of the config with `-base`, which
    /// `shimctl vm create --base` makes)
    #[argh(option)]
    base: Option<String>,
    /// show Lima's own lines as they come
    #[argh(switch, short = 'v')]
    verbose: bool,
}

/// List the tasks: worktree, branch, work not committed or pushed, VM state, disk used,
/// sessions.
#[derive(FromArgs)]
#[argh(subcommand, name = "list", help_triggers("-h", "--help", "help"))]
struct ListArgs {}

/// Stop task NAME's VM (its disk and home stay; the next `claude` there starts it again).
#[derive(FromArgs)]
#[argh(subcommand, name = "stop", help_triggers("-h", "--help", "help"))]
struct StopArgs {
    /// the task
    #[argh(positional)]
    name: String,
    /// stop it even though agent sessions run in it (they end)
    #[argh(switch)]
    yes: bool,
}

/// Remove task NAME: its VM, its route and its worktree (its branch stays), after saying
/// what would be lost.
#[derive(FromArgs)]
#[argh(subcommand, name = "rm", help_triggers("-h", "--help", "help"))]
struct RmArgs {
    /// the task
    #[argh(positional)]
    name: String,
    /// do not ask (files not committed and the VM's home are lost)
    #[argh(switch)]
    yes: bool,
    /// keep the worktree (only the VM and the route go)
    #[argh(switch)]
    keep_worktree: bool,
}

/// How the config marks a task's route; the name follows it.
const ROUTE_MARK: &str = "# shimctl task ";

pub fn run(args: Args) -> Result<Exit> {
    let loaded = config::load()?;
    match args.command {
        TaskCommand::New(a) => new(&loaded, &a),
        TaskCommand::List(_) => list(&loaded),
        TaskCommand::Stop(a) => stop(&loaded, &a),
        TaskCommand::Rm(a) => rm(&loaded, &a),
    }
}

fn vm_of(name: &str) -> String {
    format!("task-{name}")
}

/// The VM tasks are cloned from unless `--base` names one: the config's `vm` + `-base`.
pub fn default_base(loaded: &Loaded) -> Result<String> {
    Ok(format!("{}-base", loaded.vm_choice(None, None)?.0))
}

/// A task name must be both a VM name (in `task-NAME`) and a branch name.
fn check_name(name: &str) -> Result<()> {
    let vm_ok = config::valid_vm_name(name) && config::valid_vm_name(&vm_of(name));
    let branch_ok = vm_ok
        && git(None, &["check-ref-format", "--branch", name]).is_ok_and(|out| out.status.success());
    if branch_ok {
        Ok(())
    } else {
        Err(Failure::usage(format!(
            "`{name}` cannot name a task: use letters, digits, `.`, `_` and `-` (not first), as a branch and a VM name both allow"
        )))
    }
}

fn git(dir: Option<&Path>, args: &[&str]) -> std::io::Result<std::process::Output> {
    let mut cmd = Command::new("git");
    if let Some(dir) = dir {
        cmd.arg("-C").arg(dir);
    }
    cmd.args(args).stdin(Stdio::null()).output()
}

/// git's answer, trimmed, or a failure naming what was asked.
fn git_text(dir: Option<&Path>, args: &[&str]) -> Result<String> {
    let out = git(dir, args)
        .map_err(|e| Failure::cannot_run(format!("cannot run git ({e}); install git")))?;
    if !out.status.success() {
        return Err(Failure::cannot_run(format!(
            "`git {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn text_path(p: &Path) -> Result<&str> {
    p.to_str().ok_or_else(|| {
        Failure::usage(format!(
            "{} is not valid UTF-8, which the config and Lima's yaml need",
            p.display()
        ))
    })
}

/// What a task new made so far, undone in reverse on failure or interruption.
#[derive(Default)]
struct Made {
    worktree: Option<(PathBuf, PathBuf)>,
    branch: Option<String>,
    vm: Option<String>,
    route: Option<String>,
}

impl Made {
    fn undo(&self, limactl: &Limactl) {
        if let Some(name) = &self.route
            && let Err(e) = edit_config(|text| Ok(without_route(text, name)))
        {
            crate::tell!("shimctl: could not take the task's route out of the config: {e}");
        }
        if let Some(vm) = &self.vm
            && lima::exists(vm).unwrap_or(true)
            && control::run(limactl, &["delete", "--tty=false", "--force", vm]).is_err()
        {
            crate::tell!(
                "shimctl: could not delete VM `{vm}`; delete it: limactl delete --force {vm}"
            );
        }
        if let Some((repo, worktree)) = &self.worktree {
            let w = worktree.to_string_lossy();
            if git(Some(repo), &["worktree", "remove", "--force", &w]).is_err() {
                crate::tell!(
                    "shimctl: could not remove the worktree {w}; git worktree remove --force {w}"
                );
            }
        }
        if let (Some(branch), Some((repo, _))) = (&self.branch, &self.worktree) {
            let _ = git(Some(repo), &["branch", "-D", branch]);
        }
    }
}

fn interrupted() -> Result<()> {
    match signals::received() {
        Some(signal) => Err(Failure::interrupted(format!(
            "interrupted by {}; what the task had made is undone",
            signals::name(signal)
        ))),
        None => Ok(()),
    }
}

fn new(loaded: &Loaded, args: &NewArgs) -> Result<Exit> {
    let name = args.name.as_str();
    check_name(name)?;
    let here = std::env::current_dir()
        .map_err(|e| Failure::cannot_run(format!("cannot read the current directory ({e})")))?;
    let repo = git_text(Some(&here), &["rev-parse", "--show-toplevel"])
        .map(PathBuf::from)
        .map_err(|_| {
            Failure::usage(format!(
                "{} is not in a git repository; run `shimctl task new` in the repository the task works on",
                here.display()
            ))
        })?;
    let git_dir = PathBuf::from(git_text(
        Some(&repo),
        &["rev-parse", "--path-format=absolute", "--git-common-dir"],
    )?);
    let repo_name = repo
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "repo".into());
    let worktree = repo
        .parent()
        .unwrap_or(Path::new("/"))
        .join(format!("{repo_name}.tasks"))
        .join(name);
    let vm = vm_of(name);
    let base = match &args.base {
        Some(b) => b.clone(),
        None => default_base(loaded)?,
    };
    let (limactl, _) = lima::target(loaded)?;
    if task_names(&config_text()?).iter().any(|t| t == name) || lima::exists(&vm)? {
        return Err(Failure::refused(format!(
            "task `{name}` exists already (VM `{vm}`); `shimctl task list` shows it, `shimctl task rm {name}` removes it"
        )));
    }
    if worktree.exists() {
        return Err(Failure::refused(format!(
            "{} exists already; remove it or pick another task name",
            worktree.display()
        )));
    }
    if !lima::exists(&base)? {
        return Err(Failure::cannot_run(format!(
            "no base VM `{base}` to clone the task's VM from; make it: shimctl vm create --base (or name a stopped VM with --base)"
        )));
    }
    if lima::host_agent_running(&lima::instance_dir(&base)?) {
        return Err(Failure::refused(format!(
            "VM `{base}` runs, and Lima clones only a stopped VM (agents may be using it); stop it, or keep a base VM for tasks: shimctl vm create --base"
        )));
    }
    let expr = task_mounts_expr(&worktree, &git_dir)?;
    let started = std::time::Instant::now();
    let _deferred = signals::defer();
    let mut made = Made::default();
    let outcome = (|| -> Result<()> {
        let w = text_path(&worktree)?;
        std::fs::create_dir_all(worktree.parent().unwrap_or(&worktree))
            .map_err(|e| Failure::cannot_run(format!("cannot make {}: {e}", worktree.display())))?;
        made.worktree = Some((repo.clone(), worktree.clone()));
        git_text(Some(&repo), &["worktree", "add", "--quiet", "-b", name, w])?;
        made.branch = Some(name.to_string());
        interrupted()?;
        made.vm = Some(vm.clone());
        control::step(
            &limactl,
            &format!("cloning VM `{base}` as `{vm}`"),
            &["clone", "--tty=false", &base, &vm, "--set", &expr],
            if args.verbose {
                Progress::Lima
            } else {
                Progress::Quiet
            },
        )?;
        interrupted()?;
        made.route = Some(name.to_string());
        edit_config(|text| Ok(with_route(text, name, w, &vm)))?;
        interrupted()
    })();
    if let Err(failure) = outcome {
        made.undo(&limactl);
        // Interrupted in the middle of a step: say so, rather than how the step ended.
        interrupted()?;
        return Err(failure);
    }
    crate::say!(
        "task `{name}` ready in {} s: worktree {} on branch {name}, VM `{vm}` (cloned from `{base}`; it starts with the first agent, shares only the worktree and {})",
        started.elapsed().as_secs(),
        worktree.display(),
        git_dir.display()
    );
    crate::say!("next: cd {} && claude", worktree.display());
    Ok(Exit::Success)
}

/// The task VM's mounts, whatever the base had: the worktree, and the repository's git
/// directory (a worktree's commits, index and HEAD live there), writable, at the same paths.
fn task_mounts_expr(worktree: &Path, git_dir: &Path) -> Result<String> {
    let add = |p: &Path| control::share_expr(&[], p, p, true);
    Ok(format!(
        ".mounts = [] | {} | {}",
        add(worktree)?,
        add(git_dir)?
    ))
}

/// The config's text, empty when there is none yet.
fn config_text() -> Result<String> {
    let (path, _) = config_path()?;
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(e) => Err(Failure::cannot_run(format!(
            "cannot read {}: {e}",
            path.display()
        ))),
    }
}

fn config_path() -> Result<(PathBuf, bool)> {
    host_dirs::config_file()
        .ok_or_else(|| Failure::cannot_run("cannot place the config file: set HOME"))
}

/// Rewrites the config with CHANGE applied to its text: the result must still be a valid
/// config, and it replaces the old one in one rename (mode kept), so a failure leaves the
/// config as it was.
fn edit_config(change: impl FnOnce(&str) -> Result<String>) -> Result<()> {
    let (path, _) = config_path()?;
    let old = config_text()?;
    let new = change(&old)?;
    config::parse(&new).map_err(|e| {
        Failure::cannot_run(format!(
            "the config would no longer parse ({e}); left {} as it was",
            path.display()
        ))
    })?;
    let fail =
        |e: std::io::Error| Failure::cannot_run(format!("cannot write {}: {e}", path.display()));
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(fail)?;
    }
    let tmp = path.with_extension("toml.shimctl-new");
    std::fs::write(&tmp, &new).map_err(fail)?;
    if let Ok(meta) = std::fs::metadata(&path) {
        let _ = std::fs::set_permissions(&tmp, meta.permissions());
    }
    std::fs::rename(&tmp, &path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        fail(e)
    })
}

/// TEXT with task NAME's route added at its end.
fn with_route(text: &str, name: &str, path: &str, vm: &str) -> String {
    let mut out = text.to_string();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(&format!(
        "\n[[routes]] {ROUTE_MARK}{name} (`shimctl task rm {name}` removes it)\npath = {}\nvm = {}\n",
        toml::Value::String(path.into()),
        toml::Value::String(vm.into())
    ));
    out
}

fn route_header(line: &str) -> Option<&str> {
    let rest = line.strip_prefix("[[routes]] ")?.strip_prefix(ROUTE_MARK)?;
    rest.split(' ').next()
}

/// TEXT without task NAME's route: its marked header and the `path`/`vm` lines after it
/// (and the blank line before it).
fn without_route(text: &str, name: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut out: Vec<&str> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if route_header(lines[i]) == Some(name) {
            if out.last() == Some(&"") {
                out.pop();
            }
            i += 1;
            while i < lines.len()
                && (lines[i].starts_with("path =") || lines[i].starts_with("vm ="))
            {
                i += 1;
            }
            continue;
        }
        out.push(lines[i]);
        i += 1;
    }
    let mut joined = out.join("\n");
    if !joined.is_empty() {
        joined.push('\n');
    }
    joined
}

/// The tasks the config records, by name.
fn task_names(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(route_header)
        .map(str::to_string)
        .collect()
}

/// A task as the config records it: NAME, its worktree (the route's path), its VM.
struct Task {
    name: String,
    worktree: PathBuf,
    vm: String,
}

fn tasks(loaded: &Loaded) -> Result<Vec<Task>> {
    let names = task_names(&config_text()?);
    Ok(names
        .into_iter()
        .filter_map(|name| {
            let vm = vm_of(&name);
            let route = loaded.config.routes.iter().find(|r| r.vm.0 == vm)?;
            Some(Task {
                worktree: host_dirs::expand_tilde(&route.path.0),
                name,
                vm,
            })
        })
        .collect())
}

fn task(loaded: &Loaded, name: &str) -> Result<Task> {
    tasks(loaded)?
        .into_iter()
        .find(|t| t.name == name)
        .ok_or_else(|| {
            Failure::usage(format!(
                "there is no task `{name}`; `shimctl task list` shows them"
            ))
        })
}

/// What the worktree holds that is not safe elsewhere.
struct Work {
    branch: String,
    uncommitted: Vec<String>,
    /// Commits on no remote-tracking branch.
    unpushed: usize,
}

fn work(worktree: &Path) -> Option<Work> {
    if !worktree.is_dir() {
        return None;
    }
    let branch = git_text(Some(worktree), &["branch", "--show-current"]).ok()?;
    let status = git_text(Some(worktree), &["status", "--porcelain"]).ok()?;
    let uncommitted = status
        .lines()
        .map(|l| l.get(3..).unwrap_or(l).to_string())
        .collect();
    let unpushed = git_text(
        Some(worktree),
        &["rev-list", "--count", "HEAD", "--not", "--remotes"],
    )
    .ok()
    .and_then(|n| n.parse().ok())
    .unwrap_or(0);
    Some(Work {
        branch,
        uncommitted,
        unpushed,
    })
}

/// Bytes the instance's files take on disk (a copy-on-write clone shares blocks it has not
/// changed, so this is what it may take at most).
fn disk_used(dir: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => disk_used(&e.path()),
            Ok(m) => m.blocks() * 512,
            Err(_) => 0,
        })
        .sum()
}

fn size(bytes: u64) -> String {
    const GIB: f64 = (1u64 << 30) as f64;
    const MIB: f64 = (1u64 << 20) as f64;
    let b = bytes as f64;
    if b >= GIB {
        format!("{:.1} GiB", b / GIB)
    } else {
        format!("{:.0} MiB", b / MIB)
    }
}

/// What `shimctl status` says of the tasks.
#[derive(Default)]
pub struct Summary {
    pub tasks: usize,
    pub running: usize,
    /// Running with no agent session from this machine.
    pub idle: usize,
}

pub fn summary(loaded: &Loaded) -> Summary {
    let mut s = Summary::default();
    for t in tasks(loaded).unwrap_or_default() {
        s.tasks += 1;
        if lima::instance_dir(&t.vm).is_ok_and(|d| lima::host_agent_running(&d)) {
            s.running += 1;
            if control::sessions(&t.vm).is_empty() {
                s.idle += 1;
            }
        }
    }
    s
}

fn list(loaded: &Loaded) -> Result<Exit> {
    let tasks = tasks(loaded)?;
    if tasks.is_empty() {
        crate::say!("no tasks; make one in a git repository: shimctl task new NAME");
        return Ok(Exit::Success);
    }
    for t in tasks {
        let dir = lima::instance_dir(&t.vm)?;
        let vm = if !dir.join("lima.yaml").exists() {
            "missing".to_string()
        } else if lima::host_agent_running(&dir) {
            match control::sessions(&t.vm).len() {
                0 => "running, idle (shimctl task stop to free its memory)".to_string(),
                1 => "running, 1 session".to_string(),
                n => format!("running, {n} sessions"),
            }
        } else {
            "stopped".to_string()
        };
        let work = match work(&t.worktree) {
            Some(w) => format!(
                "branch {}, {} files not committed, {} commits on no remote",
                w.branch,
                w.uncommitted.len(),
                w.unpushed
            ),
            None => "worktree missing".to_string(),
        };
        crate::say!(
            "{}: {} ({work}); VM `{}` {vm}, {} on disk",
            t.name,
            t.worktree.display(),
            t.vm,
            size(disk_used(&dir))
        );
    }
    Ok(Exit::Success)
}

fn stop(loaded: &Loaded, args: &StopArgs) -> Result<Exit> {
    let t = task(loaded, &args.name)?;
    let (limactl, _) = lima::target(loaded)?;
    lima::require_vm(&t.vm)?;
    if !control::may_stop(&t.vm, "stopping it", args.yes)? {
        crate::say!("left VM `{}` running", t.vm);
        return Ok(Exit::Refused);
    }
    control::step(
        &limactl,
        &format!("stopping VM `{}`", t.vm),
        &["stop", "--tty=false", t.vm.as_str()],
        Progress::Quiet,
    )?;
    Ok(Exit::Success)
}

fn rm(loaded: &Loaded, args: &RmArgs) -> Result<Exit> {
    let t = task(loaded, &args.name)?;
    let (limactl, _) = lima::target(loaded)?;
    let mut lost = vec![format!(
        "VM `{}` and its home (agent logins, caches, anything outside the worktree)",
        t.vm
    )];
    let work = work(&t.worktree);
    if let Some(w) = &work {
        if !args.keep_worktree && !w.uncommitted.is_empty() {
            let shown: Vec<&str> = w.uncommitted.iter().take(5).map(String::as_str).collect();
            lost.push(format!(
                "{} files not committed in {} ({}{})",
                w.uncommitted.len(),
                t.worktree.display(),
                shown.join(", "),
                if w.uncommitted.len() > 5 { ", ..." } else { "" }
            ));
        }
        if w.unpushed > 0 {
            crate::say!(
                "branch {} keeps its {} commits on no remote (it stays)",
                w.branch,
                w.unpushed
            );
        }
    }
    let what = format!("removing task `{}` loses {}", t.name, lost.join("; "));
    if !args.yes
        && !crate::ui::confirm(
            &format!("{what}. Remove it?"),
            format!("{what}; run it in a terminal to be asked, or pass --yes"),
        )?
    {
        crate::say!("left task `{}` as it is", t.name);
        return Ok(Exit::Refused);
    }
    if lima::exists(&t.vm)? {
        if !control::may_stop(&t.vm, "removing the task", args.yes)? {
            crate::say!("left task `{}` as it is", t.name);
            return Ok(Exit::Refused);
        }
        control::step(
            &limactl,
            &format!("deleting VM `{}`", t.vm),
            &["delete", "--tty=false", "--force", t.vm.as_str()],
            Progress::Quiet,
        )?;
    }
    edit_config(|text| Ok(without_route(text, &t.name)))?;
    if !args.keep_worktree && t.worktree.exists() {
        let repo = git_text(
            Some(&t.worktree),
            &["rev-parse", "--path-format=absolute", "--git-common-dir"],
        )?;
        let w = t.worktree.to_string_lossy();
        git_text(
            Some(Path::new(&repo)),
            &["worktree", "remove", "--force", &w],
        )?;
    }
    crate::say!(
        "removed task `{}`{}",
        t.name,
        if args.keep_worktree || work.is_none() {
            String::new()
        } else {
            format!(
                "; branch {} stays in the repository",
                work.as_ref().map_or("", |w| w.branch.as_str())
            )
        }
    );
    Ok(Exit::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_route_added_is_removed_exactly() {
        let mine = "vm = \"sandbox\"\n\n[[routes]]\npath = \"~/x\"\nvm = \"x\"\n";
        let with = with_route(mine, "feat", "/home/me/app.tasks/feat", "task-feat");
        let parsed = config::parse(&with).unwrap();
        assert_eq!(parsed.routes.len(), 2);
        assert_eq!(task_names(&with), ["feat"]);
        assert_eq!(without_route(&with, "feat"), mine);
        assert_eq!(without_route(&with, "other"), with);
        // A path that needs TOML's escapes survives the round trip.
        let odd = with_route("", "q", "/home/me/a \"b\"\\c", "task-q");
        assert_eq!(
            config::parse(&odd).unwrap().routes[0].path.0,
            "/home/me/a \"b\"\\c"
        );
    }
}
