//! `package`: the generic package action. As Ansible's action plugin, it picks the backend
//! from `use`, `ansible_package_use` or the `pkg_mgr` fact and runs that module with the
//! task's other arguments (validated by the backend's own spec).

use crate::modules::{registry, ArgSpec, Args, Module, ModuleContext, ModuleError, ModuleResult};
use serde_json::Value;

pub struct Package;

const SPEC: &[ArgSpec] = &[ArgSpec::any()];

/// A variable's string value, if it is defined and not empty.
fn var(ctx: &ModuleContext, expr: &str) -> Option<String> {
    match ctx.eval.eval_expr(&format!("{expr} | default('')")) {
        Ok(Value::String(s)) if !s.is_empty() => Some(s),
        _ => None,
    }
}

/// The backend when no fact names it: what the setup module's pkg_mgr would find first.
fn probe(ctx: &mut ModuleContext) -> Result<Option<String>, ModuleError> {
    let script = "for m in apt-get dnf5 dnf yum zypper apk pacman pkg; do command -v $m >/dev/null 2>&1 && { echo $m; exit 0; }; done";
    let out = crate::modules::util::exec_script(ctx, script.into())?;
    let found = crate::modules::util::text(&out.stdout);
    Ok(match found.trim() {
        "" => None,
        "apt-get" => Some("apt".into()),
        "zypper" => Some("zypper".into()),
        "pkg" => Some("pkgng".into()),
        other => Some(other.to_string()),
    })
}

impl Module for Package {
    fn name(&self) -> &'static str {
        "package"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        SPEC
    }
    fn run(&self, args: &Args, ctx: &mut ModuleContext) -> ModuleResult {
        let mut rest = args.0.clone();
        let mut module = match rest.remove("use") {
            Some(Value::String(s)) => s,
            _ => "auto".to_string(),
        };
        if module == "auto" {
            module = match var(ctx, "ansible_package_use")
                .or_else(|| var(ctx, "ansible_facts.pkg_mgr"))
            {
                Some(m) => m,
                None => probe(ctx)?.ok_or_else(|| {
                    ModuleError::msg(
                        "Could not detect a package manager. Try using the \"use\" option.",
                    )
                })?,
            };
        }
        let Some(backend) = registry::find(&module) else {
            return Err(ModuleError::msg(format!(
                "Could not find a matching action for the \"{module}\" package manager."
            )));
        };
        let backend_args = crate::modules::validate(backend.name(), backend.spec(), rest)
            .map_err(ModuleError::msg)?;
        backend.run(&backend_args, ctx)
    }
}
