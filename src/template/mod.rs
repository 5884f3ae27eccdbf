//! Template layer: Jinja through minijinja, with Ansible's filters, tests and lookups.
//!
//! One process-wide environment; each distinct template or expression is compiled once and
//! cached. A string that is exactly one `{{ expr }}` yields the expression's native value
//! (list, dict, int, bool), as Ansible does.

pub mod filters;
pub mod lookups;
pub mod tests;

use minijinja::{Environment, Expression, UndefinedBehavior, Value as MjValue};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// The value Ansible calls `omit`: an argument rendered to it is dropped.
pub const OMIT: &str = "__omit_place_holder__yiqiu";

/// A templating error: the message names the variable when it is undefined.
#[derive(Clone, Debug, PartialEq)]
pub struct TemplateError {
    pub message: String,
}

impl std::fmt::Display for TemplateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<minijinja::Error> for TemplateError {
    fn from(e: minijinja::Error) -> TemplateError {
        TemplateError {
            message: describe_error(&e),
        }
    }
}

/// Turns a minijinja error into Ansible-like words (`'foo' is undefined`).
pub fn describe_error(e: &minijinja::Error) -> String {
    let mut msg = match e.detail() {
        Some(d) => format!("{}: {d}", e.kind()),
        None => e.kind().to_string(),
    };
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        msg.push_str(&format!(": {s}"));
        source = s.source();
    }
    msg
}

pub struct Templar {
    env: Environment<'static>,
    expressions: Mutex<HashMap<String, Arc<Expression<'static, 'static>>>>,
}

static TEMPLAR: OnceLock<Templar> = OnceLock::new();

/// The shared templar.
pub fn templar() -> &'static Templar {
    TEMPLAR.get_or_init(Templar::new)
}

/// Whether a string contains Jinja syntax at all (plain strings skip the engine).
pub fn is_template(s: &str) -> bool {
    s.contains("{{") || s.contains("{%") || s.contains("{#")
}

/// If `s` is exactly one `{{ expr }}` (surrounding whitespace allowed), the expression.
pub fn single_expression(s: &str) -> Option<&str> {
    let t = s.trim();
    let inner = t.strip_prefix("{{")?.strip_suffix("}}")?;
    if inner.contains("{{") || inner.contains("}}") || inner.contains("{%") {
        return None;
    }
    Some(inner.trim_start_matches('-').trim_end_matches('-').trim())
}

impl Templar {
    fn new() -> Templar {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        if let Ok(syntax) = minijinja::syntax::SyntaxConfig::builder()
            .trim_blocks(true)
            .keep_trailing_newline(true)
            .build()
        {
            env.set_syntax(syntax);
        }
        env.set_recursion_limit(200);
        // Templates are cached under their own source text.
        env.set_loader(|name| Ok(Some(name.to_string())));
        minijinja_contrib::add_to_environment(&mut env);
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        filters::register(&mut env);
        tests::register(&mut env);
        lookups::register(&mut env);
        env.add_global("omit", OMIT);
        Templar {
            env,
            expressions: Mutex::new(HashMap::new()),
        }
    }

    pub fn env(&self) -> &Environment<'static> {
        &self.env
    }

    fn expression(
        &'static self,
        expr: &str,
    ) -> Result<Arc<Expression<'static, 'static>>, TemplateError> {
        let mut cache = self.expressions.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(e) = cache.get(expr) {
            return Ok(e.clone());
        }
        let compiled = Arc::new(self.env.compile_expression_owned(expr.to_string())?);
        cache.insert(expr.to_string(), compiled.clone());
        Ok(compiled)
    }

    /// Evaluates a bare expression to a minijinja value.
    pub fn eval(&'static self, expr: &str, ctx: &MjValue) -> Result<MjValue, TemplateError> {
        Ok(self.expression(expr)?.eval(ctx)?)
    }

    /// Renders a template string to text.
    pub fn render_string(&self, s: &str, ctx: &MjValue) -> Result<String, TemplateError> {
        if !is_template(s) {
            return Ok(s.to_string());
        }
        let tmpl = self.env.get_template(s)?;
        Ok(tmpl.render(ctx)?)
    }

    /// Renders a string; one `{{ expr }}` gives the native value.
    pub fn render_native(&'static self, s: &str, ctx: &MjValue) -> Result<Value, TemplateError> {
        if !is_template(s) {
            return Ok(Value::String(s.to_string()));
        }
        if let Some(expr) = single_expression(s) {
            let v = self.eval(expr, ctx)?;
            if v.is_undefined() {
                return Err(TemplateError {
                    message: format!("'{expr}' is undefined"),
                });
            }
            return to_json(&v);
        }
        Ok(Value::String(self.render_string(s, ctx)?))
    }

    /// Renders every string inside a value, recursively (keys too).
    pub fn render_value(&'static self, v: &Value, ctx: &MjValue) -> Result<Value, TemplateError> {
        Ok(match v {
            Value::String(s) => self.render_native(s, ctx)?,
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|i| self.render_value(i, ctx))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(map) => {
                let mut out = serde_json::Map::new();
                for (k, val) in map {
                    let key = if is_template(k) {
                        self.render_string(k, ctx)?
                    } else {
                        k.clone()
                    };
                    out.insert(key, self.render_value(val, ctx)?);
                }
                Value::Object(out)
            }
            other => other.clone(),
        })
    }

    /// Evaluates a conditional (`when:`, `failed_when:`): a bare expression, or a bool.
    pub fn eval_condition(
        &'static self,
        cond: &Value,
        ctx: &MjValue,
    ) -> Result<bool, TemplateError> {
        match cond {
            Value::Bool(b) => Ok(*b),
            Value::Null => Ok(false),
            Value::Number(n) => Ok(n.as_f64() != Some(0.0)),
            Value::Array(items) => {
                for item in items {
                    if !self.eval_condition(item, ctx)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Value::String(s) => {
                // `when: "{{ x }}"` works in Ansible (with a warning); strip the braces.
                let expr = single_expression(s).unwrap_or(s.as_str());
                let v = self.eval(expr, ctx)?;
                Ok(truthy(&v))
            }
            Value::Object(_) => Err(TemplateError {
                message: "a conditional must be a string, a bool or a list, not a dict".into(),
            }),
        }
    }
}

/// Jinja truthiness, where a string result is read the way Ansible reads conditionals.
pub fn truthy(v: &MjValue) -> bool {
    if let Some(s) = v.as_str() {
        return !matches!(
            s.trim().to_lowercase().as_str(),
            "" | "false" | "no" | "off" | "0" | "none" | "n" | "f"
        );
    }
    v.is_true()
}

/// Converts a minijinja value to plain data.
pub fn to_json(v: &MjValue) -> Result<Value, TemplateError> {
    serde_json::to_value(v).map_err(|e| TemplateError {
        message: format!("could not convert template result: {e}"),
    })
}
