//! `k8s_drain` (kubernetes.core.k8s_drain): `state: cordon | drain | uncordon` of one node.

use super::{failed, with_auth, with_cluster};
use crate::k8s::drain::{self, DrainOptions};
use crate::modules::util::map;
use crate::modules::{ArgKind, ArgSpec, Args, Module, ModuleContext, ModuleResult};
use serde_json::Value;
use std::sync::OnceLock;
use std::time::Duration;

pub struct K8sDrain;

const OWN_SPEC: &[ArgSpec] = &[
    ArgSpec::new("state", ArgKind::Str).choices(&["cordon", "drain", "uncordon"]),
    ArgSpec::new("name", ArgKind::Str).required(),
    ArgSpec::new("delete_options", ArgKind::Dict),
    ArgSpec::new("pod_selectors", ArgKind::List).aliases(&["label_selectors"]),
];

const DELETE_OPTIONS: &[&str] = &[
    "terminate_grace_period",
    "force",
    "ignore_daemonsets",
    "delete_emptydir_data",
    "disable_eviction",
    "wait_timeout",
    "wait_sleep",
];

fn options(args: &Args) -> Result<DrainOptions, crate::modules::ModuleError> {
    let d = args.dict("delete_options").cloned().unwrap_or_default();
    if let Some(bad) = d.keys().find(|k| !DELETE_OPTIONS.contains(&k.as_str())) {
        return Err(failed(format!(
            "Unsupported parameters for (k8s_drain) module: delete_options.{bad}. Supported parameters include: {}.",
            DELETE_OPTIONS.join(", ")
        )));
    }
    let flag = |k: &str| {
        d.get(k)
            .and_then(crate::modules::args::to_bool)
            .unwrap_or(false)
    };
    let int = |k: &str| {
        d.get(k).and_then(|v| {
            v.as_i64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        })
    };
    Ok(DrainOptions {
        force: flag("force"),
        ignore_daemonsets: flag("ignore_daemonsets"),
        delete_emptydir_data: flag("delete_emptydir_data"),
        disable_eviction: flag("disable_eviction"),
        grace_period: int("terminate_grace_period"),
        wait_timeout: int("wait_timeout").map(|t| Duration::from_secs(t.max(0) as u64)),
        wait_sleep: Duration::from_secs(int("wait_sleep").unwrap_or(5).max(0) as u64),
        pod_selectors: super::info::selectors(args, "pod_selectors"),
    })
}

impl Module for K8sDrain {
    fn name(&self) -> &'static str {
        "k8s_drain"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        static ALL: OnceLock<Vec<ArgSpec>> = OnceLock::new();
        with_auth(OWN_SPEC, &ALL)
    }
    fn run(&self, args: &Args, ctx: &mut ModuleContext) -> ModuleResult {
        let state = args.str("state").unwrap_or("drain").to_string();
        let node = args.str("name").unwrap_or_default().to_string();
        let opts = options(args)?;
        let dry_run = ctx.check_mode;
        let done = with_cluster(args, ctx, |cluster| async move {
            match state.as_str() {
                "cordon" => drain::set_unschedulable(&cluster, &node, true, dry_run).await,
                "uncordon" => drain::set_unschedulable(&cluster, &node, false, dry_run).await,
                _ => drain::drain(&cluster, &node, &opts, dry_run).await,
            }
        })?;
        let mut m = map([
            ("changed", Value::Bool(done.changed)),
            ("result", Value::String(done.message)),
        ]);
        if !done.warnings.is_empty() {
            m.insert(
                "warnings".into(),
                Value::Array(done.warnings.into_iter().map(Value::String).collect()),
            );
        }
        Ok(m)
    }
}
