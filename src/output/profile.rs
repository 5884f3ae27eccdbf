//! profile_tasks (ansible.posix) around another callback: a timestamp line after every task
//! banner, and at the end the slowest tasks plus the timer callback's total run time.

use super::{Callback, TaskKind};
use crate::executor::result::{HostStats, TaskResult};
use indexmap::IndexMap;
use std::io::Write;
use std::sync::{Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

/// profile_tasks' default `output_limit`.
const OUTPUT_LIMIT: usize = 20;

/// Wall clock as profile_tasks sees it: seconds since the epoch, and how to print them.
pub trait Clock: Send {
    /// `time.time()`
    fn now(&mut self) -> f64;
    /// `time.strftime('%A %d %B %Y  %H:%M:%S %z')` in local time.
    fn format(&self, t: f64) -> String;
}

/// The system clock and the C library's local time formatting.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&mut self) -> f64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0)
    }

    fn format(&self, t: f64) -> String {
        strftime_local(t as libc::time_t, "%A %d %B %Y  %H:%M:%S %z")
    }
}

/// Local-time `strftime`, so day and month names, `%z` and the time zone come out exactly as
/// Python's `time.strftime` prints them.
fn strftime_local(t: libc::time_t, fmt: &str) -> String {
    let Ok(cfmt) = std::ffi::CString::new(fmt) else {
        return String::new();
    };
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let mut buf = [0u8; 128];
    // SAFETY: localtime_r fills `tm`; strftime writes at most buf.len() bytes into buf.
    let n = unsafe {
        if libc::localtime_r(&t, &mut tm).is_null() {
            return String::new();
        }
        libc::strftime(buf.as_mut_ptr().cast(), buf.len(), cfmt.as_ptr(), &tm)
    };
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

/// `secondsToStr`: `H:MM:SS.mmm`, every part truncated like Python's `%d`.
pub fn seconds_to_str(t: f64) -> String {
    let ms_total = (t * 1000.0).max(0.0);
    let secs = (ms_total / 1000.0).floor();
    let ms = ms_total - secs * 1000.0;
    let mins = (secs / 60.0).floor();
    let s = secs - mins * 60.0;
    let h = (mins / 60.0).floor();
    let m = mins - h * 60.0;
    format!(
        "{}:{:02}:{:02}.{:03}",
        h as u64, m as u64, s as u64, ms as u64
    )
}

/// `filled`: the message, a space, `fchar` up to 79 columns, and a trailing space.
pub fn filled(msg: &str, fchar: char) -> String {
    let (msg, width) = if msg.is_empty() {
        (String::new(), 79usize)
    } else {
        let m = format!("{msg} ");
        let w = 79usize.saturating_sub(m.chars().count());
        (m, w)
    };
    format!("{msg}{} ", fchar.to_string().repeat(width.max(3)))
}

struct TaskTime {
    name: String,
    start: f64,
    /// Filled in when the next task starts (or at the end).
    took: Option<f64>,
}

struct State {
    out: Box<dyn Write + Send>,
    clock: Box<dyn Clock>,
    t0: f64,
    tn: f64,
    tasks: Vec<TaskTime>,
    finished: bool,
}

impl State {
    /// `tasktime()`: the timestamp line; also restarts the per-task stopwatch.
    fn tasktime(&mut self) -> String {
        let now = self.clock.now();
        let line = format!(
            "{} ({}){}{}",
            self.clock.format(now),
            seconds_to_str(now - self.tn),
            " ".repeat(7),
            seconds_to_str(now - self.t0)
        );
        self.tn = now;
        filled(&line, '*')
    }

    /// `timestamp()`: closes the running task's time.
    fn close_current(&mut self, now: f64) {
        if let Some(t) = self.tasks.last_mut() {
            if t.took.is_none() {
                t.took = Some(now - t.start);
            }
        }
    }
}

pub struct ProfileCallback {
    inner: Box<dyn Callback>,
    state: Mutex<State>,
    columns: usize,
}

impl ProfileCallback {
    /// `columns`: Ansible's display width (79 when not a terminal) for the summary rows.
    pub fn new(inner: Box<dyn Callback>, out: Box<dyn Write + Send>, columns: usize) -> Self {
        ProfileCallback::with_clock(inner, out, columns, Box::new(SystemClock))
    }

    pub fn with_clock(
        inner: Box<dyn Callback>,
        out: Box<dyn Write + Send>,
        columns: usize,
        mut clock: Box<dyn Clock>,
    ) -> Self {
        let t0 = clock.now();
        ProfileCallback {
            inner,
            state: Mutex::new(State {
                out,
                clock,
                t0,
                tn: t0,
                tasks: Vec::new(),
                finished: false,
            }),
            columns,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// ansible.posix.timer's line at the end of a run.
pub fn timer_line(total_seconds: u64) -> String {
    let (days, rest) = (total_seconds / 86_400, total_seconds % 86_400);
    format!(
        "Playbook run took {days} days, {} hours, {} minutes, {} seconds\n",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

impl Callback for ProfileCallback {
    fn playbook_start(&self, path: &str) {
        self.inner.playbook_start(path);
    }
    fn plays_in(&self, count: usize, path: &str) {
        self.inner.plays_in(count, path);
    }
    fn verbose(&self, min_verbosity: u8, msg: &str) {
        self.inner.verbose(min_verbosity, msg);
    }
    fn play_start(&self, name: &str, check_mode: bool) {
        self.inner.play_start(name, check_mode);
    }
    fn play_details(&self, path: Option<&str>) {
        self.inner.play_details(path);
    }
    fn task_start(&self, name: &str, kind: TaskKind, check_mode: bool) {
        self.inner.task_start(name, kind, check_mode);
        let mut st = self.lock();
        let line = st.tasktime();
        let _ = writeln!(st.out, "{line}");
        let _ = st.out.flush();
        let now = st.clock.now();
        st.close_current(now);
        st.tasks.push(TaskTime {
            name: name.to_string(),
            start: now,
            took: None,
        });
    }
    fn task_details(&self, path: Option<&str>, action: &str) {
        self.inner.task_details(path, action);
    }
    fn host_result(&self, result: &TaskResult, verbosity: u8) {
        self.inner.host_result(result, verbosity);
    }
    fn file_diff(&self, result: &TaskResult) {
        self.inner.file_diff(result);
    }
    fn item_result(&self, result: &TaskResult, verbosity: u8) {
        self.inner.item_result(result, verbosity);
    }
    fn retry(&self, host: &str, task_name: &str, retries_left: u32) {
        self.inner.retry(host, task_name, retries_left);
    }
    fn included(&self, path: &str, hosts: &[String]) {
        self.inner.included(path, hosts);
    }
    fn included_item(&self, path: &str, hosts: &[String], item_label: Option<&str>) {
        self.inner.included_item(path, hosts, item_label);
    }
    fn warning(&self, msg: &str) {
        self.inner.warning(msg);
    }
    fn error(&self, msg: &str) {
        self.inner.error(msg);
    }
    fn no_hosts_matched(&self) {
        self.inner.no_hosts_matched();
    }
    fn no_more_hosts(&self) {
        self.inner.no_more_hosts();
    }
    fn recap(&self, stats: &IndexMap<String, HostStats>) {
        self.inner.recap(stats);
    }
    fn custom_stats(&self, stats: &serde_json::Map<String, serde_json::Value>) {
        self.inner.custom_stats(stats);
    }
    fn progress(&self, done: usize, total: usize, running: &[String]) {
        self.inner.progress(done, total, running);
    }

    fn playbook_end(&self) {
        self.inner.playbook_end();
        let mut st = self.lock();
        if st.finished {
            return;
        }
        st.finished = true;
        let mut text = st.tasktime();
        text.push('\n');
        text.push_str(&filled("", '='));
        text.push('\n');
        let now = st.clock.now();
        st.close_current(now);
        let mut rows: Vec<(&str, f64)> = st
            .tasks
            .iter()
            .map(|t| (t.name.as_str(), t.took.unwrap_or(0.0)))
            .collect();
        // Stable, like Python's sorted(): equal times keep their run order.
        rows.sort_by(|a, b| b.1.total_cmp(&a.1));
        let w = self.columns.saturating_sub(9);
        for (name, took) in rows.into_iter().take(OUTPUT_LIMIT) {
            let time = format!(" {took:.2}s");
            text.push_str(&format!("{:-<w$}{time:->9}\n", format!("{name} ")));
        }
        text.push_str(&timer_line((now - st.t0).max(0.0) as u64));
        let _ = st.out.write_all(text.as_bytes());
        let _ = st.out.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_to_str_like_profile_tasks() {
        assert_eq!(seconds_to_str(0.012), "0:00:00.012");
        assert_eq!(seconds_to_str(1.2345), "0:00:01.234");
        assert_eq!(seconds_to_str(3723.5), "1:02:03.500");
    }

    #[test]
    fn filled_pads_to_80_with_trailing_space() {
        let f = filled("abc", '*');
        assert_eq!(f.len(), 80);
        assert!(f.starts_with("abc ***"));
        assert!(f.ends_with("* "));
        assert_eq!(filled("", '='), format!("{} ", "=".repeat(79)));
    }

    #[test]
    fn strftime_has_profile_tasks_shape() {
        let s = SystemClock.format(0.0);
        // e.g. "Thursday 01 January 1970  00:00:00 +0000" in UTC
        let re =
            regex::Regex::new(r"^[A-Z][a-z]+day \d\d [A-Z][a-z]+ \d{4}  \d\d:\d\d:\d\d [+-]\d{4}$")
                .unwrap();
        assert!(re.is_match(&s), "{s}");
    }
}
