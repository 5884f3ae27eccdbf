//! Real OpenSSH servers for tests: `Lab::new(n)` starts `n` sshd processes on distinct loopback
//! addresses, each with its own host key, all accepting one generated user key, and prepares a
//! HOME with `.ssh/known_hosts` and `.ssh/config` plus an inventory for `yiqiu-play`.
//!
//! Needs `/usr/sbin/sshd` (Debian `openssh-server`) and `sudo`, and root (to start sshd for
//! other users and to create the test users `yiqiu` and `yiqiu_pw`). Missing pieces fail the
//! test with a message: a silently skipped SSH test would hide a broken transport.
//!
//! Use it with `#[path = "support/sshd.rs"] mod sshd;`.
#![allow(dead_code)]

use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const SSHD: &str = "/usr/sbin/sshd";
/// Login user with passwordless sudo.
pub const USER: &str = "yiqiu";
/// Login user whose sudo asks for `PW_PASSWORD`.
pub const PW_USER: &str = "yiqiu_pw";
pub const PW_PASSWORD: &str = "yiqiu-sudo-pw-7";

fn sh(cmd: &str) -> std::process::Output {
    Command::new("/bin/sh")
        .arg("-c")
        .arg(cmd)
        .output()
        .unwrap_or_else(|e| panic!("running {cmd}: {e}"))
}

fn must(cmd: &str) -> String {
    let out = sh(cmd);
    assert!(
        out.status.success(),
        "{cmd} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Fails the test unless sshd, sudo and root are there.
pub fn require_sshd() {
    let hint = "SSH tests need OpenSSH's server and sudo, and run as root: run `.ci/run`, or \
                `apt-get install -y openssh-server sudo`";
    assert!(Path::new(SSHD).exists(), "{SSHD} is missing. {hint}");
    assert!(
        Path::new("/usr/bin/sudo").exists(),
        "/usr/bin/sudo is missing. {hint}"
    );
    // SAFETY: geteuid has no preconditions.
    assert_eq!(unsafe { libc::geteuid() }, 0, "not running as root. {hint}");
}

/// Creates the test users and their sudo rules once; safe to call from parallel tests.
pub fn ensure_users() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Serialise with other test binaries running at the same time.
        must(
            "exec 9>/tmp/.yiqiu-play-test-users.lock; flock 9; \
             for u in yiqiu yiqiu_pw; do id -u $u >/dev/null 2>&1 || useradd -m -s /bin/sh $u; done; \
             usermod -p '*' yiqiu; \
             echo 'yiqiu_pw:yiqiu-sudo-pw-7' | chpasswd; \
             for u in yiqiu yiqiu_pw; do h=$(getent passwd $u | cut -d: -f6); \
               rm -f $h/.bashrc $h/.profile $h/.bash_logout; done; \
             mkdir -p /run/sshd && chmod 0755 /run/sshd; \
             printf '%s\\n' 'yiqiu ALL=(ALL) NOPASSWD: ALL' 'yiqiu_pw ALL=(ALL) ALL' \
               'Defaults:yiqiu_pw lecture=never, timestamp_timeout=0' \
               > /etc/sudoers.d/yiqiu-play-tests.tmp; \
             chmod 0440 /etc/sudoers.d/yiqiu-play-tests.tmp; \
             visudo -cf /etc/sudoers.d/yiqiu-play-tests.tmp >/dev/null && \
               mv -f /etc/sudoers.d/yiqiu-play-tests.tmp /etc/sudoers.d/yiqiu-play-tests",
        );
    });
}

/// One sshd.
pub struct Sshd {
    pub addr: String,
    pub port: u16,
    /// `ssh-ed25519 AAAA...` of this host's key.
    pub host_key: String,
    config: PathBuf,
    log: PathBuf,
    child: std::sync::Mutex<Option<Child>>,
}

impl Sshd {
    pub fn socket(&self) -> SocketAddr {
        format!("{}:{}", self.addr, self.port).parse().unwrap()
    }

    /// `[addr]:port key` for known_hosts.
    pub fn known_hosts_line(&self) -> String {
        format!("[{}]:{} {}", self.addr, self.port, self.host_key)
    }

    fn start(&self) {
        let log = std::fs::File::create(&self.log).unwrap();
        let child = Command::new(SSHD)
            .args(["-D", "-e", "-f"])
            .arg(&self.config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {SSHD}: {e}"));
        let mut slot = self.child.lock().unwrap();
        *slot = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect_timeout(&self.socket(), Duration::from_millis(200)).is_err() {
            if let Some(Ok(Some(status))) = slot.as_mut().map(|c| c.try_wait()) {
                panic!(
                    "sshd exited ({status}): {}",
                    std::fs::read_to_string(&self.log).unwrap_or_default()
                );
            }
            assert!(
                Instant::now() < deadline,
                "sshd on {}:{} never listened",
                self.addr,
                self.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the server and every per-connection process, so open sessions drop too.
    pub fn kill(&self) {
        let Some(mut child) = self.child.lock().unwrap_or_else(|p| p.into_inner()).take() else {
            return;
        };
        let mut pids = descendants(child.id());
        pids.push(child.id());
        for pid in pids {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .output();
        }
        let _ = child.wait();
    }

    /// Sends `signal` (`STOP`, `CONT`, ...) to the server and every per-connection process:
    /// `STOP` freezes the host while the kernel keeps its TCP connections up.
    pub fn signal(&self, signal: &str) {
        let slot = self.child.lock().unwrap_or_else(|p| p.into_inner());
        let Some(child) = slot.as_ref() else {
            return;
        };
        let mut pids = descendants(child.id());
        pids.push(child.id());
        for pid in pids {
            let _ = Command::new("kill")
                .args([&format!("-{signal}"), &pid.to_string()])
                .output();
        }
    }

    /// Starts again on the same address and port with the same key.
    pub fn restart(&self) {
        self.kill();
        self.start();
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        self.kill();
    }
}

/// All processes below `root`, collected before any is killed (they get re-parented after).
fn descendants(root: u32) -> Vec<u32> {
    let mut parent_of = Vec::new();
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for e in entries.flatten() {
            let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
                continue;
            };
            // The command name may hold spaces: fields resume after the last ')'.
            let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
                continue;
            };
            let ppid = rest
                .split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<u32>().ok());
            if let Some(ppid) = ppid {
                parent_of.push((pid, ppid));
            }
        }
    }
    let mut out = Vec::new();
    let mut frontier = vec![root];
    while let Some(p) = frontier.pop() {
        for &(pid, ppid) in &parent_of {
            if ppid == p && !out.contains(&pid) {
                out.push(pid);
                frontier.push(pid);
            }
        }
    }
    out
}

/// N servers, a user key, a HOME and an inventory.
pub struct Lab {
    pub dir: tempfile::TempDir,
    /// HOME for yiqiu-play: `.ssh/known_hosts` lists every host, `.ssh/config` is empty.
    pub home: PathBuf,
    /// The authorized private key.
    pub key: PathBuf,
    /// A key the servers do not accept.
    pub wrong_key: PathBuf,
    pub hosts: Vec<Sshd>,
}

fn keygen(path: &Path) -> String {
    must(&format!(
        "ssh-keygen -q -t ed25519 -N '' -C yiqiu-test -f '{}'",
        path.display()
    ));
    let public = std::fs::read_to_string(path.with_extension("pub")).unwrap();
    public
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

/// A random loopback address and a port free on it.
fn free_address(used: &[String]) -> (String, u16) {
    loop {
        let n = std::process::id() as u64 ^ Instant::now().elapsed().as_nanos() as u64 ^ rand_u64();
        let addr = format!("127.0.{}.{}", 1 + n % 250, 1 + (n >> 8) % 250);
        if used.contains(&addr) {
            continue;
        }
        if let Ok(l) = TcpListener::bind((addr.as_str(), 0)) {
            let port = l.local_addr().unwrap().port();
            return (addr, port);
        }
    }
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(std::process::id() as u64);
    h.finish()
}

impl Lab {
    pub fn new(n: usize) -> Lab {
        Lab::new_with_listen(n, None)
    }

    /// As [`Lab::new`], each sshd also listening on `extra` (same port): an address on a
    /// veth that a network namespace reaches.
    pub fn new_with_listen(n: usize, extra: Option<&str>) -> Lab {
        require_sshd();
        ensure_users();
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        // sshd reads authorized_keys as the login user.
        must(&format!("chmod 0755 '{}'", root.display()));
        let key = root.join("id_user");
        let user_pub = keygen(&key);
        let wrong_key = root.join("id_wrong");
        keygen(&wrong_key);
        let auth = root.join("authorized_keys");
        std::fs::write(&auth, format!("{user_pub}\n")).unwrap();
        must(&format!("chmod 0644 '{}'", auth.display()));
        let mut hosts: Vec<Sshd> = Vec::new();
        for i in 0..n {
            let used: Vec<String> = hosts.iter().map(|h| h.addr.clone()).collect();
            let (addr, port) = free_address(&used);
            let host_key_path = root.join(format!("host{i}_ed25519"));
            let host_key = keygen(&host_key_path);
            let config = root.join(format!("sshd{i}.conf"));
            let also = extra
                .map(|a| format!("ListenAddress {a}:{port}\n"))
                .unwrap_or_default();
            std::fs::write(
                &config,
                format!(
                    "{also}ListenAddress {addr}:{port}\n\
                     HostKey {hk}\n\
                     AuthorizedKeysFile {auth}\n\
                     PidFile {root}/sshd{i}.pid\n\
                     StrictModes no\n\
                     UsePAM no\n\
                     PasswordAuthentication yes\n\
                     KbdInteractiveAuthentication no\n\
                     PermitRootLogin prohibit-password\n\
                     MaxStartups 100\n\
                     MaxSessions 100\n\
                     UseDNS no\n\
                     Subsystem sftp internal-sftp\n\
                     LogLevel ERROR\n",
                    hk = host_key_path.display(),
                    auth = auth.display(),
                    root = root.display(),
                ),
            )
            .unwrap();
            let sshd = Sshd {
                addr,
                port,
                host_key,
                config,
                log: root.join(format!("sshd{i}.log")),
                child: std::sync::Mutex::new(None),
            };
            sshd.start();
            hosts.push(sshd);
        }
        let home = root.join("home");
        std::fs::create_dir_all(home.join(".ssh")).unwrap();
        let lab = Lab {
            dir,
            home,
            key,
            wrong_key,
            hosts,
        };
        lab.write_known_hosts(
            &lab.hosts
                .iter()
                .map(|h| h.known_hosts_line())
                .collect::<Vec<_>>(),
        );
        std::fs::write(lab.home.join(".ssh/config"), "").unwrap();
        lab
    }

    pub fn known_hosts_path(&self) -> PathBuf {
        self.home.join(".ssh/known_hosts")
    }

    pub fn write_known_hosts(&self, lines: &[String]) {
        let mut f = std::fs::File::create(self.known_hosts_path()).unwrap();
        for l in lines {
            writeln!(f, "{l}").unwrap();
        }
    }

    /// One inventory line per host, `host0`, `host1`, ..., logging in as `user` with the key.
    pub fn inventory(&self, user: &str) -> String {
        let mut s = String::from("[targets]\n");
        for (i, h) in self.hosts.iter().enumerate() {
            s.push_str(&format!(
                "host{i} ansible_host={} ansible_port={} ansible_user={user} ansible_ssh_private_key_file={}\n",
                h.addr,
                h.port,
                self.key.display()
            ));
        }
        s
    }

    /// `yiqiu-play` to run in `self.home` with HOME there and a clean Ansible environment.
    pub fn command(&self, bin: &str) -> Command {
        let mut cmd = Command::new(bin);
        for (k, _) in std::env::vars() {
            if k.starts_with("ANSIBLE_") || k == "NO_COLOR" || k == "SSH_AUTH_SOCK" {
                cmd.env_remove(k);
            }
        }
        cmd.env("HOME", &self.home)
            .env("ANSIBLE_NOCOLOR", "1")
            .current_dir(&self.home);
        cmd
    }

    /// A directory under the lab that the login user [`USER`] owns (the lab itself is root's).
    pub fn user_dir(&self, name: &str) -> PathBuf {
        let dir = self.dir.path().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        must(&format!("chown {USER}: '{}'", dir.display()));
        dir
    }

    pub fn write(&self, name: &str, content: &str) -> PathBuf {
        let p = self.home.join(name);
        std::fs::write(&p, content).unwrap();
        p
    }
}
