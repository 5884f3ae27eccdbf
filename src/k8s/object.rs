//! `state: present` and `state: absent` for one object, with kubernetes.core's meaning of
//! `changed`: the object after the request differs from before it, not counting
//! `metadata.resourceVersion`, `metadata.generation` and `metadata.managedFields`.
//! Check mode sends the same request as a server-side dry run (`dryRun=All`).

use super::cluster::Cluster;
use super::manifest::label;
use super::wait::{self, WaitSpec};
use super::{status_code, K8sError};
use kube::api::{
    Api, DeleteParams, DynamicObject, Patch, PatchParams, PostParams, Preconditions,
    PropagationPolicy,
};
use serde_json::{json, Value};

/// kubectl's annotation for client-side apply.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

#[derive(Clone, Debug, Default)]
pub struct Options {
    pub check_mode: bool,
    pub diff: bool,
    /// `force`: replace the object instead of patching it.
    pub force: bool,
    /// `apply`: client-side apply with the last-applied annotation.
    pub apply: bool,
    /// `server_side_apply`: (field_manager, force_conflicts).
    pub server_side_apply: Option<(String, bool)>,
    /// `merge_type`, in the order to try (default: strategic-merge, then merge).
    pub merge_types: Vec<String>,
    pub delete: DeleteOptions,
    pub wait: Option<WaitSpec>,
}

#[derive(Clone, Debug, Default)]
pub struct DeleteOptions {
    pub propagation_policy: Option<String>,
    pub grace_period_seconds: Option<u32>,
    pub preconditions: Option<(Option<String>, Option<String>)>,
}

/// What happened to one object.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    pub changed: bool,
    /// The request sent (`create`, `update`, `apply`, ...); empty when none was.
    pub method: &'static str,
    pub result: Value,
    pub diff: Option<Value>,
    /// Seconds the wait took (kubernetes.core returns `duration` only after a wait).
    pub duration: Option<u64>,
    pub warnings: Vec<String>,
}

/// The outcome of the request, and what is left to wait for (with `wait`, not in check mode).
pub type Sent = (Outcome, Option<Awaiting>);

/// A wait still to run for an object whose request was sent.
pub struct Awaiting {
    api: Api<DynamicObject>,
    kind: String,
    what: String,
    name: String,
    /// Until the object is gone (`state: absent`) rather than ready.
    gone: bool,
}

impl Awaiting {
    /// Whether this wait may run alongside the waits of the task's other objects, after all
    /// their requests were sent (as `kubectl apply -f` then `kubectl rollout status`, or
    /// `kubectl delete -f`, do). Deletions and workloads may: no later object of a manifest
    /// needs them to be ready first. Anything else (a CRD, a namespace, a custom resource
    /// with a `wait_condition`) is waited for in order, before the next object's request.
    pub fn may_overlap(&self) -> bool {
        self.gone
            || matches!(
                self.kind.as_str(),
                "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" | "Pod"
            )
    }

    /// Runs the wait into `out`: a ready object becomes its result.
    pub async fn finish(self, mut out: Outcome, spec: &WaitSpec) -> Result<Outcome, K8sError> {
        let started = std::time::Instant::now();
        if self.gone {
            wait::until_gone(&self.api, &self.what, &self.name, spec).await?;
        } else {
            out.result = wait::until_ready(&self.api, &self.kind, &self.name, spec).await?;
        }
        out.duration = Some(started.elapsed().as_secs());
        Ok(out)
    }
}

struct Target {
    api: Api<DynamicObject>,
    name: Option<String>,
    kind: String,
}

async fn target(cluster: &Cluster, obj: &Value) -> Result<Target, K8sError> {
    let api_version = obj["apiVersion"].as_str().unwrap_or("v1");
    let kind = obj["kind"].as_str().unwrap_or_default();
    let (ar, caps) = cluster.resource(api_version, kind).await?;
    let ns = obj["metadata"]["namespace"].as_str();
    Ok(Target {
        api: cluster.api(&ar, &caps, ns),
        name: obj["metadata"]["name"].as_str().map(str::to_string),
        kind: kind.to_string(),
    })
}

pub fn to_json(o: &DynamicObject) -> Value {
    serde_json::to_value(o).unwrap_or(Value::Null)
}

fn to_dynamic(v: &Value, what: &str) -> Result<DynamicObject, K8sError> {
    serde_json::from_value(v.clone()).map_err(|e| K8sError(format!("Invalid {what}: {e}")))
}

/// The object without what the server changes on every write.
pub fn comparable(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(m) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        for k in ["resourceVersion", "generation", "managedFields"] {
            m.remove(k);
        }
    }
    v
}

/// Before/after for diff mode: no managedFields, no status.
pub fn shown(v: &Value) -> Value {
    let mut v = comparable(v);
    if let Some(o) = v.as_object_mut() {
        o.remove("status");
    }
    v
}

fn outcome(method: &'static str, before: Option<&Value>, after: Value, opts: &Options) -> Outcome {
    let changed = before.is_none_or(|b| comparable(b) != comparable(&after));
    let diff = (opts.diff && changed).then(|| {
        json!({
            "before": before.map(shown).unwrap_or(json!({})),
            "after": shown(&after),
        })
    });
    Outcome {
        changed,
        method,
        result: after,
        diff,
        ..Outcome::default()
    }
}

/// Creates the object, or brings the existing one to the definition; with `wait`, what is
/// left to wait for.
pub async fn present(cluster: &Cluster, obj: &Value, opts: &Options) -> Result<Sent, K8sError> {
    let t = target(cluster, obj).await?;
    let what = label(obj);
    let fail = |verb: &str, e: kube::Error| {
        K8sError(format!(
            "Failed to {verb} object {what}: {}",
            super::describe(&e)
        ))
    };
    let existing = match &t.name {
        Some(n) => t.api.get_opt(n).await.map_err(|e| fail("get", e))?,
        None => None,
    };
    let before = existing.as_ref().map(to_json);
    let mut desired = obj.clone();
    if opts.apply {
        let mut applied = obj.clone();
        if let Some(m) = applied["metadata"].as_object_mut() {
            m.remove("annotations");
        }
        desired["metadata"]["annotations"][LAST_APPLIED] = json!(applied.to_string());
    }
    if opts.check_mode && existing.is_none() {
        if let Some(pending) = in_pending_namespace(cluster, &desired, &what, opts) {
            return Ok((pending, None));
        }
    }
    let (method, after) = if let Some((manager, force)) = &opts.server_side_apply {
        let name = t
            .name
            .clone()
            .ok_or_else(|| K8sError(format!("{what}: server-side apply needs metadata.name")))?;
        let mut pp = PatchParams::apply(manager);
        pp.force = *force;
        pp.dry_run = opts.check_mode;
        let after = t
            .api
            .patch(&name, &pp, &Patch::Apply(&desired))
            .await
            .map_err(|e| fail("apply", e))?;
        ("apply", after)
    } else if existing.is_none() {
        let pp = PostParams {
            dry_run: opts.check_mode,
            field_manager: None,
        };
        let after = t
            .api
            .create(&pp, &to_dynamic(&desired, &what)?)
            .await
            .map_err(|e| fail("create", e))?;
        (if opts.apply { "apply" } else { "create" }, after)
    } else {
        let name = t.name.clone().unwrap_or_default();
        let current = existing.as_ref().map(to_json).unwrap_or_default();
        if opts.force {
            desired["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"].clone();
            let pp = PostParams {
                dry_run: opts.check_mode,
                field_manager: None,
            };
            let after = t
                .api
                .replace(&name, &pp, &to_dynamic(&desired, &what)?)
                .await
                .map_err(|e| fail("replace", e))?;
            ("replace", after)
        } else {
            if opts.apply {
                null_removed_fields(&mut desired, &current);
            }
            let after = patch(&t.api, &name, &desired, opts)
                .await
                .map_err(|e| fail("patch", e))?;
            (if opts.apply { "apply" } else { "update" }, after)
        }
    };
    if opts.check_mode && existing.is_none() && is_namespace(obj) {
        cluster.namespace_pending(after.metadata.name.as_deref().unwrap_or_default());
    }
    let out = outcome(method, before.as_ref(), to_json(&after), opts);
    let awaiting = (opts.wait.is_some() && !opts.check_mode).then(|| Awaiting {
        name: after.metadata.name.clone().unwrap_or_default(),
        what,
        api: t.api,
        kind: t.kind,
        gone: false,
    });
    Ok((out, awaiting))
}

fn is_namespace(obj: &Value) -> bool {
    obj["kind"] == "Namespace" && obj["apiVersion"] == "v1"
}

/// In check mode, an object to be created in a namespace that an earlier task of this run
/// would create: the server cannot dry-run it, so the definition itself is the result.
fn in_pending_namespace(
    cluster: &Cluster,
    desired: &Value,
    what: &str,
    opts: &Options,
) -> Option<Outcome> {
    let ns = desired["metadata"]["namespace"].as_str()?;
    if !cluster.is_namespace_pending(ns) {
        return None;
    }
    tracing::debug!("{what}: namespace {ns} is created by this run; reported as to be created");
    Some(Outcome {
        changed: true,
        method: "create",
        result: desired.clone(),
        diff: opts
            .diff
            .then(|| json!({"before": {}, "after": shown(desired)})),
        ..Outcome::default()
    })
}

/// Client-side apply: fields that the last applied configuration had and the new one drops
/// are set to null in the patch, so the server removes them (kubectl's three-way rule, at
/// the top levels of the object).
fn null_removed_fields(desired: &mut Value, current: &Value) {
    let Some(last) = current["metadata"]["annotations"][LAST_APPLIED]
        .as_str()
        .and_then(|s| serde_json::from_str::<Value>(s).ok())
    else {
        return;
    };
    fn walk(desired: &mut Value, last: &Value) {
        let (Some(d), Some(l)) = (desired.as_object_mut(), last.as_object()) else {
            return;
        };
        for (k, lv) in l {
            match d.get_mut(k) {
                None => {
                    d.insert(k.clone(), Value::Null);
                }
                Some(dv) => walk(dv, lv),
            }
        }
    }
    walk(desired, &last);
}

/// A patch with the first merge type the server takes (custom resources refuse strategic merge).
async fn patch(
    api: &Api<DynamicObject>,
    name: &str,
    desired: &Value,
    opts: &Options,
) -> Result<DynamicObject, kube::Error> {
    let types: Vec<&str> = if opts.merge_types.is_empty() {
        vec!["strategic-merge", "merge"]
    } else {
        opts.merge_types.iter().map(String::as_str).collect()
    };
    let pp = PatchParams {
        dry_run: opts.check_mode,
        ..PatchParams::default()
    };
    let mut last = None;
    for t in types {
        let r = match t {
            "merge" => api.patch(name, &pp, &Patch::Merge(desired)).await,
            _ => api.patch(name, &pp, &Patch::Strategic(desired)).await,
        };
        match r {
            Err(e) if status_code(&e) == Some(415) => last = Some(e),
            other => return other,
        }
    }
    Err(last.unwrap_or_else(|| kube::Error::Service("no merge_type the server accepts".into())))
}

/// `state: patched`: only an existing object is patched; a missing one is left alone.
pub async fn patched(cluster: &Cluster, obj: &Value, opts: &Options) -> Result<Sent, K8sError> {
    let t = target(cluster, obj).await?;
    let exists = match &t.name {
        Some(n) => t
            .api
            .get_opt(n)
            .await
            .map_err(|e| {
                K8sError(format!(
                    "Failed to get object {}: {}",
                    label(obj),
                    super::describe(&e)
                ))
            })?
            .is_some(),
        None => false,
    };
    if !exists {
        let untouched = Outcome {
            result: json!({}),
            warnings: vec![format!(
                "resource 'kind={},name={}' was not found but will not be created as 'state' parameter has been set to 'patched'",
                t.kind,
                t.name.as_deref().unwrap_or_default()
            )],
            ..Outcome::default()
        };
        return Ok((untouched, None));
    }
    present(cluster, obj, opts).await
}

/// Deletes the object if it exists; with `wait`, what is left to wait for (until it is gone).
pub async fn absent(cluster: &Cluster, obj: &Value, opts: &Options) -> Result<Sent, K8sError> {
    let t = target(cluster, obj).await?;
    let what = label(obj);
    let Some(name) = t.name.clone() else {
        return Err(K8sError(format!(
            "{what}: state=absent needs a name (or label_selectors with delete_all)"
        )));
    };
    let existing = t.api.get_opt(&name).await.map_err(|e| {
        K8sError(format!(
            "Failed to get object {what}: {}",
            super::describe(&e)
        ))
    })?;
    let Some(existing) = existing else {
        let nothing = Outcome {
            method: "delete",
            result: json!({}),
            ..Outcome::default()
        };
        return Ok((nothing, None));
    };
    let before = to_json(&existing);
    let dp = delete_params(&opts.delete, opts.check_mode);
    t.api.delete(&name, &dp).await.map_err(|e| {
        K8sError(format!(
            "Failed to delete object {what}: {}",
            super::describe(&e)
        ))
    })?;
    let deleted = Outcome {
        changed: true,
        method: "delete",
        result: json!({}),
        diff: opts
            .diff
            .then(|| json!({"before": shown(&before), "after": {}})),
        ..Outcome::default()
    };
    let awaiting = (opts.wait.is_some() && !opts.check_mode).then(|| Awaiting {
        api: t.api,
        kind: t.kind,
        what,
        name,
        gone: true,
    });
    Ok((deleted, awaiting))
}

fn delete_params(d: &DeleteOptions, dry_run: bool) -> DeleteParams {
    DeleteParams {
        dry_run,
        grace_period_seconds: d.grace_period_seconds,
        propagation_policy: d.propagation_policy.as_deref().map(|p| match p {
            "Orphan" => PropagationPolicy::Orphan,
            "Background" => PropagationPolicy::Background,
            _ => PropagationPolicy::Foreground,
        }),
        preconditions: d.preconditions.as_ref().map(|(rv, uid)| Preconditions {
            resource_version: rv.clone(),
            uid: uid.clone(),
        }),
    }
}
