//! The sandbox every agent runs in inside the VM (unless the config says `sandbox = false`):
//! what it lets the agent change, decided here on the host at every start and handed to the
//! guest launcher (`shell/sandbox.bash`) as arguments, so nothing the agent writes in the
//! VM changes what the next start allows. docs/sandbox.md has the design and its reasons.

use std::ffi::OsString;
use std::path::PathBuf;

use crate::agents::Agent;
use crate::config::Loaded;
use crate::egress::Policy;
use crate::lima::Mount;

const LAUNCHER: &str = include_str!("../shell/sandbox.bash");
const EGRESS_STAGE: &str = include_str!("../shell/egress.bash");
const WAITER: &str = include_str!("../shell/waiter.pl");

/// Names of files and directories that programs on the host run or obey when they work in a
/// shared directory (git, shells, editors, agents on the host): read-only to the agent
/// wherever they exist in a writable share. `.git` directories get their own treatment
/// (their config, hooks and info are read-only, the directory cannot be replaced).
pub const HOST_RUN: &[&str] = &[
    ".gitconfig",
    ".gitmodules",
    ".bashrc",
    ".bash_profile",
    ".bash_login",
    ".profile",
    ".zshrc",
    ".zshenv",
    ".zprofile",
    ".ripgreprc",
    ".mcp.json",
    ".envrc",
    ".vscode",
    ".idea",
    ".claude",
];

/// Directories the scan for those names does not enter: dependency and build trees, large,
/// written by tools, and not where the host runs git or an editor.
pub const NOT_SCANNED: &[&str] = &[
    "node_modules",
    ".venv",
    "venv",
    "__pycache__",
    ".tox",
    ".mypy_cache",
    ".gradle",
    "target",
];

/// Directories of the VM user's home that hold installed tools (the template's mise, Node
/// and agents): the agent sees them read-only in its own home.
pub const HOME_TOOLS: &[&str] = &[
    ".local/bin",
    ".local/share/mise",
    ".config/mise",
    ".local/share/claude",
    ".npm-global",
    ".cargo/bin",
    ".rustup",
    ".nvm",
];

/// What the VM needs for the sandbox, and with egress besides: the launcher checks them at
/// every start (it is told them, below), doctor in advance, the template installs them.
pub const SANDBOX_TOOLS: &[&str] = &["bwrap", "perl"];
pub const EGRESS_TOOLS: &[&str] = &["socat", "tinyproxy", "setsid"];

/// Programs that reach past the sandbox: in it they say why they do not work.
const CONTAINER_ENGINES: &[&str] = &["docker", "podman", "nerdctl"];

/// What one agent start sends the launcher.
pub struct Sandbox {
    pub egress: Option<Policy>,
    pub container_socket: bool,
    pub protect_shares: bool,
    /// Guest paths under which shares are not protected (`unprotected` in the config).
    pub unprotected: Vec<PathBuf>,
    pub tools: Vec<String>,
    /// The agent's state in the VM user's home, copied into its private home once.
    pub state: Vec<String>,
}

/// The agent's sandbox, or None when the config turns it off for this agent.
pub fn for_agent(loaded: &Loaded, agent: &Agent, mounts: &[Mount]) -> Option<Sandbox> {
    if !loaded.sandbox_enabled(agent) {
        return None;
    }
    let table = loaded.sandbox_table();
    let egress = crate::egress::policy(loaded, agent);
    let container_socket = table.and_then(|t| t.container_socket).unwrap_or(false)
        || egress.as_ref().is_some_and(|p| p.container_socket);
    let unprotected = table
        .map(|t| t.unprotected.as_slice())
        .unwrap_or_default()
        .iter()
        .filter_map(|p| {
            crate::guest_paths::guest_dir(&crate::host_dirs::expand_tilde(&p.0), mounts)
        })
        .map(|(guest, _)| guest)
        .collect();
    let mut tools: Vec<String> = HOME_TOOLS.iter().map(|s| s.to_string()).collect();
    if let Some(t) = table {
        tools.extend(t.tools.iter().map(|p| p.0.clone()));
    }
    let mut state = agent.state.clone();
    if let Some(own) = loaded.agent_config(&agent.name) {
        state.extend(own.state.iter().map(|p| p.0.clone()));
    }
    Some(Sandbox {
        egress,
        container_socket,
        protect_shares: table.and_then(|t| t.protect_shares).unwrap_or(true),
        unprotected,
        tools,
        state,
    })
}

impl Sandbox {
    /// The guest command words that run `agent argv...` in the sandbox.
    pub fn launcher_words(
        &self,
        agent: &str,
        program: &str,
        vm: &str,
        config: &str,
        mounts: &[Mount],
    ) -> Vec<OsString> {
        let mut w: Vec<OsString> = vec![
            "/bin/bash".into(),
            "-c".into(),
            script(LAUNCHER).into(),
            "shimctl-sandbox".into(),
            "--vm".into(),
            vm.into(),
            "--waiter".into(),
            script(WAITER).into(),
        ];
        let add = |w: &mut Vec<OsString>, flag: &str, value: &str| {
            w.extend([flag.into(), value.into()]);
        };
        for m in mounts {
            let flag = if m.writable { "--share" } else { "--share-ro" };
            // Mount points come from Lima's list; a non-UTF-8 one cannot be a Lima mount.
            if let Some(p) = m.mount_point.to_str() {
                add(&mut w, flag, p);
            }
        }
        let egress_tools = if self.egress.is_some() {
            EGRESS_TOOLS
        } else {
            &[]
        };
        for tool in SANDBOX_TOOLS.iter().chain(egress_tools) {
            add(&mut w, "--need", tool);
        }
        for t in &self.tools {
            add(&mut w, "--tool", home_relative(t));
        }
        for s in &self.state {
            add(&mut w, "--state", home_relative(s));
        }
        for name in HOST_RUN {
            add(&mut w, "--host-run", name);
        }
        for name in NOT_SCANNED {
            add(&mut w, "--prune", name);
        }
        for u in &self.unprotected {
            if let Some(p) = u.to_str() {
                add(&mut w, "--unprotected", p);
            }
        }
        add(
            &mut w,
            "--git-note",
            &format!(
                "shimctl: note: in {agent}'s sandbox .git/config, .git/hooks and .git/info are read-only (the host's git runs them); if that is what failed, run the command yourself (shimctl run git ...), or turn the protection off: protect_shares = false under [sandbox] in {config}"
            ),
        );
        add(
            &mut w,
            "--missing",
            &format!(
                "shimctl: {program} is not installed in VM `{vm}` (not on the agent's PATH there); install it: {}",
                crate::agents::install_hint(vm, program)
            ),
        );
        w.extend(["--refuse".into(), "sudo".into(), format!(
            "shimctl: sudo: {agent} has no root in its sandbox (root in VM `{vm}` could undo the sandbox); run it yourself: shimctl run sudo ...; or put it in the VM's template; or turn the sandbox off: sandbox = false under [agents.{agent}] in {config}"
        ).into()]);
        if !self.container_socket {
            for engine in CONTAINER_ENGINES {
                w.extend(["--refuse".into(), (*engine).into(), format!(
                    "shimctl: {engine}: the container engine runs outside {agent}'s sandbox, so the sandbox hides it; to let {agent} use it (what it starts is neither filtered nor protected: it can reach the whole VM), set container_socket = true under [sandbox] in {config}"
                ).into()]);
            }
        } else {
            w.push("--container-socket".into());
        }
        if !self.protect_shares {
            w.push("--no-protect".into());
        }
        let id = files_id(&w);
        add(&mut w, "--files-id", &id);
        if let Some(policy) = &self.egress {
            w.extend([
                "--egress".into(),
                script(EGRESS_STAGE).into(),
                "--blocked-message".into(),
                blocked_message(agent, config).into(),
            ]);
            for chunk in filter_chunks(&policy.filters()) {
                w.extend(["--filter-text".into(), chunk.into()]);
            }
            for port in policy.forwards() {
                w.extend(["--forward".into(), port.to_string().into()]);
            }
        }
        w.push("--".into());
        w
    }
}

fn home_relative(p: &str) -> &str {
    p.strip_prefix("~/").unwrap_or(p)
}

/// The refusal line the egress stage prints, with `%s` for the target and the rule.
fn blocked_message(agent: &str, config: &str) -> String {
    let esc = |s: &str| s.replace('%', "%%");
    format!(
        "shimctl: egress blocked %s for {agent}; to allow it, add \"%s\" to allow = [...] under [egress] (or [agents.{agent}.egress]) in {config}",
        agent = esc(agent),
        config = esc(config)
    )
}

/// A script as sent: without its comment lines (they are for readers of shell/).
pub fn script(text: &str) -> String {
    // One buffer: this runs at every sandboxed start, over some 30 KB.
    let mut out = String::with_capacity(text.len());
    for line in text.lines().filter(|l| !l.trim_start().starts_with('#')) {
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(line);
    }
    out
}

pub fn describe(sandbox: Option<&Sandbox>, agent: &str) -> Vec<String> {
    let Some(s) = sandbox else {
        return vec![format!(
            "sandbox:   OFF for {agent} (sandbox = false): it can change anything the VM user can, including what runs outside it later"
        )];
    };
    let mut lines = vec![format!(
        "sandbox:   on: {agent} writes only the writable shares (git config and hooks, editor and agent settings in them read-only), and its own home (~/.shimctl-sandbox in the VM)"
    )];
    if !s.protect_shares {
        lines.push(
            "           protect_shares = false: the files the host runs in shares are writable"
                .into(),
        );
    }
    lines.push(if s.container_socket {
        "           container engine: shown (container_socket = true); what it starts is outside the sandbox".into()
    } else {
        "           container engine: hidden".into()
    });
    lines
}

/// Names the small files the launcher writes from these words (the refusal scripts and the
/// git wrapper, in the VM user's `~/.shimctl-sandbox/bin`): a digest of their texts and of
/// the launcher that writes them. A start finds its files by name and writes none, however
/// often agents and configs alternate; comparing contents would cost a read per file, and
/// one shared name would be rewritten at each switch.
fn files_id(words: &[OsString]) -> String {
    // FNV-1a, 64 bits: a name, not a defence (the agent never sees these files). The
    // launcher's part is computed when shimctl is built.
    const LAUNCHER_FNV: u64 = fnv1a(0xcbf2_9ce4_8422_2325, LAUNCHER.as_bytes());
    let mut h = LAUNCHER_FNV;
    let mut eat = |bytes: &[u8]| {
        h = fnv1a(h, bytes);
        h = fnv1a(h, &[0]);
    };
    let mut take = 0;
    for w in words {
        if take > 0 {
            eat(w.as_encoded_bytes());
            take -= 1;
        } else if w == "--git-note" {
            take = 1;
        } else if w == "--refuse" {
            take = 2;
        }
    }
    format!("{h:016x}")
}

const fn fnv1a(mut h: u64, bytes: &[u8]) -> u64 {
    let mut i = 0;
    while i < bytes.len() {
        h ^= bytes[i] as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
        i += 1;
    }
    h
}

/// The proxy's filter, one regular expression per line, in words of at most 64 KiB: a word
/// per rule would make the launcher handle tens of thousands of words (10,000 rules cost
/// over a second in bash), and Linux refuses any one word over 128 KiB (MAX_ARG_STRLEN).
/// A rule's expressions never hold a newline (hosts are checked in egress.rs).
fn filter_chunks(filters: &[String]) -> Vec<String> {
    const MAX: usize = 64 * 1024;
    let mut chunks = vec![String::new()];
    for f in filters.iter().filter(|f| !f.contains('\n')) {
        let last = chunks.last_mut().expect("one chunk at least");
        if !last.is_empty() && last.len() + f.len() + 1 > MAX {
            chunks.push(String::new());
        }
        let last = chunks.last_mut().expect("one chunk at least");
        last.push_str(f);
        last.push('\n');
    }
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_filter_goes_in_words_under_the_kernels_limit_and_loses_nothing() {
        let filters: Vec<String> = (0..10_000)
            .map(|i| format!("^h{i}\\.example\\.com:(80|443)$"))
            .collect();
        let chunks = filter_chunks(&filters);
        assert!(chunks.len() > 1);
        assert!(
            chunks
                .iter()
                .all(|c| c.len() <= 64 * 1024 && c.ends_with('\n'))
        );
        let lines: Vec<&str> = chunks.iter().flat_map(|c| c.lines()).collect();
        assert_eq!(
            lines,
            filters.iter().map(String::as_str).collect::<Vec<_>>()
        );
    }

    #[test]
    fn the_launchers_files_are_named_by_their_texts() {
        let words = |agent: &str| -> Vec<OsString> {
            vec![
                "/bin/bash".into(),
                "-c".into(),
                "launcher".into(),
                "--git-note".into(),
                format!("note for {agent}").into(),
                "--refuse".into(),
                "sudo".into(),
                format!("no root for {agent}").into(),
                "--share".into(),
                "/p".into(),
            ]
        };
        assert_eq!(files_id(&words("claude")), files_id(&words("claude")));
        assert_ne!(files_id(&words("claude")), files_id(&words("codex")));
        // What the files do not hold does not rename them.
        let mut other_share = words("claude");
        other_share[9] = "/q".into();
        assert_eq!(files_id(&other_share), files_id(&words("claude")));
    }

    #[test]
    fn scripts_lose_only_comment_lines() {
        let s = script("# a comment\necho '#not'\n  # indented\nexit 0\n");
        assert_eq!(s, "echo '#not'\nexit 0");
    }

    #[test]
    fn a_percent_in_the_config_path_stays_a_percent() {
        let m = blocked_message("claude", "~/100%/config.toml");
        assert!(m.contains("~/100%%/config.toml"));
        assert_eq!(m.matches("%s").count(), 2);
    }
}
