//! `kubectl rollout restart | status | undo` for Deployments, StatefulSets and DaemonSets,
//! done the way kubectl does them (k8s.io/kubectl pkg/polymorphichelpers):
//! - restart patches `spec.template.metadata.annotations["kubectl.kubernetes.io/restartedAt"]`;
//! - undo puts back the pod template of an earlier revision: a Deployment's from its
//!   ReplicaSets (`deployment.kubernetes.io/revision`), a StatefulSet's or DaemonSet's from its
//!   ControllerRevisions (`.revision`, `.data` is the patch kubectl applies);
//! - status is the wait of `kubectl rollout status` (see `wait.rs`).

use super::cluster::Cluster;
use super::object::{comparable, to_json};
use super::K8sError;
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams};
use serde_json::{json, Value};

pub const RESTARTED_AT: &str = "kubectl.kubernetes.io/restartedAt";
const REVISION: &str = "deployment.kubernetes.io/revision";
/// Deployment annotations a rollback keeps from the Deployment, not the ReplicaSet (kubectl's
/// `annotationsToSkip`).
const KEEP_ON_ROLLBACK: &[&str] = &[
    "kubectl.kubernetes.io/last-applied-configuration",
    REVISION,
    "deployment.kubernetes.io/revision-history",
    "deployment.kubernetes.io/desired-replicas",
    "deployment.kubernetes.io/max-replicas",
    "deprecated.deployment.rollback.to",
];

/// One workload and its API.
pub struct Workload {
    pub api: Api<DynamicObject>,
    pub kind: String,
    pub name: String,
    pub namespace: String,
    pub object: Value,
}

fn check_kind(kind: &str, verb: &str) -> Result<(), K8sError> {
    match kind {
        "Deployment" | "StatefulSet" | "DaemonSet" => Ok(()),
        other => Err(K8sError(format!(
            "rollout {verb} is not supported for kind {other}: use a Deployment, StatefulSet or DaemonSet"
        ))),
    }
}

/// Reads the workload `kind`/`name` (apps/v1); a missing one is an error.
pub async fn workload(
    cluster: &Cluster,
    kind: &str,
    name: &str,
    namespace: Option<&str>,
    verb: &str,
) -> Result<Workload, K8sError> {
    workload_opt(cluster, kind, name, namespace, verb)
        .await?
        .ok_or_else(|| K8sError(format!("{}/{name} not found", kind.to_lowercase())))
}

/// As [`workload`], with `None` for one that does not exist.
pub async fn workload_opt(
    cluster: &Cluster,
    kind: &str,
    name: &str,
    namespace: Option<&str>,
    verb: &str,
) -> Result<Option<Workload>, K8sError> {
    check_kind(kind, verb)?;
    let api = cluster.api_for("apps/v1", kind, namespace).await?;
    let label = format!("{}/{name}", kind.to_lowercase());
    let Some(object) = api
        .get_opt(name)
        .await
        .map_err(|e| K8sError(format!("Failed to get {label}: {}", super::describe(&e))))?
        .map(|o| to_json(&o))
    else {
        return Ok(None);
    };
    Ok(Some(Workload {
        api,
        kind: kind.to_string(),
        name: name.to_string(),
        namespace: object["metadata"]["namespace"]
            .as_str()
            .unwrap_or(&cluster.default_namespace)
            .to_string(),
        object,
    }))
}

impl Workload {
    pub fn label(&self) -> String {
        format!("{}/{}", self.kind.to_lowercase(), self.name)
    }

    /// Sends `patch`; `verb` words the failure (`patch`, `roll back`).
    async fn patch(
        &self,
        patch: Patch<Value>,
        dry_run: bool,
        verb: &str,
    ) -> Result<Value, K8sError> {
        let pp = PatchParams {
            dry_run,
            ..PatchParams::default()
        };
        self.api
            .patch(&self.name, &pp, &patch)
            .await
            .map(|o| to_json(&o))
            .map_err(|e| {
                K8sError(format!(
                    "Failed to {verb} {}: {}",
                    self.label(),
                    super::describe(&e)
                ))
            })
    }
}

/// `kubectl rollout restart`: a new pod template annotation, so the controller rolls every pod.
pub async fn restart(w: &Workload, dry_run: bool) -> Result<Value, K8sError> {
    if w.object["spec"]["paused"] == true {
        return Err(K8sError(format!(
            "can't restart paused {} (run rollout resume first)",
            w.label()
        )));
    }
    let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let patch = json!({"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: now}}}}});
    w.patch(Patch::Strategic(patch), dry_run, "patch").await
}

/// What `undo` did.
pub struct Undo {
    pub changed: bool,
    /// kubectl's words: `rolled back`, or `skipped rollback (...)`.
    pub message: String,
    pub result: Value,
    pub revision: i64,
    /// The patch sent (or that would be sent, in check mode).
    pub body: Value,
}

impl Undo {
    /// kubectl's answer when the revision's template is already the current one.
    fn skipped(w: &Workload, revision: i64) -> Undo {
        Undo {
            changed: false,
            message: format!(
                "skipped rollback (current template already matches revision {revision})"
            ),
            result: w.object.clone(),
            revision,
            body: Value::Null,
        }
    }
}

/// Whether `undo` failed only because there is no earlier revision.
pub fn is_no_history(e: &K8sError) -> bool {
    e.0.starts_with("no rollout history") || e.0.starts_with("no last revision")
}

/// `kubectl rollout undo [--to-revision]`: 0 means the revision before the current one.
pub async fn undo(
    cluster: &Cluster,
    w: &Workload,
    to_revision: i64,
    dry_run: bool,
) -> Result<Undo, K8sError> {
    match w.kind.as_str() {
        "Deployment" => undo_deployment(cluster, w, to_revision, dry_run).await,
        _ => undo_controller_revision(cluster, w, to_revision, dry_run).await,
    }
}

/// The objects of `api_version`/`kind` in the workload's namespace that it controls.
async fn owned(
    cluster: &Cluster,
    w: &Workload,
    api_version: &str,
    kind: &str,
) -> Result<Vec<Value>, K8sError> {
    let api = cluster
        .api_for(api_version, kind, Some(&w.namespace))
        .await?;
    let uid = w.object["metadata"]["uid"].clone();
    let items = api.list(&ListParams::default()).await.map_err(|e| {
        K8sError(format!(
            "Failed to list the {kind}s of {}: {}",
            w.label(),
            super::describe(&e)
        ))
    })?;
    Ok(items
        .items
        .iter()
        .map(to_json)
        .filter(|o| {
            o["metadata"]["ownerReferences"]
                .as_array()
                .is_some_and(|refs| {
                    refs.iter()
                        .any(|r| r["uid"] == uid && r["controller"] == true)
                })
        })
        .collect())
}

/// The revision to go back to among `revisions` (revision number, object), kubectl's rule.
fn pick(
    mut revisions: Vec<(i64, Value)>,
    to_revision: i64,
    label: &str,
) -> Result<(i64, Value), K8sError> {
    revisions.sort_by_key(|(r, _)| *r);
    if to_revision > 0 {
        return revisions
            .into_iter()
            .find(|(r, _)| *r == to_revision)
            .ok_or_else(|| {
                K8sError(format!(
                    "unable to find specified revision {to_revision} in history of {label}"
                ))
            });
    }
    if revisions.is_empty() {
        return Err(K8sError(format!("no rollout history found for {label}")));
    }
    if revisions.len() < 2 {
        return Err(K8sError(format!(
            "no last revision to roll back to for {label}"
        )));
    }
    let n = revisions.len();
    Ok(revisions.swap_remove(n - 2))
}

fn without_hash(template: &Value) -> Value {
    let mut t = template.clone();
    if let Some(labels) = t["metadata"]["labels"].as_object_mut() {
        labels.remove("pod-template-hash");
    }
    t
}

async fn undo_deployment(
    cluster: &Cluster,
    w: &Workload,
    to_revision: i64,
    dry_run: bool,
) -> Result<Undo, K8sError> {
    if w.object["spec"]["paused"] == true {
        return Err(K8sError(format!(
            "you cannot rollback a paused deployment; resume it first with 'kubectl rollout resume {}' and try again",
            w.label()
        )));
    }
    let sets = owned(cluster, w, "apps/v1", "ReplicaSet").await?;
    let revisions = sets
        .into_iter()
        .filter_map(|rs| {
            let r = rs["metadata"]["annotations"][REVISION]
                .as_str()?
                .parse()
                .ok()?;
            Some((r, rs))
        })
        .collect();
    let (revision, rs) = pick(revisions, to_revision, &w.label())?;
    let template = without_hash(&rs["spec"]["template"]);
    if comparable(&template) == comparable(&without_hash(&w.object["spec"]["template"])) {
        return Ok(Undo::skipped(w, revision));
    }
    let mut annotations = serde_json::Map::new();
    for k in KEEP_ON_ROLLBACK {
        if let Some(v) = w.object["metadata"]["annotations"].get(*k) {
            annotations.insert((*k).into(), v.clone());
        }
    }
    if let Some(rs_ann) = rs["metadata"]["annotations"].as_object() {
        for (k, v) in rs_ann {
            if !KEEP_ON_ROLLBACK.contains(&k.as_str()) {
                annotations.insert(k.clone(), v.clone());
            }
        }
    }
    let body = json!([
        {"op": "replace", "path": "/spec/template", "value": template},
        {"op": "replace", "path": "/metadata/annotations", "value": annotations},
    ]);
    let patch: json_patch::Patch = serde_json::from_value(body.clone())
        .map_err(|e| K8sError(format!("internal: rollback patch: {e}")))?;
    let result = w.patch(Patch::Json(patch), dry_run, "roll back").await?;
    Ok(Undo {
        changed: true,
        message: "rolled back".into(),
        result,
        revision,
        body,
    })
}

async fn undo_controller_revision(
    cluster: &Cluster,
    w: &Workload,
    to_revision: i64,
    dry_run: bool,
) -> Result<Undo, K8sError> {
    let history = owned(cluster, w, "apps/v1", "ControllerRevision").await?;
    let revisions = history
        .into_iter()
        .filter_map(|h| Some((h["revision"].as_i64()?, h)))
        .collect();
    let (revision, h) = pick(revisions, to_revision, &w.label())?;
    let data = h["data"].clone();
    let wanted = data["spec"]["template"].clone();
    if comparable(&strip_patch_keys(&wanted)) == comparable(&w.object["spec"]["template"]) {
        return Ok(Undo::skipped(w, revision));
    }
    let result = w
        .patch(Patch::Strategic(data.clone()), dry_run, "roll back")
        .await?;
    Ok(Undo {
        changed: true,
        message: "rolled back".into(),
        result,
        revision,
        body: data,
    })
}

/// A ControllerRevision's template carries `$patch: replace`; compare without it.
fn strip_patch_keys(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| !k.starts_with('$'))
                .map(|(k, v)| (k.clone(), strip_patch_keys(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(strip_patch_keys).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undo_picks_the_revision_before_the_current_one() {
        let revs = vec![(3, json!("c")), (1, json!("a")), (2, json!("b"))];
        assert_eq!(pick(revs.clone(), 0, "d").unwrap().0, 2);
        assert_eq!(pick(revs, 1, "d").unwrap().0, 1);
        assert!(pick(vec![(1, json!("a"))], 0, "deployment/web")
            .unwrap_err()
            .0
            .contains("no last revision"));
        assert!(pick(vec![], 0, "d")
            .unwrap_err()
            .0
            .contains("no rollout history"));
    }
}
