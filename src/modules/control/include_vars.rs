//! `include_vars`: loads variables from YAML/JSON files on the controller.
//!
//! Relative paths are looked up in `ctx.search_paths`, each both in its `vars/` subdirectory
//! and itself, as Ansible's `_find_needle('vars', ...)` does.

use crate::modules::util::{is_identifier, map};
use crate::modules::{ArgKind, ArgSpec, Args, Module, ModuleContext, ModuleError, ModuleResult};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

pub struct IncludeVars;

const SPEC: &[ArgSpec] = &[
    ArgSpec::new("_raw_params", ArgKind::Str),
    ArgSpec::new("file", ArgKind::Path),
    ArgSpec::new("dir", ArgKind::Path),
    ArgSpec::new("name", ArgKind::Str),
    ArgSpec::new("depth", ArgKind::Int),
    ArgSpec::new("files_matching", ArgKind::Str),
    ArgSpec::new("ignore_files", ArgKind::List),
    ArgSpec::new("extensions", ArgKind::List),
    ArgSpec::new("ignore_unknown_extensions", ArgKind::Bool),
    ArgSpec::new("hash_behaviour", ArgKind::Str).choices(&["replace", "merge"]),
];

/// Why loading stopped, with the files already included (Ansible reports both).
struct Failure {
    message: String,
}

fn fail(message: String) -> Failure {
    Failure { message }
}

struct Loader {
    extensions: Vec<String>,
    ignore_unknown: bool,
    merge: bool,
    facts: Map<String, Value>,
    files: Vec<Value>,
    /// No file so far was a vault: a vaulted file hides the whole result (as no_log).
    show_content: bool,
}

impl Loader {
    fn valid_ext(&self, path: &Path) -> bool {
        let ext = path.extension().map(|e| e.to_string_lossy().into_owned());
        // An empty string in `extensions` admits files without an extension.
        match ext {
            Some(e) => self.extensions.contains(&e),
            None => self.extensions.iter().any(String::is_empty),
        }
    }

    fn load(&mut self, path: &Path) -> Result<(), Failure> {
        if std::fs::read(path).is_ok_and(|d| crate::vault::is_encrypted(&d)) {
            self.show_content = false;
        }
        let node = crate::yaml::load_file(path).map_err(|e| fail(e.message))?;
        let data = match node.to_json() {
            Value::Object(m) => m,
            Value::Null => Map::new(),
            _ => {
                return Err(fail(format!(
                    "{} must be stored as a dictionary/hash",
                    path.display()
                )))
            }
        };
        // Files of one include replace each other's keys; `hash_behaviour` applies only
        // against the variables defined before (Ansible's `results.update`).
        self.facts.extend(data);
        self.files.push(Value::String(path.display().to_string()));
        Ok(())
    }
}

/// Each loaded dict merged over the value the variable already has.
fn merge_with_existing(facts: Map<String, Value>, ctx: &ModuleContext) -> Map<String, Value> {
    let mut out = Map::new();
    for (k, v) in facts {
        let existing = if is_identifier(&k) {
            ctx.eval.eval_expr(&k).ok()
        } else {
            None
        };
        let merged = match (existing, v) {
            (Some(Value::Object(mut old)), Value::Object(new)) => {
                crate::vars::combine::merge_into(&mut old, new);
                Value::Object(old)
            }
            (_, v) => v,
        };
        out.insert(k, merged);
    }
    out
}

/// Where a relative `file`/`dir` is looked for, in order.
fn candidates(rel: &str, search: &[PathBuf]) -> Vec<PathBuf> {
    let p = Path::new(rel);
    if p.is_absolute() {
        return vec![p.to_path_buf()];
    }
    let mut out = Vec::new();
    for base in search {
        out.push(base.join("vars").join(rel));
        out.push(base.join(rel));
    }
    if out.is_empty() {
        out.push(p.to_path_buf());
    }
    out
}

fn find(rel: &str, search: &[PathBuf]) -> Result<PathBuf, Failure> {
    let cands = candidates(rel, search);
    for c in &cands {
        if c.is_file() {
            return Ok(std::path::absolute(c).unwrap_or_else(|_| c.clone()));
        }
    }
    let searched: Vec<String> = cands.iter().map(|c| c.display().to_string()).collect();
    Err(fail(format!(
        "Could not find or access '{rel}'\nSearched in:\n\t{} on the Ansible Controller.\nIf you are using a module and expect the file to exist on the remote, see the remote_src option",
        searched.join("\n\t")
    )))
}

/// Where `dir:` is read, as Ansible's `_set_root_dir`: in a role, under the role's `vars/`
/// (a path that starts with `vars/` is the role's own if it exists); elsewhere relative to
/// the task's file. Not searched further.
fn dir_root(dir: &str, ctx: &ModuleContext) -> PathBuf {
    match (&ctx.role_path, &ctx.task_dir) {
        (Some(role), _) if dir.split('/').next() == Some("vars") => {
            let p = role.join(dir);
            if p.exists() {
                p
            } else {
                PathBuf::from(dir)
            }
        }
        (Some(role), _) => role.join("vars").join(dir),
        (None, Some(task_dir)) => task_dir.join(dir),
        (None, None) => PathBuf::from(dir),
    }
}

/// Files of a directory tree in Ansible's order: each directory's files sorted, directories
/// visited in sorted path order; `depth` 0 means unlimited.
fn walk(root: &Path, depth: i64) -> Result<Vec<PathBuf>, Failure> {
    let mut dirs = vec![(root.to_path_buf(), 1i64)];
    let mut all_dirs = Vec::new();
    while let Some((d, level)) = dirs.pop() {
        let mut files = Vec::new();
        let entries = std::fs::read_dir(&d).map_err(|e| fail(format!("{}: {e}", d.display())))?;
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                if depth == 0 || level < depth {
                    dirs.push((path, level + 1));
                }
            } else {
                files.push(path);
            }
        }
        files.sort();
        all_dirs.push((d, files));
    }
    all_dirs.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(all_dirs.into_iter().flat_map(|(_, f)| f).collect())
}

impl IncludeVars {
    fn load_all(args: &Args, ctx: &ModuleContext, loader: &mut Loader) -> Result<(), Failure> {
        // A folded `include_vars: >` raw string ends in a newline Ansible drops.
        let file = args
            .string("file")
            .or_else(|| args.string("_raw_params"))
            .map(|f| f.trim_end_matches('\n').to_string())
            .filter(|f| !f.is_empty());
        if let Some(dir) = args.string("dir") {
            if file.is_some() {
                return Err(fail(
                    "You are mixing file only and dir only arguments, these are incompatible"
                        .into(),
                ));
            }
            let root = dir_root(&dir, ctx);
            if !root.exists() {
                return Err(fail(format!("{} directory does not exist", root.display())));
            }
            if !root.is_dir() {
                return Err(fail(format!("{} is not a directory", root.display())));
            }
            let matching = match args.str("files_matching") {
                Some(re) => Some(
                    regex::Regex::new(re)
                        .map_err(|e| fail(format!("Invalid files_matching regex: {e}")))?,
                ),
                None => None,
            };
            let mut ignores = Vec::new();
            for i in args.list("ignore_files").into_iter().flatten() {
                let s = i
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| i.to_string());
                let re = regex::Regex::new(&format!("{s}$"))
                    .map_err(|e| fail(format!("Invalid ignore_files regex: {e}")))?;
                ignores.push(re);
            }
            for path in walk(&root, args.int("depth").unwrap_or(0))? {
                let fname = path
                    .file_name()
                    .map(|f| f.to_string_lossy().into_owned())
                    .unwrap_or_default();
                if ignores.iter().any(|r| r.is_match(&fname)) {
                    continue;
                }
                if let Some(m) = &matching {
                    if !m.is_match(&fname) {
                        continue;
                    }
                }
                if !loader.valid_ext(&path) {
                    if loader.ignore_unknown {
                        continue;
                    }
                    return Err(fail(format!(
                        "{} does not have a valid extension: {}",
                        path.display(),
                        loader.extensions.join(", ")
                    )));
                }
                loader.load(&path)?;
            }
            return Ok(());
        }
        let Some(file) = file else {
            // `file: null` (e.g. a first_found lookup that ignored its error).
            return Err(fail("Could not find file on the Ansible Controller.\nIf you are using a module and expect the file to exist on the remote, see the remote_src option".into()));
        };
        // A single file is loaded whatever its extension.
        let path = find(&file, &ctx.search_paths)?;
        loader.load(&path)
    }
}

impl Module for IncludeVars {
    fn name(&self) -> &'static str {
        "include_vars"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        SPEC
    }
    fn free_form(&self) -> bool {
        true
    }
    fn controller_only(&self) -> bool {
        true
    }
    fn run(&self, args: &Args, ctx: &mut ModuleContext) -> ModuleResult {
        let extensions = match args.list("extensions") {
            Some(list) => list
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| v.to_string())
                })
                .collect(),
            None => vec!["yaml".into(), "yml".into(), "json".into()],
        };
        let mut loader = Loader {
            extensions,
            ignore_unknown: args.bool_or("ignore_unknown_extensions", false),
            // Unset falls back to the configured `hash_behaviour`.
            merge: args
                .str("hash_behaviour")
                .map_or_else(crate::vars::combine::hash_merge, |h| h == "merge"),
            facts: Map::new(),
            files: Vec::new(),
            show_content: true,
        };
        let outcome = Self::load_all(args, ctx, &mut loader);
        if outcome.is_ok() && loader.merge {
            // `hash_behaviour: merge` also merges into the variables already defined.
            loader.facts = merge_with_existing(loader.facts, ctx);
        }
        let facts = match args.str("name") {
            Some(name) if outcome.is_ok() => map([(name, Value::Object(loader.facts))]),
            _ if outcome.is_err() => Map::new(),
            _ => loader.facts,
        };
        let mut res = map([
            ("ansible_facts", Value::Object(facts)),
            ("ansible_included_var_files", Value::Array(loader.files)),
            ("changed", Value::Bool(false)),
        ]);
        if !loader.show_content {
            res.insert("_ansible_no_log".into(), Value::Bool(true));
        }
        match outcome {
            Ok(()) => Ok(res),
            Err(f) => {
                // ansible-core 2.19 registers the reason under `message` with a generic msg.
                res.insert("message".into(), Value::String(f.message));
                res.insert(
                    "msg".into(),
                    Value::String("Task failed: Action failed: Unknown error.".into()),
                );
                Err(ModuleError::Failed(res))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::util::test_support::{failed, run_with, Opts};
    use serde_json::json;

    fn setup() -> tempfile::TempDir {
        let t = tempfile::tempdir().unwrap();
        let p = t.path();
        std::fs::create_dir_all(p.join("vars")).unwrap();
        std::fs::create_dir_all(p.join("d/sub")).unwrap();
        std::fs::write(p.join("vars/v1.yml"), "a: 1\nb: [x]\n").unwrap();
        std::fs::write(p.join("d/a.yml"), "x: 1\nh: {k: 1}\n").unwrap();
        std::fs::write(p.join("d/sub/b.yaml"), "y: 2\nh: {j: 2}\n").unwrap();
        std::fs::write(p.join("d/c.txt"), "zz").unwrap();
        std::fs::write(p.join("list.yml"), "- 1\n").unwrap();
        t
    }

    fn opts(t: &tempfile::TempDir) -> Opts {
        Opts {
            search: vec![t.path().to_path_buf()],
            ..Opts::default()
        }
    }

    #[test]
    fn free_form_file_in_vars_subdir() {
        let t = setup();
        let r = run_with(&IncludeVars, json!({"_raw_params": "v1.yml"}), opts(&t)).unwrap();
        assert_eq!(r["ansible_facts"], json!({"a": 1, "b": ["x"]}));
        let f = t.path().join("vars/v1.yml").display().to_string();
        assert_eq!(r["ansible_included_var_files"], json!([f]));
        assert_eq!(r["changed"], json!(false));
    }

    #[test]
    fn name_nests_facts() {
        let t = setup();
        let r = run_with(
            &IncludeVars,
            json!({"file": "v1.yml", "name": "nest"}),
            opts(&t),
        )
        .unwrap();
        assert_eq!(r["ansible_facts"], json!({"nest": {"a": 1, "b": ["x"]}}));
    }

    #[test]
    fn dir_walk_order_extensions_and_merge() {
        let t = setup();
        let d = t.path().join("d").display().to_string();
        let r = run_with(
            &IncludeVars,
            json!({"dir": d, "ignore_unknown_extensions": true, "hash_behaviour": "merge"}),
            opts(&t),
        )
        .unwrap();
        assert_eq!(r["ansible_facts"], json!({"x": 1, "h": {"j": 2}, "y": 2}));
        assert_eq!(r["ansible_included_var_files"].as_array().unwrap().len(), 2);
        let r = run_with(
            &IncludeVars,
            json!({"dir": d, "depth": 1, "files_matching": "^a"}),
            opts(&t),
        )
        .unwrap();
        assert_eq!(r["ansible_facts"], json!({"x": 1, "h": {"k": 1}}));
        let m = failed(run_with(&IncludeVars, json!({"dir": d}), opts(&t)));
        assert!(m["message"]
            .as_str()
            .unwrap()
            .ends_with("c.txt does not have a valid extension: yaml, yml, json"));
        assert_eq!(m["ansible_included_var_files"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn missing_and_non_dict_files() {
        let t = setup();
        let m = failed(run_with(
            &IncludeVars,
            json!({"file": "nosuch.yml"}),
            opts(&t),
        ));
        assert!(m["message"]
            .as_str()
            .unwrap()
            .starts_with("Could not find or access 'nosuch.yml'\nSearched in:"));
        assert_eq!(
            m["msg"],
            json!("Task failed: Action failed: Unknown error.")
        );
        let m = failed(run_with(
            &IncludeVars,
            json!({"file": "list.yml"}),
            opts(&t),
        ));
        assert!(m["message"]
            .as_str()
            .unwrap()
            .ends_with("must be stored as a dictionary/hash"));
    }
}
