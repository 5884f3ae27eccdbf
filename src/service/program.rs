//! A program package (seed 000's Program): a seed-003 component package, or a directory that
//! is packed on the way, holding the program's files, `hooks/` and `yiqiu.yaml`.

use super::{err, Result, ServiceError};
use crate::release::manifest::Manifest;
use crate::release::pack::{pack, Compression, PackOptions};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

pub const METADATA_FILE: &str = "yiqiu.yaml";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Endpoint {
    pub interface: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigOption {
    #[serde(default)]
    pub default: Option<Value>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default, rename = "type")]
    pub type_: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metadata {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub provides: BTreeMap<String, Endpoint>,
    #[serde(default)]
    pub requires: BTreeMap<String, Endpoint>,
    #[serde(default)]
    pub peers: BTreeMap<String, Endpoint>,
    #[serde(default)]
    pub config: BTreeMap<String, ConfigOption>,
}

impl Metadata {
    pub fn parse(text: &str, origin: &str) -> Result<Metadata> {
        serde_yaml_ng::from_str(text).map_err(|e| {
            ServiceError(format!(
                "{origin}: {e}. A program's {METADATA_FILE} takes name, version, description, \
                 provides, requires, peers (each endpoint {{interface: NAME}}) and config \
                 (each option {{default, description, type}})"
            ))
        })
    }

    /// The program layer of the config: each option's default.
    pub fn defaults(&self) -> Map<String, Value> {
        self.config
            .iter()
            .filter_map(|(k, o)| o.default.clone().map(|v| (k.clone(), v)))
            .collect()
    }
}

/// A program ready to ship: its metadata, package and manifest.
#[derive(Debug, Clone)]
pub struct Program {
    pub name: String,
    pub version: String,
    pub meta: Metadata,
    pub package: PathBuf,
    pub manifest: Manifest,
    /// Where it came from, for messages.
    pub origin: String,
}

impl Program {
    /// Loads `path`: a program directory (packed into `cache`), a package, or its manifest.
    pub fn load(path: &Path, cache: &Path) -> Result<Program> {
        if path.is_dir() {
            return Program::from_dir(path, cache);
        }
        if !path.is_file() {
            return err(format!(
                "program {}: no such directory or package",
                path.display()
            ));
        }
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.ends_with(".manifest.json") {
            let manifest = Manifest::load(path).map_err(|e| ServiceError(e.to_string()))?;
            let package = path.with_file_name(&manifest.package.file);
            return Program::from_package(&package, manifest);
        }
        let manifest = sibling_manifest(path)?;
        Program::from_package(path, manifest)
    }

    fn from_dir(dir: &Path, cache: &Path) -> Result<Program> {
        let file = dir.join(METADATA_FILE);
        let text = std::fs::read_to_string(&file).map_err(|e| {
            ServiceError(format!(
                "program {}: cannot read {}: {e}",
                dir.display(),
                file.display()
            ))
        })?;
        let meta = Metadata::parse(&text, &file.display().to_string())?;
        let name = meta.name.clone().unwrap_or_else(|| {
            dir.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        });
        let Some(version) = meta.version.clone() else {
            return err(format!(
                "{}: a program given as a directory needs `version:`",
                file.display()
            ));
        };
        let dest = cache.join(&name);
        let report = pack(&PackOptions {
            src: dir.to_path_buf(),
            component: name.clone(),
            version: version.clone(),
            dest,
            compression: Compression::Gzip,
            excludes: Vec::new(),
            level: None,
        })
        .map_err(|e| ServiceError(format!("packing program {}: {e}", dir.display())))?;
        Ok(Program {
            name,
            version,
            meta,
            package: report.package,
            manifest: report.manifest,
            origin: file.display().to_string(),
        })
    }

    fn from_package(package: &Path, manifest: Manifest) -> Result<Program> {
        let text = read_member(package, METADATA_FILE)?;
        let origin = format!("{}:{METADATA_FILE}", package.display());
        let meta = Metadata::parse(&text, &origin)?;
        if let Some(n) = &meta.name {
            if *n != manifest.component.type_ {
                return err(format!(
                    "{origin}: name {n:?} differs from the package's type {:?}",
                    manifest.component.type_
                ));
            }
        }
        Ok(Program {
            name: manifest.component.type_.clone(),
            version: manifest.component.version.clone(),
            meta,
            package: package.to_path_buf(),
            manifest,
            origin,
        })
    }

    /// The endpoint `name` of this program and its role.
    pub fn endpoint(&self, name: &str) -> Option<(Role, &Endpoint)> {
        let m = &self.meta;
        m.provides
            .get(name)
            .map(|e| (Role::Provides, e))
            .or_else(|| m.requires.get(name).map(|e| (Role::Requires, e)))
            .or_else(|| m.peers.get(name).map(|e| (Role::Peer, e)))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Provides,
    Requires,
    Peer,
}

/// The manifest beside a package that names it.
fn sibling_manifest(package: &Path) -> Result<Manifest> {
    let file = package.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let dir = package.parent().unwrap_or(Path::new("."));
    let entries = std::fs::read_dir(dir)
        .map_err(|e| ServiceError(format!("reading {}: {e}", dir.display())))?;
    for entry in entries.flatten() {
        let p = entry.path();
        if !p.to_string_lossy().ends_with(".manifest.json") {
            continue;
        }
        if let Ok(m) = Manifest::load(&p) {
            if m.package.file == file {
                return Ok(m);
            }
        }
    }
    err(format!(
        "program {}: no manifest beside it names this package (pack it with `yiqiu-release pack`)",
        package.display()
    ))
}

/// Reads one top-level file of a gzip package.
fn read_member(package: &Path, name: &str) -> Result<String> {
    let fail = |e: std::io::Error| ServiceError(format!("reading {}: {e}", package.display()));
    let file = std::fs::File::open(package).map_err(fail)?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    for entry in archive.entries().map_err(fail)? {
        let mut entry = entry.map_err(fail)?;
        let path = entry.path().map_err(fail)?.to_string_lossy().into_owned();
        if path.trim_start_matches("./") == name {
            let mut text = String::new();
            entry.read_to_string(&mut text).map_err(fail)?;
            return Ok(text);
        }
    }
    err(format!(
        "program {}: the package holds no {name}",
        package.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_refuses_unknown_keys_and_endpoints_without_interface() {
        let e = Metadata::parse("provides: {cache: {}}\n", "p/yiqiu.yaml").unwrap_err();
        assert!(
            e.0.contains("p/yiqiu.yaml") && e.0.contains("interface"),
            "{e}"
        );
        let e = Metadata::parse("provide: {}\n", "p/yiqiu.yaml").unwrap_err();
        assert!(e.0.contains("unknown field `provide`"), "{e}");
        let m = Metadata::parse(
            "provides: {cache: {interface: memcache}}\nconfig: {memory_mb: {default: 64}}\n",
            "x",
        )
        .unwrap();
        assert_eq!(m.provides["cache"].interface, "memcache");
        assert_eq!(m.defaults()["memory_mb"], 64);
    }

    #[test]
    fn a_directory_is_packed_and_its_package_reads_back() {
        let dir = std::env::temp_dir().join(format!("yiqiu-prog-{}", std::process::id()));
        let src = dir.join("memcache");
        std::fs::create_dir_all(src.join("hooks")).unwrap();
        std::fs::write(
            src.join(METADATA_FILE),
            "version: 1.0.0\nprovides: {cache: {interface: memcache}}\n",
        )
        .unwrap();
        std::fs::write(src.join("hooks/start"), "#!/bin/sh\n").unwrap();
        let p = Program::load(&src, &dir.join("cache")).unwrap();
        assert_eq!((p.name.as_str(), p.version.as_str()), ("memcache", "1.0.0"));
        let again = Program::load(&p.package, &dir.join("cache")).unwrap();
        assert_eq!(again.manifest, p.manifest);
        assert_eq!(again.endpoint("cache").map(|e| e.0), Some(Role::Provides));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
