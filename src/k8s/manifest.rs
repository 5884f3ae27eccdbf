//! The objects a `k8s` task works on: `definition` (a mapping, a list, or YAML text with one
//! or more documents), `src` (a file found as `copy` finds it), or `template` (rendered on the
//! controller with the task's variables); or, with none of them, the object that `kind`,
//! `name`, `namespace` and `api_version` name.

use super::K8sError;
use crate::modules::{Args, ModuleContext};
use serde_json::{json, Value};

/// Every YAML document of `text` that is not empty.
pub fn parse_documents(text: &str, what: &str) -> Result<Vec<Value>, K8sError> {
    use serde::Deserialize;
    let mut out = Vec::new();
    for (i, doc) in serde_yaml_ng::Deserializer::from_str(text).enumerate() {
        let v = Value::deserialize(doc)
            .map_err(|e| K8sError(format!("Error parsing {what} (document {}): {e}", i + 1)))?;
        match v {
            Value::Null => {}
            Value::Array(items) => out.extend(items.into_iter().filter(|i| !i.is_null())),
            other => out.push(other),
        }
    }
    Ok(out)
}

/// The objects of the task, each with `namespace` filled in where the task gives one.
pub fn objects(args: &Args, ctx: &mut ModuleContext) -> Result<Vec<Value>, K8sError> {
    let mut objs = match (
        args.get("definition"),
        args.str("src"),
        args.get("template"),
    ) {
        (Some(Value::String(text)), _, _) => parse_documents(text, "definition")?,
        (Some(Value::Array(items)), _, _) => items.clone(),
        (Some(v @ Value::Object(_)), _, _) => vec![v.clone()],
        (Some(other), _, _) => {
            return Err(K8sError(format!(
                "definition must be a mapping, a list or YAML text, got {other}"
            )))
        }
        // kubernetes.core reads `src` where the module runs: on the controller for a local
        // connection, else on the host (relative to the login's home).
        (None, Some(src), _) if ctx.conn.transport() != "local" => {
            let text = super::remote::file(&mut *ctx.conn, ctx.host, src)?;
            parse_documents(&text, src)?
        }
        (None, Some(src), _) => {
            let path = crate::modules::copy::find_local(ctx, src)
                .ok_or_else(|| K8sError(format!("Error accessing {src}. Does the file exist?")))?;
            let text = std::fs::read_to_string(&path)
                .map_err(|e| K8sError(format!("Error reading {}: {e}", path.display())))?;
            parse_documents(&text, &path.display().to_string())?
        }
        (None, None, Some(t)) => {
            let name = match t {
                Value::String(s) => s.clone(),
                Value::Object(m) => m
                    .get("path")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                _ => String::new(),
            };
            let path = crate::modules::copy::find_local(ctx, &name)
                .ok_or_else(|| K8sError(format!("Could not find the template {name}")))?;
            let text = std::fs::read_to_string(&path)
                .map_err(|e| K8sError(format!("Error reading {}: {e}", path.display())))?;
            let rendered = ctx
                .eval
                .render_template(&text, &crate::template::FileOptions::default())
                .map_err(K8sError)?;
            parse_documents(&rendered, &path.display().to_string())?
        }
        (None, None, None) => vec![from_names(args)?],
    };
    for o in &mut objs {
        fill(o, args)?;
        if args.bool_or("append_hash", false) {
            append_hash(o);
        }
    }
    Ok(objs)
}

/// The object `kind` / `name` / `api_version` name (for `state: absent` and patches).
fn from_names(args: &Args) -> Result<Value, K8sError> {
    let kind = args.str("kind").ok_or_else(|| {
        K8sError("Error: kind is required when no definition, src or template is given".into())
    })?;
    let mut metadata = json!({});
    if let Some(n) = args.str("name") {
        metadata["name"] = json!(n);
    }
    if let Some(g) = args.str("generate_name") {
        metadata["generateName"] = json!(g);
    }
    Ok(json!({
        "apiVersion": args.str("api_version").unwrap_or("v1"),
        "kind": kind,
        "metadata": metadata,
    }))
}

/// Gives the object the task's `namespace` (when it has none) and checks the basics.
/// kubernetes.core's `merge_params`: the task's `kind`, `api_version`, `namespace`, `name` and
/// `generate_name` fill what the definition leaves out (the definition's own fields win).
fn fill(o: &mut Value, args: &Args) -> Result<(), K8sError> {
    let Some(obj) = o.as_object_mut() else {
        return Err(K8sError(format!(
            "a resource definition must be a mapping, got {o}"
        )));
    };
    for (key, arg) in [("kind", "kind"), ("apiVersion", "api_version")] {
        if let (None, Some(v)) = (obj.get(key), args.str(arg)) {
            obj.insert(key.into(), json!(v));
        }
    }
    if !obj.get("metadata").is_some_and(Value::is_object) {
        obj.insert("metadata".into(), json!({}));
    }
    for (key, arg) in [
        ("namespace", "namespace"),
        ("name", "name"),
        ("generateName", "generate_name"),
    ] {
        if let (None, Some(v)) = (o["metadata"].get(key), args.str(arg)) {
            o["metadata"][key] = json!(v);
        }
    }
    for key in ["apiVersion", "kind"] {
        if o.get(key).and_then(Value::as_str).is_none_or(str::is_empty) {
            return Err(K8sError(format!(
                "Error: the resource definition has no {key} (object: {})",
                label(o)
            )));
        }
    }
    Ok(())
}

/// `append_hash`: a ConfigMap's or Secret's name (or generateName) gets `-<hash of its
/// content>`, so a changed content is a new object (kubectl's and kubernetes.core's hash:
/// sha256 of `{"data","kind","name"}` (+ `"type"` for a Secret) as compact JSON with sorted
/// keys and ASCII escapes, its first 10 hex digits with `0 1 3 a e` read as `g h k m t`).
fn append_hash(o: &mut Value) {
    let kind = o["kind"].as_str().unwrap_or_default().to_string();
    if kind != "ConfigMap" && kind != "Secret" {
        return;
    }
    let (key, field) = match o["metadata"]["name"].as_str() {
        Some(n) if !n.is_empty() => ("name", n.to_string()),
        _ => match o["metadata"]["generateName"].as_str() {
            Some(g) if !g.is_empty() => ("generateName", g.to_string()),
            _ => ("name", String::new()),
        },
    };
    let mut keys = vec!["data", "kind", key];
    if kind == "Secret" {
        keys.push("type");
    }
    let mut text = String::from("{");
    for (i, k) in keys.iter().enumerate() {
        let value = match *k {
            "name" | "generateName" => json!(field),
            other => o.get(other).cloned().unwrap_or(json!("")),
        };
        if i > 0 {
            text.push(',');
        }
        text.push_str(&python_json(&json!(k)));
        text.push(':');
        text.push_str(&python_json(&value));
    }
    text.push('}');
    use sha2::Digest;
    let digest = sha2::Sha256::digest(text.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    let suffix: String = hex[..10]
        .chars()
        .map(|c| match c {
            '0' => 'g',
            '1' => 'h',
            '3' => 'k',
            'a' => 'm',
            'e' => 't',
            other => other,
        })
        .collect();
    o["metadata"][key] = json!(format!("{field}-{suffix}"));
}

/// Python's `json.dumps(v, separators=(",", ":"))` of sorted mappings: keys in code point
/// order, non-ASCII as `\uXXXX` escapes (UTF-16, as Python writes them).
fn python_json(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys
                .iter()
                .map(|k| format!("{}:{}", python_json(&json!(k)), python_json(&m[k.as_str()])))
                .collect();
            format!("{{{}}}", parts.join(","))
        }
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(python_json).collect();
            format!("[{}]", parts.join(","))
        }
        Value::String(s) => {
            let compact = serde_json::to_string(s).unwrap_or_default();
            let mut out = String::new();
            for c in compact.chars() {
                if c.is_ascii() {
                    out.push(c);
                } else {
                    let mut units = [0u16; 2];
                    for u in c.encode_utf16(&mut units) {
                        out.push_str(&format!("\\u{u:04x}"));
                    }
                }
            }
            out
        }
        other => other.to_string(),
    }
}

/// `kind/name` (or `kind/generateName*`) for messages.
pub fn label(o: &Value) -> String {
    let kind = o.get("kind").and_then(Value::as_str).unwrap_or("?");
    let meta = o.get("metadata");
    let name = meta
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| {
            meta.and_then(|m| m.get("generateName"))
                .and_then(Value::as_str)
                .map(|g| format!("{g}*"))
        })
        .unwrap_or_else(|| "?".into());
    format!("{}/{name}", kind.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_document_yaml_gives_every_object() {
        let docs = parse_documents(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n---\napiVersion: v1\nkind: Service\nmetadata: {name: b}\n",
            "x",
        )
        .unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(label(&docs[1]), "service/b");
        assert!(parse_documents("a: [", "x")
            .unwrap_err()
            .0
            .contains("document 1"));
    }
}

#[cfg(test)]
mod append_hash_tests {
    use super::append_hash;
    use serde_json::json;

    /// Known answers from kubernetes.core 6.2.0's `generate_hash` (module_utils/hashes.py).
    #[test]
    fn hashes_match_kubernetes_core() {
        let cases = [
            (
                json!({"kind": "ConfigMap", "metadata": {"name": "app"}, "data": {"b": "2", "a": "1 é"}}),
                "name",
                "app-m64fbbd6b4",
            ),
            (
                json!({"kind": "Secret", "metadata": {"generateName": "tok"}, "type": "Opaque", "data": {"k": "dg=="}}),
                "generateName",
                "tok-9dgb4btd4c",
            ),
            (
                json!({"kind": "ConfigMap", "metadata": {"name": "empty"}}),
                "name",
                "empty-4gt7kfhk64",
            ),
        ];
        for (mut obj, key, want) in cases {
            append_hash(&mut obj);
            assert_eq!(obj["metadata"][key], want);
        }
    }
}
