//! Kubernetes: the API client inside yiqiu-play (kube-rs), shared by the `k8s*` modules.
//!
//! - `runtime`: one tokio runtime for the process; modules stay synchronous and block on it.
//! - `auth`: credentials as kubernetes.core finds them (module args, `K8S_AUTH_*`, kubeconfig).
//! - `cluster`: one client per (cluster, credentials) for the whole run, with the kinds it has
//!   resolved (API discovery costs a round trip once per group-version, not per task).
//! - `remote`: the kubeconfig of a host reached over SSH, read over the connection (the
//!   API server is then reached through that host, `connection/tunnel.rs`).
//! - `manifest`: objects from `definition`, `src` and `template` (multi-document YAML too).
//! - `object`: present / absent for one object, with kubernetes.core's `changed` semantics.
//! - `wait`: readiness rules after `kubectl rollout status`.
//! - `scale`, `rollout`, `json_patch`, `drain`: what `k8s_scale`, `k8s_rollout` /
//!   `k8s_rollback`, `k8s_json_patch` and `k8s_drain` do.

pub mod auth;
pub mod cluster;
pub mod drain;
pub mod hidden;
pub mod json_patch;
pub mod manifest;
pub mod object;
pub mod remote;
pub mod rollout;
pub mod runtime;
pub mod scale;
pub mod wait;

/// A failed Kubernetes operation, already worded for the task result.
#[derive(Debug, Clone)]
pub struct K8sError(pub String);

impl std::fmt::Display for K8sError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<kube::Error> for K8sError {
    fn from(e: kube::Error) -> K8sError {
        K8sError(describe(&e))
    }
}

/// The API server's own message where there is one (`Failed to ... : <reason>`).
pub fn describe(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(status) => format!(
            "{} ({}, code {})",
            status.message, status.reason, status.code
        ),
        other => other.to_string(),
    }
}

/// The HTTP status of an API error, if it is one.
pub fn status_code(e: &kube::Error) -> Option<u16> {
    match e {
        kube::Error::Api(s) => Some(s.code),
        _ => None,
    }
}
