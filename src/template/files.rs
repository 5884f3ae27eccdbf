//! Template files rendered the way Ansible's `template` module and lookup render them:
//! `{% include %}`/`{% import %}`/`{% extends %}` find their files in a search path, and the
//! Jinja delimiters and `trim_blocks`/`lstrip_blocks` can be overridden per render.
//!
//! The shared environment's loader treats names as sources (every template string is cached
//! under its own text), so a file render that needs a real loader or other syntax gets an
//! environment of its own.

use super::{build_env, escape, guards_undefined, TemplateError};
use minijinja::syntax::SyntaxConfig;
use minijinja::{Environment, UndefinedBehavior, Value as MjValue};
use std::path::PathBuf;

/// How one template file is rendered; the defaults are Ansible's.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FileOptions {
    /// Where `{% include 'x' %}` looks for `x`, first match wins.
    pub search_path: Vec<PathBuf>,
    pub block: Option<(String, String)>,
    pub variable: Option<(String, String)>,
    pub comment: Option<(String, String)>,
    /// `None`: Ansible's default (true).
    pub trim_blocks: Option<bool>,
    pub lstrip_blocks: Option<bool>,
}

impl FileOptions {
    fn custom_syntax(&self) -> bool {
        self.block.is_some()
            || self.variable.is_some()
            || self.comment.is_some()
            || self.trim_blocks == Some(false)
            || self.lstrip_blocks == Some(true)
    }

    /// Whether `source` can be rendered by the shared environment.
    pub(super) fn plain(&self, source: &str) -> bool {
        !self.custom_syntax() && !loads_templates(source)
    }

    fn syntax(&self) -> Result<SyntaxConfig, TemplateError> {
        let mut b = SyntaxConfig::builder();
        b.trim_blocks(self.trim_blocks.unwrap_or(true))
            .lstrip_blocks(self.lstrip_blocks.unwrap_or(false))
            // Included templates lose their last newline; the top one gets its own back
            // (see `restore_newlines`), as in Ansible.
            .keep_trailing_newline(false);
        if let Some((s, e)) = &self.block {
            b.block_delimiters(s.clone(), e.clone());
        }
        if let Some((s, e)) = &self.variable {
            b.variable_delimiters(s.clone(), e.clone());
        }
        if let Some((s, e)) = &self.comment {
            b.comment_delimiters(s.clone(), e.clone());
        }
        b.build().map_err(|e| TemplateError {
            message: format!("invalid template delimiters: {e}"),
        })
    }

    fn env(&self, behavior: UndefinedBehavior) -> Result<Environment<'static>, TemplateError> {
        let mut env = build_env(behavior);
        env.set_syntax(self.syntax()?);
        let dirs = self.search_path.clone();
        env.set_loader(move |name| {
            let Some(path) = dirs.iter().map(|d| d.join(name)).find(|p| p.is_file()) else {
                return Ok(None);
            };
            let data = crate::vault::read_file(&path).map_err(|e| {
                minijinja::Error::new(minijinja::ErrorKind::TemplateNotFound, e.to_string())
            })?;
            let text = String::from_utf8_lossy(&data);
            Ok(Some(escape::percent_format(&text, false).into_owned()))
        });
        Ok(env)
    }
}

/// A `#jinja2: key: value, ...` first line overrides the options (Ansible's
/// `TemplateOverrides._extract_template_overrides`); returns the text after it.
pub fn apply_header<'a>(source: &'a str, opts: &mut FileOptions) -> Result<&'a str, TemplateError> {
    const HEADER: &str = "#jinja2:";
    let Some(rest) = source.strip_prefix(HEADER) else {
        return Ok(source);
    };
    let bad = |m: String| TemplateError { message: m };
    let Some((line, body)) = rest.split_once('\n') else {
        return Err(bad(format!("Missing newline after '{HEADER}' override.")));
    };
    let mut pending: std::collections::HashMap<&str, String> = Default::default();
    for pair in line.split(',') {
        let (key, val) = pair.split_once(':').ok_or_else(|| {
            bad(format!(
                "Missing key-value separator `:` in '{HEADER}' override pair '{pair}'."
            ))
        })?;
        let key = key.trim();
        let val = crate::inventory::literal::literal_eval(val.trim())
            .ok_or_else(|| bad(format!("Invalid '{HEADER}' override value {val}.")))?;
        match (key, &val) {
            ("trim_blocks", serde_json::Value::Bool(b)) => opts.trim_blocks = Some(*b),
            ("lstrip_blocks", serde_json::Value::Bool(b)) => opts.lstrip_blocks = Some(*b),
            (_, serde_json::Value::String(s)) if key.ends_with("_string") => {
                pending.insert(key, s.clone());
            }
            ("newline_sequence" | "keep_trailing_newline", _) => {}
            _ => return Err(bad(format!("Invalid '{HEADER}' override key '{key}'."))),
        }
    }
    let mut pair = |kind: &str, slot: &mut Option<(String, String)>, ds: &str, de: &str| {
        let start = pending.remove(format!("{kind}_start_string").as_str());
        let end = pending.remove(format!("{kind}_end_string").as_str());
        if start.is_some() || end.is_some() {
            let (cs, ce) = slot.clone().unwrap_or((ds.into(), de.into()));
            *slot = Some((start.unwrap_or(cs), end.unwrap_or(ce)));
        }
    };
    pair("block", &mut opts.block, "{%", "%}");
    pair("variable", &mut opts.variable, "{{", "}}");
    pair("comment", &mut opts.comment, "{#", "#}");
    if let Some(key) = pending.keys().next() {
        return Err(bad(format!("Invalid '{HEADER}' override key '{key}'.")));
    }
    Ok(body)
}

/// Whether a template's text names other templates (statements that use the loader).
fn loads_templates(source: &str) -> bool {
    ["include", "import", "extends", "from"]
        .iter()
        .any(|w| source.contains(w))
}

/// Renders a file's text in an environment built for `opts`; like the shared one, a render
/// stopped by an undefined value that the template guards against is retried leniently.
pub(super) fn render(
    source: &str,
    ctx: &MjValue,
    opts: &FileOptions,
) -> Result<String, TemplateError> {
    let source = escape::percent_format(source, false);
    let env = opts.env(UndefinedBehavior::Strict)?;
    let _disarm = super::vault_filters::disarm_for(&source);
    let (strict, _) = super::nodes::framed(|| env.render_named_str("template", &source, ctx));
    let e = match strict {
        Ok(out) => return Ok(restore_newlines(&source, out)),
        Err(e) => e,
    };
    let undeclared = || {
        env.template_from_named_str("template", &source)
            .map(|t| t.undeclared_variables(false))
            .unwrap_or_default()
    };
    if guards_undefined(&source, &e) {
        let lenient = opts.env(UndefinedBehavior::Chainable)?;
        let (out, _) = super::nodes::framed(|| lenient.render_named_str("template", &source, ctx));
        return out
            .map(|out| restore_newlines(&source, out))
            .map_err(|e2| super::errors::describe_retry_error(&e, &e2, &source, ctx, undeclared));
    }
    Err(super::errors::describe_error_in(
        &e, &source, ctx, undeclared,
    ))
}

/// Ansible's `_post_render_mutation`: the output ends with at least as many newlines as the
/// template's text does.
fn restore_newlines(source: &str, mut out: String) -> String {
    let count = |s: &str| s.len() - s.trim_end_matches('\n').len();
    let missing = count(source).saturating_sub(count(&out));
    out.extend(std::iter::repeat_n('\n', missing));
    out
}
