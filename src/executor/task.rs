//! One task on one host: conditions, loops, the module call, retries, `failed_when` /
//! `changed_when`, `register`, facts, notifications, stats and output.

use super::error_chain::{self, Cause};
use super::play::PlayRun;
use super::result::{Status, TaskResult};
use crate::connection::{Become, ConnError};
use crate::modules::{registry, validate, Evaluator, ModuleContext, ModuleError};
use crate::playbook::model::{Keywords, RoleInstance, Task};
use crate::playbook::role::RoleSpec;
use crate::template::{templar, TemplateError, OMIT};
use crate::vars::scope::{clear_nested_error, take_nested_error, Scope};
use minijinja::Value as MjValue;
use serde_json::{Map, Value};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A dynamic include one host asked for.
#[derive(Clone, Debug)]
pub struct IncludeRequest {
    pub path: PathBuf,
    pub display_path: String,
    pub keywords: Keywords,
    pub role: Option<Arc<RoleInstance>>,
    pub role_spec: Option<RoleSpec>,
    pub file_dir: PathBuf,
    pub origin: crate::error::Origin,
    /// Identity for grouping hosts: file + vars.
    pub key: String,
    /// For a looped include: the item, printed as `=> (item=...)`.
    pub item_label: Option<String>,
    /// Included by a handler: its tasks are shown as `RUNNING HANDLER`.
    pub from_handler: bool,
}

impl IncludeRequest {
    pub fn same_as(&self, other: &IncludeRequest) -> bool {
        self.key == other.key
    }
}

#[derive(Debug, Default)]
pub struct HostOutcome {
    pub failed: bool,
    pub unreachable: bool,
    pub includes: Vec<IncludeRequest>,
    pub meta: Option<String>,
    pub registered: Option<Map<String, Value>>,
}

/// Templating for modules that evaluate their own arguments.
struct TaskEvaluator<'a> {
    ctx: MjValue,
    arg_origins: &'a std::collections::HashMap<String, crate::error::Origin>,
}

impl Evaluator for TaskEvaluator<'_> {
    fn eval_expr(&self, expr: &str) -> Result<Value, String> {
        templar()
            .render_native(&format!("{{{{ {expr} }}}}"), &self.ctx)
            .map_err(with_nested)
    }
    fn eval_condition(&self, expr: &str) -> Result<bool, String> {
        templar()
            .eval_condition(&Value::String(expr.to_string()), &self.ctx)
            .map_err(with_nested)
    }
    fn render_template(
        &self,
        text: &str,
        opts: &crate::template::FileOptions,
    ) -> Result<String, String> {
        templar()
            .render_file_with(text, &self.ctx, opts)
            .map_err(with_nested)
    }
    fn render_string(&self, text: &str) -> Result<Value, String> {
        templar()
            .render_native(text, &self.ctx)
            .map_err(with_nested)
    }
    fn arg_location(&self, name: &str) -> Option<String> {
        self.arg_origins.get(name).map(|o| o.located())
    }
}

/// Prefers the error met inside a nested variable over the outer "is undefined".
fn with_nested(e: TemplateError) -> String {
    take_nested_error().unwrap_or(e.message)
}

/// A template error's message, the innermost one when a nested template failed.
pub fn nested_message(e: TemplateError) -> String {
    with_nested(e)
}

/// A result key holding a list of strings (`groups`, `parent_groups`); absent means empty.
fn string_list(data: &Map<String, Value>, key: &str) -> Vec<String> {
    data.get(key)
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// `ansible_loop` for item `i` with `loop_control.extended`; `previtem` / `nextitem` only
/// where there is one, as Ansible builds it; `allitems` unless `extended_allitems: false`.
fn extended_loop_vars(items: &[Value], i: usize, allitems: bool) -> Value {
    let n = items.len();
    let mut m = Map::new();
    if allitems {
        m.insert("allitems".into(), Value::Array(items.to_vec()));
    }
    m.insert("index".into(), Value::from(i + 1));
    m.insert("index0".into(), Value::from(i));
    m.insert("revindex".into(), Value::from(n - i));
    m.insert("revindex0".into(), Value::from(n - i - 1));
    m.insert("first".into(), Value::Bool(i == 0));
    m.insert("last".into(), Value::Bool(i + 1 == n));
    m.insert("length".into(), Value::from(n));
    if i > 0 {
        m.insert("previtem".into(), items[i - 1].clone());
    }
    if let Some(next) = items.get(i + 1) {
        m.insert("nextitem".into(), next.clone());
    }
    Value::Object(m)
}

/// The arguments of a task written as one template string (`module: "{{ args }}"`), for a
/// module that takes no free-form text: the mapping it renders to; `None` otherwise.
fn templated_args(
    task: &Task,
    free_form: bool,
    ctx: &MjValue,
) -> Option<Result<Map<String, Value>, String>> {
    if free_form || task.args.len() != 1 {
        return None;
    }
    let raw = task.args.get("_raw_params")?.as_str()?;
    if !crate::template::is_template(raw) {
        return None;
    }
    Some(
        match templar().render_value(&Value::String(raw.into()), ctx) {
            Ok(Value::Object(m)) => Ok(m),
            Ok(other) => Err(format!(
                "the arguments of '{}' must be a mapping; {raw} rendered to {other}",
                task.action
            )),
            Err(e) => Err(with_nested(e)),
        },
    )
}

/// `Task failed: Action failed: MSG` (or `Action failed.` without a message) at the task.
fn action_failed_summary(task: &Task, d: &Map<String, Value>) -> String {
    let msg = match d.get("msg") {
        Some(Value::String(s)) if !s.is_empty() => format!("Action failed: {s}"),
        Some(Value::String(_)) => "Action failed.".to_string(),
        None if flag(d, "failed_when_result") => "Action failed: Unknown error.".to_string(),
        None => "Action failed.".to_string(),
        Some(other) => format!("Action failed: {other}"),
    };
    format!("Task failed: {msg}\n{}", task.origin.located())
}

/// Appends to a list-valued result key (`warnings`, `deprecations`), creating it.
fn push_list(data: &mut Map<String, Value>, key: &str, v: Value) {
    match data.get_mut(key) {
        Some(Value::Array(a)) => a.push(v),
        _ => {
            data.insert(key.into(), Value::Array(vec![v]));
        }
    }
}

/// A boolean result key (`failed`, `changed`, `skipped`, ...); absent means false.
fn flag(data: &Map<String, Value>, key: &str) -> bool {
    data.get(key).and_then(Value::as_bool).unwrap_or(false)
}

/// A failure caused by the task as written (templating, arguments): the message plus
/// Ansible 2.19's error block with the origin and a source excerpt.
/// Why an include did not produce its tasks: a failure of the include task itself, or an
/// included file or role that could not be loaded (Ansible fails those apart from the task:
/// `[ERROR]: reason`, a failure counted per included file, never as rescued).
enum IncludeError {
    Task(String),
    Load(String),
}

impl From<String> for IncludeError {
    fn from(msg: String) -> IncludeError {
        IncludeError::Task(msg)
    }
}

impl From<&str> for IncludeError {
    fn from(msg: &str) -> IncludeError {
        IncludeError::Task(msg.to_string())
    }
}

/// Marks a result whose include could not be loaded.
const INCLUDE_LOAD_ERROR: &str = "_ansible_include_load_error";

/// How many included files of this result could not be loaded.
fn include_load_errors(data: &Map<String, Value>) -> u32 {
    let marked = |m: &Map<String, Value>| m.get(INCLUDE_LOAD_ERROR) == Some(&Value::Bool(true));
    match data.get("results").and_then(Value::as_array) {
        Some(items) => items
            .iter()
            .filter_map(Value::as_object)
            .filter(|m| marked(m))
            .count() as u32,
        None => u32::from(marked(data)),
    }
}

/// Ansible's message for an included file that is not there.
fn not_found(dir: &std::path::Path, file: &str) -> String {
    let path = dir.join(file).display().to_string();
    format!(
        "Could not find or access '{path}' on the Ansible Controller: Unable to retrieve file contents.\n\
         Could not find or access '{path}' on the Ansible Controller.\n\
         If you are using a module and expect the file to exist on the remote, see the remote_src option: \
         [Errno 2] No such file or directory: '{path}'"
    )
}

/// The result of an include whose file or role could not be loaded, as Ansible shows it.
fn include_load_error(task: &Task, reason: String) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("failed".into(), Value::Bool(true));
    m.insert("changed".into(), Value::Bool(false));
    let named = ["_raw_params", "file", "name"]
        .iter()
        .find_map(|k| task.args.get(*k).cloned());
    if let Some(n) = named {
        m.insert("include".into(), n);
    }
    m.insert("reason".into(), Value::String(reason.clone()));
    m.insert(
        crate::output::ERROR_SUMMARY_KEY.into(),
        Value::String(reason),
    );
    m.insert(INCLUDE_LOAD_ERROR.into(), Value::Bool(true));
    m
}

fn task_error(task: &Task, msg: impl Into<String>) -> Map<String, Value> {
    let msg = format!("Task failed: {}", msg.into());
    let mut m = fail_map(msg.clone());
    // Ansible sets it on every result built from an exception (debug's callback hides it).
    m.insert("changed".into(), Value::Bool(false));
    let summary = format!("{msg}\n{}", task.origin.located());
    m.insert(
        crate::output::ERROR_SUMMARY_KEY.into(),
        Value::String(summary),
    );
    m
}

/// Arguments the module's spec refuses, reported as Ansible does: a module fails with
/// `Module failed: MSG` (the check runs in the module); a controller action's own check
/// is `Task failed: MSG`.
fn bad_arguments(task: &Task, controller_only: bool, msg: String) -> Map<String, Value> {
    if controller_only {
        let mut m = task_error(task, msg.clone());
        m.insert("msg".into(), Value::String(msg));
        m.remove("changed");
        return m;
    }
    let mut m = fail_map(msg);
    m.insert("changed".into(), Value::Bool(false));
    add_error_summary(task, &mut m);
    m
}

/// A failure with causes, each pointing at where it is written (`error_chain.rs`).
fn task_error_chain(task: &Task, causes: &[Cause]) -> Map<String, Value> {
    let mut m = fail_map(error_chain::full_message(causes));
    m.insert("changed".into(), Value::Bool(false));
    // An exception caused it (a templating error): Ansible's result says so.
    m.insert(
        "exception".into(),
        Value::String("(traceback unavailable)".into()),
    );
    m.insert(
        crate::output::ERROR_SUMMARY_KEY.into(),
        Value::String(error_chain::summary(&task.origin, causes)),
    );
    m
}

/// Adds Ansible 2.19's `[ERROR]: Task failed: Module failed: ...` block to a failed result
/// that has none yet (controller-side actions say `Action failed`).
fn add_error_summary(task: &Task, data: &mut Map<String, Value>) {
    if data.contains_key(crate::output::ERROR_SUMMARY_KEY) || data.contains_key("results") {
        return;
    }
    let msg = data.get("msg").map(|m| match m {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    });
    let mut msg = msg.unwrap_or_else(|| "Unknown error.".into());
    if data.get("_ansible_no_log") == Some(&Value::Bool(true)) {
        // Ansible prints the message here even under no_log; we keep the secret hidden.
        msg = "(censored due to no_log)".into();
    }
    let text = if msg.starts_with("Task failed:") {
        msg
    } else {
        let controller = registry::find(&task.action).is_some_and(|m| m.controller_only());
        let kind = if controller { "Action" } else { "Module" };
        format!("Task failed: {kind} failed: {msg}")
    };
    let summary = format!("{text}\n{}", task.origin.located());
    data.insert(
        crate::output::ERROR_SUMMARY_KEY.into(),
        Value::String(summary),
    );
}

fn fail_map(msg: impl Into<String>) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("failed".into(), Value::Bool(true));
    m.insert("msg".into(), Value::String(msg.into()));
    m
}

/// A loop's ignore_unreachable, decided over its items, from `run_loop` to `finish`.
const IGNORE_UNREACHABLE_KEY: &str = "_ansible_ignore_unreachable";

/// A boolean keyword (`become`, `diff`, ...): templated, then read as Ansible's strict
/// `boolean()` reads it (`yes`/`no`/`true`/`1`/...; anything else is an error).
fn keyword_bool(v: &Option<Value>, ctx: &MjValue, name: &str) -> Result<Option<bool>, String> {
    let rendered = match v {
        None => return Ok(None),
        Some(Value::Bool(b)) => return Ok(Some(*b)),
        Some(other) => templar().render_value(other, ctx).map_err(with_nested)?,
    };
    if rendered.is_null() {
        return Ok(None);
    }
    let b = match &rendered {
        Value::String(s) => crate::modules::args::to_bool(&Value::String(s.trim().to_string()))
            .filter(|_| !s.trim().is_empty()),
        Value::Number(_) | Value::Bool(_) => crate::modules::args::to_bool(&rendered),
        _ => None,
    };
    b.map(Some).ok_or_else(|| {
        let shown = match &rendered {
            Value::String(s) => crate::template::pyfmt::repr_str(s),
            other => crate::template::pyfmt::repr(other),
        };
        format!("Error processing keyword '{name}': The value {shown} could not be converted to 'bool'.")
    })
}

fn render_opt_string(v: &Option<Value>, ctx: &MjValue) -> Result<Option<String>, String> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => templar()
            .render_string(s, ctx)
            .map(Some)
            .map_err(with_nested),
        Some(other) => Ok(Some(other.to_string())),
    }
}

/// Drops arguments that rendered to `omit`.
fn strip_omit(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(_, v)| v.as_str() != Some(OMIT))
                .map(|(k, v)| (k, strip_omit(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .filter(|v| v.as_str() != Some(OMIT))
                .map(strip_omit)
                .collect(),
        ),
        other => other,
    }
}

/// The `(item=...)` label: Python's `str()` of the item.
fn value_label(v: &Value) -> String {
    crate::output::pyjson::py_str(v)
}

/// Per-host settings that come from keywords and variables.
struct Settings {
    become_: Become,
    delegate_to: Option<String>,
    ignore_errors: bool,
    check_mode: bool,
    diff: bool,
    no_log: bool,
    env: Vec<(String, String)>,
    /// The task's `timeout:` in seconds (0 or unset: none).
    timeout: u64,
    /// The task's `async:` in seconds (0 or unset: none).
    async_val: u64,
}

impl PlayRun<'_> {
    fn settings(&self, task: &Task, scope: &Arc<Scope>) -> Result<Settings, String> {
        let ctx = scope.context();
        let kw = &task.keywords;
        let opts = &self.shared.state.options;
        let var = |name: &str| scope.get_json(name).ok().flatten();
        let become_on = match keyword_bool(&kw.become_, &ctx, "become")? {
            Some(b) => b,
            None => var("ansible_become")
                .and_then(|v| crate::modules::args::to_bool(&v))
                .unwrap_or(opts.become_),
        };
        let as_string = |v: Option<Value>| v.and_then(|v| v.as_str().map(str::to_string));
        let become_ = Become {
            enabled: become_on,
            method: render_opt_string(&kw.become_method, &ctx)?
                .or_else(|| as_string(var("ansible_become_method")))
                .or_else(|| opts.become_method.clone())
                .unwrap_or_else(|| "sudo".into()),
            user: render_opt_string(&kw.become_user, &ctx)?
                .or_else(|| as_string(var("ansible_become_user")))
                .or_else(|| opts.become_user.clone())
                .unwrap_or_else(|| "root".into()),
            flags: render_opt_string(&kw.become_flags, &ctx)?
                .or_else(|| as_string(var("ansible_become_flags")))
                .unwrap_or_default(),
            password: as_string(var("ansible_become_password"))
                .or_else(|| as_string(var("ansible_become_pass")))
                .or_else(|| opts.become_password.clone()),
        };
        let mut env = Vec::new();
        for e in &kw.environment {
            let rendered = templar().render_value(e, &ctx).map_err(with_nested)?;
            match rendered {
                Value::Object(m) => {
                    for (k, v) in m {
                        let v = match v {
                            Value::String(s) => s,
                            other => other.to_string(),
                        };
                        env.retain(|(ek, _): &(String, String)| *ek != k);
                        env.push((k, v));
                    }
                }
                Value::Null => {}
                other => return Err(format!("environment must be a dictionary, got {other}")),
            }
        }
        Ok(Settings {
            become_,
            delegate_to: match render_opt_string(&kw.delegate_to, &ctx) {
                Ok(d) => d,
                // With a loop it may name the item; it is resolved again per item.
                Err(_) if task.loop_.is_some() => None,
                Err(e) => return Err(e),
            },
            ignore_errors: keyword_bool(&kw.ignore_errors, &ctx, "ignore_errors")?.unwrap_or(false),
            check_mode: keyword_bool(&kw.check_mode, &ctx, "check_mode")?.unwrap_or(opts.check),
            diff: keyword_bool(&kw.diff, &ctx, "diff")?.unwrap_or(opts.diff),
            no_log: keyword_bool(&kw.no_log, &ctx, "no_log")?.unwrap_or(false),
            env,
            timeout: task_timeout(&kw.timeout, &ctx)?,
            async_val: task_timeout(&kw.async_, &ctx)?,
        })
    }

    /// Runs `task` on `host` and reports the result.
    pub fn run_task_on_host(&self, task: &Arc<Task>, host: &str, rescuable: bool) -> HostOutcome {
        clear_nested_error();
        let scope = self.scope(Some(task), host, Map::new());
        // `action: {module: '{{ name }}'}`: Ansible resolves the module per host at run time.
        if crate::template::is_template(&task.action) {
            let resolved = templar()
                .render_string(&task.action, &scope.context())
                .map_err(with_nested)
                .and_then(|name| {
                    registry::find(&name)
                        .map(|_| name.clone())
                        .ok_or_else(|| format!("couldn't resolve module/action '{name}'. This often indicates a misspelling, missing collection, or incorrect module path."))
                });
            return match resolved {
                Ok(name) => {
                    let mut t = (**task).clone();
                    t.action = name;
                    self.run_task_on_host(&Arc::new(t), host, rescuable)
                }
                Err(msg) => {
                    let data = task_error(task, msg);
                    self.finish(task, host, data, None, false, rescuable, Vec::new())
                }
            };
        }
        let settings = match self.settings(task, &scope) {
            Ok(s) => s,
            Err(msg) => {
                // As Ansible: `when:` is decided first, so keywords of a skipped task
                // (`become_user: "{{ registered.stat.pw_name }}"`) are never resolved.
                let data = match self.check_when(task, &scope.context()) {
                    Ok(false) if task.loop_.is_none() => skipped_map(task),
                    _ => task_error(task, msg),
                };
                // Another keyword failed; `ignore_errors` itself may still hold.
                let ignore = keyword_bool(
                    &task.keywords.ignore_errors,
                    &scope.context(),
                    "ignore_errors",
                )
                .ok()
                .flatten()
                .unwrap_or(false);
                return self.finish(task, host, data, None, ignore, rescuable, Vec::new());
            }
        };
        let mut outcome_includes = Vec::new();
        let mut meta = None;
        let data = match &task.loop_ {
            None => {
                let ctx = scope.context();
                match self.check_when(task, &ctx) {
                    Err(failed) => failed,
                    Ok(false) => skipped_map(task),
                    Ok(true) => {
                        let (d, inc) =
                            self.run_with_retries(task, host, &scope, &settings, &Map::new());
                        outcome_includes.extend(inc);
                        if task.action == "meta" {
                            meta = d.get("_meta").and_then(Value::as_str).map(str::to_string);
                        }
                        d
                    }
                }
            }
            Some(spec) => match super::loops::expand(&spec.kind, &spec.value, &scope.context()) {
                // As Ansible: items that cannot be resolved only matter if the task is not
                // skipped by a `when:` that holds without them.
                Err(e) => {
                    let msg = with_nested(e);
                    match self.check_when(task, &scope.context()) {
                        Ok(false) => skipped_map(task),
                        _ => task_error(task, format!("Error while resolving loop items: {msg}")),
                    }
                }
                Ok(items) => {
                    let (d, inc) = self.run_loop(task, host, items, &settings);
                    outcome_includes.extend(inc);
                    d
                }
            },
        };
        let data = self.with_when_deprecations(task, data);
        let mut outcome = self.finish(
            task,
            host,
            data,
            settings.delegate_to.clone(),
            settings.ignore_errors,
            rescuable,
            outcome_includes,
        );
        outcome.meta = meta;
        outcome
    }

    /// 2.19's deprecation of templating delimiters in a conditional (`when: "{{ x }}"`),
    /// pointing at the expression, with the one-time hint on how to silence it.
    fn with_when_deprecations(
        &self,
        task: &Task,
        mut data: Map<String, Value>,
    ) -> Map<String, Value> {
        if !self.shared.state.options.deprecation_warnings {
            return data;
        }
        let templated = task
            .keywords
            .when
            .iter()
            .enumerate()
            .filter(|(_, c)| c.as_str().is_some_and(crate::template::is_template));
        let mut found = Vec::new();
        for (i, _) in templated {
            let mut msg = "Conditionals should not be surrounded by templating delimiters such as {{ }} or {% %}. This feature will be removed from ansible-core version 2.23.".to_string();
            if let Some(o) = task.keywords.when_origins.get(i) {
                msg.push('\n');
                msg.push_str(&o.located());
            }
            found.push(Value::String(msg));
        }
        if found.is_empty() {
            return data;
        }
        let hint = "Deprecation warnings can be disabled by setting `deprecation_warnings=False` in ansible.cfg.";
        push_list(&mut data, "warnings", Value::String(hint.into()));
        for d in found {
            push_list(&mut data, "deprecations", d);
        }
        data
    }

    /// Whether every `when` holds; a condition that cannot be evaluated fails the task,
    /// pointing at the expression.
    fn check_when(&self, task: &Task, ctx: &MjValue) -> Result<bool, Map<String, Value>> {
        if task.keywords.when.is_empty() {
            return Ok(true);
        }
        for (i, cond) in task.keywords.when.iter().enumerate() {
            let ok = templar().eval_condition(cond, ctx).map_err(|e| {
                let cause = Cause {
                    msg: format!("Error while evaluating conditional: {}", with_nested(e)),
                    origin: task.keywords.when_origins.get(i).cloned(),
                };
                task_error_chain(task, &[cause])
            })?;
            if !ok {
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn run_loop(
        &self,
        task: &Arc<Task>,
        host: &str,
        items: Vec<Value>,
        settings: &Settings,
    ) -> (Map<String, Value>, Vec<IncludeRequest>) {
        let lc = &task.loop_control;
        let loop_var = lc
            .get("loop_var")
            .and_then(Value::as_str)
            .unwrap_or("item")
            .to_string();
        let index_var = lc
            .get("index_var")
            .and_then(Value::as_str)
            .map(str::to_string);
        let label = lc.get("label").cloned();
        let pause = lc.get("pause").and_then(Value::as_f64).unwrap_or(0.0);
        let extended = lc
            .get("extended")
            .and_then(crate::modules::args::to_bool)
            .unwrap_or(false);
        let allitems = lc
            .get("extended_allitems")
            .and_then(crate::modules::args::to_bool)
            .unwrap_or(true);
        let break_when = lc.get("break_when").cloned();
        let n = items.len();
        let mut ignore_unreachable: Option<bool> = None;
        let mut results = Vec::new();
        let mut includes = Vec::new();
        let mut any_changed = false;
        let mut any_failed = false;
        let mut any_unreachable = false;
        let mut all_skipped = n > 0;
        for (i, item) in items.iter().enumerate() {
            if i > 0 && pause > 0.0 {
                std::thread::sleep(Duration::from_secs_f64(pause));
            }
            let mut top = Map::new();
            top.insert(loop_var.clone(), item.clone());
            top.insert("ansible_loop_var".into(), Value::String(loop_var.clone()));
            if let Some(iv) = &index_var {
                top.insert(iv.clone(), Value::from(i));
                top.insert("ansible_index_var".into(), Value::String(iv.clone()));
            }
            let loop_info = extended.then(|| extended_loop_vars(&items, i, allitems));
            if let Some(info) = &loop_info {
                top.insert("ansible_loop".into(), info.clone());
            }
            let scope = self.scope(Some(task), host, top.clone());
            let ctx = scope.context();
            let label_text = match &label {
                Some(l) => templar()
                    .render_value(l, &ctx)
                    .map(|v| value_label(&v))
                    .unwrap_or_else(|_| value_label(l)),
                None => value_label(item),
            };
            // A templated delegate_to may name the loop item, so it is resolved per item.
            let templated_delegate = matches!(&task.keywords.delegate_to,
                Some(Value::String(d)) if crate::template::is_template(d));
            let per_item = if templated_delegate {
                match self.settings(task, &scope) {
                    Ok(s) => Some(s),
                    Err(msg) => {
                        results.push(Value::Object(task_error(task, msg)));
                        any_failed = true;
                        continue;
                    }
                }
            } else {
                None
            };
            let settings = per_item.as_ref().unwrap_or(settings);
            let mut data = match self.check_when(task, &ctx) {
                Err(failed) => failed,
                Ok(false) => skipped_map(task),
                Ok(true) => {
                    let (d, inc) = self.run_with_retries(task, host, &scope, settings, &top);
                    includes.extend(inc);
                    d
                }
            };
            data.insert(loop_var.clone(), item.clone());
            data.insert("ansible_loop_var".into(), Value::String(loop_var.clone()));
            // Registered per item too, as Ansible does with `extended`.
            if let Some(info) = loop_info {
                data.insert("ansible_loop".into(), info);
            }
            if let Some(iv) = &index_var {
                data.insert(iv.clone(), Value::from(i));
                data.insert("ansible_index_var".into(), Value::String(iv.clone()));
            }
            if let Some(l) = &label {
                let _ = l;
                data.insert(
                    "_ansible_item_label".into(),
                    Value::String(label_text.clone()),
                );
            }
            let failed = flag(&data, "failed");
            let unreachable = flag(&data, "unreachable");
            let skipped = flag(&data, "skipped");
            if !failed && !skipped && !unreachable {
                // Later items see the facts of earlier ones (the accumulate idiom).
                self.apply_facts(task, host, &data, settings.delegate_to.as_deref());
                // Each item's add_host takes effect, with its own `changed`.
                self.apply_add_host(&mut data);
            }
            let changed = flag(&data, "changed");
            if unreachable {
                // Ansible's loop rule: the first unreachable item sets the task's
                // ignore_unreachable, a later unreachable item can only turn it off.
                let this = keyword_bool(
                    &task.keywords.ignore_unreachable,
                    &ctx,
                    "ignore_unreachable",
                )
                .ok()
                .flatten()
                .unwrap_or(false);
                ignore_unreachable = Some(ignore_unreachable.map_or(this, |was| was && this));
            }
            any_failed |= failed;
            any_unreachable |= unreachable;
            any_changed |= changed;
            all_skipped &= skipped;
            // An unreachable item prints as a failed one (`failed: [h] (item=x)`); the task
            // result then marks the host unreachable.
            let status = if failed || unreachable {
                Status::Failed
            } else if skipped {
                Status::Skipped
            } else if changed {
                Status::Changed
            } else {
                Status::Ok
            };
            if settings.no_log {
                data.insert("_ansible_no_log".into(), Value::Bool(true));
            }
            if failed || unreachable {
                add_error_summary(task, &mut data);
            }
            if data.contains_key(INCLUDE_LOAD_ERROR) {
                if let Some(Value::String(reason)) = data.get("reason") {
                    self.shared.callback.error(reason);
                }
            } else if !matches!(task.action.as_str(), "include_tasks" | "include_role") {
                let mut r = TaskResult::new(host, status, data.clone());
                r.item_label = Some(label_text);
                r.delegated_to = settings.delegate_to.clone();
                r.ignored = failed && settings.ignore_errors;
                if settings.diff && !settings.no_log {
                    self.shared.callback.file_diff(&r);
                }
                self.shared
                    .callback
                    .item_result(&r, self.shared.state.options.verbosity);
            }
            results.push(Value::Object(data));
            if let Some(bw) = &break_when {
                let mut top = top.clone();
                if let Some(reg) = &task.register {
                    top.insert(reg.clone(), results.last().cloned().unwrap_or(Value::Null));
                }
                let scope = self.scope(Some(task), host, top);
                if templar()
                    .eval_condition(bw, &scope.context())
                    .unwrap_or(false)
                {
                    break;
                }
            }
        }
        let mut out = Map::new();
        out.insert("changed".into(), Value::Bool(any_changed));
        if any_failed {
            out.insert("failed".into(), Value::Bool(true));
            out.insert(
                "msg".into(),
                Value::String("One or more items failed".into()),
            );
        } else if all_skipped {
            out.insert("skipped".into(), Value::Bool(true));
            out.insert("msg".into(), Value::String("All items skipped".into()));
        } else {
            out.insert("msg".into(), Value::String("All items completed".into()));
        }
        if n == 0 {
            out.insert("skipped".into(), Value::Bool(true));
            out.insert(
                "skipped_reason".into(),
                Value::String("No items in the list".into()),
            );
            out.insert("msg".into(), Value::String("All items skipped".into()));
        }
        if any_unreachable {
            out.insert("unreachable".into(), Value::Bool(true));
        }
        if let Some(ignore) = ignore_unreachable {
            out.insert(IGNORE_UNREACHABLE_KEY.into(), Value::Bool(ignore));
        }
        out.insert("results".into(), Value::Array(results));
        (out, includes)
    }

    /// Runs the action, retrying while `until` is false.
    fn run_with_retries(
        &self,
        task: &Arc<Task>,
        host: &str,
        scope: &Arc<Scope>,
        settings: &Settings,
        loop_vars: &Map<String, Value>,
    ) -> (Map<String, Value>, Vec<IncludeRequest>) {
        let ctx = scope.context();
        let Some(until) = &task.until else {
            let (mut d, inc) = self.run_action(task, host, scope, settings);
            self.apply_when_overrides(task, host, loop_vars, &mut d);
            return (d, inc);
        };
        let num = |v: &Option<Value>, default: f64| -> f64 {
            match v {
                Some(Value::Number(n)) => n.as_f64().unwrap_or(default),
                Some(Value::String(s)) => templar()
                    .render_native(s, &ctx)
                    .ok()
                    .and_then(|v| {
                        v.as_f64()
                            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                    })
                    .unwrap_or(default),
                _ => default,
            }
        };
        let retries = num(&task.retries, 3.0).max(0.0) as u32;
        let delay = num(&task.delay, 5.0).max(0.0);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let (mut d, inc) = self.run_action(task, host, scope, settings);
            // A connection failure ends the attempts at once, as in Ansible.
            if flag(&d, "unreachable") {
                return (d, inc);
            }
            self.apply_when_overrides(task, host, loop_vars, &mut d);
            d.insert("attempts".into(), Value::from(attempt));
            let mut top = loop_vars.clone();
            if let Some(reg) = &task.register {
                top.insert(reg.clone(), Value::Object(d.clone()));
            }
            for (k, v) in &d {
                top.entry(k.clone()).or_insert_with(|| v.clone());
            }
            let s = self.scope(Some(task), host, top);
            let done = templar()
                .eval_condition(until, &s.context())
                .unwrap_or(false);
            if done {
                d.remove("failed");
                return (d, inc);
            }
            if attempt > retries {
                d.insert("failed".into(), Value::Bool(true));
                return (d, inc);
            }
            // Ansible's `result.task_name`: the task's own name, without the role prefix.
            let name = task.name.clone().unwrap_or_else(|| task.display_name());
            self.shared
                .callback
                .retry(host, &name, retries + 1 - attempt);
            if delay > 0.0 {
                std::thread::sleep(Duration::from_secs_f64(delay));
            }
        }
    }

    /// `changed_when` and `failed_when`, which see the result under the register name.
    fn apply_when_overrides(
        &self,
        task: &Task,
        host: &str,
        loop_vars: &Map<String, Value>,
        d: &mut Map<String, Value>,
    ) {
        if task.changed_when.is_none() && task.failed_when.is_none() {
            return;
        }
        // An unreachable host has no result to judge.
        if flag(d, "skipped") || flag(d, "unreachable") {
            return;
        }
        let mut top = loop_vars.clone();
        if let Some(reg) = &task.register {
            top.insert(reg.clone(), Value::Object(d.clone()));
        }
        let s = self.scope(Some(task), host, top);
        let ctx = s.context();
        // Evaluates one override. As 2.19: an error fails the task but keeps the module's own
        // `msg`; the error goes to `<key>_result` and the task fails as an action.
        let eval = |cond: &Value, key: &str, d: &mut Map<String, Value>| -> Option<bool> {
            match templar().eval_condition(cond, &ctx) {
                Ok(b) => Some(b),
                Err(e) => {
                    let why = format!("Error while evaluating conditional: {}", with_nested(e));
                    d.insert("failed".into(), Value::Bool(true));
                    d.insert(key.into(), Value::String(why));
                    d.insert(
                        "exception".into(),
                        Value::String("(traceback unavailable)".into()),
                    );
                    d.insert(
                        crate::output::ERROR_SUMMARY_KEY.into(),
                        Value::String(action_failed_summary(task, d)),
                    );
                    None
                }
            }
        };
        if let Some(cw) = &task.changed_when {
            match eval(cw, "changed_when_result", d) {
                Some(b) => {
                    d.insert("changed".into(), Value::Bool(b));
                }
                None => return,
            }
        }
        if let Some(fw) = &task.failed_when {
            let was_failed = flag(d, "failed");
            if let Some(b) = eval(fw, "failed_when_result", d) {
                d.insert("failed_when_result".into(), Value::Bool(b));
                d.insert("failed".into(), Value::Bool(b));
                if b && !was_failed {
                    // A failure failed_when makes is the action's (2.19's error
                    // normalization): `Action failed`, and `msg` says so when there is none.
                    let summary = action_failed_summary(task, d);
                    if !d.contains_key("msg") {
                        let first = summary.lines().next().unwrap_or_default().to_string();
                        d.insert("msg".into(), Value::String(first));
                    }
                    d.insert(
                        "exception".into(),
                        Value::String("(traceback unavailable)".into()),
                    );
                    d.insert(
                        crate::output::ERROR_SUMMARY_KEY.into(),
                        Value::String(summary),
                    );
                }
            }
        }
    }

    /// One run of the task's action: a module, or an include.
    fn run_action(
        &self,
        task: &Arc<Task>,
        host: &str,
        scope: &Arc<Scope>,
        settings: &Settings,
    ) -> (Map<String, Value>, Vec<IncludeRequest>) {
        let ctx = scope.context();
        match task.action.as_str() {
            "include_tasks" | "include_role" => match self.include_request(task, &ctx) {
                Ok(inc) => {
                    let mut d = Map::new();
                    d.insert("changed".into(), Value::Bool(false));
                    d.insert("include".into(), Value::String(inc.display_path.clone()));
                    (d, vec![inc])
                }
                Err(IncludeError::Task(msg)) => (task_error(task, msg), Vec::new()),
                Err(IncludeError::Load(msg)) => (include_load_error(task, msg), Vec::new()),
            },
            "meta" => {
                let mut d = Map::new();
                d.insert("changed".into(), Value::Bool(false));
                if let Some(a) = task.args.get("_raw_params") {
                    d.insert("_meta".into(), a.clone());
                }
                (d, Vec::new())
            }
            _ => (self.run_module(task, host, scope, settings), Vec::new()),
        }
    }

    fn include_request(&self, task: &Task, ctx: &MjValue) -> Result<IncludeRequest, IncludeError> {
        let rendered = templar()
            .render_value(&Value::Object(task.args.clone()), ctx)
            .map_err(with_nested)?;
        let args = rendered.as_object().cloned().unwrap_or_default();
        // The included tasks get the enclosing keywords and the include's vars (not its
        // tags, when, become, ...: those are the include's own).
        let mut keywords = match &task.enclosing {
            Some(k) => {
                let mut k = (**k).clone();
                k.vars = task.keywords.vars.clone();
                k.include_params = task.keywords.include_params.clone();
                k
            }
            None => {
                let mut k = task.keywords.clone();
                k.when.clear();
                k
            }
        };
        if let Some(apply) = args.get("apply").and_then(Value::as_object) {
            let node =
                crate::yaml::load_str(&serde_json::to_string(apply).unwrap_or_default(), "apply")
                    .map_err(|e| e.message)?;
            let mut applied = Keywords::default();
            for (k, v) in node.as_map().unwrap_or_default() {
                let key = k.key_string();
                if key == "notify" {
                    let names = crate::playbook::loader::string_list(v, "notify");
                    applied.notify.extend(names.map_err(|e| e.message)?);
                    continue;
                }
                crate::playbook::loader::set_keyword(&mut applied, &key, v)
                    .map_err(|e| e.message)?;
            }
            keywords = crate::playbook::loader::merge_keywords(&keywords, &applied);
        }
        let item_label = if task.loop_.is_some() {
            let var = task
                .loop_control
                .get("loop_var")
                .and_then(Value::as_str)
                .unwrap_or("item");
            templar()
                .eval(var, ctx)
                .ok()
                .and_then(|v| crate::template::to_json(&v).ok())
                .map(|v| value_label(&v))
        } else {
            None
        };
        if let Some(iv) = task.loop_control.get("index_var").and_then(Value::as_str) {
            if let Ok(v) = templar().eval(iv, ctx) {
                if !v.is_undefined() {
                    if let Ok(j) = crate::template::to_json(&v) {
                        keywords.vars.insert(iv.to_string(), j);
                    }
                }
            }
        }
        // Loop variables and include params become vars of the included tasks.
        for name in [
            "item",
            "ansible_loop",
            "ansible_loop_var",
            "ansible_index_var",
        ] {
            let var = task
                .loop_control
                .get("loop_var")
                .and_then(Value::as_str)
                .unwrap_or("item");
            let key = if name == "item" { var } else { name };
            if let Ok(v) = templar().eval(key, ctx) {
                if !v.is_undefined() {
                    if let Ok(j) = crate::template::to_json(&v) {
                        keywords.vars.insert(key.to_string(), j);
                    }
                }
            }
        }
        if task.action == "include_role" {
            let at = crate::yaml::Node {
                value: crate::yaml::NodeValue::Null,
                origin: task.origin.clone(),
            };
            let spec = RoleSpec::from_args(&args, &at).map_err(|e| e.message)?;
            // A role that is not there fails the include itself: no `included:` line and
            // no ok count, as Ansible.
            let playbook_dir = self.playbook_dir();
            let roles_path = &self.shared.loader.roles_path;
            if crate::playbook::role::find_role(
                &spec.name,
                &playbook_dir,
                task.role.as_deref(),
                roles_path,
                &keywords.collections,
            )
            .is_none()
            {
                let mut searched: Vec<String> =
                    vec![playbook_dir.join("roles").display().to_string()];
                searched.extend(roles_path.iter().map(|p| p.display().to_string()));
                searched.push(playbook_dir.display().to_string());
                return Err(IncludeError::Load(format!(
                    "the role '{}' was not found in {}",
                    spec.name,
                    searched.join(":")
                )));
            }
            let key = format!(
                "role:{}:{:?}:{}",
                spec.name,
                spec.tasks_from,
                Value::Object(keywords.vars.clone())
            );
            return Ok(IncludeRequest {
                path: PathBuf::new(),
                display_path: spec.name.clone(),
                keywords,
                // The including role: where a short role name is also looked up (its
                // collection, its roles/ dir).
                role: task.role.clone(),
                role_spec: Some(spec),
                file_dir: task.file_dir.clone(),
                origin: task.origin.clone(),
                key,
                item_label,
                from_handler: task.is_handler,
            });
        }
        let file = args
            .get("_raw_params")
            .or_else(|| args.get("file"))
            .and_then(Value::as_str)
            .ok_or("include_tasks needs a file name")?
            .to_string();
        for (k, v) in &args {
            if !matches!(k.as_str(), "_raw_params" | "file" | "apply") {
                keywords.vars.insert(k.clone(), v.clone());
            }
        }
        let lctx = crate::playbook::loader::Context {
            keywords: Keywords::default(),
            role: task.role.clone(),
            file_dir: task.file_dir.clone(),
            playbook_dir: self.play.playbook_dir.clone(),
            is_handler: false,
            stack: Vec::new(),
            play_vars: self.play.vars.clone(),
            seen_roles: Default::default(),
        };
        let path = self
            .shared
            .loader
            .resolve_task_file(&file, &lctx)
            .ok_or_else(|| IncludeError::Load(not_found(&task.file_dir, &file)))?;
        let key = format!(
            "{}:{}",
            path.display(),
            Value::Object(keywords.vars.clone())
        );
        Ok(IncludeRequest {
            display_path: path.display().to_string(),
            file_dir: path.parent().map(PathBuf::from).unwrap_or_default(),
            path,
            keywords,
            role: task.role.clone(),
            role_spec: None,
            origin: task.origin.clone(),
            key,
            item_label,
            from_handler: task.is_handler,
        })
    }

    /// The task's `notify` with templates rendered for `host`: a name that renders to a
    /// list notifies each item (Ansible templates notify, not handler `listen`).
    fn notify_names(&self, task: &Task, host: &str) -> Vec<String> {
        if !task.notify.iter().any(|n| crate::template::is_template(n)) {
            return task.notify.clone();
        }
        let ctx = self.scope(Some(task), host, Map::new()).context();
        let mut out = Vec::new();
        for n in &task.notify {
            match templar().render_native(n, &ctx) {
                Ok(Value::Array(items)) => out.extend(items.iter().map(|i| match i {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })),
                Ok(Value::String(s)) => out.push(s),
                Ok(other) => out.push(other.to_string()),
                Err(_) => out.push(n.clone()),
            }
        }
        out
    }

    fn search_paths(&self, task: &Task) -> Vec<PathBuf> {
        let mut out = Vec::new();
        if let Some(r) = &task.role {
            out.push(r.path.join("files"));
            out.push(r.path.join("templates"));
            out.push(r.path.join("vars"));
            out.push(r.path.clone());
        }
        out.push(task.file_dir.clone());
        out.push(self.play.playbook_dir.join("files"));
        out.push(self.play.playbook_dir.join("templates"));
        out.push(self.play.playbook_dir.join("vars"));
        out.push(self.play.playbook_dir.clone());
        out
    }

    fn run_module(
        &self,
        task: &Arc<Task>,
        host: &str,
        scope: &Arc<Scope>,
        settings: &Settings,
    ) -> Map<String, Value> {
        let library;
        let module: &dyn crate::modules::Module = match &task.module_file {
            Some(path) => {
                library = crate::modules::commands::library_module::LibraryModule {
                    name: task.action.clone(),
                    path: path.clone(),
                };
                &library
            }
            None => match registry::find(&task.action) {
                Some(m) => m,
                None => return fail_map(format!("The module '{}' was not found", task.action)),
            },
        };
        let ctx = scope.context();
        let raw_keys = module.raw_args();
        let mut args = Map::new();
        // `add_host: "{{ host_dict }}"`: a module that takes no free-form text, given one
        // template, gets the mapping it renders to as its arguments (as Ansible does).
        if let Some(rendered) = templated_args(task, module.free_form(), &ctx) {
            match rendered {
                Ok(m) => args = m,
                Err(e) => return task_error(task, e),
            }
        }
        let templated_whole = !args.is_empty();
        for (k, v) in task.args.iter().filter(|_| !templated_whole) {
            if raw_keys.contains(&k.as_str()) {
                args.insert(k.clone(), v.clone());
                continue;
            }
            let key = if crate::template::is_template(k) {
                match templar().render_string(k, &ctx) {
                    Ok(k) => k,
                    Err(e) => return task_error(task, with_nested(e)),
                }
            } else {
                k.clone()
            };
            match templar().render_value(v, &ctx) {
                Ok(r) => {
                    if r.as_str() != Some(OMIT) {
                        args.insert(key, strip_omit(r));
                    }
                }
                Err(e) => {
                    let causes = [
                        Cause {
                            msg: format!(
                                "Finalization of task args for 'ansible.builtin.{}' failed",
                                task.action
                            ),
                            origin: task.action_origin.clone(),
                        },
                        Cause {
                            msg: format!(
                                "Error while resolving value for '{k}': {}",
                                with_nested(e)
                            ),
                            origin: task.arg_origins.get(k).cloned(),
                        },
                    ];
                    return task_error_chain(task, &causes);
                }
            }
        }
        let args = match validate(module.name(), module.spec(), args) {
            Ok(a) => a,
            Err(msg) => return bad_arguments(task, module.controller_only(), msg),
        };
        if settings.async_val > 0 && !module.supports_async() {
            return fail_map(format!(
                "This action ({}) does not support async.",
                task.action
            ));
        }
        let target = settings
            .delegate_to
            .clone()
            .unwrap_or_else(|| host.to_string());
        // Controller-side actions (debug, set_fact, assert, ...) never touch the host, as in
        // Ansible: an unreachable host can still print and set facts.
        let conn = if module.controller_only() {
            std::sync::Arc::new(std::sync::Mutex::new(Box::new(
                crate::connection::local::LocalConnection,
            )
                as Box<dyn crate::connection::Connection>))
        } else {
            match self.connection(&target) {
                Ok(c) => c,
                Err(ConnError::Unreachable(msg)) => return unreachable_map(msg),
                Err(ConnError::Failed(msg)) => return fail_map(msg),
            }
        };
        let evaluator = TaskEvaluator {
            ctx: ctx.clone(),
            arg_origins: &task.arg_origins,
        };
        let _secrets = crate::connection::NoLogScope::enter(settings.no_log);
        let _detail = crate::output::live_detail::HostScope::enter(host);
        let fleet_call = module
            .fleet()
            .then(|| {
                self.fleet_calls
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .get(&(Arc::as_ptr(task) as usize))
                    .cloned()
            })
            .flatten();
        let fleet = fleet_call.map(|call| super::fleet::PlayFleet { run: self, call });
        let mut guard = conn.lock().unwrap_or_else(|p| p.into_inner());
        let budget = (settings.timeout > 0).then(|| Duration::from_secs(settings.timeout));
        let mut deadline = crate::connection::deadline::Deadline::new(&mut **guard, budget);
        let mut mctx = ModuleContext {
            host,
            conn: &mut deadline,
            check_mode: settings.check_mode,
            diff_mode: settings.diff,
            verbosity: self.shared.state.options.verbosity,
            become_: settings.become_.clone(),
            env: settings.env.clone(),
            search_paths: self.search_paths(task),
            role_path: task.role.as_ref().map(|r| r.path.clone()),
            task_dir: Some(task.file_dir.clone()),
            eval: &evaluator,
            fleet: fleet.as_ref().map(|f| f as &dyn crate::modules::Fleet),
        };
        let result = module.run(&args, &mut mctx);
        let timed_out = deadline.expired();
        drop(guard);
        if timed_out && !matches!(result, Err(ModuleError::Unreachable(_))) {
            return timed_out_map(task, settings.timeout);
        }
        match result {
            Ok(mut d) => {
                d.entry("changed").or_insert(Value::Bool(false));
                // Outside diff mode Ansible keeps no before/after in the result.
                if !settings.diff
                    && d.get("diff")
                        .is_some_and(|v| !matches!(v, Value::Array(a) if a.is_empty()))
                {
                    d.remove("diff");
                }
                d
            }
            Err(ModuleError::Failed(mut d)) => {
                d.insert("failed".into(), Value::Bool(true));
                d.entry("changed").or_insert(Value::Bool(false));
                d
            }
            Err(ModuleError::Unreachable(msg)) => unreachable_map(msg),
        }
    }

    /// How to reach `target`: its variables first, then play keywords, then the command line
    /// and ansible.cfg (Ansible's order).
    pub fn connection_spec(&self, target: &str) -> crate::connection::ConnectionSpec {
        let scope = self
            .shared
            .state
            .host_scope(target, &self.play.playbook_dir);
        let json = |n: &str| scope.get_json(n).ok().flatten().filter(|v| !v.is_null());
        let text = |n: &str| {
            json(n).map(|v| match v {
                Value::String(s) => s,
                other => other.to_string(),
            })
        };
        let opts = &self.shared.state.options;
        let keyword = |v: &Option<Value>| v.as_ref().and_then(|v| v.as_str().map(str::to_string));
        let implicit_local = matches!(target, "localhost" | "127.0.0.1" | "::1")
            && !self.shared.state.inventory().hosts.contains_key(target);
        let transport = text("ansible_connection")
            .or_else(|| keyword(&self.play.keywords.connection))
            .or_else(|| opts.connection.clone())
            .unwrap_or_else(|| {
                if implicit_local {
                    "local".into()
                } else {
                    "ssh".into()
                }
            });
        let transport = match transport.as_str() {
            "smart" | "paramiko" | "ssh" | "ansible.builtin.ssh" => "ssh".to_string(),
            "ansible.builtin.local" => "local".to_string(),
            other => other.to_string(),
        };
        let host_key_checking = json("ansible_host_key_checking")
            .or_else(|| json("ansible_ssh_host_key_checking"))
            .and_then(|v| crate::modules::args::to_bool(&v))
            .unwrap_or(opts.host_key_checking);
        let ssh_args = text("ansible_ssh_args").or_else(|| opts.ssh_args.clone());
        let ssh_options: Vec<(String, String)> = [
            ssh_args.clone(),
            text("ansible_ssh_common_args").or_else(|| opts.ssh_common_args.clone()),
            text("ansible_ssh_extra_args").or_else(|| opts.ssh_extra_args.clone()),
        ]
        .iter()
        .flatten()
        .flat_map(|a| crate::connection::ssh_config::parse_ssh_options(a))
        .collect();
        crate::connection::ConnectionSpec {
            transport,
            inventory_name: target.to_string(),
            host: text("ansible_host")
                .or_else(|| text("ansible_ssh_host"))
                .unwrap_or_else(|| target.to_string()),
            port: json("ansible_port")
                .or_else(|| json("ansible_ssh_port"))
                .and_then(|v| {
                    v.as_u64()
                        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                })
                .and_then(|p| u16::try_from(p).ok()),
            user: text("ansible_user")
                .or_else(|| text("ansible_ssh_user"))
                .or_else(|| keyword(&self.play.keywords.remote_user))
                .or_else(|| opts.remote_user.clone()),
            password: text("ansible_password").or_else(|| text("ansible_ssh_pass")),
            private_key_file: text("ansible_ssh_private_key_file")
                .or_else(|| text("ansible_private_key_file"))
                .or_else(|| opts.private_key_file.clone())
                .map(std::path::PathBuf::from),
            private_key_passphrase: text("ansible_ssh_private_key_passphrase"),
            timeout: std::time::Duration::from_secs(
                json("ansible_timeout")
                    .and_then(|v| {
                        v.as_u64()
                            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                    })
                    .unwrap_or(opts.timeout),
            ),
            host_key_checking,
            control_persist: crate::connection::persist::control_persist(
                &ssh_options,
                ssh_args.is_some(),
            ),
            ssh_options,
        }
    }

    /// The connection to a host, opened on first use and kept for the run.
    pub fn connection(&self, target: &str) -> Result<super::play::SharedConnection, ConnError> {
        if let Some(c) = self
            .shared
            .connections
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(target)
        {
            return Ok(c.clone());
        }
        let spec = self.connection_spec(target);
        let conn = crate::connection::open(&spec)?;
        let conn = Arc::new(Mutex::new(conn));
        self.shared
            .connections
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(target.to_string(), conn.clone());
        Ok(conn)
    }

    /// Stores `ansible_facts` of a result where its action puts them: set_fact and register at
    /// precedence 19, include_vars at 18, gathered facts at 11.
    fn apply_facts(
        &self,
        task: &Task,
        host: &str,
        data: &Map<String, Value>,
        delegated_to: Option<&str>,
    ) {
        let Some(Value::Object(facts)) = data.get("ansible_facts") else {
            return;
        };
        let delegate_facts = task
            .keywords
            .delegate_facts
            .as_ref()
            .and_then(crate::modules::args::to_bool)
            .unwrap_or(false);
        let owner = match (delegated_to, delegate_facts) {
            (Some(d), true) => d.to_string(),
            _ => host.to_string(),
        };
        let action = task.action.as_str();
        // `cacheable: true` makes set_fact's facts persistent facts as well.
        let cacheable = action == "set_fact"
            && data.get("_ansible_facts_cacheable") == Some(&Value::Bool(true));
        if cacheable {
            self.shared.state.update_store(&owner, |s| {
                let persistent = std::sync::Arc::make_mut(&mut s.facts);
                let bare = std::sync::Arc::make_mut(&mut s.bare_facts);
                for (k, v) in facts {
                    match k.strip_prefix("ansible_") {
                        Some(name) => persistent.insert(name.to_string(), v.clone()),
                        None => {
                            bare.insert(k.clone());
                            persistent.insert(k.clone(), v.clone())
                        }
                    };
                }
            });
        }
        self.shared.state.update_store(&owner, |s| {
            let target = std::sync::Arc::make_mut(match action {
                "set_fact" => &mut s.set_facts,
                "include_vars" => &mut s.include_vars,
                _ => &mut s.facts,
            });
            for (k, v) in facts {
                // Gathered facts live under `ansible_facts` without their prefix.
                let key = match action {
                    "set_fact" | "include_vars" => k.as_str(),
                    _ => k.strip_prefix("ansible_").unwrap_or(k),
                };
                target.insert(key.to_string(), v.clone());
            }

            if !matches!(action, "set_fact" | "include_vars") {
                let bare = facts.keys().filter(|k| !k.starts_with("ansible_"));
                let bare: Vec<&String> = bare.filter(|k| !s.bare_facts.contains(*k)).collect();
                if !bare.is_empty() {
                    let set = std::sync::Arc::make_mut(&mut s.bare_facts);
                    set.extend(bare.into_iter().cloned());
                }
            }
        });
        if cacheable || !matches!(action, "set_fact" | "include_vars") {
            self.shared.state.save_facts(&owner);
        }
    }

    /// A set_stats result (`ansible_stats`): its data set, or with `aggregate` merged into
    /// what is there (numbers, strings and lists added, mappings merged), for the host or,
    /// without `per_host`, for the run.
    fn apply_custom_stats(&self, host: &str, data: &Map<String, Value>) {
        let Some(Value::Object(stats)) = data.get("ansible_stats") else {
            return;
        };
        let Some(Value::Object(values)) = stats.get("data") else {
            return;
        };
        let per_host = stats
            .get("per_host")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let aggregate = stats
            .get("aggregate")
            .and_then(Value::as_bool)
            .unwrap_or(true);
        let which = if per_host { host } else { "_run" };
        let mut all = self
            .shared
            .custom_stats
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let Value::Object(slot) = all
            .entry(which.to_string())
            .or_insert_with(|| Value::Object(Map::new()))
        else {
            return;
        };
        for (k, v) in values {
            let merged = match (aggregate, slot.get(k)) {
                (true, Some(old)) => add_stat(old, v),
                _ => v.clone(),
            };
            slot.insert(k.clone(), merged);
        }
    }

    /// An `add_host` result: adds the host to the run's inventory and sets `changed` as
    /// Ansible does (only for a new host, group or variable value). `None` if `data` is
    /// not one.
    fn apply_add_host(&self, data: &mut Map<String, Value>) -> Option<bool> {
        let Some(Value::Object(add)) = data.get("add_host").cloned() else {
            return None;
        };
        let name = add
            .get("host_name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if name.is_empty() {
            return None;
        }
        let groups = string_list(&add, "groups");
        let vars = add
            .get("host_vars")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let changed = {
            let mut inv = self.shared.state.inventory_mut();
            let changed = inv.add_host_changes(&name, &groups, &vars);
            inv.add_dynamic_host(&name, &groups, vars);
            changed
        };
        data.insert("changed".into(), Value::Bool(changed));
        self.refresh_magic();
        Some(changed)
    }

    /// Registers, applies facts and inventory changes, counts, prints and notifies.
    #[allow(clippy::too_many_arguments)]
    fn finish(
        &self,
        task: &Arc<Task>,
        host: &str,
        mut data: Map<String, Value>,
        delegated_to: Option<String>,
        ignore_errors: bool,
        rescuable: bool,
        includes: Vec<IncludeRequest>,
    ) -> HostOutcome {
        let failed = flag(&data, "failed");
        let unreachable = flag(&data, "unreachable");
        let skipped = flag(&data, "skipped");
        let mut changed = flag(&data, "changed");
        let state = &self.shared.state;
        // Facts and inventory changes from the module.
        if !failed && !unreachable {
            self.apply_facts(task, host, &data, delegated_to.as_deref());
            self.apply_custom_stats(host, &data);
            if let Some(c) = self.apply_add_host(&mut data) {
                changed = c;
            }
            if let Some(group) = data
                .get("add_group")
                .and_then(Value::as_str)
                .map(str::to_string)
            {
                let parents = string_list(&data, "parent_groups");
                {
                    let mut inv = state.inventory_mut();
                    inv.add_to_group(host, &group);
                    for p in &parents {
                        let _ = inv.add_child_group(p, &group);
                    }
                }
                self.refresh_magic();
            }
        }
        // Notify handlers on change.
        if changed && !failed && !unreachable && !task.notify.is_empty() {
            let names = self.notify_names(task, host);
            if let Err(msg) = self.notify(task, host, &names) {
                data = fail_map(msg);
            }
        }
        let failed = flag(&data, "failed");
        let no_log = task
            .keywords
            .no_log
            .as_ref()
            .and_then(crate::modules::args::to_bool)
            .unwrap_or(false);
        if no_log {
            data.insert("_ansible_no_log".into(), Value::Bool(true));
        }
        if failed || unreachable {
            add_error_summary(task, &mut data);
        }
        let mut registered = None;
        let internal = |d: &Map<String, Value>| -> Map<String, Value> {
            d.iter()
                .filter(|(k, _)| !k.starts_with("_ansible") && k.as_str() != "_meta")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        };
        if !data.contains_key("failed") && !data.contains_key("skipped") && !unreachable {
            data.insert("failed".into(), Value::Bool(false));
        }
        if let Some(reg) = &task.register {
            let r = internal(&data);
            state.update_store(host, |s| {
                s.register(reg, Value::Object(r.clone()));
            });
            registered = Some(r);
        }
        let status = if unreachable {
            Status::Unreachable
        } else if failed {
            Status::Failed
        } else if skipped {
            Status::Skipped
        } else if changed {
            Status::Changed
        } else {
            Status::Ok
        };
        let ignore_unreachable = match data.remove(IGNORE_UNREACHABLE_KEY) {
            Some(v) => v == Value::Bool(true),
            None if unreachable => {
                let ctx = self.scope(Some(task), host, Map::new()).context();
                keyword_bool(
                    &task.keywords.ignore_unreachable,
                    &ctx,
                    "ignore_unreachable",
                )
                .ok()
                .flatten()
                .unwrap_or(false)
            }
            None => false,
        };
        let ignored = (failed && ignore_errors) || (unreachable && ignore_unreachable);
        let include_items = data
            .get("results")
            .and_then(Value::as_array)
            .map(|r| {
                r.iter()
                    .filter(|i| i.get("skipped") != Some(&Value::Bool(true)))
                    .count() as u32
            })
            .unwrap_or(1);
        let is_include_loop = matches!(task.action.as_str(), "include_tasks" | "include_role")
            && data.contains_key("results");
        let load_errors = include_load_errors(&data);
        self.shared.stat(host, |s| match status {
            // Each included file that could not be loaded is a failure of its own, even in
            // a block with rescue (Ansible counts them outside the task result).
            Status::Failed if load_errors > 0 && !ignored => {
                s.failed += load_errors;
                s.ok += include_items.saturating_sub(load_errors);
            }
            // Ansible's strategy counts an ignored unreachable result as ok + ignored.
            Status::Unreachable if ignored => {
                s.ok += 1;
                s.ignored += 1;
            }
            Status::Unreachable => s.unreachable += 1,
            Status::Failed if ignored => {
                s.ok += 1;
                s.ignored += 1;
                if changed {
                    s.changed += 1;
                }
            }
            Status::Failed if rescuable => s.rescued += 1,
            Status::Failed => s.failed += 1,
            Status::Skipped => s.skipped += 1,
            Status::Changed => {
                s.ok += 1;
                s.changed += 1;
            }
            // Each item of a looped include counts, as Ansible counts each included file.
            Status::Ok if is_include_loop => s.ok += include_items,
            Status::Ok => s.ok += 1,
        });
        if status == Status::Failed && !ignored {
            self.shared
                .failed_any
                .store(true, std::sync::atomic::Ordering::SeqCst);
            if !rescuable {
                self.shared
                    .failed_hosts
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(host.to_string());
            }
            if rescuable {
                let mut failed_task = Map::new();
                failed_task.insert(
                    "name".into(),
                    Value::String(task.name.clone().unwrap_or_default()),
                );
                failed_task.insert("action".into(), Value::String(task.action.clone()));
                let r = internal(&data);
                state.update_store(host, |s| {
                    let facts = Arc::make_mut(&mut s.set_facts);
                    facts.insert("ansible_failed_task".into(), Value::Object(failed_task));
                    facts.insert("ansible_failed_result".into(), Value::Object(r));
                });
            }
        }
        if status == Status::Unreachable && !ignored {
            self.shared
                .unreachable_any
                .store(true, std::sync::atomic::Ordering::SeqCst);
        }
        let is_include = matches!(task.action.as_str(), "include_tasks" | "include_role");
        let diff = task
            .keywords
            .diff
            .as_ref()
            .and_then(crate::modules::args::to_bool)
            .unwrap_or(state.options.diff);
        // A run that just ended shows no more results (Ansible raised before its callback).
        if (skipped || failed || !is_include) && !self.shared.run_ended() {
            let mut shown = data.clone();
            shown.remove("_meta");
            let mut r = TaskResult::new(host, status, shown);
            r.ignored = ignored;
            r.delegated_to = delegated_to;
            // A diff would show what no_log hides.
            if diff && task.loop_.is_none() && !no_log {
                self.shared.callback.file_diff(&r);
            }
            self.shared
                .callback
                .host_result(&r, self.shared.state.options.verbosity);
        }
        HostOutcome {
            failed: failed && !ignored && !unreachable,
            unreachable: unreachable && !ignored,
            includes: if failed { Vec::new() } else { includes },
            meta: None,
            registered,
        }
    }
}

/// The `timeout:` keyword as Ansible takes it: an integer number of seconds.
fn task_timeout(v: &Option<Value>, ctx: &MjValue) -> Result<u64, String> {
    let Some(v) = v else { return Ok(0) };
    let rendered = match v {
        Value::String(s) => templar().render_native(s, ctx).map_err(with_nested)?,
        other => other.clone(),
    };
    let n = match &rendered {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse::<i64>().ok(),
        Value::Null => Some(0),
        _ => None,
    };
    match n {
        Some(n) if (0..=100_000_000).contains(&n) => Ok(n as u64),
        Some(n) => Err(format!(
            "Timeout {n} is invalid, it must be between 0 and 100000000."
        )),
        None => Err(format!(
            "The task's timeout must be a whole number of seconds, got {}",
            value_label(&rendered)
        )),
    }
}

/// Ansible 2.19's result for a task its `timeout:` cut short.
fn timed_out_map(task: &Task, seconds: u64) -> Map<String, Value> {
    let mut m = task_error(task, format!("Timed out after {seconds} second(s)."));
    m.insert("changed".into(), Value::Bool(false));
    m.insert(
        "timedout".into(),
        serde_json::json!({
            "frame": "Configure `DISPLAY_TRACEBACK` to see a traceback on timeout errors.",
            "period": seconds,
        }),
    );
    m
}

fn skipped_map(task: &Task) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("changed".into(), Value::Bool(false));
    m.insert("skipped".into(), Value::Bool(true));
    m.insert(
        "skip_reason".into(),
        Value::String("Conditional result was False".into()),
    );
    if let Some(cond) = task.keywords.when.last() {
        m.insert("false_condition".into(), Value::String(cond_text(cond)));
    }
    m
}

/// An unreachable host, as Ansible 2.19 reports the connection failure it raised: the message
/// is prefixed `Task failed:` and the result carries the (unavailable) traceback key.
fn unreachable_map(msg: String) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("changed".into(), Value::Bool(false));
    m.insert(
        "exception".into(),
        Value::String("(traceback unavailable)".into()),
    );
    m.insert("msg".into(), Value::String(format!("Task failed: {msg}")));
    m.insert("unreachable".into(), Value::Bool(true));
    m
}

fn cond_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(b) => if *b { "True" } else { "False" }.to_string(),
        other => other.to_string(),
    }
}

/// AggregateStats.update_custom_stats' `+=` (and merge_hash for mappings).
fn add_stat(old: &Value, new: &Value) -> Value {
    match (old, new) {
        (Value::Number(a), Value::Number(b)) => match (a.as_i64(), b.as_i64()) {
            (Some(x), Some(y)) => Value::from(x.saturating_add(y)),
            _ => {
                serde_json::Number::from_f64(a.as_f64().unwrap_or(0.0) + b.as_f64().unwrap_or(0.0))
                    .map_or(Value::Null, Value::Number)
            }
        },
        (Value::String(a), Value::String(b)) => Value::String(format!("{a}{b}")),
        (Value::Array(a), Value::Array(b)) => Value::Array(a.iter().chain(b).cloned().collect()),
        (Value::Object(a), Value::Object(b)) => {
            let mut m = a.clone();
            m.extend(b.iter().map(|(k, v)| (k.clone(), v.clone())));
            Value::Object(m)
        }
        _ => new.clone(),
    }
}
