//! The profile check: each built-in profile against the real agent CLI, at the versions
//! pinned in tests/agents/ and installed by tests/agents/install.sh into
//! `$SHIMCTL_AGENTS_DIR`. Without that directory the checks say they were skipped (and
//! fail when `SHIMCTL_REQUIRE_AGENTS=1`, as in CI). Nothing needs a login or the network:
//! programs run in an empty network namespace (`unshare -n`) when root; otherwise only
//! their help is read.
//!
//! What is proven, per agent:
//! - the full-auto flag parses where the shim puts it: an invocation whose parser rejects
//!   unknown options is run with a bogus flag (it must be rejected) and with the real one
//!   (it must not be);
//! - every subcommand `--help` lists is classified in the profile (full-auto or skip), and
//!   every classified one still exists (hidden ones are asked for their own help);
//! - every flag whose help reads like a permission choice is in the "user chose" list (or
//!   reviewed as not one), and every value-taking flag is known as such.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use super::profiles::{BUILTINS, Builtin};

const BOGUS: &str = "--shimctl-bogus-flag";

/// Words in a flag's help that mean it may choose a permission mode.
const PERMISSION_WORDS: &[&str] = &[
    "permission",
    "approv",
    "yolo",
    "dangerous",
    "bypass",
    "allow-all",
    "allow all",
    "trust",
    "restricted",
    "autopilot",
    "auto-accept",
    "automatically accept",
    "without asking",
    "confirmation",
    "always say yes",
    "allow-tool",
    "deny-tool",
    "allow-url",
    "deny-url",
];

struct Real {
    dir: PathBuf,
    home: tempfile::TempDir,
    root: bool,
}

/// The installed agents, or None (with a note, or a failure when they are required).
fn real() -> Option<Real> {
    let dir = std::env::var_os("SHIMCTL_AGENTS_DIR").map(PathBuf::from);
    let required = std::env::var_os("SHIMCTL_REQUIRE_AGENTS").is_some_and(|v| v == "1");
    match dir.filter(|d| d.join(".stamp").exists()) {
        Some(dir) => Some(Real {
            dir: std::fs::canonicalize(&dir).unwrap(),
            home: tempfile::tempdir().unwrap(),
            // SAFETY: no memory effects.
            root: unsafe { libc::geteuid() } == 0,
        }),
        None if required => panic!(
            "SHIMCTL_REQUIRE_AGENTS=1 but no agents in $SHIMCTL_AGENTS_DIR: run tests/agents/install.sh DIR first"
        ),
        None => {
            eprintln!(
                "skipped: the real agent CLIs are not installed (tests/agents/install.sh DIR, then SHIMCTL_AGENTS_DIR=DIR)"
            );
            None
        }
    }
}

impl Real {
    fn program(&self, agent: &str) -> PathBuf {
        match agent {
            "aider" => self.dir.join("venv/bin/aider"),
            _ => self.dir.join("node_modules/.bin").join(agent),
        }
    }

    /// Everything the program printed, run offline with a clean environment.
    fn run(&self, agent: &str, args: &[&str], env: &[(&str, &str)]) -> String {
        let mut cmd = if self.root {
            let mut c = Command::new("unshare");
            c.arg("-n").arg("timeout").arg("60");
            c
        } else {
            let mut c = Command::new("timeout");
            c.arg("60");
            c
        };
        let bin = self.dir.join("node_modules/.bin");
        cmd.arg(self.program(agent))
            .args(args)
            .env_clear()
            .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
            .env("HOME", self.home.path())
            .env("NO_COLOR", "1")
            .envs(env.iter().copied())
            .current_dir(self.home.path())
            .stdin(Stdio::null());
        let out = cmd.output().expect("the agent runs");
        let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&out.stderr));
        text
    }

    fn help(&self, agent: &str, sub: &[&str]) -> String {
        let mut args = sub.to_vec();
        args.push("--help");
        self.run(agent, &args, &[])
    }
}

/// The names (aliases included) a help text lists as subcommands: the entries indented by
/// exactly two spaces under a `Commands:` heading, up to the next heading.
fn subcommands(help: &str, program: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut inside = false;
    for line in help.lines() {
        if !line.starts_with(' ') && !line.trim().is_empty() {
            inside = line.trim_end().eq_ignore_ascii_case("commands:");
            continue;
        }
        if !inside {
            continue;
        }
        // An alias may stand on a description's continuation line (clap wraps).
        let Some(entry) = line.strip_prefix("  ").filter(|e| !e.starts_with(' ')) else {
            if let Some(rest) = line.split("[aliases: ").nth(1) {
                let list = rest.split(']').next().unwrap_or("");
                names.extend(list.split(',').map(|a| a.trim().to_string()));
            }
            continue;
        };
        let mut words = entry.split_whitespace();
        let mut first = words.next().unwrap_or("");
        if first == program {
            first = words.next().unwrap_or("");
        }
        if first.starts_with(['[', '<', '-']) || first.is_empty() {
            continue;
        }
        names.extend(first.split('|').map(String::from));
        for marker in ["[aliases: ", "[alias: "] {
            if let Some(rest) = entry.split(marker).nth(1) {
                let list = rest.split(']').next().unwrap_or("");
                names.extend(list.split(',').map(|a| a.trim().to_string()));
            }
        }
    }
    names.retain(|n| !n.is_empty());
    names.sort();
    names.dedup();
    names
}

struct HelpFlag {
    names: Vec<String>,
    takes_value: bool,
    variadic: bool,
    text: String,
}

/// The flags a help text documents, each with its help text and whether it takes a value:
/// `<v>` after the names (commander, clap), an upper-case metavar (argparse), or a
/// `[string]`/`[number]`/`[array]` type (yargs; arrays take several).
fn flags(help: &str) -> Vec<HelpFlag> {
    let mut out: Vec<HelpFlag> = Vec::new();
    for line in help.lines() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        // A flag's own line is indented a little (2 to 6 spaces in every style here); a
        // line indented more continues the description above, even when it starts with a
        // flag it mentions.
        let flag_line = (1..=6).contains(&indent)
            && trimmed.starts_with('-')
            && trimmed[1..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '-');
        if !flag_line {
            if let Some(last) = out.last_mut()
                && !trimmed.is_empty()
                && indent > 6
            {
                last.text.push(' ');
                last.text.push_str(trimmed);
                let t = trimmed;
                if t.contains("[string]") || t.contains("[number]") {
                    last.takes_value = true;
                }
                if t.contains("[array]") {
                    last.takes_value = true;
                    last.variadic = true;
                }
            }
            continue;
        }
        let spec = trimmed.split("  ").next().unwrap_or(trimmed);
        let mut names = Vec::new();
        let mut takes_value = false;
        let mut variadic = false;
        for word in spec.split([' ', ',']).filter(|w| !w.is_empty()) {
            if word.starts_with('-') {
                let name = word.split(['=', '[', '<']).next().unwrap_or(word);
                if !name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                {
                    continue;
                }
                names.push(name.to_string());
                if word.contains('<') || word.contains('=') && !word.ends_with('=') {
                    takes_value = true;
                }
            } else if word.starts_with('<') {
                takes_value = true;
                variadic |= word.contains("...");
            } else if word.chars().next().is_some_and(|c| c.is_ascii_uppercase())
                && word.chars().all(|c| c.is_ascii_uppercase() || c == '_')
            {
                takes_value = true;
            }
        }
        if trimmed.contains("[string]") || trimmed.contains("[number]") {
            takes_value = true;
        }
        if trimmed.contains("[array]") {
            takes_value = true;
            variadic = true;
        }
        out.push(HelpFlag {
            names,
            takes_value,
            variadic,
            text: trimmed.to_string(),
        });
    }
    out
}

fn listed(list: &[&str], name: &str) -> bool {
    list.contains(&name)
}

/// Everything wrong with one profile, as lines for a maintainer.
fn problems(real: &Real, b: &Builtin) -> Vec<String> {
    let mut found = Vec::new();
    let root_help = real.help(b.name, &[]);

    let real_subs = subcommands(&root_help, b.name);
    let classified: Vec<&str> = b
        .skip_subcommands
        .iter()
        .chain(b.full_auto_subcommands)
        .copied()
        .collect();
    for sub in &real_subs {
        if !classified.contains(&sub.as_str()) {
            found.push(format!(
                "`{} {sub}` is a subcommand the profile does not classify: add it to skip_subcommands or full_auto_subcommands",
                b.name
            ));
        }
    }
    for sub in &classified {
        let exists = real_subs.iter().any(|s| s == sub)
            || (listed(b.hidden_subcommands, sub) && real.help(b.name, &[sub]) != root_help);
        if !exists {
            found.push(format!(
                "`{} {sub}` is in the profile but is no longer a subcommand: remove it",
                b.name
            ));
        }
    }

    let user_chose = |name: &str| {
        listed(b.skip_flags, name)
            || listed(b.not_permission_choices, name)
            || b.skip_flag_values.iter().any(|(f, _)| *f == name)
    };
    for flag in flags(&root_help) {
        let lower = flag.text.to_lowercase();
        let about_permissions = PERMISSION_WORDS.iter().any(|w| lower.contains(w));
        if about_permissions && !flag.names.iter().any(|n| user_chose(n)) {
            found.push(format!(
                "{} flag {} looks like a permission choice: add it to skip_flags, or to not_permission_choices once reviewed ({})",
                b.name,
                flag.names.join(", "),
                flag.text.chars().take(100).collect::<String>()
            ));
        }
        // Without subcommands, which word is a flag's value changes nothing the shim does.
        let has_subcommands = !real_subs.is_empty() || !classified.is_empty();
        for name in flag.names.iter().filter(|_| has_subcommands) {
            if flag.takes_value
                && !listed(b.value_flags, name)
                && !listed(b.variadic_flags, name)
                && !listed(b.skip_flags, name)
            {
                found.push(format!(
                    "{} flag {name} takes a value: add it to value_flags",
                    b.name
                ));
            }
            if flag.variadic && !listed(b.variadic_flags, name) && !listed(b.skip_flags, name) {
                found.push(format!(
                    "{} flag {name} takes several values: add it to variadic_flags",
                    b.name
                ));
            }
        }
    }

    if real.root {
        for probe in b.probes {
            let with = |flag: &[&str]| -> Vec<String> {
                probe
                    .args
                    .iter()
                    .flat_map(|a| {
                        if *a == "{FLAG}" {
                            flag.iter().map(|f| f.to_string()).collect()
                        } else {
                            vec![a.to_string()]
                        }
                    })
                    .collect()
            };
            let bogus = with(&[BOGUS]);
            let bogus: Vec<&str> = bogus.iter().map(String::as_str).collect();
            let out = real.run(b.name, &bogus, probe.env);
            if !out.contains(probe.rejected) {
                found.push(format!(
                    "{} {}: expected `{}` for an unknown flag, so this probe proves nothing; got: {}",
                    b.name,
                    bogus.join(" "),
                    probe.rejected,
                    out.chars().take(200).collect::<String>()
                ));
                continue;
            }
            let args = with(b.full_auto_args);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let mut env: Vec<(&str, &str)> = probe.env.to_vec();
            env.extend(b.full_auto_env.iter().copied());
            let out = real.run(b.name, &args, &env);
            for bad in std::iter::once(&probe.rejected).chain(probe.refused) {
                if out.contains(bad) {
                    found.push(format!(
                        "{} {}: the full-auto flag is refused where the shim puts it: {}",
                        b.name,
                        args.join(" "),
                        out.chars().take(200).collect::<String>()
                    ));
                }
            }
        }
    } else {
        eprintln!(
            "{}: not root, so no network namespace: the full-auto flag was not run",
            b.name
        );
    }
    found
}

fn check(agent: &str) {
    let Some(real) = real() else { return };
    let b = BUILTINS.iter().find(|b| b.name == agent).unwrap();
    let found = problems(&real, b);
    assert!(found.is_empty(), "\n{}\n", found.join("\n"));
}

#[test]
fn claude_profile_matches_the_real_cli() {
    check("claude");
}

#[test]
fn codex_profile_matches_the_real_cli() {
    check("codex");
}

#[test]
fn opencode_profile_matches_the_real_cli() {
    check("opencode");
}

#[test]
fn gemini_profile_matches_the_real_cli() {
    check("gemini");
}

#[test]
fn copilot_profile_matches_the_real_cli() {
    check("copilot");
}

#[test]
fn amp_profile_matches_the_real_cli() {
    check("amp");
}

#[test]
fn aider_profile_matches_the_real_cli() {
    check("aider");
}

#[test]
fn help_parsing_reads_each_style() {
    let commander = "Commands:\n  mcp                 Configure\n  plugin|plugins      Manage\n  stop|kill <id>      Stop\n                      more text\n\nOptions:\n  --add-dir <directories...>   More\n  -p, --print                  Print\n  --debug [filter]             Debug\n";
    assert_eq!(
        subcommands(commander, "claude"),
        ["kill", "mcp", "plugin", "plugins", "stop"]
    );
    let f = flags(commander);
    assert_eq!(f[0].names, ["--add-dir"]);
    assert!(f[0].takes_value && f[0].variadic);
    assert_eq!(f[1].names, ["-p", "--print"]);
    assert!(!f[1].takes_value);
    assert!(!f[2].takes_value, "an optional value is not taken for sure");
    let yargs = "Commands:\n  gemini mcp          Manage  [aliases: m]\n  gemini [query..]    Launch  [default]\n\nOptions:\n  -m, --model     Model  [string]\n      --policy    Policy  [array]\n  -y, --yolo      Yes  [boolean]\n";
    assert_eq!(subcommands(yargs, "gemini"), ["m", "mcp"]);
    let f = flags(yargs);
    assert!(f[0].takes_value && !f[0].variadic);
    assert!(f[1].variadic);
    assert!(!f[2].takes_value);
    let argparse = "options:\n  --model MODEL         Specify the model\n  --yes-always, --no-yes-always\n                        Always say yes\n";
    let f = flags(argparse);
    assert!(f[0].takes_value);
    assert_eq!(f[1].names, ["--yes-always", "--no-yes-always"]);
    assert!(!f[1].takes_value);
    assert!(f[1].text.contains("Always say yes"));
}

/// Each profile's package is the one tests/agents/ pins: the check runs what the profile
/// names, and a renamed package fails here rather than silently testing nothing.
#[test]
fn every_profiles_package_is_pinned() {
    use super::profiles::Package;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/agents");
    let npm: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join("package.json")).unwrap()).unwrap();
    let pypi = std::fs::read_to_string(root.join("requirements.txt")).unwrap();
    for b in BUILTINS {
        match b.package {
            Package::Npm(name) => assert!(
                npm["dependencies"][name].is_string(),
                "{}: {name} is not in tests/agents/package.json",
                b.name
            ),
            Package::PyPi(name) => assert!(
                pypi.lines().any(|l| l.starts_with(&format!("{name}=="))),
                "{}: {name} is not pinned in tests/agents/requirements.txt",
                b.name
            ),
            Package::Unavailable => assert!(b.probes.is_empty(), "{}", b.name),
        }
    }
}
