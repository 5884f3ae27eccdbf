//! The `ini` lookup: a value (or the values whose keys match a regex) from an INI or Java
//! properties file, read as Python's `configparser` reads it (ansible-core's
//! `plugins/lookup/ini.py`): `=` or `:` delimiters, `#`/`;` comments, indented continuation
//! lines, a `DEFAULT` section every section inherits, `%(name)s` interpolation, keys
//! lower-cased unless `case_sensitive`.

use indexmap::IndexMap;
use serde_json::{Map, Value};

/// The lookup's options, with Ansible's defaults.
#[derive(Clone, Debug)]
struct Options {
    file: String,
    section: String,
    re: bool,
    encoding: String,
    default: Value,
    kind: String,
    case_sensitive: bool,
    allow_no_value: bool,
    interpolation: bool,
}

const OPTION_NAMES: [&str; 10] = [
    "file",
    "section",
    "re",
    "encoding",
    "default",
    "type",
    "case_sensitive",
    "allow_no_value",
    "allow_none",
    "interpolation",
];

impl Options {
    fn new() -> Options {
        Options {
            file: "ansible.ini".into(),
            section: "global".into(),
            re: false,
            encoding: "utf-8".into(),
            default: Value::String(String::new()),
            kind: "ini".into(),
            case_sensitive: false,
            allow_no_value: false,
            interpolation: true,
        }
    }

    fn set(&mut self, name: &str, v: &Value) -> Result<(), String> {
        let text = || match v {
            Value::String(s) => s.clone(),
            other => crate::template::pyfmt::to_str(other),
        };
        let flag = || -> Result<bool, String> {
            crate::modules::args::to_bool(v)
                .ok_or_else(|| format!("Invalid value for option '{name}': {}", text()))
        };
        match name {
            "file" => self.file = text(),
            "section" => self.section = text(),
            "re" => self.re = flag()?,
            "encoding" => self.encoding = text(),
            "default" => self.default = v.clone(),
            "type" => {
                let t = text();
                if t != "ini" && t != "properties" {
                    return Err(format!(
                        "Invalid value \"{t}\" for configuration option \"type\", valid values are: ini, properties"
                    ));
                }
                self.kind = t;
            }
            "case_sensitive" => self.case_sensitive = flag()?,
            "allow_no_value" | "allow_none" => self.allow_no_value = flag()?,
            "interpolation" => self.interpolation = flag()?,
            _ => return Err(format!("'{name}' is not a valid option.")),
        }
        Ok(())
    }
}

/// Ansible's `_parse_params`: a term's words grouped under the option they follow.
fn parse_params(term: &str) -> Vec<String> {
    let mut params: IndexMap<&str, String> = IndexMap::new();
    let mut this = "key";
    for (i, phrase) in term.split_whitespace().enumerate() {
        if phrase.contains('=') {
            for k in OPTION_NAMES {
                if phrase.contains(&format!("{k}=")) {
                    this = k;
                }
            }
        }
        let slot = params.entry(this).or_default();
        if i == 0 || slot.is_empty() {
            *slot = phrase.to_string();
        } else {
            slot.push(' ');
            slot.push_str(phrase);
        }
    }
    params.into_values().collect()
}

/// Runs the lookup: `find` resolves the file name in the `files` search path.
pub fn run(
    terms: &[String],
    kwargs: &Map<String, Value>,
    find: &dyn Fn(&str) -> Option<std::path::PathBuf>,
) -> Result<Vec<Value>, String> {
    let mut opts = Options::new();
    for (k, v) in kwargs {
        opts.set(k, v)?;
    }
    // One parser for all terms, as Ansible's: files read earlier stay loaded.
    let mut parser = Parser::default();
    let mut out = Vec::new();
    for term in terms {
        let mut key = term.clone();
        if term.contains('=') || term.trim().contains(' ') {
            let mut updated_key = false;
            for param in parse_params(term) {
                if let Some((name, value)) = param.split_once('=') {
                    if value.contains('=') {
                        return Err(format!("Could not use '{param}' from the term."));
                    }
                    opts.set(name, &Value::String(value.to_string()))?;
                } else if !updated_key {
                    key = param;
                    updated_key = true;
                }
            }
            if !updated_key {
                return Err(format!("No key to look up was provided as first term within string inline options: {term}"));
            }
        }
        let path = find(&opts.file)
            .ok_or_else(|| format!("Unable to find file '{}' in search path", opts.file))?;
        let bytes = crate::vault::read_file(&path)?;
        let mut text = decode(&bytes, &opts.encoding)?;
        let mut section = opts.section.clone();
        if opts.kind == "properties" {
            text = format!("[java_properties]\n{text}");
            section = "java_properties".into();
        }
        parser.case_sensitive = opts.case_sensitive;
        parser.allow_no_value = opts.allow_no_value;
        parser
            .read(&text)
            .map_err(|e| e.replace("{file}", &format!("'{}'", opts.file)))?;
        let Some(values) = parser.section(&section) else {
            return Err(format!("No section '{section}' in '{}'.", opts.file));
        };
        let resolve = |v: &Option<String>| -> Result<Value, String> {
            match v {
                None => Ok(Value::Null),
                Some(s) if opts.interpolation => interpolate(s, &values, 0).map(Value::String),
                Some(s) => Ok(Value::String(s.clone())),
            }
        };
        if opts.re {
            let re = regex::Regex::new(&format!("^(?:{key})")).map_err(|e| e.to_string())?;
            for (k, v) in &values {
                if re.is_match(k) {
                    out.push(resolve(v)?);
                }
            }
            continue;
        }
        let wanted = parser.key(&key);
        match values.get(&wanted) {
            Some(v) => match resolve(v)? {
                Value::Null => {}
                found => out.push(found),
            },
            None if opts.default.is_null() => {}
            None => out.push(opts.default.clone()),
        }
    }
    Ok(out)
}

fn decode(bytes: &[u8], encoding: &str) -> Result<String, String> {
    match encoding.to_lowercase().replace(['-', '_'], "").as_str() {
        "utf8" => String::from_utf8(bytes.to_vec()).map_err(|e| e.to_string()),
        "latin1" | "iso88591" | "iso885915" | "l1" => {
            Ok(bytes.iter().map(|&b| b as char).collect())
        }
        "ascii" => String::from_utf8(bytes.to_vec())
            .ok()
            .filter(|s| s.is_ascii())
            .ok_or_else(|| "'ascii' codec can't decode the file".to_string()),
        other => Err(format!("unknown encoding: {other}")),
    }
}

/// `configparser`'s BasicInterpolation: `%(name)s` is another option of the section,
/// `%%` a percent sign.
fn interpolate(
    s: &str,
    values: &IndexMap<String, Option<String>>,
    depth: usize,
) -> Result<String, String> {
    if depth > 10 {
        return Err("Recursion limit exceeded in value substitution".into());
    }
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('%') {
        out.push_str(&rest[..i]);
        let tail = &rest[i + 1..];
        if let Some(t) = tail.strip_prefix('%') {
            out.push('%');
            rest = t;
        } else if let Some(t) = tail.strip_prefix('(') {
            let end = t
                .find(")s")
                .ok_or_else(|| format!("bad interpolation variable reference '{rest}'"))?;
            let name = t[..end].to_lowercase();
            let v = values
                .get(&name)
                .cloned()
                .flatten()
                .ok_or_else(|| format!("Bad value substitution: option '{name}'"))?;
            out.push_str(&interpolate(&v, values, depth + 1)?);
            rest = &t[end + 2..];
        } else {
            return Err(format!(
                "'%' must be followed by '%' or '(', found: '%{tail}'"
            ));
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[derive(Default)]
struct Parser {
    defaults: IndexMap<String, Option<String>>,
    sections: IndexMap<String, IndexMap<String, Option<String>>>,
    case_sensitive: bool,
    allow_no_value: bool,
}

impl Parser {
    fn key(&self, k: &str) -> String {
        if self.case_sensitive {
            k.to_string()
        } else {
            k.to_lowercase()
        }
    }

    /// A section's options over the defaults.
    fn section(&self, name: &str) -> Option<IndexMap<String, Option<String>>> {
        let own = self.sections.get(name)?;
        let mut all = self.defaults.clone();
        all.extend(own.iter().map(|(k, v)| (k.clone(), v.clone())));
        Some(all)
    }

    fn read(&mut self, text: &str) -> Result<(), String> {
        let mut current: Option<String> = None;
        let mut seen_sections = std::collections::HashSet::new();
        let mut seen_options = std::collections::HashSet::new();
        // The option a continuation line extends, and its indent.
        let mut last: Option<(String, usize)> = None;
        for (n, raw) in text.lines().enumerate() {
            let stripped = raw.trim();
            if stripped.starts_with('#') || stripped.starts_with(';') {
                continue;
            }
            if stripped.is_empty() {
                last = None;
                continue;
            }
            let indent = raw.len() - raw.trim_start().len();
            if let (Some((opt, level)), Some(sec)) = (&last, &current) {
                if indent > *level {
                    let table = self.table(sec);
                    if let Some(Some(v)) = table.get_mut(opt) {
                        v.push('\n');
                        v.push_str(stripped);
                    }
                    continue;
                }
            }
            if let Some(name) = stripped.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
                if !seen_sections.insert(name.to_string()) {
                    return Err(format!("Duplicate section '{name}' in {{file}}."));
                }
                self.table(name);
                current = Some(name.to_string());
                last = None;
                continue;
            }
            let Some(sec) = current.clone() else {
                return Err(format!(
                    "File contains no section headers. file: {{file}}, line: {}",
                    n + 1
                ));
            };
            let delim = stripped.find(['=', ':']);
            let (k, v) = match delim {
                Some(i) => (
                    stripped[..i].trim(),
                    Some(stripped[i + 1..].trim().to_string()),
                ),
                None if self.allow_no_value => (stripped, None),
                None => {
                    return Err(format!(
                        "Source contains parsing errors: {{file}}\n\t[line {:2}]: {raw:?}",
                        n + 1
                    ))
                }
            };
            let key = self.key(k);
            if !seen_options.insert((sec.clone(), key.clone())) {
                return Err("Duplicate option in {file}.".to_string());
            }
            self.table(&sec).insert(key.clone(), v);
            last = Some((key, indent));
        }
        Ok(())
    }

    fn table(&mut self, name: &str) -> &mut IndexMap<String, Option<String>> {
        if name == "DEFAULT" {
            return &mut self.defaults;
        }
        self.sections.entry(name.to_string()).or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_params_group_words_under_their_option() {
        assert_eq!(
            parse_params("key with space  type=properties  file=a b.ini"),
            vec!["key with space", "type=properties", "file=a b.ini"]
        );
        assert_eq!(parse_params("file=x.ini"), vec!["file=x.ini"]);
    }

    #[test]
    fn parses_like_configparser() {
        let mut p = Parser::default();
        p.read("[DEFAULT]\nbase = /u\n[a]\nK1 = v\n  more\nk2: %(base)s/x\n")
            .unwrap();
        let s = p.section("a").unwrap();
        assert_eq!(s["k1"], Some("v\nmore".into()));
        assert_eq!(
            interpolate(s["k2"].as_deref().unwrap(), &s, 0).unwrap(),
            "/u/x"
        );
        let mut p = Parser::default();
        assert!(p
            .read("[a]\nx=1\nX=2\n")
            .unwrap_err()
            .contains("Duplicate option"));
    }
}
