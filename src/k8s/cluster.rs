//! One API client per (cluster, credentials) for the whole run, and the kinds it resolved.
//!
//! A task pays for the client and for discovery only the first time its settings are seen;
//! after that a `k8s` task is the one or two HTTP round trips of its own request.

use super::auth::Auth;
use super::K8sError;
use crate::connection::ssh::Target;
use kube::api::{Api, DynamicObject};
use kube::discovery::{ApiCapabilities, ApiResource, Scope};
use kube::Client;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};

pub struct Cluster {
    pub client: Client,
    /// The namespace of the kubeconfig context (`default` when it names none).
    pub default_namespace: String,
    /// The API server's URL as the kubeconfig names it (not the local end of a tunnel).
    pub server: String,
    kinds: Mutex<HashMap<(String, String), (ApiResource, ApiCapabilities)>>,
    /// Namespaces a check-mode run would create: the server's dry run of an object inside one
    /// is refused (the namespace does not exist yet), so it is reported as to be created.
    pending_namespaces: Mutex<HashSet<String>>,
}

static CLUSTERS: OnceLock<Mutex<HashMap<Auth, Arc<Cluster>>>> = OnceLock::new();

/// The shared client for `auth`, made on first use; with `tunnel`, the API server is reached
/// through that SSH host.
pub async fn get(auth: &Auth, tunnel: Option<&Target>) -> Result<Arc<Cluster>, K8sError> {
    let all = CLUSTERS.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(c) = all.lock().unwrap_or_else(|p| p.into_inner()).get(auth) {
        return Ok(c.clone());
    }
    let mut config = auth.config().await?;
    // As the kubeconfig writes it (`http::Uri` adds a `/` path to a bare host:port).
    let server = config
        .cluster_url
        .to_string()
        .trim_end_matches('/')
        .to_string();
    // The API server names us in managedFields and audit logs by this.
    config.headers.push((
        http::header::USER_AGENT,
        http::HeaderValue::from_static(concat!("yiqiu-play/", env!("CARGO_PKG_VERSION"))),
    ));
    if let Some(t) = tunnel {
        through(&mut config, t)?;
    }
    let default_namespace = config.default_namespace.clone();
    let client = Client::try_from(config)
        .map_err(|e| K8sError(format!("Could not create the Kubernetes client: {e}")))?;
    let cluster = Arc::new(Cluster {
        client,
        default_namespace,
        server,
        kinds: Mutex::new(HashMap::new()),
        pending_namespaces: Mutex::new(HashSet::new()),
    });
    all.lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(auth.clone(), cluster.clone());
    Ok(cluster)
}

/// Points `config` at a local end of a tunnel through `t`; TLS still checks the API server's
/// own name.
fn through(config: &mut kube::Config, t: &Target) -> Result<(), K8sError> {
    let url = config.cluster_url.clone();
    let host = url
        .host()
        .ok_or_else(|| K8sError(format!("the kubeconfig's server {url} has no host")))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let https = url.scheme_str() != Some("http");
    let port = url.port_u16().unwrap_or(if https { 443 } else { 80 });
    let local =
        crate::connection::tunnel::forward(t, &host, port).map_err(|e| K8sError(e.to_string()))?;
    let path = url.path_and_query().map(|p| p.as_str()).unwrap_or("");
    let scheme = if https { "https" } else { "http" };
    config.cluster_url = format!("{scheme}://{local}{path}")
        .parse()
        .map_err(|e| K8sError(format!("tunnel address: {e}")))?;
    if config.tls_server_name.is_none() {
        config.tls_server_name = Some(host);
    }
    Ok(())
}

impl Cluster {
    /// The resource for `api_version` + `kind`, discovered once per run; an error when the
    /// server does not have it.
    pub async fn resource(
        &self,
        api_version: &str,
        kind: &str,
    ) -> Result<(ApiResource, ApiCapabilities), K8sError> {
        self.find_resource(api_version, kind).await?.ok_or_else(|| {
            K8sError(format!(
                "Failed to find exact match for {api_version}.{kind} by [kind, name, singularName, shortNames]"
            ))
        })
    }

    /// As [`Cluster::resource`], with `None` for a kind the server does not have (a server
    /// that cannot be reached is an error).
    pub async fn find_resource(
        &self,
        api_version: &str,
        kind: &str,
    ) -> Result<Option<(ApiResource, ApiCapabilities)>, K8sError> {
        let key = (api_version.to_string(), kind.to_string());
        if let Some(found) = self
            .kinds
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
        {
            return Ok(Some(found.clone()));
        }
        let (group, version) = match api_version.split_once('/') {
            Some((g, v)) => (g, v),
            None => ("", api_version),
        };
        let gvk = kube::api::GroupVersionKind::gvk(group, version, kind);
        let found = match kube::discovery::pinned_kind(&self.client, &gvk).await {
            Ok(found) => found,
            Err(kube::Error::Discovery(_)) => return Ok(None),
            Err(e) if super::status_code(&e) == Some(404) => return Ok(None),
            Err(e) => {
                return Err(K8sError(format!(
                    "Failed to reach the Kubernetes API to look up {api_version}.{kind}: {}",
                    super::describe(&e)
                )))
            }
        };
        self.kinds
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, found.clone());
        Ok(Some(found))
    }

    /// The API handle for `api_version` + `kind` in `namespace` (discovered once per run).
    pub async fn api_for(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
    ) -> Result<Api<DynamicObject>, K8sError> {
        let (ar, caps) = self.resource(api_version, kind).await?;
        Ok(self.api(&ar, &caps, namespace))
    }

    /// Notes that this run's check mode would create namespace `name`.
    pub fn namespace_pending(&self, name: &str) {
        self.pending_namespaces
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name.to_string());
    }

    /// Whether an earlier check-mode task of this run would have created namespace `name`.
    pub fn is_namespace_pending(&self, name: &str) -> bool {
        self.pending_namespaces
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(name)
    }

    /// An API handle for the resource, namespaced when the kind is.
    pub fn api(
        &self,
        ar: &ApiResource,
        caps: &ApiCapabilities,
        namespace: Option<&str>,
    ) -> Api<DynamicObject> {
        match caps.scope {
            Scope::Namespaced => Api::namespaced_with(
                self.client.clone(),
                namespace.unwrap_or(&self.default_namespace),
                ar,
            ),
            Scope::Cluster => Api::all_with(self.client.clone(), ar),
        }
    }
}
