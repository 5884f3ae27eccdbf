//! Replays the events of real ansible-playbook runs (tests/golden/callback, see its README)
//! into our callbacks and compares the output byte for byte.

use super::profile::{Clock, ProfileCallback};
use super::{Callback, DefaultCallback, TaskKind, ERROR_SUMMARY_KEY};
use crate::executor::result::{HostStats, Status, TaskResult};
use indexmap::IndexMap;
use serde_json::{json, Map, Value};
use std::io::Write;
use std::sync::{Arc, Mutex};

/// A `Write` that tests can read back.
#[derive(Clone, Default)]
pub struct Capture(Arc<Mutex<Vec<u8>>>);

impl Capture {
    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn golden(name: &str) -> String {
    let path = format!(
        "{}/tests/golden/callback/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn map(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        other => panic!("not an object: {other}"),
    }
}

fn res(host: &str, status: Status, data: Value) -> TaskResult {
    TaskResult::new(host, status, map(data))
}

fn item(host: &str, status: Status, data: Value) -> TaskResult {
    let mut r = res(host, status, data);
    r.item_label = r.data.get("item").map(super::pyjson::py_str);
    r
}

fn with_error(mut r: TaskResult, summary: &str) -> TaskResult {
    r.data
        .insert(ERROR_SUMMARY_KEY.into(), Value::String(summary.into()));
    r
}

fn ignored(mut r: TaskResult) -> TaskResult {
    r.ignored = true;
    r
}

/// What the command module registers.
fn cmd(argv: &[&str], rc: i64, stdout: &str, times: (&str, &str, &str)) -> Value {
    let mut v = json!({
        "changed": true, "cmd": argv, "delta": times.0, "end": times.1,
        "msg": "", "rc": rc, "start": times.2, "stderr": "", "stderr_lines": [],
        "stdout": stdout, "stdout_lines": if stdout.is_empty() { vec![] } else { vec![stdout] },
        "invocation": {"module_args": {"_raw_params": argv.join(" ")}},
    });
    if rc != 0 {
        v["msg"] = json!("non-zero return code");
        v["failed"] = json!(true);
    }
    v
}

fn debug_msg(msg: Value) -> Value {
    json!({"msg": msg, "changed": false, "_ansible_verbose_always": true, "_ansible_no_log": false})
}

fn skip_data() -> Value {
    json!({"changed": false, "false_condition": false, "skip_reason": "Conditional result was False", "skipped": true})
}

fn stats(rows: &[(&str, [u32; 7])]) -> IndexMap<String, HostStats> {
    rows.iter()
        .map(|(h, s)| {
            (
                h.to_string(),
                HostStats {
                    ok: s[0],
                    changed: s[1],
                    unreachable: s[2],
                    failed: s[3],
                    skipped: s[4],
                    rescued: s[5],
                    ignored: s[6],
                },
            )
        })
        .collect()
}

struct Run {
    cb: DefaultCallback,
    out: Capture,
    err: Capture,
}

impl Run {
    fn new(verbosity: u8) -> Run {
        let out = Capture::default();
        let err = Capture::default();
        let cb = DefaultCallback::with_stderr(
            Box::new(out.clone()),
            Box::new(err.clone()),
            false,
            verbosity,
        );
        Run { cb, out, err }
    }
    fn task(&self, name: &str, action: &str) {
        self.cb.task_start(name, TaskKind::Task, false);
        self.cb.task_details(Some("/tmp/cap/x.yml:1"), action);
    }
    fn ok(&self, r: TaskResult) {
        self.cb.host_result(&r, 0);
    }
    fn item(&self, r: TaskResult) {
        self.cb.item_result(&r, 0);
    }
}

fn origin(file: &str, line: usize, col: usize, excerpt: &[&str]) -> String {
    let caret = format!(
        "{}^ column {col}",
        " ".repeat(col - 1 + 2 + line.to_string().len() - 1)
    );
    format!(
        "Origin: /tmp/cap/{file}:{line}:{col}\n\n{}\n{caret}",
        excerpt.join("\n")
    )
}

const FALSE_TIMES_H2: (&str, &str, &str) = (
    "0:00:00.007968",
    "2026-11-23 05:28:50.288990",
    "2026-11-23 05:28:50.281022",
);
const FALSE_TIMES_LOCAL: (&str, &str, &str) = (
    "0:00:00.005508",
    "2026-11-23 05:28:50.439347",
    "2026-11-23 05:28:50.433839",
);
const T0: (&str, &str, &str) = (
    "0:00:00.001",
    "2026-01-01 00:00:00.1",
    "2026-01-01 00:00:00.0",
);

#[test]
fn basic_play() {
    let r = Run::new(0);
    let cb = &r.cb;
    cb.play_start("Basic play", false);
    r.task("debug msg", "debug");
    for h in ["localhost", "h2"] {
        r.ok(res(h, Status::Ok, debug_msg(json!("hello world"))));
    }
    r.task("debug var", "debug");
    for h in ["localhost", "h2"] {
        r.ok(res(
            h,
            Status::Ok,
            json!({"inventory_hostname": h, "changed": false, "_ansible_verbose_always": true}),
        ));
    }
    r.task("a changed command", "ansible.builtin.command");
    for h in ["h2", "localhost"] {
        r.ok(res(h, Status::Changed, cmd(&["echo", "hi"], 0, "hi", T0)));
    }
    r.task("skipped task", "ansible.builtin.command");
    for h in ["localhost", "h2"] {
        r.ok(res(h, Status::Skipped, skip_data()));
    }
    r.task("failing task ignored", "ansible.builtin.command");
    let summary = format!(
        "Task failed: Module failed: non-zero return code\n{}",
        origin(
            "basic.yml",
            16,
            7,
            &[
                "14       command: echo no",
                "15       when: false",
                "16     - name: failing task ignored"
            ]
        )
    );
    for (h, t) in [("h2", FALSE_TIMES_H2), ("localhost", FALSE_TIMES_LOCAL)] {
        r.ok(ignored(with_error(
            res(h, Status::Failed, cmd(&["/bin/false"], 1, "", t)),
            &summary,
        )));
    }
    r.task("loop", "ansible.builtin.command");
    for (h, it, st) in [
        ("localhost", "a", Status::Ok),
        ("h2", "a", Status::Ok),
        ("localhost", "b", Status::Changed),
        ("h2", "b", Status::Changed),
    ] {
        let mut d = cmd(&["echo", it], 0, it, T0);
        d["changed"] = json!(st == Status::Changed);
        d["item"] = json!(it);
        d["ansible_loop_var"] = json!("item");
        r.item(item(h, st, d));
    }
    for h in ["localhost", "h2"] {
        r.ok(res(
            h,
            Status::Changed,
            json!({"changed": true, "results": [{}, {}]}),
        ));
    }
    r.task("loop with skip", "debug");
    for h in ["localhost", "h2"] {
        let mut s = skip_data();
        s["item"] = json!(1);
        s["ansible_loop_var"] = json!("item");
        r.item(item(h, Status::Skipped, s));
        let mut d = debug_msg(json!(2));
        d["item"] = json!(2);
        d["ansible_loop_var"] = json!("item");
        r.item(item(h, Status::Ok, d));
    }
    for h in ["localhost", "h2"] {
        r.ok(res(
            h,
            Status::Ok,
            json!({"changed": false, "results": [{}, {}]}),
        ));
    }
    r.task("label", "debug");
    for h in ["localhost", "h2"] {
        for n in ["one", "two"] {
            let mut d = debug_msg(json!("x"));
            d["item"] = json!({"n": n});
            let mut it = res(h, Status::Ok, d);
            it.item_label = Some(n.to_string());
            r.item(it);
        }
    }
    r.task("notify", "ansible.builtin.command");
    for h in ["localhost", "h2"] {
        r.ok(res(h, Status::Changed, cmd(&["echo", "x"], 0, "x", T0)));
    }
    r.task("delegate", "ansible.builtin.command");
    for h in ["h2", "localhost"] {
        let mut d = res(h, Status::Ok, cmd(&["echo", "d"], 0, "d", T0));
        d.data["changed"] = json!(false);
        d.delegated_to = Some("localhost".into());
        r.ok(d);
    }
    cb.task_start("my handler", TaskKind::Handler, false);
    cb.task_details(None, "debug");
    for h in ["localhost", "h2"] {
        r.ok(res(h, Status::Ok, debug_msg(json!("handled"))));
    }
    // Given out of order: the recap sorts by host like Ansible.
    cb.recap(&stats(&[
        ("localhost", [10, 4, 0, 0, 1, 0, 1]),
        ("h2", [10, 4, 0, 0, 1, 0, 1]),
    ]));
    cb.playbook_end();
    assert_eq!(r.out.text(), golden("basic.txt"));
    assert_eq!(r.err.text(), "");
}

#[test]
fn failures_retries_rescue() {
    let r = Run::new(0);
    let cb = &r.cb;
    cb.play_start("Failing play", false);
    r.task("loop with failure", "ansible.builtin.command");
    let loop_summary = format!(
        "Task failed: Module failed: non-zero return code\n{}",
        origin(
            "fail.yml",
            5,
            7,
            &[
                "3   gather_facts: false",
                "4   tasks:",
                "5     - name: loop with failure"
            ]
        )
    );
    let times = [
        (
            "h2",
            (
                "0:00:00.005109",
                "2026-11-23 05:29:18.298737",
                "2026-11-23 05:29:18.293628",
            ),
        ),
        (
            "localhost",
            (
                "0:00:00.013905",
                "2026-11-23 05:29:18.319058",
                "2026-11-23 05:29:18.305153",
            ),
        ),
    ];
    for h in ["h2", "localhost"] {
        let mut d = cmd(&["/bin/true"], 0, "", T0);
        d["item"] = json!("/bin/true");
        d["ansible_loop_var"] = json!("item");
        r.item(item(h, Status::Changed, d));
    }
    for (h, t) in times {
        let mut d = cmd(&["/bin/false"], 1, "", t);
        d["item"] = json!("/bin/false");
        d["ansible_loop_var"] = json!("item");
        r.item(with_error(item(h, Status::Failed, d), &loop_summary));
        r.ok(ignored(res(
            h,
            Status::Failed,
            json!({"changed": true, "failed": true, "msg": "One or more items failed", "results": [{}, {}]}),
        )));
    }
    r.task("show", "debug");
    for h in ["localhost", "h2"] {
        r.ok(res(
            h,
            Status::Ok,
            json!({"r.results[1].exception | default('none')": "(traceback unavailable)", "_ansible_verbose_always": true, "changed": false}),
        ));
    }
    r.task("retry", "ansible.builtin.command");
    r.ok(res("localhost", Status::Skipped, skip_data()));
    cb.retry("h2", "retry", 2);
    cb.retry("h2", "retry", 1);
    let retry_summary = format!(
        "Task failed: Module failed: non-zero return code\n{}",
        origin(
            "fail.yml",
            13,
            7,
            &[
                "11       debug:",
                "12         var: r.results[1].exception | default('none')",
                "13     - name: retry"
            ]
        )
    );
    let mut d = cmd(
        &["/bin/false"],
        1,
        "",
        (
            "0:00:00.011935",
            "2026-11-23 05:29:19.745437",
            "2026-11-23 05:29:19.733502",
        ),
    );
    d["attempts"] = json!(2);
    r.ok(ignored(with_error(
        res("h2", Status::Failed, d),
        &retry_summary,
    )));
    r.task("fail in block", "fail");
    let block_summary = format!(
        "Task failed: Action failed: boom\n{}",
        origin(
            "fail.yml",
            23,
            11,
            &[
                "21     - name: block",
                "22       block:",
                "23         - name: fail in block"
            ]
        )
    );
    for h in ["localhost", "h2"] {
        r.ok(with_error(
            res(
                h,
                Status::Failed,
                json!({"changed": false, "failed": true, "msg": "boom"}),
            ),
            &block_summary,
        ));
    }
    r.task("rescuer", "debug");
    for h in ["localhost", "h2"] {
        r.ok(res(h, Status::Ok, debug_msg(json!("rescued"))));
    }
    r.task("fail msg", "ansible.builtin.fail");
    r.ok(res("localhost", Status::Skipped, skip_data()));
    let fail_summary = format!(
        "Task failed: Action failed: bad h2\n{}",
        origin(
            "fail.yml",
            30,
            7,
            &[
                "28           debug:",
                "29             msg: rescued",
                "30     - name: fail msg"
            ]
        )
    );
    r.ok(with_error(
        res(
            "h2",
            Status::Failed,
            json!({"changed": false, "failed": true, "msg": "bad h2"}),
        ),
        &fail_summary,
    ));
    r.task("after", "ansible.builtin.command");
    let after_summary = format!(
        "Task failed: Module failed: non-zero return code\n{}",
        origin(
            "fail.yml",
            34,
            7,
            &[
                "32         msg: \"bad {{ inventory_hostname }}\"",
                "33       when: inventory_hostname == 'h2'",
                "34     - name: after"
            ]
        )
    );
    let d = cmd(
        &["/bin/false"],
        1,
        "",
        (
            "0:00:00.009284",
            "2026-11-23 05:29:20.254032",
            "2026-11-23 05:29:20.244748",
        ),
    );
    r.ok(with_error(
        res("localhost", Status::Failed, d),
        &after_summary,
    ));
    cb.recap(&stats(&[
        ("h2", [4, 2, 0, 1, 0, 1, 2]),
        ("localhost", [3, 1, 0, 1, 2, 1, 1]),
    ]));
    assert_eq!(r.out.text(), golden("fail.txt"));
}

/// Results of the skipped loop as (host, item); `None` is the host's aggregated result.
type SkipOrder<'a> = [(&'a str, Option<i64>); 6];

/// The events of `allfail.yml`, in the order the hosts reported in that run.
fn replay_allfail(cb: &DefaultCallback, skip_order: SkipOrder<'_>, fatal_order: [&str; 2]) {
    cb.play_start("first", false);
    cb.task_start("all skipped loop", TaskKind::Task, false);
    cb.task_details(None, "debug");
    for (h, i) in skip_order {
        match i {
            Some(i) => {
                let mut s = skip_data();
                s["item"] = json!(i);
                cb.item_result(&item(h, Status::Skipped, s), 0);
            }
            None => cb.host_result(
                &res(
                    h,
                    Status::Skipped,
                    json!({"changed": false, "skipped": true, "msg": "All items skipped", "results": [{}, {}]}),
                ),
                0,
            ),
        }
    }
    cb.task_start("boom", TaskKind::Task, false);
    cb.task_details(None, "ansible.builtin.fail");
    let summary = format!(
        "Task failed: Action failed: nope\n{}",
        origin(
            "allfail.yml",
            9,
            7,
            &[
                "7       loop: [1, 2]",
                "8       when: false",
                "9     - name: boom"
            ]
        )
    );
    for h in fatal_order {
        cb.host_result(
            &with_error(
                res(
                    h,
                    Status::Failed,
                    json!({"changed": false, "failed": true, "msg": "nope"}),
                ),
                &summary,
            ),
            0,
        );
    }
    cb.recap(&stats(&[
        ("h2", [0, 0, 0, 1, 1, 0, 0]),
        ("localhost", [0, 0, 0, 1, 1, 0, 0]),
    ]));
}

#[test]
fn all_skipped_loop_and_all_hosts_failing() {
    let r = Run::new(0);
    let skips = [
        ("localhost", Some(1)),
        ("localhost", Some(2)),
        ("localhost", None),
        ("h2", Some(1)),
        ("h2", Some(2)),
        ("h2", None),
    ];
    replay_allfail(&r.cb, skips, ["h2", "localhost"]);
    assert_eq!(r.out.text(), golden("allfail.txt"));
}

#[test]
fn all_hosts_failing_in_color() {
    let out = Capture::default();
    let cb =
        DefaultCallback::with_stderr(Box::new(out.clone()), Box::new(Capture::default()), true, 0);
    let skips = [
        ("localhost", Some(1)),
        ("localhost", Some(2)),
        ("h2", Some(1)),
        ("h2", Some(2)),
        ("h2", None),
        ("localhost", None),
    ];
    replay_allfail(&cb, skips, ["localhost", "h2"]);
    assert_eq!(out.text(), golden("allfail.color.txt"));
}

#[test]
fn includes_and_ignored_module_errors() {
    let r = Run::new(0);
    let cb = &r.cb;
    let hosts = vec!["localhost".to_string(), "h2".to_string()];
    cb.play_start("all", false);
    r.task("include", "include_tasks");
    for h in &hosts {
        r.ok(res(
            h,
            Status::Ok,
            json!({"include": "inc_tasks.yml", "changed": false}),
        ));
    }
    cb.included("/tmp/cap/inc_tasks.yml", &hosts);
    r.task("inner", "debug");
    for h in &hosts {
        r.ok(res(h, Status::Ok, debug_msg(json!("inner"))));
    }
    r.task("include loop", "include_tasks");
    for h in &hosts {
        r.item(item(
            h,
            Status::Ok,
            json!({"include": "inc_tasks.yml", "item": 1}),
        ));
    }
    cb.included_item("/tmp/cap/inc_tasks.yml", &hosts, Some("1"));
    r.task("inner", "debug");
    for h in &hosts {
        r.ok(res(h, Status::Ok, debug_msg(json!("inner"))));
    }
    r.task("warn", "debug");
    for h in ["h2", "localhost"] {
        r.ok(res(h, Status::Ok, debug_msg(json!("x"))));
    }
    r.task("a warning", "ansible.builtin.command");
    let msg = "Unsupported parameters for (ansible.legacy.command) module: warn. Supported parameters include: _raw_params, _uses_shell, argv, chdir, cmd, creates, executable, expand_argument_vars, removes, stdin, stdin_add_newline, strip_empty_ends.";
    let summary = format!(
        "Task failed: Module failed: {msg}\n{}",
        origin(
            "inc.yml",
            12,
            7,
            &[
                "10       debug:",
                "11         msg: \"{{ undefined_thing | default('x') }}\"",
                "12     - name: a warning"
            ]
        )
    );
    for h in &hosts {
        r.ok(ignored(with_error(
            res(
                h,
                Status::Failed,
                json!({"changed": false, "failed": true, "msg": msg}),
            ),
            &summary,
        )));
    }
    cb.recap(&stats(&[
        ("h2", [6, 0, 0, 0, 0, 0, 1]),
        ("localhost", [6, 0, 0, 0, 0, 0, 1]),
    ]));
    assert_eq!(r.out.text(), golden("include.txt"));
}

type Times<'a> = (&'a str, &'a str, &'a str);

/// The events of `-v`/`-vv verbose.yml`, with that run's command timings.
fn replay_verbose(
    cb: &DefaultCallback,
    verbosity: u8,
    cmd_times: Times<'_>,
    loop_times: Times<'_>,
) {
    let v = |res: TaskResult| cb.host_result(&res, verbosity);
    let task = |name: &str, line: u32, action: &str| {
        cb.task_start(name, TaskKind::Task, false);
        cb.task_details(Some(&format!("/tmp/cap/verbose.yml:{line}")), action);
    };
    cb.playbook_start("/tmp/cap/verbose.yml");
    cb.play_start("Verbose", false);
    task("cmd", 5, "ansible.builtin.command");
    v(res(
        "localhost",
        Status::Changed,
        cmd(&["echo", "hi"], 0, "hi", cmd_times),
    ));
    task("loop", 7, "ansible.builtin.command");
    let mut d = cmd(&["echo", "a"], 0, "a", loop_times);
    d["item"] = json!("a");
    d["ansible_loop_var"] = json!("item");
    cb.item_result(&item("localhost", Status::Changed, d), verbosity);
    v(res(
        "localhost",
        Status::Changed,
        json!({"changed": true, "msg": "All items completed", "results": [{}]}),
    ));
    task("skip", 10, "debug");
    v(res("localhost", Status::Skipped, skip_data()));
    task("dbg", 13, "debug");
    v(res("localhost", Status::Ok, debug_msg(json!("hello"))));
    task("set", 15, "set_fact");
    v(res(
        "localhost",
        Status::Ok,
        json!({"ansible_facts": {"foo": "bar"}, "changed": false}),
    ));
    cb.recap(&stats(&[("localhost", [4, 2, 0, 0, 1, 0, 0])]));
}

#[test]
fn verbose_one() {
    let r = Run::new(1);
    replay_verbose(
        &r.cb,
        1,
        (
            "0:00:00.003792",
            "2026-11-23 05:29:37.084136",
            "2026-11-23 05:29:37.080344",
        ),
        (
            "0:00:00.004221",
            "2026-11-23 05:29:37.335144",
            "2026-11-23 05:29:37.330923",
        ),
    );
    // The first line comes from the CLI (config file lookup), not the callback.
    let expected = golden("verbose.txt");
    let expected = expected
        .strip_prefix("No config file found; using defaults\n")
        .unwrap();
    assert_eq!(r.out.text(), expected);
}

#[test]
fn verbose_two_shows_playbook_banner_and_task_paths() {
    let r = Run::new(2);
    replay_verbose(
        &r.cb,
        2,
        (
            "0:00:00.011621",
            "2026-11-23 05:37:32.098511",
            "2026-11-23 05:37:32.086890",
        ),
        (
            "0:00:00.008783",
            "2026-11-23 05:37:32.535008",
            "2026-11-23 05:37:32.526225",
        ),
    );
    // The version header and `1 plays in ...` come from the CLI, not the callback.
    let full = golden("verbose2.txt");
    let (_, rest) = full
        .split_once("Skipping callback 'oneline', as we already have a stdout callback.\n")
        .unwrap();
    let expected = rest.replacen("1 plays in verbose.yml\n", "", 1);
    assert_eq!(r.out.text(), expected);
}

#[test]
fn check_mode_has_no_markers() {
    let r = Run::new(0);
    let cb = &r.cb;
    cb.play_start("Verbose", true);
    let t = |name: &str, action: &str| {
        cb.task_start(name, TaskKind::Task, true);
        cb.task_details(None, action);
    };
    t("cmd", "ansible.builtin.command");
    r.ok(res(
        "localhost",
        Status::Skipped,
        json!({"changed": false, "msg": "Command would have run if not in check mode", "skipped": true}),
    ));
    t("loop", "ansible.builtin.command");
    r.item(item(
        "localhost",
        Status::Skipped,
        json!({"changed": false, "skipped": true, "item": "a"}),
    ));
    r.ok(res(
        "localhost",
        Status::Skipped,
        json!({"changed": false, "skipped": true, "results": [{}]}),
    ));
    t("skip", "debug");
    r.ok(res("localhost", Status::Skipped, skip_data()));
    t("dbg", "debug");
    r.ok(res("localhost", Status::Ok, debug_msg(json!("hello"))));
    t("set", "set_fact");
    r.ok(res(
        "localhost",
        Status::Ok,
        json!({"ansible_facts": {"foo": "bar"}, "changed": false}),
    ));
    cb.recap(&stats(&[("localhost", [2, 0, 0, 0, 3, 0, 0])]));
    assert_eq!(r.out.text(), golden("check.txt"));
}

#[test]
fn unreachable_host() {
    let r = Run::new(0);
    let cb = &r.cb;
    cb.play_start("bad", false);
    r.task("ping it", "ansible.builtin.ping");
    let msg = "Failed to connect to the host via ssh: ssh: connect to host 127.0.0.1 port 1: Connection refused";
    let summary = format!(
        "Task failed: {msg}\n{}",
        origin(
            "unreach.yml",
            4,
            7,
            &[
                "2   gather_facts: false",
                "3   tasks:",
                "4     - name: ping it"
            ]
        )
    );
    r.ok(with_error(
        res(
            "bad",
            Status::Unreachable,
            json!({"changed": false, "msg": format!("Task failed: {msg}"), "unreachable": true}),
        ),
        &summary,
    ));
    cb.recap(&stats(&[("bad", [0, 0, 1, 0, 0, 0, 0])]));
    assert_eq!(r.out.text(), golden("unreachable.txt"));
}

#[test]
fn no_hosts_matched_warning_on_stderr() {
    let r = Run::new(0);
    let cb = &r.cb;
    cb.warning("Could not match supplied host pattern, ignoring: nomatch");
    cb.play_start("No match", false);
    cb.no_hosts_matched();
    cb.recap(&IndexMap::new());
    assert_eq!(r.out.text(), golden("nomatch.txt"));
    assert_eq!(r.err.text(), golden("nomatch.stderr.txt"));
    // Ansible shows a given warning once.
    cb.warning("Could not match supplied host pattern, ignoring: nomatch");
    assert_eq!(r.err.text(), golden("nomatch.stderr.txt"));
}

/// Replays the clock readings of the captured profile run.
struct FakeClock {
    readings: Vec<f64>,
    next: usize,
}

impl Clock for FakeClock {
    fn now(&mut self) -> f64 {
        let t = self.readings[self.next.min(self.readings.len() - 1)];
        self.next += 1;
        t
    }
    fn format(&self, t: f64) -> String {
        let secs = (t as u64) % 60;
        format!("Monday 23 November 2026  05:34:{secs:02} +0000")
    }
}

#[test]
fn profile_tasks_and_timer() {
    let out = Capture::default();
    let inner = DefaultCallback::new(Box::new(out.clone()), false, 0);
    // Reads: construction; per task the timestamp line and the task start; at the end the
    // timestamp line and the close of the last task.
    let t0 = 1219.9; // ...:19.9 in FakeClock's formatting
    let clock = FakeClock {
        readings: vec![
            t0,
            t0 + 0.0389,
            t0 + 0.0389,
            t0 + 0.0718,
            t0 + 0.0718,
            t0 + 1.7962,
            t0 + 1.7999,
        ],
        next: 0,
    };
    let cb =
        ProfileCallback::with_clock(Box::new(inner), Box::new(out.clone()), 79, Box::new(clock));
    cb.play_start("Profiled", false);
    cb.task_start("first", TaskKind::Task, false);
    cb.task_details(None, "debug");
    cb.host_result(&res("localhost", Status::Ok, debug_msg(json!("one"))), 0);
    cb.task_start("sleepy", TaskKind::Task, false);
    cb.task_details(None, "ansible.builtin.command");
    let mut d = cmd(&["sleep", "1"], 0, "", T0);
    d["changed"] = json!(false);
    cb.host_result(&res("localhost", Status::Ok, d), 0);
    cb.recap(&stats(&[("localhost", [2, 0, 0, 0, 0, 0, 0])]));
    cb.playbook_end();
    assert_eq!(out.text(), golden("profile.txt"));
}

#[test]
fn colors_when_enabled() {
    let out = Capture::default();
    let cb = DefaultCallback::new(Box::new(out.clone()), true, 0);
    cb.task_start("t", TaskKind::Task, false);
    cb.host_result(&res("h", Status::Changed, json!({"changed": true})), 0);
    cb.host_result(&res("h", Status::Ok, json!({"changed": false})), 0);
    cb.host_result(&res("h", Status::Skipped, json!({})), 0);
    cb.recap(&stats(&[("h", [1, 1, 0, 0, 1, 0, 0])]));
    let text = out.text();
    assert!(text.contains("\x1b[0;33mchanged: [h]\x1b[0m\n"));
    assert!(text.contains("\x1b[0;32mok: [h]\x1b[0m\n"));
    assert!(text.contains("\x1b[0;36mskipping: [h]\x1b[0m\n"));
    // Recap: host colored by its worst state, padded to 37 including escape codes.
    assert!(text.contains(&format!(
        "\x1b[0;33mh\x1b[0m{} : \x1b[0;32mok=1   \x1b[0m \x1b[0;33mchanged=1   \x1b[0m unreachable=0    failed=0    \x1b[0;36mskipped=1   \x1b[0m rescued=0    ignored=0   \n",
        " ".repeat(25)
    )));
    // Banners stay uncolored.
    assert!(text.contains("\nTASK [t] ****"));
}

#[test]
fn no_log_censors_results_and_labels() {
    let r = Run::new(1);
    r.task("secret", "ansible.builtin.command");
    let mut it = item(
        "h",
        Status::Changed,
        json!({"changed": true, "stdout": "s3cret", "item": "pw", "_ansible_no_log": true}),
    );
    it.item_label = None;
    r.cb.item_result(&it, 1);
    let text = r.out.text();
    assert!(!text.contains("s3cret"), "{text}");
    assert!(!text.contains("pw"), "{text}");
    assert!(text.contains("changed: [h] => (item=(censored due to no_log)) => {\"censored\": \"the output has been hidden due to the fact that 'no_log: true' was specified for this result\", \"changed\": true}"), "{text}");
}

#[test]
fn diff_mode() {
    let r = Run::new(0);
    let cb = &r.cb;
    let show = |res: TaskResult, is_item: bool| {
        cb.file_diff(&res);
        if is_item {
            cb.item_result(&res, 0);
        } else {
            cb.host_result(&res, 0);
        }
    };
    cb.play_start("localhost", false);
    r.task("write file", "ansible.builtin.copy");
    show(
        res(
            "localhost",
            Status::Changed,
            json!({"changed": true, "diff": [{
                "before": "a\nb\nc\nd\ne\nf\ng\nh\n", "after": "a\nB\nc\nd\ne\nf\ng\nH\nextra",
                "before_header": "/tmp/cap/dst.txt", "after_header": "/tmp/cap/dst.txt"}]}),
        ),
        false,
    );
    r.task("new file", "ansible.builtin.copy");
    show(
        res(
            "localhost",
            Status::Changed,
            json!({"changed": true, "diff": [{"before": "", "after": "hello\n", "after_header": "/tmp/cap/new.txt"}]}),
        ),
        false,
    );
    r.task("loop lines", "ansible.builtin.lineinfile");
    let hdr = "/tmp/cap/dst.txt (content)";
    let before_x = "a\nB\nc\nd\ne\nf\ng\nH\nextra";
    let after_x = "a\nB\nc\nd\ne\nf\ng\nH\nextra\nx\n";
    let after_y = "a\nB\nc\nd\ne\nf\ng\nH\nextra\nx\ny\n";
    for (it, before, after) in [("x", before_x, after_x), ("y", after_x, after_y)] {
        show(
            item(
                "localhost",
                Status::Changed,
                json!({"changed": true, "item": it, "diff": [
                    {"before": before, "after": after, "before_header": hdr, "after_header": hdr},
                    {"before_header": "/tmp/cap/dst.txt (file attributes)", "after_header": "/tmp/cap/dst.txt (file attributes)"}]}),
            ),
            true,
        );
    }
    // The aggregated loop result has no diff of its own to show.
    let agg = res(
        "localhost",
        Status::Changed,
        json!({"changed": true, "results": [{}, {}]}),
    );
    show(agg, false);
    cb.recap(&stats(&[("localhost", [3, 3, 0, 0, 0, 0, 0])]));
    assert_eq!(r.out.text(), golden("diff.txt"));
}

#[test]
fn status_line_is_erased_before_output() {
    let out = Capture::default();
    let mut cb = DefaultCallback::new(Box::new(out.clone()), false, 0);
    cb.enable_status_line(80);
    cb.task_start("t", TaskKind::Task, false);
    cb.progress(1, 3, &["web01".to_string(), "web02".to_string()]);
    cb.host_result(&res("web01", Status::Ok, json!({"changed": false})), 0);
    let text = out.text();
    let drawn = "\r\x1b[K  [1/3 hosts done, ";
    let at = text.find(drawn).expect("status line drawn");
    assert!(
        text[at..].contains("waiting on: web01, web02\r\x1b[Kok: [web01]\n"),
        "{text:?}"
    );
}

#[test]
fn no_status_line_unless_enabled() {
    let out = Capture::default();
    let cb = DefaultCallback::new(Box::new(out.clone()), false, 0);
    cb.progress(1, 3, &["web01".to_string()]);
    assert_eq!(out.text(), "");
}

#[test]
fn factory_picks_callbacks() {
    assert!(super::make_callback("default", false, Some(false), 0).is_ok());
    assert!(super::make_callback("ansible.posix.json", true, Some(false), 0).is_ok());
    let err = super::make_callback("nope", false, Some(false), 0)
        .err()
        .unwrap();
    assert!(err.contains("nope"), "{err}");
}
