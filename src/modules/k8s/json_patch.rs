//! `k8s_json_patch` (kubernetes.core.k8s_json_patch): an RFC 6902 patch on one object.

use super::{failed, wait_spec, with_auth, with_cluster};
use crate::k8s::json_patch::{self, Request};
use crate::modules::util::map;
use crate::modules::{ArgKind, ArgSpec, Args, Module, ModuleContext, ModuleResult};
use serde_json::{json, Value};
use std::sync::OnceLock;
use std::time::Instant;

pub struct K8sJsonPatch;

const OWN_SPEC: &[ArgSpec] = &[
    ArgSpec::new("api_version", ArgKind::Str).aliases(&["api", "version"]),
    ArgSpec::new("kind", ArgKind::Str).required(),
    ArgSpec::new("name", ArgKind::Str).required(),
    ArgSpec::new("namespace", ArgKind::Str),
    ArgSpec::new("patch", ArgKind::List).required(),
    ArgSpec::new("wait", ArgKind::Bool),
    ArgSpec::new("wait_condition", ArgKind::Dict),
    ArgSpec::new("wait_sleep", ArgKind::Int),
    ArgSpec::new("wait_timeout", ArgKind::Int),
];

impl Module for K8sJsonPatch {
    fn name(&self) -> &'static str {
        "k8s_json_patch"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        static ALL: OnceLock<Vec<ArgSpec>> = OnceLock::new();
        with_auth(OWN_SPEC, &ALL)
    }
    fn run(&self, args: &Args, ctx: &mut ModuleContext) -> ModuleResult {
        let started = Instant::now();
        let patch = Value::Array(args.list("patch").cloned().unwrap_or_default());
        if patch.as_array().is_some_and(Vec::is_empty) {
            return Err(failed(
                "patch must be a non-empty list of JSON patch operations",
            ));
        }
        let req = Request {
            api_version: args.str("api_version").unwrap_or("v1"),
            kind: args.str("kind").unwrap_or_default(),
            name: args.str("name").unwrap_or_default(),
            namespace: args.str("namespace"),
            patch,
            check_mode: ctx.check_mode,
            diff: ctx.diff_mode,
            wait: wait_spec(args)?,
        };
        let o = with_cluster(args, ctx, |cluster| async move {
            json_patch::apply(&cluster, &req).await
        })?;
        let mut m = map([
            ("changed", Value::Bool(o.changed)),
            ("result", o.result),
            ("duration", json!(started.elapsed().as_secs())),
        ]);
        if let Some(d) = o.diff {
            m.insert("diff".into(), d);
        }
        Ok(m)
    }
}
