//! limactl's version, from `limactl version X.Y.Z[-suffix]`.

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl Version {
    /// `--preserve-env` and `--start` arrived in 2.0.
    pub const MINIMUM: Version = Version {
        major: 2,
        minor: 0,
        patch: 0,
    };

    /// Reads `limactl --version` output: exactly `limactl version X.Y.Z` with an optional
    /// `v` and a `-suffix`/`+suffix` (release candidates, `git describe` builds). Anything
    /// else is not guessed at: a wrapper or another program printing numbers is not Lima.
    pub fn parse_output(text: &str) -> Option<Version> {
        let rest = text.trim().strip_prefix("limactl version ")?;
        let rest = rest.strip_prefix('v').unwrap_or(rest);
        let end = rest.find(['-', '+']).unwrap_or(rest.len());
        let (numbers, suffix) = rest.split_at(end);
        if suffix.chars().any(char::is_whitespace) {
            return None;
        }
        let mut parts = numbers.split('.');
        let mut next = || -> Option<u32> {
            let p = parts.next()?;
            (!p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
                .then(|| p.parse().ok())
                .flatten()
        };
        let version = Version {
            major: next()?,
            minor: next()?,
            patch: next()?,
        };
        parts.next().is_none().then_some(version)
    }

    pub fn parse(s: &str) -> Option<Version> {
        let mut nums = s.split(['.', '-', '+']).map(|p| p.parse::<u32>());
        let major = nums.next()?.ok()?;
        let minor = nums.next().and_then(|r| r.ok()).unwrap_or(0);
        let patch = nums.next().and_then(|r| r.ok()).unwrap_or(0);
        Some(Version {
            major,
            minor,
            patch,
        })
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_limactl_output() {
        assert_eq!(
            Version::parse_output("limactl version 2.1.0\n"),
            Some(Version {
                major: 2,
                minor: 1,
                patch: 0
            })
        );
        assert_eq!(
            Version::parse_output("limactl version 1.2.3-rc.1"),
            Some(Version {
                major: 1,
                minor: 2,
                patch: 3
            })
        );
        assert_eq!(
            Version::parse_output("limactl version v2.0.3-12-gabcdef"),
            Some(Version {
                major: 2,
                minor: 0,
                patch: 3
            })
        );
        for bad in [
            "limactl version HEAD",
            "",
            "2.1.0",
            "lima 2.1.0",
            "limactl version 2.1",
            "limactl version 2.1.0.4",
            "limactl version 2.x.0",
            "limactl version 2.1.0\nextra words",
            "warning: something\nlimactl version 2.1.0",
        ] {
            assert_eq!(Version::parse_output(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn minimum_is_two() {
        assert!(Version::parse("1.2.9").unwrap() < Version::MINIMUM);
        assert!(Version::parse("2.0.0").unwrap() >= Version::MINIMUM);
    }
}
