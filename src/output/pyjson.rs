//! Python-compatible rendering of JSON values: `json.dumps` (Ansible's result dumps) and
//! `str()`/`repr()` (loop item labels), so output matches ansible-playbook byte for byte.

use serde_json::Value;
use std::fmt::Write as _;

/// Options of Python's `json.dumps` that Ansible's callbacks use.
#[derive(Clone, Copy, Debug)]
pub struct DumpOptions {
    /// `indent=N`: pretty-print; `None` gives the single-line `", "` / `": "` form.
    pub indent: Option<usize>,
    pub sort_keys: bool,
    /// `ensure_ascii=True` escapes every non-ASCII character as `\uXXXX`.
    pub ensure_ascii: bool,
}

/// `json.dumps(value, indent=..., sort_keys=..., ensure_ascii=...)`.
pub fn dumps(value: &Value, opts: DumpOptions) -> String {
    let mut out = String::new();
    write_value(&mut out, value, opts, 0);
    out
}

fn newline(out: &mut String, opts: DumpOptions, level: usize) {
    if let Some(n) = opts.indent {
        out.push('\n');
        out.push_str(&" ".repeat(n * level));
    }
}

fn write_value(out: &mut String, value: &Value, opts: DumpOptions, level: usize) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&python_number(n)),
        Value::String(s) => write_string(out, s, opts.ensure_ascii),
        Value::Array(items) => {
            if items.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                    if opts.indent.is_none() {
                        out.push(' ');
                    }
                }
                newline(out, opts, level + 1);
                write_value(out, item, opts, level + 1);
            }
            newline(out, opts, level);
            out.push(']');
        }
        Value::Object(map) => {
            if map.is_empty() {
                out.push_str("{}");
                return;
            }
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            if opts.sort_keys {
                // Rust's byte order on UTF-8 equals Python's code point order.
                entries.sort_by(|a, b| a.0.cmp(b.0));
            }
            out.push('{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                    if opts.indent.is_none() {
                        out.push(' ');
                    }
                }
                newline(out, opts, level + 1);
                write_string(out, k, opts.ensure_ascii);
                out.push_str(": ");
                write_value(out, v, opts, level + 1);
            }
            newline(out, opts, level);
            out.push('}');
        }
    }
}

fn write_string(out: &mut String, s: &str, ensure_ascii: bool) {
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
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if ensure_ascii && (c as u32) > 0x7e => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    let _ = write!(out, "\\u{:04x}", unit);
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Python's `repr(float)`/`repr(int)` for a JSON number.
fn python_number(n: &serde_json::Number) -> String {
    if n.is_i64() || n.is_u64() {
        return n.to_string();
    }
    match n.as_f64() {
        Some(f) => python_float(f),
        None => n.to_string(),
    }
}

/// Python's `repr(float)`: shortest round-trip digits, scientific notation outside
/// `1e-4 <= |x| < 1e16`, exponent written as `e+16` / `e-05`.
pub fn python_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        };
    }
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0.0".into()
        } else {
            "0.0".into()
        };
    }
    let sci = format!("{f:e}"); // e.g. "1.5e-5", shortest digits
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..16).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{mantissa}e{sign}{:02}", exp.abs());
    }
    let plain = format!("{f}");
    if plain.contains('.') {
        plain
    } else {
        format!("{plain}.0")
    }
}

/// Python's `str(value)` for a value that came from YAML/JSON: strings as they are,
/// everything else as `repr`. Ansible prints loop labels this way (`(item=...)`).
pub fn py_str(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => py_repr(other),
    }
}

/// Python's `repr(value)`: `{'a': 1}`, `['x', True, None]`.
pub fn py_repr(value: &Value) -> String {
    let mut out = String::new();
    write_repr(&mut out, value);
    out
}

fn write_repr(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("None"),
        Value::Bool(b) => out.push_str(if *b { "True" } else { "False" }),
        Value::Number(n) => out.push_str(&python_number(n)),
        Value::String(s) => write_str_repr(out, s),
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
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_str_repr(out, k);
                out.push_str(": ");
                write_repr(out, v);
            }
            out.push('}');
        }
    }
}

fn write_str_repr(out: &mut String, s: &str) {
    // Python prefers single quotes unless the text has a single quote and no double quote.
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const COMPACT: DumpOptions = DumpOptions {
        indent: None,
        sort_keys: true,
        ensure_ascii: false,
    };

    #[test]
    fn compact_matches_python() {
        let v = json!({"rc": 1, "cmd": ["/bin/false"], "changed": true, "e": {}, "l": [], "s": "ü\"\n"});
        assert_eq!(
            dumps(&v, COMPACT),
            r#"{"changed": true, "cmd": ["/bin/false"], "e": {}, "l": [], "rc": 1, "s": "ü\"\n"}"#
        );
    }

    #[test]
    fn indented_matches_python() {
        let v = json!({"msg": [1, {"b": null, "a": 2.5}], "e": []});
        let opts = DumpOptions {
            indent: Some(4),
            ..COMPACT
        };
        assert_eq!(
            dumps(&v, opts),
            "{\n    \"e\": [],\n    \"msg\": [\n        1,\n        {\n            \"a\": 2.5,\n            \"b\": null\n        }\n    ]\n}"
        );
    }

    #[test]
    fn ensure_ascii_escapes_surrogates() {
        let opts = DumpOptions {
            ensure_ascii: true,
            ..COMPACT
        };
        assert_eq!(dumps(&json!("é😀"), opts), r#""\u00e9\ud83d\ude00""#);
    }

    #[test]
    fn floats_like_python() {
        assert_eq!(python_float(1.0), "1.0");
        assert_eq!(python_float(0.1), "0.1");
        assert_eq!(python_float(1e16), "1e+16");
        assert_eq!(python_float(1.5e-5), "1.5e-05");
        assert_eq!(python_float(123456.789), "123456.789");
    }

    #[test]
    fn repr_like_python() {
        assert_eq!(py_str(&json!("a b")), "a b");
        assert_eq!(
            py_str(&json!({"n": "one", "x": [true, null, 1]})),
            "{'n': 'one', 'x': [True, None, 1]}"
        );
        assert_eq!(py_repr(&json!("it's")), "\"it's\"");
    }
}
