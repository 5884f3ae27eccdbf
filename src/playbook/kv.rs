//! Ansible's `k=v` argument strings (`copy: src=a dest=b mode=0644`, `-e 'x=1 y=2'`).
//!
//! Words are split on whitespace outside quotes and outside `{{ }}`/`{% %}`; quotes around a
//! value are removed; words that are not `k=v` form the free-form `_raw_params`.

use serde_json::{Map, Value};

/// Splits a string the way Ansible's `split_args` does: whitespace outside quotes and Jinja blocks.
pub fn split_args(text: &str) -> Result<Vec<String>, String> {
    // A port of Ansible's parsing/splitter.py `split_args`: split on newlines, then on single
    // spaces, and glue back the pieces that fall inside quotes or a Jinja block; newlines
    // (outside a `\` line continuation) and runs of spaces are kept, so a multi-line shell
    // script stays a multi-line script.
    let mut params: Vec<String> = Vec::new();
    let items: Vec<&str> = text.split('\n').collect();
    let mut quote: Option<char> = None;
    let (mut print_depth, mut block_depth, mut comment_depth) = (0i64, 0i64, 0i64);
    for (item_idx, item) in items.iter().enumerate() {
        let mut line_continuation = false;
        for (idx, token) in item.split(' ').enumerate() {
            if token.is_empty() && idx != 0 {
                if let Some(last) = params.last_mut() {
                    last.push(' ');
                }
                continue;
            }
            let was_inside_quotes = quote.is_some();
            if token == "\\" && !was_inside_quotes {
                line_continuation = true;
                continue;
            }
            quote = quote_state(token, quote);
            let inside_quotes = quote.is_some();
            let in_jinja = print_depth > 0 || block_depth > 0 || comment_depth > 0;
            let mut appended = false;
            if inside_quotes && !was_inside_quotes && !in_jinja {
                params.push(token.to_string());
                appended = true;
            } else if in_jinja || inside_quotes || was_inside_quotes {
                match params.last_mut() {
                    Some(last) => {
                        if !(idx == 0 && was_inside_quotes) && idx > 0 {
                            last.push(' ');
                        }
                        last.push_str(token);
                    }
                    None => params.push(token.to_string()),
                }
                appended = true;
            }
            for (depth, open, close) in [
                (&mut print_depth, "{{", "}}"),
                (&mut block_depth, "{%", "%}"),
                (&mut comment_depth, "{#", "#}"),
            ] {
                let before = *depth;
                let (o, c) = (
                    token.matches(open).count() as i64,
                    token.matches(close).count() as i64,
                );
                if o != c {
                    *depth = (*depth + o - c).max(0);
                }
                if *depth != before && !appended {
                    params.push(token.to_string());
                    appended = true;
                }
            }
            let in_jinja = print_depth > 0 || block_depth > 0 || comment_depth > 0;
            if !in_jinja && !inside_quotes && !appended && !token.is_empty() {
                params.push(token.to_string());
            }
        }
        if items.len() > 1 && item_idx != items.len() - 1 && !line_continuation {
            if let Some(last) = params.last_mut() {
                last.push('\n');
            }
        }
    }
    if quote.is_some() {
        return Err(format!("unbalanced quotes in: {text}"));
    }
    if print_depth > 0 || block_depth > 0 || comment_depth > 0 {
        return Err(format!("unbalanced jinja2 block in: {text}"));
    }
    Ok(params)
}

/// splitter.py `_get_quote_state`: the open quote after `token`, given the one before it.
fn quote_state(token: &str, mut quote: Option<char>) -> Option<char> {
    let mut prev: Option<char> = None;
    for c in token.chars() {
        if (c == '"' || c == '\'') && prev != Some('\\') {
            match quote {
                Some(q) if q == c => quote = None,
                Some(_) => {}
                None => quote = Some(c),
            }
        }
        prev = Some(c);
    }
    quote
}

/// splitter.py `join_args`: words joined by a space, except right after a newline.
pub fn join_args(words: &[String]) -> String {
    let mut out = String::new();
    for w in words {
        if !(out.is_empty() || out.ends_with('\n')) {
            out.push(' ');
        }
        out.push_str(w);
    }
    out
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
        out.insert("_raw_params".into(), Value::String(join_args(&raw)));
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
