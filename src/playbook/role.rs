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
    /// The parameters of the roles that depend on this one (a dependency sees them, under
    /// its own); not part of the role's identity.
    pub inherited_params: Map<String, Value>,
    /// Keywords on the role entry (tags, when, become, ...), applied to its tasks.
    pub keywords: Keywords,
}

impl RoleSpec {
    /// The parameters the role's tasks see: those of the roles depending on it, then its own
    /// (Ansible's `get_role_params(dep_chain)`).
    pub fn all_params(&self) -> Map<String, Value> {
        let mut all = self.inherited_params.clone();
        all.extend(self.params.clone());
        all
    }

    pub fn display_name(&self, path: &Path) -> String {
        // A role found in a collection by its short name shows as `ns.col.role`.
        if fqcn(&self.name).is_none() && !self.name.contains('/') {
            if let Some(col) = collection_of(path) {
                return format!("{col}.{}", self.name);
            }
        }
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
            // `src,version,name`: the old galaxy form, refused in a play as Ansible does.
            NodeValue::Str(s) if s.contains(',') => Err(Error::parse(
                format!("Invalid old style role requirement: {s}"),
                Some(node.origin.clone()),
            )),
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
            inherited_params: Map::new(),
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
    collections: &[String],
) -> Option<PathBuf> {
    let p = Path::new(name);
    let mut candidates = Vec::new();
    let roots = collection_roots(playbook_dir);
    if let Some((ns, col, role)) = fqcn(name) {
        // `ns.col.role`: that collection first; a plain role directory whose name has
        // dots comes after, as in Ansible (which falls back to the role search path).
        for root in &roots {
            candidates.push(collection_role(root, ns, col, role));
        }
    }
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
        // Then the play's `collections:`, and the collection the using role lives in.
        let own = parent.and_then(|r| collection_of(&r.path));
        for c in collections.iter().map(String::as_str).chain(own.as_deref()) {
            if let Some((ns, col)) = c.split_once('.') {
                for root in &roots {
                    candidates.push(collection_role(root, ns, col, name));
                }
            }
        }
    }
    candidates
        .into_iter()
        .find(|c| c.is_dir())
        .map(|c| std::fs::canonicalize(&c).unwrap_or(c))
}

/// `ns.col.role` split in three (each part an identifier), as a collection role name.
fn fqcn(name: &str) -> Option<(&str, &str, &str)> {
    let mut parts = name.split('.');
    let (ns, col, role) = (parts.next()?, parts.next()?, parts.next()?);
    let ident = |s: &str| {
        !s.is_empty()
            && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !s.starts_with(|c: char| c.is_ascii_digit())
    };
    (parts.next().is_none() && ident(ns) && ident(col) && ident(role)).then_some((ns, col, role))
}

/// Where collections are installed, in Ansible's order: `collections/` beside the playbook,
/// then `ANSIBLE_COLLECTIONS_PATH` (or the default `~/.ansible/collections` and
/// `/usr/share/ansible/collections`).
fn collection_roots(playbook_dir: &Path) -> Vec<PathBuf> {
    let mut roots = vec![playbook_dir.join("collections")];
    let configured = std::env::var("ANSIBLE_COLLECTIONS_PATH")
        .or_else(|_| std::env::var("ANSIBLE_COLLECTIONS_PATHS"))
        .ok()
        .filter(|v| !v.is_empty());
    match configured {
        Some(v) => roots.extend(v.split(':').filter(|s| !s.is_empty()).map(expand_home)),
        None => {
            roots.push(expand_home("~/.ansible/collections"));
            roots.push(PathBuf::from("/usr/share/ansible/collections"));
        }
    }
    roots
}

fn expand_home(p: &str) -> PathBuf {
    PathBuf::from(crate::template::filters::expand_user(p))
}

/// A root may be the `ansible_collections` dir itself or its parent.
fn collection_role(root: &Path, ns: &str, col: &str, role: &str) -> PathBuf {
    let base = if root.ends_with("ansible_collections") {
        root.to_path_buf()
    } else {
        root.join("ansible_collections")
    };
    base.join(ns).join(col).join("roles").join(role)
}

/// `ns.col` of a role inside `.../ansible_collections/ns/col/roles/<role>`.
fn collection_of(role_path: &Path) -> Option<String> {
    let parts: Vec<&str> = role_path
        .components()
        .filter_map(|c| c.as_os_str().to_str())
        .collect();
    let i = parts.iter().rposition(|p| *p == "ansible_collections")?;
    match parts.get(i + 1..i + 4)? {
        [ns, col, "roles"] => Some(format!("{ns}.{col}")),
        _ => None,
    }
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
