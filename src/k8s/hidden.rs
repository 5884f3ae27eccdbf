//! `hidden_fields`: paths removed from what a task returns (kubernetes.core's
//! `hide_fields`): `metadata.managedFields`, `spec.containers[0].env`,
//! `metadata.annotations[kubectl.kubernetes.io/last-applied-configuration]`. A mapping or list
//! left empty by the removal is removed too.

use serde_json::Value;

/// The keys of one path: `a.b[c.d][0]` is `a`, `b`, `c.d`, `0`.
fn keys(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = path;
    while !rest.is_empty() {
        let (key, next) = split_first(rest);
        out.push(key.to_string());
        rest = next;
    }
    out
}

fn split_first(path: &str) -> (&str, &str) {
    let lbracket = path.find('[');
    let dot = path.find('.');
    if lbracket == Some(0) {
        let rbracket = path.find(']').unwrap_or(path.len());
        let rest = path.get(rbracket + 1..).unwrap_or("");
        return (&path[1..rbracket], rest.strip_prefix('.').unwrap_or(rest));
    }
    match (lbracket, dot) {
        (Some(l), d) if d.is_none_or(|d| l < d) => (&path[..l], &path[l..]),
        (_, Some(d)) => (&path[..d], &path[d + 1..]),
        _ => (path, ""),
    }
}

fn remove(v: &mut Value, keys: &[String]) {
    let Some((first, rest)) = keys.split_first() else {
        return;
    };
    let child = match v {
        Value::Object(m) if rest.is_empty() => {
            m.shift_remove(first);
            return;
        }
        Value::Object(m) => m.get_mut(first),
        Value::Array(items) => match first.parse::<usize>() {
            Ok(i) if i < items.len() && rest.is_empty() => {
                items.remove(i);
                return;
            }
            Ok(i) => items.get_mut(i),
            Err(_) => None,
        },
        _ => None,
    };
    let Some(child) = child else { return };
    remove(child, rest);
    let emptied = match child {
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    };
    if emptied {
        match v {
            Value::Object(m) => {
                m.shift_remove(first);
            }
            Value::Array(items) => {
                if let Ok(i) = first.parse::<usize>() {
                    items.remove(i);
                }
            }
            _ => {}
        }
    }
}

/// `obj` without the hidden fields. List indexes are removed from the highest down, so
/// `env[0]` and `env[3]` both name the original items.
pub fn hide(obj: &mut Value, fields: &[String]) {
    let mut paths: Vec<Vec<String>> = fields.iter().map(|f| keys(f)).collect();
    let segment = |k: &String| (k.parse::<usize>().ok(), k.clone());
    paths.sort_by(|a, b| {
        let (a, b): (Vec<_>, Vec<_>) = (
            a.iter().map(segment).collect(),
            b.iter().map(segment).collect(),
        );
        b.cmp(&a)
    });
    for p in &paths {
        remove(obj, p);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_split_as_kubernetes_core_splits_them() {
        assert_eq!(
            keys("metadata.managedFields"),
            ["metadata", "managedFields"]
        );
        assert_eq!(
            keys("metadata.annotations[kubectl.kubernetes.io/last-applied-configuration]"),
            [
                "metadata",
                "annotations",
                "kubectl.kubernetes.io/last-applied-configuration"
            ]
        );
        assert_eq!(
            keys("spec.containers[0].env"),
            ["spec", "containers", "0", "env"]
        );
    }

    #[test]
    fn hidden_fields_and_what_they_empty_are_gone() {
        let mut v = json!({
            "metadata": {"name": "x", "managedFields": [1], "annotations": {"a.b/c": "1"}},
            "data": {"env": [0, 1, 2, 3]},
        });
        hide(
            &mut v,
            &[
                "metadata.managedFields".into(),
                "metadata.annotations[a.b/c]".into(),
                "data.env[0]".into(),
                "data.env[3]".into(),
                "no.such.path".into(),
            ],
        );
        assert_eq!(
            v,
            json!({"metadata": {"name": "x"}, "data": {"env": [1, 2]}})
        );
    }
}
