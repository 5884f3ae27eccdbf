//! Plugins shipped beside playbooks and roles (`library/`, `action_plugins/`). This finds the
//! file a task's unknown module name refers to: a non-Python module runs
//! (`modules::commands::library_module`); yiqiu-play does not run Python, and the error
//! says what was found and why it does not run.

use std::path::{Path, PathBuf};

/// The plugin file for module `name` in the `library/` and `action_plugins/` dirs of the
/// given bases (the task's role first, then the playbook dir), as Ansible would find it.
pub fn find_module_file(name: &str, bases: &[&Path]) -> Option<PathBuf> {
    for base in bases {
        for sub in ["library", "action_plugins"] {
            let dir = base.join(sub);
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            let mut found: Vec<PathBuf> = entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.is_file())
                .filter(|p| {
                    p.file_name().and_then(|f| f.to_str()) == Some(name)
                        || p.file_stem().and_then(|f| f.to_str()) == Some(name)
                })
                .collect();
            found.sort();
            if let Some(p) = found.into_iter().next() {
                return Some(p);
            }
        }
    }
    None
}

/// Whether a plugin file is Python: a `.py` name or a python shebang.
pub fn is_python(path: &Path) -> bool {
    if path.extension().is_some_and(|e| e == "py") {
        return true;
    }
    let head = std::fs::read(path).unwrap_or_default();
    let first = head.split(|b| *b == b'\n').next().unwrap_or_default();
    first.starts_with(b"#!") && String::from_utf8_lossy(first).contains("python")
}

/// The error for a task whose module is a Python plugin file (other library/ modules run).
pub fn unsupported_message(action: &str, path: &Path) -> String {
    format!(
        "the module/action '{action}' is a Python plugin ({}): Python plugins are not supported by yiqiu-play",
        path.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_library_and_action_plugins_by_stem() {
        let d = tempfile::tempdir().unwrap();
        let role = d.path().join("role");
        std::fs::create_dir_all(role.join("action_plugins")).unwrap();
        std::fs::create_dir_all(d.path().join("library")).unwrap();
        std::fs::write(role.join("action_plugins/act.py"), "x = 1\n").unwrap();
        std::fs::write(d.path().join("library/hello.sh"), "#!/bin/sh\necho {}\n").unwrap();
        std::fs::write(
            d.path().join("library/emb"),
            "#!/usr/bin/python\nprint(1)\n",
        )
        .unwrap();
        let bases = [role.as_path(), d.path()];
        let act = find_module_file("act", &bases).unwrap();
        assert!(is_python(&act));
        let hello = find_module_file("hello", &bases).unwrap();
        assert!(!is_python(&hello));
        assert!(is_python(&find_module_file("emb", &bases).unwrap()));
        assert!(find_module_file("nope", &bases).is_none());
        assert!(unsupported_message("act", &act).contains("Python plugins are not supported"));
    }
}
