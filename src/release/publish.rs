//! `publish`: copy a package and its manifest to every target, in parallel, and write the
//! publish record of seed 003 §4.2 beside the manifest (`<type>-<version>.publish.json`).
//! Re-publishing identical bytes is unchanged; different bytes under the same version are
//! refused unless `force`.

use super::config::TargetConfig;
use super::manifest::Manifest;
use super::pack::write_atomic;
use super::s3::{Credentials, S3Client};
use super::{ReleaseError, Result};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PublishRecord {
    pub component: Value,
    pub locations: Vec<Value>,
    pub published_at: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct TargetResult {
    pub name: String,
    pub changed: bool,
    pub error: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct PublishReport {
    pub changed: bool,
    pub record_path: PathBuf,
    pub record: PublishRecord,
    pub targets: Vec<TargetResult>,
}

pub fn file_sha256(p: &Path) -> Result<String> {
    let mut f =
        std::fs::File::open(p).map_err(|e| ReleaseError::io(format!("{}: {e}", p.display())))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f
            .read(&mut buf)
            .map_err(|e| ReleaseError::io(format!("{}: {e}", p.display())))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(format!("{:x}", h.finalize()))
}

fn refuse(name: &str, what: &str) -> ReleaseError {
    ReleaseError::refused(format!(
        "target {name}: {what} already holds a different package for this version; use --force to replace it"
    ))
}

fn publish_fs(
    t: &TargetConfig,
    m: &Manifest,
    pkg: &Path,
    manifest_path: &Path,
    force: bool,
) -> Result<(bool, Value)> {
    let base = t.path.as_deref().ok_or_else(|| {
        ReleaseError::invalid(format!("target {}: filesystem target needs a path", t.name))
    })?;
    let dir = Path::new(base)
        .join(&m.component.type_)
        .join(&m.component.version);
    let dest = dir.join(&m.package.file);
    let loc = json!({
        "name": t.name, "type": "filesystem",
        "path": format!("{}/", dir.display()),
        "url": format!("file://{}", dest.display()),
    });
    let want = &m.package.checksum.value;
    if dest.is_file() {
        if &file_sha256(&dest)? == want {
            return Ok((false, loc));
        }
        if !force {
            return Err(refuse(&t.name, &dest.display().to_string()));
        }
    }
    std::fs::create_dir_all(&dir)
        .map_err(|e| ReleaseError::io(format!("{}: {e}", dir.display())))?;
    let tmp = dir.join(format!(".{}.tmp-{}", m.package.file, std::process::id()));
    std::fs::copy(pkg, &tmp).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        ReleaseError::io(format!("copying to {}: {e}", tmp.display()))
    })?;
    // Verify what landed before it becomes visible.
    if &file_sha256(&tmp)? != want {
        let _ = std::fs::remove_file(&tmp);
        return Err(ReleaseError::new(
            super::ErrorKind::Checksum,
            format!(
                "target {}: copy does not match the manifest checksum",
                t.name
            ),
        ));
    }
    std::fs::rename(&tmp, &dest)
        .map_err(|e| ReleaseError::io(format!("{}: {e}", dest.display())))?;
    let mtext = std::fs::read(manifest_path)
        .map_err(|e| ReleaseError::io(format!("{}: {e}", manifest_path.display())))?;
    write_atomic(
        &dir.join(Manifest::file_name(
            &m.component.type_,
            &m.component.version,
        )),
        &mtext,
    )?;
    Ok((true, loc))
}

fn publish_s3(
    t: &TargetConfig,
    m: &Manifest,
    pkg: &Path,
    manifest_path: &Path,
    force: bool,
) -> Result<(bool, Value)> {
    let endpoint = t.endpoint.as_deref().ok_or_else(|| {
        ReleaseError::invalid(format!("target {}: s3 target needs an endpoint", t.name))
    })?;
    let bucket = t.bucket.as_deref().ok_or_else(|| {
        ReleaseError::invalid(format!("target {}: s3 target needs a bucket", t.name))
    })?;
    let prefix = t.prefix.as_deref().unwrap_or("").trim_matches('/');
    let key_dir = if prefix.is_empty() {
        format!("{}/{}", m.component.type_, m.component.version)
    } else {
        format!("{prefix}/{}/{}", m.component.type_, m.component.version)
    };
    let key = format!("{key_dir}/{}", m.package.file);
    let loc = json!({
        "name": t.name, "type": "s3", "endpoint": endpoint, "bucket": bucket, "object_key": key,
    });
    let client = S3Client::new(
        endpoint,
        t.region.as_deref(),
        Credentials::load(t.profile.as_deref())?,
    )?;
    let want = &m.package.checksum.value;
    if let Some(h) = client.head(bucket, &key)? {
        if h.sha256.as_deref() == Some(want.as_str()) {
            return Ok((false, loc));
        }
        if !force {
            return Err(refuse(&t.name, &format!("s3://{bucket}/{key}")));
        }
    }
    client.put_file(bucket, &key, pkg, want)?;
    let msha = file_sha256(manifest_path)?;
    client.put_file(
        bucket,
        &format!(
            "{key_dir}/{}",
            Manifest::file_name(&m.component.type_, &m.component.version)
        ),
        manifest_path,
        &msha,
    )?;
    Ok((true, loc))
}

/// Publishes `manifest_path`'s package to `targets` in parallel. All targets are attempted;
/// the call fails if any failed (the record lists those that succeeded).
pub fn publish(
    manifest_path: &Path,
    targets: &[TargetConfig],
    force: bool,
) -> Result<PublishReport> {
    let m = Manifest::load(manifest_path)?;
    let dir = manifest_path.parent().unwrap_or(Path::new("."));
    let pkg = dir.join(&m.package.file);
    if targets.is_empty() {
        return Err(ReleaseError::invalid(
            "no publish targets (configure publish.targets in .yiqiu-release.yaml)",
        ));
    }
    // The local package must be the one the manifest describes before it goes anywhere.
    let got = file_sha256(&pkg)?;
    if got != m.package.checksum.value {
        return Err(ReleaseError::new(
            super::ErrorKind::Checksum,
            format!(
                "{}: sha256 {got} does not match its manifest ({})",
                pkg.display(),
                m.package.checksum.value
            ),
        ));
    }
    let results: Vec<Result<(bool, Value)>> = std::thread::scope(|s| {
        let handles: Vec<_> = targets
            .iter()
            .map(|t| {
                let (m, pkg) = (&m, &pkg);
                s.spawn(move || match t.type_.as_str() {
                    "filesystem" | "fs" | "local" => publish_fs(t, m, pkg, manifest_path, force),
                    "s3" => publish_s3(t, m, pkg, manifest_path, force),
                    other => Err(ReleaseError::invalid(format!(
                        "target {}: unknown type {other:?} (filesystem, s3)",
                        t.name
                    ))),
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(ReleaseError::io("publish thread panicked")))
            })
            .collect()
    });
    let record_path = dir.join(format!(
        "{}-{}.publish.json",
        m.component.type_, m.component.version
    ));
    let mut record: PublishRecord = std::fs::read(&record_path)
        .ok()
        .and_then(|t| serde_json::from_slice(&t).ok())
        .filter(|r: &PublishRecord| {
            r.component == json!({"type": m.component.type_, "version": m.component.version})
        })
        .unwrap_or(PublishRecord {
            component: json!({"type": m.component.type_, "version": m.component.version}),
            locations: Vec::new(),
            published_at: String::new(),
        });
    let mut out = Vec::new();
    let mut any_changed = false;
    let mut first_err = None;
    for (t, r) in targets.iter().zip(results) {
        match r {
            Ok((changed, loc)) => {
                any_changed |= changed;
                record
                    .locations
                    .retain(|l| l.get("name").and_then(Value::as_str) != Some(t.name.as_str()));
                record.locations.push(loc);
                out.push(TargetResult {
                    name: t.name.clone(),
                    changed,
                    error: None,
                });
            }
            Err(e) => {
                out.push(TargetResult {
                    name: t.name.clone(),
                    changed: false,
                    error: Some(e.message.clone()),
                });
                first_err.get_or_insert(e);
            }
        }
    }
    if any_changed || record.published_at.is_empty() {
        record.published_at = super::now_rfc3339();
    }
    record
        .locations
        .sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    let text = serde_json::to_string_pretty(&record).unwrap_or_default() + "\n";
    if std::fs::read_to_string(&record_path).ok().as_deref() != Some(text.as_str()) {
        write_atomic(&record_path, text.as_bytes())?;
    }
    if let Some(e) = first_err {
        let failed: Vec<String> = out
            .iter()
            .filter_map(|r| r.error.as_ref().map(|e| format!("{}: {e}", r.name)))
            .collect();
        return Err(ReleaseError::new(
            e.kind,
            format!("publish failed for {}", failed.join("; ")),
        ));
    }
    Ok(PublishReport {
        changed: any_changed,
        record_path,
        record,
        targets: out,
    })
}
