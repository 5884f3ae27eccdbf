//! Ansible keeps backslashes in string literals of templates written in playbooks:
//! `"{{ 'a\nb' }}"` gives a backslash and an `n`, and `regex_search('\\d')` searches for
//! a backslash. (Template files are read by Jinja's normal rules.) minijinja unescapes
//! literals, so their backslashes are doubled before compiling.

use std::borrow::Cow;

/// Doubles the backslashes inside string literals of the Jinja code in `src`; when `all_code`
/// the whole text is an expression, otherwise only `{{ }}` and `{% %}` blocks are code.
pub fn raw_string_literals(src: &str, all_code: bool) -> Cow<'_, str> {
    if !src.contains('\\') {
        return Cow::Borrowed(src);
    }
    let chars: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len() + 8);
    let mut in_code = all_code;
    let mut quote: Option<char> = None;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if !in_code {
            if c == '{' && matches!(next, Some('{') | Some('%')) {
                in_code = true;
                out.push(c);
                out.push(next.unwrap_or('{'));
                i += 2;
                continue;
            }
            out.push(c);
            i += 1;
            continue;
        }
        match quote {
            Some(q) => {
                if c == '\\' {
                    // Keep the backslash itself, and the escaped character as it is written.
                    out.push_str("\\\\");
                    if let Some(n) = next {
                        if n == q || n == '\\' {
                            out.push('\\');
                        }
                        out.push(n);
                        i += 1;
                    }
                } else {
                    if c == q {
                        quote = None;
                    }
                    out.push(c);
                }
            }
            None => {
                if c == '\'' || c == '"' {
                    quote = Some(c);
                } else if !all_code && matches!(c, '}' | '%') && next == Some('}') {
                    in_code = false;
                    out.push(c);
                    out.push('}');
                    i += 2;
                    continue;
                }
                out.push(c);
            }
        }
        i += 1;
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_backslashes_only_in_literals() {
        assert_eq!(raw_string_literals("a\\n {{ x }}", false), "a\\n {{ x }}");
        assert_eq!(
            raw_string_literals("\\ {{ 'a\\nb' }} \\", false),
            "\\ {{ 'a\\\\nb' }} \\"
        );
        assert_eq!(raw_string_literals("'it\\'s'", true), "'it\\\\\\'s'");
        assert_eq!(
            raw_string_literals("x | f('\\\\d')", true),
            "x | f('\\\\\\\\d')"
        );
        assert_eq!(raw_string_literals("plain", true), "plain");
    }
}
