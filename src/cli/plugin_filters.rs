//! `plugin_filters_cfg` (default `/etc/ansible/plugin_filters.yml`): a YAML file whose
//! `module_rejectlist` names modules the run must not know, read as ansible-core's
//! `_load_plugin_filter` reads it. A rejected module is "couldn't resolve module/action";
//! `stat` may not be rejected.

use crate::error::{Error, Result};
use crate::yaml::NodeValue;
use std::collections::HashSet;
use std::path::Path;

const DEFAULT_FILE: &str = "/etc/ansible/plugin_filters.yml";

/// The reject list of `configured` (or the default file), with the warnings Ansible prints
/// for a file it skips.
pub fn load(configured: Option<&Path>) -> Result<(HashSet<String>, Vec<String>)> {
    let path = configured.unwrap_or(Path::new(DEFAULT_FILE));
    let shown = path.display();
    let mut warnings = Vec::new();
    if !path.exists() {
        if configured.is_some() {
            warnings.push(format!(
                "The plugin filter file, {shown} does not exist. Skipping."
            ));
        }
        return Ok((HashSet::new(), warnings));
    }
    let doc = match crate::yaml::load_file(path) {
        Ok(d) => d,
        Err(e) => {
            warnings.push(format!(
                "The plugin filter file, {shown} was not parsable. Skipping: {}",
                e.message
            ));
            return Ok((HashSet::new(), warnings));
        }
    };
    let Some(version) = doc.get("filter_version") else {
        warnings.push(format!(
            "The plugin filter file, {shown} was invalid. Skipping."
        ));
        return Ok((HashSet::new(), warnings));
    };
    let version = crate::template::pyfmt::to_str(&version.to_json());
    if version.trim() != "1.0" {
        warnings.push(format!(
            "The plugin filter file, {shown} was a version not recognized by this version of Ansible. Skipping."
        ));
        return Ok((HashSet::new(), warnings));
    }
    let names: HashSet<String> = match doc.get("module_rejectlist").map(|n| &n.value) {
        Some(NodeValue::Seq(items)) => items.iter().map(|i| i.key_string()).collect(),
        // `module_rejectlist:` left empty: frozenset(None) fails in Ansible too.
        _ => {
            warnings.push(format!(
                "Unable to parse the plugin filter file {shown} as module_rejectlist is not a list. Skipping."
            ));
            return Ok((HashSet::new(), warnings));
        }
    };
    if names.contains("stat") {
        return Err(Error::other(format!(
            "The stat module was specified in the module reject list file, {shown}, but Ansible will not function without the stat module.  Please remove stat from the reject list."
        )));
    }
    Ok((names, warnings))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> tempfile::NamedTempFile {
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), text).unwrap();
        f
    }

    #[test]
    fn reads_the_reject_list_and_refuses_stat() {
        let f = file("filter_version: 1.0\nmodule_rejectlist:\n  - copy\n  - pause\n");
        let (names, warnings) = load(Some(f.path())).unwrap();
        assert!(names.contains("copy") && names.contains("pause"));
        assert!(warnings.is_empty());
        let f = file("filter_version: '1.0'\nmodule_rejectlist: [stat]\n");
        let e = load(Some(f.path())).unwrap_err();
        assert!(e
            .message
            .contains("Ansible will not function without the stat module"));
        let f = file("filter_version: 1.0\nmodule_rejectlist:\n");
        let (names, warnings) = load(Some(f.path())).unwrap();
        assert!(names.is_empty());
        assert!(warnings[0].contains("is not a list"), "{warnings:?}");
        let (_, warnings) = load(Some(Path::new("/nonexistent/f.yml"))).unwrap();
        assert!(warnings[0].contains("does not exist. Skipping."));
    }
}
