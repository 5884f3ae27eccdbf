//! Command-line flags, with the names and meanings of ansible-playbook 2.19 (and `ansible` for
//! ad-hoc mode). Values are kept as given; `options::resolve` merges them with `ansible.cfg`.
//!
//! Entry points: `yiqiu-play [OPTIONS] PLAYBOOK...` runs playbooks; `yiqiu-play adhoc PATTERN
//! -m MODULE -a ARGS` runs one module like `ansible`. A second binary (an `ansible`-like name)
//! can call [`parse_adhoc`] directly.

use super::adhoc::AdhocArgs;
use super::inventory_cmd::InventoryArgs;
use clap::{ArgAction, Args, CommandFactory, FromArgMatches, Parser};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Flags shared by playbook and ad-hoc mode (Ansible's inventory, connection, privilege
/// escalation, vault, check and fork options).
#[derive(Args, Clone, Debug, Default, PartialEq)]
pub struct CommonArgs {
    /// Inventory host path or comma-separated host list; may be given several times
    #[arg(short = 'i', long = "inventory", visible_alias = "inventory-file", value_name = "INVENTORY", action = ArgAction::Append)]
    pub inventory: Vec<String>,

    /// Extra variables as key=value or YAML/JSON, or @file; may be given several times
    #[arg(short = 'e', long = "extra-vars", value_name = "EXTRA_VARS", action = ArgAction::Append)]
    pub extra_vars: Vec<String>,

    /// Further limit selected hosts to an additional pattern
    #[arg(short = 'l', long = "limit", value_name = "SUBSET")]
    pub limit: Option<String>,

    /// Number of hosts worked on in parallel
    #[arg(short = 'f', long = "forks", value_name = "FORKS", value_parser = clap::value_parser!(u32).range(1..))]
    pub forks: Option<u32>,

    /// Don't make any changes; try to predict some of the changes that may occur
    #[arg(short = 'C', long = "check")]
    pub check: bool,

    /// Show the differences in changed files; works great with --check
    #[arg(short = 'D', long = "diff")]
    pub diff: bool,

    /// More output; up to -vvvvvv
    #[arg(short = 'v', long = "verbose", action = ArgAction::Count)]
    pub verbose: u8,

    /// Output a list of matching hosts; do not execute anything else
    #[arg(long = "list-hosts")]
    pub list_hosts: bool,

    /// Clear the fact cache for every host in inventory (accepted; there is no fact cache)
    #[arg(long = "flush-cache")]
    pub flush_cache: bool,

    /// Prepend colon-separated path(s) to the module library (accepted, unused)
    #[arg(short = 'M', long = "module-path", value_name = "MODULE_PATH", action = ArgAction::Append)]
    pub module_path: Vec<String>,

    #[command(flatten)]
    pub vault: VaultArgs,

    /// Show version, config file location and exit
    #[arg(long = "version")]
    pub version: bool,

    #[command(flatten)]
    pub connection: ConnectionArgs,

    #[command(flatten)]
    pub privilege: BecomeArgs,
}

/// Ansible's vault options (shared by every command that reads vaulted data).
#[derive(Args, Clone, Debug, Default, PartialEq)]
pub struct VaultArgs {
    /// Vault password file (a file, or an executable that prints the password)
    #[arg(long = "vault-password-file", visible_alias = "vault-pass-file", value_name = "VAULT_PASSWORD_FILES", action = ArgAction::Append)]
    pub vault_password_file: Vec<PathBuf>,

    /// The vault identity to use: [LABEL@]SOURCE, SOURCE a file, an executable or `prompt`
    #[arg(long = "vault-id", value_name = "VAULT_IDS", action = ArgAction::Append)]
    pub vault_id: Vec<String>,

    /// Ask for vault password
    #[arg(
        short = 'J',
        long = "ask-vault-password",
        visible_alias = "ask-vault-pass",
        conflicts_with = "vault_password_file"
    )]
    pub ask_vault_pass: bool,
}

/// Ansible's "Connection Options": as whom and how to connect to hosts.
#[derive(Args, Clone, Debug, Default, PartialEq)]
#[command(next_help_heading = "Connection Options")]
pub struct ConnectionArgs {
    /// Use this file to authenticate the connection
    #[arg(
        long = "private-key",
        visible_alias = "key-file",
        value_name = "PRIVATE_KEY_FILE"
    )]
    pub private_key: Option<PathBuf>,

    /// Connect as this user
    #[arg(short = 'u', long = "user", value_name = "REMOTE_USER")]
    pub user: Option<String>,

    /// Connection type to use (default=ssh)
    #[arg(short = 'c', long = "connection", value_name = "CONNECTION")]
    pub connection: Option<String>,

    /// Override the connection timeout in seconds
    #[arg(short = 'T', long = "timeout", value_name = "TIMEOUT")]
    pub timeout: Option<u64>,

    /// Common arguments to pass to sftp/scp/ssh (e.g. ProxyCommand)
    #[arg(
        long = "ssh-common-args",
        value_name = "SSH_COMMON_ARGS",
        allow_hyphen_values = true
    )]
    pub ssh_common_args: Option<String>,

    /// Extra arguments to pass to sftp only
    #[arg(
        long = "sftp-extra-args",
        value_name = "SFTP_EXTRA_ARGS",
        allow_hyphen_values = true
    )]
    pub sftp_extra_args: Option<String>,

    /// Extra arguments to pass to scp only
    #[arg(
        long = "scp-extra-args",
        value_name = "SCP_EXTRA_ARGS",
        allow_hyphen_values = true
    )]
    pub scp_extra_args: Option<String>,

    /// Extra arguments to pass to ssh only
    #[arg(
        long = "ssh-extra-args",
        value_name = "SSH_EXTRA_ARGS",
        allow_hyphen_values = true
    )]
    pub ssh_extra_args: Option<String>,

    /// Ask for connection password
    #[arg(
        short = 'k',
        long = "ask-pass",
        conflicts_with = "connection_password_file"
    )]
    pub ask_pass: bool,

    /// Connection password file
    #[arg(
        long = "connection-password-file",
        visible_alias = "conn-pass-file",
        value_name = "CONNECTION_PASSWORD_FILE"
    )]
    pub connection_password_file: Option<PathBuf>,
}

/// Ansible's "Privilege Escalation Options".
#[derive(Args, Clone, Debug, Default, PartialEq)]
#[command(next_help_heading = "Privilege Escalation Options")]
pub struct BecomeArgs {
    /// Run operations with become (does not imply password prompting)
    #[arg(short = 'b', long = "become")]
    pub become_enabled: bool,

    /// Privilege escalation method to use (default=sudo)
    #[arg(long = "become-method", value_name = "BECOME_METHOD")]
    pub become_method: Option<String>,

    /// Run operations as this user (default=root)
    #[arg(long = "become-user", value_name = "BECOME_USER")]
    pub become_user: Option<String>,

    /// Ask for privilege escalation password
    #[arg(
        short = 'K',
        long = "ask-become-pass",
        conflicts_with = "become_password_file"
    )]
    pub ask_become_pass: bool,

    /// Become password file
    #[arg(
        long = "become-password-file",
        visible_alias = "become-pass-file",
        value_name = "BECOME_PASSWORD_FILE"
    )]
    pub become_password_file: Option<PathBuf>,
}

/// `yiqiu-play [OPTIONS] PLAYBOOK...`: ansible-playbook's flags plus `--profile`.
#[derive(Parser, Clone, Debug, Default, PartialEq)]
#[command(
    name = "yiqiu-play",
    about = "Runs Ansible playbooks, executing the defined tasks on the targeted hosts.",
    disable_version_flag = true,
    // argparse lets `store` options repeat (last wins); so do we.
    args_override_self = true,
    after_help = "Ad-hoc mode: yiqiu-play adhoc PATTERN -m MODULE -a ARGS (see `yiqiu-play adhoc --help`).\nInventory: yiqiu-play inventory --list | --graph [GROUP] | --host HOST (like ansible-inventory).\nVault: yiqiu-play vault encrypt|decrypt|view|encrypt_string|rekey (like ansible-vault)."
)]
pub struct PlaybookArgs {
    /// Playbook(s)
    #[arg(value_name = "PLAYBOOK", required_unless_present = "version")]
    pub playbooks: Vec<PathBuf>,

    /// Only run plays and tasks tagged with these values; may be given several times
    #[arg(short = 't', long = "tags", value_name = "TAGS", action = ArgAction::Append)]
    pub tags: Vec<String>,

    /// Only run plays and tasks whose tags do not match these values; may be given several times
    #[arg(long = "skip-tags", value_name = "SKIP_TAGS", action = ArgAction::Append)]
    pub skip_tags: Vec<String>,

    /// List all tasks that would be executed
    #[arg(long = "list-tasks")]
    pub list_tasks: bool,

    /// List all available tags
    #[arg(long = "list-tags")]
    pub list_tags: bool,

    /// Perform a syntax check on the playbook, but do not execute it
    #[arg(long = "syntax-check")]
    pub syntax_check: bool,

    /// Start the playbook at the task matching this name
    #[arg(long = "start-at-task", value_name = "START_AT_TASK")]
    pub start_at_task: Option<String>,

    /// One-step-at-a-time: confirm each task before running (not supported; ignored with a warning)
    #[arg(long = "step")]
    pub step: bool,

    /// Run handlers even if a task fails
    #[arg(long = "force-handlers")]
    pub force_handlers: bool,

    /// Show per-task timings at the end of the run (like the profile_tasks callback)
    #[arg(long = "profile")]
    pub profile: bool,

    /// Flags shared with ad-hoc mode (listed last so help headings stay grouped).
    #[command(flatten)]
    pub common: CommonArgs,
}

/// What the command line asks for.
#[derive(Clone, Debug, PartialEq)]
pub enum Invocation {
    Playbook(PlaybookArgs),
    Adhoc(AdhocArgs),
    Inventory(InventoryArgs),
    Topology(super::topology_cmd::TopologyArgs),
    Vault(super::vault_cmd::VaultCmdArgs),
}

/// Parses the whole command line (`argv[0]` included). Ad-hoc mode is chosen when the first
/// argument is `adhoc`, the inventory view when it is `inventory` (so a playbook file
/// literally named `adhoc` or `inventory` needs `./adhoc`).
///
/// Errors are clap's: print with `err.exit()` or `err.print()`; `err.exit_code()` is 2 for
/// usage errors and 0 for `--help`.
pub fn parse_cli(argv: Vec<OsString>) -> Result<Invocation, clap::Error> {
    let bin = argv
        .first()
        .map(program_name)
        .unwrap_or_else(|| "yiqiu-play".into());
    if argv.get(1).is_some_and(|a| a == "adhoc") {
        let mut rest = argv;
        rest.remove(0);
        return parse_adhoc_named(rest, &format!("{bin} adhoc")).map(Invocation::Adhoc);
    }
    if argv.get(1).is_some_and(|a| a == "inventory") {
        let mut rest = argv;
        rest.remove(0);
        let mut cmd = InventoryArgs::command().bin_name(format!("{bin} inventory"));
        let matches = cmd.try_get_matches_from_mut(rest)?;
        return InventoryArgs::from_arg_matches(&matches)
            .map(Invocation::Inventory)
            .map_err(|e| e.format(&mut cmd));
    }
    if argv.get(1).is_some_and(|a| a == "vault") {
        let mut rest = argv;
        rest.remove(0);
        let mut cmd = super::vault_cmd::VaultCmdArgs::command().bin_name(format!("{bin} vault"));
        let matches = cmd.try_get_matches_from_mut(rest)?;
        return super::vault_cmd::VaultCmdArgs::from_arg_matches(&matches)
            .map(Invocation::Vault)
            .map_err(|e| e.format(&mut cmd));
    }
    if argv.get(1).is_some_and(|a| a == "topology") {
        let mut rest = argv;
        rest.remove(1);
        return super::topology_cmd::parse(rest).map(Invocation::Topology);
    }
    PlaybookArgs::try_parse_from(argv).map(Invocation::Playbook)
}

/// Parses an ad-hoc command line whose `argv[0]` is the program (for a dedicated binary).
pub fn parse_adhoc(argv: Vec<OsString>) -> Result<AdhocArgs, clap::Error> {
    let bin = argv
        .first()
        .map(program_name)
        .unwrap_or_else(|| "yiqiu".into());
    parse_adhoc_named(argv, &bin)
}

fn parse_adhoc_named(argv: Vec<OsString>, bin: &str) -> Result<AdhocArgs, clap::Error> {
    let mut cmd = AdhocArgs::command().bin_name(bin.to_string());
    let matches = cmd.try_get_matches_from_mut(argv)?;
    AdhocArgs::from_arg_matches(&matches).map_err(|e| e.format(&mut cmd))
}

fn program_name(arg0: &OsString) -> String {
    Path::new(arg0)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "yiqiu-play".into())
}

/// The `--version` text, shaped like ansible-playbook's.
pub fn version_text(config_file: Option<&Path>) -> String {
    let cfg = config_file
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "None".into());
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "unknown".into());
    format!(
        "yiqiu-play {} (ansible-playbook 2.19 compatible)\n  config file = {cfg}\n  configured module search path = built-in modules only\n  executable location = {exe}\n  python version = not applicable (no Python on the controller or targets)\n  jinja version = minijinja 3.1\n",
        env!("CARGO_PKG_VERSION")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(args: &[&str]) -> Vec<OsString> {
        std::iter::once("yiqiu-play")
            .chain(args.iter().copied())
            .map(OsString::from)
            .collect()
    }

    fn pb(args: &[&str]) -> PlaybookArgs {
        match parse_cli(argv(args)).unwrap() {
            Invocation::Playbook(p) => p,
            other => panic!("expected playbook, got {other:?}"),
        }
    }

    #[test]
    fn playbook_flags() {
        let p = pb(&[
            "-i",
            "hosts",
            "--inventory",
            "h2",
            "--inventory-file",
            "a,b,",
            "-e",
            "x=1",
            "--extra-vars",
            "@v.yml",
            "-t",
            "a,b",
            "--tags",
            "c",
            "--skip-tags",
            "d",
            "-l",
            "web",
            "-f",
            "7",
            "-C",
            "-D",
            "-vvv",
            "--list-hosts",
            "--list-tasks",
            "--list-tags",
            "--syntax-check",
            "--start-at-task",
            "T 1",
            "--step",
            "--flush-cache",
            "--force-handlers",
            "-M",
            "lib",
            "--vault-password-file",
            "pw",
            "--profile",
            "site.yml",
            "other.yml",
        ]);
        assert_eq!(p.common.inventory, ["hosts", "h2", "a,b,"]);
        assert_eq!(p.common.extra_vars, ["x=1", "@v.yml"]);
        assert_eq!(p.tags, ["a,b", "c"]);
        assert_eq!(p.skip_tags, ["d"]);
        assert_eq!(p.common.limit.as_deref(), Some("web"));
        assert_eq!(p.common.forks, Some(7));
        assert!(p.common.check && p.common.diff);
        assert_eq!(p.common.verbose, 3);
        assert!(p.common.list_hosts && p.list_tasks && p.list_tags && p.syntax_check);
        assert_eq!(p.start_at_task.as_deref(), Some("T 1"));
        assert!(p.step && p.common.flush_cache && p.force_handlers && p.profile);
        assert_eq!(p.common.module_path, ["lib"]);
        assert_eq!(p.common.vault.vault_password_file, [PathBuf::from("pw")]);
        assert_eq!(
            p.playbooks,
            [PathBuf::from("site.yml"), PathBuf::from("other.yml")]
        );
    }

    #[test]
    fn connection_and_become_flags() {
        let p = pb(&[
            "-u",
            "bob",
            "-c",
            "local",
            "--private-key",
            "k",
            "-T",
            "30",
            "-b",
            "--become-method",
            "su",
            "--become-user",
            "admin",
            "-K",
            "-k",
            "--ssh-extra-args",
            "-o X=1",
            "p.yml",
        ]);
        let c = &p.common.connection;
        assert_eq!(c.user.as_deref(), Some("bob"));
        assert_eq!(c.connection.as_deref(), Some("local"));
        assert_eq!(c.private_key, Some(PathBuf::from("k")));
        assert_eq!(c.timeout, Some(30));
        assert!(c.ask_pass);
        assert_eq!(c.ssh_extra_args.as_deref(), Some("-o X=1"));
        let b = &p.common.privilege;
        assert!(b.become_enabled && b.ask_become_pass);
        assert_eq!(b.become_method.as_deref(), Some("su"));
        assert_eq!(b.become_user.as_deref(), Some("admin"));
        let p = pb(&["--key-file", "k2", "--verbose", "-vv", "p.yml"]);
        assert_eq!(p.common.connection.private_key, Some(PathBuf::from("k2")));
        assert_eq!(p.common.verbose, 3);
    }

    #[test]
    fn repeated_single_value_options_last_wins() {
        let p = pb(&[
            "-l", "a", "-l", "b", "-u", "x", "-u", "y", "-C", "-C", "-vv", "-v", "p.yml",
        ]);
        assert_eq!(p.common.limit.as_deref(), Some("b"));
        assert_eq!(p.common.connection.user.as_deref(), Some("y"));
        assert!(p.common.check);
        assert_eq!(p.common.verbose, 3);
        assert_eq!(
            pb(&["-i", "a", "-i", "b", "p.yml"]).common.inventory,
            ["a", "b"]
        );
    }

    #[test]
    fn six_vs_and_defaults() {
        let p = pb(&["-vvvvvv", "p.yml"]);
        assert_eq!(p.common.verbose, 6);
        let p = pb(&["p.yml"]);
        assert_eq!(p.common.forks, None);
        assert!(!p.common.check && !p.common.privilege.become_enabled);
        assert!(p.tags.is_empty());
    }

    #[test]
    fn usage_errors_exit_2() {
        for bad in [
            vec!["--no-such-flag", "p.yml"],
            vec![],
            vec!["-f", "0", "p.yml"],
            vec!["-f", "many", "p.yml"],
            vec!["-T", "soon", "p.yml"],
            vec!["-k", "--conn-pass-file", "x", "p.yml"],
            vec!["-K", "--become-pass-file", "x", "p.yml"],
            vec!["-i"],
        ] {
            let err = parse_cli(argv(&bad)).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{bad:?}: {err}");
            assert!(err.render().to_string().contains("error:"), "{bad:?}");
        }
        let err = parse_cli(argv(&["--no-such-flag", "p.yml"])).unwrap_err();
        assert!(err.render().to_string().contains("Usage: yiqiu-play"));
    }

    #[test]
    fn help_exits_0() {
        let err = parse_cli(argv(&["--help"])).unwrap_err();
        assert_eq!(err.exit_code(), 0);
        assert!(err.render().to_string().contains("--skip-tags"));
    }

    #[test]
    fn version_without_playbook() {
        let p = pb(&["--version"]);
        assert!(p.common.version);
        let text = version_text(Some(Path::new("/x/ansible.cfg")));
        assert!(text.starts_with("yiqiu-play 0.1.0 (ansible-playbook 2.19 compatible)\n"));
        assert!(text.contains("  config file = /x/ansible.cfg\n"));
        assert!(version_text(None).contains("  config file = None\n"));
    }

    #[test]
    fn adhoc_is_chosen_by_first_word() {
        match parse_cli(argv(&["adhoc", "web", "-m", "ping"])).unwrap() {
            Invocation::Adhoc(a) => {
                assert_eq!(a.pattern, "web");
                assert_eq!(a.module_name, "ping");
            }
            other => panic!("{other:?}"),
        }
        // A later "adhoc" is a playbook name.
        let p = pb(&["-C", "adhoc"]);
        assert_eq!(p.playbooks, [PathBuf::from("adhoc")]);
    }

    #[test]
    fn inventory_is_chosen_by_first_word() {
        match parse_cli(argv(&["inventory", "-i", "h", "--graph", "web"])).unwrap() {
            Invocation::Inventory(a) => {
                assert!(a.graph && !a.list);
                assert_eq!(a.group.as_deref(), Some("web"));
                assert_eq!(a.inventory, ["h"]);
            }
            other => panic!("{other:?}"),
        }
        let err = parse_cli(argv(&["inventory", "--yaml"])).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.render().to_string().contains("yiqiu-play inventory"));
    }

    #[test]
    fn adhoc_usage_error_names_subcommand() {
        let err = parse_cli(argv(&["adhoc", "--bogus"])).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.render().to_string().contains("yiqiu-play adhoc"));
    }
}
