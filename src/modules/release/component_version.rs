//! `component_version`: list, switch, rollback, cleanup, pin and unpin the deployed versions of
//! one component on a host (`crate::release::version` over `ctx.conn`). In check mode it only
//! reads the host and says what would change.
//!
//! Also holds the small helpers the other `component_*` modules share (error and report
//! mapping), so each of them stays a thin wrapper.

use crate::modules::{ArgKind, ArgSpec, Args, Module, ModuleContext, ModuleError, ModuleResult};
use crate::release::lock::LockOptions;
use crate::release::{version, ErrorKind, ReleaseError};
use serde::Serialize;
use serde_json::{Map, Value};
use std::time::Duration;

pub struct ComponentVersion;

const SPEC: &[ArgSpec] = &[
    ArgSpec::new("action", ArgKind::Str)
        .required()
        .choices(&["list", "switch", "rollback", "cleanup", "pin", "unpin"]),
    ArgSpec::new("type", ArgKind::Str)
        .required()
        .aliases(&["component"]),
    ArgSpec::new("root", ArgKind::Path).required(),
    ArgSpec::new("version", ArgKind::Str),
    ArgSpec::new("keep", ArgKind::Int),
    ArgSpec::new("keep_days", ArgKind::Int),
    ArgSpec::new("lock_timeout", ArgKind::Int),
];

/// A library error as a module result: unreachable hosts stay unreachable, the rest fail
/// with the library's one-line reason and its kind.
pub(super) fn release_err(e: ReleaseError) -> ModuleError {
    if e.kind == ErrorKind::Unreachable {
        return ModuleError::Unreachable(e.message);
    }
    let mut m = Map::new();
    m.insert("changed".into(), Value::Bool(false));
    m.insert("msg".into(), Value::String(e.to_string()));
    m.insert(
        "error_kind".into(),
        Value::String(format!("{:?}", e.kind).to_lowercase()),
    );
    ModuleError::Failed(m)
}

/// A report's fields as a result map (a report always serializes to an object).
pub(super) fn fields<T: Serialize>(report: &T) -> Map<String, Value> {
    match serde_json::to_value(report) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

/// `changed` and `msg` first, then the report fields, Ansible-style.
pub(super) fn result(changed: bool, msg: String, rest: Map<String, Value>) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("changed".into(), Value::Bool(changed));
    m.insert("msg".into(), Value::String(msg));
    for (k, v) in rest {
        if k != "changed" && k != "msg" {
            m.insert(k, v);
        }
    }
    m
}

/// Lock options for a remote caller: the holder's pid means nothing on the host.
pub(super) fn lock_opts(args: &Args) -> LockOptions {
    let mut lo = LockOptions::default();
    if let Some(s) = args.int("lock_timeout") {
        lo.timeout = Duration::from_secs(s.max(0) as u64);
    }
    lo
}

/// A non-negative integer argument.
pub(super) fn count(args: &Args, key: &str) -> Result<Option<u64>, ModuleError> {
    match args.int(key) {
        Some(n) if n < 0 => Err(ModuleError::msg(format!("{key} must be >= 0, got {n}"))),
        other => Ok(other.map(|n| n as u64)),
    }
}

fn need_version<'a>(args: &'a Args, action: &str) -> Result<&'a str, ModuleError> {
    args.str("version")
        .ok_or_else(|| ModuleError::msg(format!("action={action} requires version")))
}

impl Module for ComponentVersion {
    fn name(&self) -> &'static str {
        "component_version"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        SPEC
    }
    fn run(&self, args: &Args, ctx: &mut ModuleContext) -> ModuleResult {
        let action = args.str("action").unwrap_or("list");
        let comp = args.str("type").unwrap_or_default();
        let root = args.str("root").unwrap_or_default();
        let lo = lock_opts(args);
        let conn = &mut *ctx.conn;
        match action {
            "list" => {
                let l = version::list(conn, root, comp).map_err(release_err)?;
                let msg = format!(
                    "{comp}: {} version(s), current {}",
                    l.versions.len(),
                    l.current.as_deref().unwrap_or("none")
                );
                Ok(result(false, msg, fields(&l)))
            }
            "switch" => {
                let v = need_version(args, action)?;
                if ctx.check_mode {
                    let l = version::list(conn, root, comp).map_err(release_err)?;
                    if !l.versions.iter().any(|x| x.version == v) {
                        return Err(release_err(ReleaseError::not_found(format!(
                            "version {v} is not deployed"
                        ))));
                    }
                    let changed = l.current.as_deref() != Some(v);
                    let mut rest = Map::new();
                    rest.insert("component".into(), comp.into());
                    rest.insert("current".into(), v.into());
                    rest.insert(
                        "previous".into(),
                        if changed { l.current } else { l.previous }.into(),
                    );
                    return Ok(result(changed, would(changed, comp, v), rest));
                }
                let r = version::switch(conn, root, comp, v, &lo).map_err(release_err)?;
                let msg = if r.changed {
                    format!("{comp}: switched to {}", r.current)
                } else {
                    format!("{comp}: {} is already current", r.current)
                };
                Ok(result(r.changed, msg, fields(&r)))
            }
            "rollback" => {
                if ctx.check_mode {
                    let l = version::list(conn, root, comp).map_err(release_err)?;
                    let prev = l.previous.clone().ok_or_else(|| {
                        release_err(ReleaseError::not_found(format!(
                            "{comp}: no previous version recorded to roll back to"
                        )))
                    })?;
                    let mut rest = Map::new();
                    rest.insert("component".into(), comp.into());
                    rest.insert("current".into(), prev.clone().into());
                    rest.insert("previous".into(), l.current.into());
                    return Ok(result(true, would(true, comp, &prev), rest));
                }
                let r = version::rollback(conn, root, comp, &lo).map_err(release_err)?;
                let msg = format!("{comp}: rolled back to {}", r.current);
                Ok(result(r.changed, msg, fields(&r)))
            }
            "cleanup" => {
                let keep = count(args, "keep")?.map(|n| n as usize);
                let days = count(args, "keep_days")?;
                let r = version::cleanup(conn, root, comp, keep, days, ctx.check_mode, &lo)
                    .map_err(release_err)?;
                // The library reports a dry run as unchanged; check mode says what would go.
                let changed = r.changed || (ctx.check_mode && !r.removed.is_empty());
                let msg = if r.removed.is_empty() {
                    format!("{comp}: nothing to clean up")
                } else {
                    format!(
                        "{comp}: {} {}",
                        if ctx.check_mode {
                            "would remove"
                        } else {
                            "removed"
                        },
                        r.removed.join(", ")
                    )
                };
                Ok(result(changed, msg, fields(&r)))
            }
            _ => {
                let pin = action == "pin";
                let v = need_version(args, action)?;
                let changed = if ctx.check_mode {
                    let l = version::list(conn, root, comp).map_err(release_err)?;
                    l.pinned.iter().any(|p| p == v) != pin
                } else {
                    version::pin(conn, root, comp, v, pin, &lo).map_err(release_err)?
                };
                let mut rest = Map::new();
                rest.insert("component".into(), comp.into());
                rest.insert("version".into(), v.into());
                rest.insert("pinned".into(), Value::Bool(pin));
                let msg = format!(
                    "{comp}: {v} {}{}",
                    if changed { "" } else { "already " },
                    if pin { "pinned" } else { "unpinned" }
                );
                Ok(result(changed, msg, rest))
            }
        }
    }
}

fn would(changed: bool, comp: &str, v: &str) -> String {
    if changed {
        format!("{comp}: would switch to {v}")
    } else {
        format!("{comp}: {v} is already current")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::util::test_support::{failed, run, run_with, Opts};
    use serde_json::json;

    /// A root with model 1.0 and 2.0 deployed by hand, `current` -> 2.0.
    fn root() -> tempfile::TempDir {
        let t = tempfile::tempdir().unwrap();
        let c = t.path().join("components/model");
        // The state dir as deploy leaves it (state::save does not create it).
        std::fs::create_dir_all(t.path().join(".yiqiu/state")).unwrap();
        for v in ["1.0", "2.0"] {
            std::fs::create_dir_all(c.join(v)).unwrap();
            std::fs::write(c.join(v).join("w"), v).unwrap();
        }
        std::os::unix::fs::symlink("2.0", c.join("current")).unwrap();
        t
    }

    fn current(t: &tempfile::TempDir) -> String {
        std::fs::read_link(t.path().join("components/model/current"))
            .unwrap()
            .display()
            .to_string()
    }

    #[test]
    fn list_switch_and_check_mode() {
        let t = root();
        let r = t.path().display().to_string();
        let l = run(
            &ComponentVersion,
            json!({"action": "list", "type": "model", "root": r}),
        )
        .unwrap();
        assert_eq!(l["changed"], json!(false));
        assert_eq!(l["current"], json!("2.0"));
        assert_eq!(l["versions"].as_array().unwrap().len(), 2);

        let args = json!({"action": "switch", "type": "model", "root": r, "version": "1.0"});
        let c = run_with(
            &ComponentVersion,
            args.clone(),
            Opts {
                check: true,
                ..Opts::default()
            },
        )
        .unwrap();
        assert_eq!(c["changed"], json!(true));
        assert_eq!(current(&t), "2.0", "check mode must not switch");

        let s = run(&ComponentVersion, args.clone()).unwrap();
        assert_eq!(s["changed"], json!(true));
        assert_eq!(current(&t), "1.0");
        let again = run(&ComponentVersion, args).unwrap();
        assert_eq!(again["changed"], json!(false));

        let rb = run(
            &ComponentVersion,
            json!({"action": "rollback", "type": "model", "root": r}),
        )
        .unwrap();
        assert_eq!(rb["current"], json!("2.0"));
        assert_eq!(current(&t), "2.0");
    }

    #[test]
    fn missing_version_and_unknown_version_fail() {
        let t = root();
        let r = t.path().display().to_string();
        let m = failed(run(
            &ComponentVersion,
            json!({"action": "switch", "type": "model", "root": r}),
        ));
        assert!(m["msg"].as_str().unwrap().contains("requires version"));
        let m = failed(run(
            &ComponentVersion,
            json!({"action": "switch", "type": "model", "root": r, "version": "9.9"}),
        ));
        assert!(m["msg"].as_str().unwrap().contains("9.9"), "{m:?}");
        assert_eq!(current(&t), "2.0");
    }

    #[test]
    fn pin_is_idempotent() {
        let t = root();
        let r = t.path().display().to_string();
        let a = json!({"action": "pin", "type": "model", "root": r, "version": "1.0"});
        assert_eq!(
            run(&ComponentVersion, a.clone()).unwrap()["changed"],
            json!(true)
        );
        assert_eq!(run(&ComponentVersion, a).unwrap()["changed"], json!(false));
    }
}
