//! `component_health`: is a deployment root in a good state (`crate::release::health`)? Root
//! writable, links valid, free space, cache, cleanable versions. Read-only, so check mode is
//! the same run. Fails when any check fails (a warning does not fail).

use crate::modules::component_version::{count, fields, release_err, result};
use crate::modules::{ArgKind, ArgSpec, Args, Module, ModuleContext, ModuleError, ModuleResult};
use crate::release::health;
use serde_json::Value;

pub struct ComponentHealth;

const SPEC: &[ArgSpec] = &[
    ArgSpec::new("root", ArgKind::Path).required(),
    ArgSpec::new("keep", ArgKind::Int),
];

impl Module for ComponentHealth {
    fn name(&self) -> &'static str {
        "component_health"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        SPEC
    }
    fn run(&self, args: &Args, ctx: &mut ModuleContext) -> ModuleResult {
        let root = args.str("root").unwrap_or_default();
        let keep = count(args, "keep")?.unwrap_or(3) as usize;
        let r = health::health(&mut *ctx.conn, root, keep).map_err(release_err)?;
        let bad: Vec<String> = r
            .checks
            .iter()
            .filter(|c| c.status != "ok")
            .map(|c| format!("{} {}: {}", c.name, c.status, c.detail))
            .collect();
        let msg = if bad.is_empty() {
            format!("{root} is healthy")
        } else {
            format!(
                "{root} is {}: {}",
                if r.healthy {
                    "healthy with warnings"
                } else {
                    "unhealthy"
                },
                bad.join("; ")
            )
        };
        let mut m = result(false, msg, fields(&r));
        if !r.healthy {
            m.insert("failed".into(), Value::Bool(true));
            return Err(ModuleError::Failed(m));
        }
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::util::test_support::{failed, run};
    use serde_json::json;

    #[test]
    fn healthy_root_and_broken_links() {
        let t = tempfile::tempdir().unwrap();
        let r = t.path().display().to_string();
        let ok = run(&ComponentHealth, json!({"root": r})).unwrap();
        assert_eq!(ok["healthy"], json!(true));
        assert_eq!(ok["changed"], json!(false));
        // A component whose link is missing makes the root unhealthy.
        let c = t.path().join("components/model");
        std::fs::create_dir_all(c.join("1.0")).unwrap();
        std::os::unix::fs::symlink("1.0", c.join("current")).unwrap();
        let m = failed(run(&ComponentHealth, json!({"root": r})));
        assert!(m["msg"].as_str().unwrap().contains("unhealthy"), "{m:?}");
    }
}
