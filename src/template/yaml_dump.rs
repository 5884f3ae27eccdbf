//! PyYAML's `yaml.dump` as Ansible calls it from `to_yaml` (flow style for leaf collections)
//! and `to_nice_yaml` (block style, indent 4). Keys are sorted, as PyYAML does by default.
//!
//! Known gap: PyYAML folds multi-line strings into single quotes and wraps lines at 80
//! columns; here a multi-line string is written double-quoted with `\n` escapes.

use super::pyfmt::repr_float;
use crate::yaml::{resolve_plain, NodeValue};
use serde_json::Value;

#[derive(Clone, Copy)]
struct Style {
    indent: usize,
    /// `default_flow_style=None`: collections of scalars only are written inline.
    flow_leaves: bool,
}

/// `to_yaml`: `yaml.dump(v, default_flow_style=None, allow_unicode=True)`.
pub fn to_yaml(v: &Value, indent: usize) -> String {
    dump(
        v,
        Style {
            indent,
            flow_leaves: true,
        },
    )
}

/// `to_nice_yaml`: `yaml.dump(v, default_flow_style=False, indent=4, allow_unicode=True)`.
pub fn to_nice_yaml(v: &Value, indent: usize) -> String {
    dump(
        v,
        Style {
            indent,
            flow_leaves: false,
        },
    )
}

fn dump(v: &Value, style: Style) -> String {
    let mut out = String::new();
    match v {
        Value::Array(a) if !a.is_empty() && !is_flow(v, style) => block_seq(&mut out, a, 0, style),
        Value::Object(m) if !m.is_empty() && !is_flow(v, style) => block_map(&mut out, m, 0, style),
        // Ansible's dumper leaves out PyYAML's `...` after a lone plain scalar.
        _ => {
            out.push_str(&inline(v, false, style.indent, style.indent));
            out.push('\n');
        }
    }
    out
}

fn is_scalar(v: &Value) -> bool {
    !matches!(v, Value::Array(_) | Value::Object(_))
}

/// Whether a collection is written inline: empty ones always, leaves under `flow_leaves`.
fn is_flow(v: &Value, style: Style) -> bool {
    match v {
        Value::Array(a) => a.is_empty() || (style.flow_leaves && a.iter().all(is_scalar)),
        Value::Object(m) => m.is_empty() || (style.flow_leaves && m.values().all(is_scalar)),
        _ => true,
    }
}

fn sorted(m: &serde_json::Map<String, Value>) -> Vec<(&String, &Value)> {
    let mut e: Vec<_> = m.iter().collect();
    e.sort_by(|a, b| a.0.cmp(b.0));
    e
}

fn block_map(out: &mut String, m: &serde_json::Map<String, Value>, col: usize, style: Style) {
    for (i, (k, v)) in sorted(m).into_iter().enumerate() {
        if i > 0 {
            out.push_str(&" ".repeat(col));
        }
        out.push_str(&scalar_str(k, false, 0));
        out.push(':');
        match v {
            Value::Object(inner) if !is_flow(v, style) => {
                out.push('\n');
                out.push_str(&" ".repeat(col + style.indent));
                block_map(out, inner, col + style.indent, style);
            }
            // PyYAML writes a sequence under a key without extra indentation.
            Value::Array(inner) if !is_flow(v, style) => {
                out.push('\n');
                out.push_str(&" ".repeat(col));
                block_seq(out, inner, col, style);
            }
            _ => {
                out.push(' ');
                out.push_str(&inline(v, false, col + style.indent, style.indent));
                out.push('\n');
            }
        }
    }
}

fn block_seq(out: &mut String, a: &[Value], col: usize, style: Style) {
    for (i, v) in a.iter().enumerate() {
        if i > 0 {
            out.push_str(&" ".repeat(col));
        }
        out.push('-');
        match v {
            Value::Object(inner) if !is_flow(v, style) => {
                out.push_str(&" ".repeat(style.indent.saturating_sub(1).max(1)));
                block_map(out, inner, col + style.indent.max(2), style);
            }
            Value::Array(inner) if !is_flow(v, style) => {
                out.push_str(&" ".repeat(style.indent.saturating_sub(1).max(1)));
                block_seq(out, inner, col + style.indent.max(2), style);
            }
            _ => {
                out.push(' ');
                out.push_str(&inline(v, false, col + style.indent, style.indent));
                out.push('\n');
            }
        }
    }
}

/// A scalar or flow collection; `cont` is the indentation of continuation lines of a
/// multi-line string, which grows by `step` inside each flow collection.
fn inline(v: &Value, in_flow: bool, cont: usize, step: usize) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => if *b { "true" } else { "false" }.into(),
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() => {
                if f.is_nan() {
                    ".nan".into()
                } else if f.is_infinite() {
                    if f > 0.0 { ".inf" } else { "-.inf" }.into()
                } else {
                    repr_float(f)
                }
            }
            _ => n.to_string(),
        },
        Value::String(s) => scalar_str(s, in_flow, cont),
        Value::Array(a) => {
            let items: Vec<String> = a
                .iter()
                .map(|i| inline(i, true, cont + step, step))
                .collect();
            format!("[{}]", items.join(", "))
        }
        Value::Object(m) => {
            let items: Vec<String> = sorted(m)
                .into_iter()
                .map(|(k, v)| {
                    format!(
                        "{}: {}",
                        scalar_str(k, true, cont + step),
                        inline(v, true, cont + step, step)
                    )
                })
                .collect();
            format!("{{{}}}", items.join(", "))
        }
    }
}

fn looks_like_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 8
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && s[5..].chars().next().is_some_and(|c| c.is_ascii_digit())
}

/// Characters PyYAML (as Ansible runs it) cannot write unescaped.
fn is_special(c: char) -> bool {
    let u = c as u32;
    !(c == '\n'
        || (0x20..=0x7e).contains(&u)
        || u == 0x85
        || (0xa0..=0xd7ff).contains(&u)
        || (0xe000..=0xfffd).contains(&u))
        || c == '\u{feff}'
}

/// A string as PyYAML writes it: plain when that reads back as the same string, else
/// single-quoted (line breaks doubled), else double-quoted with escapes.
fn scalar_str(s: &str, in_flow: bool, cont: usize) -> String {
    let special = s.chars().any(is_special);
    if special || s.contains(" \n") || s.contains("\n ") {
        return double_quoted(s);
    }
    if s.contains('\n') {
        return single_quoted_multiline(s, cont);
    }
    let plain_ok = !s.is_empty()
        && !s.starts_with(' ')
        && !s.ends_with(' ')
        && matches!(resolve_plain(s), NodeValue::Str(_))
        && !looks_like_timestamp(s)
        && !s.contains(": ")
        && !s.contains(" #")
        && !s.ends_with(':')
        && !starts_with_indicator(s)
        && !(in_flow && s.contains([',', '[', ']', '{', '}']));
    if plain_ok {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "''"))
    }
}

/// PyYAML's single-quoted style: a run of n line breaks is written as n+1 of them, and
/// the text goes on indented by `cont`.
fn single_quoted_multiline(s: &str, cont: usize) -> String {
    let mut out = String::from("'");
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' => {
                out.push_str("\n\n");
                while chars.peek() == Some(&'\n') {
                    chars.next();
                    out.push('\n');
                }
                out.push_str(&" ".repeat(cont));
            }
            '\'' => out.push_str("''"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

fn starts_with_indicator(s: &str) -> bool {
    let mut chars = s.chars();
    let first = chars.next().unwrap_or(' ');
    let second = chars.next();
    match first {
        '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"' | '%'
        | '@' | '`' => true,
        // `-a` is plain, `- a` and a lone `-` are not.
        '-' | '?' | ':' => second.is_none_or(|c| c == ' '),
        _ => false,
    }
}

fn double_quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        let esc = match c {
            '\0' => "\\0",
            '\u{7}' => "\\a",
            '\u{8}' => "\\b",
            '\t' => "\\t",
            '\n' => "\\n",
            '\u{b}' => "\\v",
            '\u{c}' => "\\f",
            '\r' => "\\r",
            '\u{1b}' => "\\e",
            '"' => "\\\"",
            '\\' => "\\\\",
            '\u{85}' => "\\N",
            '\u{a0}' => "\\_",
            '\u{2028}' => "\\L",
            '\u{2029}' => "\\P",
            c if is_special(c) => {
                let u = c as u32;
                out.push_str(&if u <= 0xff {
                    format!("\\x{u:02X}")
                } else if u <= 0xffff {
                    format!("\\u{u:04X}")
                } else {
                    format!("\\U{u:08X}")
                });
                continue;
            }
            c => {
                out.push(c);
                continue;
            }
        };
        out.push_str(esc);
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    // Expected texts come from ansible-core 2.19 (`to_yaml`/`to_nice_yaml`).
    #[test]
    fn nice_yaml_matches_ansible() {
        let d = json!({"b": 1, "a": [1, 2, {"x": "é"}], "c": null, "e": true, "f": 1.5});
        assert_eq!(
            to_nice_yaml(&d, 4),
            "a:\n- 1\n- 2\n-   x: é\nb: 1\nc: null\ne: true\nf: 1.5\n"
        );
        assert_eq!(
            to_nice_yaml(&json!([1, "a", {"k": [1, 2]}]), 4),
            "- 1\n- a\n-   k:\n    - 1\n    - 2\n"
        );
        assert_eq!(
            to_nice_yaml(
                &json!({"nested": [[1, 2], [{"a": 1}]], "e": {}, "l": []}),
                4
            ),
            "e: {}\nl: []\nnested:\n-   - 1\n    - 2\n-   -   a: 1\n"
        );
    }

    #[test]
    fn flow_yaml_matches_ansible() {
        let d = json!({"b": 1, "a": [1, 2, {"x": "é"}], "c": null, "e": true, "f": 1.5});
        assert_eq!(
            to_yaml(&d, 2),
            "a:\n- 1\n- 2\n- {x: é}\nb: 1\nc: null\ne: true\nf: 1.5\n"
        );
        assert_eq!(
            to_yaml(&json!({"a": {"b": [1, {"c": []}]}}), 2),
            "a:\n  b:\n  - 1\n  - c: []\n"
        );
        assert_eq!(to_yaml(&json!("abc"), 2), "abc\n");
        assert_eq!(
            to_yaml(&json!([[1, 2], [{"a": 1}]]), 2),
            "- [1, 2]\n- - {a: 1}\n"
        );
    }

    #[test]
    fn multiline_strings_like_pyyaml() {
        // Expected texts come from PyYAML / ansible-core 2.19.
        let m = "l1\nl2";
        let d = json!({"a": {"b": m}, "l": [m, {"c": m}], "s": "x\n\ny", "sp": "a \nb",
                       "bs": "a\n b", "tr": "a\n", "ctl": "a\u{1}"});
        assert_eq!(
            to_nice_yaml(&d, 4),
            "a:\n    b: 'l1\n\n        l2'\nbs: \"a\\n b\"\nctl: \"a\\x01\"\nl:\n- 'l1\n\n    l2'\n-   c: 'l1\n\n        l2'\ns: 'x\n\n\n    y'\nsp: \"a \\nb\"\ntr: 'a\n\n    '\n"
        );
        assert_eq!(
            to_yaml(&d, 2),
            "a: {b: 'l1\n\n    l2'}\nbs: \"a\\n b\"\nctl: \"a\\x01\"\nl:\n- 'l1\n\n  l2'\n- {c: 'l1\n\n    l2'}\ns: 'x\n\n\n  y'\nsp: \"a \\nb\"\ntr: 'a\n\n  '\n"
        );
        assert_eq!(
            to_nice_yaml(&json!("line1\nline2\n"), 4),
            "'line1\n\n    line2\n\n    '\n"
        );
        assert_eq!(to_nice_yaml(&json!("é ü 😀"), 4), "\"é ü \\U0001F600\"\n");
    }

    #[test]
    fn scalars_are_quoted_like_pyyaml() {
        let cases = [
            ("yes", "'yes'"),
            ("", "''"),
            ("a b", "a b"),
            (" x", "' x'"),
            ("1", "'1'"),
            ("1.5", "'1.5'"),
            ("null", "'null'"),
            ("~", "'~'"),
            ("a: b", "'a: b'"),
            ("#c", "'#c'"),
            ("x #y", "'x #y'"),
            ("-a", "-a"),
            ("- a", "'- a'"),
            ("key:", "'key:'"),
            ("@x", "'@x'"),
            ("it's", "it's"),
            ("\"q\"", "'\"q\"'"),
            ("true", "'true'"),
            ("0755", "'0755'"),
            ("2020-01-01", "'2020-01-01'"),
            ("a\\b", "a\\b"),
            ("\ttab", "\"\\ttab\""),
        ];
        for (input, want) in cases {
            assert_eq!(scalar_str(input, false, 2), want, "for {input:?}");
        }
    }
}
