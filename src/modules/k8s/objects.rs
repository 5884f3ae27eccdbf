//! `k8s` (kubernetes.core.k8s): create, update, apply, patch and delete objects.

use super::{failed, wait_spec};
use crate::k8s::object::{self, Awaiting, DeleteOptions, Options, Outcome, Sent};
use crate::k8s::{cluster, manifest, K8sError};
use crate::modules::util::map;
use crate::modules::{ArgKind, ArgSpec, Args, Module, ModuleContext, ModuleResult};
use serde_json::{json, Value};
use std::sync::OnceLock;

pub struct K8s;

const OWN_SPEC: &[ArgSpec] = &[
    ArgSpec::new("state", ArgKind::Str).choices(&["present", "absent", "patched"]),
    ArgSpec::new("definition", ArgKind::Raw).aliases(&["resource_definition", "inline"]),
    ArgSpec::new("src", ArgKind::Path),
    ArgSpec::new("template", ArgKind::Raw),
    ArgSpec::new("kind", ArgKind::Str),
    ArgSpec::new("name", ArgKind::Str),
    ArgSpec::new("namespace", ArgKind::Str),
    ArgSpec::new("api_version", ArgKind::Str).aliases(&["api", "version"]),
    ArgSpec::new("generate_name", ArgKind::Str),
    ArgSpec::new("label_selectors", ArgKind::List),
    ArgSpec::new("delete_all", ArgKind::Bool).aliases(&["all"]),
    ArgSpec::new("apply", ArgKind::Bool),
    ArgSpec::new("server_side_apply", ArgKind::Dict),
    ArgSpec::new("force", ArgKind::Bool),
    ArgSpec::new("merge_type", ArgKind::Raw),
    ArgSpec::new("append_hash", ArgKind::Bool),
    ArgSpec::new("hidden_fields", ArgKind::List),
    ArgSpec::new("wait", ArgKind::Bool),
    ArgSpec::new("wait_condition", ArgKind::Dict),
    ArgSpec::new("wait_sleep", ArgKind::Int),
    ArgSpec::new("wait_timeout", ArgKind::Int),
    ArgSpec::new("delete_options", ArgKind::Dict),
    ArgSpec::new("continue_on_error", ArgKind::Bool),
];

fn spec() -> &'static [ArgSpec] {
    static ALL: OnceLock<Vec<ArgSpec>> = OnceLock::new();
    super::with_auth(OWN_SPEC, &ALL)
}

fn options(args: &Args, ctx: &ModuleContext) -> Result<Options, crate::modules::ModuleError> {
    let server_side_apply = args.dict("server_side_apply").map(|s| {
        (
            s.get("field_manager")
                .and_then(Value::as_str)
                .unwrap_or("ansible")
                .to_string(),
            s.get("force_conflicts")
                .and_then(crate::modules::args::to_bool)
                .unwrap_or(false),
        )
    });
    let merge_types = match args.get("merge_type") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    };
    for t in &merge_types {
        if !["strategic-merge", "merge"].contains(&t.as_str()) {
            return Err(failed(format!(
                "value of merge_type must be one or more of: strategic-merge, merge. Got: {t}"
            )));
        }
    }
    let d = args.dict("delete_options");
    let delete = DeleteOptions {
        propagation_policy: d
            .and_then(|d| d.get("propagationPolicy"))
            .and_then(Value::as_str)
            .map(str::to_string),
        grace_period_seconds: d
            .and_then(|d| d.get("gracePeriodSeconds"))
            .and_then(Value::as_u64)
            .map(|g| g as u32),
        preconditions: d.and_then(|d| d.get("preconditions")).map(|p| {
            (
                p.get("resourceVersion")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                p.get("uid").and_then(Value::as_str).map(str::to_string),
            )
        }),
    };
    Ok(Options {
        check_mode: ctx.check_mode,
        diff: ctx.diff_mode,
        force: args.bool_or("force", false),
        apply: args.bool_or("apply", false),
        server_side_apply,
        merge_types,
        delete,
        wait: wait_spec(args)?,
    })
}

/// One object's result as kubernetes.core returns it: `method` when a request was sent,
/// `duration` after a wait, `warnings` when there are any.
fn outcome_map(o: &Outcome, hidden: &[String]) -> serde_json::Map<String, Value> {
    let mut result = o.result.clone();
    crate::k8s::hidden::hide(&mut result, hidden);
    let mut m = map([("changed", Value::Bool(o.changed)), ("result", result)]);
    if !o.method.is_empty() {
        m.insert("method".into(), Value::String(o.method.into()));
    }
    if let Some(d) = o.duration {
        m.insert("duration".into(), json!(d));
    }
    if let Some(d) = &o.diff {
        let mut d = d.clone();
        for side in ["before", "after"] {
            crate::k8s::hidden::hide(&mut d[side], hidden);
        }
        m.insert("diff".into(), d);
    }
    if !o.warnings.is_empty() {
        m.insert("warnings".into(), json!(o.warnings));
    }
    m
}

/// `state: absent` with `label_selectors` / `delete_all`: every object of the kind (in the
/// namespace) the selectors match, as references to delete.
async fn matching(cluster: &cluster::Cluster, args: &Args) -> Result<Vec<Value>, K8sError> {
    let kind = args.str("kind").ok_or_else(|| {
        K8sError("state=absent with label_selectors or delete_all needs kind".into())
    })?;
    let api_version = args.str("api_version").unwrap_or("v1");
    let api = cluster
        .api_for(api_version, kind, args.str("namespace"))
        .await?;
    let mut lp = kube::api::ListParams::default();
    if let Some(sel) = super::info::selectors(args, "label_selectors") {
        lp = lp.labels(&sel);
    }
    let listed = api.list(&lp).await.map_err(K8sError::from)?;
    Ok(listed
        .items
        .iter()
        .map(|o| {
            json!({
                "apiVersion": api_version,
                "kind": kind,
                "metadata": {"name": o.metadata.name, "namespace": o.metadata.namespace},
            })
        })
        .collect())
}

async fn one(
    cluster: &cluster::Cluster,
    state: &str,
    obj: &Value,
    opts: &Options,
) -> Result<Sent, K8sError> {
    match state {
        "absent" => object::absent(cluster, obj, opts).await,
        "patched" => object::patched(cluster, obj, opts).await,
        _ => object::present(cluster, obj, opts).await,
    }
}

/// One object of the task: finished, or sent with its wait still to run.
enum Slot {
    Done(Result<Outcome, K8sError>),
    Waiting(Outcome, Box<Awaiting>),
}

/// Sends the objects' requests in order (stopping at the first failure unless
/// `continue_on_error`), then runs the waits that may overlap all at once, so a manifest of
/// several Deployments takes as long as its slowest rollout, not the sum (kubernetes.core
/// waits for each in turn). A wait that may not overlap runs before the next request.
async fn apply_all(
    cluster: &cluster::Cluster,
    state: &str,
    objs: &[Value],
    opts: &Options,
    continue_on_error: bool,
) -> Vec<Result<Outcome, K8sError>> {
    let mut slots = Vec::new();
    for obj in objs {
        let slot = match (one(cluster, state, obj, opts).await, &opts.wait) {
            (Ok((o, Some(a))), Some(_)) if a.may_overlap() => Slot::Waiting(o, Box::new(a)),
            (Ok((o, Some(a))), Some(spec)) => Slot::Done(a.finish(o, spec).await),
            (Ok((o, _)), _) => Slot::Done(Ok(o)),
            (Err(e), _) => Slot::Done(Err(e)),
        };
        let stop = matches!(slot, Slot::Done(Err(_))) && !continue_on_error;
        slots.push(slot);
        if stop {
            break;
        }
    }
    let finished = slots.into_iter().map(|slot| async move {
        match (slot, &opts.wait) {
            (Slot::Waiting(o, a), Some(spec)) => a.finish(o, spec).await,
            (Slot::Waiting(o, _), None) => Ok(o),
            (Slot::Done(r), _) => r,
        }
    });
    futures_util::future::join_all(finished).await
}

impl Module for K8s {
    fn name(&self) -> &'static str {
        "k8s"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        spec()
    }
    fn run(&self, args: &Args, ctx: &mut ModuleContext) -> ModuleResult {
        let state = args.str("state").unwrap_or("present").to_string();
        let opts = options(args, ctx)?;
        let by_selector = state == "absent"
            && args.get("definition").is_none()
            && args.get("src").is_none()
            && args.get("template").is_none()
            && args.get("name").is_none()
            && (args.bool_or("delete_all", false) || args.get("label_selectors").is_some());
        let mut objs = if by_selector {
            Vec::new()
        } else {
            manifest::objects(args, ctx).map_err(|e| failed(e.0))?
        };
        let continue_on_error = args.bool_or("continue_on_error", false);
        let hidden = super::info::hidden_fields(args);
        let objs_ref = &mut objs;
        let results = super::with_cluster(args, ctx, |cluster| async move {
            if by_selector {
                *objs_ref = matching(&cluster, args).await?;
            }
            let objs = &*objs_ref;
            Ok::<_, K8sError>(apply_all(&cluster, &state, objs, &opts, continue_on_error).await)
        })?;
        if objs.len() == 1 && !by_selector {
            return match results.into_iter().next() {
                Some(Ok(o)) => Ok(outcome_map(&o, &hidden)),
                Some(Err(e)) => Err(failed(e.0)),
                None => Err(failed("no object")),
            };
        }
        let mut changed = false;
        let mut items = Vec::new();
        let mut first_error = None;
        for r in results {
            match r {
                Ok(o) => {
                    changed |= o.changed;
                    items.push(Value::Object(outcome_map(&o, &hidden)));
                }
                Err(e) => {
                    first_error.get_or_insert(e.0.clone());
                    items.push(json!({"error": {"msg": e.0}, "changed": false}));
                }
            }
        }
        if let (Some(e), false) = (&first_error, continue_on_error) {
            return Err(failed(e.clone()));
        }
        Ok(map([
            ("changed", Value::Bool(changed)),
            ("result", json!({"results": items})),
        ]))
    }
}
