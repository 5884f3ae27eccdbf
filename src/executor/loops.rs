//! Loop items: `loop:` and the `with_*` lookups turned into a list.

use crate::template::{templar, TemplateError};
use minijinja::Value as MjValue;
use serde_json::{Map, Value};

fn terr(message: impl Into<String>) -> TemplateError {
    TemplateError {
        message: message.into(),
    }
}

/// Renders the loop value and expands it the way the named lookup does.
pub fn expand(kind: &str, raw: &Value, ctx: &MjValue) -> Result<Vec<Value>, TemplateError> {
    // A bare variable name is allowed for with_items (old style: `with_items: mylist`).
    let rendered = match raw {
        Value::String(s)
            if !crate::template::is_template(s) && kind != "loop" && is_identifier(s) =>
        {
            match templar().eval(s, ctx) {
                Ok(v) if !v.is_undefined() => crate::template::to_json(&v)?,
                _ => raw.clone(),
            }
        }
        other => templar().render_value(other, ctx)?,
    };
    match kind {
        "loop" | "list" => match rendered {
            Value::Array(items) => Ok(items),
            Value::Null => Ok(Vec::new()),
            other => Err(terr(format!(
                "Invalid data passed to 'loop', it requires a list, got this instead: {other}. Hint: If you passed a list/dict of just one element, try adding wantlist=True to your lookup invocation or use q/query instead of lookup."
            ))),
        },
        "items" => Ok(flatten_one(rendered)),
        "indexed_items" => Ok(flatten_one(rendered)
            .into_iter()
            .enumerate()
            .map(|(i, v)| Value::Array(vec![Value::from(i), v]))
            .collect()),
        "dict" => match rendered {
            Value::Object(m) => Ok(m
                .into_iter()
                .map(|(k, v)| {
                    let mut e = Map::new();
                    e.insert("key".into(), Value::String(k));
                    e.insert("value".into(), v);
                    Value::Object(e)
                })
                .collect()),
            other => Err(terr(format!("with_dict expects a dict, got {other}"))),
        },
        "fileglob" => {
            let mut out = Vec::new();
            for pattern in as_list(rendered) {
                let p = pattern.as_str().unwrap_or_default().to_string();
                let paths = glob::glob(&p).map_err(|e| terr(format!("with_fileglob: {e}")))?;
                for entry in paths.flatten() {
                    if entry.is_file() {
                        out.push(Value::String(entry.display().to_string()));
                    }
                }
            }
            Ok(out)
        }
        "sequence" => sequence(&rendered),
        "nested" | "cartesian" => {
            let lists: Vec<Vec<Value>> = as_list(rendered).into_iter().map(as_list).collect();
            let mut acc: Vec<Vec<Value>> = vec![vec![]];
            for list in lists {
                let mut next = Vec::new();
                for prefix in &acc {
                    for v in &list {
                        let mut p = prefix.clone();
                        p.push(v.clone());
                        next.push(p);
                    }
                }
                acc = next;
            }
            Ok(acc.into_iter().map(Value::Array).collect())
        }
        "together" => {
            let lists: Vec<Vec<Value>> = as_list(rendered).into_iter().map(as_list).collect();
            if lists.is_empty() {
                return Err(terr("with_together requires at least one element in each list"));
            }
            let n = lists.iter().map(Vec::len).max().unwrap_or(0);
            Ok((0..n)
                .map(|i| {
                    Value::Array(lists.iter().map(|l| l.get(i).cloned().unwrap_or(Value::Null)).collect())
                })
                .collect())
        }
        "subelements" => subelements(rendered),
        "lines" => lines(rendered, ctx),
        "random_choice" => Ok(as_list(rendered).into_iter().take(1).collect()),
        other => Err(terr(format!(
            "lookup plugin 'with_{other}' is not supported; use 'loop:' with a filter instead"
        ))),
    }
}

/// `with_subelements: [list, "a.b.c", {skip_missing: true}]`: each element paired with each
/// item of its (dotted, nested) sub-key list.
fn subelements(rendered: Value) -> Result<Vec<Value>, TemplateError> {
    let args = as_list(rendered);
    let (Some(list), Some(key)) = (args.first(), args.get(1).and_then(Value::as_str)) else {
        return Err(terr(
            "subelements lookup expects a list of two or three items",
        ));
    };
    let skip_missing = args
        .get(2)
        .and_then(|f| f.get("skip_missing"))
        .and_then(crate::modules::args::to_bool)
        .unwrap_or(false);
    let mut out = Vec::new();
    for elem in as_list(list.clone()) {
        let mut at = Some(&elem);
        for part in key.split('.') {
            at = at.and_then(|v| v.get(part));
        }
        match at {
            Some(Value::Array(subs)) => {
                out.extend(
                    subs.iter()
                        .map(|s| Value::Array(vec![elem.clone(), s.clone()])),
                );
            }
            Some(other) => {
                return Err(terr(format!(
                    "the key {key} should point to a list, got {other}"
                )))
            }
            None if skip_missing => {}
            None => {
                return Err(terr(format!(
                    "could not find '{key}' key in iterated item {elem}"
                )))
            }
        }
    }
    Ok(out)
}

/// `with_lines: CMD`: the lines CMD prints, run by the controller's shell in the playbook
/// dir (as the lines lookup does).
fn lines(rendered: Value, ctx: &MjValue) -> Result<Vec<Value>, TemplateError> {
    let cwd = ctx
        .get_attr("playbook_dir")
        .ok()
        .and_then(|d| d.as_str().map(str::to_string));
    let mut out = Vec::new();
    for term in as_list(rendered) {
        let cmd = term
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| term.to_string());
        let text = crate::template::lookups::controller_shell("lines", &cmd, cwd.as_deref())
            .map_err(terr)?;
        out.extend(text.lines().map(|l| Value::String(l.to_string())));
    }
    Ok(out)
}

fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        && !s.starts_with(|c: char| c.is_ascii_digit())
}

fn as_list(v: Value) -> Vec<Value> {
    match v {
        Value::Array(items) => items,
        Value::Null => Vec::new(),
        other => vec![other],
    }
}

fn flatten_one(v: Value) -> Vec<Value> {
    let mut out = Vec::new();
    for item in as_list(v) {
        match item {
            Value::Array(inner) => out.extend(inner),
            other => out.push(other),
        }
    }
    out
}

/// `with_sequence: start=1 end=5 stride=1 format=web%02d` or `count=3`.
fn sequence(v: &Value) -> Result<Vec<Value>, TemplateError> {
    let spec = match v {
        Value::String(s) => {
            let mut s = s.clone();
            // shortcut form: "4-8/2:host%02d"
            if !s.contains('=') {
                s = shortcut_to_kv(&s);
            }
            crate::playbook::kv::parse_kv(&s).map_err(terr)?
        }
        Value::Object(m) => m.clone(),
        Value::Array(items) if items.len() == 1 => return sequence(&items[0]),
        other => return Err(terr(format!("with_sequence: bad arguments {other}"))),
    };
    // As Ansible's sequence lookup words its errors.
    let known = ["start", "end", "count", "stride", "format"];
    let unknown: Vec<&String> = spec
        .keys()
        .filter(|k| !known.contains(&k.as_str()))
        .collect();
    if !unknown.is_empty() {
        let names: Vec<String> = unknown.iter().map(|k| format!("'{k}'")).collect();
        return Err(terr(format!(
            "unrecognized arguments to with_sequence: [{}]",
            names.join(", ")
        )));
    }
    let num = |k: &str| -> Result<Option<i64>, TemplateError> {
        match spec.get(k) {
            None => Ok(None),
            Some(Value::Number(n)) => Ok(n.as_i64()),
            Some(Value::String(s)) => {
                let s = s.trim();
                let parsed = if let Some(h) = s.strip_prefix("0x") {
                    i64::from_str_radix(h, 16)
                } else {
                    s.parse()
                };
                parsed.map(Some).map_err(|_| {
                    terr(format!(
                        "can't parse {k}={s} as integer ({k} has an invalid value)"
                    ))
                })
            }
            Some(other) => Err(terr(format!("with_sequence: bad {k}={other}"))),
        }
    };
    let start = num("start")?.unwrap_or(1);
    let stride = num("stride")?.unwrap_or(1);
    let end = match (num("end")?, num("count")?) {
        (Some(e), None) => e,
        (None, Some(c)) => {
            if c == 0 {
                return Ok(Vec::new());
            }
            start + (c - 1) * stride
        }
        (Some(_), Some(_)) => {
            return Err(terr("can't specify both count and end in with_sequence"))
        }
        (None, None) => return Err(terr("must specify count or end in with_sequence")),
    };
    if stride == 0 {
        return Err(terr("with_sequence: stride must not be 0"));
    }
    if stride > 0 && end < start {
        return Err(terr("to count backwards make stride negative"));
    }
    if stride < 0 && end > start {
        return Err(terr("to count forward don't make stride negative"));
    }
    let format = spec
        .get("format")
        .and_then(Value::as_str)
        .unwrap_or("%d")
        .to_string();
    if !format.contains('%') {
        return Err(terr(format!("bad formatting string: {format}")));
    }
    let mut out = Vec::new();
    let mut i = start;
    while (stride > 0 && i <= end) || (stride < 0 && i >= end) {
        out.push(Value::String(printf_int(&format, i)));
        if out.len() > 1_000_000 {
            return Err(terr("with_sequence: too many items"));
        }
        i += stride;
    }
    Ok(out)
}

fn shortcut_to_kv(s: &str) -> String {
    let (range, format) = s.split_once(':').unwrap_or((s, ""));
    let (range, stride) = range.split_once('/').unwrap_or((range, ""));
    let mut out = match range.split_once('-') {
        Some((a, b)) => format!("start={a} end={b}"),
        None => format!("end={range}"),
    };
    if !stride.is_empty() {
        out.push_str(&format!(" stride={stride}"));
    }
    if !format.is_empty() {
        out.push_str(&format!(" format={format}"));
    }
    out
}

/// A tiny printf for one integer: `%d`, `%02d`, `%x`, `%o`, with literal text around.
fn printf_int(format: &str, n: i64) -> String {
    let re = regex::Regex::new(r"%(0?)(\d*)([dxXo])").ok();
    let Some(re) = re else { return n.to_string() };
    re.replace(format, |c: &regex::Captures| {
        let width: usize = c[2].parse().unwrap_or(0);
        let body = match &c[3] {
            "x" => format!("{n:x}"),
            "X" => format!("{n:X}"),
            "o" => format!("{n:o}"),
            _ => n.to_string(),
        };
        if c[1].is_empty() {
            format!("{body:>width$}")
        } else {
            format!("{body:0>width$}")
        }
    })
    .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ctx() -> MjValue {
        crate::vars::scope::to_mj(&json!({"xs": [[1, 2], 3], "d": {"a": 1}}))
    }

    #[test]
    fn items_flatten_one_level_but_loop_does_not() {
        assert_eq!(
            expand("items", &json!("{{ xs }}"), &ctx()).unwrap(),
            vec![json!(1), json!(2), json!(3)]
        );
        assert_eq!(
            expand("loop", &json!("{{ xs }}"), &ctx()).unwrap(),
            vec![json!([1, 2]), json!(3)]
        );
        assert_eq!(expand("items", &json!("xs"), &ctx()).unwrap().len(), 3);
    }

    #[test]
    fn dict_sequence_nested_together() {
        assert_eq!(
            expand("dict", &json!("{{ d }}"), &ctx()).unwrap(),
            vec![json!({"key": "a", "value": 1})]
        );
        assert_eq!(
            expand("sequence", &json!("start=1 end=3 format=web%02d"), &ctx()).unwrap(),
            vec![json!("web01"), json!("web02"), json!("web03")]
        );
        assert_eq!(
            expand("sequence", &json!("count=2"), &ctx()).unwrap(),
            vec![json!("1"), json!("2")]
        );
        assert_eq!(
            expand("nested", &json!([["a", "b"], [1, 2]]), &ctx())
                .unwrap()
                .len(),
            4
        );
        assert_eq!(
            expand("together", &json!([["a", "b"], [1]]), &ctx()).unwrap(),
            vec![json!(["a", 1]), json!(["b", null])]
        );
    }

    #[test]
    fn loop_over_a_string_is_an_error() {
        assert!(expand("loop", &json!("abc"), &ctx()).is_err());
    }
}
