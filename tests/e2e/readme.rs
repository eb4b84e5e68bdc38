//! The README and docs stand alone: every file they link to is in the repository, nothing
//! points outside it, the README links every document, and the documented explain output
//! is what explain prints.

use std::path::{Path, PathBuf};

use crate::world::*;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn docs() -> Vec<PathBuf> {
    let mut files = vec![Path::new(ROOT).join("README.md")];
    for entry in std::fs::read_dir(Path::new(ROOT).join("docs")).unwrap() {
        files.push(entry.unwrap().path());
    }
    files
}

/// The targets of markdown links `[text](target)` in `text`.
fn link_targets(text: &str) -> Vec<String> {
    text.split("](")
        .skip(1)
        .filter_map(|rest| rest.split(')').next())
        .map(|t| t.split('#').next().unwrap_or("").to_string())
        .collect()
}

#[test]
fn links_stay_inside_the_repository_and_exist() {
    let root = std::fs::canonicalize(ROOT).unwrap();
    for file in docs() {
        let text = std::fs::read_to_string(&file).unwrap();
        for target in link_targets(&text) {
            if target.is_empty() || target.contains("://") {
                continue;
            }
            let path = file.parent().unwrap().join(&target);
            let resolved = std::fs::canonicalize(&path)
                .unwrap_or_else(|_| panic!("{}: link to missing {target}", file.display()));
            assert!(
                resolved.starts_with(&root),
                "{}: link {target} leaves the repository",
                file.display()
            );
        }
    }
}

/// The README is the first screen; each document in docs/ is reachable from it, so no
/// page is found only by browsing the tree.
#[test]
fn the_readme_links_every_document() {
    let readme = std::fs::read_to_string(Path::new(ROOT).join("README.md")).unwrap();
    let linked = link_targets(&readme);
    for entry in std::fs::read_dir(Path::new(ROOT).join("docs")).unwrap() {
        let name = format!("docs/{}", entry.unwrap().file_name().to_string_lossy());
        assert!(linked.contains(&name), "README does not link {name}");
    }
    assert!(
        readme.len() <= 12 * 1024,
        "README is {} bytes: move detail to docs/",
        readme.len()
    );
}

#[test]
fn nothing_in_the_repository_points_outside_it() {
    let out = std::process::Command::new("git")
        .args(["ls-files"])
        .current_dir(ROOT)
        .output()
        .unwrap();
    let needle = ["..", "/shared"].concat();
    for name in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(text) = std::fs::read_to_string(Path::new(ROOT).join(name)) else {
            continue;
        };
        assert!(!text.contains(&needle), "{name} refers to {needle}");
    }
}

#[test]
fn the_explain_example_has_the_fields_explain_prints() {
    let usage = std::fs::read_to_string(Path::new(ROOT).join("docs/usage.md")).unwrap();
    let example = usage
        .split("$ shimctl explain claude")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("docs/usage.md shows an explain example");
    let labels = |text: &str| -> Vec<String> {
        text.lines()
            .filter_map(|l| l.split_once(':').map(|(k, _)| k.to_string()))
            .filter(|k| !k.is_empty() && !k.contains(' '))
            .collect()
    };
    let w = World::new();
    w.no_egress();
    let out = w
        .shimctl()
        .args(["explain", "claude", "-p", "it's done"])
        .env("LANG", "C.UTF-8")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        labels(example),
        labels(&stdout(&out)),
        "docs/usage.md:\n{example}"
    );
    let command = stdout(&out)
        .lines()
        .next()
        .unwrap()
        .split_once("limactl ")
        .unwrap()
        .1
        .to_string();
    assert!(
        example
            .contains(&command.replace(&w.project.display().to_string(), "/Users/me/Projects/app")),
        "docs/usage.md's command differs from `limactl {command}`"
    );
}
