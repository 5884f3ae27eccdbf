//! The connection keeper: a detached `yiqiu-play __keep-connection SOCKET SECS` that opens one
//! SSH session, listens on SOCKET, serves runs' requests one at a time on that session, and
//! exits after SECS without a client, when its session dies, or when its socket is replaced.

use super::super::ssh::SshConnection;
use super::super::{ConnError, Connection, ConnectionSpec};
use super::wire::{read_frame, write_frame, Request, Response};
use super::KEEPER_ARG;
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Why no keeper serves the socket.
pub enum SpawnError {
    /// The host itself failed (unreachable, refused login): report it as is.
    Host(ConnError),
    /// The keeper could not start: connect directly instead.
    NoKeeper(String),
}

/// Starts a keeper for `spec` on `path` and waits until it has connected (or failed to).
pub fn spawn(spec: &ConnectionSpec, path: &Path, persist: Duration) -> Result<(), SpawnError> {
    let exe = std::env::current_exe().map_err(|e| SpawnError::NoKeeper(e.to_string()))?;
    let mut child = std::process::Command::new(exe)
        .arg(KEEPER_ARG)
        .arg(path)
        .arg(persist.as_secs().to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        // Its own process group: a Ctrl-C on the run's terminal does not end it.
        .process_group(0)
        .spawn()
        .map_err(|e| SpawnError::NoKeeper(e.to_string()))?;
    let sent = match child.stdin.take() {
        Some(mut stdin) => write_frame(&mut stdin, spec, &[]),
        None => Err(std::io::Error::other("no stdin")),
    };
    let answer = match (sent, child.stdout.take()) {
        (Ok(()), Some(mut out)) => read_frame::<Response>(&mut out).map(|f| f.map(|(r, _)| r)),
        (Err(e), _) => Err(e),
        (_, None) => Err(std::io::Error::other("no stdout")),
    };
    // Reap it whenever it exits, so no zombie is left while this run goes on.
    std::thread::spawn(move || {
        let _ = child.wait();
    });
    match answer {
        Ok(Some(Response::Done)) => Ok(()),
        Ok(Some(Response::Unreachable(m))) => Err(SpawnError::Host(ConnError::Unreachable(m))),
        Ok(Some(Response::Failed(m))) => Err(SpawnError::Host(ConnError::Failed(m))),
        Ok(Some(_)) => Err(SpawnError::NoKeeper("unexpected answer".into())),
        Ok(None) => Err(SpawnError::NoKeeper("it exited".into())),
        Err(e) => Err(SpawnError::NoKeeper(e.to_string())),
    }
}

/// `main` of `yiqiu-play __keep-connection SOCKET SECS` (the spec comes on stdin).
pub fn keeper_main(args: &[String]) -> i32 {
    let (Some(path), Some(secs)) = (args.first(), args.get(1)) else {
        eprintln!("usage: yiqiu-play {KEEPER_ARG} SOCKET SECONDS (internal)");
        return 2;
    };
    let persist = Duration::from_secs(secs.parse().unwrap_or(60));
    let mut out = std::io::stdout().lock();
    let spec: ConnectionSpec = match read_frame(&mut std::io::stdin().lock()) {
        Ok(Some((s, _))) => s,
        _ => return 2,
    };
    let conn = match SshConnection::open(&spec) {
        Ok(c) => c,
        Err(e) => {
            let _ = write_frame(&mut out, &Response::from_error(e), &[]);
            return 0;
        }
    };
    let path = PathBuf::from(path);
    let listener = match bind(&path) {
        Ok(Some(l)) => l,
        // Another run's keeper won the race: that one serves.
        Ok(None) => {
            let _ = write_frame(&mut out, &Response::Done, &[]);
            return 0;
        }
        // No answer: the run that started us connects directly.
        Err(_) => return 1,
    };
    let _ = write_frame(&mut out, &Response::Done, &[]);
    drop(out);
    detach_stdio();
    serve(listener, &path, conn, persist);
    0
}

/// Listens on `path`; `None` when a live keeper already does.
fn bind(path: &Path) -> std::io::Result<Option<UnixListener>> {
    match UnixListener::bind(path) {
        Ok(l) => Ok(Some(l)),
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
            if UnixStream::connect(path).is_ok() {
                return Ok(None);
            }
            // A dead keeper's socket.
            std::fs::remove_file(path)?;
            UnixListener::bind(path).map(Some)
        }
        Err(e) => Err(e),
    }
}

/// The run that started us waits for our stdout to close; nothing of ours goes to a terminal.
fn detach_stdio() {
    if let Ok(null) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
    {
        use std::os::unix::io::AsRawFd;
        for fd in 0..=2 {
            // SAFETY: dup2 onto the standard descriptors of this process.
            unsafe { libc::dup2(null.as_raw_fd(), fd) };
        }
    }
}

struct Shared {
    conn: Mutex<SshConnection>,
    /// Clients connected now, and when the last one left.
    clients: Mutex<(usize, Instant)>,
}

fn serve(listener: UnixListener, path: &Path, conn: SshConnection, persist: Duration) {
    let inode = std::fs::metadata(path).map(|m| m.ino()).ok();
    let shared = Arc::new(Shared {
        conn: Mutex::new(conn),
        clients: Mutex::new((0, Instant::now())),
    });
    let watch = shared.clone();
    let owned = path.to_path_buf();
    std::thread::spawn(move || housekeeping(&watch, &owned, inode, persist));
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        lock(&shared.clients).0 += 1;
        let shared = shared.clone();
        std::thread::spawn(move || {
            client(&shared, stream);
            let mut c = lock(&shared.clients);
            c.0 -= 1;
            c.1 = Instant::now();
        });
    }
}

/// Ends the process when idle past `persist`, when the SSH session is gone while no client
/// needs it, or when our socket was removed or replaced.
fn housekeeping(shared: &Shared, path: &Path, inode: Option<u64>, persist: Duration) {
    loop {
        std::thread::sleep(Duration::from_millis(500));
        let ours = std::fs::metadata(path).map(|m| m.ino()).ok() == inode;
        let clients = lock(&shared.clients);
        let idle = clients.0 == 0;
        let dead = idle
            && shared
                .conn
                .try_lock()
                .map(|c| !c.session_alive())
                .unwrap_or(false);
        if !ours || (idle && clients.1.elapsed() >= persist) || dead {
            if ours {
                let _ = std::fs::remove_file(path);
            }
            // Exits with the clients lock held: no new client is counted in between.
            std::process::exit(0);
        }
    }
}

fn client(shared: &Shared, mut stream: UnixStream) {
    while let Ok(Some((req, payload))) = read_frame::<Request>(&mut stream) {
        let (resp, data) = {
            let mut conn = lock(&shared.conn);
            handle(&mut conn, req, payload)
        };
        if write_frame(&mut stream, &resp, &data).is_err() {
            break;
        }
    }
}

fn handle(conn: &mut SshConnection, req: Request, payload: Vec<u8>) -> (Response, Vec<u8>) {
    let done = |r: Result<(), ConnError>| r.map(|()| (Response::Done, Vec::new()));
    let result = match req {
        Request::Exec(cmd) => conn.exec(&cmd.command(payload)).map(Response::output),
        Request::Put {
            dest,
            mode,
            become_,
        } => done(conn.put(&payload, &dest, mode, &become_.into())),
        Request::PutFile {
            src,
            dest,
            mode,
            become_,
        } => done(conn.put_file(&src, &dest, mode, &become_.into())),
        Request::Get { path, become_ } => conn
            .get(&path, &become_.into())
            .map(|d| (Response::Data, d)),
    };
    result.unwrap_or_else(|e| (Response::from_error(e), Vec::new()))
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
