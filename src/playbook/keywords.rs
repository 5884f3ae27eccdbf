//! The keywords Ansible accepts on plays, blocks, tasks and roles, for validation and
//! "did you mean" suggestions.

pub const PLAY: &[&str] = &[
    "name", "hosts", "vars", "vars_files", "vars_prompt", "roles", "pre_tasks", "tasks",
    "post_tasks", "handlers", "gather_facts", "gather_subset", "gather_timeout", "fact_path",
    "serial", "strategy", "any_errors_fatal", "max_fail_percentage", "ignore_unreachable",
    "ignore_errors", "become", "become_user", "become_method", "become_flags", "become_exe",
    "remote_user", "connection", "environment", "tags", "force_handlers", "order", "port",
    "check_mode", "diff", "no_log", "run_once", "throttle", "timeout", "collections",
    "module_defaults", "debugger", "when",
];

pub const BLOCK: &[&str] = &[
    "block", "rescue", "always", "name", "when", "tags", "vars", "become", "become_user",
    "become_method", "become_flags", "become_exe", "remote_user", "connection", "environment",
    "ignore_errors", "ignore_unreachable", "delegate_to", "delegate_facts", "run_once", "no_log",
    "check_mode", "diff", "any_errors_fatal", "timeout", "port", "collections", "module_defaults",
    "debugger", "throttle", "notify",
];

pub const TASK: &[&str] = &[
    "name", "when", "loop", "loop_control", "register", "until", "retries", "delay",
    "failed_when", "changed_when", "ignore_errors", "ignore_unreachable", "notify", "listen",
    "tags", "delegate_to", "delegate_facts", "run_once", "local_action", "action", "become",
    "become_user", "become_method", "become_flags", "become_exe", "remote_user", "connection",
    "environment", "no_log", "check_mode", "diff", "vars", "args", "timeout", "async", "poll",
    "any_errors_fatal", "port", "collections", "module_defaults", "debugger", "throttle",
];

/// The dynamic and static includes and `meta`, which are actions but not modules.
pub const SPECIAL_ACTIONS: &[&str] = &[
    "include_tasks", "import_tasks", "include_role", "import_role", "import_playbook", "meta",
    "include_vars_dynamic_placeholder",
];

/// The closest word of `candidates`, for "did you mean".
pub fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (strsim::jaro_winkler(c, word), *c))
        .filter(|(score, _)| *score > 0.85)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}
