//! Inventory sources: files, directories of files, and `a,b,` host lists, tried with
//! Ansible's plugins in its order (host_list, yaml, ini) and reported like it does.

use super::graph::SourceInfo;
use super::host_range::parse_address;
use super::{cloud, ini, script, yaml_source, Inventory, WARN_NO_INVENTORY};
use crate::error::{Error, Origin, Result};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Extensions skipped in inventory directories (`INVENTORY_IGNORE_EXTS`).
const IGNORE_EXTS: [&str; 12] = [
    ".pyc", ".pyo", ".swp", ".bak", "~", ".rpm", ".md", ".txt", ".rst", ".orig", ".cfg", ".retry",
];
const YAML_EXTS: [&str; 3] = [".yaml", ".yml", ".json"];

fn ignored(name: &str) -> bool {
    name.starts_with('.')
        || ["host_vars", "group_vars", "vars_plugins"].contains(&name)
        || IGNORE_EXTS.iter().any(|e| name.ends_with(e))
}

pub(crate) fn load_all(inv: &mut Inventory, sources: &[PathBuf]) -> Result<()> {
    let mut parsed = false;
    for source in sources {
        let text = source.to_string_lossy().into_owned();
        if text.is_empty() {
            continue;
        }
        if text.contains(',') && !source.exists() {
            // The first enabled of the two host-list plugins takes it.
            let plugin = inv
                .plugins
                .iter()
                .find(|p| *p == "host_list" || *p == "advanced_host_list")
                .cloned();
            match plugin.as_deref() {
                Some("host_list") => {
                    parse_host_list(inv, &text);
                    parsed = true;
                    continue;
                }
                Some(_) => {
                    if parse_advanced_host_list(inv, &text) {
                        parsed = true;
                    } else {
                        inv.warnings
                            .push(format!("Unable to parse {text} as an inventory source"));
                        inv.failed_sources.push(text);
                    }
                    continue;
                }
                None => {}
            }
        }
        let path = absolute(source);
        if parse_path(inv, &path)? {
            parsed = true;
        }
        // group_vars/host_vars live beside a file source, or inside a directory source.
        let base = if path.is_dir() {
            path.clone()
        } else {
            path.parent().map(Path::to_path_buf).unwrap_or_default()
        };
        if path.exists() && !inv.source_dirs.contains(&base) {
            inv.source_dirs.push(base);
        }
    }
    inv.parsed_any = parsed;
    if parsed {
        inv.reconcile();
    } else {
        inv.warnings.push(WARN_NO_INVENTORY.to_string());
    }
    // Ansible warns once the inventory is complete.
    let clashes: Vec<String> = inv
        .groups
        .keys()
        .filter(|g| inv.hosts.contains_key(*g))
        .cloned()
        .collect();
    for c in clashes {
        inv.warnings
            .push(format!("Found both group and host with same name: {c}"));
    }
    Ok(())
}

/// Like Ansible's `unfrackpath(follow=False)`: absolute, without resolving symlinks.
fn absolute(p: &Path) -> PathBuf {
    if p.is_absolute() {
        return p.to_path_buf();
    }
    std::env::current_dir()
        .map(|cwd| cwd.join(p))
        .unwrap_or_else(|_| p.to_path_buf())
}

/// The `host_list` plugin: `a, b:2222, c` adds hosts to `ungrouped` (no range expansion).
fn parse_host_list(inv: &mut Inventory, text: &str) {
    let src = SourceInfo {
        file: Value::String(text.to_string()),
        dir: Value::Null,
    };
    for h in text.split(',') {
        let h = h.trim();
        if h.is_empty() {
            continue;
        }
        let (name, port) = match parse_address(h) {
            Some((name, port)) if !name.contains('[') => (name, port),
            _ => (h.to_string(), None),
        };
        if !inv.hosts.contains_key(&name) {
            inv.ensure_host(&name, port, Some(&src));
            inv.put_host_in_group(&name, "ungrouped");
        }
    }
}

/// The `advanced_host_list` plugin: a host list whose entries may hold ranges
/// (`web[1:3],`). An entry whose range Ansible rejects stays one name (said at `-vvv`); one
/// that makes Python itself fail (`[1:j]`) fails the whole source.
fn parse_advanced_host_list(inv: &mut Inventory, text: &str) -> bool {
    let src = SourceInfo {
        file: Value::String(text.to_string()),
        dir: Value::Null,
    };
    let mut attempt = inv.clone();
    for h in text.split(',').map(str::trim).filter(|h| !h.is_empty()) {
        let (names, port) = match super::host_range::expand_hostpattern(h) {
            Ok(found) => found,
            Err(e) if e.starts_with("invalid literal") || e.starts_with("range()") => {
                let msg = format!("Invalid data from string, could not parse: {e}");
                let err = Error::parse(msg, None);
                let origin =
                    format!("<inventory plugin 'advanced_host_list' with source '{text}'>");
                inv.warnings.push(format!(
                    "Failed to parse inventory with 'advanced_host_list' plugin: {m}\n\nFailed to parse inventory with 'advanced_host_list' plugin.\n\n<<< caused by >>>\n\n{m}\nOrigin: {origin}\n",
                    m = err.message
                ));
                inv.parse_errors.push(err);
                return false;
            }
            Err(e) => {
                attempt.verbose.push((
                    3,
                    format!("Unable to parse address from hostname, leaving unchanged: {e}"),
                ));
                (vec![h.to_string()], None)
            }
        };
        for name in names {
            if !attempt.hosts.contains_key(&name) {
                attempt.ensure_host(&name, port, Some(&src));
                attempt.put_host_in_group(&name, "ungrouped");
            }
        }
    }
    attempt.verbose.push((
        3,
        format!("Parsed {text} inventory source with advanced_host_list plugin"),
    ));
    *inv = attempt;
    true
}

/// Parses a file or every entry of a directory; `Ok(false)` when nothing could be parsed.
fn parse_path(inv: &mut Inventory, path: &Path) -> Result<bool> {
    if path.is_dir() {
        let rd = std::fs::read_dir(path).map_err(|e| Error::io(path, e))?;
        let mut names: Vec<String> = rd
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        let mut parsed = false;
        for n in names {
            if ignored(&n) {
                continue;
            }
            if parse_path(inv, &path.join(n))? {
                parsed = true;
            }
        }
        return Ok(parsed);
    }
    let display = path.display().to_string();
    if !path.is_file() {
        inv.warnings
            .push(format!("Unable to parse {display} as an inventory source"));
        inv.failed_sources.push(display);
        return Ok(false);
    }
    let src = SourceInfo {
        file: Value::String(display.clone()),
        dir: Value::String(
            path.parent()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
        ),
    };
    let mut failures: Vec<(&str, Error)> = Vec::new();
    // An executable file is an inventory script (Ansible's `script` plugin, tried before
    // the data formats; when it fails, they still get their turn).
    if script::is_script(path) {
        let mut attempt = inv.clone();
        match script::parse(&mut attempt, path, &src) {
            Ok(()) => {
                *inv = attempt;
                return Ok(true);
            }
            Err(e) => failures.push(("script", e)),
        }
    }
    let text = match read_source(path) {
        Ok(t) => t,
        Err(err) => {
            inv.warnings.push(format!(
                "Unable to parse {display} as an inventory source: {}",
                err.message
            ));
            inv.parse_errors.push(err);
            inv.failed_sources.push(display);
            return Ok(false);
        }
    };
    let ext = path
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    if ext.is_empty() || YAML_EXTS.contains(&ext.as_str()) {
        let mut plugin_config = false;
        if let Ok(doc) = crate::yaml::load_str(&text, &display) {
            if cloud::is_cloud(&doc) {
                return Ok(parse_cloud(inv, &doc, &src, &display));
            }
            if let Some(name) = doc.get("plugin").and_then(|p| p.as_str()) {
                plugin_config = true;
                if inv.plugins.iter().any(|p| p == "auto") {
                    let mut attempt = inv.clone();
                    match parse_plugin_config(&mut attempt, name, &doc, &src, &display) {
                        Ok(()) => {
                            *inv = attempt;
                            return Ok(true);
                        }
                        Err(e) => failures.push(("auto", e)),
                    }
                }
            }
        }
        if (ext == ".yml" || ext == ".yaml") && !plugin_config {
            failures.push((
                "auto",
                Error::parse(
                    format!("no root 'plugin' key found, '{display}' is not a valid YAML inventory plugin config file"),
                    None,
                ),
            ));
        }
        let mut attempt = inv.clone();
        attempt.warnings.clear();
        match crate::yaml::load_str(&text, &display)
            .and_then(|doc| yaml_source::parse(&mut attempt, &doc, &src))
        {
            Ok(()) => {
                let mut warnings = std::mem::take(&mut inv.warnings);
                warnings.append(&mut attempt.warnings);
                *inv = attempt;
                inv.warnings = warnings;
                return Ok(true);
            }
            Err(e) => failures.push(("yaml", e)),
        }
    }
    let mut attempt = inv.clone();
    match ini::parse(&mut attempt, &text, &src) {
        Ok(()) => {
            *inv = attempt;
            return Ok(true);
        }
        Err(e) => {
            let origin = Origin::new(display.as_str(), e.line, 1);
            failures.push((
                "ini",
                Error::parse(
                    format!("Failed to parse inventory: {}", e.message),
                    Some(origin),
                ),
            ));
        }
    }
    for (plugin, err) in failures {
        inv.warnings.push(failure_warning(plugin, &err, &display));
        if plugin != "auto" {
            inv.parse_errors.push(err);
        }
    }
    inv.warnings
        .push(format!("Unable to parse {display} as an inventory source"));
    inv.failed_sources.push(display);
    Ok(false)
}

/// A YAML file naming its inventory plugin (`plugin: ansible.builtin.generator`), read by
/// the `auto` plugin: the builtin plugins that are data, not Python, are ours too.
fn parse_plugin_config(
    inv: &mut Inventory,
    name: &str,
    doc: &crate::yaml::Node,
    src: &SourceInfo,
    display: &str,
) -> Result<()> {
    let config = doc.to_json();
    match name.strip_prefix("ansible.builtin.").unwrap_or(name) {
        "generator" => super::generator::parse(inv, &config, src),
        "constructed" => super::constructed::parse(inv, &config),
        _ => Err(Error::parse(
            format!("inventory config '{display}' specifies unknown plugin '{name}'"),
            None,
        )),
    }
}

/// A source file's text; a vaulted one is decrypted (Ansible's loader does it for every
/// inventory plugin).
fn read_source(path: &Path) -> Result<String> {
    let data = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let data = crate::vault::open_if_vaulted(data)
        .map_err(|e| Error::other(format!("{e} for {}", path.display())))?;
    String::from_utf8(data)
        .map_err(|_| Error::other(format!("Could not read '{}': not UTF-8", path.display())))
}

/// A host cloud inventory (top-level `regions:`): all or nothing, like the other sources. Its
/// errors are our own, so the INI plugin's unrelated complaint about the file is not shown.
fn parse_cloud(
    inv: &mut Inventory,
    doc: &crate::yaml::Node,
    src: &SourceInfo,
    display: &str,
) -> bool {
    let mut attempt = inv.clone();
    match cloud::parse(&mut attempt, doc, src) {
        Ok(()) => {
            *inv = attempt;
            true
        }
        Err(err) => {
            inv.warnings.push(cloud_warning(&err));
            inv.warnings
                .push(format!("Unable to parse {display} as an inventory source"));
            inv.parse_errors.push(err);
            inv.failed_sources.push(display.to_string());
            false
        }
    }
}

/// The warning for a bad cloud inventory: message, `Origin: file:line:col`, the line, help.
fn cloud_warning(err: &Error) -> String {
    let mut out = format!(
        "Failed to parse inventory with the host cloud source: {}",
        err.message
    );
    if let Some(o) = &err.origin {
        out.push_str(&format!("\nOrigin: {o}\n"));
        if let Some(ex) = o.excerpt() {
            out.push_str(&format!("\n{ex}\n"));
        }
    }
    if let Some(help) = &err.help {
        out.push_str(&format!("\n{help}\n"));
    }
    out
}

/// Ansible 2.19's text for a plugin that could not parse a source.
fn failure_warning(plugin: &str, err: &Error, display: &str) -> String {
    let origin = match plugin {
        // The INI plugin reports the file (Ansible drops the line number here).
        "ini" => display.to_string(),
        _ => format!("<inventory plugin '{plugin}' with source '{display}'>"),
    };
    // YAML syntax errors carry their own position text; keep the first line of the message.
    let msg = first_line(&err.message);
    let mut out = format!(
        "Failed to parse inventory with '{plugin}' plugin: {msg}\n\nFailed to parse inventory with \
         '{plugin}' plugin.\n\n<<< caused by >>>\n\n{msg}\nOrigin: {origin}\n"
    );
    // The script plugin's help is the script's stderr.
    if let (Some(help), "script") = (&err.help, plugin) {
        out.push_str(&format!("\n{help}"));
    }
    out
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or_default().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ignore_rules() {
        for n in [
            ".git",
            "group_vars",
            "host_vars",
            "x.bak",
            "x~",
            "x.orig",
            "README.md",
            "a.cfg",
            "x.retry",
        ] {
            assert!(ignored(n), "{n}");
        }
        for n in ["hosts", "prod.yml", "x.ini", "a.json"] {
            assert!(!ignored(n), "{n}");
        }
    }

    #[test]
    fn host_lists() {
        let mut inv = Inventory::empty();
        parse_host_list(&mut inv, "a, b:2222,web[1:2],,");
        inv.reconcile();
        assert_eq!(
            inv.groups["ungrouped"].hosts.iter().collect::<Vec<_>>(),
            vec!["a", "b", "web[1:2]"]
        );
        assert_eq!(inv.hosts["b"].vars["ansible_port"], 2222);
        assert_eq!(
            inv.hosts["a"].vars["inventory_file"],
            "a, b:2222,web[1:2],,"
        );
        assert!(inv.hosts["a"].vars["inventory_dir"].is_null());
    }
}
