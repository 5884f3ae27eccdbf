//! `k8s_rollback` (kubernetes.core.k8s_rollback): a Deployment or DaemonSet back to its
//! previous revision, as `kubectl rollout undo` does it.

use super::{failed, with_auth, with_cluster};
use crate::k8s::object::to_json;
use crate::k8s::{rollout, K8sError};
use crate::modules::util::map;
use crate::modules::{ArgKind, ArgSpec, Args, Module, ModuleContext, ModuleResult};
use kube::api::ListParams;
use serde_json::{json, Value};
use std::sync::OnceLock;

pub struct K8sRollback;

const OWN_SPEC: &[ArgSpec] = &[
    ArgSpec::new("api_version", ArgKind::Str).aliases(&["api", "version"]),
    ArgSpec::new("kind", ArgKind::Str).required(),
    ArgSpec::new("name", ArgKind::Str),
    ArgSpec::new("namespace", ArgKind::Str),
    ArgSpec::new("label_selectors", ArgKind::List),
    ArgSpec::new("field_selectors", ArgKind::List),
];

impl Module for K8sRollback {
    fn name(&self) -> &'static str {
        "k8s_rollback"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        static ALL: OnceLock<Vec<ArgSpec>> = OnceLock::new();
        with_auth(OWN_SPEC, &ALL)
    }
    fn run(&self, args: &Args, ctx: &mut ModuleContext) -> ModuleResult {
        let kind = args.str("kind").unwrap_or_default().to_string();
        if kind != "Deployment" && kind != "DaemonSet" {
            return Err(failed(format!(
                "Cannot perform rollback on resource of kind {kind}"
            )));
        }
        let namespace = args.string("namespace");
        let name = args.string("name");
        let mut lp = ListParams::default();
        if let Some(l) = super::info::selectors(args, "label_selectors") {
            lp = lp.labels(&l);
        }
        if let Some(f) = super::info::selectors(args, "field_selectors") {
            lp = lp.fields(&f);
        }
        let dry_run = ctx.check_mode;
        let (changed, info) = with_cluster(args, ctx, |cluster| async move {
            let names: Vec<String> = match name {
                Some(n) => vec![n],
                None => cluster
                    .api_for("apps/v1", &kind, namespace.as_deref())
                    .await?
                    .list(&lp)
                    .await
                    .map_err(K8sError::from)?
                    .items
                    .iter()
                    .filter_map(|o| to_json(o)["metadata"]["name"].as_str().map(str::to_string))
                    .collect(),
            };
            let mut changed = false;
            let mut info = Vec::new();
            for n in names {
                // kubernetes.core: nothing found is nothing rolled back, not an error.
                let Some(w) =
                    rollout::workload_opt(&cluster, &kind, &n, namespace.as_deref(), "undo")
                        .await?
                else {
                    continue;
                };
                match rollout::undo(&cluster, &w, 0, dry_run).await {
                    Ok(u) => {
                        changed |= u.changed;
                        info.push(json!({
                            "changed": u.changed,
                            "method": "patch",
                            "body": u.body,
                            "resources": u.result,
                        }));
                    }
                    Err(e) if rollout::is_no_history(&e) => info.push(json!({
                        "changed": false,
                        "warnings": [format!("No rollout history found for resource {kind}/{n}")],
                    })),
                    Err(e) => return Err(e),
                }
            }
            Ok((changed, info))
        })?;
        Ok(map([
            ("changed", Value::Bool(changed)),
            ("rollback_info", Value::Array(info)),
        ]))
    }
}
