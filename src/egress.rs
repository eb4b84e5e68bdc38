//! Egress policy: which hosts an agent may reach from its in-guest sandbox. Computed here,
//! on the host, at every start, and handed to the guest launcher (`shell/egress.bash`) as
//! arguments, so nothing the agent writes in the VM changes the next start's policy.
//! docs/egress.md has the design; the rule syntax is documented in docs/security.md.

use std::fmt;

use crate::agents::Agent;
use crate::config::{EgressTable, Loaded};
pub use crate::egress_rule::Rule;

/// Where a rule comes from, for `egress test` and `explain`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Global,
    Agent(String),
    Default(String),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Global => f.write_str("[egress] allow"),
            Source::Agent(a) => write!(f, "[agents.{a}.egress] allow"),
            Source::Default(a) => write!(
                f,
                "{a}'s built-in defaults (drop them with `defaults = false` under [agents.{a}.egress])"
            ),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Policy {
    pub rules: Vec<(Rule, Source)>,
    pub container_socket: bool,
}

impl Policy {
    pub fn decide(&self, host: &str, port: u16) -> Option<&(Rule, Source)> {
        self.rules.iter().find(|(r, _)| r.matches(host, port))
    }

    /// The launcher's words, before `--` and the agent's command.
    /// The proxy's filter: two anchored regexes per rule (CONNECT `host:port`, plain-HTTP
    /// URL); one that matches nothing when there is no rule.
    pub fn filters(&self) -> Vec<String> {
        let mut filters: Vec<String> = self.rules.iter().flat_map(|(r, _)| r.filters()).collect();
        filters.dedup();
        if filters.is_empty() {
            filters.push("^shimctl-allows-nothing$".into());
        }
        filters
    }

    /// The VM's own ports that `localhost:PORT` rules forward into the sandbox.
    pub fn forwards(&self) -> Vec<u16> {
        let mut forwards: Vec<u16> = self.rules.iter().filter_map(|(r, _)| r.forward()).collect();
        forwards.sort_unstable();
        forwards.dedup();
        forwards
    }
}

pub fn policy(loaded: &Loaded, agent: &Agent) -> Option<Policy> {
    let global = loaded.config.egress.as_ref();
    let own = loaded
        .agent_config(&agent.name)
        .and_then(|a| a.egress.as_ref());
    if global.is_none() && own.is_none() {
        return None;
    }
    let defaults = own
        .and_then(|t| t.defaults)
        .or(global.and_then(|t| t.defaults))
        .unwrap_or(true);
    let mut rules = Vec::new();
    let mut add = |table: Option<&EgressTable>, source: Source| {
        for r in table.map(|t| t.allow.as_slice()).unwrap_or_default() {
            rules.push((r.0.clone(), source.clone()));
        }
    };
    add(global, Source::Global);
    add(own, Source::Agent(agent.name.clone()));
    if defaults {
        for host in &agent.egress_hosts {
            let rule = Rule::parse(host).expect("built-in rules are valid");
            rules.push((rule, Source::Default(agent.name.clone())));
        }
    }
    let container_socket = own
        .and_then(|t| t.container_socket)
        .or(global.and_then(|t| t.container_socket))
        .unwrap_or(false);
    Some(Policy {
        rules,
        container_socket,
    })
}

/// The policy as `explain` and `doctor` print it, one line each, aligned like explain's.
pub fn describe(policy: &Policy, agent: &str) -> Vec<String> {
    let mut lines = vec![format!(
        "egress:    on: {agent} runs in a sandbox whose only way out is a proxy to these hosts"
    )];
    if policy.rules.is_empty() {
        lines.push("           (no host at all)".into());
    }
    for (rule, source) in &policy.rules {
        lines.push(format!("           {rule}  ({source})"));
    }
    lines
}

/// `host`, `host:port` or a URL, as typed to `shimctl egress test`: the host and port a
/// client would CONNECT to.
pub fn parse_target(s: &str) -> Option<(String, u16)> {
    let (default_port, rest) = if let Some(r) = s.strip_prefix("https://") {
        (443, r)
    } else if let Some(r) = s.strip_prefix("http://") {
        (80, r)
    } else {
        (443, s)
    };
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit('@').next()?;
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) => (h, p.parse::<u16>().ok().filter(|p| *p != 0)?),
        None => (authority, default_port),
    };
    Rule::parse(&format!("{host}:{port}"))
        .ok()
        .filter(|r| !r.is_wildcard())?;
    Some((host.to_ascii_lowercase(), port))
}

/// The rule that would allow a host, as a user would write it.
pub fn suggested_rule(host: &str, port: u16) -> String {
    match port {
        80 | 443 => host.to_string(),
        p => format!("{host}:{p}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_like_a_client() {
        assert_eq!(parse_target("github.com"), Some(("github.com".into(), 443)));
        assert_eq!(
            parse_target("http://Example.com/x?y"),
            Some(("example.com".into(), 80))
        );
        assert_eq!(
            parse_target("https://u:p@example.com:8443/"),
            Some(("example.com".into(), 8443))
        );
        assert_eq!(
            parse_target("localhost:3000"),
            Some(("localhost".into(), 3000))
        );
        assert_eq!(parse_target("*.github.com"), None);
        assert_eq!(parse_target("bad host"), None);
    }

    #[test]
    fn every_default_rule_parses() {
        for name in crate::agents::builtin_names() {
            let agent = Agent::builtin(name).unwrap();
            assert!(!agent.egress_hosts.is_empty(), "{name}");
            for host in &agent.egress_hosts {
                Rule::parse(host).unwrap();
            }
        }
    }
}
