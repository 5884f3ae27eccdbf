//! `component_pack` (controller): packs a directory into `<dest>/<type>-<version>.tar.<ext>`
//! plus its sha256 manifest (`crate::release::pack`). Reproducible, so re-packing an unchanged
//! tree is `ok`. Check mode packs into a scratch dir and compares checksums, leaving `dest`
//! untouched.

use crate::modules::component_version::{release_err, result};
use crate::modules::copy::find_local;
use crate::modules::{ArgKind, ArgSpec, Args, Module, ModuleContext, ModuleError, ModuleResult};
use crate::release::manifest::Manifest;
use crate::release::pack::{self, Compression, PackOptions};
use serde_json::{Map, Value};
use std::path::PathBuf;

pub struct ComponentPack;

const SPEC: &[ArgSpec] = &[
    ArgSpec::new("src", ArgKind::Path).required(),
    ArgSpec::new("type", ArgKind::Str)
        .required()
        .aliases(&["component"]),
    ArgSpec::new("version", ArgKind::Str).required(),
    ArgSpec::new("dest", ArgKind::Path),
    ArgSpec::new("compression", ArgKind::Str).choices(&["gzip", "xz", "bzip2", "zstd"]),
    ArgSpec::new("excludes", ArgKind::List).aliases(&["exclude"]),
    ArgSpec::new("level", ArgKind::Int),
];

/// Relative controller paths are taken from the playbook dir (the last search path), like
/// `src` lookups, so a playbook works wherever it is run from.
pub(super) fn controller_path(ctx: &ModuleContext, p: &str) -> PathBuf {
    let path = PathBuf::from(p);
    if path.is_absolute() {
        return path;
    }
    match ctx.search_paths.last() {
        Some(base) => base.join(path),
        None => path,
    }
}

impl Module for ComponentPack {
    fn name(&self) -> &'static str {
        "component_pack"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        SPEC
    }
    fn controller_only(&self) -> bool {
        true
    }
    fn run(&self, args: &Args, ctx: &mut ModuleContext) -> ModuleResult {
        let src_arg = args.str("src").unwrap_or_default();
        let src = find_local(ctx, src_arg).ok_or_else(|| {
            ModuleError::msg(format!(
                "src {src_arg} not found on the controller (looked in {})",
                ctx.search_paths
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
        let dest = controller_path(ctx, args.str("dest").unwrap_or("dist"));
        let level = match args.int("level") {
            Some(n) if !(0..=22).contains(&n) => {
                return Err(ModuleError::msg(format!("level must be 0..22, got {n}")))
            }
            other => other.map(|n| n as u32),
        };
        let excludes: Vec<String> = args
            .list("excludes")
            .map(|l| {
                l.iter()
                    .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let opts = PackOptions {
            src,
            component: args.str("type").unwrap_or_default().to_string(),
            version: args.str("version").unwrap_or_default().to_string(),
            dest: dest.clone(),
            compression: Compression::parse(args.str("compression").unwrap_or("gzip"))
                .map_err(release_err)?,
            excludes,
            level,
        };
        if ctx.check_mode {
            return check(&opts);
        }
        let r = pack::pack(&opts).map_err(release_err)?;
        let msg = format!(
            "{} {} ({} files, {} bytes, sha256 {})",
            if r.changed { "packed" } else { "unchanged" },
            r.package.display(),
            r.files,
            r.manifest.package.size,
            r.manifest.package.checksum.value
        );
        Ok(result(r.changed, msg, report(&r)))
    }
}

fn report(r: &pack::PackReport) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("package".into(), r.package.display().to_string().into());
    m.insert(
        "manifest_path".into(),
        r.manifest_path.display().to_string().into(),
    );
    m.insert(
        "checksum".into(),
        r.manifest.package.checksum.value.clone().into(),
    );
    m.insert("size".into(), r.manifest.package.size.into());
    m.insert("files".into(), r.files.into());
    m.insert(
        "manifest".into(),
        serde_json::to_value(&r.manifest).unwrap_or(Value::Null),
    );
    m
}

/// Removes the check-mode scratch dir on every path.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Packs into a scratch dir: changed when `dest` has no manifest with the same checksum.
fn check(opts: &PackOptions) -> ModuleResult {
    let scratch = Scratch(std::env::temp_dir().join(format!(
        "yiqiu-pack-check-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    )));
    let mut o = opts.clone();
    o.dest = scratch.0.clone();
    let r = pack::pack(&o).map_err(release_err)?;
    drop(scratch);
    let existing = Manifest::load(
        &opts
            .dest
            .join(Manifest::file_name(&o.component, &o.version)),
    );
    let changed = !existing.is_ok_and(|m| {
        m.package.checksum.value == r.manifest.package.checksum.value
            && opts.dest.join(&m.package.file).is_file()
    });
    let mut m = report(&r);
    let final_pkg = opts.dest.join(&r.manifest.package.file);
    m.insert("package".into(), final_pkg.display().to_string().into());
    m.insert(
        "manifest_path".into(),
        opts.dest
            .join(Manifest::file_name(&o.component, &o.version))
            .display()
            .to_string()
            .into(),
    );
    let msg = format!(
        "{} {}",
        if changed { "would pack" } else { "unchanged" },
        final_pkg.display()
    );
    Ok(result(changed, msg, m))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::util::test_support::{run, run_with, Opts};
    use serde_json::json;

    #[test]
    fn pack_is_idempotent_and_check_mode_writes_nothing() {
        let t = tempfile::tempdir().unwrap();
        let src = t.path().join("src");
        std::fs::create_dir_all(src.join("bert")).unwrap();
        std::fs::write(src.join("bert/w.bin"), b"weights").unwrap();
        let dest = t.path().join("dist");
        let args = json!({"src": src, "type": "model", "version": "1.0", "dest": dest});
        let c = run_with(
            &ComponentPack,
            args.clone(),
            Opts {
                check: true,
                ..Opts::default()
            },
        )
        .unwrap();
        assert_eq!(c["changed"], json!(true));
        assert!(!dest.exists(), "check mode wrote {}", dest.display());

        let r = run(&ComponentPack, args.clone()).unwrap();
        assert_eq!(r["changed"], json!(true));
        let pkg = dest.join("model-1.0.tar.gz");
        assert!(pkg.is_file());
        assert_eq!(
            r["checksum"],
            json!(crate::release::publish::file_sha256(&pkg).unwrap())
        );
        assert_eq!(
            run(&ComponentPack, args.clone()).unwrap()["changed"],
            json!(false)
        );
        let c = run_with(
            &ComponentPack,
            args,
            Opts {
                check: true,
                ..Opts::default()
            },
        )
        .unwrap();
        assert_eq!(c["changed"], json!(false));
    }
}
