//! The variables a template sees: layers in Ansible's precedence order, templated lazily.
//!
//! A [`Scope`] is a minijinja object. Looking a name up finds the highest layer that has it;
//! if the raw value contains Jinja, it is rendered then, with the scope itself as context, so
//! vars may reference vars. A name that is met again while it is being rendered is a cycle,
//! reported with its chain.

use crate::template::{templar, to_json};
use minijinja::value::{Enumerator, Object, ObjectRepr};
use minijinja::Value as MjValue;
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

static NEXT_ID: AtomicUsize = AtomicUsize::new(1);

thread_local! {
    /// Names being rendered right now on this thread: (scope id, name).
    static RENDERING: RefCell<Vec<(usize, String)>> = const { RefCell::new(Vec::new()) };
    /// The first error met while rendering a variable inside another template; the outer
    /// error ("'a' is undefined") is less useful than this one.
    static NESTED_ERROR: RefCell<Option<String>> = const { RefCell::new(None) };
    /// Set when a chain hit [`MAX_VARIABLE_CHAIN`]: every level of it then gives up at once
    /// instead of retrying (the retries of a few hundred levels would never end).
    static CHAIN_TOO_DEEP: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Takes the error recorded while rendering nested variables, if any.
pub fn take_nested_error() -> Option<String> {
    NESTED_ERROR.with(|e| e.borrow_mut().take())
}

/// Clears a stale nested error before a new top-level render.
pub fn clear_nested_error() {
    NESTED_ERROR.with(|e| *e.borrow_mut() = None);
}

fn record_nested_error(msg: String) {
    NESTED_ERROR.with(|e| {
        let mut e = e.borrow_mut();
        if e.is_none() {
            *e = Some(msg);
        }
    });
}

/// Layers of variables, lowest precedence first, plus objects that are not plain data.
#[derive(Debug)]
pub struct Scope {
    id: usize,
    layers: Vec<Arc<Map<String, Value>>>,
    /// Names resolved by objects (`hostvars`), checked before the layers.
    objects: Vec<(String, MjValue)>,
    cache: Mutex<HashMap<String, MjValue>>,
    /// A layer whose values are data, never templated (set_fact and register results).
    literal: Option<usize>,
}

impl Scope {
    pub fn new(
        layers: Vec<Arc<Map<String, Value>>>,
        objects: Vec<(String, MjValue)>,
    ) -> Arc<Scope> {
        Arc::new(Scope {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            layers,
            objects,
            cache: Mutex::new(HashMap::new()),
            literal: None,
        })
    }

    /// Marks layer `layer` as data (see `literal`).
    pub fn with_literal(self: Arc<Self>, layer: usize) -> Arc<Scope> {
        let mut s = Arc::try_unwrap(self).unwrap_or_else(|a| Scope {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            layers: a.layers.clone(),
            objects: a.objects.clone(),
            cache: Mutex::new(HashMap::new()),
            literal: a.literal,
        });
        s.literal = Some(layer);
        Arc::new(s)
    }

    /// Whether the value `name` resolves to is literal data.
    fn is_literal(&self, name: &str) -> bool {
        self.literal.is_some()
            && self.layers.iter().rposition(|l| l.contains_key(name)) == self.literal
    }

    /// This scope as a template context.
    pub fn context(self: &Arc<Self>) -> MjValue {
        MjValue::from_dyn_object(self.clone())
    }

    /// The raw (untemplated) value of a name. Under `hash_behaviour = merge` a dict is
    /// merged with the dicts of the same name in lower layers (Ansible's `combine_vars`).
    pub fn raw(&self, name: &str) -> Option<Cow<'_, Value>> {
        let top = self.layers.iter().rposition(|l| l.contains_key(name))?;
        let value = self.layers[top].get(name)?;
        if !value.is_object() || !super::combine::hash_merge() {
            return Some(Cow::Borrowed(value));
        }
        let mut merged: Option<Value> = None;
        for l in &self.layers[..=top] {
            match (merged.as_mut(), l.get(name)) {
                (Some(Value::Object(m)), Some(Value::Object(n))) => {
                    super::combine::merge_into(m, n.clone())
                }
                (_, Some(v)) => merged = Some(v.clone()),
                (_, None) => {}
            }
        }
        merged.map(Cow::Owned)
    }

    /// Every name, highest layer's value winning, rendered. Used by `vars` and for `hostvars`
    /// dumps; a value that fails to render is left raw.
    pub fn names(&self) -> Vec<String> {
        let mut seen: indexmap::IndexSet<String> = indexmap::IndexSet::new();
        for l in &self.layers {
            for k in l.keys() {
                seen.insert(k.clone());
            }
        }
        for (k, _) in &self.objects {
            seen.insert(k.clone());
        }
        seen.into_iter().collect()
    }

    /// Renders a name to plain data.
    pub fn get_json(self: &Arc<Self>, name: &str) -> Result<Option<Value>, String> {
        clear_nested_error();
        match self.get_value_by_str(name) {
            Some(v) => to_json(&v).map(Some).map_err(|e| e.message),
            None => match take_nested_error() {
                Some(e) => Err(e),
                None => Ok(None),
            },
        }
    }

    fn resolve(self: &Arc<Self>, name: &str) -> Option<MjValue> {
        if name == "vars" {
            return Some(self.context());
        }
        if let Some((_, v)) = self.objects.iter().find(|(k, _)| k == name) {
            return Some(v.clone());
        }
        if let Some(v) = self
            .cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
        {
            return Some(v.clone());
        }
        let raw = self.raw(name)?;
        let raw = raw.as_ref();
        if !contains_template(raw) || self.is_literal(name) {
            return Some(to_mj(raw));
        }
        let key = (self.id, name.to_string());
        let cycle = RENDERING.with(|r| {
            let r = r.borrow();
            r.iter().position(|k| *k == key).map(|start| {
                let mut chain: Vec<String> = r[start..].iter().map(|(_, n)| n.clone()).collect();
                chain.push(name.to_string());
                chain.join(" -> ")
            })
        });
        if let Some(chain) = cycle {
            record_nested_error(format!("Recursive loop detected in template: {chain}"));
            return None;
        }
        let depth = RENDERING.with(|r| r.borrow().len());
        if depth > 0 && CHAIN_TOO_DEEP.with(|c| c.get()) {
            return None;
        }
        if depth >= MAX_VARIABLE_CHAIN {
            CHAIN_TOO_DEEP.with(|c| c.set(true));
            let start = RENDERING.with(|r| {
                let r = r.borrow();
                let names: Vec<&str> = r.iter().take(3).map(|(_, n)| n.as_str()).collect();
                names.join(" -> ")
            });
            record_nested_error(format!(
                "Recursive loop detected in template: maximum recursion depth exceeded (a chain of more than {MAX_VARIABLE_CHAIN} variables, each defined by the next: {start} -> ...)"
            ));
            return None;
        }
        RENDERING.with(|r| r.borrow_mut().push(key));
        let rendered = templar().render_value(raw, &self.context());
        let outermost = RENDERING.with(|r| {
            let mut r = r.borrow_mut();
            r.pop();
            r.is_empty()
        });
        if outermost {
            CHAIN_TOO_DEEP.with(|c| c.set(false));
        }
        match rendered {
            Ok(v) if crate::template::vault_filters::disarmed() => Some(to_mj(&v)),
            Ok(v) => {
                let mv = to_mj(&v);
                self.cache
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(name.to_string(), mv.clone());
                Some(mv)
            }
            Err(e) => {
                record_nested_error(format!(
                    "{} (while templating variable '{name}')",
                    e.message
                ));
                None
            }
        }
    }
}

/// How long a chain of variables, each defined by a template naming the next, may be.
/// ansible-playbook stops at about 87 (Python's recursion limit) with the same message.
const MAX_VARIABLE_CHAIN: usize = 400;

/// Whether a value holds Jinja anywhere inside.
pub fn contains_template(v: &Value) -> bool {
    match v {
        Value::String(s) => crate::template::is_template(s),
        Value::Array(items) => items.iter().any(contains_template),
        Value::Object(m) => m
            .iter()
            .any(|(k, v)| crate::template::is_template(k) || contains_template(v)),
        _ => false,
    }
}

impl Object for Scope {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &MjValue) -> Option<MjValue> {
        self.resolve(key.as_str()?)
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(self.names().into_iter().map(MjValue::from).collect())
    }
}

/// Plain data as a template value.
pub fn to_mj(v: &Value) -> MjValue {
    MjValue::from(minijinja::value::Serde(v))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scope(layers: Vec<Value>) -> Arc<Scope> {
        Scope::new(
            layers
                .into_iter()
                .map(|v| Arc::new(v.as_object().cloned().unwrap()))
                .collect(),
            vec![],
        )
    }

    #[test]
    fn higher_layer_wins_and_vars_reference_vars() {
        let s = scope(vec![
            json!({"a": 1, "greeting": "hi {{ name }}"}),
            json!({"a": 2, "name": "{{ who | upper }}", "who": "bob"}),
        ]);
        assert_eq!(s.get_json("a").unwrap(), Some(json!(2)));
        assert_eq!(s.get_json("greeting").unwrap(), Some(json!("hi BOB")));
        assert_eq!(s.get_json("missing").unwrap(), None);
    }

    #[test]
    fn native_values_survive() {
        let s = scope(vec![
            json!({"ports": [80, 443], "first": "{{ ports[0] }}", "n": "{{ ports | length }}"}),
        ]);
        assert_eq!(s.get_json("first").unwrap(), Some(json!(80)));
        assert_eq!(s.get_json("n").unwrap(), Some(json!(2)));
    }

    #[test]
    fn cycles_are_reported_with_their_chain() {
        let s = scope(vec![
            json!({"a": "{{ b }}", "b": "{{ c }}", "c": "{{ a }}"}),
        ]);
        let e = s.get_json("a").unwrap_err();
        assert!(
            e.contains("Recursive loop detected in template") && e.contains("a -> b -> c -> a"),
            "{e}"
        );
    }
}
