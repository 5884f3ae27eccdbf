//! The outcome of one task on one host (or one loop item), as the callbacks see it.

use serde_json::{Map, Value};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    Ok,
    Changed,
    Failed,
    Skipped,
    Unreachable,
}

/// One result: Ansible's `result._result` plus what the callback needs to print it.
#[derive(Clone, Debug)]
pub struct TaskResult {
    pub host: String,
    pub status: Status,
    /// The module's return values (`changed`, `msg`, `rc`, `stdout`, ...), as Ansible registers them.
    pub data: Map<String, Value>,
    /// `ignore_errors` turned a failure into `...ignoring`.
    pub ignored: bool,
    /// `delegate_to` target, printed as `host -> delegate`.
    pub delegated_to: Option<String>,
    /// For a loop item: the label printed as `(item=...)`.
    pub item_label: Option<String>,
}

impl TaskResult {
    pub fn new(host: impl Into<String>, status: Status, data: Map<String, Value>) -> TaskResult {
        TaskResult {
            host: host.into(),
            status,
            data,
            ignored: false,
            delegated_to: None,
            item_label: None,
        }
    }
    pub fn is_changed(&self) -> bool {
        self.data
            .get("changed")
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }
}

/// Per-host counters of the PLAY RECAP.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HostStats {
    pub ok: u32,
    pub changed: u32,
    pub unreachable: u32,
    pub failed: u32,
    pub skipped: u32,
    pub rescued: u32,
    pub ignored: u32,
}
