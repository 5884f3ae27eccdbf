//! `replace`: regex substitution over a whole file (optionally between `after`/`before`),
//! computed on the controller like `lineinfile`.

use crate::modules::copy::sorted;
use crate::modules::lineinfile::{attrs_message, expand, load, save};
use crate::modules::remote_file::Attrs;
use crate::modules::util::{map, text};
use crate::modules::{ArgKind, ArgSpec, Args, Module, ModuleContext, ModuleError, ModuleResult};
use regex::bytes::Regex;
use serde_json::Value;

pub struct Replace;

const OWN_SPEC: &[ArgSpec] = &[
    ArgSpec::new("path", ArgKind::Path)
        .required()
        .aliases(&["dest", "destfile", "name"]),
    ArgSpec::new("regexp", ArgKind::Str).required(),
    ArgSpec::new("replace", ArgKind::Str),
    ArgSpec::new("after", ArgKind::Str),
    ArgSpec::new("before", ArgKind::Str),
    ArgSpec::new("backup", ArgKind::Bool),
    ArgSpec::new("validate", ArgKind::Str),
    ArgSpec::new("encoding", ArgKind::Str),
];

/// Its own arguments and the file attributes.
fn spec() -> &'static [ArgSpec] {
    static CELL: std::sync::OnceLock<Vec<ArgSpec>> = std::sync::OnceLock::new();
    crate::modules::args::joined(OWN_SPEC, &super::FILE_ATTRIBUTES, &CELL)
}

/// Python refuses a replacement template with an unknown letter escape (`\D`), as re.sub
/// does before substituting anything.
fn check_template(template: &str) -> Result<(), String> {
    let b = template.as_bytes();
    let mut i = 0;
    while i + 1 < b.len() {
        if b[i] == b'\\' {
            let n = b[i + 1];
            let known = b"abfnrtv\\".contains(&n)
                || n.is_ascii_digit()
                || (n == b'g' && b.get(i + 2) == Some(&b'<'));
            if n.is_ascii_alphabetic() && !known {
                return Err(format!("bad escape \\{} at position {i}", n as char));
            }
            i += 2;
        } else {
            i += 1;
        }
    }
    Ok(())
}

/// Substitutes `regexp` (multiline, Python-style template) in `contents`, limited to the
/// section between `after` and `before`. Returns the new text and the count, or an error
/// message when the section patterns do not match.
pub fn substitute(
    contents: &[u8],
    regexp: &str,
    replace: &str,
    after: Option<&str>,
    before: Option<&str>,
) -> Result<Result<(Vec<u8>, usize), String>, ModuleError> {
    let bad =
        |e: regex::Error| ModuleError::msg(format!("Unable to process replace due to error: {e}"));
    let pattern = match (
        after.filter(|s| !s.is_empty()),
        before.filter(|s| !s.is_empty()),
    ) {
        (Some(a), Some(b)) => format!("{a}(?P<subsection>.*?){b}"),
        (Some(a), None) => format!("{a}(?P<subsection>.*)"),
        (None, Some(b)) => format!("(?P<subsection>.*){b}"),
        (None, None) => String::new(),
    };
    let (start, end) = if pattern.is_empty() {
        (0, contents.len())
    } else {
        let re = Regex::new(&format!("(?s){pattern}")).map_err(bad)?;
        match re.captures(contents).and_then(|c| c.name("subsection")) {
            Some(m) => (m.start(), m.end()),
            None => {
                return Ok(Err(format!(
                    "Pattern for before/after params did not match the given file: {pattern}"
                )))
            }
        }
    };
    let section = &contents[start..end];
    let re = Regex::new(&format!("(?m){regexp}")).map_err(bad)?;
    check_template(replace)
        .map_err(|e| ModuleError::msg(format!("Unable to process replace due to error: {e}")))?;
    let mut count = 0;
    let replaced = re.replace_all(section, |c: &regex::bytes::Captures| {
        count += 1;
        expand(c, replace.as_bytes())
    });
    let mut out = contents[..start].to_vec();
    out.extend_from_slice(&replaced);
    out.extend_from_slice(&contents[end..]);
    Ok(Ok((out, count)))
}

impl Module for Replace {
    fn name(&self) -> &'static str {
        "replace"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        spec()
    }
    fn run(&self, args: &Args, ctx: &mut ModuleContext) -> ModuleResult {
        let path = args.str("path").unwrap_or_default().to_string();
        let file = load(ctx, &path)?;
        let Some(contents) = file.data.clone() else {
            let mut m = map([
                (
                    "msg",
                    Value::String(format!("Path {path} does not exist !")),
                ),
                ("rc", Value::from(257)),
            ]);
            m.insert("changed".into(), Value::Bool(false));
            return Err(ModuleError::Failed(sorted(m)));
        };
        let outcome = substitute(
            &contents,
            args.str("regexp").unwrap_or_default(),
            args.str("replace").unwrap_or_default(),
            args.str("after"),
            args.str("before"),
        )?;
        let (result, count) = match outcome {
            Ok(r) => r,
            Err(msg) => {
                return Ok(map([
                    ("changed", Value::Bool(false)),
                    ("msg", Value::String(msg)),
                    ("rc", Value::from(0)),
                ]))
            }
        };
        let changed = count > 0 && result != contents;
        let mut res = map([("rc", Value::from(0))]);
        if changed && ctx.diff_mode {
            res.insert(
                "diff".into(),
                Value::Object(map([
                    ("after", Value::String(text(&result))),
                    ("after_header", Value::String(path.clone())),
                    ("before", Value::String(text(&contents))),
                    ("before_header", Value::String(path.clone())),
                ])),
            );
        }
        let msg = if changed {
            format!("{count} replacements made")
        } else {
            String::new()
        };
        let attrs = Attrs::from_args(args)?;
        let saved = save(
            ctx,
            &file,
            changed.then_some(result.as_slice()),
            &attrs,
            args.bool_or("backup", false),
            args.str("validate"),
        )?;
        if let Some(b) = &saved.backup {
            res.insert("backup_file".into(), Value::String(b.clone()));
        }
        let (changed, msg) = attrs_message(changed, msg, &saved);
        res.insert("changed".into(), Value::Bool(changed));
        res.insert("msg".into(), Value::String(msg));
        Ok(sorted(res))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::util::test_support::{failed, run, run_with, Opts};
    use serde_json::json;

    fn sub(c: &str, re: &str, rep: &str, a: Option<&str>, b: Option<&str>) -> (String, usize) {
        let (v, n) = substitute(c.as_bytes(), re, rep, a, b).unwrap().unwrap();
        (String::from_utf8(v).unwrap(), n)
    }

    #[test]
    fn unknown_template_escapes_are_refused_as_python_does() {
        assert_eq!(
            super::check_template("\\D").unwrap_err(),
            "bad escape \\D at position 0"
        );
        assert!(super::check_template("\\1-\\g<2>\\n\\\\").is_ok());
    }

    #[test]
    fn substitution_rules() {
        assert_eq!(
            sub("a x\nb x\n", "x$", "y", None, None),
            ("a y\nb y\n".into(), 2)
        );
        assert_eq!(
            sub("k=1\n", "^(k)=(\\d)", "\\1: \\g<2>", None, None),
            ("k: 1\n".into(), 1)
        );
        assert_eq!(
            sub(
                "x\n[s]\nx\n[e]\nx\n",
                "x",
                "y",
                Some("\\[s\\]"),
                Some("\\[e\\]")
            ),
            ("x\n[s]\ny\n[e]\nx\n".into(), 1)
        );
        assert!(substitute(b"a", "a", "b", Some("zzz"), None)
            .unwrap()
            .is_err());
    }

    #[test]
    fn module_changes_idempotent_check_backup() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("r 'q' $(z)");
        let p = f.to_str().unwrap();
        std::fs::write(&f, "a x\nb x\n").unwrap();
        let args = json!({"path": p, "regexp": "x", "replace": "z", "backup": true});
        let r = run_with(
            &Replace,
            args.clone(),
            Opts {
                check: true,
                ..Opts::default()
            },
        )
        .unwrap();
        assert_eq!(r["changed"], json!(true));
        assert_eq!(std::fs::read_to_string(&f).unwrap(), "a x\nb x\n");
        let r = run(&Replace, args.clone()).unwrap();
        assert_eq!(r["msg"], json!("2 replacements made"));
        assert_eq!(r["rc"], json!(0));
        assert_eq!(
            std::fs::read_to_string(r["backup_file"].as_str().unwrap()).unwrap(),
            "a x\nb x\n"
        );
        assert_eq!(std::fs::read_to_string(&f).unwrap(), "a z\nb z\n");
        let r = run(&Replace, args).unwrap();
        assert_eq!(r["changed"], json!(false));
        assert_eq!(r["msg"], json!(""));
        let e = failed(run(
            &Replace,
            json!({"path": dir.path().join("no").to_str().unwrap(), "regexp": "x"}),
        ));
        assert_eq!(e["rc"], json!(257));
    }
}
