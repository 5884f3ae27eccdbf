//! ansible.posix.json: the whole run as one JSON document printed at the end.

use super::pyjson::{dumps, DumpOptions};
use super::{callback_view, Callback, TaskKind};
use crate::executor::result::{HostStats, Status, TaskResult};
use indexmap::IndexMap;
use serde_json::{json, Map, Value};
use std::io::Write;
use std::sync::{Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

pub struct JsonCallback {
    state: Mutex<State>,
}

struct State {
    out: Box<dyn Write + Send>,
    plays: Vec<Value>,
    action: Option<String>,
    next_id: u64,
    id_prefix: String,
    clock: Box<dyn FnMut() -> String + Send>,
}

impl JsonCallback {
    pub fn new(out: Box<dyn Write + Send>) -> JsonCallback {
        JsonCallback::with_clock(out, Box::new(current_time))
    }

    /// `clock` returns the timestamps recorded as `duration.start`/`end` (tests pin it).
    pub fn with_clock(
        out: Box<dyn Write + Send>,
        clock: Box<dyn FnMut() -> String + Send>,
    ) -> JsonCallback {
        // Ansible's ids look like `0242ac11-0002-dcf7-b0a8-000000000006`: a per-run prefix and
        // a counter. Ours are unique within the run the same way.
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let id_prefix = format!(
            "{:08x}-{:04x}-{:04x}-{:04x}",
            std::process::id(),
            nanos & 0xffff,
            (nanos >> 16) & 0xffff,
            0xb0a8
        );
        JsonCallback {
            state: Mutex::new(State {
                out,
                plays: Vec::new(),
                action: None,
                next_id: 1,
                id_prefix,
                clock,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl State {
    fn new_id(&mut self) -> String {
        let id = format!("{}-{:012}", self.id_prefix, self.next_id);
        self.next_id += 1;
        id
    }

    fn current_tasks(&mut self) -> Option<&mut Vec<Value>> {
        self.plays.last_mut()?.get_mut("tasks")?.as_array_mut()
    }
}

/// `'%sZ' % datetime.utcnow().isoformat()`: `2026-11-23T05:29:37.084136Z`.
pub fn current_time() -> String {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    format_utc(d.as_secs() as i64, d.subsec_micros())
}

fn format_utc(secs: i64, micros: u32) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let time = format!("{:02}:{:02}:{:02}", rem / 3600, rem % 3600 / 60, rem % 60);
    // isoformat() leaves out the fraction when it is zero.
    if micros == 0 {
        format!("{y:04}-{m:02}-{d:02}T{time}Z")
    } else {
        format!("{y:04}-{m:02}-{d:02}T{time}.{micros:06}Z")
    }
}

/// Days since 1970-01-01 to (year, month, day), Howard Hinnant's algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

impl Callback for JsonCallback {
    fn play_start(&self, name: &str, _check_mode: bool) {
        let mut st = self.lock();
        let id = st.new_id();
        let start = (st.clock)();
        st.plays.push(json!({
            "play": {"name": name, "id": id, "duration": {"start": start}},
            "tasks": [],
        }));
    }

    fn task_start(&self, name: &str, _kind: TaskKind, _check_mode: bool) {
        let mut st = self.lock();
        st.action = None;
        let id = st.new_id();
        let start = (st.clock)();
        let task = json!({
            "task": {"name": name, "id": id, "duration": {"start": start}},
            "hosts": {},
        });
        if let Some(tasks) = st.current_tasks() {
            tasks.push(task);
        }
    }

    fn play_details(&self, path: Option<&str>) {
        let mut st = self.lock();
        if let (Some(p), Some(play)) = (path, st.plays.last_mut()) {
            if let Some(Value::Object(info)) = play.get_mut("play") {
                info.insert("path".into(), Value::String(p.to_string()));
            }
        }
    }

    fn task_details(&self, path: Option<&str>, action: &str) {
        let mut st = self.lock();
        st.action = Some(action.to_string());
        if let (Some(p), Some(tasks)) = (path, st.current_tasks()) {
            if let Some(Value::Object(t)) = tasks.last_mut().and_then(|t| t.get_mut("task")) {
                t.insert("path".into(), Value::String(p.to_string()));
            }
        }
    }

    fn host_result(&self, result: &TaskResult, _verbosity: u8) {
        let mut st = self.lock();
        let mut copy = callback_view(&result.data, st.action.as_deref());
        match result.status {
            Status::Failed => {
                copy.insert("failed".into(), Value::Bool(true));
            }
            Status::Skipped => {
                copy.insert("skipped".into(), Value::Bool(true));
            }
            _ => {}
        }
        if let Some(a) = &st.action {
            copy.insert("action".into(), Value::String(a.clone()));
        }
        let end = (st.clock)();
        let Some(play) = st.plays.last_mut() else {
            return;
        };
        if let Some(task) = play
            .get_mut("tasks")
            .and_then(Value::as_array_mut)
            .and_then(|t| t.last_mut())
        {
            if let Some(Value::Object(hosts)) = task.get_mut("hosts") {
                hosts.insert(result.host.clone(), Value::Object(copy));
            }
            if let Some(Value::Object(d)) = task.pointer_mut("/task/duration") {
                d.insert("end".into(), Value::String(end.clone()));
            }
        }
        if let Some(Value::Object(d)) = play.pointer_mut("/play/duration") {
            d.insert("end".into(), Value::String(end));
        }
    }

    fn item_result(&self, _result: &TaskResult, _verbosity: u8) {}
    fn retry(&self, _host: &str, _task_name: &str, _retries_left: u32) {}
    fn included(&self, _path: &str, _hosts: &[String]) {}

    fn warning(&self, msg: &str) {
        // stdout carries only the JSON document; warnings go where Ansible's go.
        eprintln!("[WARNING]: {}", msg.trim());
    }

    fn error(&self, msg: &str) {
        eprintln!("[ERROR]: {}", msg.trim());
    }

    fn no_more_hosts(&self) {}

    fn recap(&self, stats: &IndexMap<String, HostStats>) {
        let mut st = self.lock();
        let mut summary = Map::new();
        for (h, t) in stats {
            summary.insert(
                h.clone(),
                json!({
                    "changed": t.changed, "failures": t.failed, "ignored": t.ignored,
                    "ok": t.ok, "rescued": t.rescued, "skipped": t.skipped,
                    "unreachable": t.unreachable,
                }),
            );
        }
        let doc = json!({
            "custom_stats": {},
            "global_custom_stats": {},
            "plays": std::mem::take(&mut st.plays),
            "stats": summary,
        });
        let text = dumps(
            &doc,
            DumpOptions {
                indent: Some(4),
                sort_keys: true,
                ensure_ascii: true,
            },
        );
        let _ = writeln!(st.out, "{text}");
        let _ = st.out.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::golden_tests::Capture;

    #[test]
    fn utc_timestamps_like_python_isoformat() {
        assert_eq!(format_utc(0, 0), "1970-01-01T00:00:00Z");
        assert_eq!(
            format_utc(1_795_411_777, 84_136),
            "2026-11-23T05:29:37.084136Z"
        );
        assert_eq!(format_utc(951_782_400, 5), "2000-02-29T00:00:00.000005Z");
    }

    #[test]
    fn document_shape() {
        let cap = Capture::default();
        let cb = JsonCallback::with_clock(
            Box::new(cap.clone()),
            Box::new(|| "2026-01-01T00:00:00.000001Z".to_string()),
        );
        cb.play_start("p", false);
        cb.play_details(Some("/x/play.yml:1"));
        cb.task_start("t", TaskKind::Task, false);
        cb.task_details(Some("/x/play.yml:5"), "ansible.builtin.command");
        let mut data = Map::new();
        data.insert("changed".into(), json!(false));
        data.insert("msg".into(), json!("é"));
        data.insert("_ansible_no_log".into(), json!(false));
        data.insert(
            crate::output::ERROR_SUMMARY_KEY.into(),
            json!("Task failed"),
        );
        cb.host_result(&TaskResult::new("h1", Status::Failed, data), 0);
        let mut stats = IndexMap::new();
        stats.insert(
            "h1".to_string(),
            HostStats {
                failed: 1,
                ..Default::default()
            },
        );
        cb.recap(&stats);
        let text = cap.text();
        assert!(text.starts_with(
            "{\n    \"custom_stats\": {},\n    \"global_custom_stats\": {},\n    \"plays\": ["
        ));
        assert!(
            text.contains("\"msg\": \"\\u00e9\""),
            "ensure_ascii like json.dumps"
        );
        let v: Value = serde_json::from_str(&text).unwrap();
        let host = &v["plays"][0]["tasks"][0]["hosts"]["h1"];
        assert_eq!(host["failed"], json!(true));
        assert_eq!(
            host["_ansible_no_log"],
            json!(false),
            "kept like CLEAN_EXCEPTIONS"
        );
        assert!(host.get(crate::output::ERROR_SUMMARY_KEY).is_none());
        assert_eq!(v["plays"][0]["play"]["path"], json!("/x/play.yml:1"));
        assert_eq!(host["action"], json!("ansible.builtin.command"));
        assert_eq!(
            v["plays"][0]["tasks"][0]["task"]["path"],
            json!("/x/play.yml:5")
        );
        assert_eq!(
            v["plays"][0]["play"]["duration"]["end"],
            json!("2026-01-01T00:00:00.000001Z")
        );
        assert_eq!(v["stats"]["h1"]["failures"], json!(1));
        assert_eq!(v["stats"]["h1"]["ok"], json!(0));
        assert_ne!(
            v["plays"][0]["play"]["id"], v["plays"][0]["tasks"][0]["task"]["id"],
            "ids are unique"
        );
    }
}
