//! `k8s_scale` (kubernetes.core.k8s_scale): set the replicas of a Deployment, ReplicaSet,
//! StatefulSet or ReplicationController (a Job: its parallelism), and wait for it.

use super::{failed, wait_spec_with, with_auth, with_cluster};
use crate::k8s::object::Outcome;
use crate::k8s::scale::{self, Request};
use crate::k8s::{manifest, object::to_json, K8sError};
use crate::modules::util::map;
use crate::modules::{ArgKind, ArgSpec, Args, Module, ModuleContext, ModuleResult};
use kube::api::ListParams;
use serde_json::{json, Value};
use std::sync::OnceLock;
use std::time::Instant;

pub struct K8sScale;

const OWN_SPEC: &[ArgSpec] = &[
    ArgSpec::new("replicas", ArgKind::Int).required(),
    ArgSpec::new("current_replicas", ArgKind::Int),
    ArgSpec::new("resource_version", ArgKind::Str),
    ArgSpec::new("definition", ArgKind::Raw).aliases(&["resource_definition", "inline"]),
    ArgSpec::new("src", ArgKind::Path),
    ArgSpec::new("kind", ArgKind::Str),
    ArgSpec::new("name", ArgKind::Str),
    ArgSpec::new("namespace", ArgKind::Str),
    ArgSpec::new("api_version", ArgKind::Str).aliases(&["api", "version"]),
    ArgSpec::new("label_selectors", ArgKind::List),
    ArgSpec::new("continue_on_error", ArgKind::Bool),
    ArgSpec::new("wait", ArgKind::Bool),
    ArgSpec::new("wait_sleep", ArgKind::Int),
    ArgSpec::new("wait_timeout", ArgKind::Int),
];

fn item((o, warning): &(Outcome, Option<String>)) -> serde_json::Map<String, Value> {
    let mut m = map([("changed", Value::Bool(o.changed))]);
    match warning {
        // kubernetes.core's singular key: a note in the result, not a printed warning.
        Some(w) => {
            m.insert("warning".into(), Value::String(w.clone()));
        }
        None => {
            m.insert("result".into(), o.result.clone());
        }
    }
    if let Some(d) = &o.diff {
        m.insert("diff".into(), d.clone());
    }
    m
}

impl Module for K8sScale {
    fn name(&self) -> &'static str {
        "k8s_scale"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        static ALL: OnceLock<Vec<ArgSpec>> = OnceLock::new();
        with_auth(OWN_SPEC, &ALL)
    }
    fn run(&self, args: &Args, ctx: &mut ModuleContext) -> ModuleResult {
        let started = Instant::now();
        let req = Request {
            replicas: args.int("replicas").unwrap_or(0),
            current_replicas: args.int("current_replicas"),
            resource_version: args.string("resource_version"),
            check_mode: ctx.check_mode,
            diff: ctx.diff_mode,
            wait: wait_spec_with(args, true, 20)?,
        };
        let selectors = super::info::selectors(args, "label_selectors");
        let refs = if selectors.is_some() && args.str("name").is_none() {
            Vec::new()
        } else {
            manifest::objects(args, ctx).map_err(|e| failed(e.0))?
        };
        let continue_on_error = args.bool_or("continue_on_error", false);
        let (single, outcomes) = with_cluster(args, ctx, |cluster| async move {
            let mut targets = Vec::new();
            if let Some(sel) = &selectors {
                let kind = args.str("kind").unwrap_or_default();
                let api = cluster
                    .api_for(
                        args.str("api_version").unwrap_or("v1"),
                        kind,
                        args.str("namespace"),
                    )
                    .await?;
                let listed = api
                    .list(&ListParams::default().labels(sel))
                    .await
                    .map_err(K8sError::from)?;
                targets.extend(listed.items.iter().map(to_json));
            }
            for r in &refs {
                targets.push(existing(&cluster, r).await?);
            }
            let single = selectors.is_none() && targets.len() == 1;
            let mut out = Vec::new();
            for t in &targets {
                let r = scale::scale(&cluster, t, &req).await;
                let stop = r.is_err() && !continue_on_error;
                out.push(r);
                if stop {
                    break;
                }
            }
            Ok((single, out))
        })?;
        let duration = json!(started.elapsed().as_secs());
        if single {
            let o = outcomes
                .into_iter()
                .next()
                .ok_or_else(|| failed("no object"))?;
            let o = o.map_err(|e| failed(e.0))?;
            let mut m = item(&o);
            if o.1.is_some() {
                m.insert("result".into(), json!({}));
            }
            m.insert("duration".into(), duration);
            return Ok(m);
        }
        let mut changed = false;
        let mut results = Vec::new();
        for o in outcomes {
            match o {
                Ok(o) => {
                    changed |= o.0.changed;
                    results.push(Value::Object(item(&o)));
                }
                Err(e) if continue_on_error => {
                    results.push(json!({"changed": false, "error": {"msg": e.0}}))
                }
                Err(e) => return Err(failed(e.0)),
            }
        }
        Ok(map([
            ("changed", Value::Bool(changed)),
            ("results", Value::Array(results)),
            ("duration", duration),
        ]))
    }
}

/// The object `r` names, as the server has it now.
async fn existing(cluster: &crate::k8s::cluster::Cluster, r: &Value) -> Result<Value, K8sError> {
    let kind = r["kind"].as_str().unwrap_or_default();
    let name = r["metadata"]["name"].as_str().ok_or_else(|| {
        K8sError("k8s_scale needs name (or label_selectors) to find the object".into())
    })?;
    let api = cluster
        .api_for(
            r["apiVersion"].as_str().unwrap_or("v1"),
            kind,
            r["metadata"]["namespace"].as_str(),
        )
        .await?;
    api.get_opt(name)
        .await
        .map_err(K8sError::from)?
        .map(|o| to_json(&o))
        .ok_or_else(|| {
            K8sError(format!(
                "Failed to retrieve requested object: {}/{name} not found",
                kind.to_lowercase()
            ))
        })
}
