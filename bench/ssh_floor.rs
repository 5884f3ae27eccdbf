//! The floor for a fleet run: for every host, one SSH connection (TCP_NODELAY, public key,
//! host key checked against known_hosts) and then N trivial `exec` round trips on it, hosts
//! spread over F worker threads. No playbook runner can reach the hosts faster than this, so
//! `bench/fleet.sh` compares yiqiu-play's wall time with it.
//!
//! Configured by environment (set by `bench/fleet.sh`); with no hosts given it says so and
//! exits 0, so `cargo bench` without a fleet is harmless:
//!   FLOOR_HOSTS        comma-separated addresses (required)
//!   FLOOR_PORT         port (22)
//!   FLOOR_USER         login user ($USER)
//!   FLOOR_KEY          private key file (required)
//!   FLOOR_KNOWN_HOSTS  known_hosts file (required: host keys are always checked)
//!   FLOOR_EXECS        round trips per host (17)
//!   FLOOR_FORKS        worker threads (10)
//!   FLOOR_COMMAND      the command each round trip runs (`true`)
//!
//! Prints one line: `floor_ms=<wall> hosts=<n> execs_per_host=<n> forks=<n> failures=<n>
//! connect_ms_avg=<per host> exec_ms_avg=<per round trip>`.

use ssh2::{CheckResult, KnownHostFileKind, Session};
use std::io::Read;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

struct Config {
    hosts: Vec<String>,
    port: u16,
    user: String,
    key: PathBuf,
    known_hosts: PathBuf,
    execs: usize,
    forks: usize,
    command: String,
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

fn parse_num<T: std::str::FromStr>(name: &str, default: T) -> Result<T, String> {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .map_err(|_| format!("{name}={v:?} is not a number")),
        Err(_) => Ok(default),
    }
}

fn config() -> Result<Option<Config>, String> {
    let hosts: Vec<String> = env_or("FLOOR_HOSTS", "")
        .split(',')
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .map(String::from)
        .collect();
    if hosts.is_empty() {
        return Ok(None);
    }
    let key = std::env::var("FLOOR_KEY").map_err(|_| "FLOOR_KEY is required".to_string())?;
    let known_hosts = std::env::var("FLOOR_KNOWN_HOSTS")
        .map_err(|_| "FLOOR_KNOWN_HOSTS is required".to_string())?;
    Ok(Some(Config {
        hosts,
        port: parse_num("FLOOR_PORT", 22)?,
        user: env_or("FLOOR_USER", &env_or("USER", "root")),
        key: key.into(),
        known_hosts: known_hosts.into(),
        execs: parse_num("FLOOR_EXECS", 17)?,
        forks: parse_num::<usize>("FLOOR_FORKS", 10)?.max(1),
        command: env_or("FLOOR_COMMAND", "true"),
    }))
}

fn connect(cfg: &Config, host: &str) -> Result<Session, String> {
    let tcp = TcpStream::connect((host, cfg.port)).map_err(|e| format!("{host}: connect: {e}"))?;
    // Each round trip is a few small packets; Nagle would add delayed-ACK stalls to each.
    tcp.set_nodelay(true)
        .map_err(|e| format!("{host}: TCP_NODELAY: {e}"))?;
    let mut sess = Session::new().map_err(|e| format!("{host}: {e}"))?;
    sess.set_tcp_stream(tcp);
    sess.set_timeout(30_000);
    sess.handshake()
        .map_err(|e| format!("{host}: handshake: {e}"))?;
    check_host_key(&sess, host, cfg.port, &cfg.known_hosts)?;
    sess.userauth_pubkey_file(&cfg.user, None, &cfg.key, None)
        .map_err(|e| format!("{host}: public key auth as {}: {e}", cfg.user))?;
    Ok(sess)
}

fn check_host_key(sess: &Session, host: &str, port: u16, known_hosts: &Path) -> Result<(), String> {
    let mut kh = sess.known_hosts().map_err(|e| format!("{host}: {e}"))?;
    kh.read_file(known_hosts, KnownHostFileKind::OpenSSH)
        .map_err(|e| format!("{}: {e}", known_hosts.display()))?;
    let (key, _) = sess
        .host_key()
        .ok_or_else(|| format!("{host}: the server sent no host key"))?;
    match kh.check_port(host, port, key) {
        CheckResult::Match => Ok(()),
        CheckResult::Mismatch => Err(format!(
            "{host}: host key MISMATCH with {}",
            known_hosts.display()
        )),
        CheckResult::NotFound => Err(format!("{host}: host key not in {}", known_hosts.display())),
        CheckResult::Failure => Err(format!("{host}: host key check failed")),
    }
}

fn exec(sess: &Session, host: &str, command: &str) -> Result<(), String> {
    let mut ch = sess
        .channel_session()
        .map_err(|e| format!("{host}: channel: {e}"))?;
    ch.exec(command).map_err(|e| format!("{host}: exec: {e}"))?;
    let mut sink = Vec::new();
    ch.read_to_end(&mut sink)
        .map_err(|e| format!("{host}: read: {e}"))?;
    ch.wait_close().map_err(|e| format!("{host}: close: {e}"))?;
    match ch.exit_status() {
        Ok(0) => Ok(()),
        Ok(rc) => Err(format!("{host}: {command:?} exited {rc}")),
        Err(e) => Err(format!("{host}: exit status: {e}")),
    }
}

/// Time spent connecting and running, summed over hosts, to tell the two costs apart.
#[derive(Default)]
struct Spent {
    connect: Duration,
    exec: Duration,
}

fn run_host(cfg: &Config, host: &str, spent: &Mutex<Spent>) -> Result<(), String> {
    let t0 = Instant::now();
    let sess = connect(cfg, host)?;
    let t1 = Instant::now();
    for _ in 0..cfg.execs {
        exec(&sess, host, &cfg.command)?;
    }
    let t2 = Instant::now();
    let _ = sess.disconnect(None, "done", None);
    let mut s = spent.lock().unwrap_or_else(|p| p.into_inner());
    s.connect += t1 - t0;
    s.exec += t2 - t1;
    Ok(())
}

fn main() {
    let cfg = match config() {
        Ok(Some(c)) => c,
        Ok(None) => {
            println!("ssh_floor: FLOOR_HOSTS is not set; nothing to measure (run bench/fleet.sh)");
            return;
        }
        Err(e) => {
            eprintln!("ssh_floor: {e}");
            std::process::exit(2);
        }
    };
    let next = AtomicUsize::new(0);
    let errors = Mutex::new(Vec::new());
    let spent = Mutex::new(Spent::default());
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..cfg.forks.min(cfg.hosts.len()) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(host) = cfg.hosts.get(i) else { break };
                if let Err(e) = run_host(&cfg, host, &spent) {
                    errors.lock().unwrap_or_else(|p| p.into_inner()).push(e);
                }
            });
        }
    });
    let wall: Duration = start.elapsed();
    let errors = errors.into_inner().unwrap_or_else(|p| p.into_inner());
    for e in &errors {
        eprintln!("ssh_floor: {e}");
    }
    let spent = spent.into_inner().unwrap_or_else(|p| p.into_inner());
    let ok_hosts = (cfg.hosts.len() - errors.len()).max(1) as f64;
    println!(
        "floor_ms={:.1} hosts={} execs_per_host={} forks={} failures={} connect_ms_avg={:.2} exec_ms_avg={:.2}",
        wall.as_secs_f64() * 1000.0,
        cfg.hosts.len(),
        cfg.execs,
        cfg.forks,
        errors.len(),
        spent.connect.as_secs_f64() * 1000.0 / ok_hosts,
        spent.exec.as_secs_f64() * 1000.0 / (ok_hosts * cfg.execs.max(1) as f64),
    );
    if !errors.is_empty() {
        std::process::exit(1);
    }
}
