//! `component_links`: the stable paths under `<root>/links/` and the custom links
//! (`crate::release::links`). `verify` fails when any link is missing, dangling or wrong, so a
//! play stops there; `repair` recreates them atomically (check mode: says which it would).

use crate::modules::component_version::{fields, release_err, result};
use crate::modules::{ArgKind, ArgSpec, Args, Module, ModuleContext, ModuleError, ModuleResult};
use crate::release::links;
use serde_json::Value;

pub struct ComponentLinks;

const SPEC: &[ArgSpec] = &[
    ArgSpec::new("action", ArgKind::Str).choices(&["list", "verify", "repair"]),
    ArgSpec::new("root", ArgKind::Path).required(),
];

fn to_value(l: &[links::LinkStatus]) -> Value {
    serde_json::to_value(l).unwrap_or(Value::Null)
}

impl Module for ComponentLinks {
    fn name(&self) -> &'static str {
        "component_links"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        SPEC
    }
    fn run(&self, args: &Args, ctx: &mut ModuleContext) -> ModuleResult {
        let root = args.str("root").unwrap_or_default();
        let conn = &mut *ctx.conn;
        match args.str("action").unwrap_or("list") {
            "list" => {
                let l = links::list(conn, root).map_err(release_err)?;
                let bad = l.iter().filter(|s| s.status != "ok").count();
                let mut rest = serde_json::Map::new();
                rest.insert("links".into(), to_value(&l));
                Ok(result(
                    false,
                    format!("{} link(s), {bad} not ok", l.len()),
                    rest,
                ))
            }
            "verify" => {
                let bad = links::verify(conn, root).map_err(release_err)?;
                let mut rest = serde_json::Map::new();
                rest.insert("valid".into(), Value::Bool(bad.is_empty()));
                rest.insert("broken".into(), to_value(&bad));
                if bad.is_empty() {
                    return Ok(result(false, "all links valid".into(), rest));
                }
                let what: Vec<String> = bad
                    .iter()
                    .map(|l| format!("{} {}", l.path, l.status))
                    .collect();
                let mut m = result(false, format!("broken links: {}", what.join(", ")), rest);
                m.insert("failed".into(), Value::Bool(true));
                Err(ModuleError::Failed(m))
            }
            _ => {
                if ctx.check_mode {
                    let bad = links::verify(conn, root).map_err(release_err)?;
                    // A real file in a link's place is never replaced, so it is not a change.
                    let fixable: Vec<&links::LinkStatus> =
                        bad.iter().filter(|l| l.status != "not_a_link").collect();
                    let mut rest = serde_json::Map::new();
                    rest.insert(
                        "repaired".into(),
                        fixable
                            .iter()
                            .map(|l| Value::from(l.path.clone()))
                            .collect(),
                    );
                    rest.insert("remaining".into(), to_value(&bad));
                    let changed = !fixable.is_empty();
                    let msg = if changed {
                        format!("would repair {} link(s)", fixable.len())
                    } else {
                        "nothing to repair".into()
                    };
                    return Ok(result(changed, msg, rest));
                }
                let r = links::repair(conn, root).map_err(release_err)?;
                let msg = if r.changed {
                    format!("repaired {}", r.repaired.join(", "))
                } else {
                    "nothing to repair".into()
                };
                Ok(result(r.changed, msg, fields(&r)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::util::test_support::{failed, run, run_with, Opts};
    use serde_json::json;

    #[test]
    fn verify_fails_then_repair_fixes() {
        let t = tempfile::tempdir().unwrap();
        let c = t.path().join("components/model");
        std::fs::create_dir_all(c.join("1.0")).unwrap();
        std::os::unix::fs::symlink("1.0", c.join("current")).unwrap();
        let r = t.path().display().to_string();
        let m = failed(run(&ComponentLinks, json!({"action": "verify", "root": r})));
        assert!(m["msg"].as_str().unwrap().contains("links/model"), "{m:?}");

        let check = run_with(
            &ComponentLinks,
            json!({"action": "repair", "root": r}),
            Opts {
                check: true,
                ..Opts::default()
            },
        )
        .unwrap();
        assert_eq!(check["changed"], json!(true));
        assert!(std::fs::symlink_metadata(t.path().join("links/model")).is_err());

        let fix = run(&ComponentLinks, json!({"action": "repair", "root": r})).unwrap();
        assert_eq!(fix["changed"], json!(true));
        assert_eq!(
            std::fs::read_link(t.path().join("links/model")).unwrap(),
            std::path::PathBuf::from("../components/model/current")
        );
        let ok = run(&ComponentLinks, json!({"action": "verify", "root": r})).unwrap();
        assert_eq!(ok["valid"], json!(true));
    }
}
