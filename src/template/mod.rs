//! Template layer: Jinja through minijinja, with Ansible's filters, tests and lookups.
//!
//! One process-wide environment; each distinct template or expression is compiled once and
//! cached. A string that is exactly one `{{ expr }}` yields the expression's native value
//! (list, dict, int, bool), as Ansible does.

pub mod conditional;
mod csvfile_lookup;
mod errors;
mod escape;
mod files;
pub mod filters;
mod ini_lookup;
pub mod limits;
pub mod lookups;
pub mod loop_lookups;
mod nodes;
mod now;
pub mod overlay;
mod password_lookup;
mod placement;
pub mod pyfmt;
mod pymethods;
mod resources;
pub mod tests;
mod unique;
pub mod untrusted;
mod urlsplit;
pub mod vault_filters;
mod yaml_dump;

use minijinja::{Environment, Expression, UndefinedBehavior, Value as MjValue};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// The value Ansible calls `omit`: an argument rendered to it is dropped.
pub const OMIT: &str = "__omit_place_holder__yiqiu";

/// Marks a cached template that came from a file (see `Templar::render_file`).
/// The function an undecryptable `!vault` value calls when it is rendered (`yaml::scalar`).
pub const VAULT_ERROR_FN: &str = "__yiqiu_undecryptable_vault";
const FILE_PREFIX: &str = "\u{0}file:";

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

pub use errors::{describe_error, describe_error_in};
pub use files::{apply_header, FileOptions};

pub struct Templar {
    env: Environment<'static>,
    /// The same environment with chained undefined lookups allowed, as Ansible allows
    /// them under `default`/`is defined`; only used to retry a failed render.
    lenient: Environment<'static>,
    expressions: Mutex<HashMap<String, Arc<Expression<'static, 'static>>>>,
    lenient_expressions: Mutex<HashMap<String, Arc<Expression<'static, 'static>>>>,
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
    // Text around the braces (even a newline) makes the result a string, as in Ansible.
    let inner = s.strip_prefix("{{")?.strip_suffix("}}")?;
    if !is_one_expression(inner) {
        return None;
    }
    Some(inner.trim_start_matches('-').trim_end_matches('-').trim())
}

/// Whether `inner` (the text between an outer `{{` and `}}`) holds no other Jinja
/// delimiters outside string literals and dict braces (`{{ {'a': {'b': 1}} }}` is one).
fn is_one_expression(inner: &str) -> bool {
    let b = inner.as_bytes();
    let mut depth = 0usize;
    let mut quote: Option<u8> = None;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match quote {
            Some(q) => {
                if c == b'\\' {
                    i += 1;
                } else if c == q {
                    quote = None;
                }
            }
            None => match c {
                b'\'' | b'"' => quote = Some(c),
                b'{' if depth == 0 && matches!(b.get(i + 1), Some(b'{' | b'%' | b'#')) => {
                    return false
                }
                b'{' => depth += 1,
                b'}' if depth == 0 => return false,
                b'}' => depth -= 1,
                _ => {}
            },
        }
        i += 1;
    }
    true
}

/// Text that guards against undefined values (`x.y | default(...)`, `x.y is defined`):
/// a template holding one is retried leniently when the strict run hits an undefined.
const UNDEFINED_GUARDS: [&str; 5] = ["default", "| d(", "|d(", " is ", "mandatory"];

fn guards_undefined(src: &str, e: &minijinja::Error) -> bool {
    e.kind() == minijinja::ErrorKind::UndefinedError
        && UNDEFINED_GUARDS.iter().any(|g| src.contains(g))
}

fn build_env(behavior: UndefinedBehavior) -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(behavior);
    if let Ok(syntax) = minijinja::syntax::SyntaxConfig::builder()
        .trim_blocks(true)
        .keep_trailing_newline(true)
        .build()
    {
        env.set_syntax(syntax);
    }
    env.set_recursion_limit(200);
    // Debug mode makes minijinja record which expression produced an undefined value,
    // so errors can name the variable; it costs nothing until something is undefined.
    env.set_debug(true);
    if behavior == UndefinedBehavior::Strict {
        env.set_formatter(format_value);
    } else {
        env.set_formatter(|out, state, value| {
            if value.is_undefined() {
                return Err(minijinja::Error::from(minijinja::ErrorKind::UndefinedError));
            }
            format_value(out, state, value)
        });
    }
    // Template names are their sources; never let a name ending in .yml or .html turn on
    // JSON/HTML escaping (minijinja picks escaping from the name by default).
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    // Templates are cached under their own source text.
    env.set_loader(|name| {
        Ok(Some(
            name.strip_prefix(FILE_PREFIX).unwrap_or(name).to_string(),
        ))
    });
    minijinja_contrib::add_to_environment(&mut env);
    env.set_unknown_method_callback(pymethods::unknown_method_callback);
    filters::register(&mut env);
    tests::register(&mut env);
    lookups::register(&mut env);
    placement::register(&mut env);
    urlsplit::register(&mut env);
    resources::register(&mut env);
    vault_filters::register(&mut env);
    unique::register(&mut env);
    env.add_global("omit", OMIT);
    env.add_function("now", now::now);
    env.add_function(
        VAULT_ERROR_FN,
        |msg: String,
         _origin: String,
         lines: Option<Vec<String>>|
         -> Result<MjValue, minijinja::Error> {
            // Under `unvault`, the value is its vault text (see `vault_filters`).
            if let Some(lines) = lines.filter(|_| vault_filters::disarmed()) {
                return Ok(MjValue::from(lines.join("\n")));
            }
            Err(minijinja::Error::new(
                minijinja::ErrorKind::InvalidOperation,
                msg,
            ))
        },
    );
    env
}

/// How many compiled expressions are kept before the cache starts over.
const MAX_CACHED_EXPRESSIONS: usize = 20_000;

impl Templar {
    fn new() -> Templar {
        Templar {
            env: build_env(UndefinedBehavior::Strict),
            lenient: build_env(UndefinedBehavior::Chainable),
            expressions: Mutex::new(HashMap::new()),
            lenient_expressions: Mutex::new(HashMap::new()),
        }
    }

    pub fn env(&self) -> &Environment<'static> {
        &self.env
    }

    fn expression(
        &'static self,
        expr: &str,
        lenient: bool,
        keep_backslashes: bool,
    ) -> Result<Arc<Expression<'static, 'static>>, TemplateError> {
        let (env, cache) = if lenient {
            (&self.lenient, &self.lenient_expressions)
        } else {
            (&self.env, &self.expressions)
        };
        // The same text compiles differently with and without kept backslashes.
        let key = format!("{}{expr}", if keep_backslashes { 'r' } else { 'c' });
        let mut cache = cache.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(e) = cache.get(&key) {
            return Ok(e.clone());
        }
        let source = escape::percent_format(expr, true);
        let source = escape::raw_string_literals(&source, keep_backslashes).into_owned();
        let compiled = Arc::new(env.compile_expression_owned(source)?);
        // Expressions come from the playbook, so the cache stays small; a run that makes
        // endless new ones (templated templates) must not grow it without bound.
        if cache.len() >= MAX_CACHED_EXPRESSIONS {
            cache.clear();
        }
        cache.insert(key, compiled.clone());
        Ok(compiled)
    }

    /// Evaluates a bare expression to a minijinja value (string literals keep their
    /// backslashes, as inside `{{ }}` in a playbook).
    pub fn eval(&'static self, expr: &str, ctx: &MjValue) -> Result<MjValue, TemplateError> {
        self.eval_with(expr, ctx, true)
    }

    /// Evaluates a conditional's expression: string literals have their escapes
    /// interpreted (`'a\nb'` is three characters), as Ansible's conditionals do.
    pub fn eval_conditional_expr(
        &'static self,
        expr: &str,
        ctx: &MjValue,
    ) -> Result<MjValue, TemplateError> {
        self.eval_with(expr, ctx, false)
    }

    fn eval_with(
        &'static self,
        expr: &str,
        ctx: &MjValue,
        keep_backslashes: bool,
    ) -> Result<MjValue, TemplateError> {
        let compiled = self.expression(expr, false, keep_backslashes)?;
        let _disarm = vault_filters::disarm_for(expr);
        compiled.eval(ctx).or_else(|e| {
            let undeclared = || compiled.undeclared_variables(false);
            if guards_undefined(expr, &e) {
                match self.expression(expr, true, keep_backslashes)?.eval(ctx) {
                    Ok(v) if !v.is_undefined() => return Ok(v),
                    Ok(_) => {}
                    Err(e2) => {
                        return Err(errors::describe_retry_error(&e, &e2, expr, ctx, undeclared))
                    }
                }
            }
            Err(describe_error_in(&e, expr, ctx, undeclared))
        })
    }

    /// Renders a template string to text.
    pub fn render_string(&self, s: &str, ctx: &MjValue) -> Result<String, TemplateError> {
        if !is_template(s) {
            return Ok(s.to_string());
        }
        let source = escape::percent_format(s, false);
        self.render_named(&escape::raw_string_literals(&source, false), ctx)
    }

    /// Renders the text of a template file (`template:` module, `lookup('template')`).
    /// Unlike strings from playbooks, string literals in files follow Jinja's escapes.
    pub fn render_file(&self, source: &str, ctx: &MjValue) -> Result<String, TemplateError> {
        let source = escape::percent_format(source, false);
        self.render_named(&format!("{FILE_PREFIX}{source}"), ctx)
    }

    /// Renders a template file's text with `opts` (search path for includes, delimiters).
    pub fn render_file_with(
        &self,
        source: &str,
        ctx: &MjValue,
        opts: &FileOptions,
    ) -> Result<String, TemplateError> {
        let mut opts = opts.clone();
        let source = files::apply_header(source, &mut opts)?;
        if opts.plain(source) {
            return self.render_file(source, ctx);
        }
        let out = files::render(source, ctx, &opts)?;
        limits::check_len("the template", out.len()).map_err(|e| TemplateError {
            message: e.to_string(),
        })?;
        Ok(out)
    }

    fn render_named(&self, name: &str, ctx: &MjValue) -> Result<String, TemplateError> {
        Ok(self.render_named_nodes(name, ctx)?.0)
    }

    /// Renders and returns the output with (up to two of) the values it emitted.
    fn render_named_nodes(
        &self,
        name: &str,
        ctx: &MjValue,
    ) -> Result<(String, Vec<MjValue>), TemplateError> {
        let (out, nodes) = nodes::framed(|| self.render_unchecked(name, ctx));
        let out = out?;
        limits::check_len("the template", out.len()).map_err(|e| TemplateError {
            message: e.to_string(),
        })?;
        Ok((out, nodes))
    }

    fn render_unchecked(&self, name: &str, ctx: &MjValue) -> Result<String, TemplateError> {
        let tmpl = self.env.get_template(name)?;
        let _disarm = vault_filters::disarm_for(name);
        tmpl.render(ctx).or_else(|e| {
            let undeclared = || tmpl.undeclared_variables(false);
            if guards_undefined(name, &e) {
                nodes::reset();
                match self.lenient.get_template(name).and_then(|t| t.render(ctx)) {
                    Ok(out) => return Ok(out),
                    Err(e2) => {
                        return Err(errors::describe_retry_error(&e, &e2, name, ctx, undeclared))
                    }
                }
            }
            Err(describe_error_in(&e, name, ctx, undeclared))
        })
    }

    /// Renders a string; one `{{ expr }}` gives the native value.
    pub fn render_native(&'static self, s: &str, ctx: &MjValue) -> Result<Value, TemplateError> {
        if !is_template(s) {
            return Ok(Value::String(s.to_string()));
        }
        if let Some(expr) = single_expression(s) {
            let v = self.eval(expr, ctx)?;
            // 2.19 finalizes containers too: an undefined inside a literal list/dict fails.
            if !v.is_undefined() && holds_undefined(&v, 0) {
                return Err(TemplateError {
                    message: self.nested_undefined_message(expr, ctx),
                });
            }
            if v.is_undefined() {
                return Err(TemplateError {
                    message: errors::undefined_message(expr, ctx),
                });
            }
            return to_json(&v);
        }
        // 2.19's native concatenation: no node is None, one node is its own value.
        let source = escape::percent_format(s, false);
        let (out, nodes) =
            self.render_named_nodes(&escape::raw_string_literals(&source, false), ctx)?;
        if nodes.iter().any(|n| holds_undefined(n, 0)) {
            return Err(TemplateError {
                message: self.nested_undefined_message(s, ctx),
            });
        }
        match nodes.as_slice() {
            [] if out.is_empty() => Ok(Value::Null),
            [one] if self.printed(one)? == out => to_json(one),
            _ => Ok(Value::String(out)),
        }
    }

    /// The message for an undefined inside a container: the first undefined variable named.
    fn nested_undefined_message(&self, expr: &str, ctx: &MjValue) -> String {
        let names = match self.env.compile_expression(expr) {
            Ok(e) => e.undeclared_variables(false),
            // Not one expression: a whole template.
            Err(_) => match self.env.template_from_str(expr) {
                Ok(t) => t.undeclared_variables(false),
                Err(_) => Default::default(),
            },
        };
        let globals: Vec<&str> = self.env.globals().map(|(g, _)| g).collect();
        let first = names
            .iter()
            .filter(|n| !globals.contains(&n.as_str()))
            .filter(|n| ctx.get_attr(n).map_or(true, |v| v.is_undefined()))
            .min_by_key(|n| expr.find(n.as_str()).unwrap_or(usize::MAX));
        match first {
            Some(n) => format!("'{n}' is undefined"),
            None => errors::undefined_message(expr, ctx),
        }
    }

    /// How `v` prints in a template.
    fn printed(&self, v: &MjValue) -> Result<String, TemplateError> {
        let (out, _) = nodes::framed(|| {
            self.env
                .render_str("{{ v }}", minijinja::context! { v => v.clone() })
        });
        Ok(out?)
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

    /// Evaluates a conditional (`when:`, `failed_when:`) by 2.19's rules (see `conditional`).
    pub fn eval_condition(
        &'static self,
        cond: &Value,
        ctx: &MjValue,
    ) -> Result<bool, TemplateError> {
        conditional::evaluate(cond, ctx)
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

/// How a value prints inside a template: as Python's `str()` would (`None` prints nothing,
/// as in ansible-core 2.19; lists and dicts use Python's repr).
fn format_value(
    out: &mut minijinja::Output,
    state: &mut minijinja::State,
    value: &MjValue,
) -> Result<(), minijinja::Error> {
    use minijinja::value::ValueKind;
    nodes::record(value);
    match value.kind() {
        ValueKind::None => Ok(()),
        ValueKind::Seq | ValueKind::Map | ValueKind::Iterable => {
            let data = serde_json::to_value(value).map_err(|e| {
                minijinja::Error::new(minijinja::ErrorKind::BadSerialization, e.to_string())
            })?;
            out.write_str(&pyfmt::repr(&data)).map_err(|e| {
                minijinja::Error::new(minijinja::ErrorKind::WriteFailure, e.to_string())
            })
        }
        ValueKind::Number => match f64::try_from(value.clone()) {
            Ok(f) if value.as_i64().is_none() && !value.is_integer() => {
                out.write_str(&pyfmt::repr_float(f)).map_err(|e| {
                    minijinja::Error::new(minijinja::ErrorKind::WriteFailure, e.to_string())
                })
            }
            _ => minijinja::escape_formatter(out, state, value),
        },
        _ => minijinja::escape_formatter(out, state, value),
    }
}

/// Builds a template value from anything serializable (minijinja 3 spells this
/// `Value::from(Serde(v))`; `Value::from_serialize` no longer exists).
pub fn mj_value<T: serde::Serialize>(v: T) -> MjValue {
    MjValue::from(minijinja::value::Serde(v))
}

/// Whether a list or map holds an undefined value at any depth (bounded against cycles).
fn holds_undefined(v: &MjValue, depth: usize) -> bool {
    use minijinja::value::ValueKind;
    if depth > 64 || !matches!(v.kind(), ValueKind::Seq | ValueKind::Map) {
        return false;
    }
    let Ok(items) = v.try_iter() else {
        return false;
    };
    items.into_iter().any(|k| {
        let item = match v.kind() {
            ValueKind::Map => v.get_item(&k).unwrap_or_default(),
            _ => k,
        };
        item.is_undefined() || holds_undefined(&item, depth + 1)
    })
}

/// Converts a minijinja value to plain data.
pub fn to_json(v: &MjValue) -> Result<Value, TemplateError> {
    serde_json::to_value(v).map_err(|e| TemplateError {
        message: format!("could not convert template result: {e}"),
    })
}

#[cfg(test)]
mod unit {
    use super::*;
    use serde_json::json;

    fn ctx() -> MjValue {
        mj_value(json!({"s": "a-b", "l": [1, "x", null, true, 1.5], "d": {"k": "v"}, "n": null}))
    }

    #[test]
    fn single_expression_detection() {
        assert_eq!(single_expression("{{ x }}"), Some("x"));
        assert_eq!(
            single_expression("{{ {'a': {'b': 1}} }}"),
            Some("{'a': {'b': 1}}")
        );
        assert_eq!(single_expression("{{ x }}\n"), None);
        assert_eq!(single_expression("{{ '}}' }}"), Some("'}}'"));
        assert_eq!(single_expression("{{ a }} {{ b }}"), None);
        assert_eq!(single_expression("x {{ a }}"), None);
    }

    #[test]
    fn printing_follows_python() {
        let t = templar();
        assert_eq!(
            t.render_string("{{ l }}|{{ d }}|{{ n }}|{{ true }}|{{ 2.0 }}", &ctx())
                .unwrap(),
            "[1, 'x', None, True, 1.5]|{'k': 'v'}||True|2.0"
        );
        assert_eq!(
            t.render_native("{{ l }}", &ctx()).unwrap(),
            json!([1, "x", null, true, 1.5])
        );
        assert_eq!(t.render_native("plain", &ctx()).unwrap(), json!("plain"));
        assert_eq!(
            t.render_string("{{ '%.2f' % 3.14159 }} {{ '%s=%03d' % (s, 7) }}", &ctx())
                .unwrap(),
            "3.14 a-b=007"
        );
    }

    #[test]
    fn python_methods_work() {
        let t = templar();
        let e = |x: &str| t.render_native(&format!("{{{{ {x} }}}}"), &ctx()).unwrap();
        assert_eq!(e("s.split('-')"), json!(["a", "b"]));
        assert_eq!(e("s.startswith('a')"), json!(true));
        assert_eq!(e("s.upper()"), json!("A-B"));
        assert_eq!(e("s.replace('-', '+')"), json!("a+b"));
        assert_eq!(e("d.items() | list"), json!([["k", "v"]]));
        assert_eq!(e("d.get('k')"), json!("v"));
        assert_eq!(e("d.get('z', 1)"), json!(1));
        assert_eq!(e("d.keys() | list"), json!(["k"]));
    }

    #[test]
    fn files_unescape_literals_playbook_strings_do_not() {
        let t = templar();
        assert_eq!(t.render_string(r"{{ 'a\nb' }}", &ctx()).unwrap(), r"a\nb");
        assert_eq!(t.render_file(r"{{ 'a\nb' }}", &ctx()).unwrap(), "a\nb");
    }

    #[test]
    fn conditions() {
        let t = templar();
        assert!(t.eval_condition(&json!("s == 'a-b'"), &ctx()).unwrap());
        assert!(t
            .eval_condition(&json!("{{ s == 'a-b' }}"), &ctx())
            .unwrap());
        assert!(!t
            .eval_condition(&json!(["s == 'a-b'", "n is not none"]), &ctx())
            .unwrap());
        assert!(t
            .eval_condition(&json!("nope is not defined"), &ctx())
            .unwrap());
        assert!(t.eval_condition(&json!("foo"), &ctx()).is_err());
    }
}
