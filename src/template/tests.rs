//! Ansible's Jinja tests (`is defined`, `is version`, `is changed`, ...).
//!
//! minijinja's builtins cover `defined`, `undefined`, `none`, `string`, `number`, `mapping`,
//! `boolean`, `in`; Ansible's own tests and Jinja2's `sequence` are here.

use super::filters::{data, fail, plugin_error, python_regex_is_match, text};
use minijinja::value::{Kwargs, Rest, ValueKind, ValueOrKwargs};
use minijinja::{Environment, Error, State, Value as MjValue};
use serde_json::Value;
use std::cmp::Ordering;
use std::path::Path;

pub fn register(env: &mut Environment<'static>) {
    env.add_test("sequence", is_sequence);
    add_plugin(env, "truthy", truthy);
    add_plugin(env, "falsy", falsy);
    add_plugin(env, "match", is_match);
    add_plugin(env, "search", is_search);
    add_plugin(env, "regex", is_regex);
    add_plugin(env, "contains", contains);
    add_plugin(env, "subset", subset);
    add_plugin(env, "issubset", subset);
    add_plugin(env, "superset", superset);
    add_plugin(env, "issuperset", superset);
    add_plugin(env, "version", version);
    add_plugin(env, "version_compare", version);
    add_plugin(env, "failed", failed);
    add_plugin(env, "failure", failed);
    add_plugin(env, "succeeded", succeeded);
    add_plugin(env, "success", succeeded);
    add_plugin(env, "successful", succeeded);
    add_plugin(env, "changed", changed);
    add_plugin(env, "change", changed);
    add_plugin(env, "skipped", skipped);
    add_plugin(env, "skip", skipped);
    add_plugin(env, "unreachable", unreachable);
    add_plugin(env, "finished", finished);
    add_plugin(env, "file", is_file);
    add_plugin(env, "is_file", is_file);
    add_plugin(env, "directory", is_dir);
    add_plugin(env, "is_dir", is_dir);
    add_plugin(env, "link", is_link);
    add_plugin(env, "is_link", is_link);
    add_plugin(env, "exists", exists);
    add_plugin(env, "link_exists", link_exists);
    add_plugin(env, "abs", is_abs);
    add_plugin(env, "is_abs", is_abs);
    add_plugin(env, "same_file", same_file);
    add_plugin(env, "mount", is_mount);
    add_plugin(env, "uri", is_uri);
    add_plugin(env, "url", is_url);
    add_plugin(env, "urn", is_urn);
    add_plugin(env, "is_mount", is_mount);
    add_plugin(env, "is_same_file", same_file);
    add_plugin(env, "any", any);
    add_plugin(env, "all", all);
    add_plugin(env, "nan", is_nan);
    add_plugin(env, "isnan", is_nan);
}

/// `path is link_exists`: the path itself exists, a dangling link included.
fn link_exists(path: String) -> bool {
    std::fs::symlink_metadata(&path).is_ok()
}

/// `a is same_file(b)`: both name the same file (device and inode).
fn same_file(a: String, b: String) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(&a), std::fs::metadata(&b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => false,
    }
}

/// `path is mount`: Python's os.path.ismount (another device than its parent, or `/`).
fn is_mount(path: String) -> bool {
    use std::os::unix::fs::MetadataExt;
    let p = Path::new(&path);
    let Ok(me) = std::fs::symlink_metadata(p) else {
        return false;
    };
    if me.file_type().is_symlink() {
        return false;
    }
    match std::fs::metadata(p.join("..")) {
        Ok(parent) => me.dev() != parent.dev() || me.ino() == parent.ino(),
        Err(_) => false,
    }
}

/// `x is uri([schemes])`: as Ansible's test, anything urlparse accepts (junk included: an
/// empty scheme and a path), limited to `schemes` when given.
fn is_uri(value: String, schemes: Option<Vec<String>>) -> bool {
    match super::urlsplit::split(&value) {
        Ok(parts) => {
            let scheme = parts["scheme"].as_str().unwrap_or_default();
            schemes.is_none_or(|s| s.iter().any(|x| x == scheme))
        }
        Err(_) => false,
    }
}

/// `x is url([schemes])`: a uri with a host part (or a `file:` one).
fn is_url(value: String, schemes: Option<Vec<String>>) -> bool {
    is_uri(value.clone(), schemes)
        && super::urlsplit::split(&value).is_ok_and(|p| {
            p["netloc"].as_str().is_some_and(|n| !n.is_empty()) || p["scheme"] == "file"
        })
}

/// `x is urn`: a uri with the `urn` scheme.
fn is_urn(value: String) -> bool {
    is_uri(value, Some(vec!["urn".into()]))
}

/// `x is nan`: a float that is NaN (anything else, a string included, is not).
fn is_nan(v: MjValue) -> bool {
    v.kind() == ValueKind::Number && f64::try_from(v).is_ok_and(f64::is_nan)
}

/// Registers one of Ansible's own tests, its errors named as Ansible names them.
fn add_plugin<F, Rv, Args>(env: &mut Environment<'static>, name: &'static str, f: F)
where
    F: minijinja::functions::Function<Rv, Args>,
    Rv: minijinja::value::FunctionResult,
    Args: for<'a> minijinja::value::FunctionArgs<'a>,
{
    let inner = MjValue::from_function(f);
    // Also under the fully qualified name (`ansible.builtin.version`).
    for n in [name.to_string(), format!("ansible.builtin.{name}")] {
        let inner = inner.clone();
        env.add_test(
            n,
            move |state: &mut State, args: Rest<ValueOrKwargs>| -> Result<bool, Error> {
                inner
                    .call(state, &args.into_values())
                    .map(|v| v.is_true())
                    .map_err(|e| plugin_error("test", name, e))
            },
        );
    }
}

/// Jinja2's `sequence`: anything with a length and indexing (strings and dicts too).
fn is_sequence(v: &MjValue) -> bool {
    matches!(
        v.kind(),
        ValueKind::Seq | ValueKind::String | ValueKind::Map | ValueKind::Iterable
    )
}

fn truthy(v: &MjValue, kwargs: Kwargs) -> Result<bool, Error> {
    let convert = kwargs.get::<Option<bool>>("convert_bool")?.unwrap_or(false);
    kwargs.assert_all_used()?;
    if v.is_undefined() {
        return Err(Error::from(minijinja::ErrorKind::UndefinedError));
    }
    if convert {
        if let Some(s) = v.as_str() {
            let l = s.to_lowercase();
            if ["yes", "on", "true", "1", "no", "off", "false", "0"].contains(&l.as_str()) {
                return Ok(matches!(l.as_str(), "yes" | "on" | "true" | "1"));
            }
        }
    }
    Ok(v.is_true())
}

fn falsy(v: &MjValue, kwargs: Kwargs) -> Result<bool, Error> {
    truthy(v, kwargs).map(|t| !t)
}

fn regex_test(v: &MjValue, pattern: &str, kwargs: Kwargs, anchored: bool) -> Result<bool, Error> {
    let ignorecase = kwargs.get::<Option<bool>>("ignorecase")?.unwrap_or(false);
    let multiline = kwargs.get::<Option<bool>>("multiline")?.unwrap_or(false);
    let anchored = match kwargs.get::<Option<String>>("match_type")?.as_deref() {
        None => anchored,
        Some("match") => true,
        Some("search") => false,
        Some(other) => return Err(fail(format!("Invalid match_type '{other}'"))),
    };
    kwargs.assert_all_used()?;
    let s = text(v)?;
    // Python's re.match only matches at the very start of the text.
    let pattern = if anchored {
        format!("\\A(?:{pattern})")
    } else {
        pattern.to_string()
    };
    python_regex_is_match(&pattern, ignorecase, multiline, &s)
}

fn is_match(v: &MjValue, pattern: String, kwargs: Kwargs) -> Result<bool, Error> {
    regex_test(v, &pattern, kwargs, true)
}

fn is_search(v: &MjValue, pattern: String, kwargs: Kwargs) -> Result<bool, Error> {
    regex_test(v, &pattern, kwargs, false)
}

fn is_regex(v: &MjValue, pattern: String, kwargs: Kwargs) -> Result<bool, Error> {
    regex_test(v, &pattern, kwargs, false)
}

fn items(v: &MjValue) -> Result<Vec<Value>, Error> {
    Ok(match data(v)? {
        Value::Array(a) => a,
        Value::Object(m) => m.keys().map(|k| Value::String(k.clone())).collect(),
        Value::String(s) => s.chars().map(|c| Value::String(c.to_string())).collect(),
        other => vec![other],
    })
}

fn contains(seq: &MjValue, item: &MjValue) -> Result<bool, Error> {
    // Python's `in`: a substring test on strings, membership on lists.
    if let (Some(hay), Some(needle)) = (seq.as_str(), item.as_str()) {
        return Ok(hay.contains(needle));
    }
    let needle = data(item)?;
    Ok(items(seq)?.contains(&needle))
}

fn subset(a: &MjValue, b: &MjValue) -> Result<bool, Error> {
    let b = items(b)?;
    Ok(items(a)?.iter().all(|x| b.contains(x)))
}

fn superset(a: &MjValue, b: &MjValue) -> Result<bool, Error> {
    subset(b, a)
}

/// A component of a `LooseVersion`: numbers compare as numbers, words as text.
#[derive(Debug, Clone, PartialEq)]
enum Part {
    Num(u64),
    Word(String),
}

/// Python's `distutils.version.LooseVersion` split: digits, letters, and whatever lies
/// between (the dots are dropped).
fn loose_parts(v: &str) -> Vec<Part> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut kind = 0u8; // 1 digits, 2 lowercase letters, 3 other
    let flush = |cur: &mut String, kind: u8, parts: &mut Vec<Part>| {
        if !cur.is_empty() && cur != "." {
            parts.push(match (kind, cur.parse::<u64>()) {
                (1, Ok(n)) => Part::Num(n),
                _ => Part::Word(cur.clone()),
            });
        }
        cur.clear();
    };
    for c in v.chars() {
        let k = if c.is_ascii_digit() {
            1
        } else if c.is_ascii_lowercase() {
            2
        } else if c == '.' {
            4
        } else {
            3
        };
        if k != kind || k == 4 {
            flush(&mut cur, kind, &mut parts);
            kind = k;
        }
        cur.push(c);
    }
    flush(&mut cur, kind, &mut parts);
    parts
}

fn loose_cmp(a: &str, b: &str) -> Result<Ordering, String> {
    let (pa, pb) = (loose_parts(a), loose_parts(b));
    for (x, y) in pa.iter().zip(pb.iter()) {
        let o = match (x, y) {
            (Part::Num(x), Part::Num(y)) => x.cmp(y),
            (Part::Word(x), Part::Word(y)) => x.cmp(y),
            (Part::Num(_), Part::Word(_)) => {
                return Err("'<' not supported between instances of 'int' and 'str'".into())
            }
            (Part::Word(_), Part::Num(_)) => {
                return Err("'<' not supported between instances of 'str' and 'int'".into())
            }
        };
        if o != Ordering::Equal {
            return Ok(o);
        }
    }
    Ok(pa.len().cmp(&pb.len()))
}

/// `StrictVersion`: `N.N[.N][(a|b)N]`; a pre-release sorts before its release.
fn strict_key(v: &str) -> Result<(u64, u64, u64, (u8, u64)), String> {
    let re = regex::Regex::new(r"^(\d+)\.(\d+)(?:\.(\d+))?(?:([ab])(\d+))?$")
        .map_err(|e| e.to_string())?;
    let c = re
        .captures(v)
        .ok_or_else(|| format!("invalid version number '{v}'"))?;
    let n = |i: usize| c.get(i).and_then(|m| m.as_str().parse().ok()).unwrap_or(0);
    let pre = match c.get(4).map(|m| m.as_str()) {
        Some("a") => (0, n(5)),
        Some(_) => (1, n(5)),
        None => (2, 0),
    };
    Ok((n(1), n(2), n(3), pre))
}

fn semver_cmp(a: &str, b: &str) -> Result<Ordering, String> {
    let re =
        regex::Regex::new(r"^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$")
            .map_err(|e| e.to_string())?;
    type Parsed = ((u64, u64, u64), Option<String>);
    let parse = |v: &str| -> Result<Parsed, String> {
        let c = re
            .captures(v)
            .ok_or_else(|| format!("invalid semantic version '{v}'"))?;
        let n = |i: usize| c.get(i).and_then(|m| m.as_str().parse().ok()).unwrap_or(0);
        Ok(((n(1), n(2), n(3)), c.get(4).map(|m| m.as_str().to_string())))
    };
    let (ka, pa) = parse(a)?;
    let (kb, pb) = parse(b)?;
    Ok(ka.cmp(&kb).then_with(|| match (pa, pb) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(x), Some(y)) => {
            let xs: Vec<&str> = x.split('.').collect();
            let ys: Vec<&str> = y.split('.').collect();
            for (p, q) in xs.iter().zip(ys.iter()) {
                let o = match (p.parse::<u64>(), q.parse::<u64>()) {
                    (Ok(p), Ok(q)) => p.cmp(&q),
                    (Ok(_), Err(_)) => Ordering::Less,
                    (Err(_), Ok(_)) => Ordering::Greater,
                    (Err(_), Err(_)) => p.cmp(q),
                };
                if o != Ordering::Equal {
                    return o;
                }
            }
            xs.len().cmp(&ys.len())
        }
    }))
}

/// Compares two versions like Ansible's `version` test.
pub fn compare_versions(a: &str, b: &str, version_type: &str) -> Result<Ordering, String> {
    match version_type {
        "loose" => loose_cmp(a, b),
        "strict" => Ok(strict_key(a)?.cmp(&strict_key(b)?)),
        "semver" | "semantic" => semver_cmp(a, b),
        other => Err(format!(
            "Invalid version type ({other}). Must be one of loose, strict, semver, semantic"
        )),
    }
}

fn version(
    value: &MjValue,
    other: &MjValue,
    operator: Option<String>,
    kwargs: Kwargs,
) -> Result<bool, Error> {
    let op = match operator {
        Some(o) => o,
        None => kwargs
            .get::<Option<String>>("operator")?
            .unwrap_or_else(|| "eq".into()),
    };
    let strict = kwargs.get::<Option<bool>>("strict")?.unwrap_or(false);
    let vtype = kwargs.get::<Option<String>>("version_type")?;
    kwargs.assert_all_used()?;
    let vtype = vtype.unwrap_or_else(|| if strict { "strict" } else { "loose" }.into());
    let (a, b) = (text(value)?, text(other)?);
    if a.is_empty() {
        return Err(fail("Input version value cannot be empty"));
    }
    if b.is_empty() {
        return Err(fail("Version parameter to compare against cannot be empty"));
    }
    let ord = compare_versions(&a, &b, &vtype)
        .map_err(|e| fail(format!("Version comparison failed: {e}")))?;
    Ok(match op.as_str() {
        "<" | "lt" => ord == Ordering::Less,
        "<=" | "le" => ord != Ordering::Greater,
        ">" | "gt" => ord == Ordering::Greater,
        ">=" | "ge" => ord != Ordering::Less,
        "==" | "=" | "eq" => ord == Ordering::Equal,
        "!=" | "<>" | "ne" => ord != Ordering::Equal,
        other => return Err(fail(format!("Invalid operator type ({other})"))),
    })
}

fn result_dict(v: &MjValue, test: &str) -> Result<serde_json::Map<String, Value>, Error> {
    match data(v)? {
        Value::Object(m) => Ok(m),
        _ => Err(fail(format!("The '{test}' test expects a dictionary"))),
    }
}

fn json_truthy(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64() != Some(0.0),
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(m)) => !m.is_empty(),
    }
}

fn failed(v: &MjValue) -> Result<bool, Error> {
    Ok(json_truthy(result_dict(v, "failed")?.get("failed")))
}

fn succeeded(v: &MjValue) -> Result<bool, Error> {
    Ok(!json_truthy(result_dict(v, "succeeded")?.get("failed")))
}

fn changed(v: &MjValue) -> Result<bool, Error> {
    let r = result_dict(v, "changed")?;
    if r.contains_key("changed") {
        return Ok(json_truthy(r.get("changed")));
    }
    // A looped result is changed when any item is.
    Ok(match r.get("results") {
        Some(Value::Array(items)) => items.iter().any(|i| json_truthy(i.get("changed"))),
        _ => false,
    })
}

fn skipped(v: &MjValue) -> Result<bool, Error> {
    Ok(json_truthy(result_dict(v, "skipped")?.get("skipped")))
}

fn unreachable(v: &MjValue) -> Result<bool, Error> {
    Ok(json_truthy(
        result_dict(v, "unreachable")?.get("unreachable"),
    ))
}

fn finished(v: &MjValue) -> Result<bool, Error> {
    let r = result_dict(v, "finished")?;
    Ok(r.get("finished").is_none_or(|f| json_truthy(Some(f))))
}

fn path_of(v: &MjValue) -> Result<String, Error> {
    Ok(super::filters::expand_user(&text(v)?))
}

fn is_file(v: &MjValue) -> Result<bool, Error> {
    Ok(Path::new(&path_of(v)?).is_file())
}

fn is_dir(v: &MjValue) -> Result<bool, Error> {
    Ok(Path::new(&path_of(v)?).is_dir())
}

fn is_link(v: &MjValue) -> Result<bool, Error> {
    Ok(Path::new(&path_of(v)?).is_symlink())
}

fn exists(v: &MjValue) -> Result<bool, Error> {
    Ok(Path::new(&path_of(v)?).exists())
}

fn is_abs(v: &MjValue) -> Result<bool, Error> {
    Ok(text(v)?.starts_with('/'))
}

fn any(v: &MjValue) -> Result<bool, Error> {
    Ok(items(v)?.iter().any(|i| json_truthy(Some(i))))
}

fn all(v: &MjValue) -> Result<bool, Error> {
    Ok(items(v)?.iter().all(|i| json_truthy(Some(i))))
}

#[cfg(test)]
mod unit {
    use super::*;
    use crate::template::templar;
    use serde_json::json;

    fn ctx() -> MjValue {
        crate::template::mj_value(json!({
            "ok": {"changed": false, "failed": false},
            "bad": {"failed": true, "changed": false},
            "chg": {"changed": true},
            "skip": {"skipped": true, "changed": false},
            "loop": {"results": [{"changed": false}, {"changed": true}]},
            "s": "hello world",
            "n": 3,
            "l": [1, 2, 3],
            "m": {"a": 1},
            "nothing": null,
        }))
    }

    fn t(expr: &str) -> bool {
        templar().eval_condition(&json!(expr), &ctx()).unwrap()
    }

    #[test]
    fn type_tests() {
        assert!(t("s is defined"));
        assert!(t("nope is undefined"));
        assert!(!t("nope is defined"));
        assert!(t("nothing is none"));
        assert!(t("s is string"));
        assert!(t("n is number"));
        assert!(t("m is mapping"));
        assert!(t("l is sequence"));
        assert!(t("s is sequence"));
        assert!(!t("n is sequence"));
        assert!(t("true is boolean"));
        assert!(t("'x' is truthy"));
        assert!(t("'' is falsy"));
        assert!(t("'no' is falsy(convert_bool=True)"));
        assert!(t("2 in l"));
    }

    #[test]
    fn regex_tests() {
        assert!(t("s is match('hel')"));
        assert!(!t("s is match('world')"));
        assert!(t("s is search('world')"));
        assert!(t("s is regex('W', ignorecase=True)"));
        assert!(!t("s is regex('^world', match_type='match')"));
        assert!(t("['ab', 'cd'] | select('match', 'c') | list == ['cd']"));
    }

    #[test]
    fn collection_tests() {
        assert!(t("l is contains(2)"));
        assert!(!t("l is contains(5)"));
        assert!(t("[1, 2] is subset(l)"));
        assert!(t("l is superset([3])"));
        assert!(!t("[4] is subset(l)"));
        assert!(t("[true, 1] is all"));
        assert!(t("[0, 1] is any"));
    }

    #[test]
    fn result_tests() {
        assert!(t("ok is succeeded"));
        assert!(t("ok is success"));
        assert!(!t("ok is failed"));
        assert!(t("bad is failed"));
        assert!(!t("bad is succeeded"));
        assert!(t("chg is changed"));
        assert!(!t("ok is changed"));
        assert!(t("loop is changed"));
        assert!(t("skip is skipped"));
        assert!(!t("ok is skipped"));
        let err = templar()
            .eval_condition(&json!("s is failed"), &ctx())
            .unwrap_err();
        assert!(
            err.message.contains("expects a dictionary"),
            "{}",
            err.message
        );
    }

    #[test]
    fn version_tests_match_ansible() {
        // Outcomes checked with ansible-core 2.19.
        assert!(t("'1.2.3' is version('1.10', '<')"));
        assert!(t("'1.2a' is version('1.2', '>')"));
        assert!(!t("'2.0' is version('2', '==')"));
        assert!(!t("'1.0.0-rc1' is version('1.0.0', 'lt')"));
        for op in ["<", "lt", "<=", "le", "!=", "<>", "ne"] {
            assert!(t(&format!("'1.9' is version('1.10', '{op}')")), "{op}");
        }
        for op in [">", "gt", ">=", "ge", "==", "=", "eq"] {
            assert!(!t(&format!("'1.9' is version('1.10', '{op}')")), "{op}");
        }
        assert!(t("'2.0' is version('2.0', 'eq')"));
        assert!(t("'2.0' is ansible.builtin.version('2.0', 'eq')"));
        let err = templar()
            .eval_condition(&json!("'abc' is version('1.0', '>')"), &ctx())
            .unwrap_err();
        assert_eq!(
            err.message,
            "The test plugin 'ansible.builtin.version' failed: Version comparison failed: '<' not supported between instances of 'str' and 'int'"
        );
        assert!(t("'2.0' is version_compare('1.5', '>=')"));
        assert!(t("'1.0a1' is version('1.0', '<', strict=True)"));
        assert!(t(
            "'1.0.0-alpha' is version('1.0.0', '<', version_type='semver')"
        ));
        assert!(t(
            "'1.0.0-alpha.2' is version('1.0.0-alpha.10', '<', version_type='semver')"
        ));
        assert!(templar()
            .eval_condition(&json!("'1.0' is version('1.0', 'bogus')"), &ctx())
            .is_err());
        assert!(templar()
            .eval_condition(&json!("'1.a' is version('1.0', '<')"), &ctx())
            .is_err());
    }

    #[test]
    fn path_tests() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f");
        std::fs::write(&f, "x").unwrap();
        let l = dir.path().join("l");
        std::os::unix::fs::symlink(&f, &l).unwrap();
        let ctx = crate::template::mj_value(json!({
            "d": dir.path(), "f": f, "l": l, "missing": dir.path().join("nope")
        }));
        let t = |e: &str| templar().eval_condition(&json!(e), &ctx).unwrap();
        assert!(t("d is directory"));
        assert!(!t("f is directory"));
        assert!(t("f is file"));
        assert!(t("l is link"));
        assert!(!t("f is link"));
        assert!(t("f is exists"));
        assert!(!t("missing is exists"));
        assert!(t("f is abs"));
        assert!(!t("'rel/x' is abs"));
    }
}
