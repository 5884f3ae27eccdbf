//! `component_publish` (controller): copies a package and its manifest to several targets in
//! parallel (`crate::release::publish`): `filesystem` (`<path>/<type>/<version>/`) and `s3`
//! (credentials from the environment or a named profile only, never from task args).
//!
//! Targets are given inline (`targets: [{name, type, path|endpoint+bucket, ...}]`), or named
//! (`targets: [nfs]`) from the project file `.yiqiu-release.yaml` (`config:`, else found from
//! the playbook dir upwards); without `targets`, all the project file's targets are used.
//! Check mode compares checksums at each target without writing.

use crate::modules::component_pack::controller_path;
use crate::modules::component_version::{fields, release_err, result};
use crate::modules::{ArgKind, ArgSpec, Args, Module, ModuleContext, ModuleError, ModuleResult};
use crate::release::config::{ReleaseConfig, TargetConfig};
use crate::release::manifest::Manifest;
use crate::release::publish::{self, file_sha256};
use crate::release::s3::{Credentials, S3Client};
use serde_json::{Map, Value};
use std::path::Path;

pub struct ComponentPublish;

const SPEC: &[ArgSpec] = &[
    ArgSpec::new("manifest", ArgKind::Path).required(),
    ArgSpec::new("targets", ArgKind::List),
    ArgSpec::new("config", ArgKind::Path),
    ArgSpec::new("force", ArgKind::Bool),
];

fn targets(args: &Args, ctx: &ModuleContext) -> Result<Vec<TargetConfig>, ModuleError> {
    let cfg_path = match args.str("config") {
        Some(c) => Some(controller_path(ctx, c)),
        None => ctx.search_paths.last().and_then(|d| ReleaseConfig::find(d)),
    };
    let cfg = match &cfg_path {
        Some(p) => Some(ReleaseConfig::load(p).map_err(release_err)?),
        None => None,
    };
    let named = |name: &str| -> Result<TargetConfig, ModuleError> {
        cfg.as_ref()
            .and_then(|c| c.target(name))
            .cloned()
            .ok_or_else(|| {
                ModuleError::msg(format!(
                    "no publish target named {name:?} ({})",
                    match &cfg_path {
                        Some(p) => format!("not in {}", p.display()),
                        None => "no .yiqiu-release.yaml found".into(),
                    }
                ))
            })
    };
    let mut out = Vec::new();
    match args.list("targets") {
        Some(list) => {
            for t in list {
                match t {
                    Value::String(name) => out.push(named(name)?),
                    Value::Object(_) => {
                        out.push(serde_json::from_value::<TargetConfig>(t.clone()).map_err(
                            |e| ModuleError::msg(format!("invalid publish target {t}: {e}")),
                        )?)
                    }
                    other => {
                        return Err(ModuleError::msg(format!(
                            "a publish target is a name or a dict, got {other}"
                        )))
                    }
                }
            }
        }
        None => out = cfg.map(|c| c.publish.targets).unwrap_or_default(),
    }
    // Relative filesystem targets are the playbook's, like every other controller path.
    for t in &mut out {
        if let Some(p) = &t.path {
            t.path = Some(controller_path(ctx, p).display().to_string());
        }
    }
    Ok(out)
}

impl Module for ComponentPublish {
    fn name(&self) -> &'static str {
        "component_publish"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        SPEC
    }
    fn controller_only(&self) -> bool {
        true
    }
    fn run(&self, args: &Args, ctx: &mut ModuleContext) -> ModuleResult {
        let manifest = controller_path(ctx, args.str("manifest").unwrap_or_default());
        let targets = targets(args, ctx)?;
        let force = args.bool_or("force", false);
        if ctx.check_mode {
            return check(&manifest, &targets, force);
        }
        let r = publish::publish(&manifest, &targets, force).map_err(release_err)?;
        let msg = r
            .targets
            .iter()
            .map(|t| format!("{}: {}", t.name, if t.changed { "changed" } else { "ok" }))
            .collect::<Vec<_>>()
            .join(", ");
        let mut rest = fields(&r);
        rest.insert("locations".into(), Value::Array(r.record.locations.clone()));
        Ok(result(r.changed, msg, rest))
    }
}

/// What publishing would do at each target: `changed`, `ok` (identical package there) or
/// `refused` (a different package, no `force`).
fn check(manifest: &Path, targets: &[TargetConfig], force: bool) -> ModuleResult {
    if !manifest.exists() {
        // A pack earlier in the same check run would have made it.
        return Ok(result(
            true,
            format!("would publish {} (not packed yet)", manifest.display()),
            Map::new(),
        ));
    }
    let m = Manifest::load(manifest).map_err(release_err)?;
    let want = &m.package.checksum.value;
    let pkg = manifest
        .parent()
        .unwrap_or(Path::new("."))
        .join(&m.package.file);
    let got = file_sha256(&pkg).map_err(release_err)?;
    if &got != want {
        return Err(ModuleError::msg(format!(
            "{}: sha256 {got} does not match its manifest ({want})",
            pkg.display()
        )));
    }
    let mut rows = Vec::new();
    let mut changed = false;
    for t in targets {
        let there: Result<Option<String>, String> = match t.type_.as_str() {
            "filesystem" | "fs" | "local" => {
                let dest = Path::new(t.path.as_deref().unwrap_or("."))
                    .join(&m.component.type_)
                    .join(&m.component.version)
                    .join(&m.package.file);
                if dest.is_file() {
                    file_sha256(&dest).map(Some).map_err(|e| e.message)
                } else {
                    Ok(None)
                }
            }
            "s3" => s3_sha(t, &m),
            other => Err(format!("unknown type {other:?} (filesystem, s3)")),
        };
        let state = match &there {
            Ok(None) => "changed",
            Ok(Some(s)) if s == want => "ok",
            Ok(Some(_)) if force => "changed",
            Ok(Some(_)) => "refused",
            Err(_) => "unknown",
        };
        changed |= state == "changed";
        let mut row = Map::new();
        row.insert("name".into(), t.name.clone().into());
        row.insert("state".into(), state.into());
        if let Err(e) = there {
            row.insert("error".into(), e.into());
        }
        rows.push(Value::Object(row));
    }
    let msg = rows
        .iter()
        .map(|r| {
            format!(
                "{}: {}",
                r["name"].as_str().unwrap_or(""),
                r["state"].as_str().unwrap_or("")
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    let mut rest = Map::new();
    rest.insert("targets".into(), Value::Array(rows));
    Ok(result(changed, msg, rest))
}

fn s3_sha(t: &TargetConfig, m: &Manifest) -> Result<Option<String>, String> {
    let endpoint = t.endpoint.as_deref().ok_or("s3 target needs an endpoint")?;
    let bucket = t.bucket.as_deref().ok_or("s3 target needs a bucket")?;
    let prefix = t.prefix.as_deref().unwrap_or("").trim_matches('/');
    let dir = format!("{}/{}", m.component.type_, m.component.version);
    let key = if prefix.is_empty() {
        format!("{dir}/{}", m.package.file)
    } else {
        format!("{prefix}/{dir}/{}", m.package.file)
    };
    let creds = Credentials::load(t.profile.as_deref()).map_err(|e| e.message)?;
    let client = S3Client::new(endpoint, t.region.as_deref(), creds).map_err(|e| e.message)?;
    match client.head(bucket, &key).map_err(|e| e.message)? {
        // An object without a recorded sha256 cannot be compared: publishing would refuse it
        // too unless forced, so report it as a different package.
        Some(h) => Ok(Some(h.sha256.unwrap_or_default())),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::util::test_support::{failed, run, run_with, Opts};
    use crate::release::pack::{pack, Compression, PackOptions};
    use serde_json::json;

    #[test]
    fn filesystem_publish_check_idempotent_and_refuse() {
        let t = tempfile::tempdir().unwrap();
        let src = t.path().join("src");
        std::fs::create_dir_all(&src).unwrap();
        std::fs::write(src.join("a"), b"one").unwrap();
        let opts = PackOptions {
            src: src.clone(),
            component: "cfg".into(),
            version: "1".into(),
            dest: t.path().join("dist"),
            compression: Compression::Gzip,
            excludes: vec![],
            level: None,
        };
        let r = pack(&opts).unwrap();
        let store = t.path().join("store");
        let args = json!({"manifest": r.manifest_path,
            "targets": [{"name": "nfs", "type": "filesystem", "path": store}]});
        let check = Opts {
            check: true,
            ..Opts::default()
        };
        let c = run_with(&ComponentPublish, args.clone(), check).unwrap();
        assert_eq!(c["changed"], json!(true));
        assert!(!store.exists());
        let p = run(&ComponentPublish, args.clone()).unwrap();
        assert_eq!(p["changed"], json!(true));
        let copy = store.join("cfg/1/cfg-1.tar.gz");
        assert_eq!(
            file_sha256(&copy).unwrap(),
            r.manifest.package.checksum.value
        );
        assert_eq!(p["locations"][0]["name"], json!("nfs"));
        assert_eq!(
            run(&ComponentPublish, args.clone()).unwrap()["changed"],
            json!(false)
        );

        // Same version, different content: refused without force.
        std::fs::write(src.join("a"), b"two").unwrap();
        pack(&opts).unwrap();
        let m = failed(run(&ComponentPublish, args));
        assert!(m["msg"].as_str().unwrap().contains("force"), "{m:?}");
    }

    #[test]
    fn named_target_without_config_fails() {
        let m = failed(run(
            &ComponentPublish,
            json!({"manifest": "/nonexistent.json", "targets": ["nfs"]}),
        ));
        assert!(m["msg"].as_str().unwrap().contains("nfs"));
    }
}
