//! Where a `k8s*` task finds its cluster and credentials, in kubernetes.core's order: module
//! arguments, then the `K8S_AUTH_*` environment variables, then the kubeconfig (`kubeconfig`
//! argument, `KUBECONFIG`, `~/.kube/config`) and its current context.
//!
//! Explicit `host`/`api_key`/certificate arguments become a one-context kubeconfig of their
//! own, so every combination goes through kube-rs's kubeconfig loader (files, exec plugins,
//! tokens) the same way.

use super::K8sError;
use crate::modules::Args;
use serde_json::{json, Value};

/// The connection arguments shared by every `k8s*` module.
pub const ARG_NAMES: &[&str] = &[
    "kubeconfig",
    "context",
    "host",
    "api_key",
    "username",
    "password",
    "client_cert",
    "client_key",
    "ca_cert",
    "validate_certs",
    "proxy",
    "impersonate_user",
    "impersonate_groups",
];

/// The resolved settings; also the cache key of the client (`cluster.rs`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Auth {
    /// A kubeconfig path, or a kubeconfig given inline (as JSON text).
    pub kubeconfig: Option<String>,
    pub kubeconfig_inline: Option<String>,
    pub context: Option<String>,
    pub host: Option<String>,
    pub api_key: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub client_cert: Option<String>,
    pub client_key: Option<String>,
    pub ca_cert: Option<String>,
    pub validate_certs: Option<bool>,
    pub proxy: Option<String>,
    /// Act as this user and these groups (the API server's `Impersonate-*` headers).
    pub impersonate_user: Option<String>,
    pub impersonate_groups: Vec<String>,
    /// The SSH host the API server is reached through (`user@address:port`), if any.
    pub via: Option<String>,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl Auth {
    /// From the module's arguments, falling back to the controller's `K8S_AUTH_*`.
    pub fn from_args(args: &Args) -> Auth {
        Auth::from_args_with(args, env)
    }

    /// From the module's arguments alone (a task on an SSH host: the controller's
    /// environment is not the host's).
    pub fn from_args_only(args: &Args) -> Auth {
        Auth::from_args_with(args, |_| None)
    }

    fn from_args_with(args: &Args, env: fn(&str) -> Option<String>) -> Auth {
        let s = |k: &str, e: &str| args.str(k).map(str::to_string).or_else(|| env(e));
        let (kubeconfig, kubeconfig_inline) = match args.get("kubeconfig") {
            Some(Value::String(p)) => (Some(p.clone()), None),
            Some(v @ Value::Object(_)) => (None, Some(v.to_string())),
            _ => (env("K8S_AUTH_KUBECONFIG"), None),
        };
        Auth {
            kubeconfig,
            kubeconfig_inline,
            context: s("context", "K8S_AUTH_CONTEXT"),
            host: s("host", "K8S_AUTH_HOST"),
            api_key: s("api_key", "K8S_AUTH_API_KEY"),
            username: s("username", "K8S_AUTH_USERNAME"),
            password: s("password", "K8S_AUTH_PASSWORD"),
            client_cert: s("client_cert", "K8S_AUTH_CERT_FILE"),
            client_key: s("client_key", "K8S_AUTH_KEY_FILE"),
            ca_cert: s("ca_cert", "K8S_AUTH_SSL_CA_CERT"),
            validate_certs: args
                .get("validate_certs")
                .and_then(crate::modules::args::to_bool)
                .or_else(|| {
                    env("K8S_AUTH_VERIFY_SSL")
                        .and_then(|v| crate::modules::args::to_bool(&Value::String(v)))
                }),
            proxy: s("proxy", "K8S_AUTH_PROXY"),
            impersonate_user: s("impersonate_user", "K8S_AUTH_IMPERSONATE_USER"),
            impersonate_groups: args
                .strings("impersonate_groups")
                .or_else(|| {
                    env("K8S_AUTH_IMPERSONATE_GROUPS")
                        .map(|g| g.split(',').map(|s| s.trim().to_string()).collect())
                })
                .unwrap_or_default(),
            via: None,
        }
    }

    /// A kube-rs configuration for these settings.
    pub async fn config(&self) -> Result<kube::Config, K8sError> {
        let kubeconfig = self.kubeconfig()?;
        let options = kube::config::KubeConfigOptions {
            // The synthetic kubeconfig of `host` has a single context.
            context: self.context.clone().filter(|_| self.host.is_none()),
            cluster: None,
            user: None,
        };
        let mut config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
            .await
            .map_err(|e| K8sError(format!("Invalid kubeconfig: {e}")))?;
        if let Some(false) = self.validate_certs {
            config.accept_invalid_certs = true;
        }
        self.impersonate(&mut config)?;
        Ok(config)
    }

    fn impersonate(&self, config: &mut kube::Config) -> Result<(), K8sError> {
        let header = |name: &'static str, v: &str| {
            http::HeaderValue::from_str(v)
                .map(|v| (http::HeaderName::from_static(name), v))
                .map_err(|_| K8sError(format!("impersonation: {v:?} is not a valid header value")))
        };
        if let Some(u) = &self.impersonate_user {
            config.headers.push(header("impersonate-user", u)?);
        }
        for g in &self.impersonate_groups {
            config.headers.push(header("impersonate-group", g)?);
        }
        Ok(())
    }

    fn kubeconfig(&self) -> Result<kube::config::Kubeconfig, K8sError> {
        if self.host.is_some() {
            return self.synthetic();
        }
        if let Some(text) = &self.kubeconfig_inline {
            let v: Value = serde_json::from_str(text)
                .map_err(|e| K8sError(format!("Invalid kubeconfig: {e}")))?;
            return serde_json::from_value(v)
                .map_err(|e| K8sError(format!("Invalid kubeconfig: {e}")));
        }
        let path = self
            .kubeconfig
            .clone()
            .or_else(|| env("KUBECONFIG"))
            .unwrap_or_else(|| {
                crate::connection::ssh_config::home_dir()
                    .join(".kube/config")
                    .display()
                    .to_string()
            });
        kube::config::Kubeconfig::read_from(&path).map_err(|e| {
            K8sError(format!(
                "Could not read the kubeconfig {path}: {e}. Give `kubeconfig:` or `host:` + `api_key:` on the task, or set K8S_AUTH_KUBECONFIG or KUBECONFIG."
            ))
        })
    }

    /// A one-context kubeconfig from `host` and the credential arguments.
    fn synthetic(&self) -> Result<kube::config::Kubeconfig, K8sError> {
        let mut cluster = json!({"server": self.host});
        if let Some(ca) = &self.ca_cert {
            cluster["certificate-authority"] = json!(ca);
        }
        if self.validate_certs == Some(false) {
            cluster["insecure-skip-tls-verify"] = json!(true);
        }
        if let Some(p) = &self.proxy {
            cluster["proxy-url"] = json!(p);
        }
        let mut user = json!({});
        if let Some(t) = &self.api_key {
            user["token"] = json!(t);
        }
        if let (Some(u), Some(p)) = (&self.username, &self.password) {
            user["username"] = json!(u);
            user["password"] = json!(p);
        }
        if let Some(c) = &self.client_cert {
            user["client-certificate"] = json!(c);
        }
        if let Some(k) = &self.client_key {
            user["client-key"] = json!(k);
        }
        let kc = json!({
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "task", "cluster": cluster}],
            "users": [{"name": "task", "user": user}],
            "contexts": [{"name": "task", "context": {"cluster": "task", "user": "task"}}],
            "current-context": "task",
        });
        serde_json::from_value(kc)
            .map_err(|e| K8sError(format!("Invalid connection arguments: {e}")))
    }
}
