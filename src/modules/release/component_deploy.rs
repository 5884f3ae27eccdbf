//! `component_deploy` (each host): puts a component version under
//! `<root>/components/<type>/<version>/` and switches `current` atomically
//! (`crate::release::deploy`). Sources, in priority order:
//! - `controller` (the package beside `manifest:` on the controller) or `controller:PATH`,
//!   pushed over the connection (SFTP over SSH);
//! - a path on the host: a manifest (`*.json`), a package (`*.tar*`, `*.tgz`) or a directory
//!   (a filesystem publish target or a pack dest);
//! - an `http(s)://` URL fetched on the host;
//! - `s3://bucket/key`: read on the controller with its credentials (environment or
//!   `s3_profile`), the host gets a presigned URL valid for an hour.
//!
//! Without `sources`, a given `manifest` means `[controller]`. Deploying the version that is
//! already current is `ok`. Check mode reads the host only.

use crate::modules::component_pack::controller_path;
use crate::modules::component_version::{count, fields, lock_opts, release_err, result};
use crate::modules::{ArgKind, ArgSpec, Args, Module, ModuleContext, ModuleError, ModuleResult};
use crate::release::deploy::{self, DeployRequest, Source};
use crate::release::manifest::Manifest;
use crate::release::{s3, version, ErrorKind};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

pub struct ComponentDeploy;

const SPEC: &[ArgSpec] = &[
    ArgSpec::new("type", ArgKind::Str)
        .required()
        .aliases(&["component"]),
    ArgSpec::new("version", ArgKind::Str).required(),
    ArgSpec::new("root", ArgKind::Path).required(),
    ArgSpec::new("manifest", ArgKind::Path),
    ArgSpec::new("sources", ArgKind::List).aliases(&["from"]),
    ArgSpec::new("switch", ArgKind::Bool),
    ArgSpec::new("links", ArgKind::List),
    ArgSpec::new("depends", ArgKind::Dict),
    ArgSpec::new("lock_timeout", ArgKind::Int),
    ArgSpec::new("s3_endpoint", ArgKind::Str),
    ArgSpec::new("s3_region", ArgKind::Str),
    ArgSpec::new("s3_profile", ArgKind::Str),
];

fn strings(args: &Args, key: &str) -> Vec<String> {
    args.list(key)
        .map(|l| {
            l.iter()
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Turns a `sources` word into a source; `s3://` ones may fill in the manifest.
fn source_of(
    word: &str,
    args: &Args,
    ctx: &ModuleContext,
    manifest: &mut Option<Manifest>,
) -> Result<Source, ModuleError> {
    let (comp, ver) = (
        args.str("type").unwrap_or_default(),
        args.str("version").unwrap_or_default(),
    );
    if word == "controller" {
        let m = args.str("manifest").ok_or_else(|| {
            ModuleError::msg("source 'controller' needs manifest: (the controller's manifest path)")
        })?;
        return Ok(Source::Controller(controller_path(ctx, m)));
    }
    if let Some(p) = word.strip_prefix("controller:") {
        return Ok(Source::Controller(controller_path(ctx, p)));
    }
    if let Some((bucket, key)) = s3::parse_s3_url(word) {
        let endpoint = args
            .string("s3_endpoint")
            .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok())
            .ok_or_else(|| {
                ModuleError::msg(format!("{word}: set s3_endpoint (or AWS_ENDPOINT_URL)"))
            })?;
        let creds = s3::Credentials::load(args.str("s3_profile")).map_err(release_err)?;
        let client =
            s3::S3Client::new(&endpoint, args.str("s3_region"), creds).map_err(release_err)?;
        let dir = key
            .rsplit_once('/')
            .map(|(d, _)| format!("{d}/"))
            .unwrap_or_default();
        let is_manifest = key.ends_with(".json");
        if manifest.is_none() {
            let mkey = if is_manifest {
                key.clone()
            } else {
                format!("{dir}{}", Manifest::file_name(comp, ver))
            };
            let text = client.get_object(&bucket, &mkey).map_err(release_err)?;
            *manifest = Some(
                Manifest::parse(&text, &format!("s3://{bucket}/{mkey}")).map_err(release_err)?,
            );
        }
        let pkey = match (is_manifest, manifest.as_ref()) {
            (true, Some(m)) => format!("{dir}{}", m.package.file),
            _ => key.clone(),
        };
        let url = client.presign_get(&bucket, &pkey, Duration::from_secs(3600), SystemTime::now());
        return Ok(Source::Url(url));
    }
    if word.starts_with("http://") || word.starts_with("https://") {
        return Ok(Source::Url(word.to_string()));
    }
    let path = word.strip_prefix("file://").unwrap_or(word).to_string();
    if !path.starts_with('/') {
        return Err(ModuleError::msg(format!(
            "source {word:?}: a host path must be absolute (or use controller:PATH)"
        )));
    }
    let name = path.rsplit('/').next().unwrap_or("");
    Ok(if name.ends_with(".json") {
        Source::Manifest(path)
    } else if name.contains(".tar") || name.ends_with(".tgz") {
        Source::Package(path)
    } else {
        Source::Dir(path)
    })
}

fn request(args: &Args, ctx: &ModuleContext) -> Result<DeployRequest, ModuleError> {
    let mut manifest = match args.str("manifest") {
        Some(m) => Some(Manifest::load(&controller_path(ctx, m)).map_err(release_err)?),
        None => None,
    };
    let mut words = strings(args, "sources");
    if words.is_empty() {
        if args.str("manifest").is_none() {
            return Err(ModuleError::msg(
                "give sources (or manifest, to push the package from the controller)",
            ));
        }
        words.push("controller".into());
    }
    let mut sources = Vec::new();
    for w in &words {
        sources.push(source_of(w, args, ctx, &mut manifest)?);
    }
    let mut req = DeployRequest::new(
        args.str("root").unwrap_or_default(),
        args.str("type").unwrap_or_default(),
        args.str("version").unwrap_or_default(),
        sources,
    );
    req.manifest = manifest;
    req.switch = args.bool_or("switch", true);
    req.custom_links = strings(args, "links");
    if let Some(d) = args.dict("depends") {
        let mut deps = BTreeMap::new();
        for (k, v) in d {
            deps.insert(
                k.clone(),
                v.as_str().map_or_else(|| v.to_string(), str::to_string),
            );
        }
        req.depends = deps;
    }
    count(args, "lock_timeout")?;
    req.lock = lock_opts(args);
    Ok(req)
}

impl Module for ComponentDeploy {
    fn name(&self) -> &'static str {
        "component_deploy"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        SPEC
    }
    fn run(&self, args: &Args, ctx: &mut ModuleContext) -> ModuleResult {
        if ctx.check_mode {
            // Only the host is read: the package may not be packed yet in a check run.
            let mut req = DeployRequest::new(
                args.str("root").unwrap_or_default(),
                args.str("type").unwrap_or_default(),
                args.str("version").unwrap_or_default(),
                Vec::new(),
            );
            req.switch = args.bool_or("switch", true);
            return check(ctx, &req);
        }
        let req = request(args, ctx)?;
        let r = deploy::deploy(&mut *ctx.conn, &req).map_err(release_err)?;
        let msg = if !r.changed {
            format!(
                "{} {} is already deployed and current",
                r.component, r.version
            )
        } else if r.switched {
            format!(
                "{} {} deployed, current (was {})",
                r.component,
                r.version,
                r.previous.as_deref().unwrap_or("none")
            )
        } else if r.extracted {
            format!("{} {} deployed (not switched)", r.component, r.version)
        } else {
            format!("{} {}: links updated", r.component, r.version)
        };
        let mut rest = fields(&r);
        if ctx.verbosity == 0 {
            // The seed's log lines are for -v.
            rest.remove("log");
        }
        Ok(result(r.changed, msg, rest))
    }
}

/// Reads the host: a deploy changes something unless the version is there and (when
/// switching) already current.
fn check(ctx: &mut ModuleContext, req: &DeployRequest) -> ModuleResult {
    let (exists, current) = match version::list(&mut *ctx.conn, &req.root, &req.component) {
        Ok(l) => (
            l.versions.iter().any(|v| v.version == req.version),
            l.current,
        ),
        Err(e) if e.kind == ErrorKind::NotFound => (false, None),
        Err(e) => return Err(release_err(e)),
    };
    let switch = req.switch && current.as_deref() != Some(req.version.as_str());
    let changed = !exists || switch;
    let mut rest = Map::new();
    rest.insert("component".into(), req.component.clone().into());
    rest.insert("version".into(), req.version.clone().into());
    rest.insert("previous".into(), current.clone().into());
    rest.insert(
        "current".into(),
        if switch {
            Value::from(req.version.clone())
        } else {
            current.into()
        },
    );
    rest.insert("switched".into(), Value::Bool(switch));
    rest.insert("extracted".into(), Value::Bool(!exists));
    // Not fetched in check mode; the key is there so plays can test it either way.
    rest.insert("source".into(), Value::Null);
    let msg = if changed {
        format!(
            "would {}{}{} {} {}",
            if exists { "" } else { "deploy" },
            if !exists && switch { " and " } else { "" },
            if switch { "switch to" } else { "" },
            req.component,
            req.version
        )
    } else {
        format!(
            "{} {} is already deployed and current",
            req.component, req.version
        )
    };
    Ok(result(changed, msg, rest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::util::test_support::{failed, run, run_with, Opts};
    use crate::release::pack::{pack, Compression, PackOptions};
    use serde_json::json;

    #[test]
    fn deploy_from_controller_then_ok_and_check_mode() {
        let t = tempfile::tempdir().unwrap();
        let src = t.path().join("src");
        std::fs::create_dir_all(&src).unwrap();
        std::fs::write(src.join("w"), b"weights").unwrap();
        let r = pack(&PackOptions {
            src,
            component: "model".into(),
            version: "1.0".into(),
            dest: t.path().join("dist"),
            compression: Compression::Gzip,
            excludes: vec![],
            level: None,
        })
        .unwrap();
        let root = t.path().join("root");
        let args = json!({"type": "model", "version": "1.0", "root": root,
            "manifest": r.manifest_path});
        let check = || Opts {
            check: true,
            ..Opts::default()
        };
        let c = run_with(&ComponentDeploy, args.clone(), check()).unwrap();
        assert_eq!(c["changed"], json!(true));
        assert!(!root.join("components/model/1.0").exists());

        let d = run(&ComponentDeploy, args.clone()).unwrap();
        assert_eq!(d["changed"], json!(true), "{d:?}");
        assert_eq!(
            std::fs::read(root.join("components/model/current/w")).unwrap(),
            b"weights"
        );
        assert!(d.get("log").is_none());
        assert_eq!(
            run(&ComponentDeploy, args.clone()).unwrap()["changed"],
            json!(false)
        );
        assert_eq!(
            run_with(&ComponentDeploy, args, check()).unwrap()["changed"],
            json!(false)
        );
    }

    #[test]
    fn bad_sources_fail_clearly() {
        let m = failed(run(
            &ComponentDeploy,
            json!({"type": "model", "version": "1.0", "root": "/tmp/x"}),
        ));
        assert!(m["msg"].as_str().unwrap().contains("sources"));
        let m = failed(run(
            &ComponentDeploy,
            json!({"type": "model", "version": "1.0", "root": "/tmp/x", "sources": ["rel/path"]}),
        ));
        assert!(m["msg"].as_str().unwrap().contains("absolute"));
    }
}
