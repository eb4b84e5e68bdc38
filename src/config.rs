//! The config file (TOML, optional) and how it merges into the built-in agent profiles.
//! Every name and pattern is checked while parsing, so a bad value is reported with the
//! line and key it stands on.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, Deserializer};

use crate::agents::{self, Agent};
use crate::env_policy::{self, valid_env_name};
use crate::error::{Failure, Result};
use crate::host_dirs::{self, ReadError};
use crate::invoked::{self, CONTROL_NAME};

/// Larger than any hand-written config; a bigger file is a mistake, not a config.
const MAX_CONFIG_BYTES: u64 = 1 << 20;

pub const DEFAULT_VM: &str = "sandbox";

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub vm: Option<VmName>,
    pub limactl: Option<PathBuf>,
    pub start: Option<bool>,
    /// How the shim reaches the VM: through `limactl shell` (default), or straight through
    /// Lima's ssh connection when the VM runs.
    pub door: Option<Door>,
    /// Seconds to wait for a limactl query (`--version`, `list`, a probe in the guest).
    pub query_timeout: Option<Seconds>,
    /// Seconds to wait for limactl to start, stop, create or edit the VM.
    pub vm_timeout: Option<Seconds>,
    #[serde(default)]
    pub env: Vec<EnvPattern>,
    #[serde(default)]
    pub agents: BTreeMap<AgentName, AgentConfig>,
    /// With this table, every agent runs in a sandbox whose only way out is a proxy that
    /// lets through these hosts (plus each agent's own, see egress.rs).
    pub egress: Option<EgressTable>,
    /// `sandbox = false` turns the agents' sandbox off; a `[sandbox]` table sets it up.
    pub sandbox: Option<SandboxSetting>,
    /// `[[routes]]`: the VM for the agents started under a directory (the deepest wins).
    #[serde(default)]
    pub routes: Vec<Route>,
}

/// One `[[routes]]` entry: agents started in PATH or below it run in VM.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    pub path: HostPath,
    pub vm: VmName,
}

/// Why a VM was chosen (explain and status say it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VmSource {
    /// `$SHIMCTL_VM`.
    Env,
    /// The deepest `[[routes]]` entry holding the directory, as written in the config.
    Route(String),
    /// The agent's own `vm`.
    Agent,
    /// The top-level `vm`.
    Global,
    Default,
}

impl fmt::Display for VmSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VmSource::Env => f.write_str("$SHIMCTL_VM"),
            VmSource::Route(path) => write!(f, "the route for {path}"),
            VmSource::Agent => f.write_str("the agent's `vm`"),
            VmSource::Global => f.write_str("`vm` in the config"),
            VmSource::Default => f.write_str("the default"),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(
    untagged,
    expecting = "`sandbox = true`, `sandbox = false` or a [sandbox] table"
)]
pub enum SandboxSetting {
    Switch(bool),
    Table(SandboxTable),
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SandboxTable {
    pub enabled: Option<bool>,
    /// Shows the container engine's socket (and the `docker` command) inside the sandbox;
    /// what the engine starts is outside it.
    pub container_socket: Option<bool>,
    /// Whether the files the host runs in writable shares (git config and hooks, editor and
    /// agent settings) are read-only to the agent (default true).
    pub protect_shares: Option<bool>,
    /// Host directories (inside shares) where those files stay writable.
    #[serde(default)]
    pub unprotected: Vec<HostPath>,
    /// More directories of the VM user's home that the agent sees, read-only (tools).
    #[serde(default)]
    pub tools: Vec<HomePath>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EgressTable {
    #[serde(default)]
    pub allow: Vec<EgressRule>,
    /// Whether the built-in agents' own hosts are allowed too (default true).
    pub defaults: Option<bool>,
    /// Shows the container engine's socket inside the sandbox: what the engine starts is
    /// outside the filter, so this weakens it.
    pub container_socket: Option<bool>,
}

#[derive(Debug, Clone)]
pub struct EgressRule(pub crate::egress_rule::Rule);

impl<'de> Deserialize<'de> for EgressRule {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        crate::egress_rule::Rule::parse(&s)
            .map(EgressRule)
            .map_err(de::Error::custom)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    pub command: Option<ProgramName>,
    pub vm: Option<VmName>,
    pub args: Option<Vec<String>>,
    #[serde(default)]
    pub env: Vec<EnvPattern>,
    pub full_auto: Option<bool>,
    pub full_auto_args: Option<Vec<String>>,
    pub full_auto_env: Option<BTreeMap<EnvName, String>>,
    /// Adds to the global [egress] for this agent (and turns egress on for it alone).
    pub egress: Option<EgressTable>,
    /// `false` runs this agent without the sandbox.
    pub sandbox: Option<bool>,
    /// More of the agent's state in the VM user's home (`~/.tool`), copied into the
    /// sandbox's home when that is made.
    #[serde(default)]
    pub state: Vec<HomePath>,
}

/// Declares a string newtype whose values are checked by `$check` while deserializing.
macro_rules! checked_string {
    ($name:ident, $what:literal, $check:expr) => {
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
        pub struct $name(pub String);

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                let check: fn(&str) -> bool = $check;
                if check(&s) {
                    Ok($name(s))
                } else {
                    Err(de::Error::custom(format!("`{s}` is not a valid {}", $what)))
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

checked_string!(
    VmName,
    "VM name (letters, digits, `.`, `_`, `-`, not starting with `.`, `_` or `-`)",
    valid_vm_name
);
checked_string!(
    AgentName,
    "agent name (letters, digits, `.`, `_`, `-`; it becomes a file name)",
    |s| valid_vm_name(s) && s != CONTROL_NAME && invoked::name_of(std::ffi::OsStr::new(s)) == s
);
checked_string!(
    EnvPattern,
    "variable name or pattern (letters, digits, `_`, and `*` as a wildcard; never a name the VM sets itself, such as HOME or PATH, nor SHIMCTL_*/LIMA_*)",
    |s| !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'*')
        && (env_policy::is_wildcard(s) || env_policy::never_forwarded(s).is_none())
);
checked_string!(
    EnvName,
    "variable name (letters, digits, `_`; not one the VM sets itself, such as HOME or PATH, nor SHIMCTL_*/LIMA_*)",
    |s| valid_env_name(s) && env_policy::never_forwarded(s).is_none()
);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Door {
    Limactl,
    Ssh,
}

/// A time limit in whole seconds, at least 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seconds(pub u64);

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let n = i64::deserialize(d)?;
        if (1..=86_400).contains(&n) {
            Ok(Seconds(n as u64))
        } else {
            Err(de::Error::custom(format!(
                "`{n}` is not a valid time limit (whole seconds, 1 to 86400)"
            )))
        }
    }
}
checked_string!(
    HomePath,
    "path in the VM user's home (`~/.name/...`, no `..`)",
    |s| s.strip_prefix("~/").is_some_and(|rest| !rest.is_empty()
        && rest
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != "..")
        && !rest.contains(['\0', '\n']))
);
checked_string!(
    HostPath,
    "host directory (absolute, or starting with `~/`)",
    |s| (s.starts_with('/') || s.starts_with("~/")) && !s.contains('\0')
);
// A `=` would make Lima read the program as a variable assignment (the NAME=value trap).
checked_string!(
    ProgramName,
    "program (a name or path without `=`, not starting with `-`)",
    |s| !s.is_empty() && !s.contains('=') && !s.starts_with('-') && !s.contains('\0')
);

pub fn valid_vm_name(s: &str) -> bool {
    let mut bytes = s.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphanumeric())
        && bytes.all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

/// The config as loaded, with where it came from (for messages).
#[derive(Debug, Default)]
pub struct Loaded {
    pub config: Config,
    pub path: Option<PathBuf>,
}

pub fn load() -> Result<Loaded> {
    let Some((path, explicit)) = host_dirs::config_file() else {
        return Ok(Loaded::default());
    };
    let text = match host_dirs::read_small_file(&path, MAX_CONFIG_BYTES) {
        Ok(bytes) => bytes,
        Err(ReadError::Missing) if !explicit => {
            return Ok(Loaded {
                config: Config::default(),
                path: Some(path),
            });
        }
        Err(e) => {
            return Err(Failure::cannot_run(format!(
                "cannot read the config file {}: {e}; fix it or unset {}",
                path.display(),
                host_dirs::CONFIG_VAR
            )));
        }
    };
    let text = String::from_utf8(text).map_err(|_| {
        Failure::cannot_run(format!(
            "config error in {}: the file is not UTF-8",
            path.display()
        ))
    })?;
    let config = parse(&text)
        .map_err(|e| Failure::cannot_run(format!("config error in {}{e}", path.display())))?;
    check_agent_names(&config)
        .map_err(|e| Failure::cannot_run(format!("config error in {}: {e}", path.display())))?;
    Ok(Loaded {
        config,
        path: Some(path),
    })
}

/// Parses config text; the error reads ` line N, key `k`: what is wrong`.
/// A table for a name that is no built-in agent, has no `command` and no shim is a typo
/// (`[agents.claude-code.egress]`): taken silently, it would leave the real agent without
/// what the table says (an egress filter, say).
fn check_agent_names(config: &Config) -> std::result::Result<(), String> {
    for (name, table) in &config.agents {
        if Agent::builtin(&name.0).is_some() || table.command.is_some() {
            continue;
        }
        let has_shim = host_dirs::default_shim_dir()
            .is_some_and(|d| std::fs::symlink_metadata(d.join(&name.0)).is_ok());
        if has_shim {
            continue;
        }
        let hint = match nearest(&name.0, agents::builtin_names()) {
            Some(near) => format!("did you mean `{near}`? "),
            None => String::new(),
        };
        return Err(format!(
            "`[agents.{name}]`: `{name}` is not an agent; {hint}(a new agent needs `command = \"...\"` or a shim: shimctl install {name})"
        ));
    }
    Ok(())
}

/// The candidate closest to `name`: one it starts or ends with, else within a third of its
/// length in edits.
pub fn nearest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let name = name.to_ascii_lowercase();
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        let d = if name.starts_with(c) || name.ends_with(c) || c.starts_with(&name) {
            0
        } else {
            edit_distance(&name, c)
        };
        if d <= name.len().max(c.len()) / 3 && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

/// Edits from `a` to `b` (insert, delete, substitute, or swap two neighbours: `stauts`
/// is one edit from `status`, as people mistype).
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

pub fn parse(text: &str) -> std::result::Result<Config, String> {
    toml::from_str::<Config>(text).map_err(|e| {
        let message = e.message().trim_end().to_string();
        match e.span() {
            Some(span) => {
                let (line, key) = locate(text, span.start);
                match key {
                    Some(key) => format!(" line {line}, key `{key}`: {message}"),
                    None => format!(" line {line}: {message}"),
                }
            }
            None => format!(": {message}"),
        }
    })
}

/// The 1-based line of a byte offset and the key written on it (or on the nearest line above
/// that has one, for values spread over several lines).
fn locate(text: &str, offset: usize) -> (usize, Option<String>) {
    let offset = offset.min(text.len());
    let line = text[..offset].matches('\n').count() + 1;
    let key = text
        .lines()
        .take(line)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .find_map(|l| {
            let l = l.trim();
            if l.starts_with('[') {
                Some(l.trim_matches(|c| c == '[' || c == ']').trim().to_string())
            } else {
                l.split_once('=')
                    .map(|(k, _)| k.trim().trim_matches('"').to_string())
            }
        });
    (line, key.filter(|k| !k.is_empty()))
}

impl Loaded {
    pub fn display_path(&self) -> String {
        match &self.path {
            Some(p) => p.display().to_string(),
            None => "the config file".into(),
        }
    }

    /// The config file as a user would type it (`~/...` under the home), for messages
    /// printed in the VM, where the host's full path means little.
    pub fn short_display_path(&self) -> String {
        match &self.path {
            Some(p) => host_dirs::tilde_form(p)
                .unwrap_or_else(|| p.clone())
                .display()
                .to_string(),
            None => "the config file".into(),
        }
    }

    pub fn agent_names(&self) -> Vec<String> {
        let mut names: Vec<String> = agents::builtin_names().map(String::from).collect();
        for name in self.config.agents.keys() {
            if !names.contains(&name.0) {
                names.push(name.0.clone());
            }
        }
        names
    }

    /// The effective profile of an agent: built-in defaults with the config laid over them.
    pub fn agent(&self, name: &str) -> Option<Agent> {
        let overrides = self.agent_config(name);
        let mut agent = match (Agent::builtin(name), overrides) {
            (Some(agent), _) => agent,
            (None, Some(_)) => Agent::custom(name),
            (None, None) => return None,
        };
        if let Some(o) = overrides {
            if let Some(command) = &o.command {
                agent.program = command.0.clone();
            }
            agent.vm = o.vm.as_ref().map(|v| v.0.clone());
            if let Some(args) = &o.args {
                agent.args = args.iter().map(OsString::from).collect();
            }
            agent.env.extend(o.env.iter().map(|p| p.0.clone()));
            if let Some(enabled) = o.full_auto {
                agent.full_auto.enabled = enabled;
            }
            if let Some(args) = &o.full_auto_args {
                agent.full_auto.args = args.clone();
            }
            if let Some(env) = &o.full_auto_env {
                agent.full_auto.env = env.iter().map(|(k, v)| (k.0.clone(), v.clone())).collect();
            }
        }
        Some(agent)
    }

    /// The program an agent name stands for (its file name, to look for on the host); a
    /// name no profile knows stands for itself.
    pub fn program_for(&self, name: &str) -> String {
        self.agent(name)
            .map(|a| a.program_file_name().to_string())
            .unwrap_or_else(|| name.to_string())
    }

    /// VM for an agent started in the current directory (see [`Self::vm_choice`]).
    pub fn vm_for(&self, agent: Option<&Agent>) -> Result<String> {
        let cwd = std::env::current_dir().ok();
        Ok(self.vm_choice(agent, cwd.as_deref())?.0)
    }

    /// VM for an agent started in CWD (physical, as getcwd gives it): `$SHIMCTL_VM`, else
    /// the deepest route holding CWD, else the agent's `vm`, else the top-level `vm`.
    pub fn vm_choice(
        &self,
        agent: Option<&Agent>,
        cwd: Option<&Path>,
    ) -> Result<(String, VmSource)> {
        if let Some(vm) = std::env::var_os("SHIMCTL_VM").filter(|v| !v.is_empty()) {
            let vm = vm.to_string_lossy().into_owned();
            if !valid_vm_name(&vm) {
                return Err(Failure::cannot_run(format!(
                    "SHIMCTL_VM=`{vm}` is not a valid VM name; unset it or use a Lima instance name"
                )));
            }
            return Ok((vm, VmSource::Env));
        }
        if let Some(route) = cwd.and_then(|cwd| self.route_for(cwd)) {
            return Ok((route.vm.0.clone(), VmSource::Route(route.path.0.clone())));
        }
        Ok(match (agent.and_then(|a| a.vm.clone()), &self.config.vm) {
            (Some(vm), _) => (vm, VmSource::Agent),
            (None, Some(vm)) => (vm.0.clone(), VmSource::Global),
            (None, None) => (DEFAULT_VM.to_string(), VmSource::Default),
        })
    }

    /// The deepest route whose directory holds CWD. A route's directory counts both as
    /// written and with its symlinks resolved (CWD is physical), so a route through a
    /// symlink applies; resolving costs system calls only when there are routes.
    pub fn route_for(&self, cwd: &Path) -> Option<&Route> {
        self.config
            .routes
            .iter()
            .filter_map(|route| {
                let written = crate::host_dirs::expand_tilde(&route.path.0);
                let resolved = crate::guest_paths::resolve(&written).ok();
                [Some(written), resolved]
                    .into_iter()
                    .flatten()
                    .filter(|dir| cwd.starts_with(dir))
                    .map(|dir| dir.components().count())
                    .max()
                    .map(|depth| (depth, route))
            })
            .max_by_key(|(depth, _)| *depth)
            .map(|(_, route)| route)
    }

    pub fn start(&self) -> bool {
        self.config.start.unwrap_or(true)
    }

    pub fn door(&self) -> Door {
        self.config.door.unwrap_or(Door::Limactl)
    }

    pub fn query_timeout(&self) -> Duration {
        Duration::from_secs(self.config.query_timeout.map_or(30, |s| s.0))
    }

    pub fn vm_timeout(&self) -> Duration {
        Duration::from_secs(self.config.vm_timeout.map_or(900, |s| s.0))
    }

    /// Patterns of variables every agent gets: the built-in terminal/locale set plus the config's.
    /// The variable patterns forwarded for AGENT (None: `shimctl shell`/`run`): the global
    /// ones and the agent's own.
    pub fn env_patterns(&self, agent: Option<&Agent>) -> Vec<String> {
        let mut patterns = self.global_env();
        if let Some(agent) = agent {
            patterns.extend(agent.env.iter().cloned());
        }
        patterns
    }

    pub fn global_env(&self) -> Vec<String> {
        let mut env: Vec<String> = agents::GLOBAL_ENV.iter().map(|s| s.to_string()).collect();
        env.extend(self.config.env.iter().map(|p| p.0.clone()));
        env
    }

    pub fn agent_config(&self, name: &str) -> Option<&AgentConfig> {
        self.config.agents.get(&AgentName(name.to_string()))
    }

    pub fn sandbox_table(&self) -> Option<&SandboxTable> {
        match &self.config.sandbox {
            Some(SandboxSetting::Table(t)) => Some(t),
            _ => None,
        }
    }

    /// On unless the agent's table or the global setting says `sandbox = false`.
    pub fn sandbox_enabled(&self, agent: &Agent) -> bool {
        let global = match &self.config.sandbox {
            Some(SandboxSetting::Switch(on)) => Some(*on),
            Some(SandboxSetting::Table(t)) => t.enabled,
            None => None,
        };
        self.agent_config(&agent.name)
            .and_then(|a| a.sandbox)
            .or(global)
            .unwrap_or(true)
    }

    pub fn limactl(&self) -> Option<&Path> {
        self.config.limactl.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_misspelt_agent_table_is_an_error_with_the_nearest_name() {
        let c = parse("[agents.claude-code.egress]\nallow = []\n").unwrap();
        let e = check_agent_names(&c).unwrap_err();
        assert!(
            e.contains("`claude-code` is not an agent; did you mean `claude`?"),
            "{e}"
        );
        let c = parse("[agents.codx]\nenv = []\n").unwrap();
        assert!(
            check_agent_names(&c)
                .unwrap_err()
                .contains("did you mean `codex`?")
        );
        let c = parse("[agents.mine]\ncommand = \"my-agent\"\n").unwrap();
        assert!(check_agent_names(&c).is_ok());
        assert_eq!(nearest("zzzzzz", ["claude", "codex"].into_iter()), None);
    }

    #[test]
    fn sandbox_is_a_switch_or_a_table() {
        let c = parse("sandbox = false\n").unwrap();
        assert!(matches!(c.sandbox, Some(SandboxSetting::Switch(false))));
        let c = parse("[sandbox]\ncontainer_socket = true\nunprotected = [\"~/scratch\"]\ntools = [\"~/.deno\"]\n").unwrap();
        let Some(SandboxSetting::Table(t)) = c.sandbox else {
            panic!()
        };
        assert_eq!(t.container_socket, Some(true));
        assert!(parse("[sandbox]\ntools = [\"/etc\"]\n").is_err());
        assert!(parse("[sandbox]\ntools = [\"~/../x\"]\n").is_err());
        assert!(parse("[agents.claude]\nsandbox = false\nstate = [\"~/.x\"]\n").is_ok());
    }

    #[test]
    fn empty_config_is_valid() {
        let c = parse("").unwrap();
        assert!(c.vm.is_none() && c.agents.is_empty());
    }

    #[test]
    fn full_config_parses() {
        let c = parse(
            r#"
vm = "dev"
limactl = "/opt/lima/bin/limactl"
start = false
env = ["GITHUB_TOKEN", "MY_*"]

[agents.claude]
args = ["--model", "opus"]
env = ["EXTRA"]
full_auto = false

[agents.pi]
command = "pi"
vm = "other"
full_auto_args = ["--yes"]
full_auto_env = { PI_AUTO = "1" }
"#,
        )
        .unwrap();
        assert_eq!(c.vm.unwrap().0, "dev");
        assert_eq!(c.start, Some(false));
        assert_eq!(c.agents.len(), 2);
    }

    #[test]
    fn unknown_key_names_line_and_key() {
        let e = parse("vm = \"a\"\nvmm = \"b\"\n").unwrap_err();
        assert!(e.contains("line 2"), "{e}");
        assert!(e.contains("`vmm`"), "{e}");
    }

    #[test]
    fn unknown_key_in_agent_table() {
        let e = parse("[agents.claude]\ncomand = \"x\"\n").unwrap_err();
        assert!(e.contains("line 2") && e.contains("comand"), "{e}");
    }

    #[test]
    fn bad_values_name_line_and_key() {
        let e = parse("start = \"yes\"\n").unwrap_err();
        assert!(e.contains("line 1") && e.contains("`start`"), "{e}");
        let e = parse("\nvm = \"my vm\"\n").unwrap_err();
        assert!(
            e.contains("line 2") && e.contains("`vm`") && e.contains("VM name"),
            "{e}"
        );
        let e = parse("env = [\"OK\", \"NOT-OK\"]\n").unwrap_err();
        assert!(e.contains("`env`") && e.contains("NOT-OK"), "{e}");
        let e = parse("[agents.x]\ncommand = \"A=b\"\n").unwrap_err();
        assert!(e.contains("line 2") && e.contains("`command`"), "{e}");
    }

    #[test]
    fn config_overrides_builtin_profile() {
        let loaded = Loaded {
            config: parse("[agents.claude]\ncommand = \"/opt/claude\"\nfull_auto_args = [\"--permission-mode\", \"acceptEdits\"]\n").unwrap(),
            path: None,
        };
        let a = loaded.agent("claude").unwrap();
        assert_eq!(a.program, "/opt/claude");
        assert_eq!(a.program_file_name(), "claude");
        assert_eq!(a.full_auto.args, vec!["--permission-mode", "acceptEdits"]);
        assert!(loaded.agent("nope").is_none());
    }

    #[test]
    fn egress_tables_parse_and_bad_rules_name_their_line() {
        let c = parse(
            "[egress]\nallow = [\"github.com\", \"*.npmjs.org\"]\ndefaults = false\n[agents.claude.egress]\nallow = [\"localhost:3000\"]\ncontainer_socket = true\n",
        )
        .unwrap();
        let global = c.egress.unwrap();
        assert_eq!(global.allow.len(), 2);
        assert_eq!(global.defaults, Some(false));
        let claude = c.agents.values().next().unwrap().egress.as_ref().unwrap();
        assert_eq!(claude.container_socket, Some(true));
        let e = parse("[egress]\nallow = [\"ok.example\",\n  \"bad/path\"]\n").unwrap_err();
        assert!(e.contains("`bad/path` is not a host rule"), "{e}");
        let e = parse("[egress]\nalow = []\n").unwrap_err();
        assert!(e.contains("line 2") && e.contains("alow"), "{e}");
    }

    #[test]
    fn new_agent_from_config() {
        let loaded = Loaded {
            config: parse("[agents.pi]\n").unwrap(),
            path: None,
        };
        let a = loaded.agent("pi").unwrap();
        assert_eq!(a.program, "pi");
        assert!(loaded.agent_names().contains(&"pi".to_string()));
    }
}
