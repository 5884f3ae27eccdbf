//! Ansible's `unique` filter (`filter/mathstuff.py`): Jinja2's `unique` (strings compared
//! case-insensitively unless `case_sensitive=True`, or by `attribute`), and when Jinja2's
//! fails on unhashable items (dicts, lists), Ansible's own equality-based version, which
//! supports neither `case_sensitive=False` nor `attribute`.

use super::filters::fail;
use minijinja::value::{Kwargs, ValueKind};
use minijinja::{Environment, Error, Value as MjValue};

pub fn register(env: &mut Environment<'static>) {
    for name in ["unique", "ansible.builtin.unique"] {
        env.add_filter(name, unique);
    }
}

fn plugin_fail(msg: String) -> Error {
    fail(format!(
        "The filter plugin 'ansible.builtin.unique' failed: {msg}"
    ))
}

fn py_type(v: &MjValue) -> &'static str {
    super::filters::data(v)
        .map(|j| super::filters::type_name(&j))
        .unwrap_or("NoneType")
}

fn unique(values: MjValue, kwargs: Kwargs) -> Result<MjValue, Error> {
    let case_sensitive: Option<bool> = kwargs.get("case_sensitive")?;
    let attribute: Option<String> = kwargs.get("attribute")?;
    kwargs.assert_all_used()?;
    if values.is_undefined() {
        return Err(Error::from(minijinja::ErrorKind::UndefinedError));
    }
    let items: Vec<MjValue> = match values.kind() {
        ValueKind::Seq | ValueKind::Map | ValueKind::Iterable | ValueKind::String => {
            values.try_iter()?.collect()
        }
        _ => {
            return Err(plugin_fail(format!(
                "'{}' object is not iterable",
                py_type(&values)
            )))
        }
    };
    let key_of = |item: &MjValue| -> MjValue {
        match &attribute {
            Some(path) => {
                path.split('.')
                    .fold(item.clone(), |v, part| match part.parse::<usize>() {
                        Ok(i) => v.get_item_by_index(i).unwrap_or_default(),
                        Err(_) => v.get_attr(part).unwrap_or_default(),
                    })
            }
            None => item.clone(),
        }
    };
    let unhashable = items
        .iter()
        .map(key_of)
        .find(|k| matches!(k.kind(), ValueKind::Map | ValueKind::Seq));
    if let Some(k) = unhashable {
        if case_sensitive == Some(false) || attribute.is_some() {
            return Err(plugin_fail(format!(
                "Jinja2's unique filter failed and we cannot fall back to Ansible's version as it does not support the parameters supplied: unhashable type: '{}'",
                py_type(&k)
            )));
        }
        // Ansible's fallback: equality, strings as they are.
        let mut out: Vec<MjValue> = Vec::new();
        for item in items {
            if !out.contains(&item) {
                out.push(item);
            }
        }
        return Ok(MjValue::from(out));
    }
    let fold = |k: MjValue| match k.as_str() {
        Some(s) if case_sensitive != Some(true) => MjValue::from(s.to_lowercase()),
        _ => k,
    };
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for item in items {
        if seen.insert(fold(key_of(&item))) {
            out.push(item);
        }
    }
    Ok(MjValue::from(out))
}
