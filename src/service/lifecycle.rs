//! A unit's own hooks (seed 000's state flow): install or upgrade, config-changed, start.

use super::state::UnitState;
use super::topology::Unit;

const LIFECYCLE: &[&str] = &["install", "upgrade", "config-changed", "start"];

/// What a unit needs this run, before any relation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LifecyclePlan {
    /// Ship the program version (extract + switch `current`).
    pub deploy: bool,
    /// `(hook, reason)` in firing order.
    pub hooks: Vec<(String, String)>,
}

pub fn plan(unit: &Unit, version: &str, state: Option<&UnitState>) -> LifecyclePlan {
    let mut hooks = Vec::new();
    let mut deploy = false;
    let mut push = |h: &str, why: String| hooks.push((h.to_string(), why));
    let installed = state.is_some_and(|s| s.version.is_some() && s.status != "none");
    match state.and_then(|s| s.version.as_deref()) {
        _ if !installed => {
            deploy = true;
            push("install", format!("first deploy of version {version}"));
            push("config-changed", "first config".into());
        }
        Some(old) if old != version => {
            deploy = true;
            push("upgrade", format!("program {old} -> {version}"));
            push("config-changed", "after upgrade".into());
        }
        _ => {
            let old = state.and_then(|s| s.config.as_ref());
            if old != Some(&unit.config) {
                push("config-changed", config_reason(old, unit));
            }
        }
    }
    if state.is_none_or(|s| s.status != "running") {
        push("start", "not running".into());
    }
    // A hook that failed last run is retried first.
    if let Some(p) = state.and_then(|s| s.pending.as_deref()) {
        if LIFECYCLE.contains(&p) && !hooks.iter().any(|(h, _)| h == p) {
            hooks.insert(0, (p.to_string(), "retry: it failed last run".into()));
        }
    }
    LifecyclePlan { deploy, hooks }
}

/// `memory_mb 64 -> 128 (unit config ...)`: what changed and which layer says so.
fn config_reason(old: Option<&serde_json::Map<String, serde_json::Value>>, unit: &Unit) -> String {
    let empty = serde_json::Map::new();
    let old = old.unwrap_or(&empty);
    let mut parts = Vec::new();
    for (k, v) in &unit.config {
        if old.get(k) != Some(v) {
            let was = old
                .get(k)
                .map(|v| v.to_string())
                .unwrap_or_else(|| "unset".into());
            let from = unit.origins.get(k).map(String::as_str).unwrap_or("?");
            parts.push(format!("{k} {was} -> {v} ({from})"));
        }
    }
    for k in old.keys().filter(|k| !unit.config.contains_key(*k)) {
        parts.push(format!("{k} removed"));
    }
    format!("config: {}", parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn unit(mem: u64) -> Unit {
        Unit {
            id: "m_1@h".into(),
            service: "m".into(),
            host: "h".into(),
            address: "h".into(),
            port: 1,
            dir: "/r/m_1".into(),
            config: json!({"memory_mb": mem}).as_object().unwrap().clone(),
            origins: [("memory_mb".to_string(), "service config".to_string())].into(),
        }
    }

    fn names(p: &LifecyclePlan) -> Vec<&str> {
        p.hooks.iter().map(|h| h.0.as_str()).collect()
    }

    #[test]
    fn hooks_follow_from_the_difference() {
        let first = plan(&unit(64), "1", None);
        assert!(first.deploy);
        assert_eq!(names(&first), ["install", "config-changed", "start"]);
        let mut s = UnitState {
            status: "running".into(),
            version: Some("1".into()),
            config: Some(unit(64).config),
            ..UnitState::default()
        };
        assert_eq!(
            plan(&unit(64), "1", Some(&s)),
            LifecyclePlan {
                deploy: false,
                hooks: vec![]
            }
        );
        let p = plan(&unit(128), "1", Some(&s));
        assert_eq!(names(&p), ["config-changed"]);
        assert_eq!(p.hooks[0].1, "config: memory_mb 64 -> 128 (service config)");
        let p = plan(&unit(64), "2", Some(&s));
        assert!(p.deploy);
        assert_eq!(names(&p), ["upgrade", "config-changed"]);
        s.status = "installed".into();
        assert_eq!(names(&plan(&unit(64), "1", Some(&s))), ["start"]);
        s.status = "running".into();
        s.pending = Some("config-changed".into());
        let p = plan(&unit(64), "1", Some(&s));
        assert_eq!(
            p.hooks,
            [(
                "config-changed".to_string(),
                "retry: it failed last run".to_string()
            )]
        );
    }
}
