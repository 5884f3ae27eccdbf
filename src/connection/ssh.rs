//! The `ssh` connection, on libssh2 (the `ssh2` crate).
//!
//! Design choices:
//! - One session per host, opened once and shared by every task; each command is a new
//!   channel on it. Opening a session costs a TCP handshake, key exchange and authentication
//!   (tens of ms); a channel costs one round trip.
//! - `TCP_NODELAY`: an SSH exec is a burst of small packets that wait on each other (channel
//!   open, exec request, EOF, close). With Nagle's algorithm on, each waits for the delayed
//!   ACK: about 45 ms per command instead of about 5 ms.
//! - A hung host never stalls a run. A stopped sshd (or a frozen VM) still ACKs TCP, so TCP
//!   keepalive cannot see it; what we watch is SSH traffic. While a command runs we send SSH
//!   keepalives that ask for a reply every `ServerAliveInterval` and read the kernel's
//!   "time since data was last received" (`TCP_INFO`); after `ServerAliveInterval ×
//!   ServerAliveCountMax` of silence the host is unreachable. A blocking libssh2 call
//!   (channel open, SFTP, close) sends the same keepalives while it waits and gives up after
//!   one interval without any reply, so it is bounded too (by the silence limit as its API
//!   timeout as well). A lost session is made non-blocking before it is dropped, so freeing
//!   it never waits on the dead peer.
//! - Before reusing a session we peek at the socket: if the server closed it (restarted sshd,
//!   reboot) between tasks, the session is re-opened once, transparently. A command already
//!   running when the connection drops returns `Unreachable`: re-running it could repeat side
//!   effects.
//! - Commands always run under `/bin/sh -c`, whatever the login shell (fish, csh), with the
//!   environment exported in the script itself: sshd only accepts the variables listed in its
//!   `AcceptEnv`.
//! - I/O runs non-blocking in one loop reading stdout and stderr and writing stdin together:
//!   reading one stream while the other fills its window would deadlock; the loop also answers
//!   the sudo password prompt (see `become.rs`).
//! - Uploads go to a temp file beside the destination, then a rename: a reader never sees a
//!   half-written file, and a failed upload leaves the old file intact. Small data (`put` up to
//!   1 MiB) is one exec with the data on stdin; files and larger data stream through SFTP. With become, the
//!   login user cannot write the destination, so the file goes to a private (0600) temp file in
//!   /tmp first and the become user copies it into place.

use super::known_hosts::{self, Policy};
use super::r#become::{self as bec, Wrapped};
use super::ssh_config::{expand_tokens, home_dir, SshConfig};
use super::{quote, Become, Command, ConnError, Connection, ConnectionSpec, Output};
use ssh2::{ErrorCode, FileStat, OpenFlags, OpenType, RenameFlags, Session, Sftp};
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// `ServerAliveInterval` when neither ssh_config nor the ssh args set one (OpenSSH's own
/// default, 0, means "wait forever", which a run that must end cannot accept).
const DEFAULT_ALIVE_INTERVAL_SECS: u64 = 10;
/// `ServerAliveCountMax` default, as OpenSSH's.
const DEFAULT_ALIVE_COUNT_MAX: u32 = 3;
/// SFTP writes go out in chunks this large so libssh2 can pipeline them.
const CHUNK: usize = 1 << 20;
/// `put` of at most this much data is one exec with the data on stdin (`cat` to a temp file,
/// chmod, rename): one channel, where SFTP costs its start-up, open, write, setstat, rename
/// and close requests, each waiting for its reply. Larger data streams over SFTP. Below the
/// server's initial channel window (2 MiB for OpenSSH), so the data is sent without waiting.
const INLINE_PUT_MAX: usize = 1 << 20;

/// Everything needed to (re)connect to one host, resolved once.
#[derive(Clone, Debug)]
pub struct Target {
    /// For messages: the inventory name.
    pub name: String,
    /// The address to connect to and to look up in known_hosts.
    pub address: String,
    pub port: u16,
    pub user: String,
    pub password: Option<String>,
    /// Key files to try in order (spec, then ssh_config IdentityFile).
    pub identities: Vec<PathBuf>,
    pub passphrase: Option<String>,
    pub known_hosts: Vec<PathBuf>,
    pub policy: Policy,
    pub timeout: Duration,
    /// `ServerAliveInterval`: how often a busy session asks the server for a reply.
    pub alive_interval: Duration,
    /// `ServerAliveCountMax`: unanswered intervals before the host counts as hung.
    pub alive_count_max: u32,
}

impl Target {
    /// Merges the inventory's `spec` with `~/.ssh/config`: values set in the inventory win.
    pub fn resolve(spec: &ConnectionSpec) -> Target {
        let home = home_dir();
        let mut config = SshConfig::load(&home.join(".ssh/config")).query(&spec.host);
        config.override_with(&spec.ssh_options);
        let address = config
            .host_name
            .as_deref()
            .map(|h| h.replace("%h", &spec.host))
            .unwrap_or_else(|| spec.host.clone());
        let port = spec.port.or(config.port).unwrap_or(22);
        let user = spec
            .user
            .clone()
            .filter(|u| !u.is_empty())
            .or(config.user.clone())
            .unwrap_or_else(local_user);
        let expand = |p: &Path| expand_tokens(p, &address, port, &user);
        let mut identities: Vec<PathBuf> = spec
            .private_key_file
            .iter()
            .map(|p| expand_home(p))
            .collect();
        identities.extend(config.identity_files.iter().map(|p| expand(p)));
        let mut known_hosts: Vec<PathBuf> = config
            .user_known_hosts_files
            .iter()
            .map(|p| expand(p))
            .collect();
        if known_hosts.is_empty() {
            known_hosts = vec![
                home.join(".ssh/known_hosts"),
                home.join(".ssh/known_hosts2"),
            ];
        }
        known_hosts.push(PathBuf::from("/etc/ssh/ssh_known_hosts"));
        let policy = if !spec.host_key_checking {
            Policy::Off
        } else {
            match config.strict_host_key_checking.as_deref() {
                Some("no" | "off" | "false") => Policy::Off,
                Some("accept-new") => Policy::AcceptNew,
                _ => Policy::Strict,
            }
        };
        let timeout = if spec.timeout.is_zero() {
            Duration::from_secs(config.connect_timeout.unwrap_or(10))
        } else {
            spec.timeout
        };
        let alive_interval = Duration::from_secs(
            config
                .server_alive_interval
                .filter(|s| *s > 0)
                .unwrap_or(DEFAULT_ALIVE_INTERVAL_SECS),
        );
        Target {
            alive_interval,
            alive_count_max: config
                .server_alive_count_max
                .unwrap_or(DEFAULT_ALIVE_COUNT_MAX)
                .max(1),
            name: spec.inventory_name.clone(),
            address,
            port,
            user,
            password: spec.password.clone(),
            identities,
            passphrase: spec.private_key_passphrase.clone(),
            known_hosts,
            policy,
            timeout,
        }
    }

    /// How often keepalives really go out: libssh2 turns an interval of 1 s into 2 s.
    fn keepalive_every(&self) -> Duration {
        self.alive_interval.max(Duration::from_secs(2))
    }

    /// How long the server may stay silent before the host counts as hung: as for OpenSSH,
    /// `ServerAliveCountMax` keepalives sent after the last data, each unanswered for an
    /// interval.
    pub fn silence_limit(&self) -> Duration {
        self.keepalive_every() * (self.alive_count_max + 1)
    }
}

/// A live session and its socket (kept for poll and liveness checks).
struct Live {
    session: Session,
    socket: TcpStream,
    sftp: Option<Sftp>,
}

pub struct SshConnection {
    target: Target,
    live: Option<Live>,
}

impl SshConnection {
    /// Connects and authenticates now, so an unreachable host is reported by the first task.
    pub fn open(spec: &ConnectionSpec) -> Result<SshConnection, ConnError> {
        let target = Target::resolve(spec);
        let live = connect(&target)?;
        Ok(SshConnection {
            target,
            live: Some(live),
        })
    }

    pub fn target(&self) -> &Target {
        &self.target
    }

    /// The session is open and the server has not closed it.
    pub fn session_alive(&self) -> bool {
        self.live.as_ref().is_some_and(|l| socket_alive(&l.socket))
    }

    /// The live session, reconnecting once if the server closed it since the last use.
    fn live(&mut self) -> Result<&mut Live, ConnError> {
        let dead = match &self.live {
            Some(l) => !socket_alive(&l.socket),
            None => true,
        };
        if dead {
            self.forget();
            self.live = Some(connect(&self.target)?);
        }
        self.live
            .as_mut()
            .ok_or_else(|| ConnError::Unreachable("no ssh session".into()))
    }

    /// A connection-level failure in the middle of an operation: forget the session (the next
    /// task reconnects) and mark the host unreachable.
    fn lost(&mut self, what: &str, e: impl std::fmt::Display) -> ConnError {
        let silent = self.live.as_ref().and_then(|l| silent_for(&l.socket));
        self.forget();
        // A blocking libssh2 call gives up after one keepalive interval without a reply
        // (its poll waits for the next keepalive): a silent server, not a closed one.
        match silent {
            Some(s) if s >= self.target.keepalive_every() => self.hung(s),
            _ => ConnError::Unreachable(format!(
                "Failed to connect to the host via ssh: connection to {} port {} lost during {what}: {e}",
                self.target.address, self.target.port
            )),
        }
    }

    /// The server has not sent a byte for `silent`: the host is unreachable.
    fn hung(&mut self, silent: Duration) -> ConnError {
        self.forget();
        ConnError::Unreachable(format!(
            "Failed to connect to the host via ssh: Timeout, server {} not responding: no reply for {} s (ServerAliveInterval={}, ServerAliveCountMax={})",
            self.target.address,
            silent.as_secs(),
            self.target.alive_interval.as_secs(),
            self.target.alive_count_max
        ))
    }

    /// Drops the session without waiting on the peer (it may be hung).
    fn forget(&mut self) {
        if let Some(live) = self.live.take() {
            live.session.set_blocking(false);
        }
    }

    fn sftp_error(&mut self, what: String, e: ssh2::Error) -> ConnError {
        if is_transport(&e) {
            self.lost("sftp", e)
        } else {
            ConnError::Failed(format!("{what}: {}", sftp_message(&e)))
        }
    }

    /// A new channel; a session that turns out dead here (it was not used yet by this
    /// operation) is re-opened once.
    fn channel(&mut self) -> Result<ssh2::Channel, ConnError> {
        let first = {
            let live = self.live()?;
            live.session.set_blocking(true);
            live.session.channel_session()
        };
        match first {
            Ok(c) => Ok(c),
            // A silent server is not re-dialled: a hung host would cost a second timeout.
            Err(e) if is_timeout(&e) => Err(self.lost("channel open", e)),
            Err(e) if is_transport(&e) => {
                self.forget();
                let live = self.live()?;
                live.session.channel_session().map_err(|e| {
                    ConnError::Unreachable(format!("Failed to open an ssh channel: {e}"))
                })
            }
            Err(e) => Err(ConnError::Unreachable(format!(
                "Failed to open an ssh channel: {e}"
            ))),
        }
    }

    fn sftp(&mut self) -> Result<&Sftp, ConnError> {
        let has = self.live()?.sftp.is_some();
        if !has {
            let live = self.live()?;
            live.session.set_blocking(true);
            match live.session.sftp() {
                Ok(s) => live.sftp = Some(s),
                Err(e) if is_transport(&e) => return Err(self.lost("sftp start", e)),
                Err(e) => {
                    return Err(ConnError::Failed(format!(
                        "could not start the sftp subsystem on {}: {e}",
                        self.target.name
                    )))
                }
            }
        }
        self.live
            .as_ref()
            .and_then(|l| l.sftp.as_ref())
            .ok_or_else(|| ConnError::Unreachable("no ssh session".into()))
    }

    /// Runs `line` on a fresh channel, feeding `stdin` and answering sudo's prompt.
    fn run(
        &mut self,
        wrapped: &Wrapped,
        stdin: &mut dyn Read,
        password: Option<&str>,
        timeout: Option<Duration>,
    ) -> Result<Output, ConnError> {
        let mut channel = self.channel()?;
        // With a timeout, the command first reports its pid on stderr: sshd made it a session
        // (and process group) leader, so the whole group can be killed when time runs out.
        let pid_marker = timeout.map(|_| format!("YIQIU-PID-{}=", unique()));
        let line = match &pid_marker {
            Some(m) => format!(
                "exec /bin/sh -c {}",
                quote(&format!("echo {m}$$ >&2; {}", wrapped.line))
            ),
            None => wrapped.line.clone(),
        };
        if let Err(e) = channel.exec(&line) {
            return Err(if is_transport(&e) {
                self.lost("command start", e)
            } else {
                ConnError::Failed(format!("could not start the command: {e}"))
            });
        }
        let result = {
            let live = self
                .live
                .as_ref()
                .ok_or_else(|| ConnError::Unreachable("no ssh session".into()))?;
            live.session.set_blocking(false);
            let limits = Limits {
                timeout,
                silence: self.target.silence_limit(),
                pid_marker,
            };
            let r = pump(live, &mut channel, wrapped, stdin, password, &limits);
            live.session.set_blocking(true);
            r
        };
        match result {
            Ok(out) => {
                // The remote side has closed both streams; collect the exit status.
                if let Err(e) = channel.wait_close() {
                    if is_transport(&e) {
                        return Err(self.lost("command", e));
                    }
                }
                let mut out = out;
                out.rc = channel.exit_status().unwrap_or(-1);
                if let Ok(sig) = channel.exit_signal() {
                    if let Some(name) = sig.exit_signal {
                        out.rc = -1;
                        out.stderr
                            .extend_from_slice(format!("\nkilled by signal {name}\n").as_bytes());
                    }
                }
                Ok(out)
            }
            Err(PumpError::Transport(e)) => Err(self.lost("command", e)),
            Err(PumpError::Silent(d)) => Err(self.hung(d)),
            Err(PumpError::TimedOut(pid)) => {
                drop(channel);
                let limit = timeout.unwrap_or_default();
                if let Some(pid) = pid {
                    self.kill_group(pid)?;
                }
                Err(ConnError::Failed(format!(
                    "the command timed out after {} seconds and was killed",
                    limit.as_secs()
                )))
            }
            Err(PumpError::Failed(msg)) => {
                let _ = channel.close();
                Err(ConnError::Failed(msg))
            }
        }
    }

    /// Ends a timed-out command: TERM to its process group, KILL after two seconds; on a new
    /// channel, so the session stays usable for the next task. (`kill -SIG -PGID`: dash's
    /// kill rejects `--`.)
    fn kill_group(&mut self, pid: u32) -> Result<(), ConnError> {
        let script = format!(
            "kill -TERM -{pid} 2>/dev/null || kill -TERM {pid} 2>/dev/null; i=0; \
             while kill -0 -{pid} 2>/dev/null && [ $i -lt 20 ]; do sleep 0.1 2>/dev/null || sleep 1; i=$((i+1)); done; \
             kill -KILL -{pid} 2>/dev/null; exit 0"
        );
        self.exec_untraced(&Command {
            script,
            ..Command::default()
        })
        .map(|_| ())
    }

    /// Runs a shell script as `become_` on this connection and fails on a non-zero status.
    fn sh(&mut self, script: &str, become_: &Become) -> Result<Output, ConnError> {
        let out = self.exec(&Command {
            script: script.to_string(),
            become_: become_.clone(),
            ..Command::default()
        })?;
        if out.rc != 0 {
            let err = String::from_utf8_lossy(&out.stderr).trim().to_string();
            return Err(ConnError::Failed(if err.is_empty() {
                format!("command failed with rc={}: {script}", out.rc)
            } else {
                err
            }));
        }
        Ok(out)
    }

    /// Streams `src` into a new remote file `path` created with `create_mode`, in large chunks
    /// (never the whole file in memory).
    fn upload(
        &mut self,
        src: &mut dyn Read,
        path: &str,
        create_mode: i32,
    ) -> Result<(), ConnError> {
        let name = self.target.name.clone();
        let sftp = self.sftp()?;
        let opened = sftp.open_mode(
            Path::new(path),
            OpenFlags::WRITE | OpenFlags::CREATE | OpenFlags::TRUNCATE,
            create_mode,
            OpenType::File,
        );
        let mut file = match opened {
            Ok(f) => f,
            Err(e) => return Err(self.sftp_error(format!("could not create {path} on {name}"), e)),
        };
        let mut buf = vec![0u8; CHUNK];
        let res: Result<(), ConnError> = loop {
            let n = match src.read(&mut buf) {
                Ok(0) => break Ok(()),
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => break Err(ConnError::Failed(format!("could not read the source: {e}"))),
            };
            if let Err(e) = file.write_all(&buf[..n]) {
                break Err(io_error(e, format!("could not write {path} on {name}")));
            }
        };
        let closed = file.close();
        drop(file);
        res.and_then(|_| {
            closed.map_err(|e| ssh_to_conn(&e, format!("could not write {path} on {name}")))
        })
        .map_err(|e| match e {
            // ssh2's io::Error drops the libssh2 code: ask the session what happened.
            ConnError::Failed(msg) if self.session_broken() => self.lost("upload", msg),
            ConnError::Unreachable(_) => {
                self.forget();
                e
            }
            other => other,
        })
    }

    /// SFTP reports a full disk as a bare "Failure" (SSH_FX_FAILURE): ask `df` whether `dir`
    /// has room left, and say so the way the system would.
    fn explain_write_failure(&mut self, e: ConnError, dir: &str) -> ConnError {
        let ConnError::Failed(msg) = e else { return e };
        let probe = format!(
            "df -Pk {} 2>/dev/null | awk 'NR==2 {{print $4}}'",
            quote(dir)
        );
        let full = self
            .exec_untraced(&Command {
                script: probe,
                ..Command::default()
            })
            .ok()
            .and_then(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .trim()
                    .parse::<u64>()
                    .ok()
            })
            .is_some_and(|free_kb| free_kb == 0);
        if full {
            let head = msg.rsplit_once(": ").map_or(msg.as_str(), |(h, _)| h);
            return ConnError::Failed(format!("{head}: No space left on device"));
        }
        ConnError::Failed(msg)
    }

    /// Whether the transport under the session is gone (as opposed to a refused request).
    fn session_broken(&self) -> bool {
        self.live.as_ref().is_some_and(|l| {
            !socket_alive(&l.socket)
                || ssh2::Error::last_session_error(&l.session).is_some_and(|e| is_transport(&e))
        })
    }

    fn remove_quietly(&mut self, path: &str) {
        if let Ok(sftp) = self.sftp() {
            let _ = sftp.unlink(Path::new(path));
        }
    }

    fn put_stream(
        &mut self,
        src: &mut dyn Read,
        dest: &str,
        mode: Option<u32>,
        become_: &Become,
    ) -> Result<(), ConnError> {
        let suffix = unique();
        if become_.enabled {
            return self.put_become(src, dest, mode, become_, &suffix);
        }
        let (dir, name) = split_dest(dest);
        let tmp = format!("{dir}/.{name}.yiqiu-{suffix}.tmp");
        self.sh(&super::remove_stale_temps(dest), &Become::default())?;
        // Keep an existing file's permissions when no mode is given (as Ansible's atomic_move).
        let mode = match mode {
            Some(m) => Some(m),
            None => {
                let sftp = self.sftp()?;
                sftp.stat(Path::new(dest))
                    .ok()
                    .and_then(|s| s.perm)
                    .map(|p| p & 0o7777)
            }
        };
        if let Err(e) = self.upload(src, &tmp, 0o600) {
            // Before the partial file is removed, which frees the space again.
            let e = self.explain_write_failure(e, &dir);
            if !matches!(e, ConnError::Unreachable(_)) {
                self.remove_quietly(&tmp);
            }
            return Err(e);
        }
        let perm = mode.unwrap_or(0o644);
        let sftp = self.sftp()?;
        let stat = FileStat {
            size: None,
            uid: None,
            gid: None,
            perm: Some(perm),
            atime: None,
            mtime: None,
        };
        let set = sftp.setstat(Path::new(&tmp), stat);
        let renamed = set.and_then(|_| {
            sftp.rename(
                Path::new(&tmp),
                Path::new(dest),
                Some(RenameFlags::OVERWRITE | RenameFlags::ATOMIC | RenameFlags::NATIVE),
            )
        });
        match renamed {
            Ok(()) => Ok(()),
            Err(e) if is_transport(&e) => Err(self.lost("upload", e)),
            Err(_) => {
                // OpenSSH's SFTP v3 rename refuses to replace an existing file; mv(1) replaces
                // it atomically (rename(2)).
                let r = self.sh(
                    &format!(
                        "chmod {perm:o} {} && mv -f {} {}",
                        quote(&tmp),
                        quote(&tmp),
                        quote(dest)
                    ),
                    &Become::default(),
                );
                if r.is_err() {
                    self.remove_quietly(&tmp);
                }
                r.map(|_| ())
            }
        }
    }

    fn put_become(
        &mut self,
        src: &mut dyn Read,
        dest: &str,
        mode: Option<u32>,
        become_: &Become,
        suffix: &str,
    ) -> Result<(), ConnError> {
        let staged = format!("/tmp/.yiqiu-put-{suffix}");
        if let Err(e) = self.upload(src, &staged, 0o600) {
            // Before the partial file is removed, which frees the space again.
            let e = self.explain_write_failure(e, "/tmp");
            if !matches!(e, ConnError::Unreachable(_)) {
                self.remove_quietly(&staged);
            }
            return Err(e);
        }
        let user = if become_.user.is_empty() {
            "root"
        } else {
            become_.user.as_str()
        };
        let as_root = user == "root" || user == "0";
        if !as_root {
            // The become user must read our private file: an ACL if possible, else make it
            // world-readable for the moment of the copy.
            let grant = format!(
                "setfacl -m u:{}:r {f} 2>/dev/null || chmod 0644 {f}",
                quote(user),
                f = quote(&staged)
            );
            if let Err(e) = self.sh(&grant, &Become::default()) {
                self.remove_quietly(&staged);
                return Err(e);
            }
        }
        let (dir, name) = split_dest(dest);
        let tmp = format!("{dir}/.{name}.yiqiu-{suffix}.tmp");
        let stale = super::remove_stale_temps(dest);
        let chmod = match mode {
            Some(m) => format!("chmod {m:o} {t}", t = quote(&tmp)),
            None => format!(
                "{{ m=$(stat -c %a {d} 2>/dev/null) && chmod \"$m\" {t} || chmod 0644 {t}; }}",
                d = quote(dest),
                t = quote(&tmp)
            ),
        };
        let mut script = format!(
            "{stale} cp {s} {t} && {chmod} && mv -f {t} {d} || {{ rc=$?; rm -f {t}; exit $rc; }}",
            s = quote(&staged),
            t = quote(&tmp),
            d = quote(dest),
        );
        if as_root {
            script.push_str(&format!("; rm -f {}", quote(&staged)));
        }
        let res = self.sh(&script, become_);
        if !as_root || res.is_err() {
            self.remove_quietly(&staged);
        }
        res.map(|_| ())
    }
}

impl SshConnection {
    /// [`Connection::exec`] without its trace line (for operations traced as themselves).
    fn exec_untraced(&mut self, cmd: &Command) -> Result<Output, ConnError> {
        let mut script = String::new();
        // The environment travels on stdin, ahead of the command's own input, and is read by
        // the (become) shell itself: values never appear in any process's argv on the host.
        let env_block = env_on_stdin(&cmd.env)?;
        if let Some((reader, _)) = &env_block {
            script.push_str(reader);
        }
        if let Some(cwd) = &cmd.cwd {
            script.push_str(&format!("cd {} || exit 1; ", quote(cwd)));
        }
        match cmd.executable.as_deref() {
            Some(exe) if exe != "/bin/sh" => {
                script.push_str(&format!("exec {} -c {}", quote(exe), quote(&cmd.script)))
            }
            _ => script.push_str(&cmd.script),
        }
        let wrapped = bec::wrap(&script, &cmd.become_, &unique());
        let password = cmd.become_.password.clone();
        let own_stdin: &[u8] = cmd.stdin.as_deref().unwrap_or(&[]);
        let env_data: &[u8] = env_block.as_ref().map_or(&[], |(_, d)| d.as_slice());
        let mut stdin = env_data.chain(own_stdin);
        let out = self.run(&wrapped, &mut stdin, password.as_deref(), cmd.timeout)?;
        if cmd.become_.enabled
            && cmd.become_.method != "su"
            && out.rc == 1
            && String::from_utf8_lossy(&out.stderr).contains("a password is required")
        {
            return Err(ConnError::Failed("Missing sudo password".into()));
        }
        Ok(out)
    }

    /// A small `put` as one exec (see [`INLINE_PUT_MAX`]), run as the become user when
    /// there is one, so the file is theirs with no staging copy.
    fn put_inline(
        &mut self,
        data: &[u8],
        dest: &str,
        mode: Option<u32>,
        become_: &Become,
    ) -> Result<(), ConnError> {
        let (dir, name) = split_dest(dest);
        let tmp = format!("{dir}/.{name}.yiqiu-{}.tmp", unique());
        let qd = quote(dest);
        // Keep an existing file's permissions when no mode is given (as Ansible's atomic_move).
        let chmod = match mode {
            Some(m) => format!("chmod {m:o} \"$t\""),
            None => format!(
                "{{ m=$(stat -c %a {qd} 2>/dev/null) && chmod \"$m\" \"$t\" || chmod 0644 \"$t\"; }}"
            ),
        };
        let script = format!(
            "{} t={}; umask 077; cat > \"$t\" && {chmod} && mv -f \"$t\" {qd} || {{ rc=$?; rm -f \"$t\"; exit $rc; }}",
            super::remove_stale_temps(dest),
            quote(&tmp)
        );
        let out = self.exec_untraced(&Command {
            script,
            stdin: Some(data.to_vec()),
            become_: become_.clone(),
            ..Command::default()
        })?;
        if out.rc != 0 {
            let err = String::from_utf8_lossy(&out.stderr).trim().to_string();
            return Err(ConnError::Failed(format!(
                "could not write {dest} on {}: {}",
                self.target.name,
                if err.is_empty() {
                    format!("rc={}", out.rc)
                } else {
                    err
                }
            )));
        }
        Ok(())
    }
}

impl Connection for SshConnection {
    fn exec(&mut self, cmd: &Command) -> Result<Output, ConnError> {
        let shown = super::shown_command(cmd);
        let shown = shown.as_str();
        tracing::debug!(target: "yiqiu::roundtrip", op = "exec", script = %shown);
        super::vvv(
            &self.target.address,
            &format!("SSH: EXEC /bin/sh -c {}", quote(shown)),
        );
        self.exec_untraced(cmd)
    }

    fn put(
        &mut self,
        data: &[u8],
        dest: &str,
        mode: Option<u32>,
        become_: &Become,
    ) -> Result<(), ConnError> {
        tracing::debug!(target: "yiqiu::roundtrip", op = "put", dest);
        if data.len() <= INLINE_PUT_MAX {
            return self.put_inline(data, dest, mode, become_);
        }
        let mut src = data;
        self.put_stream(&mut src, dest, mode, become_)
    }

    fn put_file(
        &mut self,
        src: &Path,
        dest: &str,
        mode: Option<u32>,
        become_: &Become,
    ) -> Result<(), ConnError> {
        tracing::debug!(target: "yiqiu::roundtrip", op = "put_file", dest);
        let mut file = std::fs::File::open(src)
            .map_err(|e| ConnError::Failed(format!("could not read {}: {e}", src.display())))?;
        self.put_stream(&mut file, dest, mode, become_)
    }

    fn get(&mut self, path: &str, become_: &Become) -> Result<Vec<u8>, ConnError> {
        tracing::debug!(target: "yiqiu::roundtrip", op = "get", path);
        if become_.enabled {
            return Ok(self.sh(&format!("cat {}", quote(path)), become_)?.stdout);
        }
        let name = self.target.name.clone();
        let sftp = self.sftp()?;
        let mut file = match sftp.open(Path::new(path)) {
            Ok(f) => f,
            Err(e) => return Err(self.sftp_error(format!("could not read {path} on {name}"), e)),
        };
        let mut data = Vec::new();
        let read = file.read_to_end(&mut data);
        drop(file);
        match read {
            Ok(_) => Ok(data),
            Err(e) => {
                let err = io_error(e, format!("could not read {path} on {name}"));
                if matches!(err, ConnError::Unreachable(_)) {
                    self.forget();
                }
                Err(err)
            }
        }
    }

    fn transport(&self) -> &'static str {
        "ssh"
    }

    fn ssh_target(&self) -> Option<&Target> {
        Some(&self.target)
    }
}

/// What ends a command early: its timeout, and the server's silence.
struct Limits {
    timeout: Option<Duration>,
    silence: Duration,
    /// The stderr prefix of the pid line a timed command prints first.
    pid_marker: Option<String>,
}

enum PumpError {
    /// The command ran out of time; the pid of its process group, if it was reported.
    TimedOut(Option<u32>),
    Transport(String),
    /// The server sent nothing, not even a keepalive reply, for this long.
    Silent(Duration),
    Failed(String),
}

fn would_block(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::WouldBlock
}

/// The non-blocking I/O loop of one command. Returns once the remote closed both streams.
fn pump(
    live: &Live,
    channel: &mut ssh2::Channel,
    wrapped: &Wrapped,
    stdin: &mut dyn Read,
    password: Option<&str>,
    limits: &Limits,
) -> Result<Output, PumpError> {
    let deadline = limits.timeout.map(|t| Instant::now() + t);
    let mut pid: Option<u32> = None;
    let mut out = Output::default();
    let mut buf = vec![0u8; 32 * 1024];
    // Bytes waiting to go to the remote stdin, and whether the source has more.
    let mut pending: Vec<u8> = Vec::new();
    let mut source_done = false;
    let mut eof_sent = false;
    // Until the success marker shows, only the password may be written.
    let mut started = wrapped.success.is_none();
    let mut prompts = 0usize;
    let mut stdout_eof = false;
    let mut stderr_eof = false;
    loop {
        let mut progress = false;
        if !stdout_eof {
            match channel.read(&mut buf) {
                Ok(0) => stdout_eof = channel.eof(),
                Ok(n) => {
                    out.stdout.extend_from_slice(&buf[..n]);
                    progress = true;
                }
                Err(e) if would_block(&e) => {}
                Err(e) => return Err(PumpError::Transport(e.to_string())),
            }
        }
        if !stderr_eof {
            match channel.stderr().read(&mut buf) {
                Ok(0) => stderr_eof = channel.eof(),
                Ok(n) => {
                    out.stderr.extend_from_slice(&buf[..n]);
                    progress = true;
                }
                Err(e) if would_block(&e) => {}
                Err(e) => return Err(PumpError::Transport(e.to_string())),
            }
        }
        if pid.is_none() {
            if let Some(marker) = &limits.pid_marker {
                pid = take_pid_line(&mut out.stderr, marker.as_bytes());
            }
        }
        if let Some(prompt) = &wrapped.prompt {
            let seen = count(&out.stderr, prompt.as_bytes());
            if seen > prompts {
                prompts = seen;
                if prompts > 1 || started {
                    return Err(PumpError::Failed("Incorrect sudo password".into()));
                }
                let mut line = password.unwrap_or_default().as_bytes().to_vec();
                line.push(b'\n');
                pending.splice(0..0, line);
            }
        }
        if !started {
            if let Some(success) = &wrapped.success {
                let mut marker = success.as_bytes().to_vec();
                marker.push(b'\n');
                if let Some(at) = find(&out.stdout, &marker) {
                    out.stdout.drain(..at + marker.len());
                    started = true;
                    // Whatever sudo printed before (the prompt, "Sorry, try again") is noise.
                    out.stderr.clear();
                }
            }
        }
        // Refill from the source only once the command runs (the password is queued already).
        if started && pending.is_empty() && !source_done {
            match stdin.read(&mut buf) {
                Ok(0) => source_done = true,
                Ok(n) => pending.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(PumpError::Failed(format!("could not read stdin data: {e}"))),
            }
        }
        if !pending.is_empty() {
            match channel.write(&pending) {
                Ok(n) => {
                    pending.drain(..n);
                    progress |= n > 0;
                }
                Err(e) if would_block(&e) => {}
                // The command may exit without reading its input; that is not our failure.
                Err(_) if stdout_eof || channel.eof() => {
                    pending.clear();
                    source_done = true;
                }
                Err(e) => return Err(PumpError::Transport(e.to_string())),
            }
        }
        if started && source_done && pending.is_empty() && !eof_sent {
            match channel.send_eof() {
                Ok(()) => {
                    eof_sent = true;
                    progress = true;
                }
                Err(e) if e.code() == ErrorCode::Session(ssh2_sys_eagain()) => {}
                Err(e) if is_transport(&e) => return Err(PumpError::Transport(e.to_string())),
                // EOF on a channel the remote already closed.
                Err(_) => eof_sent = true,
            }
        }
        if stdout_eof && stderr_eof {
            if let Some(prompt) = &wrapped.prompt {
                strip_all(&mut out.stderr, prompt.as_bytes());
            }
            return Ok(out);
        }
        if progress {
            continue;
        }
        if let Some(d) = deadline {
            if Instant::now() >= d {
                return Err(PumpError::TimedOut(pid));
            }
        }
        if let Some(silent) = silent_for(&live.socket) {
            if silent >= limits.silence {
                return Err(PumpError::Silent(silent));
            }
        }
        match live.session.keepalive_send() {
            Ok(_) => {}
            Err(e) if e.code() == ErrorCode::Session(ssh2_sys_eagain()) => {}
            Err(e) if is_transport(&e) => return Err(PumpError::Transport(e.to_string())),
            Err(_) => {}
        }
        wait_socket(live, !pending.is_empty());
    }
}

const fn ssh2_sys_eagain() -> i32 {
    -37
}

/// Waits up to a second for the socket to be ready in the directions libssh2 needs.
fn wait_socket(live: &Live, want_write: bool) {
    let dirs = live.session.block_directions();
    let mut events = libc::POLLIN;
    if want_write
        || matches!(
            dirs,
            ssh2::BlockDirections::Outbound | ssh2::BlockDirections::Both
        )
    {
        events |= libc::POLLOUT;
    }
    let mut fds = libc::pollfd {
        fd: live.socket.as_raw_fd(),
        events,
        revents: 0,
    };
    // SAFETY: one valid pollfd for the duration of the call.
    unsafe {
        libc::poll(&mut fds, 1, 1000);
    }
}

/// A new authenticated session to `t` and its socket, for the tunnel (`tunnel.rs`), which
/// keeps its own sessions so a long-lived port forward never waits on a task's commands.
pub fn open_session(t: &Target) -> Result<(Session, TcpStream), ConnError> {
    let live = connect(t)?;
    Ok((live.session, live.socket))
}

/// Opens TCP, does the SSH handshake, checks the host key and authenticates.
fn connect(t: &Target) -> Result<Live, ConnError> {
    super::vvv(
        &t.address,
        &format!("ESTABLISH SSH CONNECTION FOR USER: {}", t.user),
    );
    let unreachable = |why: String| {
        ConnError::Unreachable(format!(
            "Failed to connect to the host via ssh: ssh: connect to host {} port {}: {why}",
            t.address, t.port
        ))
    };
    let addrs: Vec<_> = (t.address.as_str(), t.port)
        .to_socket_addrs()
        .map_err(|e| {
            ConnError::Unreachable(format!(
                "Failed to connect to the host via ssh: ssh: Could not resolve hostname {}: {e}",
                t.address
            ))
        })?
        .collect();
    let mut last = String::from("no address");
    let mut stream = None;
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, t.timeout) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last = io_reason(&e),
        }
    }
    let stream = stream.ok_or_else(|| unreachable(last))?;
    let _ = stream.set_nodelay(true);
    tcp_keepalive(&stream);
    let socket = stream.try_clone().map_err(|e| unreachable(e.to_string()))?;
    let mut session = Session::new().map_err(|e| unreachable(e.to_string()))?;
    session.set_tcp_stream(stream);
    session.set_timeout(
        u32::try_from(t.timeout.as_millis())
            .unwrap_or(u32::MAX)
            .max(1000),
    );
    session.handshake().map_err(|e| {
        if is_timeout(&e) {
            // OpenSSH's words for a server that accepts TCP and never sends its banner.
            ConnError::Unreachable(format!(
                "Failed to connect to the host via ssh: Connection timed out during banner exchange\r\nConnection to {} port {} timed out",
                t.address, t.port
            ))
        } else {
            unreachable(format!("ssh handshake failed: {e}"))
        }
    })?;
    known_hosts::verify(&session, &t.address, t.port, &t.known_hosts, t.policy)?;
    authenticate(&session, t)?;
    // A blocking call (channel open, SFTP, close) waits for a reply the server sends at once;
    // if none comes within the silence limit, the host is hung.
    session.set_timeout(
        u32::try_from(t.silence_limit().as_millis())
            .unwrap_or(u32::MAX)
            .max(1000),
    );
    // `want_reply`: the replies are the traffic that proves the server is alive.
    session.set_keepalive(true, t.keepalive_every().as_secs().min(3600) as u32);
    Ok(Live {
        session,
        socket,
        sftp: None,
    })
}

/// Auth in OpenSSH's spirit: explicit keys, the agent, default keys, then a password.
fn authenticate(session: &Session, t: &Target) -> Result<(), ConnError> {
    let methods = session
        .auth_methods(&t.user)
        .unwrap_or("publickey,password")
        .to_string();
    if session.authenticated() {
        return Ok(());
    }
    let mut tried: Vec<String> = Vec::new();
    let mut key_errors: Vec<String> = Vec::new();
    if methods.contains("publickey") {
        let try_key = |path: &Path, explicit: bool, key_errors: &mut Vec<String>| -> bool {
            if !path.exists() {
                if explicit {
                    key_errors.push(format!("{}: no such file", path.display()));
                }
                return false;
            }
            match session.userauth_pubkey_file(&t.user, None, path, t.passphrase.as_deref()) {
                Ok(()) => session.authenticated(),
                Err(e) => {
                    if explicit {
                        key_errors.push(format!("{}: {}", path.display(), e.message()));
                    }
                    false
                }
            }
        };
        for key in &t.identities {
            if try_key(key, true, &mut key_errors) {
                return Ok(());
            }
        }
        tried.push("publickey".into());
        if std::env::var_os("SSH_AUTH_SOCK").is_some()
            && session.userauth_agent(&t.user).is_ok()
            && session.authenticated()
        {
            return Ok(());
        }
        let home = home_dir();
        for name in ["id_ed25519", "id_ecdsa", "id_rsa"] {
            let key = home.join(".ssh").join(name);
            if t.identities.contains(&key) {
                continue;
            }
            if try_key(&key, false, &mut key_errors) {
                return Ok(());
            }
        }
    }
    if let Some(pw) = t.password.as_deref() {
        if methods.contains("password") {
            tried.push("password".into());
            if session.userauth_password(&t.user, pw).is_ok() && session.authenticated() {
                return Ok(());
            }
        }
    }
    let detail = if key_errors.is_empty() {
        String::new()
    } else {
        format!(" ({})", key_errors.join("; "))
    };
    Err(ConnError::Unreachable(format!(
        "Failed to connect to the host via ssh: {}@{}: Permission denied ({methods}){detail}.",
        t.user, t.address
    )))
}

/// Whether the server is still there: a non-blocking peek reads 0 bytes once it closed.
fn socket_alive(socket: &TcpStream) -> bool {
    let mut byte = [0u8; 1];
    // SAFETY: recv into a 1-byte buffer we own, on a socket we own.
    let n = unsafe {
        libc::recv(
            socket.as_raw_fd(),
            byte.as_mut_ptr().cast(),
            1,
            libc::MSG_PEEK | libc::MSG_DONTWAIT,
        )
    };
    if n > 0 {
        return true;
    }
    if n == 0 {
        return false;
    }
    let err = std::io::Error::last_os_error();
    matches!(
        err.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::Interrupted
    )
}

/// Short TCP keepalive timers: a dead peer errors the socket after about 30 s of silence.
fn tcp_keepalive(stream: &TcpStream) {
    let fd = stream.as_raw_fd();
    let set = |level: libc::c_int, opt: libc::c_int, val: libc::c_int| {
        // SAFETY: setsockopt with a pointer to a live c_int and its size.
        unsafe {
            libc::setsockopt(
                fd,
                level,
                opt,
                (&val as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            );
        }
    };
    set(libc::SOL_SOCKET, libc::SO_KEEPALIVE, 1);
    #[cfg(target_os = "linux")]
    {
        set(libc::IPPROTO_TCP, libc::TCP_KEEPIDLE, 15);
        set(libc::IPPROTO_TCP, libc::TCP_KEEPINTVL, 5);
        set(libc::IPPROTO_TCP, libc::TCP_KEEPCNT, 3);
    }
}

/// How long since the server last sent data on this socket (Linux `TCP_INFO`); `None` where the
/// kernel does not say.
#[cfg(target_os = "linux")]
fn silent_for(socket: &TcpStream) -> Option<Duration> {
    // SAFETY: getsockopt into a zeroed tcp_info we own, with its size.
    unsafe {
        let mut info: libc::tcp_info = std::mem::zeroed();
        let mut len = std::mem::size_of::<libc::tcp_info>() as libc::socklen_t;
        let rc = libc::getsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            (&mut info as *mut libc::tcp_info).cast(),
            &mut len,
        );
        (rc == 0).then(|| Duration::from_millis(u64::from(info.tcpi_last_data_recv)))
    }
}

#[cfg(not(target_os = "linux"))]
fn silent_for(_socket: &TcpStream) -> Option<Duration> {
    None
}

/// libssh2's own timeouts: the peer did not answer in time.
fn is_timeout(e: &ssh2::Error) -> bool {
    matches!(e.code(), ErrorCode::Session(-9 | -30))
}

/// Errors that mean the transport is gone (as opposed to a refused request).
fn is_transport(e: &ssh2::Error) -> bool {
    matches!(
        e.code(),
        ErrorCode::Session(
            -1 /* SOCKET_NONE */
                | -2 /* BANNER_RECV */
                | -7 /* SOCKET_SEND */
                | -9 /* TIMEOUT */
                | -13 /* SOCKET_DISCONNECT */
                | -30 /* SOCKET_TIMEOUT */
                | -43 /* SOCKET_RECV */
        )
    )
}

fn ssh_to_conn(e: &ssh2::Error, what: String) -> ConnError {
    if is_transport(e) {
        ConnError::Unreachable(format!(
            "Failed to connect to the host via ssh: {what}: {e}"
        ))
    } else {
        ConnError::Failed(format!("{what}: {}", sftp_message(e)))
    }
}

/// io::Error from ssh2's Read/Write impls wraps an ssh2::Error.
fn io_error(e: std::io::Error, what: String) -> ConnError {
    let inner = e.get_ref().and_then(|i| i.downcast_ref::<ssh2::Error>());
    match inner {
        Some(se) => ssh_to_conn(se, what),
        None => ConnError::Failed(format!("{what}: {e}")),
    }
}

fn sftp_message(e: &ssh2::Error) -> String {
    match e.code() {
        ErrorCode::SFTP(2) => "No such file or directory".into(),
        ErrorCode::SFTP(3) => "Permission denied".into(),
        _ => e.message().to_string(),
    }
}

/// "Connection refused" and friends, without Rust's "(os error 111)".
fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::ConnectionRefused => "Connection refused".into(),
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => {
            "Connection timed out".into()
        }
        _ => {
            let s = e.to_string();
            s.split(" (os error").next().unwrap_or(&s).to_string()
        }
    }
}

fn split_dest(dest: &str) -> (String, String) {
    let p = Path::new(dest);
    let dir = p
        .parent()
        .map(|d| d.to_string_lossy().into_owned())
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| ".".into());
    let name = p
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".into());
    (dir, name)
}

/// A random token for temp names and become markers.
fn unique() -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..16)
        .map(|_| {
            let i = rng.random_range(0..36u8);
            char::from(if i < 10 { b'0' + i } else { b'a' + i - 10 })
        })
        .collect()
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

fn count(hay: &[u8], needle: &[u8]) -> usize {
    if needle.is_empty() || hay.len() < needle.len() {
        return 0;
    }
    hay.windows(needle.len()).filter(|w| *w == needle).count()
}

/// For a non-empty environment: the shell prefix that reads `export` lines from stdin up to
/// a random end marker and evaluates them, and the stdin data to send first.
fn env_on_stdin(env: &[(String, String)]) -> Result<Option<(String, Vec<u8>)>, ConnError> {
    if env.is_empty() {
        return Ok(None);
    }
    let end = format!("YIQIU-ENV-END-{}", unique());
    let mut data = String::new();
    for (k, v) in env {
        if k.is_empty()
            || k.starts_with(|c: char| c.is_ascii_digit())
            || !k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return Err(ConnError::Failed(format!(
                "invalid environment variable name: {k:?}"
            )));
        }
        data.push_str(&format!("export {k}={}\n", quote(v)));
    }
    data.push_str(&end);
    data.push('\n');
    // `read` takes one byte at a time from a pipe, so the command's own input stays unread.
    let reader = format!(
        "__yq_env=; while IFS= read -r __yq_l; do [ \"$__yq_l\" = {end} ] && break; __yq_env=\"$__yq_env$__yq_l\n\"; done; eval \"$__yq_env\"; unset __yq_env __yq_l; "
    );
    Ok(Some((reader, data.into_bytes())))
}

/// Removes the `<marker><pid>\n` line a timed command writes first on stderr; its pid.
fn take_pid_line(stderr: &mut Vec<u8>, marker: &[u8]) -> Option<u32> {
    let at = find(stderr, marker)?;
    let rest = &stderr[at + marker.len()..];
    let end = rest.iter().position(|b| *b == b'\n')?;
    let pid = std::str::from_utf8(&rest[..end]).ok()?.parse().ok();
    stderr.drain(at..at + marker.len() + end + 1);
    pid
}

fn strip_all(hay: &mut Vec<u8>, needle: &[u8]) {
    while let Some(at) = find(hay, needle) {
        hay.drain(at..at + needle.len());
    }
}

/// The controller's user name, ssh's default remote user.
pub fn local_user() -> String {
    // SAFETY: getpwuid returns a pointer into static storage or null; we copy the name out at
    // once. Only called at connection setup, not from several threads at the same instant in
    // practice; the USER variable is the fallback.
    let from_passwd = unsafe {
        let pw = libc::getpwuid(libc::geteuid());
        if pw.is_null() || (*pw).pw_name.is_null() {
            None
        } else {
            Some(
                std::ffi::CStr::from_ptr((*pw).pw_name)
                    .to_string_lossy()
                    .into_owned(),
            )
        }
    };
    from_passwd
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "root".into())
}

fn expand_home(p: &Path) -> PathBuf {
    match p.to_str().and_then(|s| s.strip_prefix("~/")) {
        Some(rest) => home_dir().join(rest),
        None => p.to_path_buf(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dest_splits() {
        assert_eq!(split_dest("/etc/motd"), ("/etc".into(), "motd".into()));
        assert_eq!(split_dest("motd"), (".".into(), "motd".into()));
    }

    #[test]
    fn pid_line_is_taken_from_stderr() {
        let mut err = b"YIQIU-PID-k=4242\noops\n".to_vec();
        assert_eq!(take_pid_line(&mut err, b"YIQIU-PID-k="), Some(4242));
        assert_eq!(err, b"oops\n");
        let mut partial = b"YIQIU-PID-k=42".to_vec();
        assert_eq!(take_pid_line(&mut partial, b"YIQIU-PID-k="), None);
        assert_eq!(partial, b"YIQIU-PID-k=42");
    }

    #[test]
    fn markers_are_found_and_stripped() {
        let mut v = b"a[P]b[P]c".to_vec();
        assert_eq!(count(&v, b"[P]"), 2);
        strip_all(&mut v, b"[P]");
        assert_eq!(v, b"abc");
        assert_eq!(find(b"xxBECOME\n", b"BECOME\n"), Some(2));
    }

    #[test]
    fn spec_wins_over_ssh_config() {
        let spec = ConnectionSpec {
            transport: "ssh".into(),
            inventory_name: "web".into(),
            host: "10.1.2.3".into(),
            port: Some(2200),
            user: Some("alice".into()),
            host_key_checking: false,
            ..ConnectionSpec::default()
        };
        let t = Target::resolve(&spec);
        assert_eq!(
            (t.address.as_str(), t.port, t.user.as_str()),
            ("10.1.2.3", 2200, "alice")
        );
        assert_eq!(t.policy, Policy::Off);
        assert_eq!(t.timeout, Duration::from_secs(10));
    }
}
