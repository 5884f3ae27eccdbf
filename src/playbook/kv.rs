//! Ansible's `k=v` argument strings (`copy: src=a dest=b mode=0644`, `-e 'x=1 y=2'`).
//!
//! Words are split on whitespace outside quotes and outside `{{ }}`/`{% %}`; quotes around a
//! value are removed; words that are not `k=v` form the free-form `_raw_params`.

use serde_json::{Map, Value};

/// Splits a string the way Ansible's `split_args` does: whitespace outside quotes and Jinja blocks.
pub fn split_args(text: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut depth = 0usize; // inside {{ }} / {% %} / {# #}
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if quote.is_none() && c == '{' && matches!(next, Some('{' | '%' | '#')) {
            depth += 1;
            cur.push(c);
            cur.push(next.unwrap_or('{'));
            i += 2;
            continue;
        }
        if depth > 0 && matches!(c, '}' | '%' | '#') && next == Some('}') {
            depth -= 1;
            cur.push(c);
            cur.push('}');
            i += 2;
            continue;
        }
        match quote {
            Some(q) => {
                if c == '\\' && next == Some(q) {
                    cur.push(c);
                    cur.push(q);
                    i += 2;
                    continue;
                }
                if c == q {
                    quote = None;
                }
                cur.push(c);
            }
            None if depth == 0 && c.is_whitespace() => {
                if !cur.is_empty() {
                    words.push(std::mem::take(&mut cur));
                }
            }
            None => {
                if c == '"' || c == '\'' {
                    quote = Some(c);
                }
                cur.push(c);
            }
        }
        i += 1;
    }
    if quote.is_some() {
        return Err(format!("unbalanced quotes in: {text}"));
    }
    if depth > 0 {
        return Err(format!("unbalanced jinja2 block in: {text}"));
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    Ok(words)
}

fn unquote(s: &str) -> String {
    let b = s.as_bytes();
    if b.len() >= 2 && (b[0] == b'"' || b[0] == b'\'') && b[b.len() - 1] == b[0] {
        let inner = &s[1..s.len() - 1];
        let q = b[0] as char;
        return inner.replace(&format!("\\{q}"), &q.to_string());
    }
    s.to_string()
}

/// Parses `k=v` words; other words are joined into `_raw_params` (kept as written).
pub fn parse_kv(text: &str) -> Result<Map<String, Value>, String> {
    parse(text, false)
}

/// For free-form modules (Ansible's `check_raw`): only the modules' own option words
/// (`chdir=`, `creates=`, ...) are split off; any other `k=v` word is part of the command.
pub fn parse_kv_free_form(text: &str) -> Result<Map<String, Value>, String> {
    parse(text, true)
}

fn parse(text: &str, check_raw: bool) -> Result<Map<String, Value>, String> {
    let mut out = Map::new();
    let mut raw: Vec<String> = Vec::new();
    for word in split_args(text)? {
        // As Ansible's parse_kv: the first `=` after the first character that is not
        // escaped ends the key, whatever the key is (`{{ item }}=moo` sets a templated
        // name); free-form modules take only their own option words.
        let key_end = first_unescaped_eq(&word);
        let option_word = key_end.is_some_and(|i| is_raw_option(word[..i].trim()));
        if key_end.is_some() && (option_word || !check_raw) {
            let i = key_end.unwrap_or(0);
            out.insert(
                word[..i].trim().to_string(),
                Value::String(unquote(decode_escapes(&word[i + 1..]).trim())),
            );
        } else {
            raw.push(word);
        }
    }
    if !raw.is_empty() {
        out.insert("_raw_params".into(), Value::String(raw.join(" ")));
    }
    Ok(out)
}

/// Where the key of a `k=v` word ends: the first `=` past index 0 not preceded by `\`.
fn first_unescaped_eq(word: &str) -> Option<usize> {
    let bytes = word.as_bytes();
    (1..bytes.len()).find(|&i| bytes[i] == b'=' && bytes[i - 1] != b'\\')
}

/// Python-style escapes in `k=v` values (`\\n`, `\\t`, `\\xNN`, `\\uNNNN`, ...), decoded as
/// Ansible's `parse_kv` does; other backslashes stay.
fn decode_escapes(s: &str) -> String {
    if !s.contains('\\') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let hex = |chars: &mut std::iter::Peekable<std::str::Chars>, n: usize| -> Option<char> {
            let digits: String = (0..n).filter_map(|_| chars.next()).collect();
            u32::from_str_radix(&digits, 16)
                .ok()
                .and_then(char::from_u32)
        };
        match chars.peek().copied() {
            Some('n') => {
                chars.next();
                out.push('\n');
            }
            Some('t') => {
                chars.next();
                out.push('\t');
            }
            Some('r') => {
                chars.next();
                out.push('\r');
            }
            Some(e @ ('b' | 'f' | 'v' | 'a')) => {
                chars.next();
                out.push(match e {
                    'b' => '\u{8}',
                    'f' => '\u{c}',
                    'v' => '\u{b}',
                    _ => '\u{7}',
                });
            }
            Some('\\') => {
                chars.next();
                out.push('\\');
            }
            Some('x') => {
                chars.next();
                match hex(&mut chars, 2) {
                    Some(ch) => out.push(ch),
                    None => out.push_str("\\x"),
                }
            }
            Some('u') => {
                chars.next();
                match hex(&mut chars, 4) {
                    Some(ch) => out.push(ch),
                    None => out.push_str("\\u"),
                }
            }
            _ => out.push('\\'),
        }
    }
    out
}

/// The options free-form modules accept inline (`chdir=/tmp ls`).
fn is_raw_option(key: &str) -> bool {
    matches!(
        key,
        "chdir"
            | "creates"
            | "removes"
            | "executable"
            | "warn"
            | "stdin"
            | "stdin_add_newline"
            | "strip_empty_ends"
            | "_uses_shell"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kv_with_quotes_and_jinja() {
        let m =
            parse_kv(r#"src=a.txt dest="/tmp/my file" msg='{{ x | default("a b") }}'"#).unwrap();
        assert_eq!(m["src"], "a.txt");
        assert_eq!(m["dest"], "/tmp/my file");
        assert_eq!(m["msg"], r#"{{ x | default("a b") }}"#);
    }

    #[test]
    fn templated_keys_escaped_equals_and_options_after_raw_words() {
        let m = parse_kv("{{ item }}=moo").unwrap();
        assert_eq!(m["{{ item }}"], "moo");
        let m = parse_kv(r"a\=b c=d").unwrap();
        assert_eq!(m["c"], "d");
        assert!(m.contains_key("_raw_params"), "{m:?}");
        let m = parse_kv("word k=v").unwrap();
        assert_eq!(m["_raw_params"], "word");
        assert_eq!(m["k"], "v");
    }

    #[test]
    fn free_form_with_options() {
        let m = parse_kv_free_form("FOO=1 echo a=b hello chdir=/tmp").unwrap();
        assert_eq!(m["_raw_params"], "FOO=1 echo a=b hello");
        assert_eq!(m["chdir"], "/tmp");
    }

    #[test]
    fn escapes_in_values_are_decoded() {
        let m = parse_kv(r#"content="a\nb\n" path=C:\dir"#).unwrap();
        assert_eq!(m["content"], "a\nb\n");
        assert_eq!(m["path"], "C:\\dir");
    }

    #[test]
    fn unbalanced_quote_is_an_error() {
        assert!(parse_kv("msg='oops").is_err());
    }
}
