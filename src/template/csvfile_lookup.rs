//! The `csvfile` lookup: the `col` field of the first row whose `keycol` field is the search
//! key, read with Python's `csv` excel dialect and a chosen delimiter (TAB by default).
//! Options come as keywords or, deprecated, as `k=v` words after the key.

use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

const OPTIONS: [&str; 6] = ["col", "keycol", "delimiter", "file", "encoding", "default"];

/// The lookup's options after keywords and a term's `k=v` words.
#[derive(Clone)]
struct Opts {
    col: usize,
    keycol: usize,
    delimiter: String,
    file: String,
    default: Option<Value>,
}

fn to_int(name: &str, v: &Value) -> Result<usize, String> {
    let bad = || {
        format!(
            "Config '{name}' for 'csvfile' lookup plugin from 'Direct' has an invalid value: Invalid value provided for 'int': {}",
            crate::template::pyfmt::repr(v)
        )
    };
    match v {
        Value::Number(n) => n.as_u64().map(|n| n as usize).ok_or_else(bad),
        Value::String(s) => s.trim().parse().map_err(|_| bad()),
        _ => Err(bad()),
    }
}

fn apply(opts: &mut Opts, name: &str, v: &Value) -> Result<(), String> {
    match name {
        "col" => opts.col = to_int(name, v)?,
        "keycol" => opts.keycol = to_int(name, v)?,
        "delimiter" => opts.delimiter = crate::template::pyfmt::to_str(v),
        "file" => opts.file = crate::template::pyfmt::to_str(v),
        "default" => opts.default = Some(v.clone()).filter(|v| !v.is_null()),
        _ => {}
    }
    Ok(())
}

/// Runs the lookup over `terms`; `find` locates a file in the `files` search path.
pub fn csvfile(
    terms: &[String],
    kwargs: &Map<String, Value>,
    find: &dyn Fn(&str) -> Option<PathBuf>,
) -> Result<Vec<Value>, String> {
    let mut base = Opts {
        col: 1,
        keycol: 0,
        delimiter: "TAB".into(),
        file: "ansible.csv".into(),
        default: None,
    };
    for (k, v) in kwargs {
        if !OPTIONS.contains(&k.as_str()) {
            return Err(format!("{k:?} is not a valid option").replace('"', "'"));
        }
        apply(&mut base, k, v)?;
    }
    if terms.is_empty() {
        return Err("Search key is required but was not found".into());
    }
    let mut out = Vec::new();
    for term in terms {
        let mut kv = crate::playbook::kv::parse_kv(term)?;
        let Some(key) = kv.remove("_raw_params") else {
            return Err("Search key is required but was not found".into());
        };
        let key = crate::template::pyfmt::to_str(&key);
        // Inline options stay in force for the later terms, as set_option does.
        for (k, v) in &kv {
            if !OPTIONS.contains(&k.as_str()) {
                return Err(format!("'{k}' is not a valid option"));
            }
            apply(&mut base, k, v)?;
        }
        let delimiter = match base.delimiter.as_str() {
            "TAB" => "\t".to_string(),
            d => d.to_string(),
        };
        let path = find(&base.file);
        let found = match path {
            Some(p) => read_csv(&p, &key, &delimiter, base.col, base.keycol)?,
            None => return Err("expected str, bytes or os.PathLike object, not NoneType".into()),
        };
        match found.map(Value::String).or_else(|| base.default.clone()) {
            Some(Value::Array(items)) => out.extend(items),
            Some(v) => out.push(v),
            None => {}
        }
    }
    Ok(out)
}

fn read_csv(
    path: &Path,
    key: &str,
    delimiter: &str,
    col: usize,
    keycol: usize,
) -> Result<Option<String>, String> {
    let mut chars = delimiter.chars();
    let delim = match (chars.next(), chars.next()) {
        (Some(c), None) => c,
        _ => return Err("\"delimiter\" must be a 1-character string".into()),
    };
    let data = crate::vault::read_file(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let text = String::from_utf8_lossy(&data);
    for row in parse(&text, delim) {
        if row.is_empty() {
            continue;
        }
        let k = row.get(keycol).ok_or("list index out of range")?;
        if k == key {
            return row
                .get(col)
                .cloned()
                .map(Some)
                .ok_or_else(|| "list index out of range".into());
        }
    }
    Ok(None)
}

/// Python's `csv.reader` with the excel dialect (`"` quotes, `""` inside them, CR/LF line
/// ends) and `delim` between fields.
pub fn parse(text: &str, delim: char) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row: Vec<String> = Vec::new();
    let mut field = String::new();
    let mut in_quotes = false;
    let mut started = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if in_quotes {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => in_quotes = false,
                c => field.push(c),
            }
            continue;
        }
        match c {
            '"' if field.is_empty() && !started => {
                in_quotes = true;
                started = true;
            }
            c if c == delim => {
                row.push(std::mem::take(&mut field));
                started = false;
            }
            '\r' | '\n' => {
                if c == '\r' && chars.peek() == Some(&'\n') {
                    chars.next();
                }
                if started || !field.is_empty() || !row.is_empty() {
                    row.push(std::mem::take(&mut field));
                }
                rows.push(std::mem::take(&mut row));
                started = false;
            }
            c => {
                field.push(c);
                started = true;
            }
        }
    }
    if started || !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excel_dialect_quotes_and_line_ends() {
        let rows = parse("a,\"b,c\",\"\"\"q\"\" x\"\r\n\nlast,1", ',');
        assert_eq!(rows[0], vec!["a", "b,c", "\"q\" x"]);
        assert!(rows[1].is_empty());
        assert_eq!(rows[2], vec!["last", "1"]);
        // A quote inside an unquoted field is literal, as in Python.
        assert_eq!(parse("x\"y\"@z,1\n", ',')[0], vec!["x\"y\"@z", "1"]);
    }

    #[test]
    fn inline_options_and_defaults() {
        let d = tempfile::tempdir().expect("tempdir");
        let f = d.path().join("p.csv");
        std::fs::write(&f, "Smith,Jane\n\"The Rock\" Johnson,Dwayne\n").expect("csv");
        let find = |_: &str| Some(f.clone());
        let none = Map::new();
        let run = |t: &str| csvfile(&[t.to_string()], &none, &find);
        assert_eq!(
            run("Smith delimiter=,").expect("hit"),
            vec![Value::from("Jane")]
        );
        assert_eq!(
            run("nobody delimiter=,").expect("miss"),
            Vec::<Value>::new()
        );
        assert_eq!(
            run("nobody delimiter=, default=x").expect("dflt"),
            vec![Value::from("x")]
        );
        assert!(run("delimiter=,")
            .unwrap_err()
            .contains("Search key is required"));
        assert!(run("x bogus=1")
            .unwrap_err()
            .contains("'bogus' is not a valid option"));
        assert!(run("x col=2,")
            .unwrap_err()
            .contains("Invalid value provided for 'int': '2,'"));
    }
}
