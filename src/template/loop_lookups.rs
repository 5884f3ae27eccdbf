//! The list-making lookups shared by `with_<name>:` loops and `lookup()`/`query()`:
//! sequence, subelements, nested, together. Ported from ansible-core 2.19's plugins so the
//! edge cases (count with a negative stride, popped sub-keys, error texts) agree.

use super::pyfmt::{repr, repr_str, to_str};
use serde_json::{Map, Value};

/// `sequence`: each term is the shortcut form (`[start-]end[/stride][:format]`) or k=v
/// options; keyword options are the defaults of every term.
pub fn sequence(terms: &[Value], kwargs: &Map<String, Value>) -> Result<Vec<Value>, String> {
    let blank = [Value::String(String::new())];
    // All options may come as keywords; there is still one (empty) term to expand.
    let terms = if terms.is_empty() && !kwargs.is_empty() {
        &blank[..]
    } else {
        terms
    };
    let mut out = Vec::new();
    for term in terms {
        let mut opts = kwargs.clone();
        match term {
            Value::Object(m) => set_kv_options(&mut opts, m.clone())?,
            other => {
                let text = to_str(other);
                if let Some(fields) = shortcut(&text) {
                    opts.extend(fields);
                } else {
                    set_kv_options(&mut opts, crate::playbook::kv::parse_kv(&text)?)?;
                }
            }
        }
        out.extend(sequence_of(&opts)?);
        if out.len() > 1_000_000 {
            return Err("with_sequence: too many items".into());
        }
    }
    Ok(out)
}

const SEQUENCE_FIELDS: [&str; 5] = ["start", "end", "stride", "count", "format"];

fn set_kv_options(opts: &mut Map<String, Value>, mut kv: Map<String, Value>) -> Result<(), String> {
    for f in SEQUENCE_FIELDS {
        if let Some(v) = kv.remove(f) {
            opts.insert(f.into(), v);
        }
    }
    if kv.is_empty() {
        return Ok(());
    }
    let names: Vec<String> = kv.keys().map(|k| repr_str(k)).collect();
    Err(format!(
        "unrecognized arguments to with_sequence: [{}]",
        names.join(", ")
    ))
}

/// The shortcut form; Ansible's NUM is `0?x?[0-9a-f]+`, case-insensitive, so `A-4` parses
/// here and fails later as an invalid integer.
fn shortcut(term: &str) -> Option<Map<String, Value>> {
    let re =
        regex::Regex::new(r"(?i)^((0?x?[0-9a-f]+)-)?(0?x?[0-9a-f]+)(/(0?x?[0-9a-f]+))?(:(.+))?$")
            .ok()?;
    let c = re.captures(term)?;
    let mut m = Map::new();
    for (name, group) in [("start", 2), ("end", 3), ("stride", 5), ("format", 7)] {
        if let Some(v) = c.get(group) {
            m.insert(name.into(), Value::String(v.as_str().to_string()));
        }
    }
    Some(m)
}

/// Ansible's `integer` option type: ints, bools, and strings/floats with no fraction.
fn integer(
    opts: &Map<String, Value>,
    key: &str,
    default: Option<i64>,
) -> Result<Option<i64>, String> {
    let invalid = |v: &Value| {
        format!(
            "Config '{key}' for 'sequence' lookup plugin from 'Direct' has an invalid value: Invalid value provided for 'integer': {}",
            repr(v)
        )
    };
    match opts.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Bool(b)) => Ok(Some(i64::from(*b))),
        Some(v @ Value::Number(n)) => match n.as_i64() {
            Some(i) => Ok(Some(i)),
            None => whole(n.as_f64()).map(Some).ok_or_else(|| invalid(v)),
        },
        Some(v @ Value::String(s)) => {
            let t = s.trim();
            match t.parse::<i64>() {
                Ok(i) => Ok(Some(i)),
                Err(_) => whole(t.parse::<f64>().ok())
                    .map(Some)
                    .ok_or_else(|| invalid(v)),
            }
        }
        Some(v) => Err(invalid(v)),
    }
}

fn whole(f: Option<f64>) -> Option<i64> {
    let f = f?;
    (f.is_finite() && f.fract() == 0.0 && f.abs() < 9.0e18).then_some(f as i64)
}

/// One term's numbers, checked as Ansible's `sanity_check` does (some invalid-looking
/// combinations are an empty list, not an error, for historical reasons).
fn sequence_of(opts: &Map<String, Value>) -> Result<Vec<Value>, String> {
    let start = integer(opts, "start", Some(1))?.unwrap_or(1);
    let stride = integer(opts, "stride", Some(1))?.unwrap_or(1);
    let count = integer(opts, "count", None)?;
    let end = integer(opts, "end", None)?;
    let format = opts
        .get("format")
        .map(to_str)
        .unwrap_or_else(|| "%d".to_string());
    let end = match (count, end) {
        (None, None) => return Err("must specify count or end in with_sequence".into()),
        (Some(_), Some(_)) => {
            return Err("can't specify both count and end in with_sequence".into())
        }
        (Some(0), None) => return Ok(Vec::new()),
        (Some(c), None) => start + c * stride - 1,
        (None, Some(e)) => e,
    };
    if stride > 0 && end < start {
        return Err("to count backwards make stride negative".into());
    }
    if stride < 0 && end > start {
        return Err("to count forward don't make stride negative".into());
    }
    if stride == 0 {
        return Ok(Vec::new());
    }
    if format.matches('%').count() != 1 {
        return Err(format!("bad formatting string: {format}"));
    }
    // Python's range(start, end + adjust, stride).
    let stop = if stride > 0 { end + 1 } else { end - 1 };
    let mut out = Vec::new();
    let mut i = start;
    while (stride > 0 && i < stop) || (stride < 0 && i > stop) {
        out.push(Value::String(printf_int(&format, i)?));
        if out.len() > 1_000_000 {
            return Err("with_sequence: too many items".into());
        }
        i += stride;
    }
    Ok(out)
}

/// Python's `format % n` for one integer conversion (`%d`, `%02d`, `%x`, `%o`, ...).
fn printf_int(format: &str, n: i64) -> Result<String, String> {
    let re = regex::Regex::new(r"%([-0 +#]*)(\d*)([diouxX])").map_err(|e| e.to_string())?;
    let Some(c) = re.captures(format) else {
        return Err(format!("problem formatting {n} with {}", repr_str(format)));
    };
    let flags = &c[1];
    let width: usize = c[2].parse().unwrap_or(0);
    let digits = match &c[3] {
        "x" => format!("{:x}", n.unsigned_abs()),
        "X" => format!("{:X}", n.unsigned_abs()),
        "o" => format!("{:o}", n.unsigned_abs()),
        _ => n.unsigned_abs().to_string(),
    };
    let sign = if n < 0 {
        "-"
    } else if flags.contains('+') {
        "+"
    } else if flags.contains(' ') {
        " "
    } else {
        ""
    };
    let body = if flags.contains('-') {
        format!("{:<width$}", format!("{sign}{digits}"))
    } else if flags.contains('0') {
        let pad = width.saturating_sub(sign.len());
        format!("{sign}{digits:0>pad$}")
    } else {
        format!("{:>width$}", format!("{sign}{digits}"))
    };
    let whole = c.get(0).map(|m| m.range()).unwrap_or(0..0);
    Ok(format!(
        "{}{body}{}",
        &format[..whole.start],
        format[whole.end..].replace("%%", "%")
    ))
}

/// `subelements`: `[list or dict, "dotted.sub.key", {skip_missing: bool}]`, each element
/// paired with each item of its sub-key's list (which, as in Ansible, is popped from the
/// element).
pub fn subelements(terms: &[Value]) -> Result<Vec<Value>, String> {
    let terms_error =
        |msg: &str| format!("subelements lookup expects a list of two or three items, {msg}");
    if !(2..=3).contains(&terms.len()) {
        return Err(terms_error(""));
    }
    let Some(key) = terms[1].as_str() else {
        return Err(terms_error(
            "first a dict or a list, second a string pointing to the subkey",
        ));
    };
    let elements: Vec<Value> = match &terms[0] {
        Value::Array(items) => items.clone(),
        Value::Object(m) => {
            if m.get("skipped").is_some_and(|s| s != &Value::Bool(false)) {
                // The registered result was skipped as a whole.
                return Ok(Vec::new());
            }
            m.values().cloned().collect()
        }
        _ => {
            return Err(terms_error(
                "first a dict or a list, second a string pointing to the subkey",
            ))
        }
    };
    let flags = match terms.get(2) {
        None => Map::new(),
        Some(Value::Object(f)) => f.clone(),
        Some(_) => {
            return Err(terms_error(
                "the optional third item must be a dict with flags ('skip_missing',)",
            ))
        }
    };
    let skip_missing = flags
        .get("skip_missing")
        .and_then(crate::modules::args::to_bool)
        .unwrap_or(false);
    let subkeys: Vec<&str> = key.split('.').collect();
    let mut out = Vec::new();
    for mut elem in elements {
        let Value::Object(_) = elem else {
            return Err(format!(
                "subelements lookup expects a dictionary, got '{}'",
                to_str(&elem)
            ));
        };
        if elem
            .get("skipped")
            .is_some_and(|s| s != &Value::Bool(false))
        {
            continue;
        }
        let last_key = subkeys.last().copied().unwrap_or_default();
        let sublist = take_sublist(&mut elem, &subkeys, last_key, skip_missing)?;
        out.extend(
            sublist
                .into_iter()
                .map(|s| Value::Array(vec![elem.clone(), s])),
        );
    }
    Ok(out)
}

/// Walks `subkeys` into `at` and removes the list at the last one, following the plugin's
/// loop (a missing key with skip_missing stays on the same level).
fn take_sublist(
    at: &mut Value,
    subkeys: &[&str],
    last_key: &str,
    skip_missing: bool,
) -> Result<Vec<Value>, String> {
    let Some((subkey, rest)) = subkeys.split_first() else {
        return Ok(Vec::new());
    };
    let Some(map) = at.as_object_mut() else {
        return Ok(Vec::new());
    };
    let Some(found) = map.get(*subkey) else {
        if skip_missing {
            return take_sublist(at, rest, last_key, skip_missing);
        }
        return Err(format!(
            "could not find '{subkey}' key in iterated item '{}'",
            to_str(&Value::Object(map.clone()))
        ));
    };
    if *subkey == last_key {
        return match found {
            Value::Array(_) => match map.remove(*subkey) {
                Some(Value::Array(items)) => Ok(items),
                _ => Ok(Vec::new()),
            },
            other => Err(format!(
                "the key {subkey} should point to a list, got '{}'",
                to_str(other)
            )),
        };
    }
    if !found.is_object() {
        if skip_missing {
            return take_sublist(at, rest, last_key, skip_missing);
        }
        return Err(format!(
            "the key {subkey} should point to a dictionary, got '{}'",
            to_str(found)
        ));
    }
    match map.get_mut(*subkey) {
        Some(inner) => take_sublist(inner, rest, last_key, skip_missing),
        None => Ok(Vec::new()),
    }
}

/// `nested`: the cartesian product of the lists.
pub fn nested(lists: Vec<Vec<Value>>) -> Result<Vec<Value>, String> {
    if lists.is_empty() {
        return Err("with_nested requires at least one element in the nested list".into());
    }
    let mut acc: Vec<Vec<Value>> = vec![vec![]];
    for list in lists {
        let mut next = Vec::new();
        for prefix in &acc {
            for v in &list {
                let mut p = prefix.clone();
                p.push(v.clone());
                next.push(p);
            }
        }
        acc = next;
        if acc.len() > 1_000_000 {
            return Err("with_nested: too many items".into());
        }
    }
    Ok(acc.into_iter().map(Value::Array).collect())
}

/// `together`: the lists zipped, the short ones padded with None.
pub fn together(lists: Vec<Vec<Value>>) -> Result<Vec<Value>, String> {
    if lists.is_empty() {
        return Err("with_together requires at least one element in each list".into());
    }
    let n = lists.iter().map(Vec::len).max().unwrap_or(0);
    Ok((0..n)
        .map(|i| {
            Value::Array(
                lists
                    .iter()
                    .map(|l| l.get(i).cloned().unwrap_or(Value::Null))
                    .collect(),
            )
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn seq(terms: Value, kwargs: Value) -> Result<Vec<Value>, String> {
        let terms = terms.as_array().cloned().unwrap_or_default();
        let kwargs = kwargs.as_object().cloned().unwrap_or_default();
        sequence(&terms, &kwargs)
    }

    #[test]
    fn sequence_forms_as_ansible() {
        assert_eq!(
            seq(json!(["start=1 end=3 format=web%02d"]), json!({})).unwrap(),
            vec![json!("web01"), json!("web02"), json!("web03")]
        );
        assert_eq!(
            seq(json!(["2-10/4"]), json!({})).unwrap(),
            vec![json!("2"), json!("6"), json!("10")]
        );
        assert_eq!(
            seq(json!([]), json!({"count": 3, "start": 10})).unwrap(),
            vec![json!("10"), json!("11"), json!("12")]
        );
        // Keywords are defaults; the term's own options win.
        assert_eq!(
            seq(json!(["count=2 start=0", "count=2"]), json!({"start": 20})).unwrap(),
            vec![json!("0"), json!("1"), json!("20"), json!("21")]
        );
        assert_eq!(
            seq(json!(["count=5 start=0"]), json!({"stride": 0})).unwrap(),
            Vec::<Value>::new()
        );
        // count with a negative stride: end = start + count*stride - 1.
        assert_eq!(
            seq(json!(["count=2 start=0"]), json!({"stride": -1}))
                .unwrap()
                .len(),
            4
        );
        assert_eq!(
            seq(json!(["count=1 format=%03x"]), json!({"start": 255})).unwrap(),
            vec![json!("0ff")]
        );
        assert_eq!(seq(json!([]), json!({})).unwrap(), Vec::<Value>::new());
    }

    #[test]
    fn sequence_errors_as_ansible() {
        let e = |t: &str| seq(json!([t]), json!({})).unwrap_err();
        assert_eq!(
            e("start=0 junk=3"),
            "unrecognized arguments to with_sequence: ['junk']"
        );
        assert!(e("A-4/2").contains("Config 'start' for 'sequence' lookup plugin from 'Direct' has an invalid value: Invalid value provided for 'integer': 'A'"));
        assert!(e("start=1 end=B").contains("'end'"));
        assert_eq!(e("start=1"), "must specify count or end in with_sequence");
        assert_eq!(e("start=1 end=4 format=d"), "bad formatting string: d");
        assert_eq!(
            e("start=5 end=1"),
            "to count backwards make stride negative"
        );
    }

    #[test]
    fn subelements_pops_the_sub_list_and_checks_terms() {
        let users = json!([{"name": "a", "k": {"l": [1, 2]}}, {"name": "b", "skipped": true}]);
        assert_eq!(
            subelements(&[users.clone(), json!("k.l")]).unwrap(),
            vec![
                json!([{"name": "a", "k": {}}, 1]),
                json!([{"name": "a", "k": {}}, 2])
            ]
        );
        assert!(subelements(&[json!(9001), json!("k")])
            .unwrap_err()
            .contains("first a dict or a list"));
        assert!(subelements(&[users.clone(), json!("name")])
            .unwrap_err()
            .contains("should point to a list"));
        assert!(subelements(&[users.clone(), json!("k.l.x")])
            .unwrap_err()
            .contains("should point to a dictionary"));
        assert!(subelements(&[users.clone(), json!("nope")])
            .unwrap_err()
            .contains("could not find 'nope' key in iterated item"));
        assert!(subelements(&[users.clone(), json!("k.l"), json!(1)])
            .unwrap_err()
            .contains("the optional third item must be a dict"));
        assert!(subelements(std::slice::from_ref(&users))
            .unwrap_err()
            .contains("expects a list of two or three"));
        assert_eq!(
            subelements(&[json!({"skipped": true}), json!("k")]).unwrap(),
            Vec::<Value>::new()
        );
        assert_eq!(
            subelements(&[users, json!("nope"), json!({"skip_missing": true})]).unwrap(),
            Vec::<Value>::new()
        );
    }
}
