//! Which host variables reach the agent: only names matched by an allow-list pattern (the
//! built-in terminal/locale set, the agent's own keys, the config's additions). Everything
//! else, secrets included, stays on the host.

use std::ffi::OsString;

/// shimctl's and Lima's own control variables: they steer the host side and must never
/// appear in the agent's environment, whatever the patterns say.
const NEVER_FORWARDED: &[&str] = &["SHIMCTL_*", "LIMA_SHELLENV_*", "LIMACTL"];

/// Anchored, case-sensitive match where `*` stands for any run of characters (Lima's rule).
pub fn pattern_matches(pattern: &str, name: &str) -> bool {
    let p = pattern.as_bytes();
    let n = name.as_bytes();
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ni));
            pi += 1;
        } else if pi < p.len() && p[pi] == n[ni] {
            pi += 1;
            ni += 1;
        } else if let Some((sp, sn)) = star {
            pi = sp + 1;
            ni = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&b| b == b'*')
}

/// Names Lima can carry: it rejects anything but `[A-Za-z0-9_]` in its allow list.
fn carriable(name: &str) -> bool {
    crate::config::valid_env_name(name)
}

/// The host variable names to forward, sorted and without repeats.
pub fn select(patterns: &[String], host_names: impl IntoIterator<Item = OsString>) -> Vec<String> {
    let mut names: Vec<String> = host_names
        .into_iter()
        .filter_map(|n| n.into_string().ok())
        .filter(|n| carriable(n))
        .filter(|n| !NEVER_FORWARDED.iter().any(|p| pattern_matches(p, n)))
        .filter(|n| patterns.iter().any(|p| pattern_matches(p, n)))
        .collect();
    names.sort();
    names.dedup();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_matching_is_anchored() {
        assert!(pattern_matches("LC_*", "LC_ALL"));
        assert!(pattern_matches("LC_*", "LC_"));
        assert!(!pattern_matches("LC_*", "XLC_ALL"));
        assert!(pattern_matches("*_KEY", "MY_API_KEY"));
        assert!(!pattern_matches("*_KEY", "MY_API_KEYS"));
        assert!(pattern_matches("A*B*C", "AxxBxxBxC"));
        assert!(pattern_matches("*", "ANY"));
        assert!(!pattern_matches("LANG", "LANGUAGE"));
        assert!(!pattern_matches("lang", "LANG"));
    }

    #[test]
    fn only_listed_names_that_are_set_pass() {
        let host = [
            "LANG",
            "AWS_SECRET_ACCESS_KEY",
            "ANTHROPIC_API_KEY",
            "LC_ALL",
            "PATH",
        ]
        .map(OsString::from);
        let patterns = vec![
            "LANG".to_string(),
            "LC_*".into(),
            "ANTHROPIC_API_KEY".into(),
            "UNSET".into(),
        ];
        assert_eq!(
            select(&patterns, host),
            vec!["ANTHROPIC_API_KEY", "LANG", "LC_ALL"]
        );
    }

    #[test]
    fn control_variables_never_pass_even_with_star() {
        let host = [
            "SHIMCTL_VM",
            "LIMA_SHELLENV_ALLOW",
            "LIMACTL",
            "FOO",
            "BAD-NAME",
        ]
        .map(OsString::from);
        assert_eq!(select(&["*".to_string()], host), vec!["FOO"]);
    }
}
