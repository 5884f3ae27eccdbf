//! Ad-hoc mode (`yiqiu-play adhoc PATTERN -m MODULE -a ARGS`): one task as a one-task play,
//! printed the way `ansible` prints it (`host | CHANGED | rc=0 >>`).

use super::run::{load_inventory, run_options};
use super::{parse_module_args, AdhocArgs, Options};
use crate::error::{Error, Result};
use crate::executor::result::{HostStats, Status, TaskResult};
use crate::executor::run_playbooks;
use crate::modules::registry;
use crate::output::{Callback, TaskKind};
use crate::playbook::model::{Item, Play, Playbook, Task};
use crate::playbook::Loader;
use indexmap::IndexMap;
use serde_json::{Map, Value};
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

pub fn run_adhoc(args: &AdhocArgs, opts: &Options, cwd: &Path) -> Result<i32> {
    let run = run_options(opts, cwd)?;
    let module = registry::short_name(&args.module_name).to_string();
    // As `ansible`: include_role and include_tasks are actions of the one-task play, expanded
    // when it runs like any playbook's.
    let is_include = INCLUDE_ACTIONS.contains(&module.as_str());
    if !is_include && !registry::is_module(&module) {
        let hint = registry::suggest(&module)
            .map(|s| format!(" Did you mean '{s}'?"))
            .unwrap_or_default();
        return Err(Error::parse(
            format!(
                "couldn't resolve module/action '{}'.{hint}",
                args.module_name
            ),
            None,
        ));
    }
    // As `ansible`: these modules need arguments, refused before anything connects.
    let needs_args = ["command", "raw", "script", "shell"].contains(&module.as_str());
    if needs_args
        && !opts.list_hosts
        && args
            .module_args
            .as_deref()
            .is_none_or(|a| a.trim().is_empty())
    {
        let mut msg = format!("No argument passed to {} module", args.module_name);
        if args.pattern.ends_with(".yml") || args.pattern.ends_with(".yaml") {
            msg.push_str(" (did you mean to run ansible-playbook?)");
        }
        return Err(Error::options(msg));
    }
    let module_args = match &args.module_args {
        Some(text) => parse_module_args(text)?,
        None => Map::new(),
    };
    let playbook_dir = args
        .playbook_dir
        .clone()
        .map(|p| cwd.join(p))
        .unwrap_or_else(|| cwd.to_path_buf());
    let mut task = Task {
        name: Some(module.clone()),
        action: module,
        args: module_args,
        file_dir: playbook_dir.clone(),
        ..Task::default()
    };
    task.keywords.timeout = args.task_timeout.map(Value::from);
    if is_include {
        task.enclosing = Some(Arc::new(task.keywords.clone()));
    }
    let play = Play {
        name: Some("Ansible Ad-Hoc".into()),
        hosts: args.pattern.clone(),
        playbook_dir: playbook_dir.clone(),
        gather_facts: Some(Value::Bool(false)),
        strategy: "linear".into(),
        order: "inventory".into(),
        tasks: vec![Item::Task(Arc::new(task))],
        ..Play::default()
    };
    let pb = Playbook {
        path: playbook_dir.join("adhoc"),
        plays: vec![Arc::new(play)],
    };
    let inventory = load_inventory(&run)?;
    if opts.list_hosts {
        return list_hosts(&inventory, &args.pattern, run.limit.as_deref());
    }
    let loader = Loader::new(run.roles_path.clone());
    let callback = AdhocCallback {
        // `oneline` as the stdout callback counts only with bin_ansible_callbacks.
        one_line: args.one_line
            || (opts.config.adhoc_callbacks && opts.config.stdout_callback == "oneline"),
        action: Mutex::new(String::new()),
        out: Mutex::new(Box::new(std::io::stdout())),
    };
    run_playbooks(run, inventory, &[pb], &loader, &callback)
}

/// `ansible PATTERN --list-hosts`: the matching hosts, nothing run.
fn list_hosts(
    inventory: &crate::inventory::Inventory,
    pattern: &str,
    limit: Option<&str>,
) -> Result<i32> {
    if let Ok((_, warnings)) = inventory.select_with_warnings(pattern) {
        for w in warnings {
            eprintln!("[WARNING]: {w}");
        }
    }
    let hosts = crate::executor::play_hosts(inventory, pattern, limit)?;
    if hosts.is_empty() {
        eprintln!("[WARNING]: No hosts matched, nothing to do");
    }
    let mut out = format!("  hosts ({}):\n", hosts.len());
    for h in &hosts {
        out.push_str(&format!("    {h}\n"));
    }
    super::print::stdout(&out);
    Ok(0)
}

/// The actions ad-hoc runs as includes of the one-task play rather than as modules.
const INCLUDE_ACTIONS: [&str; 2] = ["include_role", "include_tasks"];

/// The modules whose results print as `host | STATE | rc=N >>` and their output, not as
/// JSON (`C.MODULE_NO_JSON`).
const MODULE_NO_JSON: [&str; 3] = ["command", "shell", "raw"];

/// Ansible's `minimal` (and `oneline` with `-o`) ad-hoc output.
pub struct AdhocCallback {
    pub one_line: bool,
    /// The action of the task running (an included role's tasks run under the ad-hoc play):
    /// one of [`MODULE_NO_JSON`] prints as `rc=N >>`.
    pub action: Mutex<String>,
    pub out: Mutex<Box<dyn Write + Send>>,
}

fn state_word(r: &TaskResult) -> &'static str {
    match r.status {
        Status::Changed => "CHANGED",
        Status::Ok => "SUCCESS",
        Status::Failed => "FAILED",
        Status::Skipped => "SKIPPED",
        Status::Unreachable => "UNREACHABLE!",
    }
}

impl AdhocCallback {
    fn render(&self, r: &TaskResult, verbosity: u8) -> String {
        // As every callback sees it: censored when the result is no_log.
        let view = crate::output::callback_view(&r.data, None);
        let data: Map<String, Value> = view
            .iter()
            .filter(|(k, _)| {
                !k.starts_with("_ansible") && k.as_str() != "failed" && k.as_str() != "skipped"
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let word = state_word(r);
        if r.status == Status::Skipped {
            return format!("{} | SKIPPED\n", r.host);
        }
        let no_json = MODULE_NO_JSON.contains(
            &self
                .action
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .as_str(),
        );
        let is_command = no_json
            && match r.status {
                Status::Failed => !data.contains_key("module_stderr"),
                Status::Ok | Status::Changed => !data.contains_key("ansible_job_id"),
                _ => false,
            };
        if is_command {
            let rc = data.get("rc").and_then(Value::as_i64).unwrap_or(-1);
            let text = |k: &str| {
                data.get(k)
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string()
            };
            if self.one_line {
                // The oneline callback: `(stdout) ...` and `(stderr) ...` with newlines escaped.
                let mut line = format!("{} | {word} | rc={rc} |", r.host);
                for k in ["stdout", "stderr"] {
                    let t = text(k);
                    if !t.is_empty() {
                        line.push_str(&format!(" ({k}) {}", t.replace('\n', "\\n")));
                    }
                }
                return line + "\n";
            }
            // The minimal callback: stdout, stderr and msg run together, as Ansible prints them.
            let body = format!("{}{}{}", text("stdout"), text("stderr"), text("msg"));
            return format!("{} | {word} | rc={rc} >>\n{body}\n", r.host);
        }
        let mut sorted: Vec<(&String, &Value)> = data.iter().collect();
        sorted.sort_by(|a, b| a.0.cmp(b.0));
        let obj: Map<String, Value> = sorted
            .into_iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let word = if r.status == Status::Failed {
            "FAILED!"
        } else {
            word
        };
        if self.one_line {
            // `_dump_results(indent=0)` (4 from -vvv on) with the newlines removed.
            let json = crate::output::pyjson::dumps(
                &Value::Object(obj),
                crate::output::pyjson::DumpOptions {
                    indent: Some(if verbosity > 2 { 4 } else { 0 }),
                    sort_keys: true,
                    ensure_ascii: false,
                },
            );
            format!("{} | {word} => {}\n", r.host, json.replace('\n', ""))
        } else {
            let json = crate::output::pyjson::dumps(
                &Value::Object(obj),
                crate::output::pyjson::DumpOptions {
                    indent: Some(4),
                    sort_keys: true,
                    ensure_ascii: false,
                },
            );
            format!("{} | {word} => {json}\n", r.host)
        }
    }
}

impl Callback for AdhocCallback {
    fn play_start(&self, _name: &str, _check_mode: bool) {}
    fn task_start(&self, _name: &str, _kind: TaskKind, _check_mode: bool) {}
    fn host_result(&self, result: &TaskResult, verbosity: u8) {
        let text = self.render(result, verbosity);
        let mut out = self.out.lock().unwrap_or_else(|p| p.into_inner());
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    }
    fn item_result(&self, result: &TaskResult, verbosity: u8) {
        self.host_result(result, verbosity);
    }
    fn retry(&self, _host: &str, _task_name: &str, _retries_left: u32) {}
    fn task_details(&self, _path: Option<&str>, action: &str) {
        *self.action.lock().unwrap_or_else(|p| p.into_inner()) = action.to_string();
    }
    fn included(&self, _path: &str, _hosts: &[String]) {}
    /// As the minimal callback prints an include's ok result: the include's arguments.
    fn included_item(&self, path: &str, hosts: &[String], _item_label: Option<&str>) {
        let action = self
            .action
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let mut data = Map::new();
        data.insert("changed".into(), Value::Bool(false));
        let mut args = Map::new();
        if action == "include_role" {
            args.insert("name".into(), Value::from(path));
        } else {
            data.insert("include".into(), Value::from(path));
        }
        data.insert("include_args".into(), Value::Object(args));
        for h in hosts {
            self.host_result(&TaskResult::new(h.clone(), Status::Ok, data.clone()), 0);
        }
    }
    fn warning(&self, msg: &str) {
        eprintln!("[WARNING]: {msg}");
    }
    fn no_more_hosts(&self) {}
    fn recap(&self, _stats: &IndexMap<String, HostStats>) {}
}
