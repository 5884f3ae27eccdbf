//! Output layer: callbacks that turn executor events into what the user sees.
//!
//! The executor calls a [`Callback`]; `default` mimics Ansible's default stdout callback,
//! `json` ansible.posix's json callback, `profile` wraps another with profile_tasks timing.
//! [`make_callback`] picks one from the `stdout_callback` setting.

pub mod banner;
pub mod color;
pub mod debug_log;
pub mod default;
pub mod diff;
pub mod json;
pub mod live_detail;
pub mod log_file;
pub mod profile;
pub mod pyjson;
pub mod status_line;

pub use default::DefaultCallback;
pub use json::JsonCallback;
pub use profile::ProfileCallback;

use crate::executor::result::{HostStats, TaskResult};
use indexmap::IndexMap;
use serde_json::{Map, Value};

/// Key in [`TaskResult::data`] holding the already-formatted error summary that Ansible 2.19
/// prints as `[ERROR]: <summary>` before a failed result, e.g.
/// `"Task failed: Module failed: boom\nOrigin: /p/play.yml:5:7\n\n3 ...\n  ^ column 7"`.
/// Like every `_ansible_*` key it is never shown in dumped results.
pub const ERROR_SUMMARY_KEY: &str = "_ansible_error_summary";

/// `_IGNORE`/`_PRESERVE` of ansible-core's task_result.py.
const VIEW_IGNORE: &[&str] = &["failed", "skipped"];
const CENSOR_PRESERVE: &[&str] = &[
    "attempts",
    "changed",
    "retries",
    "_ansible_no_log",
    "exception",
    "warnings",
    "deprecations",
];

/// What a callback sees of a result (`as_callback_task_result`): `failed`/`skipped` dropped
/// (the event already says so), `invocation` dropped for debug, and everything but a few keys
/// censored when `_ansible_no_log` is set. Idempotent, so it does not matter whether the
/// executor already applied it.
pub fn callback_view(data: &Map<String, Value>, action: Option<&str>) -> Map<String, Value> {
    if data.get("_ansible_no_log") == Some(&Value::Bool(true)) {
        let mut censored = Map::new();
        for k in CENSOR_PRESERVE {
            if let Some(v) = data.get(*k) {
                censored.insert((*k).to_string(), v.clone());
            }
        }
        censored.insert(
            "censored".into(),
            Value::String(
                "the output has been hidden due to the fact that 'no_log: true' was specified for this result".into(),
            ),
        );
        if let Some(Value::Array(items)) = data.get("results") {
            let items = items
                .iter()
                .map(|item| match item {
                    Value::Object(m) if m.get("_ansible_no_log") == Some(&Value::Bool(true)) => {
                        Value::Object(callback_view(m, None))
                    }
                    other => other.clone(),
                })
                .collect();
            censored.insert("results".into(), Value::Array(items));
        }
        return censored;
    }
    let is_debug = action.is_some_and(|a| default::DEBUG_ACTIONS.contains(&a));
    let mut view: Value = Value::Object(
        data.iter()
            .filter(|(k, _)| !(VIEW_IGNORE.contains(&k.as_str()) || is_debug && *k == "invocation"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    );
    strip_internal_keys_except(&mut view);
    match view {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// Internal keys callbacks still get (`CLEAN_EXCEPTIONS`, plus the delegation facts
/// `_SUB_PRESERVE` keeps for `host -> delegate(ansible_host)` labels).
const CLEAN_EXCEPTIONS: &[&str] = &[
    "_ansible_verbose_always",
    "_ansible_item_label",
    "_ansible_no_log",
    "_ansible_verbose_override",
    "_ansible_delegated_vars",
];

/// `strip_internal_keys(.., exceptions=CLEAN_EXCEPTIONS)`, at every depth.
fn strip_internal_keys_except(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|k, _| !k.starts_with("_ansible_") || CLEAN_EXCEPTIONS.contains(&k.as_str()));
            m.values_mut().for_each(strip_internal_keys_except);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_internal_keys_except),
        _ => {}
    }
}

/// What kind of banner a task gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskKind {
    Task,
    Handler,
}

/// Everything the executor reports. All methods are called from the executor's main thread
/// except `host_result`/`item_result`/`retry`, which may come from worker threads but are
/// serialized by the executor (one at a time).
///
/// Result data conventions (as in Ansible): `warnings`/`deprecations` (lists of strings) are
/// printed as `[WARNING]:`/`[DEPRECATION WARNING]:` on stderr; [`ERROR_SUMMARY_KEY`] as
/// `[ERROR]:`; `_ansible_verbose_always: true` (debug) shows the result without `-v`;
/// `_ansible_no_log: true` censors the item label; a `results` list marks a loop's
/// aggregated result.
pub trait Callback: Send + Sync {
    fn playbook_start(&self, _path: &str) {}
    /// Right after `playbook_start`: how many plays the playbook holds (imports included);
    /// the default callback says `N plays in PATH` at -vv, as ansible-playbook does.
    fn plays_in(&self, _count: usize, _path: &str) {}
    /// A plain line shown from -v`min_verbosity` on (`META: ...`, `statically imported: ...`).
    fn verbose(&self, _min_verbosity: u8, _msg: &str) {}
    /// `PLAY [name] ****`; `name` is the play's name or its `hosts:` pattern.
    fn play_start(&self, name: &str, check_mode: bool);
    /// `TASK [role : name] ****` or `RUNNING HANDLER [...]`. `name` already includes `role : `.
    fn task_start(&self, name: &str, kind: TaskKind, check_mode: bool);
    /// Called right after `play_start`: the play's `file:line` (the json callback records it).
    fn play_details(&self, _path: Option<&str>) {}
    /// Called right after `task_start`: the task's `file:line` and its resolved action
    /// (`debug`, `ansible.builtin.command`, `include_tasks`...). The default callback needs the
    /// action to trim debug results and hide include results; the json callback records both.
    fn task_details(&self, _path: Option<&str>, _action: &str) {}
    /// A host finished the task (for a loop: after all its items; `data.results` holds them).
    fn host_result(&self, result: &TaskResult, verbosity: u8);
    /// `--diff`: called before `host_result`/`item_result` for a result (or loop item) whose
    /// task runs in diff mode; shows `data.diff` when the result changed something.
    fn file_diff(&self, _result: &TaskResult) {}
    /// One loop item finished.
    fn item_result(&self, result: &TaskResult, verbosity: u8);
    /// `FAILED - RETRYING: [host]: NAME (N retries left).`
    fn retry(&self, host: &str, task_name: &str, retries_left: u32);
    /// `included: /path/file.yml for h1, h2`
    fn included(&self, path: &str, hosts: &[String]);
    /// `included: /path/file.yml for h1, h2 => (item=x)` for a looped include.
    fn included_item(&self, path: &str, hosts: &[String], item_label: Option<&str>) {
        let _ = item_label;
        self.included(path, hosts);
    }
    /// `[WARNING]: ...`
    fn warning(&self, msg: &str);
    /// `[ERROR]: msg` on its own (Ansible's `display.error`), e.g. an included file that
    /// could not be loaded.
    fn error(&self, _msg: &str) {}
    /// `skipping: no hosts matched`
    fn no_hosts_matched(&self) {}
    /// `NO MORE HOSTS LEFT ****`
    fn no_more_hosts(&self);
    /// `PLAY RECAP ****` and one row per host, sorted by host name as Ansible does.
    fn recap(&self, stats: &IndexMap<String, HostStats>);
    /// `CUSTOM STATS:` after the recap: set_stats data per host and for the run (`_run`).
    fn custom_stats(&self, _stats: &serde_json::Map<String, serde_json::Value>) {}
    /// Called once at the very end (profile_tasks prints its table here).
    fn playbook_end(&self) {}
    /// Hosts still running the current task; a terminal status line shows them.
    fn progress(&self, _done: usize, _total: usize, _running: &[String]) {}
}

/// Build the stdout callback named by `stdout_callback` (ansible.cfg / `ANSIBLE_STDOUT_CALLBACK`),
/// optionally wrapped in profile_tasks timing. `color: None` decides from the environment and
/// whether stdout is a terminal.
pub fn make_callback(
    stdout_callback: &str,
    profile: bool,
    color: Option<bool>,
    verbosity: u8,
) -> Result<Box<dyn Callback>, String> {
    let is_tty = banner::stdout_is_terminal();
    let color = color.unwrap_or_else(|| color::color_from_env(is_tty));
    let inner: Box<dyn Callback> = match stdout_callback {
        "" | "default" | "ansible.builtin.default" => {
            Box::new(DefaultCallback::stdout(color, verbosity))
        }
        "json" | "ansible.posix.json" | "community.general.json" => {
            Box::new(JsonCallback::new(Box::new(std::io::stdout())))
        }
        "yaml" | "community.general.yaml" => {
            let cb = DefaultCallback::stdout(color, verbosity);
            cb.warning(&format!(
                "The '{stdout_callback}' callback is not supported; using the default callback."
            ));
            Box::new(cb)
        }
        other => {
            return Err(format!(
                "Invalid callback for stdout specified: {other}. Supported: default, json."
            ))
        }
    };
    if profile {
        Ok(Box::new(ProfileCallback::new(
            inner,
            Box::new(std::io::stdout()),
            banner::display_columns(),
        )))
    } else {
        Ok(inner)
    }
}

#[cfg(test)]
mod golden_tests;
