//! Services and relations on real services (issue 10): memcached behind twemproxy
//! (nutcracker), a redis primary with replicas as peers, an app on an external endpoint.
//! Units run as the login user on real sshd hosts, each bound to its host's loopback address;
//! every assertion reads the real thing: the memcached/redis protocol, the rendered config,
//! the processes, the unit state files. Each hook also appends `HOOK REMOTE_UNIT` to the
//! unit's hooks.log so the tests can say exactly which hooks fired.

mod common;
#[path = "support/lab_run.rs"]
mod lab_run;
#[path = "support/sshd.rs"]
mod sshd;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Shared by every hook of the test programs: logging, pid files, waiting.
const LIB: &str = r#"
PATH=$PATH:/usr/sbin:/sbin
log() { echo "$YIQIU_HOOK $YIQIU_REMOTE_UNIT" >> "$YIQIU_UNIT_DIR/hooks.log"; }
alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
stop_pid() {
  [ -f "$1" ] || return 0
  p=$(cat "$1"); kill "$p" 2>/dev/null
  i=0; while kill -0 "$p" 2>/dev/null && [ $i -lt "${2:-100}" ]; do sleep 0.05; i=$((i+1)); done
  rm -f "$1"
}
wait_file() { i=0; while [ ! -s "$1" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done; [ -s "$1" ]; }
"#;

/// memcached: provides `cache`.
const MEMCACHE: &[(&str, &str)] = &[
    (
        "start",
        r#"log; . "$YIQIU_CONFIG_SH"
memcached -d -l "$YIQIU_HOST" -p "$YIQIU_PORT" -U 0 -m "$memory_mb" -P "$YIQIU_UNIT_DIR/memcached.pid"
wait_file "$YIQIU_UNIT_DIR/memcached.pid""#,
    ),
    (
        "config-changed",
        r#"log; . "$YIQIU_CONFIG_SH"
if alive "$YIQIU_UNIT_DIR/memcached.pid"; then
  stop_pid "$YIQIU_UNIT_DIR/memcached.pid"
  memcached -d -l "$YIQIU_HOST" -p "$YIQIU_PORT" -U 0 -m "$memory_mb" -P "$YIQIU_UNIT_DIR/memcached.pid"
  wait_file "$YIQIU_UNIT_DIR/memcached.pid"
fi"#,
    ),
    ("stop", r#"log; stop_pid "$YIQIU_UNIT_DIR/memcached.pid""#),
    ("cache-relation-joined", "log"),
    ("cache-relation-changed", "log"),
    ("cache-relation-departed", "log"),
    ("cache-relation-broken", "log"),
];

/// twemproxy: requires `backends`; the pool is the relation's endpoints, restarted on change
/// (nutcracker has no reload).
const TWEMPROXY: &[(&str, &str)] = &[
    (
        "render",
        r#"conf="$YIQIU_UNIT_DIR/nutcracker.yml"
{ echo "pool:"; echo "  listen: $YIQIU_HOST:$YIQIU_PORT"; echo "  hash: murmur"
  echo "  distribution: ketama"; echo "  timeout: 1000"; echo "  servers:"
  for e in $eps; do echo "   - $e:1"; done; } > "$conf.tmp" && mv "$conf.tmp" "$conf"
stop_pid "$YIQIU_UNIT_DIR/nutcracker.pid"
if [ -n "$eps" ]; then
  nutcracker -d -c "$conf" -p "$YIQIU_UNIT_DIR/nutcracker.pid" -o "$YIQIU_UNIT_DIR/nutcracker.log" \
    -s $((YIQIU_PORT + 1)) -a "$YIQIU_HOST"
  wait_file "$YIQIU_UNIT_DIR/nutcracker.pid"
fi"#,
    ),
    ("backends-relation-joined", "log"),
    (
        "backends-relation-changed",
        r#"log; eps=$YIQIU_RELATION_ENDPOINTS; . "$YIQIU_PROGRAM_DIR/hooks/render""#,
    ),
    (
        "backends-relation-departed",
        r#"log; eps=$YIQIU_RELATION_ENDPOINTS; . "$YIQIU_PROGRAM_DIR/hooks/render""#,
    ),
    (
        "backends-relation-broken",
        r#"log; eps=; . "$YIQIU_PROGRAM_DIR/hooks/render""#,
    ),
    ("stop", r#"log; stop_pid "$YIQIU_UNIT_DIR/nutcracker.pid""#),
];

/// memcached that publishes its pool weight (its `weight` config) on the relation; the joined
/// hook publishes a bogus weight and fails once when the unit dir holds `fail-once`.
const WEIGHTED_MEMCACHE: &[(&str, &str)] = &[
    (
        "start",
        r#"log; memcached -d -l "$YIQIU_HOST" -p "$YIQIU_PORT" -U 0 -m 8 -P "$YIQIU_UNIT_DIR/memcached.pid"
wait_file "$YIQIU_UNIT_DIR/memcached.pid""#,
    ),
    ("stop", r#"log; stop_pid "$YIQIU_UNIT_DIR/memcached.pid""#),
    (
        "cache-relation-joined",
        r#"log; . "$YIQIU_CONFIG_SH"
if [ -f "$YIQIU_UNIT_DIR/fail-once" ]; then
  rm -f "$YIQIU_UNIT_DIR/fail-once"; echo "weight=99" > "$YIQIU_RELATION_PUBLISH"; echo nope >&2; exit 4
fi
echo "weight=$weight" > "$YIQIU_RELATION_PUBLISH""#,
    ),
];

/// twemproxy whose pool takes each backend's published weight (1 when none was published).
const WEIGHTED_TWEMPROXY: &[(&str, &str)] = &[
    (
        "backends-relation-changed",
        r#"log; . "$YIQIU_RELATION_SH"; conf="$YIQIU_UNIT_DIR/nutcracker.yml"
{ echo "pool:"; echo "  listen: $YIQIU_HOST:$YIQIU_PORT"; echo "  distribution: ketama"; echo "  servers:"
  i=1; while [ $i -le "$REMOTE_COUNT" ]; do
    eval "h=\$REMOTE_${i}_HOST p=\$REMOTE_${i}_PORT w=\${REMOTE_${i}_WEIGHT:-1}"
    echo "   - $h:$p:$w"; i=$((i+1))
  done; } > "$conf.tmp" && mv "$conf.tmp" "$conf"
stop_pid "$YIQIU_UNIT_DIR/nutcracker.pid"
nutcracker -d -c "$conf" -p "$YIQIU_UNIT_DIR/nutcracker.pid" -o "$YIQIU_UNIT_DIR/nutcracker.log" \
  -s $((YIQIU_PORT + 1)) -a "$YIQIU_HOST"
wait_file "$YIQIU_UNIT_DIR/nutcracker.pid""#,
    ),
    ("stop", r#"log; stop_pid "$YIQIU_UNIT_DIR/nutcracker.pid""#),
];

/// redis: peers `cluster`; the leader is the primary, the others replicate it.
const REDIS: &[(&str, &str)] = &[
    (
        "render",
        r#"d="$YIQIU_UNIT_DIR"
{ echo "bind $YIQIU_HOST"; echo "port $YIQIU_PORT"; echo "daemonize yes"
  echo "pidfile $d/redis.pid"; echo "dir $d"; echo "logfile $d/redis.log"
  echo 'save ""'; echo "appendonly no"; echo "protected-mode no"
  if [ "$YIQIU_IS_LEADER" = false ]; then echo "replicaof $YIQIU_LEADER_HOST $YIQIU_LEADER_PORT"; fi
} > "$d/redis.conf"
if alive "$d/redis.pid"; then
  if [ "$YIQIU_IS_LEADER" = false ]; then
    redis-cli -h "$YIQIU_HOST" -p "$YIQIU_PORT" replicaof "$YIQIU_LEADER_HOST" "$YIQIU_LEADER_PORT" >/dev/null
  else
    redis-cli -h "$YIQIU_HOST" -p "$YIQIU_PORT" replicaof no one >/dev/null
  fi
fi"#,
    ),
    (
        "config-changed",
        r#"log; . "$YIQIU_PROGRAM_DIR/hooks/render""#,
    ),
    (
        "start",
        r#"log; echo "member $YIQIU_MEMBER_ID" >> "$YIQIU_UNIT_DIR/hooks.log"
redis-server "$YIQIU_UNIT_DIR/redis.conf"; wait_file "$YIQIU_UNIT_DIR/redis.pid""#,
    ),
    ("cluster-relation-joined", "log"),
    (
        "cluster-relation-changed",
        r#"log; . "$YIQIU_PROGRAM_DIR/hooks/render""#,
    ),
    (
        "cluster-relation-departed",
        r#"log; . "$YIQIU_PROGRAM_DIR/hooks/render""#,
    ),
    (
        "leader-elected",
        r#"log; . "$YIQIU_PROGRAM_DIR/hooks/render""#,
    ),
    (
        "stop",
        // SIGTERM is redis's own clean shutdown; stop_pid waits until the process is gone
        // (a `shutdown` command would make redis delete its pid file before it exits). A
        // primary waits up to its shutdown-timeout (10 s) for replicas to acknowledge.
        r#"log; stop_pid "$YIQIU_UNIT_DIR/redis.pid" 300"#,
    ),
];

/// app: requires `db` from an external endpoint; its config-changed fails once when the unit
/// dir holds `fail-once`.
const APP: &[(&str, &str)] = &[
    ("install", "log"),
    (
        "upgrade",
        r#"log; echo "from $YIQIU_PREVIOUS_VERSION to $YIQIU_PROGRAM_VERSION" >> "$YIQIU_UNIT_DIR/hooks.log""#,
    ),
    (
        "config-changed",
        r#"log
if [ -f "$YIQIU_UNIT_DIR/fail-once" ]; then rm -f "$YIQIU_UNIT_DIR/fail-once"; echo boom >&2; exit 3; fi
. "$YIQIU_CONFIG_SH"; echo "greeting=$greeting" > "$YIQIU_UNIT_DIR/app.conf""#,
    ),
    ("start", "log"),
    (
        "db-relation-changed",
        r#"log; . "$YIQIU_RELATION_SH"; echo "db=$SERVICE_HOST:$SERVICE_PORT" > "$YIQIU_UNIT_DIR/db.conf""#,
    ),
    (
        "db-relation-broken",
        r#"log; rm -f "$YIQIU_UNIT_DIR/db.conf""#,
    ),
];

fn write_program(home: &Path, name: &str, meta: &str, hooks: &[(&str, &str)]) {
    let dir = home.join("programs").join(name);
    std::fs::create_dir_all(dir.join("hooks")).unwrap();
    std::fs::write(dir.join("yiqiu.yaml"), meta).unwrap();
    std::fs::write(dir.join("hooks/lib.sh"), LIB).unwrap();
    for (hook, body) in hooks {
        let p = dir.join("hooks").join(hook);
        let text = format!("#!/bin/sh\n. \"$YIQIU_PROGRAM_DIR/hooks/lib.sh\"\n{body}\n");
        std::fs::write(&p, text).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

/// A lab of sshd hosts with the programs written and a units root the login user owns. On
/// drop, every process a unit left running (by its pid file) is stopped.
struct Fleet {
    lab: sshd::Lab,
    root: PathBuf,
}

impl Fleet {
    fn new(hosts: usize) -> Fleet {
        let lab = sshd::Lab::new(hosts);
        let mc = "version: 1.6.0\nprovides: {cache: {interface: memcache}}\nconfig: {memory_mb: {default: 8}}\n";
        write_program(&lab.home, "memcache", mc, MEMCACHE);
        let tw = "version: 0.5.0\nrequires: {backends: {interface: memcache}}\n";
        write_program(&lab.home, "twemproxy", tw, TWEMPROXY);
        let rd = "version: 7.0.0\npeers: {cluster: {interface: redis-peers}}\n";
        write_program(&lab.home, "redis", rd, REDIS);
        let wmc = "version: 1.0.0\nprovides: {cache: {interface: memcache}}\nconfig: {weight: {default: 1}}\n";
        write_program(&lab.home, "wmemcache", wmc, WEIGHTED_MEMCACHE);
        write_program(&lab.home, "wtwemproxy", tw, WEIGHTED_TWEMPROXY);
        let app = "version: 1.0.0\nrequires: {db: {interface: mysql}}\nconfig: {greeting: {default: hi}}\n";
        write_program(&lab.home, "app", app, APP);
        let root = lab.user_dir("units");
        Fleet { lab, root }
    }

    /// `groups` is `(group, [(host index, ports)])`; each host gets its own `yiqiu_root`.
    fn inventory(&self, groups: &[(&str, &[(usize, &str)])]) -> String {
        let lines: Vec<String> = self
            .lab
            .inventory(sshd::USER)
            .lines()
            .skip(1)
            .map(str::to_string)
            .collect();
        let mut inv = String::new();
        for (group, members) in groups {
            inv.push_str(&format!("[{group}]\n"));
            for (i, ports) in *members {
                inv.push_str(&format!(
                    "{} yiqiu_root={}/host{i} ports=\"{ports}\"\n",
                    lines[*i],
                    self.root.display()
                ));
            }
        }
        inv
    }

    fn run(&self, inventory: &str, play: &str, args: &[&str]) -> common::Run {
        lab_run::run_args(&self.lab, inventory, play, args, &[])
    }

    fn unit_dir(&self, host: usize, unit: &str) -> PathBuf {
        self.root.join(format!("host{host}")).join(unit)
    }

    fn log(&self, host: usize, unit: &str) -> String {
        std::fs::read_to_string(self.unit_dir(host, unit).join("hooks.log")).unwrap_or_default()
    }

    fn file(&self, host: usize, unit: &str, name: &str) -> String {
        std::fs::read_to_string(self.unit_dir(host, unit).join(name)).unwrap_or_default()
    }

    fn addr(&self, host: usize) -> String {
        self.lab.hosts[host].addr.clone()
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        let _ = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!(
                "find '{}' -name '*.pid' -exec sh -c 'kill $(cat \"$1\") 2>/dev/null' _ {{}} \\;",
                self.root.display()
            ))
            .status();
    }
}

fn play(root: &Path, services: &str, relations: &str) -> String {
    format!(
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - name: converge\n      yiqiu_services:\n        root: {}\n        services: {services}\n        relations: {relations}\n",
        root.display()
    )
}

/// One request/response over the memcached text protocol, read up to `until`.
fn memcached(addr: &str, port: u16, request: &str, until: &[&str]) -> String {
    // A daemon that just (re)started may not listen yet: its pid file comes first.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut s = loop {
        match TcpStream::connect((addr, port)) {
            Ok(s) => break s,
            Err(e) if Instant::now() > deadline => panic!("{addr}:{port}: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    };
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut reader = BufReader::new(s);
    let mut out = String::new();
    let mut line = String::new();
    while reader.read_line(&mut line).unwrap_or(0) > 0 {
        out.push_str(&line);
        if until
            .iter()
            .any(|u| line.trim_end() == *u || line.starts_with(u))
        {
            break;
        }
        line.clear();
    }
    out
}

fn curr_items(addr: &str, port: u16) -> u64 {
    let stats = memcached(addr, port, "stats\r\n", &["END"]);
    stats
        .lines()
        .find_map(|l| l.strip_prefix("STAT curr_items "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no curr_items in {stats}"))
}

fn set_keys(addr: &str, port: u16, prefix: &str, n: usize) {
    for i in 0..n {
        let v = format!("value-{i}");
        let r = memcached(
            addr,
            port,
            &format!("set {prefix}{i} 0 0 {}\r\n{v}\r\n", v.len()),
            &["STORED", "SERVER_ERROR", "ERROR"],
        );
        assert_eq!(r.trim(), "STORED", "set {prefix}{i} through {addr}:{port}");
    }
}

/// How many of the keys read back through the proxy (each reply must be well-formed).
fn get_hits(addr: &str, port: u16, prefix: &str, n: usize) -> usize {
    (0..n)
        .filter(|i| {
            let r = memcached(
                addr,
                port,
                &format!("get {prefix}{i}\r\n"),
                &["END", "SERVER_ERROR"],
            );
            assert!(r.ends_with("END\r\n"), "get {prefix}{i}: {r:?}");
            r.starts_with("VALUE")
        })
        .count()
}

fn servers(conf: &str) -> Vec<String> {
    let mut s: Vec<String> = conf
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- "))
        .map(str::to_string)
        .collect();
    s.sort();
    s
}

fn pid_alive(pid: &str) -> bool {
    Path::new(&format!("/proc/{}", pid.trim())).exists()
}

fn poll(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ok() {
        assert!(Instant::now() < deadline, "never happened: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

const CACHE_SERVICES: &str =
    "{memcache: {program: programs/memcache}, twemproxy: {program: programs/twemproxy}}";

#[test]
fn twemproxy_follows_its_memcached_backends() {
    let f = Fleet::new(3);
    let (mc, tw) = (21211u16, 22121u16);
    let rel = "['twemproxy:backends memcache:cache']";
    let inv = |h0: &str, h1: &str| {
        f.inventory(&[
            ("memcache", &[(0, h0), (1, h1)]),
            ("twemproxy", &[(2, "22121")]),
        ])
    };
    let two = format!("[{mc}, {}]", mc + 1);
    let one = format!("{mc}");
    f.run(&inv(&two, &one), &play(&f.root, CACHE_SERVICES, rel), &[])
        .assert_code(0);
    let backends = |units: &[(usize, u16)]| -> Vec<String> {
        let mut v: Vec<String> = units
            .iter()
            .map(|(h, p)| format!("{}:{p}:1", f.addr(*h)))
            .collect();
        v.sort();
        v
    };
    let conf = f.file(2, "twemproxy_22121", "nutcracker.yml");
    assert_eq!(
        servers(&conf),
        backends(&[(0, mc), (0, mc + 1), (1, mc)]),
        "{conf}"
    );
    let proxy = f.addr(2);
    set_keys(&proxy, tw, "a", 200);
    let items: Vec<u64> = [(0, mc), (0, mc + 1), (1, mc)]
        .iter()
        .map(|(h, p)| curr_items(&f.addr(*h), *p))
        .collect();
    assert!(
        items.iter().all(|n| *n > 0),
        "a backend holds no key: {items:?}\n{conf}\n{}",
        f.file(2, "twemproxy_22121", "nutcracker.log")
    );

    // Check mode plans the 4th unit but deploys and starts nothing.
    let planned = f.unit_dir(1, &format!("memcache_{}", mc + 1));
    f.run(
        &inv(&two, &two),
        &play(&f.root, CACHE_SERVICES, rel),
        &["--check"],
    )
    .assert_code(0);
    assert!(
        !planned.exists(),
        "check mode created {}",
        planned.display()
    );
    assert!(
        TcpStream::connect((f.addr(1).as_str(), mc + 1)).is_err(),
        "check mode started a memcached"
    );

    // A 4th unit joins.
    f.run(&inv(&two, &two), &play(&f.root, CACHE_SERVICES, rel), &[])
        .assert_code(0);
    let log = f.log(2, "twemproxy_22121");
    let new = format!("memcache_{}@host1", mc + 1);
    assert!(
        log.contains(&format!(
            "backends-relation-joined {new}\nbackends-relation-changed {new}\n"
        )),
        "{log}"
    );
    let conf = f.file(2, "twemproxy_22121", "nutcracker.yml");
    assert_eq!(servers(&conf).len(), 4, "{conf}");
    set_keys(&proxy, tw, "b", 200);
    assert!(
        curr_items(&f.addr(1), mc + 1) > 0,
        "the new backend got no key"
    );

    // One leaves: departed, 3 servers, its memcached stopped and its dir gone.
    let gone_dir = f.unit_dir(0, &format!("memcache_{}", mc + 1));
    let pid = std::fs::read_to_string(gone_dir.join("memcached.pid")).unwrap();
    f.run(&inv(&one, &two), &play(&f.root, CACHE_SERVICES, rel), &[])
        .assert_code(0);
    let log = f.log(2, "twemproxy_22121");
    assert!(
        log.contains(&format!(
            "backends-relation-departed memcache_{}@host0",
            mc + 1
        )),
        "{log}"
    );
    let conf = f.file(2, "twemproxy_22121", "nutcracker.yml");
    assert_eq!(
        servers(&conf),
        backends(&[(0, mc), (1, mc), (1, mc + 1)]),
        "{conf}"
    );
    assert!(!pid_alive(&pid), "the removed unit's memcached still runs");
    assert!(!gone_dir.exists(), "the removed unit's dir is still there");
    assert!(
        get_hits(&proxy, tw, "b", 200) > 0,
        "no key reads back through twemproxy"
    );

    // The relation goes: broken on both sides, once.
    f.run(&inv(&one, &two), &play(&f.root, CACHE_SERVICES, "[]"), &[])
        .assert_code(0);
    assert_eq!(
        f.log(2, "twemproxy_22121")
            .matches("backends-relation-broken")
            .count(),
        1
    );
    assert_eq!(
        f.log(0, &format!("memcache_{mc}"))
            .matches("cache-relation-broken")
            .count(),
        1
    );
    assert!(servers(&f.file(2, "twemproxy_22121", "nutcracker.yml")).is_empty());
}

fn redis_cli(addr: &str, port: u16, args: &[&str]) -> String {
    let out = std::process::Command::new("redis-cli")
        .args(["-h", addr, "-p", &port.to_string()])
        .args(args)
        .output()
        .expect("redis-cli (Debian redis-tools) is missing: run .ci/run");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn member_id(f: &Fleet, host: usize, unit: &str) -> u64 {
    let text = f.file(host, unit, ".yiqiu/unit.json");
    let v: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{unit}: {e}: {text}"));
    v["member_id"].as_u64().unwrap()
}

#[test]
fn redis_peers_elect_a_primary_and_replicate() {
    let f = Fleet::new(3);
    let p = 26379u16;
    let services = "{redis: {program: programs/redis}}";
    let inv = |ports: [&str; 3]| {
        f.inventory(&[("redis", &[(0, ports[0]), (1, ports[1]), (2, ports[2])])])
    };
    let base = format!("{p}");
    f.run(
        &inv([&base, &base, &base]),
        &play(&f.root, services, "[]"),
        &[],
    )
    .assert_code(0);
    let unit = format!("redis_{p}");
    assert_eq!([0, 1, 2].map(|h| member_id(&f, h, &unit)), [1, 2, 3]);
    let primary = f.addr(0);
    poll("the primary sees 2 replicas", || {
        redis_cli(&primary, p, &["info", "replication"]).contains("connected_slaves:2")
    });
    redis_cli(&primary, p, &["set", "greeting", "hello"]);
    poll("a replica reads the primary's write", || {
        redis_cli(&f.addr(2), p, &["get", "greeting"]).trim() == "hello"
    });

    // A 4th unit joins as a replica with member id 4.
    let two = format!("[{p}, {}]", p + 1);
    f.run(
        &inv([&two, &base, &base]),
        &play(&f.root, services, "[]"),
        &[],
    )
    .assert_code(0);
    assert_eq!(member_id(&f, 0, &format!("redis_{}", p + 1)), 4);
    poll("the 4th unit replicates", || {
        redis_cli(&primary, p + 1, &["info", "replication"]).contains("role:slave")
            && redis_cli(&primary, p + 1, &["get", "greeting"]).trim() == "hello"
    });

    // Unit 2 leaves and a new one comes: id 5, never 2 again.
    let other = format!("{}", p + 2);
    f.run(
        &inv([&two, &other, &base]),
        &play(&f.root, services, "[]"),
        &[],
    )
    .assert_code(0);
    assert_eq!(member_id(&f, 1, &format!("redis_{}", p + 2)), 5);
    assert!(!f.unit_dir(1, &unit).exists());
    poll("3 replicas again", || {
        redis_cli(&primary, p, &["info", "replication"]).contains("connected_slaves:3")
    });

    // The leader (id 1) leaves: the lowest live id (3, on host2) is elected, becomes the
    // primary, and the other two replicate it.
    let old_pid = f.file(0, &unit, "redis.pid");
    f.run(
        &f.inventory(&[(
            "redis",
            &[(0, &(p + 1).to_string()), (1, &other), (2, &base)],
        )]),
        &play(&f.root, services, "[]"),
        &[],
    )
    .assert_code(0);
    assert!(!pid_alive(&old_pid), "the old leader's redis still runs");
    assert_eq!(member_id(&f, 2, &unit), 3);
    assert!(
        f.log(2, &unit).contains("leader-elected"),
        "{}",
        f.log(2, &unit)
    );
    let leader = f.addr(2);
    poll("the new leader is the primary of 2 replicas", || {
        let info = redis_cli(&leader, p, &["info", "replication"]);
        info.contains("role:master") && info.contains("connected_slaves:2")
    });
    redis_cli(&leader, p, &["set", "greeting", "bonjour"]);
    poll("both replicas read the new primary's write", || {
        redis_cli(&f.addr(0), p + 1, &["get", "greeting"]).trim() == "bonjour"
            && redis_cli(&f.addr(1), p + 2, &["get", "greeting"]).trim() == "bonjour"
    });
}

#[test]
fn config_layers_upgrades_external_endpoints_and_a_failing_hook() {
    let f = Fleet::new(2);
    let a = 28080u16;
    let services = |greeting: &str| {
        format!("{{app: {{program: programs/app, config: {{greeting: {greeting}}}}}, legacy-db: {{external: {{interface: mysql, data: {{host: db.example.com, port: 3306}}}}}}}}")
    };
    let rel = "['app:db legacy-db']";
    let port = format!("{a}");
    let inv = |h0: &str| f.inventory(&[("app", &[(0, h0), (1, &port)])]);
    let unit = format!("app_{a}");
    f.run(&inv(&port), &play(&f.root, &services("hello"), rel), &[])
        .assert_code(0);
    for h in [0, 1] {
        assert_eq!(f.file(h, &unit, "db.conf"), "db=db.example.com:3306\n");
        assert_eq!(f.file(h, &unit, "app.conf"), "greeting=hello\n");
    }
    let count = |h: usize, hook: &str| {
        f.log(h, &unit)
            .lines()
            .filter(|l| l.starts_with(hook))
            .count()
    };

    // Service layer: both units. Unit layer: only that one.
    f.run(&inv(&port), &play(&f.root, &services("hey"), rel), &[])
        .assert_code(0);
    assert_eq!(
        [count(0, "config-changed"), count(1, "config-changed")],
        [2, 2]
    );
    // An INI value is a Python literal.
    let unit_layer = format!("[{{'port': {a}, 'config': {{'greeting': 'yo'}}}}]");
    f.run(
        &inv(&unit_layer),
        &play(&f.root, &services("hey"), rel),
        &[],
    )
    .assert_code(0);
    assert_eq!(
        [count(0, "config-changed"), count(1, "config-changed")],
        [3, 2]
    );
    assert_eq!(f.file(0, &unit, "app.conf"), "greeting=yo\n");

    // A hook that fails once: the task fails with the hook, code and output; the next run
    // retries it and commits; then nothing fires.
    std::fs::write(f.unit_dir(1, &unit).join("fail-once"), "").unwrap();
    let meta = f.lab.home.join("programs/app/yiqiu.yaml");
    let text = std::fs::read_to_string(&meta)
        .unwrap()
        .replace("version: 1.0.0", "version: 1.1.0");
    std::fs::write(&meta, text).unwrap();
    let run = f.run(
        &inv(&unit_layer),
        &play(&f.root, &services("hey"), rel),
        &[],
    );
    run.assert_code(2);
    run.out_contains("hook config-changed exited 3: boom");
    run.assert_recap("host1", "failed=1");
    run.assert_recap("host0", "failed=0 changed=1");
    let log0 = f.log(0, &unit);
    assert!(
        log0.ends_with("upgrade \nfrom 1.0.0 to 1.1.0\nconfig-changed \n"),
        "{log0}"
    );
    let state = f.file(1, &unit, ".yiqiu/unit.json");
    assert!(state.contains("\"pending\":\"config-changed\""), "{state}");
    let run = f.run(
        &inv(&unit_layer),
        &play(&f.root, &services("hey"), rel),
        &[],
    );
    run.assert_code(0);
    assert!(f
        .log(1, &unit)
        .ends_with("config-changed \nconfig-changed \n"));
    let logs = [f.log(0, &unit), f.log(1, &unit)];
    let run = f.run(
        &inv(&unit_layer),
        &play(&f.root, &services("hey"), rel),
        &[],
    );
    run.assert_recap("host0", "changed=0");
    run.assert_recap("host1", "changed=0");
    assert_eq!(
        [f.log(0, &unit), f.log(1, &unit)],
        logs,
        "an unchanged topology fired a hook"
    );
    // Check mode on a changed topology: the plan, nothing fired.
    let run = f.run(
        &inv(&unit_layer),
        &play(&f.root, &services("bye"), "[]"),
        &["--check"],
    );
    run.out_contains(&format!("app_{a}@host1: config-changed: config: greeting \\\"hey\\\" -> \\\"bye\\\" (service config)"));
    run.out_contains(&format!(
        "app_{a}@host1: db-relation-broken: relation removed"
    ));
    assert_eq!(
        [f.log(0, &unit), f.log(1, &unit)],
        logs,
        "check mode fired a hook"
    );
    assert_eq!(f.file(1, &unit, "db.conf"), "db=db.example.com:3306\n");
    let mut buf = String::new();
    let _ = std::fs::File::open(f.unit_dir(1, &unit).join("app.conf"))
        .and_then(|mut h| h.read_to_string(&mut buf));
    assert_eq!(buf, "greeting=hey\n");
}

#[test]
fn published_data_reaches_the_other_side_only_from_a_hook_that_succeeded() {
    let f = Fleet::new(2);
    let (mc, tw) = (23211u16, 24121u16);
    let services = |w: u32| {
        format!("{{memcache: {{program: programs/wmemcache, config: {{weight: {w}}}}}, twemproxy: {{program: programs/wtwemproxy}}}}")
    };
    let ports = format!("[{mc}, {}]", mc + 1);
    let inv = f.inventory(&[
        ("memcache", &[(0, &ports)]),
        ("twemproxy", &[(1, &tw.to_string())]),
    ]);
    let rel = "['twemproxy:backends memcache:cache']";
    f.run(&inv, &play(&f.root, &services(3), "[]"), &[])
        .assert_code(0);

    // The relation comes; one backend's joined hook publishes 99 and fails: its data is not
    // committed, so the proxy's pool has the default weight for it.
    let failing = format!("memcache_{}", mc + 1);
    std::fs::write(f.unit_dir(0, &failing).join("fail-once"), "").unwrap();
    let run = f.run(&inv, &play(&f.root, &services(3), rel), &[]);
    run.assert_code(2);
    run.out_contains("hook cache-relation-joined exited 4: nope");
    let addr = f.addr(0);
    let pool = || servers(&f.file(1, &format!("twemproxy_{tw}"), "nutcracker.yml"));
    assert_eq!(
        pool(),
        [format!("{addr}:{mc}:3"), format!("{addr}:{}:1", mc + 1)]
    );
    let published = |unit: &str| -> Vec<serde_json::Value> {
        let text = f.file(0, unit, ".yiqiu/unit.json");
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        v["relations"]
            .as_object()
            .map(|r| r.values().map(|rs| rs["published"].clone()).collect())
            .unwrap_or_default()
    };
    let committed: Vec<serde_json::Value> = published(&failing)
        .into_iter()
        .filter(|p| p.as_object().is_some_and(|o| !o.is_empty()))
        .collect();
    assert!(
        committed.is_empty(),
        "a failed hook's data was committed: {committed:?}"
    );

    // The next run retries the hook first; its data reaches the proxy in the same run.
    f.run(&inv, &play(&f.root, &services(3), rel), &[])
        .assert_code(0);
    let expected = [format!("{addr}:{mc}:3"), format!("{addr}:{}:3", mc + 1)];
    assert_eq!(pool(), expected);
    assert_eq!(published(&failing), [serde_json::json!({"weight": "3"})]);
    let pid = f.file(1, &format!("twemproxy_{tw}"), "nutcracker.pid");
    assert!(pid_alive(&pid), "nutcracker is not running");
    let proxy = f.addr(1);
    set_keys(&proxy, tw, "w", 50);
    assert_eq!(
        get_hits(&proxy, tw, "w", 50),
        50,
        "keys do not read back through the pool"
    );
}
