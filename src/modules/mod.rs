//! Modules: what a task does. One file per module; `registry` maps names to them.
//!
//! Every module has one shape:
//! 1. its [`ArgSpec`] list is checked by [`validate`] before it runs (unknown keys are an error,
//!    types are coerced the way Ansible does, e.g. `yes` is a bool);
//! 2. `run` queries the current state on the host through `ctx.conn`;
//! 3. in check mode it returns what would change, without changing it;
//! 4. otherwise it changes only what differs, and in diff mode returns `diff: {before, after}`.
//!
//! A spec that ends with [`ArgSpec::any`] accepts any other key as is (set_fact, add_host).
//! Shared helpers live in `util` (timestamps, running a script, output keys, and the test
//! `Evaluator`/runner in `util::test_support`).
//!
//! Where ansible-core 2.19 raises an exception instead of returning a failed result, the
//! registered `msg` starts with `Task failed: ` and modules reproduce it; the display header
//! then prints that msg as is, without adding `Action failed: `.
//!
//! Results are Ansible's return values as a JSON map. Special keys the executor acts upon, as in
//! Ansible: `ansible_facts` (merged into host facts), `add_host`, `add_group`, `failed`, `changed`,
//! `skipped`.

pub mod args;
pub mod commands;
pub mod control;
pub mod files;
pub mod k8s;
pub mod not_implemented;
pub mod packaging;
pub mod registry;
pub mod release;
pub mod service;
pub mod system;
pub mod util;

// The families keep the short paths (`modules::copy`) working.
pub use args::{validate, ArgKind, ArgSpec, Args};
pub use commands::{command, raw, script, shell};
pub use control::{add_host, assert, debug, fail, group_by, include_vars, pause, set_fact};
pub use files::{
    archive_check, blockinfile, copy, fetch, file, find, get_url, lineinfile, remote_file, replace,
    slurp, stat, tempfile, template, unarchive,
};
pub use release::{
    component_deploy, component_health, component_links, component_pack, component_publish,
    component_version,
};
pub use system::{getent, ping, setup, systemd, wait_for};

use crate::connection::{Become, Connection};
use serde_json::{Map, Value};
use std::path::PathBuf;

/// What a module returns: its result map, or a failure with its result map.
pub type ModuleResult = Result<Map<String, Value>, ModuleError>;

#[derive(Debug, Clone)]
pub enum ModuleError {
    /// The task failed on this host; the map holds `msg` and anything else to report.
    Failed(Map<String, Value>),
    /// The host could not be reached.
    Unreachable(String),
}

impl ModuleError {
    pub fn msg(msg: impl Into<String>) -> ModuleError {
        let mut m = Map::new();
        m.insert("msg".into(), Value::String(msg.into()));
        ModuleError::Failed(m)
    }
}

/// Templating hooks for modules that evaluate their own arguments (debug `var`, assert `that`).
pub trait Evaluator {
    /// Renders `{{ expr }}` and returns the native value.
    fn eval_expr(&self, expr: &str) -> Result<Value, String>;
    /// Evaluates a bare conditional (`when:` syntax).
    fn eval_condition(&self, expr: &str) -> Result<bool, String>;
    /// Evaluates a conditional that is not a string (a number is a broken conditional).
    fn eval_condition_value(&self, cond: &Value) -> Result<bool, String> {
        match cond {
            Value::String(s) => self.eval_condition(s),
            other => crate::template::conditional::evaluate(other, &minijinja::Value::UNDEFINED)
                .map_err(|e| e.message),
        }
    }
    /// Renders a template file's text with the task's variables (`opts`: where includes are
    /// found, delimiters).
    fn render_template(
        &self,
        text: &str,
        opts: &crate::template::FileOptions,
    ) -> Result<String, String>;
    /// Renders a template string (`"{{ x }}"`) to its native value.
    fn render_string(&self, text: &str) -> Result<Value, String>;
    /// `Origin: file:line:col` and the source excerpt of argument `name`'s value, for
    /// messages that point at it.
    fn arg_location(&self, _name: &str) -> Option<String> {
        None
    }
}

/// Everything a module may use while it runs on one host.
pub struct ModuleContext<'a> {
    pub host: &'a str,
    pub conn: &'a mut dyn Connection,
    pub check_mode: bool,
    pub diff_mode: bool,
    pub verbosity: u8,
    pub become_: Become,
    /// The task's `environment:`.
    pub env: Vec<(String, String)>,
    /// Where relative `src:` paths are looked up, most specific first (role files/ or
    /// templates/, the role dir, the playbook dir).
    pub search_paths: Vec<PathBuf>,
    /// The task's role directory, if the task comes from a role.
    pub role_path: Option<PathBuf>,
    /// The directory of the file the task was written in.
    pub task_dir: Option<PathBuf>,
    pub eval: &'a dyn Evaluator,
    /// The other hosts of the run, for modules that act on a whole fleet at once
    /// ([`Module::fleet`]); `None` elsewhere.
    pub fleet: Option<&'a dyn Fleet>,
}

/// What one host's result of a fleet task is: computed once for every host.
pub type FleetResults = std::collections::HashMap<String, ModuleResult>;

/// The run as a fleet module sees it: the inventory (ignoring `--limit`), the hosts the
/// task runs on, their variables and connections, and one result slot per task run.
pub trait Fleet: Sync {
    /// Inventory hosts matching a host pattern, `--limit` not applied.
    fn hosts_matching(&self, pattern: &str) -> Result<Vec<String>, String>;
    /// The hosts this task runs on (the play batch, `--limit` applied).
    fn targets(&self) -> &[String];
    /// A host's variable, templated.
    fn hostvar(&self, host: &str, name: &str) -> Option<Value>;
    /// The host's (shared, cached) connection.
    fn connection(
        &self,
        host: &str,
    ) -> Result<std::sync::Arc<std::sync::Mutex<Box<dyn Connection>>>, crate::connection::ConnError>;
    /// Computes the per-host results once for all the task's hosts; later callers wait for
    /// them and get their own entry.
    fn once(&self, compute: &mut dyn FnMut() -> FleetResults) -> &FleetResults;
}

pub trait Module: Send + Sync {
    /// The short name (`command`); `ansible.builtin.command` resolves to it.
    fn name(&self) -> &'static str;
    /// The accepted arguments.
    fn spec(&self) -> &'static [ArgSpec];
    /// Whether a free-form string (`command: ls -l`) is accepted, stored as `_raw_params`.
    fn free_form(&self) -> bool {
        false
    }
    /// Argument names whose values the executor must not template (they are expressions).
    fn raw_args(&self) -> &'static [&'static str] {
        &[]
    }
    /// Runs on the controller only (no connection use); executor may skip opening one.
    fn controller_only(&self) -> bool {
        false
    }
    /// Runs once, for the first host of the batch, as if `run_once` (Ansible's
    /// `BYPASS_HOST_LOOP` action plugins: add_host, pause).
    fn bypass_host_loop(&self) -> bool {
        false
    }
    /// Acts on the whole fleet at once (through `ctx.fleet`); implies `controller_only`.
    fn fleet(&self) -> bool {
        false
    }
    /// Whether `async:` is accepted (Ansible's `_supports_async`); we still run it
    /// synchronously. Actions that transfer files, like `script`, refuse it.
    fn supports_async(&self) -> bool {
        true
    }
    fn run(&self, args: &Args, ctx: &mut ModuleContext) -> ModuleResult;
}
