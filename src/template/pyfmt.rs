//! Python's text forms of data: `repr()`/`str()` (what Jinja prints for lists and dicts inside
//! a string) and `json.dumps` (what `to_json`/`to_nice_json` produce).

use serde_json::Value;
use std::fmt::Write;

/// Python's `repr()` of a string: single quotes unless the text holds `'` and no `"`.
pub fn repr_str(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// Python's `repr()` of a float (`1.0`, `1.5`, `1e+16`, `inf`).
pub fn repr_float(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let a = f.abs();
    if a != 0.0 && !(1e-4..1e16).contains(&a) {
        // Python switches to exponent form outside this range: 1e+16, 1.5e-05.
        let s = format!("{f:e}");
        let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let exp: i32 = exp.parse().unwrap_or(0);
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{mantissa}e{sign}{:02}", exp.abs());
    }
    let s = f.to_string();
    if s.contains('.') {
        s
    } else {
        format!("{s}.0")
    }
}

fn repr_number(n: &serde_json::Number) -> String {
    if n.is_f64() {
        n.as_f64().map(repr_float).unwrap_or_else(|| n.to_string())
    } else {
        n.to_string()
    }
}

/// Python's `repr()` of plain data (`{'a': [1, True, None]}`).
pub fn repr(v: &Value) -> String {
    let mut out = String::new();
    write_repr(&mut out, v);
    out
}

fn write_repr(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("None"),
        Value::Bool(b) => out.push_str(if *b { "True" } else { "False" }),
        Value::Number(n) => out.push_str(&repr_number(n)),
        Value::String(s) => out.push_str(&repr_str(s)),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_repr(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&repr_str(k));
                out.push_str(": ");
                write_repr(out, item);
            }
            out.push('}');
        }
    }
}

/// Python's `str()`: strings as they are, everything else as `repr()`.
pub fn to_str(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => repr(other),
    }
}

/// Options of Python's `json.dumps`.
#[derive(Clone, Copy, Debug)]
pub struct JsonOptions {
    pub indent: Option<usize>,
    pub sort_keys: bool,
    pub ensure_ascii: bool,
}

impl Default for JsonOptions {
    fn default() -> JsonOptions {
        JsonOptions {
            indent: None,
            sort_keys: false,
            ensure_ascii: true,
        }
    }
}

/// `json.dumps(v, ...)`: `", "`/`": "` separators without indent, `","` with one.
pub fn json_dumps(v: &Value, opts: JsonOptions) -> String {
    let mut out = String::new();
    write_json(&mut out, v, opts, 0);
    out
}

fn json_str(out: &mut String, s: &str, ensure_ascii: bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (ensure_ascii && (c as u32) > 0x7e) => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn newline(out: &mut String, indent: Option<usize>, level: usize) {
    if let Some(n) = indent {
        out.push('\n');
        out.push_str(&" ".repeat(n * level));
    }
}

fn write_json(out: &mut String, v: &Value, opts: JsonOptions, level: usize) {
    let item_sep = if opts.indent.is_some() { "," } else { ", " };
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            let s = repr_number(n);
            // json.dumps spells the non-finite floats like JavaScript.
            out.push_str(match s.as_str() {
                "nan" => "NaN",
                "inf" => "Infinity",
                "-inf" => "-Infinity",
                _ => &s,
            });
        }
        Value::String(s) => json_str(out, s, opts.ensure_ascii),
        Value::Array(items) if items.is_empty() => out.push_str("[]"),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(item_sep);
                }
                newline(out, opts.indent, level + 1);
                write_json(out, item, opts, level + 1);
            }
            newline(out, opts.indent, level);
            out.push(']');
        }
        Value::Object(map) if map.is_empty() => out.push_str("{}"),
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            if opts.sort_keys {
                entries.sort_by(|a, b| a.0.cmp(b.0));
            }
            out.push('{');
            for (i, (k, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push_str(item_sep);
                }
                newline(out, opts.indent, level + 1);
                json_str(out, k, opts.ensure_ascii);
                out.push_str(": ");
                write_json(out, item, opts, level + 1);
            }
            newline(out, opts.indent, level);
            out.push('}');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn repr_matches_python() {
        assert_eq!(
            repr(&json!({"a": [1, true, null, 1.5, "it's"]})),
            r#"{'a': [1, True, None, 1.5, "it's"]}"#
        );
        assert_eq!(repr_float(3.0), "3.0");
        assert_eq!(repr_float(1e20), "1e+20");
        assert_eq!(to_str(&json!("x")), "x");
    }

    #[test]
    fn dumps_matches_python() {
        let v = json!({"b": 1, "a": [1, 2, {"x": "é"}], "c": null});
        assert_eq!(
            json_dumps(&v, JsonOptions::default()),
            r#"{"b": 1, "a": [1, 2, {"x": "\u00e9"}], "c": null}"#
        );
        let nice = JsonOptions {
            indent: Some(4),
            sort_keys: true,
            ensure_ascii: true,
        };
        assert_eq!(
            json_dumps(&json!({"b": [], "a": [1]}), nice),
            "{\n    \"a\": [\n        1\n    ],\n    \"b\": []\n}"
        );
    }
}
