//! `wait_for`: waits for a port to open, close or drain, or for a file to appear, disappear
//! or contain a pattern.
//!
//! Without `search_regex` the whole wait is one POSIX sh loop on the host (one round trip).
//! A port probe uses `nc -z`, else bash's `/dev/tcp` under `timeout`, else (for ports on
//! this host only) the LISTEN entries of `/proc/net/tcp{,6}`. With `search_regex` the text
//! is fetched each round and matched on the controller, because the pattern is a Python
//! regex (named groups, `re.MULTILINE`), which no POSIX tool speaks.

use crate::connection::quote;
use crate::modules::util::{self, map};
use crate::modules::{ArgKind, ArgSpec, Args, Module, ModuleContext, ModuleError, ModuleResult};
use serde_json::{Map, Value};
use std::time::{Duration, Instant};

pub struct WaitFor;

const SPEC: &[ArgSpec] = &[
    ArgSpec::new("host", ArgKind::Str),
    ArgSpec::new("timeout", ArgKind::Int),
    ArgSpec::new("connect_timeout", ArgKind::Int),
    ArgSpec::new("delay", ArgKind::Int),
    ArgSpec::new("port", ArgKind::Int),
    ArgSpec::new("active_connection_states", ArgKind::List),
    ArgSpec::new("state", ArgKind::Str)
        .choices(&["absent", "drained", "present", "started", "stopped"]),
    ArgSpec::new("path", ArgKind::Path),
    ArgSpec::new("search_regex", ArgKind::Str),
    ArgSpec::new("exclude_hosts", ArgKind::List),
    ArgSpec::new("sleep", ArgKind::Int),
    ArgSpec::new("msg", ArgKind::Str),
];

const MARK_OK: &str = "@@yiqiu:ok";
const MARK_TIMEOUT: &str = "@@yiqiu:timeout";

/// `/proc/net/tcp` state codes by Ansible's names.
fn tcp_state_code(name: &str) -> Option<&'static str> {
    Some(match name {
        "ESTABLISHED" => "01",
        "SYN_SENT" => "02",
        "SYN_RECV" => "03",
        "FIN_WAIT1" => "04",
        "FIN_WAIT2" => "05",
        "TIME_WAIT" => "06",
        "CLOSE" => "07",
        "CLOSE_WAIT" => "08",
        "LAST_ACK" => "09",
        "LISTEN" => "0A",
        "CLOSING" => "0B",
        _ => return None,
    })
}

/// Shell text succeeding when `/proc/net/tcp{,6}` has an entry on local `port` whose state
/// code is one of `codes` (space separated) and whose remote address is not in `exclude`
/// (kernel hex spellings, space separated).
fn proc_tcp_test(port: u16, codes: &str, exclude: &str) -> String {
    format!(
        "awk -v p={:04X} -v s={} -v x={} 'FNR > 1 {{ n = split($2, a, \":\"); split($3, r, \":\"); \
         if (a[n] == p && index(\" \" s \" \", \" \" $4 \" \") && !index(\" \" x \" \", \" \" r[1] \" \")) f = 1 }} \
         END {{ exit !f }}' /proc/net/tcp /proc/net/tcp6 2>/dev/null",
        port,
        quote(codes),
        quote(exclude)
    )
}

/// How `/proc/net/tcp{,6}` spells an address: IPv4 as one little-endian word, IPv6 as four.
fn kernel_hex(host: &str) -> Option<String> {
    match host.parse::<std::net::IpAddr>().ok()? {
        std::net::IpAddr::V4(v4) => Some(format!("{:08X}", u32::from_le_bytes(v4.octets()))),
        std::net::IpAddr::V6(v6) => Some(
            v6.octets()
                .chunks(4)
                .map(|c| format!("{:08X}", u32::from_le_bytes([c[0], c[1], c[2], c[3]])))
                .collect(),
        ),
    }
}

/// A shell function `__yq_probe` succeeding when `host:port` accepts a connection.
fn probe_fn(host: &str, port: u16, connect_timeout: i64) -> String {
    let (h, p, ct) = (quote(host), port, connect_timeout.max(1));
    let local = matches!(host, "127.0.0.1" | "localhost" | "0.0.0.0" | "::1" | "::");
    let last = if local {
        proc_tcp_test(port, "0A", "")
    } else {
        "false".to_string()
    };
    format!(
        "__yq_probe() {{\n  if command -v nc >/dev/null 2>&1; then nc -z -w {ct} {h} {p} >/dev/null 2>&1\n  \
         elif command -v bash >/dev/null 2>&1 && command -v timeout >/dev/null 2>&1; then \
         timeout {ct} bash -c 'exec 3<>\"/dev/tcp/$0/$1\"' {h} {p} 2>/dev/null\n  \
         else {last}\n  fi\n}}\n"
    )
}

/// Shell text that prints what a port sends within `connect_timeout` (for `search_regex`).
fn banner_script(host: &str, port: u16, connect_timeout: i64) -> String {
    let (h, ct) = (quote(host), connect_timeout.max(1));
    format!(
        "if command -v nc >/dev/null 2>&1; then nc -w {ct} {h} {port} </dev/null 2>/dev/null\n\
         elif command -v bash >/dev/null 2>&1 && command -v timeout >/dev/null 2>&1; then \
         timeout {ct} bash -c 'exec 3<>\"/dev/tcp/$0/$1\" && cat <&3' {h} {port} 2>/dev/null\n\
         else exit 3; fi\nexit 0\n"
    )
}

/// What is waited for.
enum Target {
    Sleep,
    PathPresent(String),
    PathAbsent(String),
    PortStarted,
    PortStopped,
    Drained,
}

struct Plan {
    host: String,
    port: Option<u16>,
    timeout: i64,
    delay: i64,
    sleep: i64,
    connect_timeout: i64,
    target: Target,
}

impl Plan {
    fn timeout_msg(&self, regex: Option<&str>) -> String {
        let hp = format!("{}:{}", self.host, self.port.unwrap_or(0));
        match (&self.target, regex) {
            (Target::PathPresent(p), Some(r)) => {
                format!("Timeout when waiting for search string {r} in {p}")
            }
            (Target::PathPresent(p), None) => format!("Timeout when waiting for file {p}"),
            (Target::PathAbsent(p), _) => format!("Timeout when waiting for {p} to be absent."),
            (Target::PortStarted, Some(r)) => {
                format!("Timeout when waiting for search string {r} in {hp}")
            }
            (Target::PortStarted, None) | (Target::Sleep, _) => {
                format!("Timeout when waiting for {hp}")
            }
            (Target::PortStopped, _) => format!("Timeout when waiting for {hp} to stop."),
            (Target::Drained, _) => format!("Timeout when waiting for {hp} to drain"),
        }
    }

    /// The loop as one sh script: prints `MARK_OK <elapsed>` (and, for a present path, its
    /// attributes) or `MARK_TIMEOUT <elapsed>`.
    fn script(&self, states: &str, exclude: &str) -> String {
        let port = self.port.unwrap_or(0);
        let (prelude, test) = match &self.target {
            Target::Sleep => (String::new(), "false".to_string()),
            Target::PathPresent(p) => (String::new(), format!("test -e {}", util::shell_path(p))),
            Target::PathAbsent(p) => (String::new(), format!("! test -e {}", util::shell_path(p))),
            Target::PortStarted => (
                probe_fn(&self.host, port, self.connect_timeout),
                "__yq_probe".into(),
            ),
            Target::PortStopped => (
                probe_fn(&self.host, port, self.connect_timeout),
                "! __yq_probe".into(),
            ),
            Target::Drained => (
                String::new(),
                format!("! {}", proc_tcp_test(port, states, exclude)),
            ),
        };
        let attrs = match &self.target {
            Target::PathPresent(p) => {
                format!("; {} 2>/dev/null", util::attrs_script(&util::shell_path(p)))
            }
            _ => String::new(),
        };
        let ok = if matches!(self.target, Target::Sleep) {
            // Ansible just sleeps for `timeout` and succeeds.
            format!("sleep {t}; echo {MARK_OK} {t}; exit 0\n", t = self.timeout)
        } else {
            String::new()
        };
        format!(
            "{prelude}__yq_s=$(date +%s)\n{ok}sleep {delay}\nwhile :; do\n  \
             __yq_e=$(( $(date +%s) - __yq_s ))\n  \
             if {test}; then echo {MARK_OK} $__yq_e{attrs}; exit 0; fi\n  \
             [ \"$__yq_e\" -ge {timeout} ] && {{ echo {MARK_TIMEOUT} $__yq_e; exit 1; }}\n  \
             sleep {sleep}\ndone\n",
            delay = self.delay,
            timeout = self.timeout,
            sleep = self.sleep,
        )
    }
}

fn base_result(plan: &Plan, args: &Args, elapsed: i64) -> Map<String, Value> {
    let state = args.str("state").unwrap_or("started");
    map([
        ("changed", Value::Bool(false)),
        ("elapsed", Value::from(elapsed)),
        ("match_groupdict", Value::Object(Map::new())),
        ("match_groups", Value::Array(Vec::new())),
        (
            "path",
            args.str("path")
                .map_or(Value::Null, |p| Value::String(p.into())),
        ),
        ("port", plan.port.map_or(Value::Null, Value::from)),
        (
            "search_regex",
            args.str("search_regex")
                .map_or(Value::Null, |r| Value::String(r.into())),
        ),
        ("state", Value::String(state.into())),
    ])
}

fn timeout_failure(plan: &Plan, args: &Args, elapsed: i64) -> ModuleError {
    let msg = args
        .string("msg")
        .unwrap_or_else(|| plan.timeout_msg(args.str("search_regex")));
    ModuleError::Failed(map([
        ("changed", Value::Bool(false)),
        ("elapsed", Value::from(elapsed)),
        ("msg", Value::String(msg)),
    ]))
}

/// Python's `match.groups()` and `match.groupdict()` for the first match of `re` in `text`.
fn match_result(re: &regex::Regex, text: &str) -> Option<(Value, Value)> {
    let caps = re.captures(text)?;
    let groups = (1..caps.len())
        .map(|i| {
            caps.get(i)
                .map_or(Value::Null, |m| Value::String(m.as_str().into()))
        })
        .collect();
    let dict = re
        .capture_names()
        .flatten()
        .map(|n| {
            let v = caps
                .name(n)
                .map_or(Value::Null, |m| Value::String(m.as_str().into()));
            (n.to_string(), v)
        })
        .collect();
    Some((Value::Array(groups), Value::Object(dict)))
}

impl WaitFor {
    fn parse(args: &Args) -> Result<Plan, ModuleError> {
        let state = args.str("state").unwrap_or("started");
        let port = match args.int("port") {
            Some(p) => Some(u16::try_from(p).map_err(|_| {
                ModuleError::msg(format!("port must be between 0 and 65535, got {p}"))
            })?),
            None => None,
        };
        let path = args.str("path").map(str::to_string);
        if port.is_some() && path.is_some() {
            return Err(ModuleError::msg(
                "port and path parameter can not both be passed to wait_for",
            ));
        }
        if path.is_some() && state == "stopped" {
            return Err(ModuleError::msg(
                "state=stopped should only be used for checking a port in the wait_for module",
            ));
        }
        if path.is_some() && state == "drained" {
            return Err(ModuleError::msg(
                "state=drained should only be used for checking a port in the wait_for module",
            ));
        }
        if args.get("exclude_hosts").is_some() && state != "drained" {
            return Err(ModuleError::msg(
                "exclude_hosts should only be with state=drained",
            ));
        }
        let target = match (path, state) {
            (Some(p), "absent") => Target::PathAbsent(p),
            (Some(p), _) => Target::PathPresent(p),
            (None, "drained") => Target::Drained,
            (None, _) if port.is_none() => Target::Sleep,
            (None, "stopped" | "absent") => Target::PortStopped,
            (None, _) => Target::PortStarted,
        };
        if matches!(target, Target::Drained) && port.is_none() {
            return Err(ModuleError::msg("state=drained needs a port"));
        }
        Ok(Plan {
            host: args.string("host").unwrap_or_else(|| "127.0.0.1".into()),
            port,
            timeout: args.int("timeout").unwrap_or(300).max(0),
            delay: args.int("delay").unwrap_or(0).max(0),
            sleep: args.int("sleep").unwrap_or(1).max(0),
            connect_timeout: args.int("connect_timeout").unwrap_or(5),
            target,
        })
    }

    /// `search_regex`: fetch the file or banner each round, match on the controller.
    fn run_regex(plan: &Plan, args: &Args, pattern: &str, ctx: &mut ModuleContext) -> ModuleResult {
        let re = regex::Regex::new(&format!("(?m){pattern}"))
            .map_err(|e| ModuleError::msg(format!("invalid search_regex {pattern:?}: {e}")))?;
        let script = match &plan.target {
            Target::PathPresent(p) => {
                let q = util::shell_path(p);
                format!(
                    "test -e {q} || exit 3\n{} || exit 3\ncat {q} 2>/dev/null\nexit 0\n",
                    util::attrs_script(&q)
                )
            }
            _ => banner_script(&plan.host, plan.port.unwrap_or(0), plan.connect_timeout),
        };
        let start = Instant::now();
        std::thread::sleep(Duration::from_secs(plan.delay as u64));
        let deadline = Duration::from_secs(plan.timeout as u64);
        loop {
            let out = util::exec_script(ctx, script.clone())?;
            let elapsed = start.elapsed().as_secs() as i64;
            if out.rc == 0 {
                let text = util::text(&out.stdout);
                let (attrs, body) = match plan.target {
                    Target::PathPresent(_) => match text.split_once('\n') {
                        Some((a, b)) => (util::parse_attrs(a), b.to_string()),
                        None => (util::parse_attrs(&text), String::new()),
                    },
                    _ => (None, text),
                };
                if let Some((groups, dict)) = match_result(&re, &body) {
                    let mut res = base_result(plan, args, elapsed);
                    res.insert("match_groups".into(), groups);
                    res.insert("match_groupdict".into(), dict);
                    res.extend(attrs.unwrap_or_default());
                    res.sort_keys();
                    return Ok(res);
                }
            }
            if start.elapsed() >= deadline {
                return Err(timeout_failure(plan, args, elapsed));
            }
            std::thread::sleep(Duration::from_secs(plan.sleep as u64));
        }
    }
}

impl Module for WaitFor {
    fn name(&self) -> &'static str {
        "wait_for"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        SPEC
    }
    fn run(&self, args: &Args, ctx: &mut ModuleContext) -> ModuleResult {
        if ctx.check_mode {
            return Ok(util::check_mode_unsupported("wait_for"));
        }
        let plan = Self::parse(args)?;
        if let Some(pattern) = args.str("search_regex") {
            if matches!(plan.target, Target::PathPresent(_) | Target::PortStarted) {
                return Self::run_regex(&plan, args, pattern, ctx);
            }
        }
        let states: Vec<&str> = match args.list("active_connection_states") {
            Some(l) => l.iter().filter_map(Value::as_str).collect(),
            None => vec![
                "ESTABLISHED",
                "FIN_WAIT1",
                "FIN_WAIT2",
                "SYN_RECV",
                "SYN_SENT",
                "TIME_WAIT",
            ],
        };
        let mut codes = Vec::new();
        for s in states {
            codes.push(tcp_state_code(s).ok_or_else(|| {
                ModuleError::msg(format!("unknown active_connection_states entry: {s}"))
            })?);
        }
        // Connections from these hosts do not keep a port from draining (addresses only;
        // IPv4 ones also in their IPv6-mapped spelling).
        let mut exclude = Vec::new();
        for h in args.list("exclude_hosts").into_iter().flatten() {
            let h = h.as_str().unwrap_or_default();
            let hex = kernel_hex(h).ok_or_else(|| {
                ModuleError::msg(format!("exclude_hosts: '{h}' is not an IP address"))
            })?;
            exclude.push(hex);
            if let Some(mapped) = h
                .parse::<std::net::Ipv4Addr>()
                .ok()
                .and_then(|v4| kernel_hex(&v4.to_ipv6_mapped().to_string()))
            {
                exclude.push(mapped);
            }
        }
        let out = util::exec_script(ctx, plan.script(&codes.join(" "), &exclude.join(" ")))?;
        let stdout = util::text(&out.stdout);
        let mut lines = stdout.lines();
        let first = lines.next().unwrap_or_default();
        let elapsed = |mark: &str| {
            first
                .strip_prefix(mark)
                .and_then(|r| r.trim().parse::<i64>().ok())
        };
        if let Some(e) = elapsed(MARK_OK) {
            let mut res = base_result(&plan, args, e);
            if let Some(attrs) = lines.next().and_then(util::parse_attrs) {
                res.extend(attrs);
                res.sort_keys();
            }
            return Ok(res);
        }
        if let Some(e) = elapsed(MARK_TIMEOUT) {
            return Err(timeout_failure(&plan, args, e));
        }
        Err(ModuleError::msg(format!(
            "wait_for could not run its check on the host (rc {}): {}",
            out.rc,
            util::text(&out.stderr).trim()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::util::test_support::{failed, run};
    use serde_json::json;
    use std::net::TcpListener;

    #[test]
    fn port_started_and_stopped() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let r = run(&WaitFor, json!({"port": port, "timeout": 10})).unwrap();
        assert_eq!(r["port"], json!(port));
        assert_eq!(r["state"], json!("started"));
        assert_eq!(r["path"], json!(null));
        assert_eq!(r["match_groups"], json!([]));
        let m = failed(run(
            &WaitFor,
            json!({"port": port, "state": "stopped", "timeout": 1}),
        ));
        assert_eq!(
            m["msg"],
            json!(format!(
                "Timeout when waiting for 127.0.0.1:{port} to stop."
            ))
        );
        drop(l);
        let r = run(
            &WaitFor,
            json!({"port": port, "state": "stopped", "timeout": 10}),
        )
        .unwrap();
        assert_eq!(r["state"], json!("stopped"));
        let m = failed(run(
            &WaitFor,
            json!({"port": port, "timeout": 1, "sleep": 1}),
        ));
        assert_eq!(
            m["msg"],
            json!(format!("Timeout when waiting for 127.0.0.1:{port}"))
        );
        assert!(m["elapsed"].as_i64().unwrap() >= 1);
        let m = failed(run(
            &WaitFor,
            json!({"port": port, "timeout": 0, "msg": "custom"}),
        ));
        assert_eq!(m["msg"], json!("custom"));
    }

    #[test]
    fn banner_regex_on_port() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            use std::io::Write;
            if let Ok((mut s, _)) = l.accept() {
                let _ = s.write_all(b"SSH-2.0-Test_9\r\n");
            }
        });
        let r = run(
            &WaitFor,
            json!({"port": port, "search_regex": "SSH-(?P<v>[0-9.]+)", "timeout": 10, "connect_timeout": 2}),
        )
        .unwrap();
        assert_eq!(r["match_groups"], json!(["2.0"]));
        assert_eq!(r["match_groupdict"], json!({"v": "2.0"}));
        server.join().unwrap();
    }

    #[test]
    fn path_present_absent_and_regex() {
        let t = tempfile::tempdir().unwrap();
        let f = t.path().join("it's here");
        let f2 = f.clone();
        let writer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            std::fs::write(&f2, "hello\nworld 42\n").unwrap();
        });
        let p = f.to_str().unwrap();
        let r = run(&WaitFor, json!({"path": p, "timeout": 20})).unwrap();
        writer.join().unwrap();
        assert_eq!(r["path"], json!(p));
        assert_eq!(r["state"], json!("file"));
        assert_eq!(r["size"], json!(15));
        let r = run(
            &WaitFor,
            json!({"path": p, "search_regex": "^world (?P<n>\\d+)$", "timeout": 5}),
        )
        .unwrap();
        assert_eq!(r["match_groups"], json!(["42"]));
        assert_eq!(r["match_groupdict"], json!({"n": "42"}));
        let m = failed(run(
            &WaitFor,
            json!({"path": p, "search_regex": "nope", "timeout": 0}),
        ));
        assert_eq!(
            m["msg"],
            json!(format!(
                "Timeout when waiting for search string nope in {p}"
            ))
        );
        let m = failed(run(
            &WaitFor,
            json!({"path": p, "state": "absent", "timeout": 0}),
        ));
        assert_eq!(
            m["msg"],
            json!(format!("Timeout when waiting for {p} to be absent."))
        );
        let f3 = f.clone();
        let remover = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            std::fs::remove_file(&f3).unwrap();
        });
        let r = run(
            &WaitFor,
            json!({"path": p, "state": "absent", "timeout": 20}),
        )
        .unwrap();
        remover.join().unwrap();
        assert_eq!(r["state"], json!("absent"));
        assert!(!f.exists());
        let m = failed(run(&WaitFor, json!({"path": p, "timeout": 0})));
        assert_eq!(
            m["msg"],
            json!(format!("Timeout when waiting for file {p}"))
        );
    }

    #[test]
    fn drained_port_without_connections() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let r = run(
            &WaitFor,
            json!({"port": port, "state": "drained", "timeout": 5}),
        )
        .unwrap();
        assert_eq!(r["state"], json!("drained"));
        // An open connection keeps it from draining.
        let _c = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        let m = failed(run(
            &WaitFor,
            json!({"port": port, "state": "drained", "timeout": 0}),
        ));
        assert_eq!(
            m["msg"],
            json!(format!(
                "Timeout when waiting for 127.0.0.1:{port} to drain"
            ))
        );
        // Unless connections from that address are excluded.
        let r = run(
            &WaitFor,
            json!({"port": port, "state": "drained", "timeout": 0, "exclude_hosts": ["127.0.0.1"]}),
        )
        .unwrap();
        assert_eq!(r["state"], json!("drained"));
        assert_eq!(kernel_hex("127.0.0.1").as_deref(), Some("0100007F"));
    }

    #[test]
    fn bad_combinations_fail() {
        let m = failed(run(&WaitFor, json!({"port": 1, "path": "/x"})));
        assert!(m["msg"].as_str().unwrap().contains("can not both"));
    }
}
