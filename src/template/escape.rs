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

/// Rewrites Python's `'fmt' % args` (which minijinja has no operator for) into
/// `'fmt' | format(args)`; a parenthesised tuple becomes the argument list.
pub fn percent_format(src: &str, all_code: bool) -> Cow<'_, str> {
    if !src.contains('%') || !(src.contains('\'') || src.contains('"')) {
        return Cow::Borrowed(src);
    }
    let chars: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len() + 16);
    let mut in_code = all_code;
    let mut quote: Option<char> = None;
    let mut changed = false;
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
        if let Some(q) = quote {
            out.push(c);
            if c == '\\' {
                if let Some(n) = next {
                    out.push(n);
                    i += 1;
                }
            } else if c == q {
                quote = None;
                if let Some((args, end)) = percent_operand(&chars, i + 1) {
                    out.push_str(" | format(");
                    out.push_str(&args);
                    out.push(')');
                    changed = true;
                    i = end;
                    continue;
                }
            }
            i += 1;
            continue;
        }
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
        i += 1;
    }
    if changed {
        Cow::Owned(out)
    } else {
        Cow::Borrowed(src)
    }
}

/// After a string literal ending before `start`: `% operand` as format arguments, and
/// where the operand ends.
fn percent_operand(chars: &[char], start: usize) -> Option<(String, usize)> {
    let mut i = start;
    while chars.get(i) == Some(&' ') {
        i += 1;
    }
    if chars.get(i) != Some(&'%') || matches!(chars.get(i + 1), Some('}') | Some('=')) {
        return None;
    }
    i += 1;
    while chars.get(i) == Some(&' ') {
        i += 1;
    }
    let begin = i;
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    while let Some(&c) = chars.get(i) {
        if let Some(q) = quote {
            if c == '\\' {
                i += 1;
            } else if c == q {
                quote = None;
            }
        } else {
            match c {
                '\'' | '"' => quote = Some(c),
                '(' | '[' => depth += 1,
                ')' | ']' if depth == 0 => break,
                ')' | ']' => {
                    depth -= 1;
                    if depth == 0 && chars[begin] == '(' && c == ')' {
                        i += 1;
                        break;
                    }
                }
                c if depth == 0 && !(c.is_alphanumeric() || c == '_' || c == '.') => break,
                _ => {}
            }
        }
        i += 1;
    }
    // A backslash at the very end of an unclosed literal skipped past the input.
    let i = i.min(chars.len());
    if i == begin {
        return None;
    }
    let operand: String = chars[begin..i].iter().collect();
    let args = match operand.strip_prefix('(').and_then(|o| o.strip_suffix(')')) {
        Some(inner) => inner.trim().trim_end_matches(',').to_string(),
        None => operand,
    };
    Some((args, i))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_operand_with_a_trailing_backslash_is_no_panic() {
        // Found by the templar fuzz target (fuzz/findings/templar-percent-operand-...).
        let chars: Vec<char> = "\"\"%\"\\".chars().collect();
        let _ = percent_operand(&chars, 2);
        let _ = crate::template::templar()
            .render_string("{{ \"\"%\"\\ }}", &minijinja::Value::from(()));
    }

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

    #[test]
    fn rewrites_python_percent_formatting() {
        assert_eq!(percent_format("'%.2f' % x", true), "'%.2f' | format(x)");
        assert_eq!(
            percent_format("'%s=%d' % ('a', n) ~ 'z'", true),
            "'%s=%d' | format('a', n) ~ 'z'"
        );
        assert_eq!(
            percent_format("{{ 'h%02d' % item.n }} %", false),
            "{{ 'h%02d' | format(item.n) }} %"
        );
        assert_eq!(
            percent_format("{% if 'a' %}x{% endif %}", false),
            "{% if 'a' %}x{% endif %}"
        );
        assert_eq!(percent_format("n % 3", true), "n % 3");
    }
}
