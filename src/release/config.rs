//! `.yiqiu-release.yaml` (seed 003 §8): components, pack, publish targets, deploy defaults.
//! String values may reference environment variables as `${NAME}` (secrets stay out of the
//! file); a reference to an unset variable is an error naming it.

use super::{ReleaseError, Result};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const FILE_NAME: &str = ".yiqiu-release.yaml";

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleaseConfig {
    #[serde(default)]
    pub version: Option<serde_yaml_ng::Value>,
    #[serde(default)]
    pub project: Option<Project>,
    #[serde(default)]
    pub components: BTreeMap<String, ComponentConfig>,
    #[serde(default)]
    pub pack: PackConfig,
    #[serde(default)]
    pub publish: PublishConfig,
    #[serde(default)]
    pub deploy: DeployConfig,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct Project {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub root: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComponentConfig {
    /// Source directory, relative to the config file.
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// Versions of other components this one needs.
    #[serde(default)]
    pub depends: BTreeMap<String, String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackConfig {
    #[serde(default)]
    pub excludes: Vec<String>,
    #[serde(default)]
    pub compression: Option<String>,
    #[serde(default)]
    pub level: Option<u32>,
    #[serde(default)]
    pub dest: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishConfig {
    #[serde(default)]
    pub targets: Vec<TargetConfig>,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TargetConfig {
    pub name: String,
    /// filesystem or s3.
    #[serde(rename = "type")]
    pub type_: String,
    /// filesystem: the base directory.
    #[serde(default)]
    pub path: Option<String>,
    /// s3: `http(s)://host[:port]`.
    #[serde(default)]
    pub endpoint: Option<String>,
    #[serde(default)]
    pub bucket: Option<String>,
    #[serde(default)]
    pub prefix: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
    /// s3: a profile in `~/.aws/credentials` (else AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY).
    #[serde(default)]
    pub profile: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeployConfig {
    #[serde(default)]
    pub root: Option<String>,
    /// Source priority: paths, dirs, URLs or publish target names.
    #[serde(default)]
    pub sources: Vec<String>,
    /// Custom links: `/app/models: model` (or `: /opt/deployments/links/model`).
    #[serde(default)]
    pub custom_links: BTreeMap<String, String>,
}

impl ReleaseConfig {
    /// Loads `path`, expanding `${VAR}` in every string value.
    pub fn load(path: &Path) -> Result<ReleaseConfig> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ReleaseError::not_found(format!("{}: {e}", path.display())))?;
        Self::parse(&text, &path.display().to_string(), &|k| {
            std::env::var(k).ok()
        })
    }

    pub fn parse(
        text: &str,
        origin: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<ReleaseConfig> {
        let mut v: serde_yaml_ng::Value = serde_yaml_ng::from_str(text)
            .map_err(|e| ReleaseError::invalid(format!("{origin}: {e}")))?;
        expand(&mut v, env).map_err(|e| ReleaseError::invalid(format!("{origin}: {e}")))?;
        if v.is_null() {
            return Ok(ReleaseConfig::default());
        }
        serde_yaml_ng::from_value(v).map_err(|e| ReleaseError::invalid(format!("{origin}: {e}")))
    }

    /// Looks for the file in `dir` and its parents.
    pub fn find(dir: &Path) -> Option<PathBuf> {
        let mut d = Some(dir);
        while let Some(cur) = d {
            let p = cur.join(FILE_NAME);
            if p.is_file() {
                return Some(p);
            }
            d = cur.parent();
        }
        None
    }

    pub fn target(&self, name: &str) -> Option<&TargetConfig> {
        self.publish.targets.iter().find(|t| t.name == name)
    }
}

/// Expands `${NAME}` references; `$${` stays a literal `${`.
pub fn expand_str(
    s: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> std::result::Result<String, String> {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("${") {
        if i > 0 && rest.as_bytes()[i - 1] == b'$' {
            out.push_str(&rest[..i - 1]);
            out.push_str("${");
            rest = &rest[i + 2..];
            continue;
        }
        out.push_str(&rest[..i]);
        let end = rest[i..]
            .find('}')
            .ok_or_else(|| format!("unclosed ${{ in {s:?}"))?;
        let name = &rest[i + 2..i + end];
        let val = env(name).ok_or_else(|| format!("environment variable {name} is not set"))?;
        out.push_str(&val);
        rest = &rest[i + end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn expand(
    v: &mut serde_yaml_ng::Value,
    env: &dyn Fn(&str) -> Option<String>,
) -> std::result::Result<(), String> {
    use serde_yaml_ng::Value;
    match v {
        Value::String(s) => *s = expand_str(s, env)?,
        Value::Sequence(seq) => {
            for x in seq {
                expand(x, env)?;
            }
        }
        Value::Mapping(m) => {
            for (_, x) in m.iter_mut() {
                expand(x, env)?;
            }
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_references_expand_and_missing_ones_fail() {
        let env = |k: &str| (k == "PKG").then(|| "/data/pkg".to_string());
        let text = "components:\n  model: {source: ./models}\npublish:\n  targets:\n    - {name: local, type: filesystem, path: '${PKG}/x'}\ndeploy:\n  root: /opt/d\n  custom_links: {/app/models: model}\n";
        let c = ReleaseConfig::parse(text, "t", &env).unwrap();
        assert_eq!(
            c.target("local").unwrap().path.as_deref(),
            Some("/data/pkg/x")
        );
        assert_eq!(c.deploy.custom_links["/app/models"], "model");
        let err = ReleaseConfig::parse("deploy: {root: '${NOPE}'}", "t", &env).unwrap_err();
        assert!(err.message.contains("NOPE"), "{}", err.message);
        assert_eq!(expand_str("a$${b}", &env).unwrap(), "a${b}");
    }
}
