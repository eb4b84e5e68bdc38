//! The test guest: a real OpenSSH server on 127.0.0.1, as Lima's guest runs one, so that
//! the stand-in's `limactl shell` goes through real ssh (PTY allocation, the login shell,
//! the per-argument limit, exit status 255). One sshd per world, with its own host key,
//! client key and config, stopped with the world.
//!
//! The guest user: as root, a dedicated unprivileged account (`shimctl-guest`, created
//! here when missing); otherwise the current user. Either way sshd's `SetEnv HOME=` points
//! the session at the world's guest home, as a VM's user has a home of its own.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub const DEDICATED_USER: &str = "shimctl-guest";

/// The guest user, and whether it is the dedicated account.
pub fn guest_user() -> &'static (String, bool) {
    static USER: OnceLock<(String, bool)> = OnceLock::new();
    USER.get_or_init(|| {
        // SAFETY: no memory effects.
        let user = if unsafe { libc::geteuid() } == 0 {
            let exists = Command::new("id")
                .arg(DEDICATED_USER)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if !exists {
                // Home `/` so that sshd's chdir succeeds silently; HOME comes from SetEnv.
                let ok = Command::new("useradd")
                    .args(["-M", "-d", "/", "-s", "/bin/bash", DEDICATED_USER])
                    .status()
                    .is_ok_and(|s| s.success());
                assert!(
                    ok || exists_now(),
                    "cannot create the guest user {DEDICATED_USER}"
                );
            }
            // A locked account (`!`) may not log in even with a key when sshd runs
            // without PAM; `*` has no password and is not locked.
            let _ = Command::new("usermod")
                .args(["-p", "*", DEDICATED_USER])
                .status();
            (DEDICATED_USER.to_string(), true)
        } else {
            let out = Command::new("id").arg("-un").output().unwrap();
            (
                String::from_utf8_lossy(&out.stdout).trim().to_string(),
                false,
            )
        };
        eprintln!(
            "e2e guest: real sshd on 127.0.0.1, logging in as {} ({})",
            user.0,
            if user.1 {
                "a dedicated unprivileged account"
            } else {
                "the current user, with the guest home as HOME"
            }
        );
        user
    })
}

fn exists_now() -> bool {
    Command::new("id")
        .arg(DEDICATED_USER)
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

pub fn sshd_binary() -> PathBuf {
    for p in ["/usr/sbin/sshd", "/usr/local/sbin/sshd"] {
        if Path::new(p).exists() {
            return PathBuf::from(p);
        }
    }
    panic!("sshd is needed for the test guest (Debian: openssh-server; .ci/run installs it)");
}

fn keygen(path: &Path) {
    let ok = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", ""])
        .arg("-f")
        .arg(path)
        .status()
        .expect("ssh-keygen is needed (Debian: openssh-client)")
        .success();
    assert!(ok);
}

pub struct Sshd {
    child: Child,
    pub port: u16,
    pub user: String,
    /// The private key the client logs in with.
    pub client_key: PathBuf,
    /// Where ControlMaster sockets may be (anywhere below: a test may move LIMA_HOME), to
    /// close them when the world ends.
    world_root: PathBuf,
}

impl Sshd {
    /// Starts an sshd in `dir` whose sessions get `guest_home` as HOME.
    pub fn start(dir: &Path, guest_home: &Path, world_root: &Path) -> Sshd {
        let (user, _) = guest_user().clone();
        std::fs::create_dir_all(dir).unwrap();
        let host_key = dir.join("host_key");
        let client_key = dir.join("client_key");
        keygen(&host_key);
        keygen(&client_key);
        std::fs::copy(dir.join("client_key.pub"), dir.join("authorized_keys")).unwrap();
        // SAFETY: no memory effects.
        if unsafe { libc::geteuid() } == 0 {
            // Debian's sshd wants its privilege separation directory.
            let _ = std::fs::create_dir_all("/run/sshd");
        }
        let port = {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let config = dir.join("sshd_config");
        std::fs::write(
            &config,
            format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {}\nPidFile {}\nAuthorizedKeysFile {}\n\
                 PubkeyAuthentication yes\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n\
                 UsePAM no\nStrictModes no\nAllowUsers {user}\nPermitRootLogin prohibit-password\n\
                 AcceptEnv *\nSetEnv HOME={}\nPrintMotd no\nPrintLastLog no\nLogLevel ERROR\n",
                host_key.display(),
                dir.join("sshd.pid").display(),
                dir.join("authorized_keys").display(),
                guest_home.display(),
            ),
        )
        .unwrap();
        let child = Command::new(sshd_binary())
            .args(["-D", "-e", "-f"])
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            // Never the test's own stderr: sessions outlive the listener while a
            // ControlMaster holds them, and would keep the test runner's pipe open.
            .stderr(std::fs::File::create(dir.join("sshd.log")).unwrap())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "sshd did not start on port {port}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        Sshd {
            child,
            port,
            user,
            client_key,
            world_root: world_root.to_path_buf(),
        }
    }
}

impl Sshd {
    /// Stops the server and every connection to it, as a VM that went away.
    pub fn stop(&mut self) {
        self.close();
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        self.close();
    }
}

impl Sshd {
    fn close(&mut self) {
        // Close every ControlMaster (ControlPersist=yes keeps them), then the server.
        for sock in sockets(&self.world_root, 5) {
            let _ = Command::new("ssh")
                .args([
                    "-F",
                    "/dev/null",
                    "-o",
                    "LogLevel=QUIET",
                    "-O",
                    "exit",
                    "-o",
                ])
                .arg(format!("ControlPath={}", sock.display()))
                .arg("shimctl-test")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The ControlMaster sockets below `dir` (Lima's `ssh.sock`, the door's
/// `shimctl-door.sock`), `depth` levels deep at most.
fn sockets(dir: &Path, depth: u32) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() && depth > 0 {
            found.extend(sockets(&path, depth - 1));
        } else if entry.file_name().to_string_lossy().ends_with(".sock") {
            found.push(path);
        }
    }
    found
}

/// An instance's ssh.config in Lima's format (pkg/sshutil: the options limactl passes).
pub fn ssh_config(name: &str, lima_home: &Path, port: u16, user: &str) -> String {
    format!(
        "# This SSH config file can be passed to 'ssh -F'.\n\
         # This file is created by Lima, but not used by Lima itself currently.\n\
         # Modifications to this file will be lost on restarting the Lima instance.\n\
         Host lima-{name}\n  IdentityFile \"{key}\"\n  PreferredAuthentications publickey\n  \
         Compression no\n  BatchMode yes\n  IdentitiesOnly yes\n  StrictHostKeyChecking no\n  \
         UserKnownHostsFile /dev/null\n  NoHostAuthenticationForLocalhost yes\n  \
         ControlMaster auto\n  ControlPath \"{dir}/ssh.sock\"\n  ControlPersist yes\n  \
         User {user}\n  Hostname 127.0.0.1\n  Port {port}\n",
        key = lima_home.join("_config/user").display(),
        dir = lima_home.join(name).display(),
    )
}
