//! `k8s_scale`: sets the replica count of one object through its `scale` subresource (a Job
//! through `spec.parallelism`, which has no scale subresource), with kubernetes.core's
//! preconditions: `current_replicas` and `resource_version` must match, or the object is
//! left alone.

use super::cluster::Cluster;
use super::manifest::label;
use super::object::{comparable, shown, to_json, Outcome};
use super::wait::{self, WaitSpec};
use super::K8sError;
use kube::api::{Patch, PatchParams};
use serde_json::{json, Value};

#[derive(Clone, Debug, Default)]
pub struct Request {
    pub replicas: i64,
    pub current_replicas: Option<i64>,
    pub resource_version: Option<String>,
    pub check_mode: bool,
    pub diff: bool,
    pub wait: Option<WaitSpec>,
}

/// The count `k8s_scale` compares: `spec.parallelism` for a Job, `spec.replicas` otherwise.
fn count_of(kind: &str, obj: &Value) -> Option<i64> {
    let key = if kind == "Job" {
        "parallelism"
    } else {
        "replicas"
    };
    obj["spec"][key].as_i64()
}

/// Scales the existing object `obj` (already read) of `kind`. A precondition that does not
/// hold leaves it alone with kubernetes.core's `warning` (a result key it does not print).
pub async fn scale(
    cluster: &Cluster,
    obj: &Value,
    req: &Request,
) -> Result<(Outcome, Option<String>), K8sError> {
    let what = label(obj);
    let kind = obj["kind"].as_str().unwrap_or_default().to_string();
    let api = cluster
        .api_for(
            obj["apiVersion"].as_str().unwrap_or("v1"),
            &kind,
            obj["metadata"]["namespace"].as_str(),
        )
        .await?;
    let name = obj["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let unchanged = |warning: Option<String>| {
        let result = if warning.is_some() {
            json!({})
        } else {
            obj.clone()
        };
        Ok((
            Outcome {
                changed: false,
                method: "scale",
                result,
                ..Outcome::default()
            },
            warning,
        ))
    };
    let ns = obj["metadata"]["namespace"].as_str().unwrap_or_default();
    let count = count_of(&kind, obj).ok_or_else(|| {
        K8sError(format!(
            "Failed to retrieve the available count for object kind={kind} name={name} namespace={ns}."
        ))
    })?;
    let actual_rv = obj["metadata"]["resourceVersion"]
        .as_str()
        .unwrap_or_default();
    if let Some(rv) = req
        .resource_version
        .as_deref()
        .filter(|rv| *rv != actual_rv)
    {
        return unchanged(Some(format!(
            "expected resource version {rv} does not match with actual {actual_rv} for object kind={kind} name={name} namespace={ns}."
        )));
    }
    if let Some(c) = req.current_replicas.filter(|c| *c != count) {
        return unchanged(Some(format!(
            "current replicas {c} does not match with actual {count} for object kind={kind} name={name} namespace={ns}."
        )));
    }
    if count == req.replicas {
        return unchanged(None);
    }
    let pp = PatchParams {
        dry_run: req.check_mode,
        ..PatchParams::default()
    };
    let fail = |e: kube::Error| {
        K8sError(format!(
            "Failed to scale {what} to {}: {}",
            req.replicas,
            super::describe(&e)
        ))
    };
    let after = if kind == "Job" {
        let patch = json!({"spec": {"parallelism": req.replicas}});
        to_json(
            &api.patch(&name, &pp, &Patch::Merge(&patch))
                .await
                .map_err(fail)?,
        )
    } else {
        let patch = json!({"spec": {"replicas": req.replicas}});
        api.patch_scale(&name, &pp, &Patch::Merge(&patch))
            .await
            .map_err(fail)?;
        if req.check_mode {
            let mut v = obj.clone();
            v["spec"]["replicas"] = json!(req.replicas);
            v
        } else {
            to_json(&api.get(&name).await.map_err(fail)?)
        }
    };
    // kubernetes.core never waits for a Job's parallelism.
    let result = match (&req.wait, req.check_mode || kind == "Job") {
        (Some(spec), false) => wait::until_ready(&api, &kind, &name, spec)
            .await
            .map_err(|e| K8sError(format!("Resource scaling timed out: {}", e.0)))?,
        _ => after,
    };
    let diff = (req.diff && comparable(obj) != comparable(&result))
        .then(|| json!({"before": shown(obj), "after": shown(&result)}));
    Ok((
        Outcome {
            changed: true,
            method: "scale",
            result,
            diff,
            ..Outcome::default()
        },
        None,
    ))
}
