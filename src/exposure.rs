//! What sharing a directory with the VM hands the agent that it should not have: the whole
//! home, the root, and the usual credential files. Used to warn (`share`, `doctor`) and to
//! choose what a message suggests.

use std::path::Path;

use crate::locations;

const SECRETS: &[&str] = &[
    ".ssh",
    ".aws",
    ".gnupg",
    ".kube",
    ".config/gh",
    ".config/gcloud",
    ".netrc",
    ".docker/config.json",
    ".git-credentials",
];

fn canonical(p: &Path) -> std::path::PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

/// The secrets under `dir` (resolved), each as a short description.
pub fn exposed_secrets(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    if dir == Path::new("/") {
        found.push("the whole file system".to_string());
    } else if let Some(home) = locations::home().map(|h| canonical(&h))
        && home.starts_with(dir)
    {
        found.push(format!("the whole home directory {}", home.display()));
    }
    found.extend(
        SECRETS
            .iter()
            .filter(|s| dir.join(s).exists())
            .map(|s| s.to_string()),
    );
    found
}

/// The command a message suggests for sharing `cwd`: `shimctl share .`, unless that would
/// expose secrets, then a project directory instead.
pub fn share_suggestion(cwd: &Path) -> String {
    if exposed_secrets(cwd).is_empty() {
        "shimctl share .".into()
    } else {
        "cd to a project directory and run `shimctl share .` there (sharing this one would expose secrets)"
            .into()
    }
}
