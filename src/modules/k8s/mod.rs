//! Kubernetes modules with kubernetes.core's names and arguments (`kubernetes.core.k8s`
//! resolves to `k8s`): k8s, k8s_info, k8s_scale, k8s_rollback, k8s_json_patch, k8s_drain, and
//! k8s_cluster_info and our k8s_rollout. The work is in `crate::k8s`; these files only map arguments and results.

pub mod cluster_info;
pub mod drain;
pub mod info;
pub mod json_patch;
pub mod objects;
pub mod rollback;
pub mod rollout;
pub mod scale;
pub mod unsupported;

use crate::k8s::auth::{Auth, ARG_NAMES};
use crate::k8s::cluster::Cluster;
use crate::k8s::wait::{Condition, WaitSpec};
use crate::k8s::{cluster, remote, runtime, K8sError};
use crate::modules::{ArgKind, ArgSpec, Args, ModuleContext, ModuleError};
use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// A module's own arguments followed by the connection arguments, built once.
pub fn with_auth(
    own: &'static [ArgSpec],
    cell: &'static OnceLock<Vec<ArgSpec>>,
) -> &'static [ArgSpec] {
    crate::modules::args::joined(own, &AUTH_SPEC, cell)
}

/// Runs `f` with the task's cluster client (shared for the run) on the Kubernetes runtime.
///
/// Where the task's host is reached over SSH, as kubernetes.core would run there: the
/// host's kubeconfig (read over the connection) and the API server through the host.
pub fn with_cluster<T, F, Fut>(args: &Args, ctx: &mut ModuleContext, f: F) -> Result<T, ModuleError>
where
    F: FnOnce(Arc<Cluster>) -> Fut,
    Fut: Future<Output = Result<T, K8sError>>,
{
    let tunnel = ctx.conn.ssh_target().cloned();
    let mut auth = match &tunnel {
        Some(_) => Auth::from_args_only(args),
        None => Auth::from_args(args),
    };
    if let Some(t) = &tunnel {
        auth.via = Some(format!("{}@{}:{}", t.user, t.address, t.port));
        if auth.host.is_none() && auth.kubeconfig_inline.is_none() {
            let path = auth.kubeconfig.take();
            let text = remote::kubeconfig(&mut *ctx.conn, &t.name, path.as_deref())
                .map_err(|e| failed(e.0))?;
            auth.kubeconfig_inline = Some(text);
        }
    }
    if tunnel.is_none() {
        if let Some(serde_json::Value::String(path)) = args.get("kubeconfig") {
            controller_kubeconfig(&mut auth, ctx, path)?;
        }
    }
    runtime::block_on(async {
        let c = cluster::get(&auth, tunnel.as_ref()).await?;
        f(c).await
    })
    .and_then(|r| r)
    .map_err(|e| failed(e.0))
}

/// A task's `kubeconfig` path on the controller, found as kubernetes.core's action plugin
/// finds it (the role's and the playbook's `files/`, then as given) and opened when it is
/// vault-encrypted. Several paths joined by `:` are read as given.
fn controller_kubeconfig(
    auth: &mut Auth,
    ctx: &ModuleContext,
    path: &str,
) -> Result<(), ModuleError> {
    if path.contains(':') {
        return Ok(());
    }
    let Some(found) = crate::modules::copy::find_local(ctx, path) else {
        return Ok(());
    };
    let data = std::fs::read(&found).map_err(|e| {
        failed(format!(
            "Could not read the kubeconfig {}: {e}",
            found.display()
        ))
    })?;
    if !crate::vault::is_encrypted(&data) {
        auth.kubeconfig = Some(found.display().to_string());
        return Ok(());
    }
    let plain = crate::vault::open(&data)
        .map_err(|e| failed(format!("{e} for the kubeconfig {}", found.display())))?;
    let config: serde_json::Value = serde_yaml_ng::from_slice(&plain).map_err(|e| {
        failed(format!(
            "Invalid kubeconfig {} (vault-encrypted): {e}",
            found.display()
        ))
    })?;
    auth.kubeconfig = None;
    auth.kubeconfig_inline = Some(config.to_string());
    Ok(())
}

/// The connection arguments every k8s module takes.
pub const AUTH_SPEC: [ArgSpec; 13] = [
    ArgSpec::new("kubeconfig", ArgKind::Raw),
    ArgSpec::new("context", ArgKind::Str),
    ArgSpec::new("host", ArgKind::Str),
    ArgSpec::new("api_key", ArgKind::Str),
    ArgSpec::new("username", ArgKind::Str),
    ArgSpec::new("password", ArgKind::Str),
    ArgSpec::new("client_cert", ArgKind::Path).aliases(&["cert_file"]),
    ArgSpec::new("client_key", ArgKind::Path).aliases(&["key_file"]),
    ArgSpec::new("ca_cert", ArgKind::Path).aliases(&["ssl_ca_cert"]),
    ArgSpec::new("validate_certs", ArgKind::Bool).aliases(&["verify_ssl"]),
    ArgSpec::new("proxy", ArgKind::Str),
    ArgSpec::new("impersonate_user", ArgKind::Str),
    ArgSpec::new("impersonate_groups", ArgKind::List),
];

const _: () = assert!(AUTH_SPEC.len() == ARG_NAMES.len());

/// `wait`, `wait_condition`, `wait_sleep`, `wait_timeout` (kubernetes.core's defaults: 5 s and
/// 120 s; we poll at most every 0.5 s, so `wait_sleep` is an upper bound).
pub fn wait_spec(args: &Args) -> Result<Option<WaitSpec>, ModuleError> {
    wait_spec_with(args, false, 120)
}

/// [`wait_spec`] with the module's own defaults for `wait` and `wait_timeout`.
pub fn wait_spec_with(
    args: &Args,
    wait_default: bool,
    timeout_default: i64,
) -> Result<Option<WaitSpec>, ModuleError> {
    if !args.bool_or("wait", wait_default) {
        return Ok(None);
    }
    let condition = match args.dict("wait_condition") {
        None => None,
        Some(c) => Some(Condition {
            type_: c
                .get("type")
                .and_then(|v| v.as_str())
                .ok_or_else(|| ModuleError::msg("wait_condition needs a type"))?
                .to_string(),
            status: c
                .get("status")
                .map(|v| match v {
                    serde_json::Value::Bool(b) => if *b { "True" } else { "False" }.to_string(),
                    other => other.as_str().unwrap_or("True").to_string(),
                })
                .unwrap_or_else(|| "True".into()),
            reason: c.get("reason").and_then(|v| v.as_str()).map(str::to_string),
        }),
    };
    Ok(Some(WaitSpec {
        timeout: Duration::from_secs(
            args.int("wait_timeout").unwrap_or(timeout_default).max(0) as u64
        ),
        sleep: Duration::from_secs(args.int("wait_sleep").unwrap_or(5).max(0) as u64),
        condition,
    }))
}

/// A failed k8s task with the message and kubernetes.core's keys.
pub fn failed(msg: impl Into<String>) -> ModuleError {
    ModuleError::msg(msg)
}
