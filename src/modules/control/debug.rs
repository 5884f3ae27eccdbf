//! `debug`: prints a message or the value of an expression.

use crate::modules::util::map;
use crate::modules::{ArgKind, ArgSpec, Args, Module, ModuleContext, ModuleError, ModuleResult};
use serde_json::Value;

pub struct Debug;

const SPEC: &[ArgSpec] = &[
    ArgSpec::new("msg", ArgKind::Raw),
    ArgSpec::new("var", ArgKind::Raw),
    ArgSpec::new("verbosity", ArgKind::Int),
];

/// An undefined name or attribute, as opposed to an expression that raised.
fn is_undefined(err: &str) -> bool {
    err.contains(" is undefined") || err.contains("has no attribute")
}

impl Module for Debug {
    fn name(&self) -> &'static str {
        "debug"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        SPEC
    }
    fn raw_args(&self) -> &'static [&'static str] {
        &["var"]
    }
    fn controller_only(&self) -> bool {
        true
    }
    fn run(&self, args: &Args, ctx: &mut ModuleContext) -> ModuleResult {
        if args.get("msg").is_some() && args.get("var").is_some() {
            return Err(ModuleError::msg("'msg' and 'var' are incompatible options"));
        }
        let verbosity = args.int("verbosity").unwrap_or(0);
        if verbosity > i64::from(ctx.verbosity) {
            return Ok(map([
                (
                    "skipped_reason",
                    Value::String("Verbosity threshold not met.".into()),
                ),
                ("skipped", Value::Bool(true)),
            ]));
        }
        let mut res = serde_json::Map::new();
        if let Some(var) = args.get("var") {
            let expr = match var {
                Value::String(s) => s.clone(),
                // Ansible's `var` is a string option that refuses conversion of containers.
                Value::Object(_) | Value::Array(_) => {
                    return Err(ModuleError::msg(format!(
                        "argument 'var' is of type {} and we were unable to convert to _check_type_str_no_conversion: '{}' is not a string and conversion is not allowed",
                        crate::template::filters::type_name(var),
                        crate::template::pyfmt::repr(var)
                    )))
                }
                other => other.to_string(),
            };
            // ansible-core 2.19 reports an undefined expression inline, with a warning
            // pointing at it; any other error (a failing filter) fails the task.
            // `var: "{{ expr }}"` is templated as it is; a bare `var: expr` is an expression.
            let evaluated = if crate::template::untrusted::is_marked(&expr) {
                Err(crate::template::untrusted::UNTRUSTED.to_string())
            } else if crate::template::is_template(&expr) {
                ctx.eval.render_string(&expr)
            } else {
                ctx.eval.eval_expr(&expr)
            };
            let value = match evaluated {
                Ok(v) => v,
                Err(e) if is_undefined(&e) => {
                    // Ansible names the undefined variable only, not the chain that led to it.
                    let e = e
                        .split(" (while templating variable '")
                        .next()
                        .unwrap_or(&e);
                    let mut warning = format!("Encountered 1 template error.\nerror 1 - {e}");
                    if let Some(at) = ctx.eval.arg_location("var") {
                        warning.push('\n');
                        warning.push_str(&at);
                    }
                    res.insert(
                        "warnings".into(),
                        Value::Array(vec![Value::String(warning)]),
                    );
                    Value::String(format!("<< error 1 - {e} >>"))
                }
                Err(e) => {
                    return Err(ModuleError::msg(format!(
                        "Task failed: Error while resolving `var` expression: {e}"
                    )))
                }
            };
            res.insert(expr, value);
        } else {
            let msg = args
                .get("msg")
                .cloned()
                .unwrap_or_else(|| Value::String("Hello world!".into()));
            res.insert("msg".into(), msg);
        }
        res.insert("_ansible_verbose_always".into(), Value::Bool(true));
        res.insert("changed".into(), Value::Bool(false));
        Ok(res)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::util::test_support::{run, run_with, Opts};
    use serde_json::json;

    #[test]
    fn msg_and_default() {
        let r = run(&Debug, json!({"msg": "hi"})).unwrap();
        assert_eq!(r["msg"], json!("hi"));
        assert_eq!(r["changed"], json!(false));
        assert_eq!(r["_ansible_verbose_always"], json!(true));
        let r = run(&Debug, json!({})).unwrap();
        assert_eq!(r["msg"], json!("Hello world!"));
    }

    #[test]
    fn var_evaluates_expression() {
        let opts = Opts {
            vars: Some(json!({"x": {"a": [1, 2]}})),
            ..Opts::default()
        };
        let r = run_with(&Debug, json!({"var": "x.a"}), opts).unwrap();
        assert_eq!(r["x.a"], json!([1, 2]));
    }

    #[test]
    fn undefined_var_is_reported_inline() {
        let r = run(&Debug, json!({"var": "nosuch"})).unwrap();
        let v = r["nosuch"].as_str().unwrap();
        assert!(
            v.starts_with("<< error 1 - ") && v.contains("nosuch"),
            "{v}"
        );
        assert!(r["warnings"][0]
            .as_str()
            .unwrap()
            .starts_with("Encountered 1 template error."));
    }

    #[test]
    fn verbosity_threshold() {
        let r = run(&Debug, json!({"msg": "x", "verbosity": 2})).unwrap();
        assert_eq!(
            r,
            *json!({"skipped_reason": "Verbosity threshold not met.", "skipped": true})
                .as_object()
                .unwrap()
        );
        let opts = Opts {
            verbosity: 2,
            ..Opts::default()
        };
        let r = run_with(&Debug, json!({"msg": "x", "verbosity": "2"}), opts).unwrap();
        assert_eq!(r["msg"], json!("x"));
    }

    #[test]
    fn msg_and_var_conflict_and_unknown_args() {
        assert!(run(&Debug, json!({"msg": "a", "var": "b"})).is_err());
        let e = crate::modules::validate(
            "debug",
            SPEC,
            json!({"mgs": 1}).as_object().cloned().unwrap(),
        )
        .unwrap_err();
        assert!(
            e.contains("Unsupported parameters for (debug) module: mgs"),
            "{e}"
        );
    }
}
