//! `template`: renders a controller Jinja2 file (found in the role's `templates/` or the
//! playbook dir) with the task's variables, then installs it exactly like `copy`.

use crate::modules::copy::{self, missing_src, InstallOpts};
use crate::modules::remote_file::{Attrs, Kind};
use crate::modules::{ArgKind, ArgSpec, Args, Module, ModuleContext, ModuleError, ModuleResult};
use crate::template::FileOptions;
use std::path::{Path, PathBuf};

pub struct Template;

const OWN_SPEC: &[ArgSpec] = &[
    ArgSpec::new("src", ArgKind::Path).required(),
    ArgSpec::new("dest", ArgKind::Path).required(),
    ArgSpec::new("backup", ArgKind::Bool),
    ArgSpec::new("force", ArgKind::Bool),
    ArgSpec::new("validate", ArgKind::Str),
    ArgSpec::new("follow", ArgKind::Bool),
    ArgSpec::new("newline_sequence", ArgKind::Str).choices(&["\n", "\r", "\r\n"]),
    ArgSpec::new("trim_blocks", ArgKind::Bool),
    ArgSpec::new("lstrip_blocks", ArgKind::Bool),
    ArgSpec::new("block_start_string", ArgKind::Str),
    ArgSpec::new("block_end_string", ArgKind::Str),
    ArgSpec::new("variable_start_string", ArgKind::Str),
    ArgSpec::new("variable_end_string", ArgKind::Str),
    ArgSpec::new("comment_start_string", ArgKind::Str),
    ArgSpec::new("comment_end_string", ArgKind::Str),
    ArgSpec::new("output_encoding", ArgKind::Str),
];

/// Its own arguments and the file attributes.
fn spec() -> &'static [ArgSpec] {
    static CELL: std::sync::OnceLock<Vec<ArgSpec>> = std::sync::OnceLock::new();
    crate::modules::args::joined(OWN_SPEC, &super::FILE_ATTRIBUTES, &CELL)
}

/// Jinja `set` statements for Ansible's template variables, put before the template text
/// on the same line so line numbers in errors stay right.
fn template_vars(src: &str, full: &str, dest: &str, block: (&str, &str)) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".into());
    let lit = |s: &str| serde_json::Value::String(s.to_string()).to_string();
    // Owner and mtime of the template file on the controller, as Ansible exposes them.
    let (uid, mtime) = std::fs::metadata(full)
        .map(|m| {
            use std::os::unix::fs::MetadataExt;
            (m.uid(), m.mtime())
        })
        .unwrap_or((0, 0));
    let owner = user_name(uid).unwrap_or_else(|| uid.to_string());
    let out: String = [
        ("template_host", host.as_str()),
        ("template_path", src),
        ("template_fullpath", full),
        ("template_destpath", dest),
        ("template_uid", owner.as_str()),
    ]
    .iter()
    .map(|(k, v)| format!("set {k} = {}", lit(v)))
    .collect::<Vec<_>>()
    .into_iter()
    // A user's own `ansible_managed` wins over the default.
    .chain([
        "set ansible_managed = ansible_managed | default(\"Ansible managed\")".to_string(),
        format!("set template_mtime = {mtime}"),
        "set template_run_date = now()".to_string(),
    ])
    .map(|stmt| format!("{} {stmt} {}", block.0, block.1))
    .collect();
    out
}

/// The template's Jinja settings; includes are found next to it, then in the task's
/// search path (each `templates/` dir first), as the template action sets Jinja's path.
fn file_options(args: &Args, local: &Path, search: &[PathBuf]) -> FileOptions {
    let pair = |s: &str, e: &str, ds: &str, de: &str| {
        let (start, end) = (args.str(s), args.str(e));
        (start.is_some() || end.is_some()).then(|| {
            (
                start.unwrap_or(ds).to_string(),
                end.unwrap_or(de).to_string(),
            )
        })
    };
    let mut search_path: Vec<PathBuf> = local.parent().map(Path::to_path_buf).into_iter().collect();
    search_path.extend(search.iter().cloned());
    FileOptions {
        search_path,
        block: pair("block_start_string", "block_end_string", "{%", "%}"),
        variable: pair("variable_start_string", "variable_end_string", "{{", "}}"),
        comment: pair("comment_start_string", "comment_end_string", "{#", "#}"),
        trim_blocks: args.bool("trim_blocks"),
        lstrip_blocks: args.bool("lstrip_blocks"),
    }
}

/// The login name of `uid` from /etc/passwd.
fn user_name(uid: u32) -> Option<String> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|l| {
        let mut f = l.split(':');
        let name = f.next()?;
        let id = f.nth(1)?;
        (id.parse::<u32>().ok()? == uid).then(|| name.to_string())
    })
}

impl Module for Template {
    fn name(&self) -> &'static str {
        "template"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        spec()
    }
    fn run(&self, args: &Args, ctx: &mut ModuleContext) -> ModuleResult {
        let src = args.str("src").unwrap_or_default().to_string();
        let dest = args.str("dest").unwrap_or_default().to_string();
        let Some(local) = copy::find_local(ctx, &src) else {
            return Err(ModuleError::msg(missing_src(&src)));
        };
        // A vaulted template is decrypted in memory, as Ansible's template action does.
        let source = crate::vault::read_file(&local)
            .and_then(|b| {
                String::from_utf8(b).map_err(|e| format!("'{}' is not UTF-8: {e}", local.display()))
            })
            .map_err(|e| ModuleError::msg(format!("Could not read template: {e}")))?;
        let full = local.display().to_string();
        let mut opts = file_options(args, &local, &ctx.search_paths);
        let source = crate::template::apply_header(&source, &mut opts)
            .map_err(|e| ModuleError::msg(e.message))?
            .to_string();
        let block = opts
            .block
            .as_ref()
            .map_or(("{%", "%}"), |(s, e)| (s.as_str(), e.as_str()));
        // `{% extends %}` must come first in a template, so no prefix there.
        let text = if source.contains("extends") {
            source
        } else {
            format!("{}{source}", template_vars(&src, &full, &dest, block))
        };
        let mut rendered = ctx
            .eval
            .render_template(&text, &opts)
            .map_err(ModuleError::msg)?;
        if let Some(nl) = args.str("newline_sequence").filter(|n| *n != "\n") {
            rendered = rendered.replace('\n', nl);
        }
        let basename = local
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let opts = InstallOpts {
            attrs: Attrs::from_args(args)?,
            backup: args.bool_or("backup", false),
            force: args.bool_or("force", true),
            validate: args.str("validate"),
            src_label: full.clone(),
            after_header: Some(full),
        };
        let data = rendered.as_bytes();
        let (d, inner) = match copy::query_or_install(ctx, data, &dest, Some(&basename), &opts)? {
            copy::Quick::Done(r) => return r,
            copy::Quick::Stats(b) => *b,
        };
        let (target, cur) = if d.kind == Kind::Dir {
            (
                format!("{}/{basename}", dest.trim_end_matches('/')),
                inner.unwrap_or_default(),
            )
        } else {
            (dest.clone(), d)
        };
        copy::install(ctx, data, &target, &cur, &opts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::util::test_support::{failed, run_with, Opts};
    use serde_json::json;

    #[test]
    fn renders_installs_and_is_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let tdir = dir.path().join("templates");
        std::fs::create_dir(&tdir).unwrap();
        std::fs::write(
            tdir.join("t.j2"),
            "v={{ x + 1 }}\n{% if true %}\nyes\n{% endif %}\npath={{ template_path }}\n",
        )
        .unwrap();
        let dest = dir.path().join("out $(x)");
        let opts = || Opts {
            search: vec![tdir.clone()],
            vars: Some(json!({"x": 1})),
            ..Opts::default()
        };
        let args = json!({"src": "t.j2", "dest": dest.to_str().unwrap(), "mode": "0600"});
        let r = run_with(&Template, args.clone(), opts()).unwrap();
        assert_eq!(r["changed"], json!(true));
        assert_eq!(r["mode"], json!("0600"));
        assert_eq!(
            std::fs::read_to_string(&dest).unwrap(),
            "v=2\nyes\npath=t.j2\n"
        );
        let r = run_with(&Template, args, opts()).unwrap();
        assert_eq!(r["changed"], json!(false));
        let f = failed(run_with(
            &Template,
            json!({"src": "missing.j2", "dest": dest.to_str().unwrap()}),
            opts(),
        ));
        assert!(f["msg"]
            .as_str()
            .unwrap()
            .contains("Could not find or access 'missing.j2'"));
    }

    #[test]
    fn undefined_variable_fails_without_writing() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("t.j2"), "{{ nope }}\n").unwrap();
        let dest = dir.path().join("out");
        let f = failed(run_with(
            &Template,
            json!({"src": "t.j2", "dest": dest.to_str().unwrap()}),
            Opts {
                search: vec![dir.path().to_path_buf()],
                ..Opts::default()
            },
        ));
        assert!(f["msg"].as_str().unwrap().contains("nope"), "{f:?}");
        assert!(!dest.exists());
    }
}
