//! The kubeconfig of a host reached over SSH (seed 002: the inventory lists the k8s master,
//! and the kubeconfig lives there). It is read over the task's connection, and everything it
//! points at on that host is brought along: certificate and key files and token files are
//! inlined, an exec plugin is run on the host and its token kept. The API server is then
//! reached through the host (`connection/tunnel.rs`), so the host needs neither Python nor
//! kubectl, and the API server need not be reachable from the controller.
//!
//! Resolved kubeconfigs are cached per (host, kubeconfig argument) for the run: a task pays
//! for the reads once. An exec plugin's token is not refreshed during a run.

use super::K8sError;
use crate::connection::{quote, Command, Connection};
use base64::Engine;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

fn cache() -> &'static Mutex<HashMap<(String, String), String>> {
    static C: OnceLock<Mutex<HashMap<(String, String), String>>> = OnceLock::new();
    C.get_or_init(|| Mutex::new(HashMap::new()))
}

/// A path on the host as a shell word: `~/x` stays relative to the login's `$HOME`.
fn shell_path(path: &str) -> String {
    match path.strip_prefix("~/") {
        Some(rest) => format!("\"$HOME\"/{}", quote(rest)),
        None => quote(path),
    }
}

fn run(
    conn: &mut dyn Connection,
    host: &str,
    script: &str,
    what: &str,
) -> Result<Vec<u8>, K8sError> {
    let out = conn
        .exec(&Command {
            script: script.to_string(),
            ..Command::default()
        })
        .map_err(|e| K8sError(format!("{host}: could not read {what}: {e}")))?;
    if out.rc != 0 {
        return Err(K8sError(format!(
            "{host}: could not read {what}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(out.stdout)
}

/// A manifest file (`src`) on the host, as kubernetes.core's module reads it there: a relative
/// path from the login's home. A missing file fails with the module's words.
pub fn file(conn: &mut dyn Connection, host: &str, path: &str) -> Result<String, K8sError> {
    let out = conn
        .exec(&Command {
            script: format!("cat -- {}", shell_path(path)),
            ..Command::default()
        })
        .map_err(|e| K8sError(format!("{host}: could not read {path}: {e}")))?;
    if out.rc != 0 {
        let why = String::from_utf8_lossy(&out.stderr);
        let why = why.trim();
        let why = why.rsplit(": ").next().unwrap_or(why);
        return Err(K8sError(format!(
            "Failed to load resource definition: {why}: '{path}' (on {host})"
        )));
    }
    String::from_utf8(out.stdout).map_err(|_| K8sError(format!("{host}: {path} is not UTF-8 text")))
}

/// The host's kubeconfig as JSON text, self-contained. `path`: the task's `kubeconfig`
/// argument (a path on the host), else `$KUBECONFIG` (its first entry), else
/// `~/.kube/config`.
pub fn kubeconfig(
    conn: &mut dyn Connection,
    host: &str,
    path: Option<&str>,
) -> Result<String, K8sError> {
    let key = (host.to_string(), path.unwrap_or_default().to_string());
    if let Some(found) = cache().lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
        return Ok(found.clone());
    }
    let locate = match path {
        Some(p) => format!("f={}", shell_path(p)),
        None => r#"f="${KUBECONFIG:-$HOME/.kube/config}"; f="${f%%:*}""#.to_string(),
    };
    let script = format!(r#"{locate}; printf '%s\n' "$f"; cat -- "$f""#);
    let out = run(conn, host, &script, "the kubeconfig")?;
    let text = String::from_utf8_lossy(&out).into_owned();
    let (file, body) = text.split_once('\n').unwrap_or((&text, ""));
    let mut config: Value = serde_yaml_ng::from_str(body).map_err(|e| {
        K8sError(format!(
            "{host}: the kubeconfig {file} is not valid YAML: {e}"
        ))
    })?;
    let dir = std::path::Path::new(file)
        .parent()
        .map(|d| d.display().to_string())
        .unwrap_or_default();
    inline_files(conn, host, &dir, &mut config)?;
    let json = config.to_string();
    cache()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(key, json.clone());
    Ok(json)
}

/// Replaces every file reference with its content, and exec plugins with their token.
fn inline_files(
    conn: &mut dyn Connection,
    host: &str,
    dir: &str,
    config: &mut Value,
) -> Result<(), K8sError> {
    let mut read = |p: &str| -> Result<Vec<u8>, K8sError> {
        let full = if p.starts_with('/') || p.starts_with("~/") {
            p.to_string()
        } else {
            format!("{dir}/{p}")
        };
        run(conn, host, &format!("cat -- {}", shell_path(&full)), &full)
    };
    let b64 = |d: &[u8]| Value::String(base64::engine::general_purpose::STANDARD.encode(d));
    for c in config["clusters"].as_array_mut().into_iter().flatten() {
        let cluster = &mut c["cluster"];
        if let Some(p) = take_str(cluster, "certificate-authority") {
            cluster["certificate-authority-data"] = b64(&read(&p)?);
        }
    }
    for u in config["users"].as_array_mut().into_iter().flatten() {
        let user = &mut u["user"];
        if let Some(p) = take_str(user, "client-certificate") {
            user["client-certificate-data"] = b64(&read(&p)?);
        }
        if let Some(p) = take_str(user, "client-key") {
            user["client-key-data"] = b64(&read(&p)?);
        }
        if let Some(p) = take_str(user, "tokenFile") {
            let token = String::from_utf8_lossy(&read(&p)?).trim().to_string();
            user["token"] = Value::String(token);
        }
    }
    for u in config["users"].as_array_mut().into_iter().flatten() {
        let user = &mut u["user"];
        if let Some(exec) = user.as_object_mut().and_then(|m| m.remove("exec")) {
            let status = exec_plugin(conn, host, &exec)?;
            if let Some(t) = status["token"].as_str() {
                user["token"] = Value::String(t.to_string());
            }
            for (from, to) in [
                ("clientCertificateData", "client-certificate-data"),
                ("clientKeyData", "client-key-data"),
            ] {
                if let Some(pem) = status[from].as_str() {
                    user[to] = b64(pem.as_bytes());
                }
            }
        }
    }
    Ok(())
}

fn take_str(v: &mut Value, key: &str) -> Option<String> {
    v.as_object_mut()
        .and_then(|m: &mut Map<String, Value>| m.remove(key))
        .and_then(|p| p.as_str().map(str::to_string))
}

/// Runs a kubeconfig exec plugin on the host; its ExecCredential's `status`.
fn exec_plugin(conn: &mut dyn Connection, host: &str, exec: &Value) -> Result<Value, K8sError> {
    let command = exec["command"].as_str().ok_or_else(|| {
        K8sError(format!(
            "{host}: the kubeconfig's exec plugin has no command"
        ))
    })?;
    let mut words = vec![command.to_string()];
    for a in exec["args"].as_array().into_iter().flatten() {
        words.push(a.as_str().unwrap_or_default().to_string());
    }
    let mut env = Vec::new();
    for e in exec["env"].as_array().into_iter().flatten() {
        if let (Some(n), Some(v)) = (e["name"].as_str(), e["value"].as_str()) {
            env.push((n.to_string(), v.to_string()));
        }
    }
    let api_version = exec["apiVersion"]
        .as_str()
        .unwrap_or("client.authentication.k8s.io/v1beta1");
    env.push((
        "KUBERNETES_EXEC_INFO".into(),
        format!(r#"{{"apiVersion":"{api_version}","kind":"ExecCredential","spec":{{"interactive":false}}}}"#),
    ));
    let out = conn
        .exec(&Command {
            script: crate::connection::join_argv(&words),
            env,
            ..Command::default()
        })
        .map_err(|e| {
            K8sError(format!(
                "{host}: the kubeconfig's exec plugin {command} failed: {e}"
            ))
        })?;
    if out.rc != 0 {
        return Err(K8sError(format!(
            "{host}: the kubeconfig's exec plugin {command} exited with {}: {}",
            out.rc,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let cred: Value = serde_json::from_slice(&out.stdout).map_err(|e| {
        K8sError(format!(
            "{host}: the kubeconfig's exec plugin {command} did not print an ExecCredential: {e}"
        ))
    })?;
    Ok(cred["status"].clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_paths_are_quoted_and_keep_home() {
        assert_eq!(shell_path("~/.kube/it's"), r#""$HOME"/'.kube/it'\''s'"#);
        assert_eq!(shell_path("/etc/k8s/admin.conf"), "/etc/k8s/admin.conf");
    }
}
