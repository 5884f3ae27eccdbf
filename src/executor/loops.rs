//! Loop items: `loop:` and the `with_*` lookups turned into a list.

use crate::template::{loop_lookups, templar, TemplateError};
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
        "sequence" => {
            let terms = match rendered {
                Value::Array(items) => items,
                other => vec![other],
            };
            loop_lookups::sequence(&terms, &Map::new()).map_err(terr)
        }
        "nested" | "cartesian" => {
            loop_lookups::nested(as_list(rendered).into_iter().map(as_list).collect()).map_err(terr)
        }
        "together" => {
            loop_lookups::together(as_list(rendered).into_iter().map(as_list).collect())
                .map_err(terr)
        }
        "subelements" => loop_lookups::subelements(&as_list(rendered)).map_err(terr),
        "lines" => lines(rendered, ctx),
        "random_choice" => Ok(as_list(rendered).into_iter().take(1).collect()),
        other => generic(other, rendered, ctx),
    }
}

/// `with_NAME: terms` for any other lookup: `query('NAME', *terms)`.
fn generic(name: &str, rendered: Value, ctx: &MjValue) -> Result<Vec<Value>, TemplateError> {
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
    {
        return Err(terr(format!("lookup plugin ({name}) not found")));
    }
    let mut top = indexmap::IndexMap::new();
    top.insert(
        "__yiqiu_terms".to_string(),
        crate::template::mj_value(as_list(rendered)),
    );
    let ctx = crate::template::overlay::Overlay::context(top, ctx.clone());
    let v = templar().eval(&format!("query('{name}', *__yiqiu_terms)"), &ctx)?;
    match crate::template::to_json(&v)? {
        Value::Array(items) => Ok(items),
        other => Ok(vec![other]),
    }
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
