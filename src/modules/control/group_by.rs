//! `group_by`: puts the current host into a group named from its variables.

use crate::modules::util::map;
use crate::modules::{ArgKind, ArgSpec, Args, Module, ModuleContext, ModuleError, ModuleResult};
use serde_json::Value;

pub struct GroupBy;

const SPEC: &[ArgSpec] = &[
    ArgSpec::new("key", ArgKind::Str).required(),
    ArgSpec::new("parents", ArgKind::List),
];

impl Module for GroupBy {
    fn name(&self) -> &'static str {
        "group_by"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        SPEC
    }
    fn controller_only(&self) -> bool {
        true
    }
    fn run(&self, args: &Args, _ctx: &mut ModuleContext) -> ModuleResult {
        let Some(key) = args.str("key") else {
            return Err(ModuleError::msg(
                "the 'key' param is required when using group_by",
            ));
        };
        // Ansible replaces spaces; other invalid characters only draw a warning.
        let group = key.replace(' ', "-");
        let parents: Vec<Value> = match args.list("parents") {
            Some(items) if !items.is_empty() => items
                .iter()
                .map(|p| match p {
                    Value::String(s) => Value::String(s.replace(' ', "-")),
                    other => Value::String(other.to_string()),
                })
                .collect(),
            _ => vec![Value::String("all".into())],
        };
        Ok(map([
            ("add_group", Value::String(group)),
            ("changed", Value::Bool(true)),
            ("parent_groups", Value::Array(parents)),
        ]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::util::test_support::run;
    use serde_json::json;

    #[test]
    fn group_and_parents() {
        let r = run(&GroupBy, json!({"key": "os_Debian", "parents": "p1,p2"})).unwrap();
        assert_eq!(
            serde_json::Value::Object(r),
            json!({"add_group": "os_Debian", "changed": true, "parent_groups": ["p1", "p2"]})
        );
        let r = run(&GroupBy, json!({"key": "a b"})).unwrap();
        assert_eq!(r["add_group"], json!("a-b"));
        assert_eq!(r["parent_groups"], json!(["all"]));
    }

    #[test]
    fn key_required() {
        let raw = json!({"parents": "x"}).as_object().cloned().unwrap();
        assert!(crate::modules::validate("group_by", SPEC, raw)
            .unwrap_err()
            .contains("key"));
    }
}
