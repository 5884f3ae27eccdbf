//! `assert`: evaluates conditions and fails on the first false one.

use crate::modules::util::map;
use crate::modules::{ArgKind, ArgSpec, Args, Module, ModuleContext, ModuleError, ModuleResult};
use serde_json::Value;

pub struct Assert;

const SPEC: &[ArgSpec] = &[
    ArgSpec::new("that", ArgKind::Raw).required(),
    ArgSpec::new("fail_msg", ArgKind::Raw).aliases(&["msg"]),
    ArgSpec::new("success_msg", ArgKind::Raw),
    ArgSpec::new("quiet", ArgKind::Bool),
];

impl Module for Assert {
    fn name(&self) -> &'static str {
        "assert"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        SPEC
    }
    fn raw_args(&self) -> &'static [&'static str] {
        &["that"]
    }
    fn controller_only(&self) -> bool {
        true
    }
    fn run(&self, args: &Args, ctx: &mut ModuleContext) -> ModuleResult {
        let conditions: Vec<Value> = match args.get("that") {
            Some(Value::Array(items)) => items.clone(),
            // `that: '{{ list_of_expressions }}'`: Ansible templates the argument first,
            // and each expression of the list is a conditional.
            Some(Value::String(s)) => match crate::template::single_expression(s.trim()) {
                Some(inner) => match ctx.eval.eval_expr(inner) {
                    Ok(Value::Array(items)) => items,
                    _ => vec![Value::String(s.clone())],
                },
                None => vec![Value::String(s.clone())],
            },
            Some(other) => vec![other.clone()],
            None => Vec::new(),
        };
        let quiet = args.bool_or("quiet", false);
        for cond in conditions {
            let ok = match &cond {
                Value::Bool(b) => *b,
                Value::String(s) => ctx.eval.eval_condition(s).map_err(|e| {
                    ModuleError::msg(format!(
                        "Task failed: Error while evaluating conditional: {e}"
                    ))
                })?,
                other => ctx.eval.eval_condition_value(other).map_err(|e| {
                    ModuleError::msg(format!(
                        "Task failed: Error while evaluating conditional: {e}"
                    ))
                })?,
            };
            if !ok {
                let msg = args
                    .get("fail_msg")
                    .cloned()
                    .unwrap_or_else(|| Value::String("Assertion failed".into()));
                let assertion = cond;
                let mut res = map([
                    ("assertion", assertion),
                    ("changed", Value::Bool(false)),
                    ("evaluated_to", Value::Bool(false)),
                    ("msg", msg),
                ]);
                // Ansible prints a failed assert indented, like a passing one.
                if !quiet {
                    res.insert("_ansible_verbose_always".into(), Value::Bool(true));
                }
                return Err(ModuleError::Failed(res));
            }
        }
        let msg = args
            .get("success_msg")
            .cloned()
            .unwrap_or_else(|| Value::String("All assertions passed".into()));
        let mut res = map([("changed", Value::Bool(false)), ("msg", msg)]);
        if !quiet {
            res.insert("_ansible_verbose_always".into(), Value::Bool(true));
        }
        Ok(res)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::util::test_support::{failed, run, run_with, Opts};
    use serde_json::json;

    fn vars() -> Opts {
        Opts {
            vars: Some(json!({"x": 2, "l": [1, 2]})),
            ..Opts::default()
        }
    }

    #[test]
    fn all_pass() {
        let r = run_with(
            &Assert,
            json!({"that": ["x == 2", "l | length == 2"]}),
            vars(),
        )
        .unwrap();
        assert_eq!(r["msg"], json!("All assertions passed"));
        assert_eq!(r["changed"], json!(false));
        assert_eq!(r["_ansible_verbose_always"], json!(true));
        let r = run_with(
            &Assert,
            json!({"that": "x == 2", "quiet": true, "success_msg": "ok"}),
            vars(),
        )
        .unwrap();
        assert_eq!(r["msg"], json!("ok"));
        assert!(!r.contains_key("_ansible_verbose_always"));
    }

    #[test]
    fn first_false_condition_is_reported() {
        let m = failed(run_with(
            &Assert,
            json!({"that": ["x == 2", "x == 3", "x == 4"]}),
            vars(),
        ));
        assert_eq!(
            serde_json::Value::Object(m),
            json!({"_ansible_verbose_always": true, "assertion": "x == 3", "changed": false, "evaluated_to": false, "msg": "Assertion failed"})
        );
        let m = failed(run_with(
            &Assert,
            json!({"that": "x == 3", "msg": "boom"}),
            vars(),
        ));
        assert_eq!(m["msg"], json!("boom"));
    }

    #[test]
    fn undefined_variable_fails_with_conditional_error() {
        let m = failed(run(&Assert, json!({"that": "nosuch == 2"})));
        let msg = m["msg"].as_str().unwrap();
        assert!(
            msg.starts_with("Task failed: Error while evaluating conditional:"),
            "{msg}"
        );
        assert!(!m.contains_key("assertion"));
    }
}
