//! Ansible's filters (the ones real playbooks use), added to the minijinja environment.
//!
//! minijinja's builtins already match Jinja2 for `int`, `float`, `unique`, `min`, `max`,
//! `sum`, `split`, `join`, `map`, `selectattr`, `length`, `list`, `zip`; the rest are here,
//! written to give the same output as ansible-core 2.19.

use super::pyfmt::{self, JsonOptions};
use super::yaml_dump;
use base64::Engine as _;
use minijinja::value::{Kwargs, Rest, ValueOrKwargs};
use minijinja::{Environment, Error, ErrorKind, State, Value as MjValue};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::{Map, Value};
use std::hash::{Hash, Hasher};

pub fn register(env: &mut Environment<'static>) {
    env.add_filter("default", default);
    env.add_filter("d", default);
    add_plugin(env, "mandatory", mandatory);
    add_plugin(env, "bool", to_bool);
    env.add_filter("string", string);
    env.add_filter("float", to_float);
    env.add_filter("int", to_int);
    env.add_filter("truncate", truncate);
    env.add_filter("center", center);
    env.add_filter("wordcount", wordcount);
    add_plugin(env, "urldecode", urldecode);
    add_plugin(env, "urlencode", urlencode);
    add_plugin(env, "to_json", to_json);
    add_plugin(env, "to_nice_json", to_nice_json);
    add_plugin(env, "from_json", from_json);
    add_plugin(env, "to_yaml", to_yaml);
    add_plugin(env, "to_nice_yaml", to_nice_yaml);
    add_plugin(env, "from_yaml", from_yaml);
    add_plugin(env, "regex_replace", regex_replace);
    add_plugin(env, "regex_search", regex_search);
    add_plugin(env, "regex_findall", regex_findall);
    add_plugin(env, "regex_escape", regex_escape);
    add_plugin(env, "b64encode", b64encode);
    add_plugin(env, "b64decode", b64decode);
    add_plugin(env, "basename", basename);
    add_plugin(env, "dirname", dirname);
    add_plugin(env, "expanduser", expanduser);
    add_plugin(env, "splitext", splitext);
    add_plugin(env, "realpath", realpath);
    add_plugin(env, "path_join", path_join);
    add_plugin(env, "combine", combine);
    add_plugin(env, "dict2items", dict2items);
    add_plugin(env, "items2dict", items2dict);
    add_plugin(env, "union", union);
    add_plugin(env, "intersect", intersect);
    add_plugin(env, "difference", difference);
    add_plugin(env, "symmetric_difference", symmetric_difference);
    add_plugin(env, "flatten", flatten);
    add_plugin(env, "zip_longest", zip_longest);
    add_plugin(env, "product", product);
    add_plugin(env, "ternary", ternary);
    add_plugin(env, "quote", quote);
    add_plugin(env, "hash", hash);
    add_plugin(env, "checksum", checksum);
    add_plugin(env, "sha1", checksum);
    add_plugin(env, "md5", md5);
    add_plugin(env, "random", random);
    add_plugin(env, "shuffle", shuffle);
    add_plugin(env, "human_readable", human_readable);
    add_plugin(env, "human_to_bytes", human_to_bytes);
    add_plugin(env, "type_debug", type_debug);
    env.add_filter("dict", to_dict);
    add_plugin(env, "extract", extract);
    add_plugin(env, "pow", pow);
    add_plugin(env, "log", log);
    add_plugin(env, "root", root);
}

/// Registers one of Ansible's own filters: its errors read as Ansible's do,
/// `The filter plugin 'ansible.builtin.NAME' failed: ...`.
fn add_plugin<F, Rv, Args>(env: &mut Environment<'static>, name: &'static str, f: F)
where
    F: minijinja::functions::Function<Rv, Args>,
    Rv: minijinja::value::FunctionResult,
    Args: for<'a> minijinja::value::FunctionArgs<'a>,
{
    let inner = MjValue::from_function(f);
    // Also under the fully qualified name (`ansible.builtin.to_json`).
    for n in [name.to_string(), format!("ansible.builtin.{name}")] {
        let inner = inner.clone();
        env.add_filter(
            n,
            move |state: &mut State, args: Rest<ValueOrKwargs>| -> Result<MjValue, Error> {
                inner
                    .call(state, &args.into_values())
                    .map_err(|e| plugin_error("filter", name, e))
            },
        );
    }
}

/// Wraps a plugin's error with the plugin's name; undefined values pass through so
/// that the message can name the variable.
pub(crate) fn plugin_error(kind: &str, name: &str, e: Error) -> Error {
    if e.kind() == ErrorKind::UndefinedError {
        return e;
    }
    fail(format!(
        "The {kind} plugin 'ansible.builtin.{name}' failed: {}",
        super::describe_error(&e)
    ))
}

/// An error raised by a filter, with the filter's name in it as Ansible reports it.
pub(crate) fn fail(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

/// Plain data from a template value; undefined is an error.
pub(crate) fn data(v: &MjValue) -> Result<Value, Error> {
    if v.is_undefined() {
        return Err(Error::from(ErrorKind::UndefinedError));
    }
    serde_json::to_value(v).map_err(|e| fail(format!("cannot convert value: {e}")))
}

pub(crate) fn mj(v: Value) -> MjValue {
    crate::template::mj_value(&v)
}

/// Python's `str()` of a value, as Ansible's `to_text` gives for non-strings.
pub(crate) fn text(v: &MjValue) -> Result<String, Error> {
    match v.as_str() {
        Some(s) => Ok(s.to_string()),
        None => Ok(pyfmt::to_str(&data(v)?)),
    }
}

/// Splits trailing keyword arguments off a `Rest` (which would otherwise swallow them).
pub(crate) fn split_kwargs(rest: Rest<ValueOrKwargs>) -> Result<(Vec<MjValue>, Kwargs), Error> {
    let mut args = rest.into_values();
    match args.last() {
        Some(last) if last.is_kwargs() => {
            let kwargs = Kwargs::try_from(args.pop().unwrap_or_default())?;
            Ok((args, kwargs))
        }
        _ => Ok((
            args,
            Kwargs::from_iter(std::iter::empty::<(String, MjValue)>()),
        )),
    }
}

fn list_of(v: &MjValue, what: &str) -> Result<Vec<Value>, Error> {
    match data(v)? {
        Value::Array(a) => Ok(a),
        Value::Object(m) => Ok(m.keys().map(|k| Value::String(k.clone())).collect()),
        Value::String(s) => Ok(s.chars().map(|c| Value::String(c.to_string())).collect()),
        other => Err(fail(format!(
            "{what} expects a list, got {}",
            type_name(&other)
        ))),
    }
}

/// Python's type names, as `type_debug` prints them.
pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

fn default(value: &MjValue, args: Rest<ValueOrKwargs>) -> Result<MjValue, Error> {
    let (args, kwargs) = split_kwargs(args)?;
    let other = args.first().cloned().unwrap_or_else(|| MjValue::from(""));
    let lax = match args.get(1) {
        Some(b) => b.is_true(),
        None => kwargs.get::<Option<bool>>("boolean")?.unwrap_or(false),
    };
    kwargs.assert_all_used()?;
    if value.is_undefined() || (lax && !value.is_true()) {
        Ok(other)
    } else {
        Ok(value.clone())
    }
}

/// The detail `mandatory` fails with; the templar puts the variable's name in.
pub const MANDATORY_MSG: &str = "Mandatory variable not defined.";

fn mandatory(value: &MjValue, msg: Option<String>) -> Result<MjValue, Error> {
    if value.is_undefined() {
        return Err(fail(msg.unwrap_or_else(|| MANDATORY_MSG.to_string())));
    }
    Ok(value.clone())
}

/// Ansible's `bool`: 'yes', 'on', 'true', '1' (any case) and 1 are true.
pub fn bool_of(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::String(s) => matches!(s.to_lowercase().as_str(), "yes" | "on" | "true" | "1"),
        Value::Number(n) => n.as_f64() == Some(1.0),
        _ => false,
    }
}

fn to_bool(value: &MjValue) -> Result<bool, Error> {
    Ok(bool_of(&data(value)?))
}

/// Jinja's `int`: `int(s, base)`, else `int(float(s))`, else the default (0).
fn to_int(value: &MjValue, default: Option<MjValue>, kwargs: Kwargs) -> Result<MjValue, Error> {
    let default = match default {
        Some(d) => d,
        None => kwargs
            .get::<Option<MjValue>>("default")?
            .unwrap_or(MjValue::from(0)),
    };
    let base = kwargs.get::<Option<u32>>("base")?.unwrap_or(10);
    kwargs.assert_all_used()?;
    Ok(match data(value)? {
        Value::Number(n) => match n.as_i64() {
            Some(i) => MjValue::from(i),
            None => MjValue::from(n.as_f64().unwrap_or(0.0).trunc() as i64),
        },
        Value::Bool(b) => MjValue::from(i64::from(b)),
        Value::String(s) => {
            let t = s.trim().replace('_', "");
            let (neg, digits) = match t.strip_prefix('-') {
                Some(r) => (true, r.to_string()),
                None => (false, t.trim_start_matches('+').to_string()),
            };
            let lower = digits.to_lowercase();
            let digits = match base {
                16 => lower.strip_prefix("0x").unwrap_or(&lower),
                8 => lower.strip_prefix("0o").unwrap_or(&lower),
                2 => lower.strip_prefix("0b").unwrap_or(&lower),
                _ => &lower,
            };
            match i64::from_str_radix(digits, base) {
                Ok(i) => MjValue::from(if neg { -i } else { i }),
                Err(_) => match t.parse::<f64>() {
                    Ok(f) if f.is_finite() => MjValue::from(f.trunc() as i64),
                    _ => default,
                },
            }
        }
        _ => default,
    })
}

/// Jinja's `truncate(length=255, killwords=False, end='...', leeway=5)`.
fn truncate(
    value: &MjValue,
    length: Option<usize>,
    killwords: Option<bool>,
    end: Option<String>,
    leeway: Option<usize>,
) -> Result<String, Error> {
    let s = text(value)?;
    let length = length.unwrap_or(255);
    let end = end.unwrap_or_else(|| "...".into());
    let chars: Vec<char> = s.chars().collect();
    if chars.len() <= length + leeway.unwrap_or(5) {
        return Ok(s);
    }
    let cut: String = chars[..length.saturating_sub(end.chars().count())]
        .iter()
        .collect();
    if killwords.unwrap_or(false) {
        return Ok(cut + &end);
    }
    let kept = cut.rsplit_once(' ').map_or(cut.as_str(), |(head, _)| head);
    Ok(format!("{kept}{end}"))
}

/// Python's `str.center`.
fn center(value: &MjValue, width: Option<usize>) -> Result<String, Error> {
    let s = text(value)?;
    let width = width.unwrap_or(80);
    let len = s.chars().count();
    if width <= len {
        return Ok(s);
    }
    let pad = width - len;
    super::limits::check_len("center", s.len() + pad)?;
    let left = pad / 2 + (pad & width & 1);
    Ok(format!("{}{s}{}", " ".repeat(left), " ".repeat(pad - left)))
}

fn wordcount(value: &MjValue) -> Result<usize, Error> {
    let s = text(value)?;
    Ok(s.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .count())
}

/// Python's `urllib.parse.unquote_plus`.
/// Jinja2's `urlencode`: a string is percent-quoted (`/` kept); a mapping or a sequence of
/// pairs becomes a query string (`k=v&...`, spaces as `+`); an empty sequence is ``.
fn urlencode(value: &MjValue) -> Result<String, Error> {
    fn quote(s: &str, for_qs: bool) -> String {
        let mut out = String::new();
        for b in s.bytes() {
            match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => {
                    out.push(b as char)
                }
                b'/' if !for_qs => out.push('/'),
                b' ' if for_qs => out.push('+'),
                _ => out.push_str(&format!("%{b:02X}")),
            }
        }
        out
    }
    let pair = |k: &MjValue, v: &MjValue| {
        format!(
            "{}={}",
            quote(&k.to_string(), true),
            quote(&v.to_string(), true)
        )
    };
    match value.kind() {
        minijinja::value::ValueKind::Map => {
            let mut parts = Vec::new();
            for k in value.try_iter()? {
                let v = value.get_item(&k)?;
                parts.push(pair(&k, &v));
            }
            Ok(parts.join("&"))
        }
        minijinja::value::ValueKind::Seq | minijinja::value::ValueKind::Iterable => {
            let mut parts = Vec::new();
            for item in value.try_iter()? {
                let (k, v) = (item.get_item_by_index(0)?, item.get_item_by_index(1)?);
                parts.push(pair(&k, &v));
            }
            Ok(parts.join("&"))
        }
        _ => Ok(quote(&text(value)?, false)),
    }
}

fn urldecode(value: &MjValue) -> Result<String, Error> {
    let s = text(value)?;
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = |c: u8| (c as char).to_digit(16);
                match (hex(b[i + 1]), hex(b[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// Jinja's `float`: numbers and numeric strings convert, anything else gives the default.
fn to_float(value: &MjValue, default: Option<f64>) -> Result<f64, Error> {
    let fallback = default.unwrap_or(0.0);
    Ok(match data(value)? {
        Value::Number(n) => n.as_f64().unwrap_or(fallback),
        Value::Bool(b) => f64::from(u8::from(b)),
        Value::String(s) => s.trim().parse::<f64>().unwrap_or(fallback),
        _ => fallback,
    })
}

fn string(value: &MjValue) -> Result<String, Error> {
    text(value)
}

fn json_opts(kwargs: &Kwargs, mut opts: JsonOptions) -> Result<JsonOptions, Error> {
    if let Some(i) = kwargs.get::<Option<usize>>("indent")? {
        opts.indent = Some(super::limits::check_indent("to_json", i)?);
    }
    if let Some(s) = kwargs.get::<Option<bool>>("sort_keys")? {
        opts.sort_keys = s;
    }
    if let Some(a) = kwargs.get::<Option<bool>>("ensure_ascii")? {
        opts.ensure_ascii = a;
    }
    // Other json.dumps options (separators, vault_to_text...) are accepted and ignored.
    let _ = kwargs.get::<Option<MjValue>>("separators")?;
    Ok(opts)
}

fn to_json(value: &MjValue, kwargs: Kwargs) -> Result<String, Error> {
    let opts = json_opts(&kwargs, JsonOptions::default())?;
    Ok(pyfmt::json_dumps(&data(value)?, opts))
}

fn to_nice_json(value: &MjValue, kwargs: Kwargs) -> Result<String, Error> {
    let opts = json_opts(
        &kwargs,
        JsonOptions {
            indent: Some(4),
            sort_keys: true,
            ensure_ascii: true,
        },
    )?;
    Ok(pyfmt::json_dumps(&data(value)?, opts))
}

/// `from_json(profile=...)`: 2.19's serialization profiles only change how tagged values
/// decode; there are no tags here, so any profile reads plain JSON.
fn from_json(value: &MjValue, kwargs: Kwargs) -> Result<MjValue, Error> {
    let _profile: Option<String> = kwargs.get("profile")?;
    kwargs.assert_all_used()?;
    let s = text(value)?;
    let v: Value = serde_json::from_str(&s).map_err(|e| fail(format!("from_json: {e}")))?;
    Ok(mj(v))
}

fn to_yaml(value: &MjValue, kwargs: Kwargs) -> Result<String, Error> {
    let indent = super::limits::check_indent(
        "to_yaml",
        kwargs.get::<Option<usize>>("indent")?.unwrap_or(2),
    )?;
    Ok(yaml_dump::to_yaml(&data(value)?, indent))
}

fn to_nice_yaml(value: &MjValue, kwargs: Kwargs) -> Result<String, Error> {
    let indent = super::limits::check_indent(
        "to_nice_yaml",
        kwargs.get::<Option<usize>>("indent")?.unwrap_or(4),
    )?;
    Ok(yaml_dump::to_nice_yaml(&data(value)?, indent))
}

fn from_yaml(value: &MjValue) -> Result<MjValue, Error> {
    // Ansible passes non-strings through untouched.
    let Some(s) = value.as_str() else {
        return Ok(value.clone());
    };
    let node = crate::yaml::load_str(s, "<from_yaml>").map_err(|e| fail(e.message))?;
    Ok(mj(node.to_json()))
}

/// Compiles a Python regular expression (`(?P<n>...)`, `\Z`) with Ansible's flag kwargs.
pub(crate) fn python_regex(
    pattern: &str,
    ignorecase: bool,
    multiline: bool,
) -> Result<regex::Regex, Error> {
    let translated = pattern.replace("\\Z", "\\z");
    regex::RegexBuilder::new(&translated)
        .case_insensitive(ignorecase)
        .multi_line(multiline)
        .build()
        .map_err(|e| fail(format!("invalid regular expression '{pattern}': {e}")))
}

/// Whether `pattern` (Python `re` syntax) matches somewhere in `s`. Patterns the regex
/// crate refuses (look-around, backreferences) go to fancy-regex, which has them.
pub(crate) fn python_regex_is_match(
    pattern: &str,
    ignorecase: bool,
    multiline: bool,
    s: &str,
) -> Result<bool, Error> {
    let fast_err = match python_regex(pattern, ignorecase, multiline) {
        Ok(re) => return Ok(re.is_match(s)),
        Err(e) => e,
    };
    let mut flags = String::new();
    if ignorecase {
        flags.push('i');
    }
    if multiline {
        flags.push('m');
    }
    let translated = pattern.replace("\\Z", "\\z");
    let source = if flags.is_empty() {
        translated
    } else {
        format!("(?{flags}){translated}")
    };
    let re = fancy_regex::Regex::new(&source).map_err(|_| fast_err)?;
    re.is_match(s)
        .map_err(|e| fail(format!("regular expression '{pattern}' failed: {e}")))
}

/// Turns a Python replacement string (`\1`, `\g<name>`) into the regex crate's (`${1}`).
fn python_replacement(rep: &str) -> String {
    let mut out = String::new();
    let mut chars = rep.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '$' => out.push_str("$$"),
            '\\' => match chars.peek().copied() {
                Some(d) if d.is_ascii_digit() => {
                    let mut num = String::new();
                    while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
                        num.push(d);
                        chars.next();
                        if num.len() == 2 {
                            break;
                        }
                    }
                    out.push_str(&format!("${{{num}}}"));
                }
                Some('g') => {
                    chars.next();
                    let mut name = String::new();
                    if chars.peek() == Some(&'<') {
                        chars.next();
                        for n in chars.by_ref() {
                            if n == '>' {
                                break;
                            }
                            name.push(n);
                        }
                    }
                    out.push_str(&format!("${{{name}}}"));
                }
                Some('n') => {
                    chars.next();
                    out.push('\n');
                }
                Some('t') => {
                    chars.next();
                    out.push('\t');
                }
                Some('\\') => {
                    chars.next();
                    out.push('\\');
                }
                _ => out.push('\\'),
            },
            c => out.push(c),
        }
    }
    out
}

fn regex_flags(kwargs: &Kwargs) -> Result<(bool, bool), Error> {
    Ok((
        kwargs.get::<Option<bool>>("ignorecase")?.unwrap_or(false),
        kwargs.get::<Option<bool>>("multiline")?.unwrap_or(false),
    ))
}

fn regex_replace(
    value: &MjValue,
    pattern: Option<String>,
    replacement: Option<String>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    let (ignorecase, multiline) = regex_flags(&kwargs)?;
    let count = kwargs.get::<Option<usize>>("count")?.unwrap_or(0);
    let mandatory_count = kwargs.get::<Option<usize>>("mandatory_count")?.unwrap_or(0);
    kwargs.assert_all_used()?;
    let s = text(value)?;
    let re = python_regex(pattern.as_deref().unwrap_or(""), ignorecase, multiline)?;
    if mandatory_count > 0 {
        let found = re.find_iter(&s).count();
        if found != mandatory_count {
            return Err(fail(format!(
                "'{}' should match {mandatory_count} times, but matches {found} times in '{s}'",
                re.as_str()
            )));
        }
    }
    let rep = python_replacement(replacement.as_deref().unwrap_or(""));
    Ok(re.replacen(&s, count, rep.as_str()).into_owned())
}

enum Group {
    Index(usize),
    Name(String),
}

fn regex_search(
    value: &MjValue,
    pattern: String,
    groups: Rest<ValueOrKwargs>,
) -> Result<MjValue, Error> {
    let (groups, kwargs) = split_kwargs(groups)?;
    let (ignorecase, multiline) = regex_flags(&kwargs)?;
    kwargs.assert_all_used()?;
    let mut wanted = Vec::new();
    for g in groups.iter() {
        let g = text(g)?;
        if let Some(name) = g.strip_prefix("\\g<").and_then(|r| r.strip_suffix('>')) {
            wanted.push(Group::Name(name.to_string()));
        } else if let Some(n) = g.strip_prefix('\\').and_then(|n| n.parse().ok()) {
            wanted.push(Group::Index(n));
        } else {
            return Err(fail("Unknown argument"));
        }
    }
    let s = text(value)?;
    let re = python_regex(&pattern, ignorecase, multiline)?;
    let Some(caps) = re.captures(&s) else {
        return Ok(MjValue::from(()));
    };
    if wanted.is_empty() {
        return Ok(MjValue::from(caps.get(0).map_or("", |m| m.as_str())));
    }
    let items: Vec<MjValue> = wanted
        .iter()
        .map(|g| {
            let m = match g {
                Group::Index(i) => caps.get(*i),
                Group::Name(n) => caps.name(n),
            };
            m.map_or(MjValue::from(()), |m| MjValue::from(m.as_str()))
        })
        .collect();
    Ok(MjValue::from(items))
}

fn regex_findall(value: &MjValue, pattern: String, kwargs: Kwargs) -> Result<MjValue, Error> {
    let (ignorecase, multiline) = regex_flags(&kwargs)?;
    kwargs.assert_all_used()?;
    let s = text(value)?;
    let re = python_regex(&pattern, ignorecase, multiline)?;
    let ngroups = re.captures_len() - 1;
    // Python's re.findall: whole matches, the one group, or tuples of all groups.
    let out: Vec<Value> = re
        .captures_iter(&s)
        .map(|caps| {
            let g = |i: usize| Value::from(caps.get(i).map_or("", |m| m.as_str()));
            match ngroups {
                0 => g(0),
                1 => g(1),
                n => Value::Array((1..=n).map(g).collect()),
            }
        })
        .collect();
    Ok(mj(Value::Array(out)))
}

fn regex_escape(value: &MjValue, re_type: Option<String>) -> Result<String, Error> {
    let s = text(value)?;
    let special: &[char] = match re_type.as_deref().unwrap_or("python") {
        "python" => &[
            '(', ')', '[', ']', '{', '}', '?', '*', '+', '-', '|', '^', '$', '\\', '.', '&', '~',
            '#', ' ', '\t', '\n', '\r', '\u{b}', '\u{c}',
        ],
        "posix_basic" => &['[', ']', '.', '*', '^', '$', '\\'],
        other => return Err(fail(format!("Invalid regex type ({other})"))),
    };
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if special.contains(&c) {
            out.push('\\');
        }
        out.push(c);
    }
    Ok(out)
}

fn b64encode(value: &MjValue) -> Result<String, Error> {
    Ok(base64::engine::general_purpose::STANDARD.encode(text(value)?.as_bytes()))
}

fn b64decode(value: &MjValue, kwargs: Kwargs) -> Result<String, Error> {
    let urlsafe = kwargs.get::<Option<bool>>("urlsafe")?.unwrap_or(false);
    let _ = kwargs.get::<Option<String>>("encoding")?;
    kwargs.assert_all_used()?;
    let s = text(value)?;
    let engine = if urlsafe {
        &base64::engine::general_purpose::URL_SAFE
    } else {
        &base64::engine::general_purpose::STANDARD
    };
    let bytes = engine
        .decode(s.trim().as_bytes())
        .map_err(|e| fail(format!("b64decode: {e}")))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Python's `os.path.basename`: what follows the last `/`.
pub fn py_basename(s: &str) -> &str {
    s.rsplit('/').next().unwrap_or(s)
}

/// Python's `os.path.dirname`: what precedes the last `/`, trailing slashes dropped.
pub fn py_dirname(s: &str) -> String {
    match s.rfind('/') {
        None => String::new(),
        Some(i) => {
            let head = &s[..=i];
            let trimmed = head.trim_end_matches('/');
            if trimmed.is_empty() {
                head.to_string()
            } else {
                trimmed.to_string()
            }
        }
    }
}

fn basename(value: &MjValue) -> Result<String, Error> {
    Ok(py_basename(&text(value)?).to_string())
}

fn dirname(value: &MjValue) -> Result<String, Error> {
    Ok(py_dirname(&text(value)?))
}

pub fn expand_user(s: &str) -> String {
    if s == "~" || s.starts_with("~/") {
        if let Ok(home) = std::env::var("HOME") {
            return format!("{home}{}", &s[1..]);
        }
    }
    s.to_string()
}

fn expanduser(value: &MjValue) -> Result<String, Error> {
    Ok(expand_user(&text(value)?))
}

fn splitext(value: &MjValue) -> Result<MjValue, Error> {
    let s = text(value)?;
    let base_start = s.rfind('/').map_or(0, |i| i + 1);
    let base = &s[base_start..];
    // Leading dots belong to the name (`.bashrc` has no extension).
    let leading = base.len() - base.trim_start_matches('.').len();
    let split = base[leading..]
        .rfind('.')
        .map(|i| base_start + leading + i)
        .unwrap_or(s.len());
    Ok(MjValue::from(vec![
        MjValue::from(&s[..split]),
        MjValue::from(&s[split..]),
    ]))
}

fn realpath(value: &MjValue) -> Result<String, Error> {
    let s = text(value)?;
    Ok(std::fs::canonicalize(&s)
        .map(|p| p.display().to_string())
        .unwrap_or(s))
}

fn path_join(value: &MjValue) -> Result<String, Error> {
    let parts = match data(value)? {
        Value::Array(a) => a.iter().map(pyfmt::to_str).collect(),
        other => vec![pyfmt::to_str(&other)],
    };
    let mut out = String::new();
    for p in parts {
        if p.starts_with('/') || out.is_empty() {
            out = p;
        } else if out.ends_with('/') {
            out.push_str(&p);
        } else {
            out.push('/');
            out.push_str(&p);
        }
    }
    Ok(out)
}

/// How `combine(list_merge=...)` merges two lists under the same key.
#[derive(Clone, Copy, PartialEq)]
pub enum ListMerge {
    Replace,
    Keep,
    Append,
    Prepend,
    AppendRp,
    PrependRp,
}

impl ListMerge {
    pub fn parse(s: &str) -> Option<ListMerge> {
        Some(match s {
            "replace" => ListMerge::Replace,
            "keep" => ListMerge::Keep,
            "append" => ListMerge::Append,
            "prepend" => ListMerge::Prepend,
            "append_rp" => ListMerge::AppendRp,
            "prepend_rp" => ListMerge::PrependRp,
            _ => return None,
        })
    }
}

/// Ansible's `merge_hash`: `y` wins; with `recursive` nested dicts are merged too.
pub fn merge_hash(
    x: &Map<String, Value>,
    y: &Map<String, Value>,
    recursive: bool,
    list_merge: ListMerge,
) -> Map<String, Value> {
    let mut out = x.clone();
    for (key, yv) in y {
        let merged = match (out.get(key), yv) {
            (Some(Value::Object(xm)), Value::Object(ym)) if recursive => {
                Value::Object(merge_hash(xm, ym, recursive, list_merge))
            }
            (Some(Value::Array(xa)), Value::Array(ya)) => match list_merge {
                ListMerge::Replace => yv.clone(),
                ListMerge::Keep => Value::Array(xa.clone()),
                ListMerge::Append => Value::Array(xa.iter().chain(ya).cloned().collect()),
                ListMerge::Prepend => Value::Array(ya.iter().chain(xa).cloned().collect()),
                ListMerge::AppendRp => Value::Array(
                    xa.iter()
                        .filter(|z| !ya.contains(z))
                        .chain(ya)
                        .cloned()
                        .collect(),
                ),
                ListMerge::PrependRp => Value::Array(
                    ya.iter()
                        .chain(xa.iter().filter(|z| !ya.contains(z)))
                        .cloned()
                        .collect(),
                ),
            },
            _ => yv.clone(),
        };
        out.insert(key.clone(), merged);
    }
    out
}

fn collect_dicts(v: Value, out: &mut Vec<Map<String, Value>>) -> Result<(), Error> {
    match v {
        Value::Object(m) => out.push(m),
        Value::Array(items) => {
            for i in items {
                collect_dicts(i, out)?;
            }
        }
        other => {
            return Err(fail(format!(
                "failed to combine variables, expected dicts but got a '{}'",
                type_name(&other)
            )))
        }
    }
    Ok(())
}

fn combine(value: &MjValue, others: Rest<ValueOrKwargs>) -> Result<MjValue, Error> {
    let (others, kwargs) = split_kwargs(others)?;
    let recursive = kwargs.get::<Option<bool>>("recursive")?.unwrap_or(false);
    let lm = kwargs
        .get::<Option<String>>("list_merge")?
        .unwrap_or_else(|| "replace".into());
    if kwargs.args().any(|a| a != "recursive" && a != "list_merge") {
        return Err(fail(
            "'recursive' and 'list_merge' are the only valid keyword arguments",
        ));
    }
    let list_merge = ListMerge::parse(&lm).ok_or_else(|| {
        fail(format!(
            "'{lm}' is not a valid list_merge value (replace, keep, append, prepend, append_rp, prepend_rp)"
        ))
    })?;
    let mut dicts = Vec::new();
    collect_dicts(data(value)?, &mut dicts)?;
    for o in others.iter() {
        collect_dicts(data(o)?, &mut dicts)?;
    }
    let mut acc = Map::new();
    for d in &dicts {
        acc = merge_hash(&acc, d, recursive, list_merge);
    }
    Ok(mj(Value::Object(acc)))
}

fn kv_names(kwargs: &Kwargs) -> Result<(String, String), Error> {
    let k = kwargs
        .get::<Option<String>>("key_name")?
        .unwrap_or_else(|| "key".into());
    let v = kwargs
        .get::<Option<String>>("value_name")?
        .unwrap_or_else(|| "value".into());
    kwargs.assert_all_used()?;
    Ok((k, v))
}

fn dict2items(value: &MjValue, kwargs: Kwargs) -> Result<MjValue, Error> {
    let (kn, vn) = kv_names(&kwargs)?;
    let Value::Object(m) = data(value)? else {
        return Err(fail(format!(
            "dict2items requires a dictionary, got {} instead.",
            value.kind()
        )));
    };
    let items = m
        .into_iter()
        .map(|(k, v)| {
            let mut e = Map::new();
            e.insert(kn.clone(), Value::String(k));
            e.insert(vn.clone(), v);
            Value::Object(e)
        })
        .collect();
    Ok(mj(Value::Array(items)))
}

fn items2dict(value: &MjValue, kwargs: Kwargs) -> Result<MjValue, Error> {
    let (kn, vn) = kv_names(&kwargs)?;
    let Value::Array(items) = data(value)? else {
        return Err(fail(format!(
            "items2dict requires a list, got {} instead.",
            value.kind()
        )));
    };
    let mut out = Map::new();
    for item in items {
        let (Some(k), Some(v)) = (item.get(&kn), item.get(&vn)) else {
            return Err(fail(format!(
                "items2dict requires each element to have '{kn}' and '{vn}' keys, got {}",
                pyfmt::repr(&item)
            )));
        };
        out.insert(pyfmt::to_str(k), v.clone());
    }
    Ok(mj(Value::Object(out)))
}

/// Set operations keep first-seen order; all-integer results come out sorted, as Python's
/// `set` of small ints iterates.
fn set_result(mut items: Vec<Value>) -> MjValue {
    let mut seen: Vec<Value> = Vec::with_capacity(items.len());
    items.retain(|i| {
        if seen.contains(i) {
            false
        } else {
            seen.push(i.clone());
            true
        }
    });
    if items.iter().all(|i| i.is_i64() || i.is_u64()) {
        items.sort_by_key(|i| i.as_i64().unwrap_or(i64::MAX));
    }
    mj(Value::Array(items))
}

fn union(a: &MjValue, b: &MjValue) -> Result<MjValue, Error> {
    let mut items = list_of(a, "union")?;
    items.extend(list_of(b, "union")?);
    Ok(set_result(items))
}

fn intersect(a: &MjValue, b: &MjValue) -> Result<MjValue, Error> {
    let b = list_of(b, "intersect")?;
    let items = list_of(a, "intersect")?
        .into_iter()
        .filter(|x| b.contains(x))
        .collect();
    Ok(set_result(items))
}

fn difference(a: &MjValue, b: &MjValue) -> Result<MjValue, Error> {
    let b = list_of(b, "difference")?;
    let items = list_of(a, "difference")?
        .into_iter()
        .filter(|x| !b.contains(x))
        .collect();
    Ok(set_result(items))
}

fn symmetric_difference(a: &MjValue, b: &MjValue) -> Result<MjValue, Error> {
    let a = list_of(a, "symmetric_difference")?;
    let b = list_of(b, "symmetric_difference")?;
    let items = a
        .iter()
        .filter(|x| !b.contains(x))
        .chain(b.iter().filter(|x| !a.contains(x)))
        .cloned()
        .collect();
    Ok(set_result(items))
}

fn flatten_into(items: Vec<Value>, levels: Option<i64>, skip_nulls: bool, out: &mut Vec<Value>) {
    for item in items {
        let null_like = matches!(&item, Value::Null)
            || matches!(&item, Value::String(s) if s == "None" || s == "null");
        match item {
            _ if skip_nulls && null_like => {}
            Value::Array(inner) if levels.is_none_or(|l| l >= 1) => {
                flatten_into(inner, levels.map(|l| l - 1), skip_nulls, out)
            }
            other => out.push(other),
        }
    }
}

fn flatten(value: &MjValue, levels: Option<i64>, kwargs: Kwargs) -> Result<MjValue, Error> {
    let levels = match levels {
        Some(l) => Some(l),
        None => kwargs.get::<Option<i64>>("levels")?,
    };
    let skip_nulls = kwargs.get::<Option<bool>>("skip_nulls")?.unwrap_or(true);
    kwargs.assert_all_used()?;
    let mut out = Vec::new();
    flatten_into(list_of(value, "flatten")?, levels, skip_nulls, &mut out);
    Ok(mj(Value::Array(out)))
}

fn zip_longest(value: &MjValue, others: Rest<ValueOrKwargs>) -> Result<MjValue, Error> {
    let (others, kwargs) = split_kwargs(others)?;
    let fill = kwargs
        .get::<Option<MjValue>>("fillvalue")?
        .map(|f| data(&f))
        .transpose()?
        .unwrap_or(Value::Null);
    kwargs.assert_all_used()?;
    let mut lists = vec![list_of(value, "zip_longest")?];
    for o in others.iter() {
        lists.push(list_of(o, "zip_longest")?);
    }
    let n = lists.iter().map(Vec::len).max().unwrap_or(0);
    let rows = (0..n)
        .map(|i| {
            Value::Array(
                lists
                    .iter()
                    .map(|l| l.get(i).cloned().unwrap_or_else(|| fill.clone()))
                    .collect(),
            )
        })
        .collect();
    Ok(mj(Value::Array(rows)))
}

fn product(value: &MjValue, others: Rest<MjValue>) -> Result<MjValue, Error> {
    let mut rows: Vec<Vec<Value>> = list_of(value, "product")?
        .into_iter()
        .map(|v| vec![v])
        .collect();
    for o in others.iter() {
        let next = list_of(o, "product")?;
        rows = rows
            .into_iter()
            .flat_map(|row| {
                next.iter().map(move |n| {
                    let mut r = row.clone();
                    r.push(n.clone());
                    r
                })
            })
            .collect();
    }
    Ok(mj(Value::Array(
        rows.into_iter().map(Value::Array).collect(),
    )))
}

fn ternary(
    value: &MjValue,
    true_val: MjValue,
    false_val: MjValue,
    none_val: Option<MjValue>,
) -> Result<MjValue, Error> {
    if value.is_none() {
        if let Some(n) = none_val.filter(|n| !n.is_none()) {
            return Ok(n);
        }
    }
    if value.is_undefined() {
        return Err(Error::from(ErrorKind::UndefinedError));
    }
    Ok(if value.is_true() { true_val } else { false_val })
}

/// Python's `shlex.quote`.
pub fn shell_quote(s: &str) -> String {
    if s.is_empty() {
        return "''".into();
    }
    let safe = s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "@%+=:,./-_".contains(c));
    if safe {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\"'\"'"))
    }
}

fn quote(value: &MjValue) -> Result<String, Error> {
    let s = if value.is_none() {
        String::new()
    } else {
        text(value)?
    };
    Ok(shell_quote(&s))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The hex digest of `data` with one of the hashes Ansible's `hash` filter knows.
pub fn digest(kind: &str, data: &[u8]) -> Option<String> {
    use sha2::Digest as _;
    Some(match kind {
        "sha1" => hex(&sha1::Sha1::digest(data)),
        "md5" => hex(&md5::Md5::digest(data)),
        "sha224" => hex(&sha2::Sha224::digest(data)),
        "sha256" => hex(&sha2::Sha256::digest(data)),
        "sha384" => hex(&sha2::Sha384::digest(data)),
        "sha512" => hex(&sha2::Sha512::digest(data)),
        _ => return None,
    })
}

fn hash(value: &MjValue, kind: Option<String>) -> Result<String, Error> {
    let kind = kind.unwrap_or_else(|| "sha1".into());
    digest(&kind, text(value)?.as_bytes())
        .ok_or_else(|| fail(format!("hash: unsupported hash type '{kind}'")))
}

fn checksum(value: &MjValue) -> Result<String, Error> {
    hash(value, None)
}

fn md5(value: &MjValue) -> Result<String, Error> {
    hash(value, Some("md5".into()))
}

fn rng_for(seed: Option<MjValue>) -> Result<rand::rngs::StdRng, Error> {
    Ok(match seed.filter(|s| !s.is_none() && !s.is_undefined()) {
        Some(s) => {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            text(&s)?.hash(&mut h);
            rand::rngs::StdRng::seed_from_u64(h.finish())
        }
        None => rand::rngs::StdRng::from_rng(&mut rand::rng()),
    })
}

/// `random`: an element of a list, or a number from `range(start, end, step)`.
fn random(value: &MjValue, kwargs: Kwargs) -> Result<MjValue, Error> {
    let start = kwargs.get::<Option<i64>>("start")?;
    let step = kwargs.get::<Option<i64>>("step")?.unwrap_or(1);
    let mut rng = rng_for(kwargs.get::<Option<MjValue>>("seed")?)?;
    kwargs.assert_all_used()?;
    match data(value)? {
        Value::Number(n) => {
            let end = n
                .as_i64()
                .ok_or_else(|| fail("random: the end of the range must be an integer"))?;
            let start = start.unwrap_or(0);
            if step <= 0 {
                return Err(fail("random: step must be positive"));
            }
            let count = (end - start + step - 1) / step;
            if count <= 0 {
                return Err(fail(format!(
                    "random: empty range for randrange({start}, {end}, {step})"
                )));
            }
            Ok(MjValue::from(start + step * rng.random_range(0..count)))
        }
        Value::Array(a) if !a.is_empty() => {
            let i = rng.random_range(0..a.len());
            Ok(mj(a[i].clone()))
        }
        Value::String(s) if !s.is_empty() => {
            let chars: Vec<char> = s.chars().collect();
            Ok(MjValue::from(
                chars[rng.random_range(0..chars.len())].to_string(),
            ))
        }
        _ => Err(fail(
            "random: cannot choose from an empty or non-sequence value",
        )),
    }
}

fn shuffle(value: &MjValue, kwargs: Kwargs) -> Result<MjValue, Error> {
    let mut rng = rng_for(kwargs.get::<Option<MjValue>>("seed")?)?;
    kwargs.assert_all_used()?;
    let mut items = list_of(value, "shuffle")?;
    items.shuffle(&mut rng);
    Ok(mj(Value::Array(items)))
}

const SIZE_RANGES: [(char, f64); 9] = [
    ('Y', 1208925819614629174706176.0),
    ('Z', 1180591620717411303424.0),
    ('E', 1152921504606846976.0),
    ('P', 1125899906842624.0),
    ('T', 1099511627776.0),
    ('G', 1073741824.0),
    ('M', 1048576.0),
    ('K', 1024.0),
    ('B', 1.0),
];

/// Ansible's `bytes_to_human`: `"1.46 KB"`, `"1.00 Mb"`.
pub fn bytes_to_human(size: f64, isbits: bool, unit: Option<&str>) -> String {
    let base = if isbits { "bits" } else { "Bytes" };
    let wanted = unit
        .and_then(|u| u.chars().next())
        .map(|c| c.to_ascii_uppercase());
    let (suffix, limit) = SIZE_RANGES
        .iter()
        .copied()
        .find(|(s, l)| match wanted {
            Some(w) => w == *s,
            None => size >= *l,
        })
        .unwrap_or(('B', 1.0));
    let suffix = if limit != 1.0 {
        format!("{suffix}{}", &base[..1])
    } else {
        base.to_string()
    };
    format!("{:.2} {suffix}", size / limit)
}

fn human_readable(value: &MjValue, kwargs: Kwargs) -> Result<String, Error> {
    let isbits = kwargs.get::<Option<bool>>("isbits")?.unwrap_or(false);
    let unit = kwargs.get::<Option<String>>("unit")?;
    kwargs.assert_all_used()?;
    let size = match data(value)? {
        Value::Number(n) => n.as_f64().unwrap_or(0.0),
        Value::String(s) => s.trim().parse::<f64>().map_err(|_| {
            fail(format!(
                "human_readable() failed on bad input: could not convert string to float: '{s}'"
            ))
        })?,
        other => {
            return Err(fail(format!(
                "human_readable() can't interpret following input: {}",
                pyfmt::to_str(&other)
            )))
        }
    };
    Ok(bytes_to_human(size, isbits, unit.as_deref()))
}

/// Ansible's `human_to_bytes`: `'1.5KB'` → 1536; `'10Mb'` only with `isbits`.
pub fn human_to_bytes_str(
    number: &str,
    default_unit: Option<&str>,
    isbits: bool,
) -> Result<i64, String> {
    let re = regex::Regex::new(r"^([0-9]*\.?[0-9]+)(?:\s*([A-Za-z]+))?\s*$")
        .map_err(|e| e.to_string())?;
    let caps = re
        .captures(number)
        .ok_or_else(|| format!("human_to_bytes() can't interpret following string: {number}"))?;
    let num: f64 = caps[1].parse().map_err(|_| {
        format!(
            "human_to_bytes() can't interpret following number: {}",
            &caps[1]
        )
    })?;
    let Some(unit) = caps.get(2).map(|m| m.as_str()).or(default_unit) else {
        return Ok(num.round() as i64);
    };
    let range_key = unit
        .chars()
        .next()
        .map(|c| c.to_ascii_uppercase())
        .unwrap_or('B');
    let Some((_, limit)) = SIZE_RANGES.iter().find(|(s, _)| *s == range_key) else {
        return Err(format!(
            "human_to_bytes() failed to convert {number} (unit = {unit}). The suffix must be one of Y, Z, E, P, T, G, M, K, B"
        ));
    };
    let (class, class_name) = if isbits { ('b', "bit") } else { ('B', "byte") };
    if unit.chars().count() > 1 {
        let names = [
            ('B', "byte", "bit"),
            ('K', "kilobyte", "kilobit"),
            ('M', "megabyte", "megabit"),
            ('G', "gigabyte", "gigabit"),
            ('T', "terabyte", "terabit"),
            ('P', "petabyte", "petabit"),
            ('E', "exabyte", "exabit"),
            ('Z', "zetabyte", "zetabit"),
            ('Y', "yottabyte", "yottabit"),
        ];
        let long = names
            .iter()
            .find(|n| n.0 == range_key)
            .map(|n| if isbits { n.2 } else { n.1 })
            .unwrap_or("");
        let short = if range_key == 'B' {
            class.to_string()
        } else {
            format!("{range_key}{class}")
        };
        if unit.to_lowercase() != long && unit != short {
            let expect = if range_key == 'B' {
                format!("expect {class} or {class_name}")
            } else {
                format!("expect {range_key}{class} or {range_key}")
            };
            return Err(format!(
                "human_to_bytes() failed to convert {number}. Value is not a valid string ({expect})"
            ));
        }
    }
    Ok((num * limit).round() as i64)
}

fn human_to_bytes(
    value: &MjValue,
    default_unit: Option<String>,
    kwargs: Kwargs,
) -> Result<i64, Error> {
    let default_unit = match default_unit {
        Some(u) => Some(u),
        None => kwargs.get::<Option<String>>("default_unit")?,
    };
    let isbits = kwargs.get::<Option<bool>>("isbits")?.unwrap_or(false);
    kwargs.assert_all_used()?;
    human_to_bytes_str(&text(value)?, default_unit.as_deref(), isbits)
        .map_err(|e| fail(format!("human_to_bytes() can't interpret the input: {e}")))
}

fn type_debug(value: &MjValue) -> Result<&'static str, Error> {
    Ok(type_name(&data(value)?))
}

fn to_dict(value: &MjValue) -> Result<MjValue, Error> {
    match data(value)? {
        Value::Object(m) => Ok(mj(Value::Object(m))),
        Value::Array(pairs) => {
            let mut out = Map::new();
            for p in pairs {
                match p {
                    Value::Array(kv) if kv.len() == 2 => {
                        out.insert(pyfmt::to_str(&kv[0]), kv[1].clone());
                    }
                    other => {
                        return Err(fail(format!(
                            "dict: each element must be a pair, got {}",
                            pyfmt::repr(&other)
                        )))
                    }
                }
            }
            Ok(mj(Value::Object(out)))
        }
        other => Err(fail(format!(
            "dict: cannot convert {} to a dict",
            type_name(&other)
        ))),
    }
}

/// `extract`: `container[item]`, then `[morekeys...]`, as in `map('extract', hostvars, 'x')`.
fn extract(
    state: &State,
    item: &MjValue,
    container: &MjValue,
    morekeys: Option<MjValue>,
) -> Result<MjValue, Error> {
    let _ = state;
    let mut v = container.get_item(item)?;
    if let Some(keys) = morekeys {
        let keys: Vec<MjValue> = if keys.kind() == minijinja::value::ValueKind::Seq {
            keys.try_iter()?.collect()
        } else {
            vec![keys]
        };
        for k in keys {
            v = v.get_item(&k)?;
        }
    }
    Ok(v)
}

fn number(v: &MjValue, what: &str) -> Result<f64, Error> {
    match data(v)? {
        Value::Number(n) => Ok(n.as_f64().unwrap_or(0.0)),
        _ => Err(fail(format!("{what}() can only be used on numbers"))),
    }
}

fn pow(x: &MjValue, y: &MjValue) -> Result<f64, Error> {
    Ok(number(x, "pow")?.powf(number(y, "pow")?))
}

fn log(x: &MjValue, base: Option<MjValue>) -> Result<f64, Error> {
    let x = number(x, "log")?;
    Ok(match base {
        Some(b) => x.ln() / number(&b, "log")?.ln(),
        None => x.ln(),
    })
}

fn root(x: &MjValue, base: Option<MjValue>) -> Result<f64, Error> {
    let x = number(x, "root")?;
    Ok(match base {
        Some(b) => x.powf(1.0 / number(&b, "root")?),
        None => x.sqrt(),
    })
}

#[cfg(test)]
mod tests {
    use crate::template::templar;
    use minijinja::Value as MjValue;
    use serde_json::json;

    fn ctx() -> MjValue {
        crate::template::mj_value(json!({
            "d": {"b": 1, "a": [1, 2, {"x": "é"}], "c": null, "e": true, "f": 1.5},
            "s": "hello",
            "empty": "",
        }))
    }

    fn r(t: &str) -> String {
        templar().render_string(t, &ctx()).unwrap()
    }

    fn e(expr: &str) -> serde_json::Value {
        templar()
            .render_native(&format!("{{{{ {expr} }}}}"), &ctx())
            .unwrap()
    }

    #[test]
    fn default_works_on_undefined_and_falsy() {
        assert_eq!(r("{{ nope | default('x') }}"), "x");
        assert_eq!(r("{{ nope | d('y') }}"), "y");
        assert_eq!(r("{{ empty | default('z') }}"), "");
        assert_eq!(r("{{ empty | default('z', true) }}"), "z");
        assert_eq!(r("{{ empty | default('z', boolean=true) }}"), "z");
        assert_eq!(r("{{ s | default('z') }}"), "hello");
    }

    #[test]
    fn mandatory_fails_on_undefined() {
        assert_eq!(r("{{ s | mandatory }}"), "hello");
        let err = templar()
            .render_string("{{ nope | mandatory }}", &ctx())
            .unwrap_err();
        // As ansible-core 2.19 words it.
        assert_eq!(
            err.message,
            "The filter plugin 'ansible.builtin.mandatory' failed: Mandatory variable 'nope' not defined."
        );
        let err = templar()
            .render_string("{{ nope | mandatory('need it') }}", &ctx())
            .unwrap_err();
        assert_eq!(
            err.message,
            "The filter plugin 'ansible.builtin.mandatory' failed: need it"
        );
    }

    #[test]
    fn bool_int_float_string() {
        // Checked against ansible-core 2.19.
        assert_eq!(
            r("{{ 'yes'|bool }} {{ 'on'|bool }} {{ '1'|bool }} {{ 'foo'|bool }} {{ 0|bool }} {{ none|bool }} {{ 'TRUE'|bool }}"),
            "True True True False False False True"
        );
        assert_eq!(
            r("{{ 1.0|int }} {{ '3.7'|int }} {{ 'x'|int }} {{ '0x1f'|int(base=16) }} {{ 'x'|float }} {{ 3|string }}"),
            "1 3 0 31 0.0 3"
        );
        assert_eq!(e("[1, 'a'] | string"), json!("[1, 'a']"));
        assert_eq!(e("true | string"), json!("True"));
    }

    #[test]
    fn json_filters_match_python() {
        assert_eq!(
            r("{{ d | to_json }}"),
            r#"{"b": 1, "a": [1, 2, {"x": "\u00e9"}], "c": null, "e": true, "f": 1.5}"#
        );
        assert_eq!(
            r("{{ d | to_nice_json }}"),
            "{\n    \"a\": [\n        1,\n        2,\n        {\n            \"x\": \"\\u00e9\"\n        }\n    ],\n    \"b\": 1,\n    \"c\": null,\n    \"e\": true,\n    \"f\": 1.5\n}"
        );
        assert_eq!(
            r("{{ 'a b' | to_json }} {{ 3.0 | to_json }} {{ none | to_json }}"),
            "\"a b\" 3.0 null"
        );
        assert_eq!(r("{{ 'é' | to_json(ensure_ascii=false) }}"), "\"é\"");
        assert_eq!(e("'{\"a\": [1, 2]}' | from_json"), json!({"a": [1, 2]}));
    }

    #[test]
    fn yaml_filters() {
        assert_eq!(
            r("{{ d | to_nice_yaml }}"),
            "a:\n- 1\n- 2\n-   x: é\nb: 1\nc: null\ne: true\nf: 1.5\n"
        );
        assert_eq!(
            r("{{ d | to_yaml }}"),
            "a:\n- 1\n- 2\n- {x: é}\nb: 1\nc: null\ne: true\nf: 1.5\n"
        );
        // YAML 1.1: `yes` is a bool, `0755` is octal.
        assert_eq!(
            e("'a: yes\nb: 0755\nc: [x]' | from_yaml"),
            json!({"a": true, "b": 493, "c": ["x"]})
        );
    }

    #[test]
    fn regex_filters() {
        assert_eq!(
            e(r"'ab12cd34' | regex_search('(\d+)cd(?P<n>\d+)', '\1', '\g<n>')"),
            json!(["12", "34"])
        );
        assert_eq!(e(r"'ab12cd34' | regex_search('\d+')"), json!("12"));
        assert_eq!(e(r"'abc' | regex_search('\d+')"), json!(null));
        assert_eq!(e(r"'ABC' | regex_search('b', ignorecase=true)"), json!("B"));
        assert_eq!(
            e(r"'ab12cd34' | regex_findall('\d')"),
            json!(["1", "2", "3", "4"])
        );
        assert_eq!(
            e(r"'a1b2' | regex_findall('([a-z])(\d)')"),
            json!([["a", "1"], ["b", "2"]])
        );
        assert_eq!(
            e(r"'host-01.example' | regex_replace('^host-(\d+)\..*$', 'node\1 $x')"),
            json!("node01 $x")
        );
        assert_eq!(
            e(r"'a-b-c' | regex_replace('(?P<x>-)', '\g<x>\g<x>', count=1)"),
            json!("a--b-c")
        );
        assert_eq!(e("'a.b*c' | regex_escape"), json!("a\\.b\\*c"));
        // Playbook strings keep their backslashes, as in Ansible.
        assert_eq!(e(r"'a\nb'"), json!(r"a\nb"));
        assert_eq!(e(r"'1.2' | regex_findall('\\d')"), json!([]));
        assert!(templar()
            .render_string(
                "{{ 'aa' | regex_replace('a', 'b', mandatory_count=1) }}",
                &ctx()
            )
            .is_err());
    }

    #[test]
    fn encoding_and_paths() {
        assert_eq!(e("'hello' | b64encode"), json!("aGVsbG8="));
        assert_eq!(e("'aGVsbG8=' | b64decode"), json!("hello"));
        assert_eq!(e("'/a/b/c.txt' | basename"), json!("c.txt"));
        assert_eq!(e("'/a/b/' | basename"), json!(""));
        assert_eq!(e("'/a/b/c.txt' | dirname"), json!("/a/b"));
        assert_eq!(e("'c.txt' | dirname"), json!(""));
        assert_eq!(e("'/c' | dirname"), json!("/"));
        assert_eq!(e("'/a/b.tar.gz' | splitext"), json!(["/a/b.tar", ".gz"]));
        assert_eq!(e("'/a/.bashrc' | splitext"), json!(["/a/.bashrc", ""]));
        assert_eq!(e("['/a', 'b', 'c'] | path_join"), json!("/a/b/c"));
        let home = std::env::var("HOME").unwrap_or_default();
        if !home.is_empty() {
            assert_eq!(e("'~/x' | expanduser"), json!(format!("{home}/x")));
        }
    }

    #[test]
    fn combine_and_dict_conversions() {
        assert_eq!(
            e("{'a': {'x': 1, 'l': [1]}} | combine({'a': {'y': 2, 'l': [2]}}, recursive=True, list_merge='append')"),
            json!({"a": {"x": 1, "l": [1, 2], "y": 2}})
        );
        assert_eq!(
            e("{'a': {'x': 1}, 'b': 1} | combine({'a': {'y': 2}})"),
            json!({"a": {"y": 2}, "b": 1})
        );
        assert_eq!(e("[{'a': 1}, {'b': 2}] | combine"), json!({"a": 1, "b": 2}));
        assert_eq!(
            e("{'l': [1, 2]} | combine({'l': [2, 3]}, list_merge='prepend_rp')"),
            json!({"l": [2, 3, 1]})
        );
        assert_eq!(
            e("{'a': 1} | dict2items"),
            json!([{"key": "a", "value": 1}])
        );
        assert_eq!(
            e("[{'k': 'a', 'v': 1}] | items2dict(key_name='k', value_name='v')"),
            json!({"a": 1})
        );
        assert_eq!(e("[['a', 1], ['b', 2]] | dict"), json!({"a": 1, "b": 2}));
    }

    #[test]
    fn list_filters() {
        assert_eq!(e("[3, 1] | union([1, 5])"), json!([1, 3, 5]));
        assert_eq!(
            e("[1, 2, 3] | symmetric_difference([2, 4])"),
            json!([1, 3, 4])
        );
        assert_eq!(
            e("['a', 'b', 'c'] | intersect(['c', 'a'])"),
            json!(["a", "c"])
        );
        assert_eq!(e("['a', 'b', 'c'] | difference(['b'])"), json!(["a", "c"]));
        assert_eq!(e("[1, [2, [3, [4]]]] | flatten"), json!([1, 2, 3, 4]));
        assert_eq!(
            e("[1, [2, [3, [4]]]] | flatten(levels=1)"),
            json!([1, 2, [3, [4]]])
        );
        assert_eq!(e("[1, none, [2]] | flatten"), json!([1, 2]));
        assert_eq!(
            e("[1, 2] | zip(['a', 'b']) | list"),
            json!([[1, "a"], [2, "b"]])
        );
        assert_eq!(
            e("[1, 2] | zip_longest(['a'])"),
            json!([[1, "a"], [2, null]])
        );
        assert_eq!(
            e("[1, 2] | product(['a']) | list"),
            json!([[1, "a"], [2, "a"]])
        );
        assert_eq!(e("['a', 'A', 'b'] | unique"), json!(["a", "b"]));
        assert_eq!(e("[3, 1, 2] | min"), json!(1));
        assert_eq!(e("[3, 1, 2] | max"), json!(3));
        assert_eq!(e("[3, 1, 2] | sum"), json!(6));
        assert_eq!(
            e("[{'n': 1}, {'n': 2}] | map(attribute='n') | list"),
            json!([1, 2])
        );
        assert_eq!(
            e("[{'n': 1, 'ok': true}, {'n': 2, 'ok': false}] | selectattr('ok') | map(attribute='n') | list"),
            json!([1])
        );
        assert_eq!(e("[1, 2] | join(',')"), json!("1,2"));
        assert_eq!(e("[1, 2] | length"), json!(2));
        assert_eq!(e("'a,b' | split(',')"), json!(["a", "b"]));
        assert_eq!(e("['a', 'b'] | map('upper') | list"), json!(["A", "B"]));
        assert_eq!(
            e("['x', 'y'] | map('extract', {'x': 1, 'y': 2}) | list"),
            json!([1, 2])
        );
    }

    #[test]
    fn misc_filters() {
        assert_eq!(e("true | ternary('a', 'b')"), json!("a"));
        assert_eq!(e("none | ternary('a', 'b', 'c')"), json!("c"));
        assert_eq!(e("0 | ternary('a', 'b')"), json!("b"));
        assert_eq!(
            r("{{ \"it's\" | quote }} {{ 'abc' | quote }} {{ '' | quote }}"),
            "'it'\"'\"'s' abc ''"
        );
        assert_eq!(
            e("'abc' | hash('sha1')"),
            json!("a9993e364706816aba3e25717850c26c9cd0d89d")
        );
        assert_eq!(
            e("'abc' | checksum"),
            json!("a9993e364706816aba3e25717850c26c9cd0d89d")
        );
        assert_eq!(
            e("'abc' | hash('md5')"),
            json!("900150983cd24fb0d6963f7d28e17f72")
        );
        assert_eq!(
            e("'abc' | hash('sha256')"),
            json!("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        );
        assert_eq!(
            r("{{ 'x'|type_debug }} {{ 1|type_debug }} {{ 1.0|type_debug }} {{ none|type_debug }} {{ []|type_debug }} {{ {}|type_debug }} {{ true|type_debug }}"),
            "str int float NoneType list dict bool"
        );
        assert_eq!(e("2 | pow(3)"), json!(8.0));
        assert_eq!(e("'x' | ansible.builtin.to_json"), json!("\"x\""));
        assert_eq!(e("'Hello World' | truncate(5)"), json!("He..."));
        assert_eq!(e("'Hello World' | center(15)"), json!("  Hello World  "));
        assert_eq!(e("'Hello World' | wordcount"), json!(2));
        assert_eq!(e("'%20x+y' | urldecode"), json!(" x y"));
    }

    #[test]
    fn random_is_seeded_and_in_range() {
        let a = e("[1, 2, 3, 4, 5] | random(seed='x')");
        assert_eq!(a, e("[1, 2, 3, 4, 5] | random(seed='x')"));
        assert!([1, 2, 3, 4, 5].iter().any(|n| a == json!(n)));
        let n = e("10 | random(start=5, step=2, seed=3)");
        assert!([5, 7, 9].iter().any(|x| n == json!(x)), "{n}");
        let mut s = e("[1, 2, 3, 4] | shuffle(seed=1)");
        assert_eq!(s, e("[1, 2, 3, 4] | shuffle(seed=1)"));
        if let serde_json::Value::Array(items) = &mut s {
            items.sort_by_key(|v| v.as_i64());
        }
        assert_eq!(s, json!([1, 2, 3, 4]));
    }

    #[test]
    fn human_sizes_match_ansible() {
        assert_eq!(
            e("[1024, 1048576, 1500, 0, 1, 1073741824, 123456789] | map('human_readable') | list"),
            json!([
                "1.00 KB",
                "1.00 MB",
                "1.46 KB",
                "0.00 Bytes",
                "1.00 Bytes",
                "1.00 GB",
                "117.74 MB"
            ])
        );
        assert_eq!(
            r("{{ 1048576 | human_readable(isbits=True) }} {{ 10 | human_readable(unit='K') }}"),
            "1.00 Mb 0.01 KB"
        );
        assert_eq!(
            e("['1K', '1 MB', '10M', '2G', '1.5KB', '100'] | map('human_to_bytes') | list"),
            json!([1024, 1048576, 10485760, 2147483648_i64, 1536, 100])
        );
        let err = templar()
            .render_string("{{ '10Mb' | human_to_bytes }}", &ctx())
            .unwrap_err();
        assert!(err.message.contains("expect MB or M"), "{}", err.message);
        assert_eq!(e("'10Mb' | human_to_bytes(isbits=True)"), json!(10485760));
    }
}
