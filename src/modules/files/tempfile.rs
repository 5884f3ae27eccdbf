//! `tempfile`: creates a temporary file or directory on the host with `mktemp`.
//!
//! Like Ansible, the name is `<prefix>XXXXXXXX<suffix>` in `path` (default: `$TMPDIR` or
//! `/tmp`), and the task always reports `changed`. `mktemp` has no portable suffix option,
//! so the script retries a random name with `mkdir`/`set -C` (noclobber) create-if-absent,
//! which is as race-free as mktemp.

use crate::connection::quote;
use crate::modules::util::{self, map};
use crate::modules::{ArgKind, ArgSpec, Args, Module, ModuleContext, ModuleError, ModuleResult};
use serde_json::Value;

pub struct Tempfile;

const SPEC: &[ArgSpec] = &[
    ArgSpec::new("state", ArgKind::Str).choices(&["file", "directory"]),
    ArgSpec::new("path", ArgKind::Path),
    ArgSpec::new("prefix", ArgKind::Str),
    ArgSpec::new("suffix", ArgKind::Str),
];

/// A random 8-character name part, like Python's `tempfile` names.
fn random_part() -> String {
    use rand::Rng;
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789_";
    let mut rng = rand::rng();
    (0..8)
        .map(|_| CHARS[rng.random_range(0..CHARS.len())] as char)
        .collect()
}

impl Module for Tempfile {
    fn name(&self) -> &'static str {
        "tempfile"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        SPEC
    }
    fn run(&self, args: &Args, ctx: &mut ModuleContext) -> ModuleResult {
        if ctx.check_mode {
            return Ok(util::check_mode_unsupported("tempfile"));
        }
        let state = args.str("state").unwrap_or("file");
        let prefix = args.str("prefix").unwrap_or("ansible.");
        let suffix = args.str("suffix").unwrap_or("");
        for (what, v) in [("prefix", prefix), ("suffix", suffix)] {
            if v.contains('/') {
                return Err(ModuleError::msg(format!(
                    "{what} must be a valid file name component, got '{v}'"
                )));
            }
        }
        let dir = match args.str("path") {
            Some(p) => util::shell_path(p),
            None => "\"${TMPDIR:-/tmp}\"".to_string(),
        };
        // Several candidate names in one round trip; the first one created wins.
        let names: Vec<String> = (0..8)
            .map(|_| quote(&format!("{prefix}{}{suffix}", random_part())))
            .collect();
        let create = if state == "directory" {
            "mkdir -m 700 \"$__yq_p\" 2>/dev/null"
        } else {
            "( umask 077; set -C; : > \"$__yq_p\" ) 2>/dev/null"
        };
        let script = format!(
            "__yq_d={dir}\n[ -d \"$__yq_d\" ] || {{ echo \"No such directory: $__yq_d\" >&2; exit 2; }}\n\
             for __yq_n in {names}; do\n  __yq_p=\"${{__yq_d%/}}/$__yq_n\"\n  if {create}; then\n    \
             printf '%s\\n' \"$__yq_p\"; {attrs}; exit 0\n  fi\ndone\n\
             echo \"could not create a temporary {state} in $__yq_d\" >&2; exit 1\n",
            names = names.join(" "),
            attrs = util::attrs_script("\"$__yq_p\""),
        );
        let out = util::exec_script(ctx, script)?;
        let stdout = util::text(&out.stdout);
        if out.rc != 0 {
            return Err(ModuleError::msg(format!(
                "Failed to create temporary {state}: {}",
                util::text(&out.stderr).trim()
            )));
        }
        let mut lines = stdout.lines();
        let path = lines.next().unwrap_or_default().to_string();
        let mut res = map([("changed", Value::Bool(true))]);
        if let Some(attrs) = lines.next().and_then(util::parse_attrs) {
            res.extend(attrs);
        }
        res.insert("path".into(), Value::String(path));
        res.insert("state".into(), Value::String(state.into()));
        res.sort_keys();
        Ok(res)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::util::test_support::{failed, run};
    use serde_json::json;

    #[test]
    fn creates_file_and_directory_with_prefix_and_suffix() {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().to_str().unwrap();
        let r = run(
            &Tempfile,
            json!({"path": dir, "prefix": "it's ", "suffix": ".x"}),
        )
        .unwrap();
        let p = r["path"].as_str().unwrap();
        assert!(
            p.starts_with(&format!("{dir}/it's ")) && p.ends_with(".x"),
            "{p}"
        );
        assert!(std::path::Path::new(p).is_file());
        assert_eq!(r["state"], json!("file"));
        assert_eq!(r["mode"], json!("0600"));
        assert_eq!(r["size"], json!(0));
        assert_eq!(r["changed"], json!(true));

        let r = run(&Tempfile, json!({"path": dir, "state": "directory"})).unwrap();
        let p = r["path"].as_str().unwrap();
        assert!(std::path::Path::new(p).is_dir(), "{p}");
        assert!(p.contains("/ansible."), "{p}");
        assert_eq!(r["state"], json!("directory"));
        assert_eq!(r["mode"], json!("0700"));
    }

    #[test]
    fn check_mode_is_skipped_and_separators_refused() {
        use crate::modules::util::test_support::{run_with, Opts};
        let t = tempfile::tempdir().unwrap();
        let opts = Opts {
            check: true,
            ..Opts::default()
        };
        let r = run_with(&Tempfile, json!({"path": t.path().to_str().unwrap()}), opts).unwrap();
        assert_eq!(r["skipped"], json!(true));
        assert_eq!(std::fs::read_dir(t.path()).unwrap().count(), 0);
        let m = failed(run(&Tempfile, json!({"prefix": "../x"})));
        assert_eq!(
            m["msg"],
            json!("prefix must be a valid file name component, got '../x'")
        );
    }

    #[test]
    fn missing_directory_fails() {
        let m = failed(run(&Tempfile, json!({"path": "/nonexistent/yq"})));
        assert!(
            m["msg"].as_str().unwrap().contains("/nonexistent/yq"),
            "{m:?}"
        );
    }
}
