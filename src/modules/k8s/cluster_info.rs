//! `k8s_cluster_info` (kubernetes.core.k8s_cluster_info): the server's version, the API
//! groups and kinds it serves, and how we reached it. Read-only, so it runs in check mode.

use crate::k8s::cluster::Cluster;
use crate::k8s::K8sError;
use crate::modules::util::map;
use crate::modules::{ArgKind, ArgSpec, Args, Module, ModuleContext, ModuleResult};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::APIResourceList;
use serde_json::{json, Map, Value};
use std::sync::OnceLock;

pub struct K8sClusterInfo;

const OWN_SPEC: &[ArgSpec] = &[ArgSpec::new("invalidate_cache", ArgKind::Bool)];

fn spec() -> &'static [ArgSpec] {
    static ALL: OnceLock<Vec<ArgSpec>> = OnceLock::new();
    super::with_auth(OWN_SPEC, &ALL)
}

impl Module for K8sClusterInfo {
    fn name(&self) -> &'static str {
        "k8s_cluster_info"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        spec()
    }
    fn run(&self, args: &Args, ctx: &mut ModuleContext) -> ModuleResult {
        let (server, apis, reached) = super::with_cluster(args, ctx, |cluster| async move {
            let version = cluster.client.apiserver_version().await.map_err(|e| {
                K8sError(format!(
                    "Failed to get the Kubernetes server version: {}",
                    crate::k8s::describe(&e)
                ))
            })?;
            let apis = all_apis(&cluster).await?;
            Ok::<_, K8sError>((version, apis, cluster.server.clone()))
        })?;
        let secret = |k: &str| {
            args.str(k)
                .map(|_| json!("********"))
                .unwrap_or(Value::Null)
        };
        let connection = json!({
            "host": reached,
            "cert_file": args.str("client_cert"),
            "ssl_ca_cert": args.str("ca_cert"),
            "username": args.str("username"),
            // kubernetes.core returns the password in clear; we never print a secret.
            "password": secret("password"),
            "proxy": args.str("proxy"),
            "verify_ssl": args.bool_or("validate_certs", true),
        });
        let version = json!({
            "client": format!("yiqiu-play {} (kube-rs)", env!("CARGO_PKG_VERSION")),
            "server": {"kubernetes": serde_json::to_value(server).unwrap_or(Value::Null)},
        });
        Ok(map([
            ("changed", Value::Bool(false)),
            ("apis", Value::Object(apis)),
            ("connection", connection),
            ("version", version),
        ]))
    }
}

/// `{"v1": {"Pod": {...}}, "apps/v1": {"Deployment": {...}}}` as kubernetes.core builds it
/// from discovery: one entry per kind, subresources left out.
async fn all_apis(cluster: &Cluster) -> Result<Map<String, Value>, K8sError> {
    let c = &cluster.client;
    let failed = |e: kube::Error| {
        K8sError(format!(
            "Failed to list the server's APIs: {}",
            crate::k8s::describe(&e)
        ))
    };
    let mut out = Map::new();
    for v in c.list_core_api_versions().await.map_err(failed)?.versions {
        let list = c.list_core_api_resources(&v).await.map_err(failed)?;
        out.insert(v, kinds(&list, true));
    }
    for group in c.list_api_groups().await.map_err(failed)?.groups {
        let preferred = group.preferred_version.map(|p| p.group_version);
        for v in group.versions {
            let list = c
                .list_api_group_resources(&v.group_version)
                .await
                .map_err(failed)?;
            let is_preferred = preferred.as_deref() == Some(v.group_version.as_str());
            out.insert(v.group_version, kinds(&list, is_preferred));
        }
    }
    Ok(out)
}

fn kinds(list: &APIResourceList, preferred: bool) -> Value {
    let mut by_kind = Map::new();
    for r in list.resources.iter().filter(|r| !r.name.contains('/')) {
        by_kind.insert(
            r.kind.clone(),
            json!({
                "categories": r.categories.clone().unwrap_or_default(),
                "name": r.name,
                "namespaced": r.namespaced,
                "preferred": preferred,
                "short_names": r.short_names.clone().unwrap_or_default(),
                "singular_name": r.singular_name,
            }),
        );
    }
    Value::Object(by_kind)
}
