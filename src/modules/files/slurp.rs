//! `slurp`: a remote file's content, base64-encoded.

use crate::modules::remote_file::{self, Kind};
use crate::modules::util::map;
use crate::modules::{ArgKind, ArgSpec, Args, Module, ModuleContext, ModuleError, ModuleResult};
use base64::Engine;
use serde_json::Value;

pub struct Slurp;

const SPEC: &[ArgSpec] = &[ArgSpec::new("src", ArgKind::Path)
    .required()
    .aliases(&["path"])];

/// Reads `src` after one stat (for Ansible's messages on missing files and directories).
pub fn slurp(ctx: &mut ModuleContext, src: &str) -> Result<Vec<u8>, ModuleError> {
    let st = remote_file::stat(ctx, src, true, None)?;
    match st.kind {
        Kind::Absent => Err(ModuleError::msg(format!("File not found: {src}"))),
        Kind::Dir => Err(ModuleError::msg(format!(
            "Source is a directory and must be a file: {src}"
        ))),
        _ if !st.readable => Err(ModuleError::msg(format!("File is not readable: {src}"))),
        _ => remote_file::read(ctx, src),
    }
}

impl Module for Slurp {
    fn name(&self) -> &'static str {
        "slurp"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        SPEC
    }
    fn run(&self, args: &Args, ctx: &mut ModuleContext) -> ModuleResult {
        let src = args.str("src").unwrap_or_default().to_string();
        let data = slurp(ctx, &src)?;
        Ok(map([
            ("changed", Value::Bool(false)),
            (
                "content",
                Value::String(base64::engine::general_purpose::STANDARD.encode(data)),
            ),
            ("encoding", Value::String("base64".into())),
            ("source", Value::String(src)),
        ]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::util::test_support::{failed, run};
    use serde_json::json;

    #[test]
    fn reads_base64_and_reports_missing() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("s $(x) 'y'");
        std::fs::write(&f, "a\nb\n").unwrap();
        let r = run(&Slurp, json!({"src": f.to_str().unwrap()})).unwrap();
        assert_eq!(r["content"], json!("YQpiCg=="));
        assert_eq!(r["encoding"], json!("base64"));
        assert_eq!(r["source"], json!(f.to_str().unwrap()));
        assert_eq!(r["changed"], json!(false));
        let missing = dir.path().join("nope");
        let e = failed(run(&Slurp, json!({"path": missing.to_str().unwrap()})));
        assert_eq!(
            e["msg"],
            json!(format!("File not found: {}", missing.display()))
        );
        let e = failed(run(&Slurp, json!({"src": dir.path().to_str().unwrap()})));
        assert!(e["msg"]
            .as_str()
            .unwrap()
            .starts_with("Source is a directory"));
    }
}
