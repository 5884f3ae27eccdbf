//! Conditionals (`when:`, `failed_when:`, `assert: that:`) by ansible-core 2.19's rules
//! (`TemplateEngine.evaluate_conditional`):
//!
//! - a conditional is an expression that must give a bool; anything else is a *broken
//!   conditional* (`Conditional result (True) was derived from value of type 'str' ...`),
//!   unless `ALLOW_BROKEN_CONDITIONALS` is on, which goes back to truthiness;
//! - a conditional wholly inside `{{ }}` is templated first: a non-string result is the
//!   result, a string is evaluated as the expression only when it is *trusted*: it comes
//!   from a variable (`{{ my_expression }}`), not from a computation or a literal in the
//!   template (`{{ '1 == 1' }}`), which Ansible refuses as untrusted;
//! - template delimiters inside an expression are a syntax error.

use super::{single_expression, templar, TemplateError};
use minijinja::Value as MjValue;
use serde_json::Value;
use std::sync::atomic::{AtomicBool, Ordering};

static ALLOW_BROKEN: AtomicBool = AtomicBool::new(false);

/// `ALLOW_BROKEN_CONDITIONALS` (ansible.cfg / environment), set once by the CLI.
pub fn set_allow_broken_conditionals(yes: bool) {
    ALLOW_BROKEN.store(yes, Ordering::Relaxed);
}

pub fn allow_broken_conditionals() -> bool {
    ALLOW_BROKEN.load(Ordering::Relaxed)
}

fn err(message: impl Into<String>) -> TemplateError {
    TemplateError {
        message: message.into(),
    }
}

use super::untrusted::UNTRUSTED;

/// Evaluates one conditional value.
pub fn evaluate(cond: &Value, ctx: &MjValue) -> Result<bool, TemplateError> {
    match cond {
        Value::Bool(b) => Ok(*b),
        Value::Null => empty(),
        Value::Array(items) => {
            for item in items {
                if !evaluate(item, ctx)? {
                    return Ok(false);
                }
            }
            Ok(true)
        }
        Value::String(s) => evaluate_str(s.trim(), ctx),
        Value::Number(n) if allow_broken_conditionals() => Ok(n.as_f64() != Some(0.0)),
        Value::Number(_) => Err(err("Conditional expressions must be strings.")),
        Value::Object(_) => Err(err("Conditional expressions must be strings.")),
    }
}

fn empty() -> Result<bool, TemplateError> {
    if allow_broken_conditionals() {
        return Ok(true);
    }
    Err(err("Empty conditional expressions are not allowed."))
}

fn evaluate_str(s: &str, ctx: &MjValue) -> Result<bool, TemplateError> {
    if s.is_empty() {
        return empty();
    }
    if super::untrusted::is_marked(s) {
        return Err(err(UNTRUSTED));
    }
    let Some(inner) = single_expression(s) else {
        return expression(s, ctx);
    };
    let v = templar().eval(inner, ctx)?;
    if v.is_undefined() {
        return Err(err(super::errors::undefined_message(inner, ctx)));
    }
    match v.as_str() {
        Some(text) if is_variable_path(inner) => {
            let text = text.trim();
            if text.is_empty() {
                return empty();
            }
            expression(text, ctx)
        }
        Some(_) => Err(err(UNTRUSTED)),
        None => result(&v),
    }
}

/// Evaluates a conditional expression; its value must be a bool.
fn expression(expr: &str, ctx: &MjValue) -> Result<bool, TemplateError> {
    let v = templar().eval_conditional_expr(expr, ctx).map_err(|e| {
        match e.message.strip_prefix("Syntax error in template: ") {
            Some(detail) if super::is_template(expr) => err(format!(
                "Syntax error in expression. Template delimiters are not supported in expressions: {detail}"
            )),
            _ => e,
        }
    })?;
    if v.is_undefined() {
        return Err(err(super::errors::undefined_message(expr, ctx)));
    }
    result(&v)
}

fn result(v: &MjValue) -> Result<bool, TemplateError> {
    if v.kind() == minijinja::value::ValueKind::Bool {
        return Ok(v.is_true());
    }
    let truthy = v.is_true();
    if allow_broken_conditionals() {
        return Ok(truthy);
    }
    let kind = super::to_json(v)
        .map(|j| super::filters::type_name(&j))
        .unwrap_or("object");
    Err(err(format!(
        "Conditional result ({}) was derived from value of type '{kind}' at '<unknown>'. Conditionals must have a boolean result.",
        if truthy { "True" } else { "False" }
    )))
}

/// Whether `expr` only names a variable (`x`, `x.y`, `x[0]`, `x['k']`): then the string it
/// gives is the variable's own (trusted) value.
fn is_variable_path(expr: &str) -> bool {
    let re = regex::Regex::new(
        r#"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*|\[[0-9]+\]|\['[^']*'\]|\["[^"]*"\])*$"#,
    );
    re.is_ok_and(|re| re.is_match(expr.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ctx() -> MjValue {
        super::super::mj_value(json!({"e": "1 == 1", "s": "x", "n": 3, "l": [1]}))
    }

    #[test]
    fn results_must_be_bools() {
        assert!(evaluate(&json!("1 == 1"), &ctx()).unwrap());
        assert!(evaluate(&json!("{{ 1 == 1 }}"), &ctx()).unwrap());
        assert!(evaluate(&json!("{{ e }}"), &ctx()).unwrap());
        let e = evaluate(&json!("s"), &ctx()).unwrap_err().message;
        assert!(
            e.contains("Conditional result (True) was derived from value of type 'str'"),
            "{e}"
        );
        assert!(evaluate(&json!("n"), &ctx()).is_err());
        assert!(evaluate(&json!("l | length > 0"), &ctx()).unwrap());
        let e = evaluate(&json!("{{ '1 == 1' }}"), &ctx())
            .unwrap_err()
            .message;
        assert_eq!(e, UNTRUSTED);
        assert!(evaluate(&json!(""), &ctx()).is_err());
    }
}
