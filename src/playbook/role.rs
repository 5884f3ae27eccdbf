//! Roles on disk: finding them, their main files, meta dependencies and vars files.

use super::loader::Loader;
use super::model::{Keywords, RoleInstance};
use crate::error::{Error, Result};
use crate::yaml::{Node, NodeValue};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

/// How a role is used: `roles:` entry, `import_role`/`include_role` arguments.
#[derive(Clone, Debug, Default)]
pub struct RoleSpec {
    pub name: String,
    pub tasks_from: Option<String>,
    pub vars_from: Option<String>,
    pub defaults_from: Option<String>,
    pub handlers_from: Option<String>,
    /// Role parameters (precedence 20): keys that are not keywords.
    pub params: Map<String, Value>,
    /// Keywords on the role entry (tags, when, become, ...), applied to its tasks.
    pub keywords: Keywords,
}

impl RoleSpec {
    pub fn display_name(&self, path: &Path) -> String {
        if self.name.contains('/') {
            path.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| self.name.clone())
        } else {
            self.name.clone()
        }
    }

    /// A `roles:` entry: a name, or a mapping with `role:`/`name:` plus params and keywords.
    pub fn from_node(node: &Node) -> Result<RoleSpec> {
        match &node.value {
            NodeValue::Str(s) => Ok(RoleSpec {
                name: s.clone(),
                ..RoleSpec::default()
            }),
            NodeValue::Map(pairs) => {
                let mut spec = RoleSpec::default();
                for (k, v) in pairs {
                    let key = k.key_string();
                    match key.as_str() {
                        "role" | "name" => spec.name = v.as_str().unwrap_or_default().to_string(),
                        "tasks_from" => spec.tasks_from = v.as_str().map(str::to_string),
                        "vars_from" => spec.vars_from = v.as_str().map(str::to_string),
                        "defaults_from" => spec.defaults_from = v.as_str().map(str::to_string),
                        "handlers_from" => spec.handlers_from = v.as_str().map(str::to_string),
                        "vars" => {
                            if let Value::Object(m) = v.to_json() {
                                spec.params.extend(m);
                            }
                        }
                        "when" | "tags" | "become" | "become_user" | "become_method"
                        | "become_flags" | "remote_user" | "connection" | "environment"
                        | "ignore_errors" | "delegate_to" | "run_once" | "no_log"
                        | "check_mode" | "diff" | "any_errors_fatal" => {
                            let tmp = Node {
                                value: NodeValue::Map(vec![(k.clone(), v.clone())]),
                                origin: node.origin.clone(),
                            };
                            apply_keyword(&mut spec.keywords, &key, &tmp)?;
                        }
                        _ => {
                            spec.params.insert(key, v.to_json());
                        }
                    }
                }
                if spec.name.is_empty() {
                    return Err(Error::parse(
                        "a role entry needs 'role:' (or 'name:')",
                        Some(node.origin.clone()),
                    ));
                }
                Ok(spec)
            }
            _ => Err(Error::parse(
                "a role must be a name or a dictionary",
                Some(node.origin.clone()),
            )),
        }
    }

    /// `import_role`/`include_role` arguments.
    pub fn from_args(args: &Map<String, Value>, at: &Node) -> Result<RoleSpec> {
        let s = |k: &str| args.get(k).and_then(Value::as_str).map(str::to_string);
        let name = s("name").or_else(|| s("role")).ok_or_else(|| {
            Error::parse(
                "include_role/import_role needs 'name'",
                Some(at.origin.clone()),
            )
        })?;
        Ok(RoleSpec {
            name,
            tasks_from: s("tasks_from"),
            vars_from: s("vars_from"),
            defaults_from: s("defaults_from"),
            handlers_from: s("handlers_from"),
            params: Map::new(),
            keywords: Keywords::default(),
        })
    }
}

fn apply_keyword(kw: &mut Keywords, key: &str, wrapper: &Node) -> Result<()> {
    if let Some(v) = wrapper.get(key) {
        let json = v.to_json();
        match key {
            "when" => match (json, v.as_seq()) {
                (Value::Array(items), Some(nodes)) => {
                    kw.when_origins
                        .extend(nodes.iter().map(|n| n.origin.clone()));
                    kw.when.extend(items);
                }
                (other, _) => {
                    kw.when_origins.push(v.origin.clone());
                    kw.when.push(other);
                }
            },
            "tags" => {
                let tags: Vec<String> = match json {
                    Value::Array(items) => items
                        .into_iter()
                        .map(|t| {
                            t.as_str()
                                .map(str::to_string)
                                .unwrap_or_else(|| t.to_string())
                        })
                        .collect(),
                    Value::String(s) => s.split(',').map(|t| t.trim().to_string()).collect(),
                    other => vec![other.to_string()],
                };
                kw.tags.extend(tags);
            }
            "become" => kw.become_ = Some(json),
            "become_user" => kw.become_user = Some(json),
            "become_method" => kw.become_method = Some(json),
            "become_flags" => kw.become_flags = Some(json),
            "remote_user" => kw.remote_user = Some(json),
            "connection" => kw.connection = Some(json),
            "environment" => kw.environment.push(json),
            "ignore_errors" => kw.ignore_errors = Some(json),
            "delegate_to" => kw.delegate_to = Some(json),
            "run_once" => kw.run_once = Some(json),
            "no_log" => kw.no_log = Some(json),
            "check_mode" => kw.check_mode = Some(json),
            "diff" => kw.diff = Some(json),
            "any_errors_fatal" => kw.any_errors_fatal = Some(json),
            _ => {}
        }
    }
    Ok(())
}

/// Role search: `roles/` beside the playbook, the playbook dir, the using role's
/// `roles/` dir, the roles_path, or a path.
pub fn find_role(
    name: &str,
    playbook_dir: &Path,
    parent: Option<&RoleInstance>,
    roles_path: &[PathBuf],
) -> Option<PathBuf> {
    let p = Path::new(name);
    let mut candidates = Vec::new();
    if p.is_absolute() {
        candidates.push(p.to_path_buf());
    } else {
        candidates.push(playbook_dir.join("roles").join(p));
        if let Some(parent) = parent {
            candidates.push(parent.path.join("roles").join(p));
        }
        for dir in roles_path {
            candidates.push(dir.join(p));
        }
        candidates.push(playbook_dir.join(p));
    }
    candidates
        .into_iter()
        .find(|c| c.is_dir())
        .map(|c| std::fs::canonicalize(&c).unwrap_or(c))
}

/// `dir/name.yml`, `.yaml`, `.json` or `dir/name` itself.
pub fn main_file(dir: &Path, name: &str) -> Option<PathBuf> {
    let base = dir.join(name);
    if Path::new(name).extension().is_some() && base.is_file() {
        return Some(base);
    }
    for ext in ["yml", "yaml", "json"] {
        let f = dir.join(format!("{name}.{ext}"));
        if f.is_file() {
            return Some(f);
        }
    }
    base.is_file().then_some(base)
}

/// Loads `defaults/` or `vars/` of a role; `main` may also be a directory of files.
pub fn load_vars_file(
    loader: &Loader,
    role: &Path,
    kind: &str,
    from: Option<&str>,
) -> Result<Map<String, Value>> {
    let dir = role.join(kind);
    let mut out = Map::new();
    let name = from.unwrap_or("main");
    if let Some(f) = main_file(&dir, name) {
        merge_file(loader, &f, &mut out)?;
    } else if dir.join(name).is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join(name))
            .map_err(|e| Error::io(dir.join(name), e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        for f in files {
            merge_file(loader, &f, &mut out)?;
        }
    } else if let Some(f) = from {
        return Err(Error::parse(
            format!("could not find '{f}' in {}", dir.display()),
            None,
        ));
    }
    Ok(out)
}

fn merge_file(loader: &Loader, f: &Path, out: &mut Map<String, Value>) -> Result<()> {
    let node = loader.load_yaml(f)?;
    match node.to_json() {
        Value::Object(m) => out.extend(m),
        Value::Null => {}
        _ => {
            return Err(Error::parse(
                format!("{} must contain a dictionary of variables", f.display()),
                Some(node.origin.clone()),
            ))
        }
    }
    Ok(())
}

/// What `meta/main.yml` says.
#[derive(Debug, Default)]
pub struct RoleMeta {
    pub dependencies: Vec<Node>,
    pub allow_duplicates: bool,
}

pub fn load_meta(loader: &Loader, role: &Path) -> Result<RoleMeta> {
    let Some(f) = main_file(&role.join("meta"), "main") else {
        return Ok(RoleMeta::default());
    };
    let node = loader.load_yaml(&f)?;
    let mut meta = RoleMeta::default();
    if let Some(deps) = node.get("dependencies") {
        meta.dependencies = deps.as_seq().map(<[Node]>::to_vec).unwrap_or_default();
    }
    if let Some(a) = node.get("allow_duplicates") {
        meta.allow_duplicates = crate::modules::args::to_bool(&a.to_json()).unwrap_or(false);
    }
    Ok(meta)
}
