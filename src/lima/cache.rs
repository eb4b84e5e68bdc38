//! Remembered answers from limactl, so that a warm `claude` spawns nothing but the final
//! exec. Each entry is keyed on the files whose change could change the answer (their
//! mtime, size and inode): the limactl binary for its version; the instance's `lima.yaml`
//! and `$LIMA_HOME/_config/{default,override}.yaml` for its mounts.
//!
//! Entries are NUL-separated fields (paths may hold any byte but NUL), written to a
//! temporary file and renamed, so a reader never sees half an entry.

use std::ffi::OsStr;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::Limactl;
use super::instance::{self, Instance, Mount};
use super::process;
use super::version::Version;
use crate::error::{Failure, Result};
use crate::host_dirs;

const MAGIC: &[u8] = b"shimctl-cache-2";
/// Far more than any entry needs (a few hundred mounts); a larger file is not ours.
const MAX_ENTRY_BYTES: u64 = 1 << 20;

fn stamp(path: &Path) -> Vec<u8> {
    match std::fs::metadata(path) {
        Ok(m) => format!(
            "{}.{}:{}:{}:{}",
            m.mtime(),
            m.mtime_nsec(),
            m.size(),
            m.ino(),
            m.dev()
        )
        .into_bytes(),
        Err(_) => b"absent".to_vec(),
    }
}

/// An entry's fields; anything that is not a small regular file in our format is a miss.
fn read_entry(file: &Path) -> Option<Vec<Vec<u8>>> {
    let bytes = host_dirs::read_small_file(file, MAX_ENTRY_BYTES).ok()?;
    let mut fields: Vec<Vec<u8>> = bytes.split(|&b| b == 0).map(<[u8]>::to_vec).collect();
    // Every field is NUL-terminated, so the split leaves one empty tail.
    if fields.pop()? != b"" || fields.first()? != MAGIC {
        return None;
    }
    Some(fields)
}

/// Best effort: a cache that cannot be written only costs the next run a limactl call.
fn write_entry(file: &Path, fields: &[&[u8]]) {
    let Some(dir) = file.parent() else { return };
    if std::fs::create_dir_all(dir).is_err() {
        return;
    }
    let tmp = dir.join(format!(".tmp-{}", std::process::id()));
    let mut data = Vec::new();
    for f in std::iter::once(MAGIC).chain(fields.iter().copied()) {
        data.extend_from_slice(f);
        data.push(0);
    }
    let _ = std::fs::remove_file(&tmp);
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .and_then(|mut f| f.write_all(&data));
    if written.is_err() || std::fs::rename(&tmp, file).is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
}

fn cache_file(name: &str) -> Option<PathBuf> {
    host_dirs::cache_dir().map(|d| d.join(name))
}

/// FNV-1a, to give each LIMA_HOME its own cache file name; collisions are harmless because
/// the entry repeats its full key.
fn short_hash(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325u64, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x100000001b3)
    })
}

pub fn limactl_version(limactl: &Limactl) -> Result<Version> {
    let key_path = limactl.canonical.as_os_str().as_bytes();
    let key_stamp = stamp(&limactl.canonical);
    let file = cache_file("limactl-version");

    if let Some(fields) = file.as_deref().and_then(read_entry)
        && let [_, path, st, version] = fields.as_slice()
        && path == key_path
        && *st == key_stamp
        && let Some(v) = std::str::from_utf8(version).ok().and_then(Version::parse)
    {
        return Ok(v);
    }

    limactl.refuse_shimctl()?;
    let out = process::output(
        &limactl.path,
        &["--version".into()],
        None,
        limactl.query_timeout,
    )?;
    let text = String::from_utf8_lossy(&out.stdout);
    let version = Version::parse_output(&text)
        .filter(|_| out.status.success())
        .ok_or_else(|| {
            let said = text.trim();
            let said: String = said.chars().take(200).collect();
            Failure::cannot_run(format!(
                "`{} --version` did not say `limactl version X.Y.Z` (it said `{}`{}); is it Lima's limactl? {}",
                limactl.path.display(),
                said.escape_debug(),
                if out.status.success() { String::new() } else { format!(", {}", out.status) },
                super::INSTALL_HINT
            ))
        })?;
    if let Some(file) = file {
        write_entry(
            &file,
            &[key_path, &key_stamp, version.to_string().as_bytes()],
        );
    }
    Ok(version)
}

/// The instance's mounts and guest home, asking `limactl list --json` only when a file
/// Lima builds them from has changed. Fails when the instance does not exist.
pub fn instance(limactl: &Limactl, vm: &str, dir: &Path) -> Result<Instance> {
    let lima_yaml = dir.join("lima.yaml");
    let yaml_stamp = stamp(&lima_yaml);
    if yaml_stamp == b"absent" {
        return Err(Failure::cannot_run(format!(
            "VM `{vm}` does not exist (no {}); create it with `shimctl vm create`, or pick another VM with SHIMCTL_VM or `vm` in the config",
            lima_yaml.display()
        )));
    }
    let lima_home = dir.parent().unwrap_or(Path::new("/"));
    let config_dir = lima_home.join("_config");
    let key: [Vec<u8>; 4] = [
        dir.as_os_str().as_bytes().to_vec(),
        yaml_stamp,
        stamp(&config_dir.join("default.yaml")),
        stamp(&config_dir.join("override.yaml")),
    ];
    let file = cache_file(&format!(
        "instance-{vm}-{:016x}",
        short_hash(lima_home.as_os_str().as_bytes())
    ));

    if let Some(fields) = file.as_deref().and_then(read_entry)
        && fields.len() > key.len()
        && fields[1..=key.len()] == key
        && let Some(instance) = decode(&fields[1 + key.len()..])
    {
        return Ok(instance);
    }

    let listed = instance::query(limactl, vm)?;
    listed.warn_ignored();
    let instance = listed.instance;
    if let Some(file) = file {
        let value = encode(&instance);
        let fields: Vec<&[u8]> = key.iter().chain(value.iter()).map(Vec::as_slice).collect();
        write_entry(&file, &fields);
    }
    Ok(instance)
}

fn encode(instance: &Instance) -> Vec<Vec<u8>> {
    let mut fields = vec![
        instance
            .guest_home
            .as_deref()
            .unwrap_or("")
            .as_bytes()
            .to_vec(),
        instance
            .guest_shell
            .as_deref()
            .unwrap_or("")
            .as_bytes()
            .to_vec(),
        instance.mounts.len().to_string().into_bytes(),
    ];
    for m in &instance.mounts {
        fields.push(m.location.as_os_str().as_bytes().to_vec());
        fields.push(m.resolved.as_os_str().as_bytes().to_vec());
        fields.push(m.mount_point.as_os_str().as_bytes().to_vec());
        fields.push(if m.writable {
            b"w".to_vec()
        } else {
            b"r".to_vec()
        });
    }
    fields
}

fn decode(fields: &[Vec<u8>]) -> Option<Instance> {
    let (home, rest) = fields.split_first()?;
    let (shell, rest) = rest.split_first()?;
    let (count, rest) = rest.split_first()?;
    let count: usize = std::str::from_utf8(count).ok()?.parse().ok()?;
    // The count is only compared, never used to size anything: a corrupt one is a miss.
    if Some(rest.len()) != count.checked_mul(4) {
        return None;
    }
    let path = |b: &Vec<u8>| PathBuf::from(OsStr::from_bytes(b));
    let mounts = rest
        .chunks(4)
        .map(|c| Mount {
            location: path(&c[0]),
            resolved: path(&c[1]),
            mount_point: path(&c[2]),
            writable: c[3] == b"w",
        })
        .collect();
    Some(Instance {
        mounts,
        guest_home: (!home.is_empty()).then(|| String::from_utf8_lossy(home).into_owned()),
        guest_shell: (!shell.is_empty()).then(|| String::from_utf8_lossy(shell).into_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_with_awkward_paths() {
        let instance = Instance {
            mounts: vec![Mount {
                location: PathBuf::from(OsStr::from_bytes(b"/a b/\n\xff")),
                resolved: PathBuf::from("/private/a b"),
                mount_point: PathBuf::from("/guest"),
                writable: true,
            }],
            guest_home: Some("/home/u.guest".into()),
            guest_shell: Some("/bin/zsh".into()),
        };
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("entry");
        let value = encode(&instance);
        let refs: Vec<&[u8]> = value.iter().map(Vec::as_slice).collect();
        write_entry(&file, &refs);
        let fields = read_entry(&file).unwrap();
        assert_eq!(decode(&fields[1..]), Some(instance));
    }

    #[test]
    fn a_foreign_or_truncated_file_is_a_miss() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("entry");
        std::fs::write(&file, b"something else\0").unwrap();
        assert!(read_entry(&file).is_none());
        std::fs::write(&file, b"shimctl-cache-2\0half").unwrap();
        assert!(read_entry(&file).is_none());
        let huge = format!("/h\0/bin/sh\0{}\0", usize::MAX);
        assert!(
            decode(
                &huge
                    .split('\0')
                    .map(|f| f.as_bytes().to_vec())
                    .collect::<Vec<_>>()
            )
            .is_none()
        );
    }
}
