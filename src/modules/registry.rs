//! Maps module names (short or `ansible.builtin.`/`ansible.legacy.` qualified) to modules.

use super::Module;
use std::collections::HashSet;
use std::sync::OnceLock;

/// Modules the run must not know (`plugin_filters_cfg`'s `module_rejectlist`).
static REJECTED: OnceLock<HashSet<String>> = OnceLock::new();

/// Sets the run's module reject list (once, before anything loads).
pub fn reject(names: HashSet<String>) {
    let _ = REJECTED.set(names);
}

fn rejected(short: &str) -> bool {
    REJECTED.get().is_some_and(|r| r.contains(short))
}

/// All modules, in one list: add a new module here.
fn all() -> &'static [&'static dyn Module] {
    &[
        &super::add_host::AddHost,
        &super::assert::Assert,
        &super::command::CommandModule,
        &super::debug::Debug,
        &super::fail::Fail,
        &super::group_by::GroupBy,
        &super::include_vars::IncludeVars,
        &super::pause::Pause,
        &super::getent::Getent,
        &super::system::user::User,
        &super::system::group::Group,
        &super::ping::Ping,
        &super::raw::Raw,
        &super::set_fact::SetFact,
        &super::control::set_stats::SetStats,
        &super::setup::Setup,
        &super::shell::Shell,
        &super::script::Script,
        &super::copy::Copy,
        &super::files::assemble::Assemble,
        &super::stat::Stat,
        &super::template::Template,
        &super::file::File,
        &super::lineinfile::LineInFile,
        &super::blockinfile::BlockInFile,
        &super::replace::Replace,
        &super::tempfile::Tempfile,
        &super::find::Find,
        &super::get_url::GetUrl,
        &super::systemd::Systemd,
        &super::unarchive::Unarchive,
        &super::wait_for::WaitFor,
        &super::slurp::Slurp,
        &super::fetch::Fetch,
        &super::packaging::apt::Apt,
        &super::packaging::package::Package,
        &super::service::yiqiu_services::YiqiuServices,
        &super::service::yiqiu_info::YiqiuInfo,
        &super::component_pack::ComponentPack,
        &super::component_publish::ComponentPublish,
        &super::component_deploy::ComponentDeploy,
        &super::component_version::ComponentVersion,
        &super::component_links::ComponentLinks,
        &super::component_health::ComponentHealth,
        &super::k8s::objects::K8s,
        &super::k8s::info::K8sInfo,
        &super::k8s::cluster_info::K8sClusterInfo,
        &super::k8s::scale::K8sScale,
        &super::k8s::rollback::K8sRollback,
        &super::k8s::rollout::K8sRollout,
        &super::k8s::json_patch::K8sJsonPatch,
        &super::k8s::drain::K8sDrain,
        &super::k8s::unsupported::K8S_EXEC,
        &super::k8s::unsupported::K8S_LOG,
    ]
}

/// The canonical short name for a module reference (`ansible.builtin.copy` -> `copy`).
pub fn short_name(name: &str) -> &str {
    for prefix in [
        "ansible.builtin.",
        "ansible.legacy.",
        "ansible.posix.",
        "community.general.",
        "kubernetes.core.",
    ] {
        if let Some(rest) = name.strip_prefix(prefix) {
            return rest;
        }
    }
    name
}

pub fn find(name: &str) -> Option<&'static dyn Module> {
    let short = short_name(name);
    if rejected(short) {
        return None;
    }
    let short = match short {
        "service" => "systemd",
        "gather_facts" => "setup",
        "systemd_service" => "systemd",
        other => other,
    };
    all()
        .iter()
        .copied()
        .find(|m| m.name() == short)
        .or_else(|| {
            // Ansible's other builtin modules load, and fail only when they run.
            let builtin = name == short
                || name.starts_with("ansible.builtin.")
                || name.starts_with("ansible.legacy.");
            builtin
                .then(|| super::not_implemented::find(short))
                .flatten()
        })
}

/// Whether `name` names a module (used to tell a module key from a misspelled keyword).
pub fn is_module(name: &str) -> bool {
    find(name).is_some()
}

/// The closest known module name, for "did you mean" messages.
pub fn suggest(name: &str) -> Option<&'static str> {
    let short = short_name(name);
    all()
        .iter()
        .filter(|m| !rejected(m.name()))
        .map(|m| (strsim::jaro_winkler(m.name(), short), m.name()))
        .filter(|(score, _)| *score > 0.75)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, n)| n)
}
