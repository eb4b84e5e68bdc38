//! The shim directory: which links are ours, and which program wins on PATH for a name.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::error::{Failure, Result};
use crate::host_dirs;

/// The running shimctl, for telling our links from foreign files.
pub struct Me {
    pub path: PathBuf,
    id: Option<(u64, u64)>,
}

fn file_id(path: &Path) -> Option<(u64, u64)> {
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

pub fn canonical(p: &Path) -> PathBuf {
    crate::guest_paths::resolve(p).unwrap_or_else(|_| p.to_path_buf())
}

impl Me {
    pub fn find() -> Option<Me> {
        let path = canonical(&std::env::current_exe().ok()?);
        Some(Me {
            id: file_id(&path),
            path,
        })
    }

    /// The same file as this binary, by canonical path or by device and inode (hard links).
    pub fn is_same_file(&self, path: &Path) -> bool {
        (self.id.is_some() && file_id(path) == self.id) || canonical(path) == self.path
    }

    /// Ours: this binary, or a link to any binary called shimctl (an older or other build).
    pub fn is_ours(&self, path: &Path) -> bool {
        self.is_same_file(path) || canonical(path).file_name().is_some_and(|n| n == "shimctl")
    }
}

pub fn me() -> Result<Me> {
    Me::find().ok_or_else(|| Failure::cannot_run("cannot tell where the shimctl binary is"))
}

pub fn shim_dir(explicit: Option<&Path>) -> Result<PathBuf> {
    explicit
        .map(Path::to_path_buf)
        .or_else(host_dirs::default_shim_dir)
        .ok_or_else(|| {
            Failure::cannot_run("cannot place the shim directory: set HOME or XDG_DATA_HOME")
        })
}

/// What sits at a shim's place.
pub enum Slot {
    Empty,
    Ours,
    Foreign(String),
}

pub fn inspect(link: &Path, me: &Me) -> Slot {
    let Ok(meta) = std::fs::symlink_metadata(link) else {
        return Slot::Empty;
    };
    if meta.file_type().is_symlink() {
        if me.is_ours(link) {
            return Slot::Ours;
        }
        let target = std::fs::read_link(link)
            .map(|t| t.display().to_string())
            .unwrap_or_default();
        return Slot::Foreign(format!("a symlink to {target}"));
    }
    if meta.is_dir() {
        Slot::Foreign("a directory".into())
    } else if me.is_same_file(link) {
        Slot::Ours
    } else {
        Slot::Foreign("a regular file".into())
    }
}

/// The names in a shim directory, sorted (none when it does not exist).
pub fn entry_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok()?.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// The shims in a directory: entries that are ours.
pub fn ours(dir: &Path, me: &Me) -> Vec<String> {
    let mut names = entry_names(dir);
    names.retain(|n| matches!(inspect(&dir.join(n), me), Slot::Ours));
    names
}

pub enum Standing {
    First,
    Shadowed(PathBuf),
    NotOnPath,
}

/// Whether typing `name` reaches a shim (any of ours, wherever it lives).
pub fn standing(name: &str, me: &Me) -> Standing {
    match host_dirs::executables_on_path(Path::new(name)).next() {
        Some(p) if me.is_ours(&p) => Standing::First,
        Some(p) => Standing::Shadowed(p),
        None => Standing::NotOnPath,
    }
}

/// The user's shell (from `$SHELL`) and the line that puts the shim directory `dir` first,
/// with its file; `--dir` is part of the line only when `dir` is not the default.
pub fn init_advice(dir: &Path) -> String {
    let shell = std::env::var_os("SHELL")
        .map(|s| {
            Path::new(&s)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        })
        .unwrap_or_default();
    let dir_arg = match host_dirs::default_shim_dir() {
        Some(default) if default == dir => String::new(),
        _ => format!(
            " --dir {}",
            crate::quote::sh_quote(dir.as_os_str().as_encoded_bytes())
        ),
    };
    match shell.as_str() {
        "zsh" => {
            format!("add `eval \"$(shimctl init zsh{dir_arg})\"` to ~/.zshrc and open a new shell")
        }
        "fish" => format!(
            "add `shimctl init fish{dir_arg} | source` to ~/.config/fish/config.fish and open a new shell"
        ),
        _ => format!(
            "add `eval \"$(shimctl init bash{dir_arg})\"` to ~/.bashrc and open a new shell"
        ),
    }
}

/// The start-up files of the user's shell that already run `shimctl init`, if any.
fn files_with_init_line() -> Vec<PathBuf> {
    let Some(home) = host_dirs::home() else {
        return Vec::new();
    };
    let zdotdir = std::env::var_os("ZDOTDIR")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .unwrap_or_else(|| home.clone());
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .unwrap_or_else(|| home.join(".config"));
    [
        home.join(".bashrc"),
        home.join(".bash_profile"),
        home.join(".bash_login"),
        home.join(".profile"),
        zdotdir.join(".zshrc"),
        config.join("fish/config.fish"),
    ]
    .into_iter()
    .filter(|f| {
        host_dirs::read_small_file(f, 1 << 20).is_ok_and(|text| {
            String::from_utf8_lossy(&text).lines().any(|l| {
                !l.trim_start().starts_with('#') && l.contains("shimctl") && l.contains(" init ")
            })
        })
    })
    .collect()
}

/// What to do when the shims do not come first on this PATH: the init line, or, when a
/// start-up file already has it, that this shell's PATH changed after it ran.
pub fn path_advice(dir: &Path) -> String {
    match files_with_init_line().first() {
        Some(file) => format!(
            "{} already puts {} first, but this shell's PATH was changed after it ran; open a new shell, or move the `shimctl init` line to the end of {}",
            file.display(),
            dir.display(),
            file.display()
        ),
        None => init_advice(dir),
    }
}
