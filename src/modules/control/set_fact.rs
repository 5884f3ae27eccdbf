//! `set_fact`: sets host variables (returned as `ansible_facts`, which the executor stores).
//!
//! Any key is accepted: the spec ends with [`ArgSpec::any`], so `validate` keeps every key
//! it does not know as given.

use crate::modules::util::{is_identifier, map};
use crate::modules::{ArgKind, ArgSpec, Args, Module, ModuleContext, ModuleError, ModuleResult};
use serde_json::{Map, Value};

pub struct SetFact;

const SPEC: &[ArgSpec] = &[ArgSpec::new("cacheable", ArgKind::Bool), ArgSpec::any()];

/// Names Jinja gives a meaning of their own (ansible-core's `JINJA_KEYWORDS`).
const JINJA_KEYWORDS: &[&str] = &["true", "false", "none", "True", "False", "None", "not"];

/// ` of type 'int'` for a key that a template or YAML made a number (keys reach the module
/// as text, so a numeric text is taken for the number it was).
fn key_type(k: &str) -> &'static str {
    if k.parse::<i64>().is_ok() {
        " of type 'int'"
    } else if k.parse::<f64>().is_ok_and(f64::is_finite) {
        " of type 'float'"
    } else {
        ""
    }
}

impl Module for SetFact {
    fn name(&self) -> &'static str {
        "set_fact"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        SPEC
    }
    fn controller_only(&self) -> bool {
        true
    }
    fn run(&self, args: &Args, _ctx: &mut ModuleContext) -> ModuleResult {
        let mut facts = Map::new();
        for (k, v) in &args.0 {
            if k == "cacheable" {
                continue;
            }
            if !is_identifier(k) || JINJA_KEYWORDS.contains(&k.as_str()) {
                // ansible-core 2.19 raises here; its registered msg carries the prefix.
                return Err(ModuleError::msg(format!(
                    "Task failed: Invalid variable name '{k}'{}.",
                    key_type(k)
                )));
            }
            facts.insert(k.clone(), v.clone());
        }
        if facts.is_empty() {
            return Err(ModuleError::msg(
                "No key/value pairs provided, at least one is required for this action to succeed",
            ));
        }
        let mut res = map([
            ("ansible_facts", Value::Object(facts)),
            ("changed", Value::Bool(false)),
        ]);
        if args.bool_or("cacheable", false) {
            res.insert("_ansible_facts_cacheable".into(), Value::Bool(true));
        }
        Ok(res)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::util::test_support::{failed, run};
    use serde_json::json;

    #[test]
    fn sets_any_keys() {
        let r = run(
            &SetFact,
            json!({"a": "1", "b": {"c": [1]}, "cacheable": "no"}),
        )
        .unwrap();
        assert_eq!(r["ansible_facts"], json!({"a": "1", "b": {"c": [1]}}));
        assert_eq!(r["changed"], json!(false));
        assert!(!r.contains_key("_ansible_facts_cacheable"));
        let r = run(&SetFact, json!({"a": 1, "cacheable": true})).unwrap();
        assert_eq!(r["_ansible_facts_cacheable"], json!(true));
    }

    #[test]
    fn invalid_name_and_empty() {
        let m = failed(run(&SetFact, json!({"1a": 2})));
        assert_eq!(m["msg"], json!("Task failed: Invalid variable name '1a'."));
        let m = failed(run(&SetFact, json!({"true": 2})));
        assert_eq!(
            m["msg"],
            json!("Task failed: Invalid variable name 'true'.")
        );
        let m = failed(run(&SetFact, json!({"1": 2})));
        assert_eq!(
            m["msg"],
            json!("Task failed: Invalid variable name '1' of type 'int'.")
        );
        let m = failed(run(&SetFact, json!({"cacheable": true})));
        assert!(m["msg"]
            .as_str()
            .unwrap()
            .starts_with("No key/value pairs provided"));
    }
}
