//! The package manifest of seed 003 §3.4: exactly its fields, nothing more.

use super::{ReleaseError, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

pub const PACK_VERSION: &str = "1.0";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub component: ComponentInfo,
    pub package: PackageInfo,
    pub metadata: Metadata,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComponentInfo {
    #[serde(rename = "type")]
    pub type_: String,
    pub version: String,
    pub created_at: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageInfo {
    pub file: String,
    pub size: u64,
    /// The compression: gzip, xz, bzip2, zstd.
    pub algorithm: String,
    pub checksum: Checksum,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checksum {
    pub algorithm: String,
    pub value: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    pub source_path: String,
    pub pack_version: String,
}

impl Manifest {
    pub fn parse(text: &[u8], origin: &str) -> Result<Manifest> {
        let m: Manifest = serde_json::from_slice(text)
            .map_err(|e| ReleaseError::invalid(format!("{origin}: not a package manifest: {e}")))?;
        if m.package.checksum.algorithm != "sha256" {
            return Err(ReleaseError::invalid(format!(
                "{origin}: checksum algorithm {:?} is not supported (sha256 only)",
                m.package.checksum.algorithm
            )));
        }
        let v = &m.package.checksum.value;
        if v.len() != 64 || !v.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ReleaseError::invalid(format!(
                "{origin}: checksum {v:?} is not a sha256 hex digest"
            )));
        }
        super::check_name("component type", &m.component.type_)?;
        super::check_name("version", &m.component.version)?;
        if m.package.file.contains('/') || m.package.file.starts_with('.') {
            return Err(ReleaseError::invalid(format!(
                "{origin}: package file {:?} must be a plain file name",
                m.package.file
            )));
        }
        Ok(m)
    }

    pub fn load(path: &Path) -> Result<Manifest> {
        let text = std::fs::read(path)
            .map_err(|e| ReleaseError::not_found(format!("{}: {e}", path.display())))?;
        Manifest::parse(&text, &path.display().to_string())
    }

    pub fn to_json_pretty(&self) -> String {
        // Serializing plain structs of strings and numbers cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }

    /// The manifest file name that goes with a package: `<type>-<version>.manifest.json`.
    pub fn file_name(type_: &str, version: &str) -> String {
        format!("{type_}-{version}.manifest.json")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_example_round_trips_with_exact_fields() {
        let text = r#"{"component":{"type":"model","version":"1.0.0","created_at":"2024-01-20T10:00:00Z"},
        "package":{"file":"model-1.0.0.tar.gz","size":524288000,"algorithm":"gzip",
        "checksum":{"algorithm":"sha256","value":"a665a45920422f9d417e4867efdc4fb8a04a1f3fff1fa07e998e86f7f7a27ae3"}},
        "metadata":{"source_path":"./models","pack_version":"1.0"}}"#;
        let m = Manifest::parse(text.as_bytes(), "t").unwrap();
        let back: serde_json::Value = serde_json::from_str(&m.to_json_pretty()).unwrap();
        let orig: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(back, orig);
    }

    #[test]
    fn bad_checksum_is_refused() {
        let text = r#"{"component":{"type":"model","version":"1","created_at":"x"},
        "package":{"file":"model-1.tar.gz","size":1,"algorithm":"gzip","checksum":{"algorithm":"sha256","value":"zz"}},
        "metadata":{"source_path":".","pack_version":"1.0"}}"#;
        assert!(Manifest::parse(text.as_bytes(), "t").is_err());
    }
}
