//! Which host variables reach the agent: only names matched by an allow-list pattern (the
//! built-in terminal/locale set, the agent's own keys, the config's additions). Everything
//! else, secrets included, stays on the host.
//!
//! Two lists are never forwarded, whatever the patterns say:
//! - Lima's default block list (`HOME`, `PATH`, `USER`, `SHELL`, `TERM`, `SSH_*`, `XDG_*`,
//!   ...). The shim sends `LIMA_SHELLENV_BLOCK='*'` plus `LIMA_SHELLENV_ALLOW=names`, and in
//!   Lima the allow list wins over the block list, so a name from that list in ALLOW would
//!   give the guest the host's HOME or PATH (pkg/envutil in lima-vm/lima; docs/lima.md).
//! - shimctl's and Lima's own control variables: they steer the host side.

use std::ffi::OsString;

/// Lima's default `LIMA_SHELLENV_BLOCK` list (pkg/envutil/envutil.go, defaultBlockList).
pub const LIMA_DEFAULT_BLOCK: &[&str] = &[
    "BASH*",
    "DISPLAY",
    "DYLD_*",
    "EUID",
    "FPATH",
    "GID",
    "GROUP",
    "HOME",
    "HOSTNAME",
    "LD_*",
    "LOGNAME",
    "OLDPWD",
    "PATH",
    "PWD",
    "SHELL",
    "SHLVL",
    "SSH_*",
    "TERM",
    "TERMINFO",
    "TMPDIR",
    "UID",
    "USER",
    "XAUTHORITY",
    "XDG_*",
    "ZDOTDIR",
    "ZSH*",
    "_*",
];

/// shimctl's and Lima's own control variables.
const CONTROL: &[&str] = &["SHIMCTL_*", "LIMA_*", "LIMACTL"];

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

/// A variable name as Lima accepts it in its lists: `[A-Za-z0-9_]`, not empty.
pub fn valid_env_name(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// A name that must never reach the agent, and why (for config errors and `explain`).
pub fn never_forwarded(name: &str) -> Option<&'static str> {
    if LIMA_DEFAULT_BLOCK.iter().any(|p| pattern_matches(p, name)) {
        Some("the VM sets it itself (Lima's default block list)")
    } else if CONTROL.iter().any(|p| pattern_matches(p, name)) {
        Some("it controls shimctl or Lima on the host")
    } else {
        None
    }
}

/// Whether a pattern can match more than the one name it spells.
pub fn is_wildcard(pattern: &str) -> bool {
    pattern.contains('*')
}

/// The host variable names to forward, sorted and without repeats.
pub fn select(patterns: &[String], host_names: impl IntoIterator<Item = OsString>) -> Vec<String> {
    let mut names: Vec<String> = host_names
        .into_iter()
        .filter_map(|n| n.into_string().ok())
        .filter(|n| valid_env_name(n) && never_forwarded(n).is_none())
        .filter(|n| patterns.iter().any(|p| pattern_matches(p, n)))
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Each wildcard pattern with the forwarded names it alone brought in: the user should see
/// them named, since a `*` can carry a secret they did not mean to send.
pub fn wildcard_matches(patterns: &[String], forwarded: &[String]) -> Vec<(String, Vec<String>)> {
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    for name in forwarded.iter().filter(|n| !patterns.contains(n)) {
        let Some(pattern) = patterns
            .iter()
            .find(|p| is_wildcard(p) && pattern_matches(p, name))
        else {
            continue;
        };
        match groups.iter_mut().find(|(p, _)| p == pattern) {
            Some((_, names)) => names.push(name.clone()),
            None => groups.push((pattern.clone(), vec![name.clone()])),
        }
    }
    groups
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
    fn the_hosts_identity_and_control_variables_never_pass() {
        let host = [
            "SHIMCTL_VM",
            "LIMA_SHELLENV_ALLOW",
            "LIMA_HOME",
            "LIMACTL",
            "HOME",
            "PATH",
            "USER",
            "SHELL",
            "TERM",
            "SSH_AUTH_SOCK",
            "XDG_RUNTIME_DIR",
            "BASH_ENV",
            "LD_PRELOAD",
            "_",
            "FOO",
            "BAD-NAME",
        ]
        .map(OsString::from);
        assert_eq!(select(&["*".to_string()], host.clone()), vec!["FOO"]);
        assert_eq!(
            select(&["*HOME*".to_string(), "PATH".into()], host),
            Vec::<String>::new()
        );
    }

    #[test]
    fn wildcards_are_named() {
        let patterns = vec!["LANG".to_string(), "*_KEY".into()];
        let forwarded = vec!["A_KEY".to_string(), "LANG".into(), "MY_KEY".into()];
        assert_eq!(
            wildcard_matches(&patterns, &forwarded),
            vec![(
                "*_KEY".to_string(),
                vec!["A_KEY".to_string(), "MY_KEY".to_string()]
            )]
        );
    }
}
