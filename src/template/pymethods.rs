//! Python methods real playbooks call that minijinja-contrib's pycompat lacks
//! (`str.rsplit`, `str.zfill`, `list.index`); everything else goes to pycompat.

use minijinja::value::{Value, ValueKind};
use minijinja::{Error, ErrorKind, State};

pub fn unknown_method_callback(
    state: &mut State,
    value: &Value,
    method: &str,
    args: &[Value],
) -> Result<Value, Error> {
    match (value.kind(), method) {
        (ValueKind::String, "rsplit") => {
            let s = value.as_str().unwrap_or_default();
            let sep = args.first().and_then(Value::as_str);
            let max = args.get(1).and_then(Value::as_i64).unwrap_or(-1);
            let mut parts: Vec<String> = match sep {
                Some(sep) if !sep.is_empty() => {
                    if max < 0 {
                        s.rsplit(sep).map(str::to_string).collect()
                    } else {
                        s.rsplitn(max as usize + 1, sep)
                            .map(str::to_string)
                            .collect()
                    }
                }
                _ => s.split_whitespace().rev().map(str::to_string).collect(),
            };
            parts.reverse();
            Ok(Value::from(parts))
        }
        (ValueKind::String, "zfill") => {
            let s = value.as_str().unwrap_or_default();
            let width = args.first().and_then(Value::as_usize).unwrap_or(0);
            let len = s.chars().count();
            if len >= width {
                return Ok(Value::from(s));
            }
            super::limits::check_len("zfill", s.len() + width - len)?;
            let (sign, digits) = match s.strip_prefix(['-', '+']) {
                Some(rest) => (&s[..1], rest),
                None => ("", s),
            };
            Ok(Value::from(format!(
                "{sign}{}{digits}",
                "0".repeat(width - len)
            )))
        }
        (ValueKind::Seq, "index") => {
            let needle = args.first().cloned().unwrap_or(Value::UNDEFINED);
            for (i, item) in value.try_iter()?.enumerate() {
                if item == needle {
                    return Ok(Value::from(i));
                }
            }
            Err(Error::new(
                ErrorKind::InvalidOperation,
                format!("{needle} is not in list"),
            ))
        }
        _ => minijinja_contrib::pycompat::unknown_method_callback(state, value, method, args),
    }
}

#[cfg(test)]
mod tests {
    use crate::template::templar;
    use serde_json::json;

    fn eval(expr: &str) -> serde_json::Value {
        let ctx = crate::template::mj_value(json!({}));
        crate::template::to_json(&templar().eval(expr, &ctx).unwrap()).unwrap()
    }

    #[test]
    fn rsplit_zfill_index() {
        assert_eq!(eval("'a.b.c'.rsplit('.', 1)"), json!(["a.b", "c"]));
        assert_eq!(eval("'a b  c'.rsplit()"), json!(["a", "b", "c"]));
        assert_eq!(eval("'42'.zfill(5)"), json!("00042"));
        assert_eq!(eval("'-7'.zfill(4)"), json!("-007"));
        assert_eq!(eval("['x', 'y'].index('y')"), json!(1));
    }
}
