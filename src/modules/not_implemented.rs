//! ansible-core's builtin modules that yiqiu-play does not implement. Ansible loads a task
//! that uses one of them, so we do too (a play with `dnf` tasks under `when:` for another
//! OS still runs); the task fails with a clear message only if it actually runs.

use super::{ArgSpec, Args, Module, ModuleContext, ModuleError, ModuleResult};

/// The `ansible.builtin` modules of ansible-core 2.19 (lib/ansible/modules).
const BUILTIN: &[&str] = &[
    "add_host",
    "apt",
    "apt_key",
    "apt_repository",
    "assemble",
    "assert",
    "async_status",
    "blockinfile",
    "command",
    "copy",
    "cron",
    "deb822_repository",
    "debconf",
    "debug",
    "dnf",
    "dnf5",
    "dpkg_selections",
    "expect",
    "fail",
    "fetch",
    "file",
    "find",
    "gather_facts",
    "get_url",
    "getent",
    "git",
    "group_by",
    "hostname",
    "include_vars",
    "iptables",
    "known_hosts",
    "lineinfile",
    "mount_facts",
    "package",
    "package_facts",
    "pause",
    "ping",
    "pip",
    "raw",
    "reboot",
    "replace",
    "rpm_key",
    "service",
    "service_facts",
    "set_fact",
    "set_stats",
    "setup",
    "shell",
    "slurp",
    "stat",
    "subversion",
    "systemd",
    "systemd_service",
    "sysvinit",
    "tempfile",
    "template",
    "unarchive",
    "uri",
    "user",
    "validate_argument_spec",
    "wait_for",
    "wait_for_connection",
    "yum_repository",
];

pub struct NotImplemented(&'static str);

static ALL: std::sync::OnceLock<Vec<NotImplemented>> = std::sync::OnceLock::new();

/// The stand-in for builtin module `short`, if it is one.
pub fn find(short: &str) -> Option<&'static dyn Module> {
    let all = ALL.get_or_init(|| BUILTIN.iter().map(|n| NotImplemented(n)).collect());
    all.iter()
        .find(|m| m.0 == short)
        .map(|m| m as &'static dyn Module)
}

impl Module for NotImplemented {
    fn name(&self) -> &'static str {
        self.0
    }
    fn spec(&self) -> &'static [ArgSpec] {
        const ANY: &[ArgSpec] = &[ArgSpec::any()];
        ANY
    }
    fn free_form(&self) -> bool {
        true
    }
    fn run(&self, _args: &Args, _ctx: &mut ModuleContext) -> ModuleResult {
        Err(ModuleError::msg(format!(
            "The module ansible.builtin.{} is not implemented by yiqiu-play yet.",
            self.0
        )))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn builtin_names_resolve_ours_first() {
        assert!(super::find("dnf").is_some());
        assert!(super::find("not_a_module").is_none());
        // An implemented module is ours, not the stand-in.
        let copy = crate::modules::registry::find("copy").map(|m| m.spec().len());
        assert!(copy.is_some_and(|n| n > 1));
    }
}
