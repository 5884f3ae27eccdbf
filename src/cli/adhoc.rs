//! Ad-hoc mode, like the `ansible` command: run one module against a host pattern.

use super::args::CommonArgs;
use crate::error::{Error, Result};
use clap::Parser;
use serde_json::{Map, Value};

/// `yiqiu-play adhoc PATTERN [-m MODULE] [-a ARGS] ...`, with the flags of `ansible` 2.19.
#[derive(Parser, Clone, Debug, Default, PartialEq)]
#[command(
    name = "yiqiu-play adhoc",
    about = "Define and run a single task 'playbook' against a set of hosts",
    disable_version_flag = true,
    args_override_self = true
)]
pub struct AdhocArgs {
    /// Host pattern
    #[arg(
        value_name = "pattern",
        required_unless_present = "version",
        default_value = "",
        hide_default_value = true
    )]
    pub pattern: String,

    /// Name of the action to execute
    #[arg(
        short = 'm',
        long = "module-name",
        value_name = "MODULE_NAME",
        default_value = "command"
    )]
    pub module_name: String,

    /// The action's options as space-separated k=v or a JSON string
    #[arg(
        short = 'a',
        long = "args",
        value_name = "MODULE_ARGS",
        allow_hyphen_values = true
    )]
    pub module_args: Option<String>,

    /// Condense output
    #[arg(short = 'o', long = "one-line")]
    pub one_line: bool,

    /// Log output to this directory (accepted, unused)
    #[arg(short = 't', long = "tree", value_name = "TREE")]
    pub tree: Option<String>,

    /// Run asynchronously, failing after this many seconds
    #[arg(short = 'B', long = "background", value_name = "SECONDS")]
    pub background: Option<u64>,

    /// Poll interval when using -B (default=15)
    #[arg(short = 'P', long = "poll", value_name = "POLL_INTERVAL")]
    pub poll: Option<u64>,

    /// Use this as the playbook directory (for roles/, group_vars/ and relative paths)
    #[arg(long = "playbook-dir", value_name = "BASEDIR")]
    pub playbook_dir: Option<std::path::PathBuf>,

    /// Task timeout limit in seconds
    #[arg(long = "task-timeout", value_name = "TASK_TIMEOUT")]
    pub task_timeout: Option<u64>,

    /// Flags shared with ad-hoc mode (listed last so help headings stay grouped).
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Turns `-a` into module arguments the way `ansible` does: a string starting with `{` is
/// YAML/JSON and must be a mapping; anything else is `k=v` words, with the rest kept as
/// `_raw_params` (free-form, for command/shell).
pub fn parse_module_args(text: &str) -> Result<Map<String, Value>> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') {
        let node = crate::yaml::load_str(trimmed, "<CLI option '-a'>")?;
        return match node.to_json() {
            Value::Object(map) => Ok(map),
            _ => Err(Error::cli(format!(
                "The module args '{text}' could not be made into a dictionary"
            ))),
        };
    }
    crate::playbook::kv::parse_kv(text)
        .map_err(|e| Error::cli(format!("Invalid module args '{text}': {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::args::{parse_cli, Invocation};
    use std::ffi::OsString;

    fn adhoc(args: &[&str]) -> AdhocArgs {
        let argv: Vec<OsString> = ["yiqiu-play", "adhoc"]
            .iter()
            .chain(args)
            .map(OsString::from)
            .collect();
        match parse_cli(argv).unwrap() {
            Invocation::Adhoc(a) => a,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn adhoc_flags() {
        let a = adhoc(&[
            "all",
            "-m",
            "shell",
            "-a",
            "ls -la /tmp",
            "-i",
            "h,",
            "-e",
            "x=1",
            "-b",
            "-f",
            "3",
            "-C",
            "-vv",
            "-o",
            "-u",
            "me",
            "-c",
            "local",
            "-l",
            "web",
        ]);
        assert_eq!(a.pattern, "all");
        assert_eq!(a.module_name, "shell");
        assert_eq!(a.module_args.as_deref(), Some("ls -la /tmp"));
        assert_eq!(a.common.inventory, ["h,"]);
        assert_eq!(a.common.extra_vars, ["x=1"]);
        assert!(a.common.privilege.become_enabled && a.common.check && a.one_line);
        assert_eq!(a.common.forks, Some(3));
        assert_eq!(a.common.verbose, 2);
        assert_eq!(a.common.connection.user.as_deref(), Some("me"));
        assert_eq!(a.common.limit.as_deref(), Some("web"));
        let a = adhoc(&["web", "--one-line", "--args", "-x"]);
        assert_eq!(a.module_name, "command");
        assert!(a.one_line);
        assert_eq!(a.module_args.as_deref(), Some("-x"));
    }

    #[test]
    fn adhoc_needs_a_pattern() {
        let argv: Vec<OsString> = ["yiqiu-play", "adhoc", "-m", "ping"]
            .iter()
            .map(OsString::from)
            .collect();
        assert_eq!(parse_cli(argv).unwrap_err().exit_code(), 2);
    }

    #[test]
    fn adhoc_version_needs_no_pattern() {
        let a = adhoc(&["--version"]);
        assert!(a.common.version);
        assert_eq!(a.pattern, "");
    }

    #[test]
    fn module_args_forms() {
        let m = parse_module_args("src=a dest='b c'").unwrap();
        assert_eq!(m["src"], "a");
        assert_eq!(m["dest"], "b c");
        let m = parse_module_args("echo hi chdir=/tmp").unwrap();
        assert_eq!(m["_raw_params"], "echo hi");
        assert_eq!(m["chdir"], "/tmp");
        let m = parse_module_args(r#"{"path": "/x", "mode": 420}"#).unwrap();
        assert_eq!(m["mode"], 420);
        assert!(parse_module_args("{a: [1").is_err());
        assert!(parse_module_args("msg='open").is_err());
    }
}
