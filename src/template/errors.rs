//! Template errors in Ansible's words: `'foo' is undefined`,
//! `object of type 'dict' has no attribute 'bar'`.
//!
//! Only runs after something failed: the success path pays nothing.

use super::filters::{type_name, MANDATORY_MSG};
use super::TemplateError;
use minijinja::{ErrorKind, Value as MjValue};
use std::collections::HashSet;

/// Turns a minijinja error into words, without knowing the context it ran in.
pub fn describe_error(e: &minijinja::Error) -> String {
    let mut msg = match (e.kind(), e.detail()) {
        (ErrorKind::InvalidOperation, Some(d)) => python_arith(d).unwrap_or_else(|| d.to_string()),
        (ErrorKind::SyntaxError, Some(d)) => format!("Syntax error in template: {d}"),
        (ErrorKind::UnknownFilter, Some(d)) => unknown("filter", d),
        (ErrorKind::UnknownTest, Some(d)) => unknown("test", d),
        (ErrorKind::UndefinedError, Some(d)) => match backticked(d) {
            Some(expr) => format!("'{expr}' is undefined"),
            None => d.to_string(),
        },
        (kind, Some(d)) => format!("{kind}: {d}"),
        (kind, None) => kind.to_string(),
    };
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        msg.push_str(&format!(": {s}"));
        source = s.source();
    }
    msg
}

/// Python's words for an arithmetic failure (`unable to calculate 5 / 0`).
fn python_arith(detail: &str) -> Option<String> {
    let expr = detail.strip_prefix("unable to calculate ")?;
    let zero = |rhs: &str| rhs.trim().parse::<f64>().is_ok_and(|v| v == 0.0);
    let msg = if let Some((_, rhs)) = expr.split_once(" // ") {
        zero(rhs).then_some("integer division or modulo by zero")
    } else if let Some((_, rhs)) = expr.split_once(" / ") {
        zero(rhs).then_some("division by zero")
    } else if let Some((_, rhs)) = expr.split_once(" % ") {
        zero(rhs).then_some("integer modulo by zero")
    } else {
        None
    }?;
    Some(msg.to_string())
}

/// `filter foo is unknown` in Ansible's words.
fn unknown(what: &str, detail: &str) -> String {
    let name = detail
        .strip_prefix(what)
        .and_then(|r| r.trim().strip_suffix("is unknown"))
        .map(str::trim)
        .unwrap_or(detail);
    format!("Syntax error in template: No {what} named '{name}'.")
}

/// Describes an error from rendering `src` with `ctx`; `undeclared` lists the template's
/// free variables (asked for only when the error does not say which value was undefined).
pub fn describe_error_in(
    e: &minijinja::Error,
    src: &str,
    ctx: &MjValue,
    undeclared: impl FnOnce() -> HashSet<String>,
) -> TemplateError {
    describe(e, src, ctx, undeclared, None)
}

/// Describes the failure of a lenient retry (see `Templar`): the undefined it names, if
/// any, is another than the guarded one the strict run stopped at.
pub(crate) fn describe_retry_error(
    strict: &minijinja::Error,
    lenient: &minijinja::Error,
    src: &str,
    ctx: &MjValue,
    undeclared: impl FnOnce() -> HashSet<String>,
) -> TemplateError {
    if lenient.kind() != ErrorKind::UndefinedError {
        return describe(lenient, src, ctx, undeclared, None);
    }
    let guarded = strict
        .detail()
        .and_then(backticked)
        .and_then(|e| parse_path(e).map(|(name, _)| name));
    describe(lenient, src, ctx, undeclared, guarded.as_deref())
}

fn describe(
    e: &minijinja::Error,
    src: &str,
    ctx: &MjValue,
    undeclared: impl FnOnce() -> HashSet<String>,
    skip: Option<&str>,
) -> TemplateError {
    let detail = e.detail().unwrap_or("");
    let is_mandatory = e.kind() == ErrorKind::InvalidOperation && detail.ends_with(MANDATORY_MSG);
    if e.kind() != ErrorKind::UndefinedError && !is_mandatory {
        return TemplateError {
            message: describe_error(e),
        };
    }
    let missing = backticked(detail).map(str::to_string).or_else(|| {
        let mut names: Vec<String> = undeclared()
            .into_iter()
            .filter(|n| is_missing(ctx, n))
            .collect();
        // The first one in the text is the one Jinja would have stopped at.
        names.sort_by_key(|n| (src.find(n.as_str()).unwrap_or(usize::MAX), n.clone()));
        if names.len() > 1 {
            names.retain(|n| Some(n.as_str()) != skip);
        }
        names.into_iter().next()
    });
    let message = match (missing, is_mandatory) {
        (Some(name), true) => detail.replace(
            MANDATORY_MSG,
            &format!("Mandatory variable '{name}' not defined."),
        ),
        (None, true) => detail.to_string(),
        (Some(expr), false) => undefined_message(&expr, ctx),
        (None, false) => describe_error(e),
    };
    TemplateError { message }
}

/// The first `` `...` `` quoted part of a minijinja detail (`` `foo.bar` is undefined ``).
fn backticked(detail: &str) -> Option<&str> {
    let start = detail.find('`')? + 1;
    let len = detail[start..].find('`')?;
    Some(&detail[start..start + len])
}

fn is_missing(ctx: &MjValue, name: &str) -> bool {
    let in_ctx = ctx.get_attr(name).is_ok_and(|v| !v.is_undefined());
    let global = super::templar().env().globals().any(|(g, _)| g == name);
    !in_ctx && !global
}

enum Seg {
    Attr(String),
    Index(MjValue),
}

/// Splits `a.b["c"][0]` into its name and lookups; `None` for anything more complex.
fn parse_path(expr: &str) -> Option<(String, Vec<Seg>)> {
    let expr = expr.trim();
    let name_end = expr
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(expr.len());
    let name = expr[..name_end].to_string();
    if name.is_empty() {
        return None;
    }
    let mut rest = &expr[name_end..];
    let mut segs = Vec::new();
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let end = r
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(r.len());
            segs.push(Seg::Attr(r[..end].to_string()));
            rest = &r[end..];
        } else if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']')?;
            let key = r[..end].trim();
            let seg = if let Ok(i) = key.parse::<i64>() {
                Seg::Index(MjValue::from(i))
            } else {
                let unq = key
                    .strip_prefix('"')
                    .and_then(|k| k.strip_suffix('"'))
                    .or_else(|| key.strip_prefix('\'').and_then(|k| k.strip_suffix('\'')))?;
                Seg::Attr(unq.to_string())
            };
            segs.push(seg);
            rest = &r[end + 1..];
        } else {
            return None;
        }
    }
    Some((name, segs))
}

/// Ansible's message for an undefined expression: the variable, or the missing attribute.
pub fn undefined_message(expr: &str, ctx: &MjValue) -> String {
    let Some((name, segs)) = parse_path(expr) else {
        return format!("'{expr}' is undefined");
    };
    let Some(mut cur) = ctx
        .get_attr(&name)
        .ok()
        .filter(|v| !v.is_undefined())
        .or_else(|| {
            super::templar()
                .env()
                .globals()
                .find(|(g, _)| *g == name)
                .map(|(_, v)| v)
        })
    else {
        return format!("'{name}' is undefined");
    };
    for seg in segs {
        let next = match &seg {
            Seg::Attr(a) => cur.get_attr(a),
            Seg::Index(i) => cur.get_item(i),
        };
        match next {
            Ok(v) if !v.is_undefined() => cur = v,
            _ => {
                let ty = serde_json::to_value(&cur)
                    .map(|d| type_name(&d))
                    .unwrap_or("object");
                return match seg {
                    Seg::Attr(a) => format!("object of type '{ty}' has no attribute '{a}'"),
                    Seg::Index(i) => format!("object of type '{ty}' has no attribute {i}"),
                };
            }
        }
    }
    format!("'{expr}' is undefined")
}

#[cfg(test)]
mod tests {
    use crate::template::templar;
    use minijinja::Value as MjValue;
    use serde_json::json;

    fn ctx() -> MjValue {
        crate::template::mj_value(json!({"d": {"b": 1, "l": [1]}, "s": "x"}))
    }

    fn render_err(t: &str) -> String {
        templar().render_native(t, &ctx()).unwrap_err().message
    }

    #[test]
    fn undefined_variables_are_named() {
        // The messages ansible-core 2.19 prints.
        assert_eq!(render_err("{{ foo }}"), "'foo' is undefined");
        assert_eq!(render_err("x {{ foo }} y"), "'foo' is undefined");
        assert_eq!(render_err("{{ foo | upper }}"), "'foo' is undefined");
        assert_eq!(render_err("{{ s ~ foo }}"), "'foo' is undefined");
        assert_eq!(
            render_err("{{ d.zz }}"),
            "object of type 'dict' has no attribute 'zz'"
        );
        assert_eq!(
            render_err("a {{ d.zz }}"),
            "object of type 'dict' has no attribute 'zz'"
        );
        assert_eq!(
            render_err("{{ d.zz.yy }}"),
            "object of type 'dict' has no attribute 'zz'"
        );
        assert_eq!(
            render_err("{{ d['zz'] }}"),
            "object of type 'dict' has no attribute 'zz'"
        );
        assert_eq!(render_err("{% if foo %}x{% endif %}"), "'foo' is undefined");
        // A guard elsewhere in the template does not hide an unguarded undefined.
        assert_eq!(
            render_err("{{ foo.bar | default(1) }} {{ baz.x }}"),
            "'baz' is undefined"
        );
        let e = templar()
            .eval_condition(&json!("foo == 1"), &ctx())
            .unwrap_err();
        assert_eq!(e.message, "'foo' is undefined");
    }

    #[test]
    fn guarded_chains_of_undefined_work_as_in_ansible() {
        let ok = |t: &str| templar().render_native(t, &ctx()).unwrap();
        assert_eq!(ok("{{ foo.bar | default('x') }}"), json!("x"));
        assert_eq!(ok("{{ d.zz.yy | default('x') }}"), json!("x"));
        assert_eq!(ok("{{ foo.bar is defined }}"), json!(false));
        assert_eq!(ok("a {{ foo.bar | d('y') }}"), json!("a y"));
        let c = |e: &str| templar().eval_condition(&json!(e), &ctx()).unwrap();
        assert!(!c("foo.bar is defined"));
        assert!(c("foo.bar is undefined"));
        assert!(c("d.zz.yy | default(true)"));
    }

    #[test]
    fn other_errors_keep_their_words() {
        let m = render_err("{{ 'a' | regex_search('(') }}");
        assert!(
            m.starts_with("The filter plugin 'ansible.builtin.regex_search' failed: invalid regular expression '('"),
            "{m}"
        );
        assert_eq!(
            render_err("{{ [] | json_query('x') }}"),
            "Syntax error in template: No filter named 'json_query'."
        );
        let m = render_err("{{ x y }}");
        assert!(m.starts_with("Syntax error in template"), "{m}");
    }
}
