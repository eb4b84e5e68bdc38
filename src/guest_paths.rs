//! Host paths to guest paths through the VM's mounts. The working directory is compared
//! symlink-resolved, as Lima does (`/tmp` vs `/private/tmp`, symlinked project dirs);
//! arguments are rewritten only when they are absolute paths under a mount that the guest
//! sees elsewhere, so everything else passes through byte for byte.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Component, Path, PathBuf};

use crate::lima::Mount;

/// `p` with every symbolic link resolved, as `std::fs::canonicalize`, but on Linux in
/// three system calls (open with O_PATH, readlink of its /proc/self/fd entry, close) where
/// realpath(3) takes one per path component: the shim resolves several paths at every
/// start. Elsewhere, or when /proc is not there, canonicalize.
pub fn resolve(p: &Path) -> std::io::Result<PathBuf> {
    #[cfg(target_os = "linux")]
    if let Ok(c) = std::ffi::CString::new(p.as_os_str().as_bytes()) {
        // SAFETY: a valid NUL-terminated path; the descriptor is closed below.
        let fd = unsafe { libc::open(c.as_ptr(), libc::O_PATH | libc::O_CLOEXEC) };
        // What open cannot find, realpath cannot either.
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        {
            let link = std::fs::read_link(format!("/proc/self/fd/{fd}"));
            // SAFETY: fd is this function's own, open, and closed once.
            unsafe { libc::close(fd) };
            // The kernel names a path it cannot express (another mount namespace, a
            // deleted file) otherwise than as an absolute path to it.
            if let Ok(link) = link
                && link.is_absolute()
                && !link.as_os_str().as_bytes().ends_with(b" (deleted)")
            {
                return Ok(link);
            }
        }
    }
    std::fs::canonicalize(p)
}

fn join_rel(base: &Path, rel: &Path) -> PathBuf {
    if rel.as_os_str().is_empty() {
        base.to_path_buf()
    } else {
        base.join(rel)
    }
}

/// The mount containing `host` (by one of the given views of each mount's location), the
/// deepest one when mounts nest, with the part of `host` below it.
fn deepest<'m>(
    host: &Path,
    mounts: &'m [Mount],
    views: impl Fn(&'m Mount) -> Vec<&'m Path>,
) -> Option<(&'m Mount, PathBuf)> {
    mounts
        .iter()
        .flat_map(|m| views(m).into_iter().map(move |v| (m, v)))
        .filter_map(|(m, view)| {
            host.strip_prefix(view)
                .ok()
                .map(|rel| (m, view, rel.to_path_buf()))
        })
        .max_by_key(|(_, view, _)| view.components().count())
        .map(|(m, _, rel)| (m, rel))
}

/// The guest directory for a host working directory (already physical, as getcwd gives it).
pub fn guest_dir<'m>(host_cwd: &Path, mounts: &'m [Mount]) -> Option<(PathBuf, &'m Mount)> {
    deepest(host_cwd, mounts, |m| vec![&m.resolved, &m.location])
        .map(|(m, rel)| (join_rel(&m.mount_point, &rel), m))
}

/// Where the part of `arg` below `base` begins, if `arg` names `base` or a path under it.
/// `base` is compared component by component, so `//` and `/./` in that prefix still match;
/// what follows is not looked at here.
fn prefix_end(arg: &[u8], base: &Path) -> Option<usize> {
    let mut pos = 0;
    for component in base.components() {
        match component {
            Component::RootDir => {
                if arg.first() != Some(&b'/') {
                    return None;
                }
                pos = 1;
            }
            Component::Normal(name) => {
                loop {
                    while arg.get(pos) == Some(&b'/') {
                        pos += 1;
                    }
                    let rest = &arg[pos..];
                    if rest == b"." || rest.starts_with(b"./") {
                        pos += 1;
                    } else {
                        break;
                    }
                }
                let name = name.as_bytes();
                if !arg[pos..].starts_with(name) {
                    return None;
                }
                pos += name.len();
                if !matches!(arg.get(pos), None | Some(b'/')) {
                    return None;
                }
            }
            _ => return None,
        }
    }
    Some(pos)
}

/// Whether a `..` in `rest` (the part below a mount) climbs above the mount.
fn climbs_out(rest: &[u8]) -> bool {
    let mut depth = 0i64;
    for part in rest.split(|&b| b == b'/') {
        match part {
            b"" | b"." => {}
            b".." => {
                depth -= 1;
                if depth < 0 {
                    return true;
                }
            }
            _ => depth += 1,
        }
    }
    false
}

/// The guest spelling of a host path argument: only the mount's prefix is replaced, the
/// rest is kept byte for byte (`.`, `..`, `//`, a trailing `/`). None when nothing changes,
/// the path is under no mount, or a `..` would lead out of the mount in the guest (there
/// it would reach something other than what the user named on the host).
fn translate_path(bytes: &[u8], mounts: &[Mount]) -> Option<Vec<u8>> {
    if !bytes.starts_with(b"/") {
        return None;
    }
    let (mount, base, end) = mounts
        .iter()
        .flat_map(|m| [(m, &m.location), (m, &m.resolved)])
        .filter_map(|(m, base)| prefix_end(bytes, base).map(|end| (m, base, end)))
        .max_by_key(|(_, base, _)| base.components().count())?;
    // Under a mount the guest sees at the same path, the argument already names the same
    // file there: it goes as typed (`//abs`, `./` inside it), not respelled.
    if *base == mount.mount_point {
        return None;
    }
    let rest = &bytes[end..];
    if climbs_out(rest) {
        return None;
    }
    let mut guest = mount.mount_point.as_os_str().as_bytes().to_vec();
    while guest.len() > 1 && guest.ends_with(b"/") {
        guest.pop();
    }
    if guest == b"/" && rest.starts_with(b"/") {
        guest.clear();
    }
    guest.extend_from_slice(rest);
    (guest != bytes).then_some(guest)
}

/// A user argument as the guest must see it: `/host/path` and `--opt=/host/path` under a
/// mount with a different guest path are rewritten; anything else is returned untouched.
pub fn translate_arg(arg: &OsStr, mounts: &[Mount]) -> OsString {
    let bytes = arg.as_bytes();
    if let Some(guest) = translate_path(bytes, mounts) {
        return OsString::from_vec(guest);
    }
    if bytes.starts_with(b"--")
        && let Some(eq) = bytes.iter().position(|&b| b == b'=')
        && let Some(guest) = translate_path(&bytes[eq + 1..], mounts)
    {
        let mut out = bytes[..=eq].to_vec();
        out.extend_from_slice(&guest);
        return OsString::from_vec(out);
    }
    arg.to_os_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_agrees_with_canonicalize_through_links() {
        let root = std::env::temp_dir().join(format!("shimctl-resolve-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("real/dir")).unwrap();
        std::fs::write(root.join("real/dir/file"), "x").unwrap();
        std::os::unix::fs::symlink(root.join("real"), root.join("link")).unwrap();
        std::os::unix::fs::symlink("dir/file", root.join("real/rel")).unwrap();
        for p in [
            "link/dir/file",
            "link/rel",
            "link/dir",
            "real/../link/./dir",
        ] {
            let p = root.join(p);
            assert_eq!(
                resolve(&p).unwrap(),
                std::fs::canonicalize(&p).unwrap(),
                "{p:?}"
            );
        }
        assert!(resolve(&root.join("link/missing")).is_err());
        std::fs::remove_dir_all(&root).unwrap();
    }

    fn mount(location: &str, resolved: &str, mount_point: &str) -> Mount {
        Mount {
            location: location.into(),
            resolved: resolved.into(),
            mount_point: mount_point.into(),
            writable: true,
        }
    }

    #[test]
    fn an_identity_mount_leaves_every_spelling_as_typed() {
        let mounts = [mount(
            "/Users/me/Projects",
            "/Users/me/Projects",
            "/Users/me/Projects",
        )];
        for arg in [
            "//Users/me/Projects/x",
            "/Users/me//Projects/./x/",
            "/Users/me/Projects",
        ] {
            assert_eq!(translate_arg(OsStr::new(arg), &mounts), OsStr::new(arg));
        }
        // A resolved spelling the guest does not have is still mapped.
        let mounts = [mount("/tmp/lima", "/private/tmp/lima", "/tmp/lima")];
        assert_eq!(
            translate_arg(OsStr::new("/private/tmp/lima/x"), &mounts),
            OsStr::new("/tmp/lima/x")
        );
    }

    #[test]
    fn default_mount_maps_to_the_same_path() {
        let mounts = [mount(
            "/Users/me/Projects",
            "/Users/me/Projects",
            "/Users/me/Projects",
        )];
        let (g, _) = guest_dir(Path::new("/Users/me/Projects/foo"), &mounts).unwrap();
        assert_eq!(g, PathBuf::from("/Users/me/Projects/foo"));
        assert!(guest_dir(Path::new("/Users/me/Projectsfoo"), &mounts).is_none());
        assert!(guest_dir(Path::new("/Users/me"), &mounts).is_none());
    }

    #[test]
    fn custom_mount_point_and_longest_match() {
        let mounts = [mount("/h", "/h", "/h"), mount("/h/p", "/h/p", "/work")];
        assert_eq!(
            guest_dir(Path::new("/h/p/src"), &mounts).unwrap().0,
            PathBuf::from("/work/src")
        );
        assert_eq!(
            guest_dir(Path::new("/h/p"), &mounts).unwrap().0,
            PathBuf::from("/work")
        );
        assert_eq!(
            guest_dir(Path::new("/h/q"), &mounts).unwrap().0,
            PathBuf::from("/h/q")
        );
    }

    #[test]
    fn resolved_location_matches_the_physical_cwd() {
        let mounts = [mount("/tmp/lima", "/private/tmp/lima", "/tmp/lima")];
        assert_eq!(
            guest_dir(Path::new("/private/tmp/lima/x"), &mounts)
                .unwrap()
                .0,
            PathBuf::from("/tmp/lima/x")
        );
    }

    #[test]
    fn arguments_under_a_moved_mount_are_rewritten() {
        let mounts = [
            mount("/h/p", "/h/p", "/work"),
            mount("/same", "/same", "/same"),
        ];
        let t = |a: &str| translate_arg(OsStr::new(a), &mounts).into_string().unwrap();
        assert_eq!(t("/h/p/a.rs"), "/work/a.rs");
        assert_eq!(t("/h/p/"), "/work/");
        assert_eq!(t("--add-dir=/h/p/lib"), "--add-dir=/work/lib");
        assert_eq!(t("/same/x"), "/same/x");
        assert_eq!(t("/h/pp"), "/h/pp");
        assert_eq!(t("h/p/a"), "h/p/a");
        assert_eq!(t("-x=/h/p"), "-x=/h/p");
        assert_eq!(t("look at /h/p/a.rs"), "look at /h/p/a.rs");
    }

    #[test]
    fn only_the_prefix_changes_and_the_rest_keeps_its_spelling() {
        let mounts = [mount("/h/p", "/h/p", "/work"), mount("/r", "/r", "/")];
        let t = |a: &str| translate_arg(OsStr::new(a), &mounts).into_string().unwrap();
        assert_eq!(t("/h/p/./a//b/"), "/work/./a//b/");
        assert_eq!(t("/h/p/a/../b"), "/work/a/../b");
        assert_eq!(t("/h//p/a"), "/work/a");
        assert_eq!(t("/h/./p"), "/work");
        assert_eq!(t("/h/p/."), "/work/.");
        // `..` that would climb out of the mount in the guest: left as typed.
        assert_eq!(t("/h/p/../secret"), "/h/p/../secret");
        assert_eq!(t("/h/p/a/../../x"), "/h/p/a/../../x");
        assert_eq!(t("/h/p/.."), "/h/p/..");
        assert_eq!(t("--add-dir=/h/p/../x"), "--add-dir=/h/p/../x");
        // `..` before the mount's prefix: not under the mount by spelling, left as typed.
        assert_eq!(t("/h/q/../p/a"), "/h/q/../p/a");
        assert_eq!(t("/r/x"), "/x");
        assert_eq!(t("/r"), "/");
    }

    #[test]
    fn non_utf8_arguments_pass_through() {
        let mounts = [mount("/h/p", "/h/p", "/work")];
        let raw = OsStr::from_bytes(b"\xff\xfe/h/p");
        assert_eq!(translate_arg(raw, &mounts), raw.to_os_string());
        let raw = OsStr::from_bytes(b"/h/p/\xff");
        assert_eq!(translate_arg(raw, &mounts).as_bytes(), b"/work/\xff");
    }
}
