//! `k8s_json_patch`: an RFC 6902 JSON patch sent to the API server as is (a failing `test`
//! operation is the server's refusal); `changed` as everywhere: the object differs afterwards.

use super::cluster::Cluster;
use super::object::{comparable, shown, to_json, Outcome};
use super::wait::{self, WaitSpec};
use super::K8sError;
use kube::api::{Patch, PatchParams};
use serde_json::{json, Value};

pub struct Request<'a> {
    pub api_version: &'a str,
    pub kind: &'a str,
    pub name: &'a str,
    pub namespace: Option<&'a str>,
    pub patch: Value,
    pub check_mode: bool,
    pub diff: bool,
    pub wait: Option<WaitSpec>,
}

pub async fn apply(cluster: &Cluster, r: &Request<'_>) -> Result<Outcome, K8sError> {
    let label = format!("{}/{}", r.kind.to_lowercase(), r.name);
    let api = cluster.api_for(r.api_version, r.kind, r.namespace).await?;
    let patch: json_patch::Patch = serde_json::from_value(r.patch.clone())
        .map_err(|e| K8sError(format!("Invalid JSON patch for {label}: {e}")))?;
    let before = api
        .get_opt(r.name)
        .await
        .map_err(|e| K8sError(format!("Failed to get {label}: {}", super::describe(&e))))?
        .map(|o| to_json(&o))
        .ok_or_else(|| K8sError(format!("Failed to get object {label}: not found")))?;
    let pp = PatchParams {
        dry_run: r.check_mode,
        ..PatchParams::default()
    };
    let after = api
        .patch(r.name, &pp, &Patch::<Value>::Json(patch))
        .await
        .map(|o| to_json(&o))
        .map_err(|e| {
            K8sError(format!(
                "Failed to patch existing object {label}: {}",
                super::describe(&e)
            ))
        })?;
    let changed = comparable(&before) != comparable(&after);
    let result = match (&r.wait, r.check_mode) {
        (Some(spec), false) => wait::until_ready(&api, r.kind, r.name, spec).await?,
        _ => after.clone(),
    };
    Ok(Outcome {
        changed,
        method: "patch",
        result,
        diff: (r.diff && changed)
            .then(|| json!({"before": shown(&before), "after": shown(&after)})),
        ..Outcome::default()
    })
}
