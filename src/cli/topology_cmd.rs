//! `yiqiu-play topology PLAYBOOK [playbook flags] [--format text|dot] [-o FILE]`: the services,
//! units and relations the playbook's `yiqiu_services` tasks declare, as text or Graphviz DOT
//! (an SVG when FILE ends in `.svg` and `dot` is installed). The playbook runs in check mode
//! with no output, so templated arguments and inventory variables resolve as in a real run.

use super::args::PlaybookArgs;
use super::options::Options;
use crate::error::{Error, Result};
use clap::Parser;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, PartialEq)]
pub struct TopologyArgs {
    pub playbook: PlaybookArgs,
    pub format: String,
    pub output: Option<PathBuf>,
}

/// Takes `--format` and `-o/--output` out, the rest is the playbook command line.
pub fn parse(argv: Vec<OsString>) -> std::result::Result<TopologyArgs, clap::Error> {
    let mut rest = Vec::new();
    let mut format = "text".to_string();
    let mut output = None;
    let mut it = argv.into_iter();
    while let Some(a) = it.next() {
        let s = a.to_string_lossy().into_owned();
        if let Some(v) = s.strip_prefix("--format=") {
            format = v.into();
        } else if s == "--format" {
            format = it
                .next()
                .map(|v| v.to_string_lossy().into_owned())
                .unwrap_or_default();
        } else if s == "-o" || s == "--output" {
            output = it.next().map(PathBuf::from);
        } else {
            rest.push(a);
        }
    }
    if !["text", "dot"].contains(&format.as_str()) {
        return Err(clap::Error::raw(
            clap::error::ErrorKind::InvalidValue,
            format!("--format {format:?}: expected text or dot\n"),
        ));
    }
    Ok(TopologyArgs {
        playbook: PlaybookArgs::try_parse_from(rest)?,
        format,
        output,
    })
}

pub fn run_topology(args: &TopologyArgs, mut opts: Options, cwd: &Path) -> Result<i32> {
    opts.check = true;
    crate::service::graph::start_capture();
    let quiet = crate::output::json::JsonCallback::new(Box::new(std::io::sink()));
    let code = super::run::run_playbook_with(&opts, cwd, Some(Box::new(quiet)))?;
    let topologies = crate::service::graph::captured();
    if topologies.is_empty() {
        return Err(Error::other(
            "the playbook has no yiqiu_services task that ran (check its hosts and --limit)",
        ));
    }
    let text: String = topologies
        .iter()
        .map(|t| match args.format.as_str() {
            "dot" => crate::service::graph::dot(t),
            _ => crate::service::graph::text(t),
        })
        .collect();
    match &args.output {
        None => super::print::stdout(&text),
        Some(path) => write_output(path, &text)?,
    }
    Ok(code)
}

fn write_output(path: &Path, text: &str) -> Result<()> {
    let svg = path.extension().is_some_and(|e| e == "svg");
    if !svg {
        return std::fs::write(path, text)
            .map_err(|e| Error::other(format!("writing {}: {e}", path.display())));
    }
    let dot = if text.starts_with("digraph") {
        text.to_string()
    } else {
        String::new()
    };
    if dot.is_empty() {
        return Err(Error::other("an .svg output needs --format dot"));
    }
    let mut child = std::process::Command::new("dot")
        .args(["-Tsvg", "-o"])
        .arg(path)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| {
            Error::other(format!(
                "running Graphviz `dot` for {}: {e} (install graphviz, or write .dot)",
                path.display()
            ))
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        use std::io::Write;
        stdin
            .write_all(dot.as_bytes())
            .map_err(|e| Error::other(format!("feeding dot: {e}")))?;
    }
    let status = child
        .wait()
        .map_err(|e| Error::other(format!("dot: {e}")))?;
    if !status.success() {
        return Err(Error::other(format!("dot failed ({status})")));
    }
    Ok(())
}
