//! The playbook model: plays, blocks and tasks after loading, with inherited keywords applied.

use crate::error::Origin;
use serde_json::{Map, Value};
use std::path::PathBuf;
use std::sync::Arc;

/// A loaded playbook: `import_playbook` is already expanded into the list of plays.
#[derive(Debug, Clone)]
pub struct Playbook {
    pub path: PathBuf,
    pub plays: Vec<Arc<Play>>,
}

#[derive(Debug, Clone, Default)]
pub struct Play {
    pub name: Option<String>,
    /// The `hosts:` pattern (a list is joined with `,`), still to be templated.
    pub hosts: String,
    pub origin: Origin,
    /// The directory of the playbook file this play comes from.
    pub playbook_dir: PathBuf,
    pub vars: Map<String, Value>,
    pub vars_files: Vec<Value>,
    pub gather_facts: Option<Value>,
    pub serial: Vec<Value>,
    pub strategy: String,
    pub any_errors_fatal: bool,
    pub max_fail_percentage: Option<f64>,
    /// The play's `force_handlers:`; unset, --force-handlers / ANSIBLE_FORCE_HANDLERS decide.
    pub force_handlers: Option<bool>,
    pub order: String,
    /// Keywords every task inherits (become, ignore_errors, environment, tags, ...).
    pub keywords: Keywords,
    pub pre_tasks: Vec<Item>,
    /// Roles from `roles:` expanded into blocks, in order (dependencies first).
    pub roles: Vec<Item>,
    pub tasks: Vec<Item>,
    pub post_tasks: Vec<Item>,
    /// Play handlers followed by the handlers of its roles.
    pub handlers: Vec<Item>,
    /// The roles the play loads statically (`roles:`, `import_role`), in load order.
    pub static_roles: Vec<Arc<RoleInstance>>,
}

impl Play {
    /// The banner name: `name:`, else the hosts pattern.
    pub fn display_name(&self) -> String {
        self.name.clone().unwrap_or_else(|| self.hosts.clone())
    }
}

/// One entry of a task list.
#[derive(Debug, Clone)]
pub enum Item {
    Task(Arc<Task>),
    Block(Arc<Block>),
}

#[derive(Debug, Clone, Default)]
pub struct Block {
    pub name: Option<String>,
    pub origin: Origin,
    pub block: Vec<Item>,
    pub rescue: Vec<Item>,
    pub always: Vec<Item>,
}

/// Keywords that flow from plays, blocks, roles and imports down to tasks.
#[derive(Debug, Clone, Default)]
pub struct Keywords {
    /// Conditions ANDed together, outermost first.
    pub when: Vec<Value>,
    /// Where each of `when` is written (same order; error messages point there).
    pub when_origins: Vec<Origin>,
    /// `collections:`: where short role names are also looked up (`ns.col`).
    pub collections: Vec<String>,
    pub tags: Vec<String>,
    /// Block and task vars (precedence levels 16-17), outermost first.
    pub vars: Map<String, Value>,
    /// The `vars:` of the dynamic includes (`include_tasks`, `include_role`) a task came
    /// through: Ansible's include params, above set_fact and role params.
    pub include_params: Map<String, Value>,
    pub become_: Option<Value>,
    pub become_user: Option<Value>,
    pub become_method: Option<Value>,
    pub become_flags: Option<Value>,
    pub remote_user: Option<Value>,
    pub connection: Option<Value>,
    /// `environment:` maps (or templated strings), outermost first.
    pub environment: Vec<Value>,
    pub ignore_errors: Option<Value>,
    pub ignore_unreachable: Option<Value>,
    pub delegate_to: Option<Value>,
    pub delegate_facts: Option<Value>,
    pub run_once: Option<Value>,
    pub no_log: Option<Value>,
    pub check_mode: Option<Value>,
    pub diff: Option<Value>,
    pub any_errors_fatal: Option<Value>,
    pub timeout: Option<Value>,
    /// `throttle:` the most hosts the task runs on at once (templated per task run).
    pub throttle: Option<Value>,
    /// `async:` seconds; tasks still run synchronously, but actions that cannot run
    /// asynchronously refuse it as Ansible's do.
    pub async_: Option<Value>,
    pub port: Option<Value>,
    /// `notify:` on a block reaches every task in it.
    pub notify: Vec<String>,
}

/// A role as used by one play: where it is and its variables.
#[derive(Debug, Clone, Default)]
pub struct RoleInstance {
    pub name: String,
    pub path: PathBuf,
    /// `defaults/` (lowest precedence), including those of dependencies.
    pub defaults: Map<String, Value>,
    /// `vars/` (precedence 15).
    pub vars: Map<String, Value>,
    /// Parameters given where the role is used (precedence 20).
    pub params: Map<String, Value>,
}

#[derive(Debug, Clone, Default)]
pub struct Task {
    pub name: Option<String>,
    /// The short module name or a dynamic action (`include_tasks`, `include_role`, `meta`).
    pub action: String,
    /// The arguments as written (templated at run time).
    pub args: Map<String, Value>,
    pub origin: Origin,
    /// Where the action key (`debug:`) and each argument's value are written.
    pub action_origin: Option<Origin>,
    pub arg_origins: std::collections::HashMap<String, Origin>,
    pub keywords: Keywords,
    pub loop_: Option<LoopSpec>,
    pub loop_control: Map<String, Value>,
    pub register: Option<String>,
    pub until: Option<Value>,
    pub retries: Option<Value>,
    pub delay: Option<Value>,
    pub failed_when: Option<Value>,
    pub changed_when: Option<Value>,
    pub notify: Vec<String>,
    pub listen: Vec<String>,
    pub role: Option<Arc<RoleInstance>>,
    /// For `include_tasks` / `include_role`: the keywords of what encloses the include, which
    /// the included tasks get instead of the include's own (Ansible skips a dynamic
    /// include's attributes, all but `vars`).
    pub enclosing: Option<Arc<Keywords>>,
    /// The directory the task's file lives in (relative includes start here).
    pub file_dir: PathBuf,
    pub is_handler: bool,
    /// A module found as a non-Python file in a `library/` dir (run by
    /// `modules::commands::library_module`); `None` for builtin modules.
    pub module_file: Option<PathBuf>,
}

impl Task {
    /// `role : name` as banners print it; an unnamed task shows its action.
    pub fn display_name(&self) -> String {
        // Ansible's IncludeRole.get_name: `include_role : web`, without the parent role.
        if self.name.is_none() && self.action == "include_role" {
            if let Some(role) = self.args.get("name").or_else(|| self.args.get("role")) {
                let role = role
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| role.to_string());
                return format!("{} : {role}", self.action);
            }
        }
        let base = self.name.clone().unwrap_or_else(|| self.action.clone());
        match &self.role {
            Some(r) => format!("{} : {base}", r.name),
            None => base,
        }
    }
}

/// `loop:` or one of the `with_*` lookups.
#[derive(Debug, Clone)]
pub struct LoopSpec {
    /// `loop`, or the lookup name of `with_<name>`.
    pub kind: String,
    pub value: Value,
}
