//! `k8s_rollout` (ours; kubernetes.core has none): `action: restart | status | undo` for a
//! Deployment, StatefulSet or DaemonSet, as `kubectl rollout` does them, with `wait`.
//! `message` is kubectl's line (`deployment.apps/web restarted`).

use super::{wait_spec_with, with_auth, with_cluster};
use crate::k8s::{rollout, wait};
use crate::modules::util::map;
use crate::modules::{ArgKind, ArgSpec, Args, Module, ModuleContext, ModuleResult};
use serde_json::{json, Value};
use std::sync::OnceLock;
use std::time::Instant;

pub struct K8sRollout;

const OWN_SPEC: &[ArgSpec] = &[
    ArgSpec::new("action", ArgKind::Str)
        .required()
        .choices(&["restart", "status", "undo"]),
    ArgSpec::new("kind", ArgKind::Str).required().choices(&[
        "Deployment",
        "StatefulSet",
        "DaemonSet",
    ]),
    ArgSpec::new("name", ArgKind::Str).required(),
    ArgSpec::new("namespace", ArgKind::Str),
    ArgSpec::new("api_version", ArgKind::Str).aliases(&["api", "version"]),
    ArgSpec::new("to_revision", ArgKind::Int),
    ArgSpec::new("wait", ArgKind::Bool),
    ArgSpec::new("wait_sleep", ArgKind::Int),
    ArgSpec::new("wait_timeout", ArgKind::Int),
];

/// kubectl's `deployment.apps/web`.
fn kubectl_name(kind: &str, name: &str) -> String {
    format!("{}.apps/{name}", kind.to_lowercase())
}

impl Module for K8sRollout {
    fn name(&self) -> &'static str {
        "k8s_rollout"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        static ALL: OnceLock<Vec<ArgSpec>> = OnceLock::new();
        with_auth(OWN_SPEC, &ALL)
    }
    fn run(&self, args: &Args, ctx: &mut ModuleContext) -> ModuleResult {
        let started = Instant::now();
        let action = args.str("action").unwrap_or("status").to_string();
        let kind = args.str("kind").unwrap_or_default().to_string();
        let name = args.str("name").unwrap_or_default().to_string();
        let namespace = args.string("namespace");
        let to_revision = args.int("to_revision").unwrap_or(0);
        // `status` is a wait (kubectl's default); restart and undo wait when asked.
        let waiting = wait_spec_with(args, action == "status", 300)?;
        let dry_run = ctx.check_mode;
        let shown = kubectl_name(&kind, &name);
        let (changed, message, result) = with_cluster(args, ctx, |cluster| async move {
            let w =
                rollout::workload(&cluster, &kind, &name, namespace.as_deref(), &action).await?;
            let (changed, message, mut result) = match action.as_str() {
                "restart" => (
                    true,
                    format!("{shown} restarted"),
                    rollout::restart(&w, dry_run).await?,
                ),
                "undo" => {
                    let u = rollout::undo(&cluster, &w, to_revision, dry_run).await?;
                    (u.changed, format!("{shown} {}", u.message), u.result)
                }
                _ => (false, String::new(), w.object.clone()),
            };
            if let (Some(spec), false) = (&waiting, dry_run) {
                result = wait::until_ready(&w.api, &kind, &name, spec).await?;
            }
            let message = if action == "status" {
                match wait::state(&kind, &result, None) {
                    wait::State::Ready => {
                        format!("{} \"{name}\" successfully rolled out", kind.to_lowercase())
                    }
                    wait::State::Waiting(why) | wait::State::Failed(why) => why,
                }
            } else {
                message
            };
            Ok((changed, message, result))
        })?;
        Ok(map([
            ("changed", Value::Bool(changed)),
            ("message", Value::String(message)),
            ("result", result),
            ("duration", json!(started.elapsed().as_secs())),
        ]))
    }
}
