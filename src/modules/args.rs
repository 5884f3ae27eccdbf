//! Module argument specs and validation: unknown keys are an error, values are coerced
//! the way Ansible's argument spec does (`"yes"` is a bool, `"5"` an int, `"a,b"` a list).

use crate::template::filters::type_name;
use serde_json::{Map, Value};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgKind {
    Str,
    Bool,
    Int,
    Float,
    List,
    Dict,
    Path,
    /// Anything, kept as given.
    Raw,
}

/// The name of the wildcard spec entry made by [`ArgSpec::any`].
pub const ANY_KEY: &str = "*";

/// Whether `spec` accepts any key (has an [`ArgSpec::any`] entry).
pub fn accepts_any_key(spec: &[ArgSpec]) -> bool {
    spec.iter().any(|s| s.name == ANY_KEY)
}

#[derive(Clone, Copy, Debug)]
pub struct ArgSpec {
    pub name: &'static str,
    pub kind: ArgKind,
    pub required: bool,
    pub aliases: &'static [&'static str],
    pub choices: &'static [&'static str],
}

impl ArgSpec {
    pub const fn new(name: &'static str, kind: ArgKind) -> ArgSpec {
        ArgSpec {
            name,
            kind,
            required: false,
            aliases: &[],
            choices: &[],
        }
    }
    /// A wildcard entry: any key not named elsewhere in the spec is accepted and kept as
    /// given (set_fact's variables, add_host's host variables). Only the executor's
    /// `_ansible_*` keys stay hidden.
    pub const fn any() -> ArgSpec {
        ArgSpec::new(ANY_KEY, ArgKind::Raw)
    }
    pub const fn required(mut self) -> ArgSpec {
        self.required = true;
        self
    }
    pub const fn aliases(mut self, aliases: &'static [&'static str]) -> ArgSpec {
        self.aliases = aliases;
        self
    }
    pub const fn choices(mut self, choices: &'static [&'static str]) -> ArgSpec {
        self.choices = choices;
        self
    }
}

/// Validated arguments, keyed by canonical names.
/// A module's own arguments followed by a group that several modules share (the file
/// attributes, the cluster connection), joined once per module.
pub fn joined(
    own: &'static [ArgSpec],
    shared: &'static [ArgSpec],
    cell: &'static std::sync::OnceLock<Vec<ArgSpec>>,
) -> &'static [ArgSpec] {
    cell.get_or_init(|| own.iter().chain(shared.iter()).copied().collect())
}

#[derive(Clone, Debug, Default)]
pub struct Args(pub Map<String, Value>);

impl Args {
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(key).filter(|v| !v.is_null())
    }
    pub fn str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Value::as_str)
    }
    pub fn string(&self, key: &str) -> Option<String> {
        self.get(key).map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
    }
    pub fn bool(&self, key: &str) -> Option<bool> {
        self.get(key).and_then(Value::as_bool)
    }
    pub fn bool_or(&self, key: &str, default: bool) -> bool {
        self.bool(key).unwrap_or(default)
    }
    pub fn int(&self, key: &str) -> Option<i64> {
        self.get(key).and_then(Value::as_i64)
    }
    pub fn float(&self, key: &str) -> Option<f64> {
        self.get(key).and_then(Value::as_f64)
    }
    pub fn list(&self, key: &str) -> Option<&Vec<Value>> {
        self.get(key).and_then(Value::as_array)
    }
    /// A list argument's items as text (a non-string item as its JSON); `None` when the
    /// argument is not a list.
    pub fn strings(&self, key: &str) -> Option<Vec<String>> {
        let items = self.list(key)?;
        Some(
            items
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| v.to_string())
                })
                .collect(),
        )
    }
    pub fn dict(&self, key: &str) -> Option<&Map<String, Value>> {
        self.get(key).and_then(Value::as_object)
    }
}

/// Ansible's boolean coercion.
pub fn to_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => match n.as_f64() {
            Some(1.0) => Some(true),
            Some(0.0) => Some(false),
            _ => None,
        },
        Value::String(s) => match s.to_lowercase().as_str() {
            "yes" | "on" | "1" | "true" | "t" | "y" => Some(true),
            "no" | "off" | "0" | "false" | "f" | "n" | "" => Some(false),
            _ => None,
        },
        Value::Null => Some(false),
        _ => None,
    }
}

fn coerce(module: &str, spec: &ArgSpec, value: Value) -> Result<Value, String> {
    let wrong = |v: &Value, want: &str| {
        format!(
            "argument '{}' of module '{module}' is of type {} and we were unable to convert to {want}: {}",
            spec.name,
            type_name(v),
            v
        )
    };
    if value.is_null() {
        return Ok(value);
    }
    let out = match spec.kind {
        ArgKind::Raw => value,
        ArgKind::Str | ArgKind::Path => match value {
            Value::String(_) => value,
            Value::Number(n) => Value::String(n.to_string()),
            Value::Bool(b) => Value::String(if b { "True" } else { "False" }.into()),
            other => return Err(wrong(&other, "str")),
        },
        ArgKind::Bool => Value::Bool(to_bool(&value).ok_or_else(|| wrong(&value, "bool"))?),
        ArgKind::Int => match &value {
            Value::Number(n) if n.is_i64() => value,
            Value::Number(n) => match n.as_f64() {
                Some(f) if f.fract() == 0.0 => Value::from(f as i64),
                _ => return Err(wrong(&value, "int")),
            },
            Value::String(s) => {
                Value::from(s.trim().parse::<i64>().map_err(|_| wrong(&value, "int"))?)
            }
            _ => return Err(wrong(&value, "int")),
        },
        ArgKind::Float => match &value {
            Value::Number(_) => value,
            Value::String(s) => {
                let f: f64 = s.trim().parse().map_err(|_| wrong(&value, "float"))?;
                serde_json::Number::from_f64(f)
                    .map(Value::Number)
                    .ok_or_else(|| wrong(&value, "float"))?
            }
            _ => return Err(wrong(&value, "float")),
        },
        ArgKind::List => match value {
            Value::Array(_) => value,
            Value::String(s) => Value::Array(
                s.split(',')
                    .map(|p| Value::String(p.trim().to_string()))
                    .filter(|v| v.as_str() != Some(""))
                    .collect(),
            ),
            other => Value::Array(vec![other]),
        },
        ArgKind::Dict => match value {
            Value::Object(_) => value,
            Value::String(s) => {
                let parsed = crate::playbook::kv::parse_kv(&s)
                    .map_err(|_| wrong(&Value::String(s.clone()), "dict"))?;
                Value::Object(parsed)
            }
            other => return Err(wrong(&other, "dict")),
        },
    };
    if !spec.choices.is_empty() {
        let s = match &out {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        if !spec.choices.contains(&s.as_str()) {
            return Err(format!(
                "value of {} must be one of: {}, got: {s}",
                spec.name,
                spec.choices.join(", ")
            ));
        }
    }
    Ok(out)
}

/// Checks `raw` against `spec`: resolves aliases, rejects unknown keys (naming the closest
/// supported one), coerces types, checks required arguments and choices.
pub fn validate(module: &str, spec: &[ArgSpec], raw: Map<String, Value>) -> Result<Args, String> {
    let mut out = Map::new();
    let any_key = accepts_any_key(spec);
    for (key, value) in raw {
        let user_key = any_key && !key.starts_with("_ansible") && key != "_raw_params";
        if key.starts_with('_') && key != "_raw_params" && !user_key {
            continue; // internal keys such as _ansible_* are accepted silently, like Ansible
        }
        let found = spec
            .iter()
            .find(|s| s.name != ANY_KEY && (s.name == key || s.aliases.contains(&key.as_str())));
        if found.is_none() && user_key {
            out.insert(key, value);
            continue;
        }
        let Some(s) = found else {
            if key == "_raw_params" {
                return Err(format!(
                    "module '{module}' does not take a free-form argument; use key=value arguments"
                ));
            }
            let mut names: Vec<&str> = spec
                .iter()
                .map(|s| s.name)
                .filter(|n| *n != ANY_KEY)
                .collect();
            names.sort_unstable();
            let closest = names
                .iter()
                .map(|n| (strsim::jaro_winkler(n, &key), *n))
                .filter(|(score, _)| *score > 0.8)
                .max_by(|a, b| a.0.total_cmp(&b.0))
                .map(|(_, n)| format!(" Did you mean '{n}'?"))
                .unwrap_or_default();
            let mut aliases: Vec<&str> = spec
                .iter()
                .flat_map(|s| s.aliases.iter().copied())
                .collect();
            aliases.sort_unstable();
            let aliases = if aliases.is_empty() {
                String::new()
            } else {
                format!(" ({})", aliases.join(", "))
            };
            return Err(format!(
                "Unsupported parameters for ({module}) module: {key}.{closest} Supported parameters include: {}{aliases}.",
                names.join(", ")
            ));
        };
        out.insert(s.name.to_string(), coerce(module, s, value)?);
    }
    let missing: Vec<&str> = spec
        .iter()
        .filter(|s| s.required && out.get(s.name).is_none_or(Value::is_null))
        .map(|s| s.name)
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "missing required arguments: {}",
            missing.join(", ")
        ));
    }
    Ok(Args(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SPEC: &[ArgSpec] = &[
        ArgSpec::new("path", ArgKind::Path)
            .required()
            .aliases(&["dest", "name"]),
        ArgSpec::new("force", ArgKind::Bool),
        ArgSpec::new("state", ArgKind::Str).choices(&["file", "absent"]),
    ];

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn aliases_and_coercion() {
        let a = validate("file", SPEC, map(json!({"dest": "/x", "force": "yes"}))).unwrap();
        assert_eq!(a.str("path"), Some("/x"));
        assert_eq!(a.bool("force"), Some(true));
    }

    #[test]
    fn unknown_key_suggests_closest() {
        let e = validate("file", SPEC, map(json!({"path": "/x", "forse": true}))).unwrap_err();
        assert!(
            e.contains("forse") && e.contains("Did you mean 'force'"),
            "{e}"
        );
    }

    #[test]
    fn wildcard_keeps_any_key_but_hides_internal_ones() {
        const ANY: &[ArgSpec] = &[ArgSpec::new("cacheable", ArgKind::Bool), ArgSpec::any()];
        let a = validate(
            "set_fact",
            ANY,
            map(json!({"x": "1", "_y": 2, "_ansible_check_mode": true, "cacheable": "yes"})),
        )
        .unwrap();
        assert_eq!(a.0.get("x"), Some(&json!("1")));
        assert_eq!(a.0.get("_y"), Some(&json!(2)));
        assert!(a.0.get("_ansible_check_mode").is_none());
        assert_eq!(a.bool("cacheable"), Some(true));
        assert!(validate("set_fact", ANY, map(json!({"_raw_params": "x"}))).is_err());
    }

    #[test]
    fn required_and_choices() {
        assert!(validate("file", SPEC, map(json!({})))
            .unwrap_err()
            .contains("path"));
        let e = validate("file", SPEC, map(json!({"path": "/x", "state": "dir"}))).unwrap_err();
        assert!(e.contains("one of"), "{e}");
    }
}
