//! `k8s_info` (kubernetes.core.k8s_info): reads objects; usable with `until:`.

use super::wait_spec;
use crate::k8s::{wait, K8sError};
use crate::modules::util::map;
use crate::modules::{ArgKind, ArgSpec, Args, Module, ModuleContext, ModuleResult};
use kube::api::ListParams;
use serde_json::Value;
use std::sync::OnceLock;

pub struct K8sInfo;

const OWN_SPEC: &[ArgSpec] = &[
    ArgSpec::new("kind", ArgKind::Str).required(),
    ArgSpec::new("api_version", ArgKind::Str).aliases(&["api", "version"]),
    ArgSpec::new("name", ArgKind::Str),
    ArgSpec::new("namespace", ArgKind::Str),
    ArgSpec::new("label_selectors", ArgKind::List),
    ArgSpec::new("hidden_fields", ArgKind::List),
    ArgSpec::new("field_selectors", ArgKind::List),
    ArgSpec::new("wait", ArgKind::Bool),
    ArgSpec::new("wait_condition", ArgKind::Dict),
    ArgSpec::new("wait_sleep", ArgKind::Int),
    ArgSpec::new("wait_timeout", ArgKind::Int),
];

fn spec() -> &'static [ArgSpec] {
    static ALL: OnceLock<Vec<ArgSpec>> = OnceLock::new();
    super::with_auth(OWN_SPEC, &ALL)
}

pub fn selectors(args: &Args, key: &str) -> Option<String> {
    let parts = args.strings(key)?;
    (!parts.is_empty()).then(|| parts.join(","))
}

impl Module for K8sInfo {
    fn name(&self) -> &'static str {
        "k8s_info"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        spec()
    }
    fn run(&self, args: &Args, ctx: &mut ModuleContext) -> ModuleResult {
        let kind = args.str("kind").unwrap_or_default().to_string();
        let api_version = args.str("api_version").unwrap_or("v1").to_string();
        let name = args.str("name").map(str::to_string);
        let namespace = args.str("namespace").map(str::to_string);
        let mut lp = ListParams::default();
        if let Some(l) = selectors(args, "label_selectors") {
            lp = lp.labels(&l);
        }
        if let Some(f) = selectors(args, "field_selectors") {
            lp = lp.fields(&f);
        }
        let waiting = wait_spec(args)?;
        let found = super::with_cluster(args, ctx, |cluster| async move {
            // kubernetes.core: an unknown kind is `api_found: false`, not a failure.
            let Some((ar, caps)) = cluster.find_resource(&api_version, &kind).await? else {
                return Ok(None);
            };
            let api = cluster.api(&ar, &caps, namespace.as_deref());
            let objs: Vec<Value> = match &name {
                Some(n) => {
                    if let Some(spec) = &waiting {
                        vec![wait::until_ready(&api, &kind, n, spec).await?]
                    } else {
                        api.get_opt(n)
                            .await
                            .map_err(K8sError::from)?
                            .into_iter()
                            .map(|o| serde_json::to_value(o).unwrap_or(Value::Null))
                            .collect()
                    }
                }
                None => api
                    .list(&lp)
                    .await
                    .map_err(K8sError::from)?
                    .items
                    .into_iter()
                    .map(|o| serde_json::to_value(o).unwrap_or(Value::Null))
                    .collect(),
            };
            Ok::<_, K8sError>(Some(objs))
        })?;
        let mut out = map([
            ("changed", Value::Bool(false)),
            ("api_found", Value::Bool(found.is_some())),
        ]);
        if found.is_none() {
            out.insert(
                "msg".into(),
                Value::String(format!(
                    "Failed to find API for resource with apiVersion \"{}\" and kind \"{}\"",
                    args.str("api_version").unwrap_or("v1"),
                    args.str("kind").unwrap_or_default()
                )),
            );
        }
        let hidden = hidden_fields(args);
        let mut resources = found.unwrap_or_default();
        for r in &mut resources {
            crate::k8s::hidden::hide(r, &hidden);
        }
        out.insert("resources".into(), Value::Array(resources));
        Ok(out)
    }
}

/// The task's `hidden_fields` paths.
pub fn hidden_fields(args: &Args) -> Vec<String> {
    args.strings("hidden_fields").unwrap_or_default()
}
