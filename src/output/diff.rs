//! `--diff` output: `CallbackBase._get_diff`, a unified diff in Python difflib's format.

use super::color::{stringc, Color};
use super::pyjson::{dumps, DumpOptions};
use serde_json::Value;
use similar::{capture_diff_slices, group_diff_ops, Algorithm, DiffOp};

/// Lines of context around changes (`DIFF_CONTEXT`).
const CONTEXT: usize = 3;

/// Renders a module's `diff` return value (one dict or a list of them) the way the default
/// callback prints it; empty when there is nothing to show.
pub fn render_diff(diff: &Value, color: bool) -> String {
    let items: Vec<&Value> = match diff {
        Value::Array(list) => list.iter().collect(),
        other => vec![other],
    };
    let mut ret = String::new();
    for d in items {
        let Value::Object(d) = d else { continue };
        if d.contains_key("dst_binary") {
            ret.push_str("diff skipped: destination file appears to be binary\n");
        }
        if d.contains_key("src_binary") {
            ret.push_str("diff skipped: source file appears to be binary\n");
        }
        if let Some(n) = d.get("dst_larger") {
            ret.push_str(&format!(
                "diff skipped: destination file size is greater than {n}\n"
            ));
        }
        if let Some(n) = d.get("src_larger") {
            ret.push_str(&format!(
                "diff skipped: source file size is greater than {n}\n"
            ));
        }
        if let (Some(before), Some(after)) = (d.get("before"), d.get("after")) {
            let before = side_text(before);
            let after = side_text(after);
            let header = |key: &str, word: &str| match d.get(key) {
                Some(Value::String(h)) => format!("{word}: {h}"),
                Some(other) if !other.is_null() => {
                    format!("{word}: {}", super::pyjson::py_str(other))
                }
                _ => word.to_string(),
            };
            let lines = unified_diff(
                &lines_with_marker(&before),
                &lines_with_marker(&after),
                &header("before_header", "before"),
                &header("after_header", "after"),
            );
            let has_diff = !lines.is_empty();
            for line in lines {
                let c = if line.starts_with('+') {
                    Some(Color::Ok)
                } else if line.starts_with('-') {
                    Some(Color::Error)
                } else if line.starts_with("@@") {
                    Some(Color::Skip)
                } else {
                    None
                };
                match c {
                    Some(c) => ret.push_str(&stringc(&line, c, color)),
                    None => ret.push_str(&line),
                }
            }
            if has_diff {
                ret.push('\n');
            }
        }
        if let Some(Value::String(p)) = d.get("prepared") {
            ret.push_str(p);
        }
    }
    ret
}

/// Dicts are shown as sorted, indented JSON; `None` as nothing.
fn side_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Object(_) => {
            let mut s = dumps(
                v,
                DumpOptions {
                    indent: Some(4),
                    sort_keys: true,
                    ensure_ascii: false,
                },
            );
            s.push('\n');
            s
        }
        other => super::pyjson::py_str(other),
    }
}

/// `splitlines(True)`, with difflib's marker on a last line that lacks its newline.
fn lines_with_marker(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = text.split_inclusive('\n').map(str::to_string).collect();
    if let Some(last) = lines.last_mut() {
        if !last.ends_with('\n') {
            last.push_str("\n\\ No newline at end of file\n");
        }
    }
    lines
}

/// `difflib._format_range_unified`
fn format_range(start: usize, stop: usize) -> String {
    let mut beginning = start + 1;
    let length = stop - start;
    if length == 1 {
        return beginning.to_string();
    }
    if length == 0 {
        beginning -= 1;
    }
    format!("{beginning},{length}")
}

/// `difflib.unified_diff(a, b, fromfile, tofile, n=3)` with empty dates.
fn unified_diff(a: &[String], b: &[String], from: &str, to: &str) -> Vec<String> {
    let ops = capture_diff_slices(Algorithm::Myers, a, b);
    let mut out = Vec::new();
    for group in group_diff_ops(ops, CONTEXT) {
        let (Some(first), Some(last)) = (group.first(), group.last()) else {
            continue;
        };
        if out.is_empty() {
            out.push(format!("--- {from}\n"));
            out.push(format!("+++ {to}\n"));
        }
        let (_, a_first, b_first) = first.as_tag_tuple();
        let (_, a_last, b_last) = last.as_tag_tuple();
        out.push(format!(
            "@@ -{} +{} @@\n",
            format_range(a_first.start, a_last.end),
            format_range(b_first.start, b_last.end)
        ));
        for op in &group {
            let (_, ar, br) = op.as_tag_tuple();
            match op {
                DiffOp::Equal { .. } => out.extend(a[ar].iter().map(|l| format!(" {l}"))),
                DiffOp::Delete { .. } => out.extend(a[ar].iter().map(|l| format!("-{l}"))),
                DiffOp::Insert { .. } => out.extend(b[br].iter().map(|l| format!("+{l}"))),
                DiffOp::Replace { .. } => {
                    out.extend(a[ar].iter().map(|l| format!("-{l}")));
                    out.extend(b[br].iter().map(|l| format!("+{l}")));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn modified_file_like_difflib() {
        let d = json!({
            "before": "a\nb\nc\nd\ne\nf\ng\nh\n",
            "after": "a\nB\nc\nd\ne\nf\ng\nH\nextra",
            "before_header": "/tmp/cap/dst.txt",
            "after_header": "/tmp/cap/dst.txt",
        });
        assert_eq!(
            render_diff(&d, false),
            "--- before: /tmp/cap/dst.txt\n+++ after: /tmp/cap/dst.txt\n@@ -1,8 +1,9 @@\n a\n-b\n+B\n c\n d\n e\n f\n g\n-h\n+H\n+extra\n\\ No newline at end of file\n\n"
        );
    }

    #[test]
    fn new_file_and_range_of_one() {
        let d = json!([{"before": "", "after": "hello\n", "after_header": "/tmp/cap/new.txt"}]);
        assert_eq!(
            render_diff(&d, false),
            "--- before\n+++ after: /tmp/cap/new.txt\n@@ -0,0 +1 @@\n+hello\n\n"
        );
    }

    #[test]
    fn identical_sides_show_nothing() {
        assert_eq!(
            render_diff(&json!({"before": "x\n", "after": "x\n"}), false),
            ""
        );
    }

    #[test]
    fn colored_lines_keep_newline_inside_wrap() {
        let s = render_diff(&json!({"before": "", "after": "x\n"}), true);
        assert!(
            s.contains("\x1b[0;32m+x\x1b[0m\n\x1b[0;32m\x1b[0m"),
            "{s:?}"
        );
        assert!(s.contains("\x1b[0;36m@@ -0,0 +1 @@\x1b[0m"), "{s:?}");
    }
}
