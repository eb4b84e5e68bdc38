//! One egress `allow` rule: its syntax, what it matches, and its proxy filter lines. Below
//! both the config (which parses rules where they are written) and the egress policy
//! (which combines them), so neither depends on the other through it.

use std::fmt;

/// One `allow` entry: `host`, `*.domain` (subdomains only, any depth), either with
/// `:PORT`. Without a port it allows HTTPS and HTTP (443 and 80).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub text: String,
    host: String,
    subdomains: bool,
    port: Option<u16>,
}

impl Rule {
    pub fn parse(s: &str) -> Result<Rule, String> {
        let lower = s.to_ascii_lowercase();
        let not_a_rule = || {
            format!(
                "`{s}` is not a host rule (a host name such as `api.example.com`, `*.example.com` for its subdomains, either with `:PORT`; no scheme, path or other wildcard)"
            )
        };
        if lower.contains(['/', '@', '[', ']']) {
            return Err(not_a_rule());
        }
        let (host_part, port) = match lower.rsplit_once(':') {
            Some((h, p)) => {
                let port = Some(p)
                    .filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
                    .and_then(|p| p.parse::<u16>().ok())
                    .filter(|p| *p != 0)
                    .ok_or_else(|| format!("`{s}`: `{p}` is not a port (1-65535)"))?;
                (h, Some(port))
            }
            None => (lower.as_str(), None),
        };
        let (subdomains, host) = match host_part.strip_prefix("*.") {
            Some(rest) => (true, rest),
            None => (false, host_part),
        };
        let valid_label = |l: &str| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        if host.is_empty() || host.len() > 253 || !host.split('.').all(valid_label) {
            return Err(not_a_rule());
        }
        if host == "localhost" && !subdomains && port.is_none_or(|p| p < 1024) {
            return Err(format!(
                "`{s}`: `localhost` takes a port from 1024 up (`localhost:3000`): that port of the VM is forwarded into the sandbox"
            ));
        }
        Ok(Rule {
            text: s.to_string(),
            host: host.to_string(),
            subdomains,
            port,
        })
    }

    /// `localhost:PORT`: the VM's own port, forwarded to the same port inside the sandbox
    /// (whose loopback is its own, and which clients reach without the proxy).
    pub fn forward(&self) -> Option<u16> {
        (self.host == "localhost" && !self.subdomains)
            .then_some(self.port)
            .flatten()
    }

    /// `*.domain`: a pattern, not one host.
    pub fn is_wildcard(&self) -> bool {
        self.subdomains
    }

    fn ports(&self) -> Vec<u16> {
        match self.port {
            Some(p) => vec![p],
            None => vec![80, 443],
        }
    }

    pub fn matches(&self, host: &str, port: u16) -> bool {
        let host = host.to_ascii_lowercase();
        let host_ok = if self.subdomains {
            host.strip_suffix(&self.host)
                .and_then(|rest| rest.strip_suffix('.'))
                .is_some_and(|label| !label.is_empty())
        } else {
            host == self.host
        };
        host_ok && self.ports().contains(&port)
    }

    /// tinyproxy's filter lines (extended regexes, matched case-insensitively against
    /// `host:port` for CONNECT and the whole URL for plain HTTP). Anchored on both sides
    /// of the host, so `allowed.test@evil.example` or `allowed.test.evil.example` never
    /// match.
    pub fn filters(&self) -> [String; 2] {
        let escaped = self.host.replace('.', "\\.");
        let host = if self.subdomains {
            format!("([a-z0-9_-]+\\.)+{escaped}")
        } else {
            escaped
        };
        let ports: Vec<String> = self.ports().iter().map(u16::to_string).collect();
        let ports = ports.join("|");
        let http = match self.port {
            // Port 80 is the one a URL may leave out.
            None => format!("^http://{host}(:({ports}))?(/|$)"),
            Some(80) => format!("^http://{host}(:80)?(/|$)"),
            Some(_) => format!("^http://{host}:({ports})(/|$)"),
        };
        [format!("^{host}:({ports})$"), http]
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(s: &str) -> Rule {
        Rule::parse(s).unwrap()
    }

    #[test]
    fn exact_host_allows_https_and_http_only() {
        let r = rule("GitHub.com");
        assert!(r.matches("github.com", 443));
        assert!(r.matches("GITHUB.COM", 80));
        assert!(!r.matches("github.com", 22));
        assert!(!r.matches("api.github.com", 443));
        assert!(!r.matches("evilgithub.com", 443));
    }

    #[test]
    fn wildcard_is_subdomains_only() {
        let r = rule("*.github.com");
        assert!(r.matches("api.github.com", 443));
        assert!(r.matches("a.b.github.com", 443));
        assert!(!r.matches("github.com", 443));
        assert!(!r.matches("evilgithub.com", 443));
        assert!(!r.matches(".github.com", 443));
    }

    #[test]
    fn port_rules_allow_that_port_only() {
        let r = rule("host.lima.internal:8080");
        assert!(r.matches("host.lima.internal", 8080));
        assert!(!r.matches("host.lima.internal", 443));
        assert!(rule("localhost:3000").matches("localhost", 3000));
        assert_eq!(rule("localhost:3000").forward(), Some(3000));
        assert_eq!(rule("example.com:3000").forward(), None);
    }

    #[test]
    fn localhost_needs_a_forwardable_port() {
        for bad in ["localhost", "localhost:80", "LOCALHOST:1023"] {
            let e = Rule::parse(bad).unwrap_err();
            assert!(e.contains("from 1024 up"), "{bad}: {e}");
        }
    }

    #[test]
    fn bad_rules_say_what_a_rule_is() {
        for bad in [
            "",
            "*",
            "*.",
            "https://github.com",
            "github.com/path",
            "git*hub.com",
            "a..b",
            "host:0",
            "host:65536",
            "host:",
            "user@host",
            "[::1]",
        ] {
            let e = Rule::parse(bad).unwrap_err();
            assert!(e.contains(&format!("`{bad}`")), "{bad}: {e}");
        }
    }

    #[test]
    fn filters_are_anchored() {
        let [connect, http] = rule("*.example.com").filters();
        assert_eq!(connect, "^([a-z0-9_-]+\\.)+example\\.com:(80|443)$");
        assert_eq!(
            http,
            "^http://([a-z0-9_-]+\\.)+example\\.com(:(80|443))?(/|$)"
        );
        let [connect, http] = rule("dev.test:8080").filters();
        assert_eq!(connect, "^dev\\.test:(8080)$");
        assert_eq!(http, "^http://dev\\.test:(8080)(/|$)");
    }
}
