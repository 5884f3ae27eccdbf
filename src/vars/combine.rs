//! How a variable set again combines with its old value: ansible-core's `combine_vars`.
//!
//! With `hash_behaviour = replace` (the default) the new value wins. With `merge`, when both
//! values are dicts they are merged recursively (`merge_hash`), the new side winning per key.

use serde_json::{Map, Value};
use std::sync::atomic::{AtomicBool, Ordering};

static HASH_MERGE: AtomicBool = AtomicBool::new(false);

/// `DEFAULT_HASH_BEHAVIOUR` (ansible.cfg / environment), set once by the CLI.
pub fn set_hash_merge(yes: bool) {
    HASH_MERGE.store(yes, Ordering::Relaxed);
}

/// Whether `hash_behaviour = merge` is on.
pub fn hash_merge() -> bool {
    HASH_MERGE.load(Ordering::Relaxed)
}

/// Recursively merges `new` into `old`; dicts on both sides merge, anything else replaces.
pub fn merge_into(old: &mut Map<String, Value>, new: Map<String, Value>) {
    for (k, v) in new {
        match (old.get_mut(&k), v) {
            (Some(Value::Object(o)), Value::Object(n)) => merge_into(o, n),
            (_, v) => {
                old.insert(k, v);
            }
        }
    }
}

/// Sets `key` to `value` in `vars`, merging dicts under `hash_behaviour = merge`.
pub fn set_var(vars: &mut Map<String, Value>, key: String, value: Value) {
    if hash_merge() {
        if let (Some(Value::Object(old)), Value::Object(new)) = (vars.get_mut(&key), &value) {
            merge_into(old, new.clone());
            return;
        }
    }
    vars.insert(key, value);
}

/// `combine_vars(old, new)` in place: every key of `new` set with [`set_var`].
pub fn combine_into(old: &mut Map<String, Value>, new: &Map<String, Value>) {
    for (k, v) in new {
        set_var(old, k.clone(), v.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_is_recursive_and_new_wins() {
        let mut old = json!({"a": {"x": 1, "y": {"p": 1}}, "l": [1]});
        let new = json!({"a": {"y": {"q": 2}, "z": 3}, "l": [2]});
        merge_into(
            old.as_object_mut().unwrap(),
            new.as_object().unwrap().clone(),
        );
        assert_eq!(
            old,
            json!({"a": {"x": 1, "y": {"p": 1, "q": 2}, "z": 3}, "l": [2]})
        );
    }
}
