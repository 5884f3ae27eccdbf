//! `k8s_drain`: cordon, drain (cordon + evict the node's pods through the Eviction API, as
//! `kubectl drain` does) and uncordon, with kubernetes.core's messages and pod filters:
//! DaemonSet pods need `ignore_daemonsets`, pods no controller manages need `force`, pods with
//! emptyDir volumes need `delete_emptydir_data`; mirror pods are never touched.

use super::cluster::Cluster;
use super::K8sError;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

#[derive(Clone, Debug, Default)]
pub struct DrainOptions {
    pub force: bool,
    pub ignore_daemonsets: bool,
    pub delete_emptydir_data: bool,
    pub disable_eviction: bool,
    pub grace_period: Option<i64>,
    pub wait_timeout: Option<Duration>,
    pub wait_sleep: Duration,
    pub pod_selectors: Option<String>,
}

/// What happened, in kubernetes.core's words.
pub struct Drained {
    pub changed: bool,
    pub message: String,
    pub warnings: Vec<String>,
}

/// Sets `spec.unschedulable`; false when it already had that value.
pub async fn set_unschedulable(
    cluster: &Cluster,
    node: &str,
    unschedulable: bool,
    dry_run: bool,
) -> Result<Drained, K8sError> {
    let api: Api<Node> = Api::all(cluster.client.clone());
    let current = api
        .get_opt(node)
        .await
        .map_err(|e| {
            K8sError(format!(
                "Failed to get node {node}: {}",
                super::describe(&e)
            ))
        })?
        .ok_or_else(|| K8sError(format!("Node {node} not found.")))?;
    let is = current.spec.and_then(|s| s.unschedulable).unwrap_or(false);
    let word = if unschedulable {
        "unschedulable"
    } else {
        "schedulable"
    };
    if is == unschedulable {
        return Ok(Drained {
            changed: false,
            message: format!("node {node} already marked {word}."),
            warnings: Vec::new(),
        });
    }
    let pp = PatchParams {
        dry_run,
        ..PatchParams::default()
    };
    let patch = json!({"spec": {"unschedulable": unschedulable}});
    api.patch(node, &pp, &Patch::Merge(&patch))
        .await
        .map_err(|e| {
            K8sError(format!(
                "Failed to patch node {node}: {}",
                super::describe(&e)
            ))
        })?;
    Ok(Drained {
        changed: true,
        message: format!("node {node} marked {word}."),
        warnings: Vec::new(),
    })
}

/// What the drain does with one pod, kubernetes.core's categories.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Verdict {
    Delete,
    /// Deleted, with a warning (`force`, `delete_emptydir_data`).
    DeleteUnmanaged,
    DeleteLocalStorage,
    /// Left alone, with a warning.
    IgnoreDaemonSet,
    IgnoreMirror,
    /// The drain stops.
    RefuseUnmanaged,
    RefuseDaemonSet,
    RefuseLocalStorage,
}

impl Verdict {
    fn deletes(self) -> bool {
        matches!(
            self,
            Verdict::Delete | Verdict::DeleteUnmanaged | Verdict::DeleteLocalStorage
        )
    }
    fn refuses(self) -> bool {
        matches!(
            self,
            Verdict::RefuseUnmanaged | Verdict::RefuseDaemonSet | Verdict::RefuseLocalStorage
        )
    }
    /// kubernetes.core's words, followed by `: ns/a,ns/b.`
    fn words(self) -> &'static str {
        match self {
            Verdict::Delete => "",
            Verdict::DeleteUnmanaged => "Deleting Pods not managed by ReplicationController, ReplicaSet, Job, DaemonSet or StatefulSet",
            Verdict::DeleteLocalStorage => "Deleting Pods with local storage",
            Verdict::IgnoreDaemonSet => "Ignoring DaemonSet-managed Pods",
            Verdict::IgnoreMirror => "cannot delete mirror Pods using API server",
            Verdict::RefuseUnmanaged => "cannot delete Pods not managed by ReplicationController, ReplicaSet, Job, DaemonSet or StatefulSet (use option force set to yes)",
            Verdict::RefuseDaemonSet => "cannot delete DaemonSet-managed Pods (use option ignore_daemonset set to yes)",
            Verdict::RefuseLocalStorage => "cannot delete Pods with local storage",
        }
    }
}

fn verdict(pod: &Value, o: &DrainOptions) -> Verdict {
    if pod["metadata"]["annotations"]["kubernetes.io/config.mirror"].is_string() {
        return Verdict::IgnoreMirror;
    }
    let phase = pod["status"]["phase"].as_str().unwrap_or_default();
    if phase == "Succeeded" || phase == "Failed" {
        return Verdict::Delete;
    }
    let owner = pod["metadata"]["ownerReferences"]
        .as_array()
        .and_then(|refs| refs.iter().find(|r| r["controller"] == true));
    let unmanaged = match owner.and_then(|r| r["kind"].as_str()) {
        Some("DaemonSet") if o.ignore_daemonsets => return Verdict::IgnoreDaemonSet,
        Some("DaemonSet") => return Verdict::RefuseDaemonSet,
        None if !o.force => return Verdict::RefuseUnmanaged,
        None => true,
        _ => false,
    };
    let empty_dir = pod["spec"]["volumes"]
        .as_array()
        .is_some_and(|v| v.iter().any(|v| v.get("emptyDir").is_some()));
    match (empty_dir, o.delete_emptydir_data, unmanaged) {
        (true, false, _) => Verdict::RefuseLocalStorage,
        (true, true, _) => Verdict::DeleteLocalStorage,
        (false, _, true) => Verdict::DeleteUnmanaged,
        _ => Verdict::Delete,
    }
}

/// `Words: ns/a,ns/b.` for each category that has pods.
fn sentences(
    groups: &std::collections::BTreeMap<Verdict, Vec<String>>,
    pick: fn(Verdict) -> bool,
) -> Vec<String> {
    groups
        .iter()
        .filter(|(v, _)| pick(**v) && !v.words().is_empty())
        .map(|(v, pods)| format!("{}: {}.", v.words(), pods.join(",")))
        .collect()
}

/// Cordons `node` and evicts (or deletes) its pods; with `wait_timeout`, waits until they are
/// gone (a timeout is a warning, as in kubernetes.core). A refused drain uncordons the node
/// again if this drain cordoned it.
pub async fn drain(
    cluster: &Cluster,
    node: &str,
    o: &DrainOptions,
    dry_run: bool,
) -> Result<Drained, K8sError> {
    let cordon = set_unschedulable(cluster, node, true, dry_run).await?;
    let pods: Api<Pod> = Api::all(cluster.client.clone());
    let mut lp = ListParams::default().fields(&format!("spec.nodeName={node}"));
    if let Some(sel) = &o.pod_selectors {
        lp = lp.labels(sel);
    }
    let listed = pods.list(&lp).await.map_err(|e| {
        K8sError(format!(
            "Failed to list pod from node {node} due to: {}",
            super::describe(&e)
        ))
    })?;
    let mut groups: std::collections::BTreeMap<Verdict, Vec<String>> = Default::default();
    let mut to_delete = Vec::new();
    for pod in &listed.items {
        let v = verdict(&serde_json::to_value(pod).unwrap_or(Value::Null), o);
        let name = format!(
            "{}/{}",
            pod.metadata.namespace.as_deref().unwrap_or_default(),
            pod.metadata.name.as_deref().unwrap_or_default()
        );
        groups.entry(v).or_default().push(name);
        if v.deletes() {
            to_delete.push(pod.clone());
        }
    }
    let refused = sentences(&groups, Verdict::refuses);
    if !refused.is_empty() {
        if cordon.changed {
            set_unschedulable(cluster, node, false, dry_run).await?;
        }
        return Err(K8sError(format!(
            "Pod deletion errors: {}",
            refused.join(" ")
        )));
    }
    let mut warnings = sentences(&groups, |v| !v.refuses());
    for pod in &to_delete {
        evict(cluster, pod, o, dry_run).await?;
    }
    if let (Some(timeout), false) = (o.wait_timeout, dry_run) {
        if !wait_gone(cluster, &to_delete, timeout, o.wait_sleep).await? {
            warnings.push("timeout reached while pods were still running.".into());
        }
    }
    let mut message = cordon.message;
    if !to_delete.is_empty() {
        message.push_str(&format!(" {} Pod(s) deleted from node.", to_delete.len()));
    }
    Ok(Drained {
        changed: cordon.changed || !to_delete.is_empty(),
        message,
        warnings,
    })
}

/// An Eviction (policy/v1beta1, which 1.20 and later serve) or, with `disable_eviction`, a
/// delete. kube-rs 5's `evict` sends `delete_options` in snake case, which the API server
/// ignores (the grace period would be lost), so the body is written here.
async fn evict(
    cluster: &Cluster,
    pod: &Pod,
    o: &DrainOptions,
    dry_run: bool,
) -> Result<(), K8sError> {
    let ns = pod.metadata.namespace.clone().unwrap_or_default();
    let name = pod.metadata.name.clone().unwrap_or_default();
    let mut delete_options = json!({});
    if let Some(g) = o.grace_period {
        delete_options["gracePeriodSeconds"] = json!(g.max(0));
    }
    if dry_run {
        delete_options["dryRun"] = json!(["All"]);
    }
    let r = if o.disable_eviction {
        let api: Api<Pod> = Api::namespaced(cluster.client.clone(), &ns);
        let dp = DeleteParams {
            dry_run,
            grace_period_seconds: o.grace_period.map(|g| g.max(0) as u32),
            ..DeleteParams::default()
        };
        api.delete(&name, &dp).await.map(|_| ())
    } else {
        let body = json!({
            "apiVersion": "policy/v1beta1",
            "kind": "Eviction",
            "metadata": {"name": name, "namespace": ns},
            "deleteOptions": delete_options,
        });
        let req = http::Request::post(format!("/api/v1/namespaces/{ns}/pods/{name}/eviction"))
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(body.to_string().into_bytes())
            .map_err(|e| K8sError(format!("internal: eviction request: {e}")))?;
        cluster.client.request::<Value>(req).await.map(|_| ())
    };
    match r {
        Ok(()) => Ok(()),
        Err(e) if super::status_code(&e) == Some(404) => Ok(()),
        Err(e) => Err(K8sError(format!(
            "Failed to delete pod {ns}/{name} due to: {}",
            super::describe(&e)
        ))),
    }
}

/// Whether every pod went within `timeout`.
async fn wait_gone(
    cluster: &Cluster,
    pods: &[Pod],
    timeout: Duration,
    sleep: Duration,
) -> Result<bool, K8sError> {
    let start = Instant::now();
    for pod in pods {
        let ns = pod.metadata.namespace.clone().unwrap_or_default();
        let name = pod.metadata.name.clone().unwrap_or_default();
        let api: Api<Pod> = Api::namespaced(cluster.client.clone(), &ns);
        loop {
            let now = api.get_opt(&name).await.map_err(K8sError::from)?;
            // A pod of the same name with a new uid (a StatefulSet's) is a new pod.
            if now.is_none_or(|p| p.metadata.uid != pod.metadata.uid) {
                break;
            }
            crate::output::live_detail::set(&format!("pod {ns}/{name} terminating"));
            if start.elapsed() >= timeout {
                return Ok(false);
            }
            tokio::time::sleep(sleep.min(Duration::from_millis(500))).await;
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pods_are_sorted_into_kubernetes_core_categories() {
        let o = DrainOptions::default();
        let bare = json!({"metadata": {"name": "p"}, "status": {"phase": "Running"}});
        assert_eq!(verdict(&bare, &o), Verdict::RefuseUnmanaged);
        let forced = DrainOptions {
            force: true,
            ..DrainOptions::default()
        };
        assert_eq!(verdict(&bare, &forced), Verdict::DeleteUnmanaged);
        let ds =
            json!({"metadata": {"ownerReferences": [{"kind": "DaemonSet", "controller": true}]}});
        assert_eq!(verdict(&ds, &o), Verdict::RefuseDaemonSet);
        let ignore = DrainOptions {
            ignore_daemonsets: true,
            ..DrainOptions::default()
        };
        assert_eq!(verdict(&ds, &ignore), Verdict::IgnoreDaemonSet);
        let rs = json!({"metadata": {"ownerReferences": [{"kind": "ReplicaSet", "controller": true}]},
            "spec": {"volumes": [{"name": "scratch", "emptyDir": {}}]}});
        assert_eq!(verdict(&rs, &o), Verdict::RefuseLocalStorage);
        let done = json!({"metadata": {}, "status": {"phase": "Succeeded"}});
        assert_eq!(verdict(&done, &o), Verdict::Delete);
        let mut groups = std::collections::BTreeMap::new();
        groups.insert(
            Verdict::RefuseUnmanaged,
            vec!["ns/a".to_string(), "ns/b".to_string()],
        );
        groups.insert(Verdict::RefuseDaemonSet, vec!["ns/d".to_string()]);
        assert_eq!(
            sentences(&groups, Verdict::refuses).join(" "),
            "cannot delete Pods not managed by ReplicationController, ReplicaSet, Job, DaemonSet or StatefulSet (use option force set to yes): ns/a,ns/b. cannot delete DaemonSet-managed Pods (use option ignore_daemonset set to yes): ns/d."
        );
    }
}
