//! Connections that outlive a run, as Ansible's default `ControlPersist=60s` gives OpenSSH
//! users: the first run to reach a host starts a *connection keeper* (this same binary, run as
//! `yiqiu-play __keep-connection`) that holds the authenticated SSH session and serves the
//! run's commands over a Unix socket; later runs within the idle time reuse it and skip the
//! TCP, key exchange and authentication round trips (most of an SSH exec's cost on a fleet).
//!
//! - `keeper.rs`: the keeper process (socket, idle exit, one SSH session).
//! - `wire.rs`: the request/response frames.
//!
//! Turned off, as with OpenSSH, by ssh args without `ControlPersist` (or with
//! `ControlPersist=no` / `ControlMaster=no`). The socket lives in `~/.yiqiu-play/cp/` (0700,
//! like `~/.ansible/cp`), named by a hash of everything that decides the session (address,
//! port, user, keys, known_hosts, options) and of this build, so two different logins never
//! share one. Anything unexpected (no socket dir, a keeper that cannot start) falls back to a
//! direct connection; a host that is unreachable is reported exactly as a direct connection
//! reports it.

pub mod keeper;
pub mod wire;

use super::ssh::{SshConnection, Target};
use super::{quote, Become, Command, ConnError, Connection, ConnectionSpec, Output};
use sha2::{Digest, Sha256};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use wire::{read_frame, write_frame, Request, Response, WireCommand};

/// The hidden argument that makes the binary a keeper.
pub const KEEPER_ARG: &str = "__keep-connection";

/// Ansible's default `ssh_args` (`-C -o ControlMaster=auto -o ControlPersist=60s`).
const DEFAULT_PERSIST: Duration = Duration::from_secs(60);

/// Only a binary that can serve as a keeper (it handles [`KEEPER_ARG`]) starts keepers.
static KEEPER_BINARY: AtomicBool = AtomicBool::new(false);

/// Called by `yiqiu-play`'s `main`: this binary can run keepers.
pub fn enable() {
    KEEPER_BINARY.store(true, Ordering::Relaxed);
}

/// How long an idle session is kept, from the `-o` options of the ssh args; `None` = not
/// kept. `ssh_args_given`: the user set `ssh_args` (then only their options count, as
/// Ansible's default args are replaced).
pub fn control_persist(options: &[(String, String)], ssh_args_given: bool) -> Option<Duration> {
    let option = |k: &str| options.iter().find(|(key, _)| key == k).map(|(_, v)| v);
    if option("controlmaster").is_some_and(|v| v.eq_ignore_ascii_case("no")) {
        return None;
    }
    match option("controlpersist") {
        Some(v) => parse_persist(v),
        None if ssh_args_given => None,
        None => Some(DEFAULT_PERSIST),
    }
}

/// `ControlPersist` values as ssh_config(5): yes (forever; a day here), no, or a time
/// (`60`, `60s`, `10m`, `1h`).
fn parse_persist(v: &str) -> Option<Duration> {
    let v = v.trim().to_ascii_lowercase();
    match v.as_str() {
        "yes" | "true" => return Some(Duration::from_secs(86_400)),
        "no" | "false" | "0" | "" => return None,
        _ => {}
    }
    let (digits, unit) = v.split_at(v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len()));
    let n: u64 = digits.parse().ok()?;
    let secs = match unit {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        "w" => n * 604_800,
        _ => return None,
    };
    (secs > 0).then(|| Duration::from_secs(secs))
}

/// What opening one connection through a keeper needs.
struct Opening<'a> {
    spec: &'a ConnectionSpec,
    persist: Duration,
    target: Target,
    path: PathBuf,
}

/// Opens `spec` through its keeper (starting one if none runs), else directly.
pub fn open(spec: &ConnectionSpec, persist: Duration) -> Result<Box<dyn Connection>, ConnError> {
    let target = Target::resolve(spec);
    let path = match KEEPER_BINARY.load(Ordering::Relaxed) {
        true => socket_path(&target),
        false => None,
    };
    let Some(path) = path else {
        return Ok(Box::new(SshConnection::open(spec)?));
    };
    super::vvv(
        &target.address,
        &format!("ESTABLISH SSH CONNECTION FOR USER: {}", target.user),
    );
    let open = Opening {
        spec,
        persist,
        target,
        path,
    };
    if let Ok(stream) = UnixStream::connect(&open.path) {
        return Ok(Box::new(PersistentConnection::new(&open, stream)));
    }
    let why = match keeper::spawn(spec, &open.path, persist) {
        Ok(()) => match UnixStream::connect(&open.path) {
            Ok(stream) => return Ok(Box::new(PersistentConnection::new(&open, stream))),
            Err(e) => format!("its socket {}: {e}", open.path.display()),
        },
        Err(keeper::SpawnError::Host(e)) => return Err(e),
        Err(keeper::SpawnError::NoKeeper(why)) => why,
    };
    tracing::debug!("no connection keeper ({why}); connecting directly");
    Ok(Box::new(SshConnection::open(spec)?))
}

/// `~/.yiqiu-play/cp/<hash>.sock`, or `None` when the directory is not private to us or the
/// path is too long for a Unix socket.
fn socket_path(target: &Target) -> Option<PathBuf> {
    let dir = super::ssh_config::home_dir().join(".yiqiu-play/cp");
    std::fs::create_dir_all(&dir).ok()?;
    let meta = std::fs::metadata(&dir).ok()?;
    use std::os::unix::fs::MetadataExt;
    // SAFETY: getuid has no preconditions.
    if meta.uid() != unsafe { libc::getuid() } {
        return None;
    }
    if meta.permissions().mode() & 0o077 != 0 {
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).ok()?;
    }
    let path = dir.join(format!("{}.sock", session_key(target)));
    // sun_path holds 108 bytes with its NUL.
    (path.as_os_str().len() < 100).then_some(path)
}

/// Names the session: the resolved target (secrets included, hashed) and this build.
fn session_key(target: &Target) -> String {
    let build = std::env::current_exe()
        .and_then(std::fs::metadata)
        .and_then(|m| m.modified())
        .map(|t| format!("{t:?}"))
        .unwrap_or_default();
    let digest = Sha256::digest(format!(
        "{}|{}|{build}|{target:?}",
        wire::PROTOCOL,
        env!("CARGO_PKG_VERSION")
    ));
    digest[..10].iter().map(|b| format!("{b:02x}")).collect()
}

/// A connection whose SSH session lives in a keeper process.
pub struct PersistentConnection {
    spec: ConnectionSpec,
    persist: Duration,
    target: Target,
    stream: UnixStream,
    path: PathBuf,
    /// No request answered yet: a keeper that went away between our connect and its accept
    /// (its idle exit) never saw the request, so it may be sent again to a fresh keeper.
    fresh: bool,
}

impl PersistentConnection {
    fn new(open: &Opening, stream: UnixStream) -> Self {
        PersistentConnection {
            spec: open.spec.clone(),
            persist: open.persist,
            target: open.target.clone(),
            path: open.path.clone(),
            stream,
            fresh: true,
        }
    }

    fn call(&mut self, req: &Request, payload: &[u8]) -> Result<(Response, Vec<u8>), ConnError> {
        match self.send(req, payload) {
            Ok(Some((r, data))) => {
                self.fresh = false;
                Ok((r.error()?, data))
            }
            Ok(None) if self.fresh => self.retry(req, payload),
            Ok(None) => Err(self.ended("it closed the connection")),
            Err(e) if self.fresh => {
                tracing::debug!("keeper: {e}; retrying with a new one");
                self.retry(req, payload)
            }
            Err(e) => Err(self.ended(&e.to_string())),
        }
    }

    fn send(
        &mut self,
        req: &Request,
        payload: &[u8],
    ) -> std::io::Result<Option<(Response, Vec<u8>)>> {
        write_frame(&mut self.stream, req, payload)?;
        read_frame(&mut self.stream)
    }

    /// Starts a new keeper and sends `req` to it: once, and only for a first request.
    fn retry(&mut self, req: &Request, payload: &[u8]) -> Result<(Response, Vec<u8>), ConnError> {
        self.fresh = false;
        let _ = std::fs::remove_file(&self.path);
        let lost = self.ended("it exited before answering");
        match keeper::spawn(&self.spec, &self.path, self.persist) {
            Ok(()) => {}
            Err(keeper::SpawnError::Host(e)) => return Err(e),
            Err(keeper::SpawnError::NoKeeper(_)) => return Err(lost),
        }
        self.stream = UnixStream::connect(&self.path).map_err(|_| lost)?;
        match self.send(req, payload) {
            Ok(Some((r, data))) => Ok((r.error()?, data)),
            Ok(None) => Err(self.ended("it closed the connection")),
            Err(e) => Err(self.ended(&e.to_string())),
        }
    }

    fn ended(&self, why: &str) -> ConnError {
        ConnError::Unreachable(format!(
            "Failed to connect to the host via ssh: the connection keeper for {} port {} ended: {why}",
            self.target.address, self.target.port
        ))
    }
}

impl Connection for PersistentConnection {
    fn exec(&mut self, cmd: &Command) -> Result<Output, ConnError> {
        let shown = super::shown_command(cmd);
        let shown = shown.as_str();
        tracing::debug!(target: "yiqiu::roundtrip", op = "exec", script = %shown);
        super::vvv(
            &self.target.address,
            &format!("SSH: EXEC /bin/sh -c {}", quote(shown)),
        );
        let (req, stdin) = WireCommand::request(cmd);
        match self.call(&req, stdin)? {
            (Response::Output { rc, stdout_len }, payload) => {
                Ok(wire::output_of(rc, stdout_len, payload))
            }
            _ => Err(ConnError::Failed(
                "connection keeper: unexpected reply to exec".into(),
            )),
        }
    }

    fn put(
        &mut self,
        data: &[u8],
        dest: &str,
        mode: Option<u32>,
        become_: &Become,
    ) -> Result<(), ConnError> {
        tracing::debug!(target: "yiqiu::roundtrip", op = "put", dest);
        let req = Request::Put {
            dest: dest.into(),
            mode,
            become_: become_.into(),
        };
        self.call(&req, data).map(|_| ())
    }

    fn put_file(
        &mut self,
        src: &Path,
        dest: &str,
        mode: Option<u32>,
        become_: &Become,
    ) -> Result<(), ConnError> {
        tracing::debug!(target: "yiqiu::roundtrip", op = "put_file", dest);
        // The keeper's working directory is not ours.
        let src = std::path::absolute(src)
            .map_err(|e| ConnError::Failed(format!("could not read {}: {e}", src.display())))?;
        let req = Request::PutFile {
            src,
            dest: dest.into(),
            mode,
            become_: become_.into(),
        };
        self.call(&req, &[]).map(|_| ())
    }

    fn get(&mut self, path: &str, become_: &Become) -> Result<Vec<u8>, ConnError> {
        tracing::debug!(target: "yiqiu::roundtrip", op = "get", path);
        let req = Request::Get {
            path: path.into(),
            become_: become_.into(),
        };
        match self.call(&req, &[])? {
            (Response::Data, d) => Ok(d),
            _ => Err(ConnError::Failed(
                "connection keeper: unexpected reply to get".into(),
            )),
        }
    }

    fn transport(&self) -> &'static str {
        "ssh"
    }

    fn ssh_target(&self) -> Option<&Target> {
        Some(&self.target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(args: &str) -> Vec<(String, String)> {
        super::super::ssh_config::parse_ssh_options(args)
    }

    #[test]
    fn persistence_follows_the_ssh_args_as_ansible_and_openssh() {
        assert_eq!(control_persist(&[], false), Some(Duration::from_secs(60)));
        assert_eq!(
            control_persist(&opts("-o ControlPersist=60s"), true),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            control_persist(&opts("-o ControlPersist=10m"), true),
            Some(Duration::from_secs(600))
        );
        assert_eq!(control_persist(&opts("-C"), true), None);
        assert_eq!(control_persist(&opts("-o ControlPersist=no"), false), None);
        assert_eq!(
            control_persist(&opts("-o ControlMaster=no -o ControlPersist=60s"), true),
            None
        );
        assert_eq!(control_persist(&opts("-o ControlPersist=soon"), true), None);
    }

    #[test]
    fn different_logins_get_different_sockets() {
        let spec = |user: &str| ConnectionSpec {
            transport: "ssh".into(),
            host: "10.0.0.1".into(),
            user: Some(user.into()),
            ..ConnectionSpec::default()
        };
        let a = session_key(&Target::resolve(&spec("alice")));
        let b = session_key(&Target::resolve(&spec("bob")));
        assert_ne!(a, b);
        assert_eq!(a, session_key(&Target::resolve(&spec("alice"))));
    }
}
