//! Output layer: callbacks that turn executor events into what the user sees.
//!
//! The executor calls a [`Callback`]; `default` mimics Ansible's default stdout callback,
//! `json` ansible.posix's json callback, `profile` wraps another with profile_tasks timing.

pub mod pyrepr;

pub use pyrepr::python_repr;

use crate::executor::result::{HostStats, TaskResult};
use indexmap::IndexMap;

/// What kind of banner a task gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskKind {
    Task,
    Handler,
}

/// Everything the executor reports. All methods are called from the executor's main thread
/// except `host_result`/`item_result`/`retry`, which may come from worker threads but are
/// serialized by the executor (one at a time).
pub trait Callback: Send + Sync {
    fn playbook_start(&self, _path: &str) {}
    /// `PLAY [name] ****`; `name` is the play's name or its `hosts:` pattern.
    fn play_start(&self, name: &str, check_mode: bool);
    /// `TASK [role : name] ****` or `RUNNING HANDLER [...]`. `name` already includes `role : `.
    fn task_start(&self, name: &str, kind: TaskKind, check_mode: bool);
    /// A host finished the task (for a loop: after all its items).
    fn host_result(&self, result: &TaskResult, verbosity: u8);
    /// One loop item finished.
    fn item_result(&self, result: &TaskResult, verbosity: u8);
    /// `FAILED - RETRYING: [host]: NAME (N retries left).`
    fn retry(&self, host: &str, task_name: &str, retries_left: u32);
    /// `included: /path/file.yml for h1, h2`
    fn included(&self, path: &str, hosts: &[String]);
    /// `[WARNING]: ...`
    fn warning(&self, msg: &str);
    /// `NO MORE HOSTS LEFT ****`
    fn no_more_hosts(&self);
    /// `PLAY RECAP ****` and one row per host, in the order given.
    fn recap(&self, stats: &IndexMap<String, HostStats>);
    /// Called once at the very end (profile_tasks prints its table here).
    fn playbook_end(&self) {}
    /// Hosts still running the current task; a terminal status line shows them.
    fn progress(&self, _done: usize, _total: usize, _running: &[String]) {}
}
