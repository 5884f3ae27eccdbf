//! A local port forwarded through an SSH host, like `ssh -L`: a listener on 127.0.0.1 whose
//! every connection becomes a `direct-tcpip` channel from that host to `remote`. The
//! Kubernetes client reaches an API server that only the inventory's k8s master can reach
//! this way, and the master needs nothing but sshd.
//!
//! Each forwarded connection has its own SSH session and thread (libssh2 sessions are not
//! shared between threads here), so a kept-alive API connection never waits on a task's
//! commands; one logged-in session is kept ready for the next connection. The forward
//! lives for the whole run and is made once per (host, remote).

use super::ssh::{open_session, Target};
use super::ConnError;
use ssh2::{Channel, Session};
use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::io::AsRawFd;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

type Key = (String, u16, String, String, u16);

fn forwards() -> &'static Mutex<HashMap<Key, SocketAddr>> {
    static F: OnceLock<Mutex<HashMap<Key, SocketAddr>>> = OnceLock::new();
    F.get_or_init(|| Mutex::new(HashMap::new()))
}

/// The local address that reaches `remote_host:remote_port` as seen from `t`'s host.
/// The first call checks that the host can open the channel, so an API server the host
/// cannot reach is reported here, in words, rather than as a closed connection later.
pub fn forward(t: &Target, remote_host: &str, remote_port: u16) -> Result<SocketAddr, ConnError> {
    let key = (
        t.address.clone(),
        t.port,
        t.user.clone(),
        remote_host.to_string(),
        remote_port,
    );
    let mut all = forwards().lock().unwrap_or_else(|p| p.into_inner());
    if let Some(addr) = all.get(&key) {
        return Ok(*addr);
    }
    let first = open_channel(t, remote_host, remote_port)?;
    let listener = TcpListener::bind("127.0.0.1:0")
        .map_err(|e| ConnError::Failed(format!("could not listen for the SSH tunnel: {e}")))?;
    let addr = listener
        .local_addr()
        .map_err(|e| ConnError::Failed(format!("could not listen for the SSH tunnel: {e}")))?;
    let target = t.clone();
    let (host, port) = (remote_host.to_string(), remote_port);
    std::thread::Builder::new()
        .name(format!("tunnel-{}", t.name))
        .spawn(move || accept_loop(listener, target, host, port, first))
        .map_err(|e| ConnError::Failed(format!("could not start the SSH tunnel: {e}")))?;
    tracing::debug!(target: "yiqiu::tunnel", "{addr} -> {}: {remote_host}:{remote_port}", t.name);
    all.insert(key, addr);
    Ok(addr)
}

struct Open {
    session: Session,
    socket: TcpStream,
    channel: Channel,
}

fn open_channel(t: &Target, host: &str, port: u16) -> Result<Open, ConnError> {
    let (session, socket) = open_session(t)?;
    channel_on(session, socket, t, host, port)
}

fn channel_on(
    session: Session,
    socket: TcpStream,
    t: &Target,
    host: &str,
    port: u16,
) -> Result<Open, ConnError> {
    quick_ack(&socket);
    let channel = session.channel_direct_tcpip(host, port, None).map_err(|e| {
        ConnError::Failed(format!(
            "{}: could not open a tunnel from {} to {host}:{port}: {e} (is the address reachable from that host, and is AllowTcpForwarding on in its sshd?)",
            t.name, t.name
        ))
    })?;
    Ok(Open {
        session,
        socket,
        channel,
    })
}

type Spare = Result<(Session, TcpStream), ConnError>;

/// Keeps one logged-in SSH session ready for the next forwarded connection, so a new API
/// connection (a watch, a second request in flight) waits for a channel, not for a whole SSH
/// handshake. The rendezvous channel holds the producer until the spare is taken.
fn spares(t: Target) -> std::sync::mpsc::Receiver<Spare> {
    let (tx, rx) = std::sync::mpsc::sync_channel::<Spare>(0);
    let _ = std::thread::Builder::new()
        .name(format!("tunnel-spare-{}", t.name))
        .spawn(move || loop {
            let spare = open_session(&t);
            let failed = spare.is_err();
            if tx.send(spare).is_err() {
                return;
            }
            if failed {
                // The host is down or refuses us: do not spin on it.
                std::thread::sleep(Duration::from_secs(1));
            }
        });
    rx
}

fn accept_loop(listener: TcpListener, t: Target, host: String, port: u16, first: Open) {
    let mut first = Some(first);
    let spare = spares(t.clone());
    for conn in listener.incoming() {
        let Ok(local) = conn else { continue };
        let _ = local.set_nodelay(true);
        let ready = first.take();
        // A spare if one is ready; otherwise this connection logs in on its own thread, so
        // a burst of connections does not queue behind one handshake.
        let spare_now = if ready.is_none() {
            spare.try_recv().ok()
        } else {
            None
        };
        let (t, host) = (t.clone(), host.clone());
        let _ = std::thread::Builder::new()
            .name("tunnel-conn".into())
            .spawn(move || {
                let started = Instant::now();
                let spared = spare_now.is_some();
                let open = match (ready, spare_now) {
                    (Some(o), _) => Ok(o),
                    (None, Some(Ok((session, socket)))) => {
                        channel_on(session, socket, &t, &host, port)
                    }
                    (None, _) => open_channel(&t, &host, port),
                };
                tracing::debug!(target: "yiqiu::tunnel", "{}: channel to {host}:{port} in {:?} (spare session: {spared})", t.name, started.elapsed());
                match open {
                    Ok(o) => pump(local, o),
                    Err(e) => tracing::warn!(target: "yiqiu::tunnel", "{e}"),
                }
            });
    }
}

fn would_block(e: &std::io::Error) -> bool {
    e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::TimedOut
}

/// Copies bytes both ways until either side closes.
fn pump(mut local: TcpStream, o: Open) {
    let Open {
        session,
        socket,
        mut channel,
    } = o;
    session.set_blocking(false);
    if local.set_nonblocking(true).is_err() {
        return;
    }
    let mut up: Vec<u8> = Vec::new();
    let mut down: Vec<u8> = Vec::new();
    let mut buf = vec![0u8; 32 * 1024];
    let (mut local_eof, mut eof_sent) = (false, false);
    let mut last_keepalive = Instant::now();
    loop {
        let mut progress = false;
        if up.is_empty() && !local_eof {
            match local.read(&mut buf) {
                Ok(0) => local_eof = true,
                Ok(n) => up.extend_from_slice(&buf[..n]),
                Err(e) if would_block(&e) => {}
                Err(_) => break,
            }
            progress |= local_eof || !up.is_empty();
        }
        if !up.is_empty() {
            match channel.write(&up) {
                Ok(n) => {
                    up.drain(..n);
                    progress |= n > 0;
                }
                Err(e) if would_block(&e) => {}
                Err(_) => break,
            }
        }
        if local_eof && up.is_empty() && !eof_sent && channel.send_eof().is_ok() {
            eof_sent = true;
        }
        if down.is_empty() {
            match channel.read(&mut buf) {
                Ok(0) if channel.eof() => break,
                Ok(n) => {
                    down.extend_from_slice(&buf[..n]);
                    progress |= n > 0;
                }
                Err(e) if would_block(&e) => {}
                Err(_) => break,
            }
        }
        if !down.is_empty() {
            match local.write(&down) {
                Ok(n) => {
                    down.drain(..n);
                    progress |= n > 0;
                }
                Err(e) if would_block(&e) => {}
                Err(_) => break,
            }
        }
        if last_keepalive.elapsed() > Duration::from_secs(15) {
            let _ = session.keepalive_send();
            last_keepalive = Instant::now();
        }
        if !progress {
            quick_ack(&socket);
            wait(
                &local,
                &socket,
                &session,
                !down.is_empty(),
                !local_eof && up.is_empty(),
            );
        }
    }
    let _ = local.shutdown(std::net::Shutdown::Both);
    session.set_blocking(true);
    session.set_timeout(1000);
    let _ = channel.close();
}

/// ACKs the SSH host's packets at once instead of up to 40 ms later. sshd leaves Nagle on for
/// a forwarded channel, so a reply in two segments waits for our ACK of the first: with
/// delayed ACKs, every TLS handshake and channel open through the tunnel paid ~40 ms. Linux
/// clears the flag again after a while, so it is set before each wait.
fn quick_ack(socket: &TcpStream) {
    let on: libc::c_int = 1;
    // SAFETY: a valid socket and a c_int option value of the right size.
    unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_QUICKACK,
            (&on as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
}

/// Sleeps until either socket is ready (at most 200 ms).
fn wait(local: &TcpStream, ssh: &TcpStream, session: &Session, local_out: bool, local_in: bool) {
    let mut local_events = 0;
    if local_in {
        local_events |= libc::POLLIN;
    }
    if local_out {
        local_events |= libc::POLLOUT;
    }
    let mut ssh_events = libc::POLLIN;
    if matches!(
        session.block_directions(),
        ssh2::BlockDirections::Outbound | ssh2::BlockDirections::Both
    ) {
        ssh_events |= libc::POLLOUT;
    }
    let mut fds = [
        libc::pollfd {
            fd: local.as_raw_fd(),
            events: local_events,
            revents: 0,
        },
        libc::pollfd {
            fd: ssh.as_raw_fd(),
            events: ssh_events,
            revents: 0,
        },
    ];
    // SAFETY: two valid pollfds for the duration of the call.
    unsafe {
        libc::poll(fds.as_mut_ptr(), 2, 200);
    }
}
