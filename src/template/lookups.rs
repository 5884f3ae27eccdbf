//! `lookup()` / `query()` / `q()` and their plugins (env, file, template, pipe, ...).
//!
//! Plugins read the play's variables through the minijinja `State`: the executor renders
//! with all variables as the context and again under `vars`. Relative paths are searched
//! the way Ansible's `find_file_in_search_path` does: the role first, then the playbook.

use super::filters::{data, fail, split_kwargs, text};
use super::pyfmt;
use minijinja::value::{Kwargs, Rest, ValueOrKwargs};
use minijinja::{Environment, Error, State, Value as MjValue};
use serde_json::Value;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

pub fn register(env: &mut Environment<'static>) {
    env.add_function("lookup", lookup);
    env.add_function("query", query);
    env.add_function("q", query);
}

/// `lookup(name, *terms, wantlist=False, errors='strict', **kwargs)`.
fn lookup(state: &State, name: String, args: Rest<ValueOrKwargs>) -> Result<MjValue, Error> {
    let (terms, kwargs) = split_kwargs(args)?;
    let wantlist = kwargs.get::<Option<bool>>("wantlist")?.unwrap_or(false);
    invoke(state, &name, &terms, &kwargs, wantlist)
}

/// `query(name, *terms, **kwargs)` / `q(...)`: always a list.
fn query(state: &State, name: String, args: Rest<ValueOrKwargs>) -> Result<MjValue, Error> {
    let (terms, kwargs) = split_kwargs(args)?;
    let _ = kwargs.get::<Option<bool>>("wantlist")?;
    invoke(state, &name, &terms, &kwargs, true)
}

fn invoke(
    state: &State,
    name: &str,
    terms: &[MjValue],
    kwargs: &Kwargs,
    wantlist: bool,
) -> Result<MjValue, Error> {
    let errors = kwargs
        .get::<Option<String>>("errors")?
        .unwrap_or_else(|| "strict".into());
    let plugin = name.strip_prefix("ansible.builtin.").unwrap_or(name);
    let result = match run(state, plugin, terms, kwargs) {
        Err(e) if e.starts_with(NOT_FOUND) => Err(LookupError::NotFound),
        Err(e) if e.starts_with(BARE) => Err(LookupError::Bare(e[BARE.len()..].to_string())),
        Err(e) => Err(LookupError::Failed(e)),
        Ok(r) => match kwargs.assert_all_used() {
            Ok(()) => Ok(r),
            Err(e) => Err(LookupError::Failed(e.to_string())),
        },
    };
    let items = match result {
        Ok(items) => items,
        Err(LookupError::NotFound) => {
            return Err(fail(format!("The lookup plugin '{name}' was not found.")))
        }
        Err(LookupError::Bare(msg)) if errors == "strict" => return Err(fail(msg)),
        Err(LookupError::Failed(msg)) if errors == "strict" => {
            return Err(fail(format!("The lookup plugin '{name}' failed: {msg}")))
        }
        // errors=warn|ignore: Ansible gives None, or [] with wantlist.
        Err(_) => {
            return Ok(if wantlist {
                MjValue::from(Vec::<MjValue>::new())
            } else {
                MjValue::from(())
            })
        }
    };
    if wantlist {
        return Ok(super::filters::mj(Value::Array(items)));
    }
    // Ansible's munging: one element alone, all strings joined by commas, else the list.
    Ok(match items.len() {
        0 => super::filters::mj(Value::Array(items)),
        1 => super::filters::mj(items.into_iter().next().unwrap_or(Value::Null)),
        _ if items.iter().all(Value::is_string) => {
            let parts: Vec<String> = items.iter().map(pyfmt::to_str).collect();
            MjValue::from(parts.join(","))
        }
        _ => super::filters::mj(Value::Array(items)),
    })
}

type PluginResult = Result<Vec<Value>, String>;

/// Plugin errors that start with these are reported differently (see `LookupError`).
const NOT_FOUND: &str = "\u{0}not found";
const BARE: &str = "\u{0}bare:";

enum LookupError {
    /// No such plugin.
    NotFound,
    /// Reported as it is (Ansible's undefined-variable errors from `vars`).
    Bare(String),
    /// Reported as `The lookup plugin 'x' failed: ...`.
    Failed(String),
}

fn run(state: &State, plugin: &str, terms: &[MjValue], kwargs: &Kwargs) -> PluginResult {
    match plugin {
        "env" => env_lookup(terms, kwargs),
        "file" => file_lookup(state, terms, kwargs),
        "template" => template_lookup(state, terms, kwargs),
        "pipe" => pipe_lookup(state, terms),
        "vars" => vars_lookup(state, terms, kwargs),
        "items" => Ok(flatten_terms(terms)?),
        "list" => terms.iter().map(data_str).collect(),
        "indexed_items" => Ok(flatten_terms(terms)?
            .into_iter()
            .enumerate()
            .map(|(i, v)| Value::Array(vec![Value::from(i), v]))
            .collect()),
        "dict" => dict_lookup(terms),
        "unvault" => unvault_lookup(state, terms),
        "config" => config_lookup(terms, kwargs),
        "ini" => super::ini_lookup::run(
            &terms.iter().map(term_text).collect::<Result<Vec<_>, _>>()?,
            &options(kwargs)?,
            &|f| find_in_search_path(state, "files", f).filter(|p| p.is_file()),
        ),
        "fileglob" => fileglob_lookup(state, terms),
        "first_found" => first_found_lookup(state, terms, kwargs),
        "sequence" => super::loop_lookups::sequence(&plain_terms(terms)?, &options(kwargs)?),
        "subelements" => super::loop_lookups::subelements(&plain_terms(terms)?),
        "nested" => super::loop_lookups::nested(term_lists(terms)?),
        "together" => super::loop_lookups::together(term_lists(terms)?),
        "varnames" => varnames_lookup(state, terms),
        "inventory_hostnames" => inventory_hostnames_lookup(state, terms),
        "password" => password_lookup(state, terms, kwargs),
        "csvfile" => csvfile_lookup(state, terms, kwargs),
        _ => Err(NOT_FOUND.to_string()),
    }
}

/// `password`: see `password_lookup.rs`; relative paths are under the playbook dir.
fn password_lookup(state: &State, terms: &[MjValue], kwargs: &Kwargs) -> PluginResult {
    let opts = options(kwargs)?;
    let basedir = var_str(state, "playbook_dir");
    terms
        .iter()
        .map(|t| super::password_lookup::password(&term_text(t)?, &opts, basedir.as_deref()))
        .map(|r| r.map(Value::String))
        .collect()
}

/// `csvfile`: see `csvfile_lookup.rs`; the file is looked up like the file lookup's.
fn csvfile_lookup(state: &State, terms: &[MjValue], kwargs: &Kwargs) -> PluginResult {
    let opts = options(kwargs)?;
    let terms: Vec<String> = terms.iter().map(term_text).collect::<Result<_, _>>()?;
    let find = |f: &str| find_in_search_path(state, "files", f).filter(|p| p.is_file());
    super::csvfile_lookup::csvfile(&terms, &opts, &find)
}

fn plain_terms(terms: &[MjValue]) -> Result<Vec<Value>, String> {
    terms.iter().map(data_str).collect()
}

/// Each term as a list (a scalar is a list of one), for nested/together.
fn term_lists(terms: &[MjValue]) -> Result<Vec<Vec<Value>>, String> {
    Ok(plain_terms(terms)?
        .into_iter()
        .map(|t| match t {
            Value::Array(items) => items,
            other => vec![other],
        })
        .collect())
}

/// The plugin's own keyword options (not lookup()'s `wantlist` and `errors`).
fn options(kwargs: &Kwargs) -> Result<serde_json::Map<String, Value>, String> {
    let mut out = serde_json::Map::new();
    for key in kwargs.args() {
        if key == "wantlist" || key == "errors" {
            continue;
        }
        let v = kw::<MjValue>(kwargs, key)?.unwrap_or_default();
        out.insert(key.to_string(), data_str(&v)?);
    }
    Ok(out)
}

/// `varnames`: the names of the variables (in scope for the task) matching each regex.
fn varnames_lookup(state: &State, terms: &[MjValue]) -> PluginResult {
    let names: Vec<String> = match state.lookup("vars") {
        Some(v) if v.kind() == minijinja::value::ValueKind::Map => v
            .try_iter()
            .map_err(|e| e.to_string())?
            .filter_map(|k| k.as_str().map(str::to_string))
            .collect(),
        _ => return Err("No variables available to search".into()),
    };
    let mut out = Vec::new();
    for t in terms {
        let Some(term) = t.as_str() else {
            let py_type = match data_str(t)? {
                Value::Bool(_) => "bool",
                Value::Number(n) if n.is_f64() => "float",
                Value::Number(_) => "int",
                Value::Array(_) => "list",
                Value::Object(_) => "dict",
                _ => "NoneType",
            };
            return Err(format!(
                "Invalid setting identifier, \"{}\" is not a string, it is a <class '{py_type}'>",
                pyfmt::to_str(&data_str(t)?)
            ));
        };
        let re = super::filters::python_regex(term, false, false).map_err(|e| {
            format!(
                "Unable to use \"{term}\" as a search parameter: {}",
                python_regex_error(&e)
            )
        })?;
        out.extend(
            names
                .iter()
                .filter(|n| re.is_match(n))
                .map(|n| Value::String(n.clone())),
        );
    }
    Ok(out)
}

/// Python's `re` wording for the commonest compile error, else the regex crate's.
fn python_regex_error(e: &Error) -> String {
    let detail = e.detail().unwrap_or_default();
    if detail.contains("repetition operator missing expression") {
        "nothing to repeat at position 0".to_string()
    } else {
        detail.to_string()
    }
}

fn data_str(v: &MjValue) -> Result<Value, String> {
    data(v).map_err(|e| e.to_string())
}

fn term_text(v: &MjValue) -> Result<String, String> {
    text(v).map_err(|e| e.to_string())
}

fn kw<T>(kwargs: &Kwargs, key: &str) -> Result<Option<T>, String>
where
    T: for<'a> minijinja::value::ArgType<'a, Output = T>,
{
    kwargs.get::<Option<T>>(key).map_err(|e| e.to_string())
}

/// `items`: the terms, lists among them flattened one level.
fn flatten_terms(terms: &[MjValue]) -> PluginResult {
    let mut out = Vec::new();
    for t in terms {
        match data_str(t)? {
            Value::Array(items) => out.extend(items),
            other => out.push(other),
        }
    }
    Ok(out)
}

fn env_lookup(terms: &[MjValue], kwargs: &Kwargs) -> PluginResult {
    let default = kw::<String>(kwargs, "default")?.unwrap_or_default();
    terms
        .iter()
        .map(|t| {
            let name = term_text(t)?;
            Ok(Value::String(
                std::env::var(&name).unwrap_or_else(|_| default.clone()),
            ))
        })
        .collect()
}

fn var_str(state: &State, name: &str) -> Option<String> {
    let v = state.lookup(name)?;
    if v.is_undefined() || v.is_none() {
        return None;
    }
    v.as_str().map(str::to_string)
}

/// Where a relative path is looked for (Ansible's `path_dwim_relative_stack` over a role
/// task's search path): `{role_path}/{subdir}`, `{role_path}`, then the role's tasks dir
/// (`tasks/{subdir}`, `tasks`), `{playbook_dir}/{subdir}`, `{playbook_dir}`, then the
/// working directory.
pub fn search_dirs(state: &State, subdir: &str) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    for base in ["role_path", "playbook_dir"] {
        if let Some(b) = var_str(state, base) {
            dirs.push(Path::new(&b).join(subdir));
            dirs.push(PathBuf::from(&b));
            if base == "role_path" {
                let tasks = Path::new(&b).join("tasks");
                dirs.push(tasks.join(subdir));
                dirs.push(tasks);
            }
        }
    }
    dirs.push(PathBuf::from("."));
    dirs
}

/// Finds `term` in the search path; absolute paths are taken as they are.
pub fn find_in_search_path(state: &State, subdir: &str, term: &str) -> Option<PathBuf> {
    let p = Path::new(term);
    if p.is_absolute() {
        return p.exists().then(|| p.to_path_buf());
    }
    search_dirs(state, subdir)
        .into_iter()
        .map(|d| d.join(term))
        .find(|c| c.exists())
}

/// A file's text, decrypted when it is vaulted (the file and template lookups do).
fn read_text(path: &std::path::Path, term: &str) -> Result<String, String> {
    let data = crate::vault::read_file(path)
        .map_err(|e| format!("Unable to access the file '{term}': {e}"))?;
    String::from_utf8(data).map_err(|e| format!("Unable to access the file '{term}': {e}"))
}

fn file_lookup(state: &State, terms: &[MjValue], kwargs: &Kwargs) -> PluginResult {
    let rstrip = kw::<bool>(kwargs, "rstrip")?.unwrap_or(true);
    let lstrip = kw::<bool>(kwargs, "lstrip")?.unwrap_or(false);
    terms
        .iter()
        .map(|t| {
            let term = term_text(t)?;
            let path = find_in_search_path(state, "files", &term)
                .filter(|p| p.is_file())
                .ok_or_else(|| format!("Unable to access the file '{term}': File not found."))?;
            let content = read_text(&path, &term)?;
            let mut s = content.as_str();
            if rstrip {
                s = s.trim_end();
            }
            if lstrip {
                s = s.trim_start();
            }
            Ok(Value::String(s.to_string()))
        })
        .collect()
}

/// `config`: the value of a setting. Only the settings the template layer itself reads are
/// known here; the others give `default=` or the error Ansible gives for an unknown one.
fn config_lookup(terms: &[MjValue], kwargs: &Kwargs) -> PluginResult {
    let default = kw::<MjValue>(kwargs, "default")?;
    let _ = kw::<String>(kwargs, "on_missing")?;
    for opt in ["plugin_type", "plugin_name", "show_origin"] {
        let _ = kw::<MjValue>(kwargs, opt)?;
    }
    terms
        .iter()
        .map(|t| {
            let name = term_text(t)?;
            match name.as_str() {
                "ALLOW_BROKEN_CONDITIONALS" => {
                    Ok(Value::Bool(super::conditional::allow_broken_conditionals()))
                }
                _ => match &default {
                    Some(d) => data_str(d),
                    None => Err(format!("Unable to find setting {name}")),
                },
            }
        })
        .collect()
}

/// `unvault`: a file's text, decrypted with the run's secrets when vaulted (not stripped).
fn unvault_lookup(state: &State, terms: &[MjValue]) -> PluginResult {
    terms
        .iter()
        .map(|t| {
            let term = term_text(t)?;
            let path = find_in_search_path(state, "files", &term)
                .filter(|p| p.is_file())
                .ok_or_else(|| format!("Unable to find file matching \"{term}\""))?;
            read_text(&path, &term).map(Value::String)
        })
        .collect()
}

fn template_lookup(state: &State, terms: &[MjValue], kwargs: &Kwargs) -> PluginResult {
    let extra = kw::<MjValue>(kwargs, "template_vars")?;
    // Deprecated options that 2.19 accepts and ignores.
    for opt in ["convert_data", "jinja2_native"] {
        let _ = kw::<MjValue>(kwargs, opt)?;
    }
    let pair = |s: &str, e: &str, ds: &str, de: &str| -> Result<Option<(String, String)>, String> {
        let start = kw::<String>(kwargs, s)?;
        let end = kw::<String>(kwargs, e)?;
        Ok((start.is_some() || end.is_some()).then(|| {
            (
                start.unwrap_or_else(|| ds.into()),
                end.unwrap_or_else(|| de.into()),
            )
        }))
    };
    let base_opts = super::FileOptions {
        variable: pair("variable_start_string", "variable_end_string", "{{", "}}")?,
        comment: pair("comment_start_string", "comment_end_string", "{#", "#}")?,
        trim_blocks: kw::<bool>(kwargs, "trim_blocks")?,
        ..Default::default()
    };
    let base = state.lookup("vars").unwrap_or_default();
    let user_managed = base
        .get_attr("ansible_managed")
        .is_ok_and(|v| !v.is_undefined());
    let mut extra_vars = indexmap::IndexMap::new();
    if let Some(extra) = extra.filter(|e| e.kind() == minijinja::value::ValueKind::Map) {
        for k in extra.try_iter().map_err(|e| e.to_string())? {
            let v = extra.get_item(&k).map_err(|e| e.to_string())?;
            extra_vars.insert(k.to_string(), v);
        }
    }
    terms
        .iter()
        .map(|t| {
            let term = term_text(t)?;
            let path = find_in_search_path(state, "templates", &term)
                .filter(|p| p.is_file())
                .ok_or_else(|| {
                    format!("the template file {term} could not be found for the lookup")
                })?;
            let source = read_text(&path, &term)?;
            let mut top = template_vars(&term, &path, !user_managed);
            top.extend(extra_vars.clone());
            let mut opts = base_opts.clone();
            opts.search_path = path.parent().map(Path::to_path_buf).into_iter().collect();
            opts.search_path.extend(search_dirs(state, "templates"));
            let ctx = super::overlay::Overlay::context(top, base.clone());
            let out = super::templar()
                .render_file_with(&source, &ctx, &opts)
                .map_err(|e| e.message)?;
            // A template with no output nodes (only comments) gives None in 2.19.
            let start = opts.variable.as_ref().map_or("{{", |(s, _)| s.as_str());
            if out.is_empty() && !source.contains(start) {
                return Ok(Value::Null);
            }
            Ok(Value::String(out))
        })
        .collect()
}

/// The variables Ansible adds for a template file (`generate_ansible_template_vars`).
fn template_vars(
    term: &str,
    path: &Path,
    with_managed: bool,
) -> indexmap::IndexMap<String, MjValue> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path).ok();
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default();
    let mut vars = indexmap::IndexMap::new();
    vars.insert("template_host".into(), MjValue::from(host));
    vars.insert("template_path".into(), MjValue::from(term));
    vars.insert(
        "template_fullpath".into(),
        MjValue::from(path.display().to_string()),
    );
    vars.insert("template_destpath".into(), MjValue::from(()));
    if let Some(m) = meta {
        vars.insert("template_mtime".into(), MjValue::from(m.mtime()));
        vars.insert("template_uid".into(), MjValue::from(m.uid()));
    }
    if with_managed {
        vars.insert("ansible_managed".into(), MjValue::from("Ansible managed"));
    }
    vars
}

fn pipe_lookup(state: &State, terms: &[MjValue]) -> PluginResult {
    let cwd = var_str(state, "playbook_dir");
    terms
        .iter()
        .map(|t| {
            let out = controller_shell("pipe", &term_text(t)?, cwd.as_deref())?;
            Ok(Value::String(out.trim_end().to_string()))
        })
        .collect()
}

/// Runs `cmd` with the controller's `/bin/sh` in `cwd` (the playbook dir, when it exists), as
/// the `pipe` and `lines` lookups do; its stdout, or `lookup_plugin.PLUGIN(cmd) returned RC`.
pub(crate) fn controller_shell(
    plugin: &str,
    cmd: &str,
    cwd: Option<&str>,
) -> Result<String, String> {
    let mut command = std::process::Command::new("/bin/sh");
    command.arg("-c").arg(cmd);
    if let Some(dir) = cwd.filter(|d| Path::new(d).is_dir()) {
        command.current_dir(dir);
    }
    // Its own process group, so an interrupted run can end it with its children.
    let child = command
        .process_group(0)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .map_err(|e| format!("lookup_plugin.{plugin}({cmd}) failed: {e}"))?;
    let _tracked = crate::cli::interrupt::track(child.id());
    let out = child
        .wait_with_output()
        .map_err(|e| format!("lookup_plugin.{plugin}({cmd}) failed: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "lookup_plugin.{plugin}({cmd}) returned {}",
            out.status.code().unwrap_or(-1)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `inventory_hostnames`: the hosts a pattern matches, from the `groups` variable (as
/// Ansible's plugin, which builds an inventory out of it). A bad pattern gives no hosts.
fn inventory_hostnames_lookup(state: &State, terms: &[MjValue]) -> PluginResult {
    let groups =
        super::to_json(&state.lookup("groups").unwrap_or_default()).map_err(|e| e.message)?;
    let mut inv = crate::inventory::Inventory::empty();
    for (group, hosts) in groups.as_object().into_iter().flatten() {
        for host in hosts
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            inv.add_host(host, std::slice::from_ref(group), serde_json::Map::new());
        }
    }
    let patterns: Vec<String> = flatten_terms(terms)?.iter().map(pyfmt::to_str).collect();
    Ok(inv
        .select(&patterns.join(","))
        .unwrap_or_default()
        .into_iter()
        .map(Value::String)
        .collect())
}

fn vars_lookup(state: &State, terms: &[MjValue], kwargs: &Kwargs) -> PluginResult {
    let default = kw::<MjValue>(kwargs, "default")?;
    let all = state.lookup("vars");
    terms
        .iter()
        .map(|t| {
            if t.kind() != minijinja::value::ValueKind::String {
                let json = super::to_json(t).map_err(|e| e.message)?;
                let kind = super::filters::type_name(&json);
                return Err(format!("{BARE}Variable name must be 'str' not '{kind}'"));
            }
            let name = term_text(t)?;
            let found = all
                .as_ref()
                .and_then(|v| v.get_attr(&name).ok())
                .filter(|v| !v.is_undefined())
                .or_else(|| state.lookup(&name).filter(|v| !v.is_undefined()));
            match (found, &default) {
                (Some(v), _) => data_str(&v),
                (None, Some(d)) => data_str(d),
                (None, None) => Err(format!("{BARE}No variable named '{name}' was found.")),
            }
        })
        .collect()
}

fn dict_lookup(terms: &[MjValue]) -> PluginResult {
    let mut out = Vec::new();
    for t in terms {
        let Value::Object(m) = data_str(t)? else {
            return Err(format!(
                "with_dict expects a dict, got {}",
                term_text(t).unwrap_or_default()
            ));
        };
        for (k, v) in m {
            let mut e = serde_json::Map::new();
            e.insert("key".into(), Value::String(k));
            e.insert("value".into(), v);
            out.push(Value::Object(e));
        }
    }
    Ok(out)
}

fn fileglob_lookup(state: &State, terms: &[MjValue]) -> PluginResult {
    let mut out = Vec::new();
    for t in terms {
        let term = term_text(t)?;
        let pattern_dir = super::filters::py_dirname(&term);
        let pattern_base = super::filters::py_basename(&term).to_string();
        let dirs: Vec<PathBuf> = if Path::new(&term).is_absolute() {
            vec![PathBuf::from(&pattern_dir)]
        } else {
            search_dirs(state, "files")
                .into_iter()
                .map(|d| d.join(&pattern_dir))
                .filter(|d| d.is_dir())
                .collect()
        };
        for dir in dirs {
            let pattern = dir.join(&pattern_base);
            let Ok(paths) = glob::glob(&pattern.to_string_lossy()) else {
                return Err(format!("invalid glob pattern '{term}'"));
            };
            let mut found: Vec<String> = paths
                .flatten()
                .filter(|p| p.is_file())
                .map(|p| p.display().to_string())
                .collect();
            found.sort();
            // The first directory of the search path with a match wins, as in Ansible.
            if !found.is_empty() {
                out.extend(found.into_iter().map(Value::String));
                break;
            }
        }
    }
    Ok(out)
}

fn split_list(v: &Value, seps: &[char]) -> Vec<String> {
    match v {
        Value::Array(items) => items.iter().flat_map(|i| split_list(i, seps)).collect(),
        Value::String(s) => s
            .split(|c| seps.contains(&c))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        Value::Null => Vec::new(),
        other => vec![pyfmt::to_str(other)],
    }
}

fn first_found_lookup(state: &State, terms: &[MjValue], kwargs: &Kwargs) -> PluginResult {
    let mut files: Vec<String> = Vec::new();
    let mut paths: Vec<String> = Vec::new();
    let mut skip = kw::<bool>(kwargs, "skip")?.unwrap_or(false);
    if let Some(f) = kw::<MjValue>(kwargs, "files")? {
        files.extend(split_list(&data_str(&f)?, &[',', ';']));
    }
    if let Some(p) = kw::<MjValue>(kwargs, "paths")? {
        paths.extend(split_list(&data_str(&p)?, &[',', ';', ':']));
    }
    let mut add_term = |v: Value, files: &mut Vec<String>, paths: &mut Vec<String>| match v {
        Value::Object(m) => {
            if let Some(f) = m.get("files") {
                files.extend(split_list(f, &[',', ';']));
            }
            if let Some(p) = m.get("paths") {
                paths.extend(split_list(p, &[',', ';', ':']));
            }
            if let Some(s) = m.get("skip") {
                skip = super::filters::bool_of(s);
            }
        }
        Value::String(s) => files.push(s),
        other => files.push(pyfmt::to_str(&other)),
    };
    for t in terms {
        match data_str(t)? {
            Value::Array(items) => {
                for i in items {
                    add_term(i, &mut files, &mut paths);
                }
            }
            other => add_term(other, &mut files, &mut paths),
        }
    }
    for f in &files {
        let found = if paths.is_empty() || Path::new(f).is_absolute() {
            find_in_search_path(state, "files", f)
        } else {
            paths.iter().find_map(|p| {
                let candidate = Path::new(p).join(f);
                let candidate = if candidate.is_absolute() {
                    candidate
                } else {
                    // Relative `paths` are themselves looked up in the search path.
                    find_in_search_path(state, "files", &candidate.to_string_lossy())?
                };
                candidate.exists().then_some(candidate)
            })
        };
        if let Some(p) = found {
            return Ok(vec![Value::String(p.display().to_string())]);
        }
    }
    if skip {
        Ok(Vec::new())
    } else {
        Err("No file was found when using first_found.".into())
    }
}

#[cfg(test)]
mod tests {
    use crate::template::templar;
    use minijinja::Value as MjValue;
    use serde_json::{json, Value};

    fn setup() -> (tempfile::TempDir, MjValue) {
        let dir = tempfile::tempdir().unwrap();
        let pb = dir.path().join("pb");
        let role = dir.path().join("role");
        for d in [
            "pb/files",
            "pb/templates",
            "role/files",
            "role/templates",
            "pb/other",
        ] {
            std::fs::create_dir_all(dir.path().join(d)).unwrap();
        }
        std::fs::write(pb.join("files/a.txt"), "from playbook\n\n").unwrap();
        std::fs::write(role.join("files/b.txt"), "from role\n").unwrap();
        std::fs::write(pb.join("files/a.txt.bak"), "x").unwrap();
        std::fs::write(pb.join("other/c.conf"), "c").unwrap();
        std::fs::write(pb.join("templates/t.j2"), "hi {{ who }} {{ vars.who }}\n").unwrap();
        let vars = json!({"who": "bob", "role_path": role, "playbook_dir": pb, "pb": pb});
        let mut ctx = vars.as_object().unwrap().clone();
        ctx.insert("vars".into(), vars.clone());
        (dir, crate::template::mj_value(Value::Object(ctx)))
    }

    fn e(expr: &str, ctx: &MjValue) -> Value {
        templar()
            .render_native(&format!("{{{{ {expr} }}}}"), ctx)
            .unwrap()
    }

    fn err(expr: &str, ctx: &MjValue) -> String {
        templar()
            .render_native(&format!("{{{{ {expr} }}}}"), ctx)
            .unwrap_err()
            .message
    }

    #[test]
    fn env_lookup_joins_strings() {
        let (_d, ctx) = setup();
        let home = std::env::var("HOME").unwrap_or_default();
        assert_eq!(
            e("lookup('env', 'HOME', 'YIQIU_NOPE_X')", &ctx),
            json!(format!("{home},"))
        );
        assert_eq!(
            e("lookup('env', 'YIQIU_NOPE_X', default='dflt')", &ctx),
            json!("dflt")
        );
        assert_eq!(e("query('env', 'HOME')", &ctx), json!([home]));
    }

    #[test]
    fn items_list_and_wantlist() {
        let (_d, ctx) = setup();
        // Checked against ansible-core 2.19: non-string lists are returned as they are.
        assert_eq!(e("lookup('items', [1, 2])", &ctx), json!([1, 2]));
        assert_eq!(e("query('items', [1, [2]])", &ctx), json!([1, [2]]));
        assert_eq!(e("lookup('items', ['a', 'b'])", &ctx), json!("a,b"));
        assert_eq!(
            e("lookup('items', ['a', 'b'], wantlist=True)", &ctx),
            json!(["a", "b"])
        );
        assert_eq!(e("q('list', ['a', 'b'])", &ctx), json!([["a", "b"]]));
        assert_eq!(
            e("query('indexed_items', ['a', 'b'])", &ctx),
            json!([[0, "a"], [1, "b"]])
        );
        assert_eq!(
            e("query('dict', {'k': 1})", &ctx),
            json!([{"key": "k", "value": 1}])
        );
    }

    #[test]
    fn file_lookup_searches_role_then_playbook() {
        let (_d, ctx) = setup();
        assert_eq!(e("lookup('file', 'a.txt')", &ctx), json!("from playbook"));
        assert_eq!(e("lookup('file', 'b.txt')", &ctx), json!("from role"));
        assert_eq!(
            e("lookup('file', 'a.txt', rstrip=False)", &ctx),
            json!("from playbook\n\n")
        );
        assert_eq!(
            err("lookup('file', 'nope.txt')", &ctx),
            "The lookup plugin 'file' failed: Unable to access the file 'nope.txt': File not found."
        );
        assert_eq!(
            e("lookup('file', 'nope.txt', errors='ignore')", &ctx),
            json!(null)
        );
    }

    #[test]
    fn template_lookup_renders_with_vars() {
        let (_d, ctx) = setup();
        assert_eq!(e("lookup('template', 't.j2')", &ctx), json!("hi bob bob\n"));
        assert_eq!(
            e(
                "lookup('template', 't.j2', template_vars={'who': 'al'})",
                &ctx
            ),
            json!("hi al al\n")
        );
    }

    #[test]
    fn pipe_and_vars_lookups() {
        let (_d, ctx) = setup();
        assert_eq!(
            e("lookup('pipe', 'echo hello; echo')", &ctx),
            json!("hello")
        );
        assert!(err("lookup('pipe', 'exit 3')", &ctx).contains("returned 3"));
        assert_eq!(e("lookup('vars', 'who')", &ctx), json!("bob"));
        assert_eq!(e("lookup('vars', 'nobody', default=5)", &ctx), json!(5));
        assert_eq!(
            err("lookup('vars', 'nobody')", &ctx),
            "No variable named 'nobody' was found."
        );
        assert_eq!(
            err("lookup('nosuch', 'x')", &ctx),
            "The lookup plugin 'nosuch' was not found."
        );
    }

    #[test]
    fn fileglob_and_first_found() {
        let (d, ctx) = setup();
        let pb = d.path().join("pb");
        // The role's files/ comes first in the search path, as in Ansible.
        assert_eq!(
            e("query('fileglob', '*.txt')", &ctx),
            json!([d.path().join("role/files/b.txt").display().to_string()])
        );
        assert_eq!(
            e("query('fileglob', pb ~ '/files/*.txt')", &ctx),
            json!([pb.join("files/a.txt").display().to_string()])
        );
        assert_eq!(
            e(
                "lookup('first_found', ['nope.txt', 'b.txt', 'a.txt'])",
                &ctx
            ),
            json!(d.path().join("role/files/b.txt").display().to_string())
        );
        let other = pb.join("other").display().to_string();
        let ctx2 = {
            let mut m: serde_json::Map<String, Value> =
                serde_json::from_value(serde_json::to_value(&ctx).unwrap()).unwrap();
            m.insert("other".into(), json!(other));
            crate::template::mj_value(Value::Object(m))
        };
        assert_eq!(
            e(
                "lookup('first_found', {'files': ['x.conf', 'c.conf'], 'paths': [other]})",
                &ctx2
            ),
            json!(format!("{other}/c.conf"))
        );
        assert_eq!(
            e(
                "query('first_found', {'files': ['zz'], 'skip': true})",
                &ctx2
            ),
            json!([])
        );
        assert!(err("lookup('first_found', ['zz'])", &ctx).contains("No file was found"));
    }
}
