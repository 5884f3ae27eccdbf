//! `-e/--extra-vars` values to variables, as ansible-core 2.19's `load_extra_vars`:
//! `@file` is a YAML/JSON file; text starting with `{` or `[` is inline YAML/JSON; anything
//! else is `k=v` words whose values stay strings (`-e x=5` gives "5").
//! The result must be a mapping; later values replace earlier ones key by key.

use super::paths::unfrack;
use crate::error::{Error, ErrorKind, Result};
use serde_json::{Map, Value};
use std::path::Path;

/// Parses all `-e` values in order into one map. `cwd` resolves relative `@file` paths.
pub fn load_extra_vars(values: &[String], cwd: &Path) -> Result<Map<String, Value>> {
    let mut out = Map::new();
    for value in values {
        for (k, v) in parse_one(value, cwd)? {
            crate::vars::combine::set_var(&mut out, k, v);
        }
    }
    Ok(out)
}

/// Parses one `-e` value.
pub fn parse_one(value: &str, cwd: &Path) -> Result<Map<String, Value>> {
    if value.is_empty() {
        return Ok(Map::new());
    }
    let not_a_mapping = |shown: &str| {
        Error::new(
            ErrorKind::Other,
            format!(
                "Invalid extra vars data supplied. '{shown}' could not be made into a dictionary"
            ),
        )
    };
    if let Some(file) = value.strip_prefix('@') {
        let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
        let env = |k: &str| std::env::var(k).ok();
        let path = unfrack(file, cwd, home.as_deref(), &env);
        let shown = format!("@{}", path.display());
        let node = crate::yaml::load_file(&path)?;
        return match node.to_json() {
            Value::Object(map) => Ok(map),
            _ => Err(not_a_mapping(&shown)),
        };
    }
    if value.starts_with('/') || value.starts_with('.') {
        return Err(Error::new(
            ErrorKind::Other,
            format!("Please prepend extra_vars filename '{value}' with '@'"),
        ));
    }
    if value.starts_with('{') || value.starts_with('[') {
        let node = crate::yaml::load_str(value, "<CLI option '-e'>")?;
        return match node.to_json() {
            Value::Object(map) => Ok(map),
            _ => Err(not_a_mapping(value)),
        };
    }
    parse_kv_options(value).map_err(|e| {
        Error::new(
            ErrorKind::Other,
            format!("Invalid extra vars '{value}': {e}"),
        )
    })
}

/// Ansible's `parse_kv(check_raw=False)`: every word with an unescaped `=` (after its first
/// character) is an option, whatever its key; other words are dropped. Escapes such as `\n`
/// are decoded first, and one pair of surrounding quotes is removed from the value.
fn parse_kv_options(text: &str) -> std::result::Result<Map<String, Value>, String> {
    let mut out = Map::new();
    let mut raw: Vec<String> = Vec::new();
    for word in crate::playbook::kv::split_args(text)? {
        let x = decode_escapes(&word);
        if !x.contains('=') {
            raw.push(word);
            continue;
        }
        let bytes = x.as_bytes();
        let eq = (1..bytes.len()).find(|&i| bytes[i] == b'=' && bytes[i - 1] != b'\\');
        match eq {
            Some(pos) => {
                let key = x[..pos].trim().to_string();
                let val = unquote(x[pos + 1..].trim()).to_string();
                out.insert(key, Value::String(val));
            }
            None => raw.push(x.replace("\\=", "=")),
        }
    }
    if !raw.is_empty() {
        out.insert("_raw_params".into(), Value::String(raw.join(" ")));
    }
    Ok(out)
}

/// Python's `unicode-escape` for `\\ \' \" \a \b \f \n \r \t \v \xHH \uHHHH \UHHHHHHHH`.
fn decode_escapes(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let simple = match chars.peek() {
            Some('\\') => Some('\\'),
            Some('\'') => Some('\''),
            Some('"') => Some('"'),
            Some('a') => Some('\u{7}'),
            Some('b') => Some('\u{8}'),
            Some('f') => Some('\u{c}'),
            Some('n') => Some('\n'),
            Some('r') => Some('\r'),
            Some('t') => Some('\t'),
            Some('v') => Some('\u{b}'),
            _ => None,
        };
        if let Some(ch) = simple {
            chars.next();
            out.push(ch);
            continue;
        }
        let width = match chars.peek() {
            Some('x') => 2,
            Some('u') => 4,
            Some('U') => 8,
            _ => 0,
        };
        if width > 0 {
            let rest: String = chars.clone().skip(1).take(width).collect();
            let decoded = (rest.len() == width && rest.chars().all(|h| h.is_ascii_hexdigit()))
                .then(|| u32::from_str_radix(&rest, 16).ok().and_then(char::from_u32))
                .flatten();
            if let Some(ch) = decoded {
                for _ in 0..=width {
                    chars.next();
                }
                out.push(ch);
                continue;
            }
        }
        out.push(c);
    }
    out
}

/// Removes one pair of matching surrounding quotes, as Ansible's `unquote`.
fn unquote(s: &str) -> &str {
    let b = s.as_bytes();
    if b.len() > 1
        && b[0] == b[b.len() - 1]
        && (b[0] == b'"' || b[0] == b'\'')
        && b[b.len() - 2] != b'\\'
    {
        &s[1..s.len() - 1]
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn load(values: &[&str], cwd: &Path) -> Result<Map<String, Value>> {
        let v: Vec<String> = values.iter().map(|s| s.to_string()).collect();
        load_extra_vars(&v, cwd)
    }

    #[test]
    fn key_value_words_stay_strings() {
        let m = load(&["x=5 y=\"a b\" z=yes"], Path::new("/")).unwrap();
        assert_eq!(Value::Object(m), json!({"x": "5", "y": "a b", "z": "yes"}));
    }

    #[test]
    fn any_word_with_equals_is_an_option() {
        let m = load(
            &["foo x=1 a-b=2 c=d=e t=a\\tb q='x y' =skip"],
            Path::new("/"),
        )
        .unwrap();
        assert_eq!(
            Value::Object(m),
            json!({"x": "1", "a-b": "2", "c": "d=e", "t": "a\tb", "q": "x y", "_raw_params": "foo =skip"})
        );
    }

    #[test]
    fn inline_yaml_and_json_with_later_overriding() {
        let m = load(
            &[
                "{x: 1, y: [1, 2], d: {a: 1}}",
                "x=2",
                r#"{"d": {"b": 2}}"#,
                "",
            ],
            Path::new("/"),
        )
        .unwrap();
        // Replace, not deep merge (hash_behaviour=replace).
        assert_eq!(
            Value::Object(m),
            json!({"x": "2", "y": [1, 2], "d": {"b": 2}})
        );
    }

    #[test]
    fn files_with_at() {
        let t = tempfile::tempdir().unwrap();
        std::fs::write(t.path().join("v.yml"), "a: 1\nb: [x]\n").unwrap();
        std::fs::write(t.path().join("v.json"), r#"{"a": 2}"#).unwrap();
        std::fs::write(t.path().join("list.yml"), "- 1\n").unwrap();
        std::fs::write(t.path().join("empty.yml"), "").unwrap();
        let m = load(&["@v.yml", "@v.json"], t.path()).unwrap();
        assert_eq!(Value::Object(m), json!({"a": 2, "b": ["x"]}));
        let e = load(&["@list.yml"], t.path()).unwrap_err();
        assert_eq!(
            e.message,
            format!(
                "Invalid extra vars data supplied. '@{}' could not be made into a dictionary",
                t.path().join("list.yml").display()
            )
        );
        assert!(load(&["@empty.yml"], t.path()).is_err());
        let e = load(&["@missing.yml"], t.path()).unwrap_err();
        assert!(e.message.contains("missing.yml"), "{}", e.message);
    }

    #[test]
    fn errors_name_the_value() {
        let e = load(&["[1]"], Path::new("/")).unwrap_err();
        assert_eq!(
            e.message,
            "Invalid extra vars data supplied. '[1]' could not be made into a dictionary"
        );
        let e = load(&["./vars.yml"], Path::new("/")).unwrap_err();
        assert_eq!(
            e.message,
            "Please prepend extra_vars filename './vars.yml' with '@'"
        );
        assert!(load(&["{x: 1"], Path::new("/")).is_err());
        let e = load(&["x='open"], Path::new("/")).unwrap_err();
        assert!(e.message.contains("x='open"), "{}", e.message);
    }
}
