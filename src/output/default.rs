//! Ansible's default stdout callback (ansible-core 2.19 `default.py`), line for line.

use super::banner::{banner, display_columns, stdout_is_terminal, terminal_width};
use super::color::{colorize, stringc, Color};
use super::log_file::{self, Level};
use super::pyjson::{dumps, py_str, DumpOptions};
use super::status_line::StatusLine;
use super::{callback_view, Callback, TaskKind, ERROR_SUMMARY_KEY};
use crate::executor::result::{HostStats, Status, TaskResult};
use indexmap::IndexMap;
use serde_json::{Map, Value};
use std::collections::HashSet;
use std::io::Write;
use std::sync::{Mutex, MutexGuard};

/// `C._ACTION_DEBUG`
pub(crate) const DEBUG_ACTIONS: &[&str] =
    &["debug", "ansible.builtin.debug", "ansible.legacy.debug"];
/// Actions whose task is a `TaskInclude`; Ansible prints nothing for their results.
const INCLUDE_ACTIONS: &[&str] = &[
    "include_tasks",
    "ansible.builtin.include_tasks",
    "ansible.legacy.include_tasks",
    "include_role",
    "ansible.builtin.include_role",
    "ansible.legacy.include_role",
];
/// `_DEBUG_ALLOWED_KEYS`: what a `debug: msg=` result keeps.
const DEBUG_ALLOWED_KEYS: &[&str] = &["msg", "exception", "warnings", "deprecations"];
/// `CallbackBase._hide_in_debug`: what a `debug: var=` result drops.
const HIDE_IN_DEBUG: &[&str] = &[
    "changed",
    "failed",
    "skipped",
    "invocation",
    "skip_reason",
    "ansible_loop_var",
    "ansible_index_var",
    "ansible_loop",
];

type Sink = Box<dyn Write + Send>;

pub struct DefaultCallback {
    state: Mutex<State>,
    color: bool,
    verbosity: u8,
    columns: usize,
}

struct State {
    out: Sink,
    err: Sink,
    /// Present only when stdout is a terminal.
    status: Option<StatusLine>,
    /// Ansible shows each identical error/warning text once per run.
    seen_errors: HashSet<String>,
    seen_warnings: HashSet<String>,
    action: Option<String>,
}

impl DefaultCallback {
    /// Writes results to `out` and warnings to the process's stderr. No status line.
    pub fn new(out: Box<dyn Write + Send>, color: bool, verbosity: u8) -> DefaultCallback {
        DefaultCallback::with_stderr(out, Box::new(std::io::stderr()), color, verbosity)
    }

    /// Writes results to `out` and warnings to `err` (tests capture both). No status line.
    pub fn with_stderr(
        out: Box<dyn Write + Send>,
        err: Box<dyn Write + Send>,
        color: bool,
        verbosity: u8,
    ) -> DefaultCallback {
        DefaultCallback {
            state: Mutex::new(State {
                out,
                err,
                status: None,
                seen_errors: HashSet::new(),
                seen_warnings: HashSet::new(),
                action: None,
            }),
            color,
            verbosity,
            columns: 79,
        }
    }

    /// The real thing: process stdout/stderr, banner width from the terminal, and a live
    /// status line when stdout is a terminal.
    pub fn stdout(color: bool, verbosity: u8) -> DefaultCallback {
        let mut cb = DefaultCallback::new(Box::new(std::io::stdout()), color, verbosity);
        cb.columns = display_columns();
        if stdout_is_terminal() {
            cb.enable_status_line(terminal_width().unwrap_or(80));
        }
        cb
    }

    /// Draw the live status line on `out` (only sensible when it is a terminal of `width`).
    pub fn enable_status_line(&mut self, width: usize) {
        if let Ok(st) = self.state.get_mut() {
            st.status = Some(StatusLine::new(width));
        }
    }

    /// Banner width (Ansible's `Display.columns`); 79 unless set.
    pub fn set_columns(&mut self, columns: usize) {
        self.columns = columns;
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere must not silence all further output.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn is_debug(st: &State, data: &Map<String, Value>) -> bool {
        match &st.action {
            Some(a) => DEBUG_ACTIONS.contains(&a.as_str()),
            // Without task details, debug is the action that sets verbose_always.
            None => data.get("_ansible_verbose_always") == Some(&Value::Bool(true)),
        }
    }

    fn is_include(st: &State) -> bool {
        st.action
            .as_deref()
            .is_some_and(|a| INCLUDE_ACTIONS.contains(&a))
    }

    /// `_run_is_verbose`
    fn run_is_verbose(data: &Map<String, Value>, verbosity: u8, above: u8) -> bool {
        (verbosity > above || data.get("_ansible_verbose_always") == Some(&Value::Bool(true)))
            && !matches!(
                data.get("_ansible_verbose_override"),
                Some(Value::Bool(true))
            )
    }

    /// `_dump_results` with json result_format.
    fn dump_results(data: &Map<String, Value>, verbosity: u8) -> String {
        let indent = truthy(data.get("_ansible_verbose_always")) || verbosity > 2;
        let mut v = Value::Object(data.clone());
        strip_internal_keys(&mut v);
        if let Value::Object(m) = &mut v {
            if verbosity < 3 {
                m.shift_remove("invocation");
                m.shift_remove("diff");
            }
            m.shift_remove("exception");
            m.shift_remove("warnings");
            m.shift_remove("deprecations");
        }
        dumps(
            &v,
            DumpOptions {
                indent: indent.then_some(4),
                sort_keys: true,
                ensure_ascii: false,
            },
        )
    }

    /// `_clean_results`: debug shows only what it was asked to.
    fn clean_results(st: &State, data: &mut Map<String, Value>) {
        if !Self::is_debug(st, data) {
            return;
        }
        if data.contains_key("msg") {
            data.retain(|k, _| DEBUG_ALLOWED_KEYS.contains(&k.as_str()) || k.starts_with('_'));
        } else {
            for k in HIDE_IN_DEBUG {
                data.shift_remove(*k);
            }
        }
    }

    /// `Display.display`: one trailing newline is kept outside the color codes.
    fn display(&self, st: &mut State, msg: &str, color: Option<Color>, stderr: bool) {
        self.display_at(st, msg, color, stderr, Level::Info);
    }

    /// [`Self::display`], logged at `level` when there is a log file.
    fn display_at(
        &self,
        st: &mut State,
        msg: &str,
        color: Option<Color>,
        stderr: bool,
        level: Level,
    ) {
        log_file::log(level, msg);
        let body = msg.strip_suffix('\n').unwrap_or(msg);
        let body = match color {
            Some(c) => stringc(body, c, self.color),
            None => body.to_string(),
        };
        let State {
            out, err, status, ..
        } = st;
        if let Some(sl) = status.as_mut() {
            let _ = sl.erase(out.as_mut());
        }
        let sink = if stderr { err } else { out };
        let _ = writeln!(sink, "{body}");
        let _ = sink.flush();
    }

    fn banner(&self, st: &mut State, msg: &str) {
        let b = banner(msg, self.columns);
        self.display(st, &b, None, false);
    }

    /// `_handle_warnings_and_exception`
    fn handle_warnings_and_exception(&self, st: &mut State, data: &Map<String, Value>) {
        for (key, prefix) in [
            ("warnings", "[WARNING]: "),
            ("deprecations", "[DEPRECATION WARNING]: "),
        ] {
            if let Some(Value::Array(items)) = data.get(key) {
                for item in items {
                    let text = match item {
                        Value::String(s) => s.clone(),
                        Value::Object(o) => o.get("msg").map(py_str).unwrap_or_default(),
                        other => py_str(other),
                    };
                    let color = if key == "warnings" {
                        Color::Warn
                    } else {
                        Color::Deprecate
                    };
                    self.emit_message(st, prefix, &text, color, true);
                }
            }
        }
        if let Some(Value::String(summary)) = data.get(ERROR_SUMMARY_KEY) {
            self.emit_message(st, "[ERROR]: ", summary, Color::Error, false);
        }
    }

    /// An error/warning formatted like `format_event` (multi-line messages get a blank line
    /// after them), shown once per distinct text.
    fn emit_message(&self, st: &mut State, prefix: &str, text: &str, color: Color, stderr: bool) {
        let text = text.trim();
        let msg = if text.contains('\n') {
            format!("{prefix}{text}\n\n")
        } else {
            format!("{prefix}{text}\n")
        };
        let seen = if prefix == "[ERROR]: " {
            &mut st.seen_errors
        } else {
            &mut st.seen_warnings
        };
        if !seen.insert(msg.clone()) {
            return;
        }
        let level = match prefix {
            "[ERROR]: " => Level::Error,
            "[WARNING]: " => Level::Warning,
            _ => Level::Info,
        };
        self.display_at(st, &msg, Some(color), stderr, level);
    }

    /// `_get_item_label`
    fn item_label(result: &TaskResult) -> String {
        if truthy(result.data.get("_ansible_no_log")) {
            return "(censored due to no_log)".into();
        }
        if let Some(l) = &result.item_label {
            return l.clone();
        }
        result
            .data
            .get("_ansible_item_label")
            .or_else(|| result.data.get("item"))
            .map(py_str)
            .unwrap_or_else(|| "None".into())
    }
}

/// `host_label`: `host -> delegate` when delegated elsewhere, plus `(address)` when the
/// delegate's `ansible_host` (from `_ansible_delegated_vars`) differs from its name.
fn host_label(result: &TaskResult) -> String {
    match &result.delegated_to {
        Some(d) if d != &result.host => {
            let mut label = format!("{} -> {}", result.host, d);
            if let Some(Value::String(ahost)) = result
                .data
                .get("_ansible_delegated_vars")
                .and_then(|v| v.get("ansible_host"))
            {
                if ahost != d {
                    label.push_str(&format!("({ahost})"));
                }
            }
            label
        }
        _ => result.host.clone(),
    }
}

fn truthy(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
    }
}

/// `strip_internal_keys`: drop every `_ansible_*` key, at any depth.
pub fn strip_internal_keys(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|k, _| !k.starts_with("_ansible_"));
            for child in m.values_mut() {
                strip_internal_keys(child);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(strip_internal_keys),
        _ => {}
    }
}

/// `file:line:col` → `file:line`: Ansible's `task path:` names no column.
fn without_column(path: &str) -> &str {
    match path.rsplit_once(':') {
        Some((head, col))
            if !col.is_empty()
                && col.bytes().all(|b| b.is_ascii_digit())
                && head.rsplit_once(':').is_some_and(|(_, l)| {
                    !l.is_empty() && l.bytes().all(|b| b.is_ascii_digit())
                }) =>
        {
            head
        }
        _ => path,
    }
}

fn is_loop_result(data: &Map<String, Value>) -> bool {
    matches!(data.get("results"), Some(Value::Array(_)))
}

impl Callback for DefaultCallback {
    fn playbook_start(&self, path: &str) {
        if self.verbosity > 1 {
            let base = std::path::Path::new(path)
                .file_name()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| path.to_string());
            let mut st = self.lock();
            self.banner(&mut st, &format!("PLAYBOOK: {base}"));
        }
    }

    fn plays_in(&self, count: usize, path: &str) {
        if self.verbosity > 1 {
            let mut st = self.lock();
            self.display(&mut st, &format!("{count} plays in {path}"), None, false);
        }
    }

    fn verbose(&self, min_verbosity: u8, msg: &str) {
        if self.verbosity >= min_verbosity {
            let mut st = self.lock();
            self.display(&mut st, msg, None, false);
        } else if log_file::wants_verbose(min_verbosity) {
            log_file::log(Level::Info, msg);
        }
    }

    fn play_start(&self, name: &str, _check_mode: bool) {
        // `[CHECK MODE]` markers are off by default (check_mode_markers=False).
        let name = name.trim();
        let msg = if name.is_empty() {
            "PLAY".to_string()
        } else {
            format!("PLAY [{name}]")
        };
        let mut st = self.lock();
        self.banner(&mut st, &msg);
    }

    fn task_start(&self, name: &str, kind: TaskKind, _check_mode: bool) {
        let prefix = match kind {
            TaskKind::Task => "TASK",
            TaskKind::Handler => "RUNNING HANDLER",
        };
        let mut st = self.lock();
        st.action = None;
        if let Some(sl) = st.status.as_mut() {
            sl.reset();
        }
        self.banner(&mut st, &format!("{prefix} [{}]", name.trim()));
    }

    fn task_details(&self, path: Option<&str>, action: &str) {
        let mut st = self.lock();
        st.action = Some(action.to_string());
        if self.verbosity >= 2 {
            if let Some(p) = path {
                self.display(
                    &mut st,
                    &format!("task path: {}", without_column(p)),
                    Some(Color::Debug),
                    false,
                );
            }
        }
    }

    fn host_result(&self, result: &TaskResult, verbosity: u8) {
        let mut st = self.lock();
        let mut data = callback_view(&result.data, st.action.as_deref());
        let label = host_label(result);
        match result.status {
            Status::Failed => {
                self.handle_warnings_and_exception(&mut st, &result.data);
                Self::clean_results(&st, &mut data);
                if !is_loop_result(&data) {
                    let msg = format!(
                        "fatal: [{label}]: FAILED! => {}",
                        Self::dump_results(&data, verbosity)
                    );
                    self.display(&mut st, &msg, Some(Color::Error), false);
                }
                if result.ignored {
                    self.display(&mut st, "...ignoring", Some(Color::Skip), false);
                }
            }
            Status::Ok | Status::Changed => {
                if Self::is_include(&st) {
                    return;
                }
                let (word, color) = if result.status == Status::Changed || result.is_changed() {
                    ("changed", Color::Changed)
                } else {
                    ("ok", Color::Ok)
                };
                self.handle_warnings_and_exception(&mut st, &result.data);
                if is_loop_result(&data) {
                    return; // items were shown one by one
                }
                Self::clean_results(&st, &mut data);
                let mut msg = format!("{word}: [{label}]");
                if Self::run_is_verbose(&data, verbosity, 0) {
                    msg.push_str(" => ");
                    msg.push_str(&Self::dump_results(&data, verbosity));
                }
                self.display(&mut st, &msg, Some(color), false);
            }
            Status::Skipped => {
                Self::clean_results(&st, &mut data);
                self.handle_warnings_and_exception(&mut st, &result.data);
                if is_loop_result(&data) {
                    data.shift_remove("results");
                }
                let mut msg = format!("skipping: [{}]", result.host);
                if Self::run_is_verbose(&data, verbosity, 0) {
                    msg.push_str(" => ");
                    msg.push_str(&Self::dump_results(&data, verbosity));
                }
                self.display(&mut st, &msg, Some(Color::Skip), false);
            }
            Status::Unreachable => {
                self.handle_warnings_and_exception(&mut st, &result.data);
                let msg = format!(
                    "fatal: [{label}]: UNREACHABLE! => {}",
                    Self::dump_results(&data, verbosity)
                );
                self.display(&mut st, &msg, Some(Color::Unreachable), false);
                if result.ignored {
                    self.display(&mut st, "...ignoring", Some(Color::Skip), false);
                }
            }
        }
    }

    fn item_result(&self, result: &TaskResult, verbosity: u8) {
        let mut st = self.lock();
        let mut data = callback_view(&result.data, st.action.as_deref());
        let label = host_label(result);
        let item = Self::item_label(result);
        match result.status {
            Status::Ok | Status::Changed => {
                if Self::is_include(&st) {
                    return;
                }
                let (word, color) = if result.status == Status::Changed || result.is_changed() {
                    ("changed", Color::Changed)
                } else {
                    ("ok", Color::Ok)
                };
                self.handle_warnings_and_exception(&mut st, &result.data);
                let mut msg = format!("{word}: [{label}] => (item={item})");
                Self::clean_results(&st, &mut data);
                if Self::run_is_verbose(&data, verbosity, 0) {
                    msg.push_str(" => ");
                    msg.push_str(&Self::dump_results(&data, verbosity));
                }
                self.display(&mut st, &msg, Some(color), false);
            }
            Status::Failed | Status::Unreachable => {
                self.handle_warnings_and_exception(&mut st, &result.data);
                Self::clean_results(&st, &mut data);
                let msg = format!(
                    "failed: [{label}] (item={item}) => {}",
                    Self::dump_results(&data, verbosity)
                );
                self.display(&mut st, &msg, Some(Color::Error), false);
            }
            Status::Skipped => {
                self.handle_warnings_and_exception(&mut st, &result.data);
                Self::clean_results(&st, &mut data);
                // The trailing space before a verbose dump is Ansible's.
                let mut msg = format!("skipping: [{}] => (item={item}) ", result.host);
                if Self::run_is_verbose(&data, verbosity, 0) {
                    msg.push_str(" => ");
                    msg.push_str(&Self::dump_results(&data, verbosity));
                }
                self.display(&mut st, &msg, Some(Color::Skip), false);
            }
        }
    }

    fn file_diff(&self, result: &TaskResult) {
        let Some(diff) = result.data.get("diff") else {
            return;
        };
        if !truthy(Some(diff)) || !result.is_changed() {
            return;
        }
        let text = super::diff::render_diff(diff, self.color);
        if !text.is_empty() {
            let mut st = self.lock();
            self.display(&mut st, &text, None, false);
        }
    }

    fn retry(&self, host: &str, task_name: &str, retries_left: u32) {
        let mut st = self.lock();
        let msg =
            format!("FAILED - RETRYING: [{host}]: {task_name} ({retries_left} retries left).");
        self.display(&mut st, &msg, Some(Color::Debug), false);
    }

    fn included(&self, path: &str, hosts: &[String]) {
        self.included_item(path, hosts, None);
    }

    fn included_item(&self, path: &str, hosts: &[String], item_label: Option<&str>) {
        let mut st = self.lock();
        let mut msg = format!("included: {path} for {}", hosts.join(", "));
        if let Some(l) = item_label.filter(|l| !l.is_empty()) {
            msg.push_str(&format!(" => (item={l})"));
        }
        self.display(&mut st, &msg, Some(Color::Included), false);
    }

    fn warning(&self, msg: &str) {
        let mut st = self.lock();
        self.emit_message(&mut st, "[WARNING]: ", msg, Color::Warn, true);
    }

    fn error(&self, msg: &str) {
        let mut st = self.lock();
        self.emit_message(&mut st, "[ERROR]: ", msg, Color::Error, false);
    }

    fn no_hosts_matched(&self) {
        let mut st = self.lock();
        self.display(
            &mut st,
            "skipping: no hosts matched",
            Some(Color::Skip),
            false,
        );
    }

    fn no_more_hosts(&self) {
        let mut st = self.lock();
        self.banner(&mut st, "NO MORE HOSTS LEFT");
    }

    fn recap(&self, stats: &IndexMap<String, HostStats>) {
        let mut st = self.lock();
        self.banner(&mut st, "PLAY RECAP");
        let mut hosts: Vec<&String> = stats.keys().collect();
        hosts.sort();
        for h in hosts {
            let Some(t) = stats.get(h) else { continue };
            let c = self.color;
            let host = if c {
                let hc = if t.failed != 0 || t.unreachable != 0 {
                    Color::Error
                } else if t.changed != 0 {
                    Color::Changed
                } else {
                    Color::Ok
                };
                // Python pads the colored string, escape codes included.
                pad_chars(&stringc(h, hc, true), 37)
            } else {
                pad_chars(h, 26)
            };
            let row = format!(
                "{host} : {} {} {} {} {} {} {}",
                colorize("ok", t.ok, Some(Color::Ok), c),
                colorize("changed", t.changed, Some(Color::Changed), c),
                colorize("unreachable", t.unreachable, Some(Color::Unreachable), c),
                colorize("failed", t.failed, Some(Color::Error), c),
                colorize("skipped", t.skipped, Some(Color::Skip), c),
                colorize("rescued", t.rescued, Some(Color::Ok), c),
                colorize("ignored", t.ignored, Some(Color::Warn), c),
            );
            self.display(&mut st, &row, None, false);
        }
        self.display(&mut st, "", None, false);
    }

    fn custom_stats(&self, stats: &serde_json::Map<String, serde_json::Value>) {
        let mut st = self.lock();
        self.banner(&mut st, "CUSTOM STATS: ");
        // `_dump_results(indent=1)` with its newlines dropped: `{ "k": 1, "s": "x"}`.
        let dump = |v: &serde_json::Value| {
            let opts = crate::template::pyfmt::JsonOptions {
                indent: Some(1),
                sort_keys: true,
                ensure_ascii: false,
            };
            crate::template::pyfmt::json_dumps(v, opts).replace('\n', "")
        };
        let mut hosts: Vec<&String> = stats.keys().filter(|k| *k != "_run").collect();
        hosts.sort();
        for h in hosts {
            let line = format!("\t{h}: {}", dump(&stats[h.as_str()]));
            self.display(&mut st, &line, None, false);
        }
        if let Some(run) = stats.get("_run") {
            self.display(&mut st, "", None, false);
            let line = format!("\tRUN: {}", dump(run));
            self.display(&mut st, &line, None, false);
        }
        self.display(&mut st, "", None, false);
    }

    fn playbook_end(&self) {
        let mut st = self.lock();
        let State { out, status, .. } = &mut *st;
        if let Some(sl) = status.as_mut() {
            let _ = sl.erase(out.as_mut());
        }
        let _ = out.flush();
    }

    fn progress(&self, done: usize, total: usize, running: &[String]) {
        let mut st = self.lock();
        let State { out, status, .. } = &mut *st;
        if let Some(sl) = status.as_mut() {
            let _ = sl.update(out.as_mut(), done, total, running);
        }
    }
}

/// Python's `"%-Ns" % s`: pads by characters, not display width.
fn pad_chars(s: &str, n: usize) -> String {
    let len = s.chars().count();
    if len >= n {
        s.to_string()
    } else {
        format!("{s}{}", " ".repeat(n - len))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn delegated_label_shows_differing_address() {
        let mut r = TaskResult::new(
            "web1",
            Status::Ok,
            json!({"_ansible_delegated_vars": {"ansible_host": "10.0.0.5"}})
                .as_object()
                .unwrap()
                .clone(),
        );
        r.delegated_to = Some("bastion".into());
        assert_eq!(host_label(&r), "web1 -> bastion(10.0.0.5)");
        r.data.clear();
        assert_eq!(host_label(&r), "web1 -> bastion");
        r.delegated_to = Some("web1".into());
        assert_eq!(host_label(&r), "web1");
    }

    #[test]
    fn debug_var_hides_bookkeeping_keys() {
        let out = crate::output::golden_tests::Capture::default();
        let cb = DefaultCallback::new(Box::new(out.clone()), false, 0);
        cb.task_start("v", TaskKind::Task, false);
        cb.task_details(None, "ansible.builtin.debug");
        let data =
            json!({"x": 1, "changed": false, "failed": false, "_ansible_verbose_always": true});
        cb.host_result(
            &TaskResult::new("h", Status::Ok, data.as_object().unwrap().clone()),
            0,
        );
        assert!(
            out.text().ends_with("ok: [h] => {\n    \"x\": 1\n}\n"),
            "{:?}",
            out.text()
        );
    }
}
