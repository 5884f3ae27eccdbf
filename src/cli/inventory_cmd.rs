//! `yiqiu-play inventory --list | --graph [GROUP] | --host HOST`: the inventory as
//! `ansible-inventory` 2.19 prints it (same JSON, same graph, same errors and exit codes).

use super::args::CommonArgs;
use super::{load_extra_vars, Config};
use crate::error::{Error, Result};
use crate::inventory::{Inventory, ViewVars, LOCALHOST_NAMES};
use crate::output::pyjson::{self, DumpOptions};
use clap::{ArgAction, Parser};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The flags of `ansible-inventory` that matter for its three actions.
#[derive(Parser, Clone, Debug, Default, PartialEq)]
#[command(
    name = "yiqiu-play inventory",
    about = "Show the inventory as Ansible sees it (like ansible-inventory)",
    disable_version_flag = true,
    args_override_self = true
)]
pub struct InventoryArgs {
    /// The name of a group in the inventory, relevant when using --graph
    #[arg(value_name = "group")]
    pub group: Option<String>,

    /// Output all hosts info, works as inventory script
    #[arg(long = "list")]
    pub list: bool,

    /// Output specific host info, works as inventory script. It will ignore limit
    #[arg(long = "host", value_name = "HOST")]
    pub host: Option<String>,

    /// Create inventory graph, if supplying pattern it must be a valid group name. It will ignore limit
    #[arg(long = "graph")]
    pub graph: bool,

    /// Add vars to graph display, ignored unless used with --graph
    #[arg(long = "vars")]
    pub show_vars: bool,

    /// When doing --list, represent in a way that is optimized for export, not as an
    /// accurate representation of how Ansible has processed it
    #[arg(long = "export")]
    pub export: bool,

    /// When doing --list, send the inventory to a file instead of to the screen
    #[arg(long = "output", value_name = "OUTPUT_FILE")]
    pub output: Option<PathBuf>,

    /// Use this as the playbook directory (its group_vars/ and host_vars/ are read too)
    #[arg(long = "playbook-dir", value_name = "BASEDIR")]
    pub playbook_dir: Option<PathBuf>,

    /// Inventory host path or comma-separated host list; may be given several times
    #[arg(short = 'i', long = "inventory", visible_alias = "inventory-file", value_name = "INVENTORY", action = ArgAction::Append)]
    pub inventory: Vec<String>,

    /// Further limit selected hosts to an additional pattern
    #[arg(short = 'l', long = "limit", value_name = "SUBSET")]
    pub limit: Option<String>,

    /// Extra variables as key=value or YAML/JSON, or @file; may be given several times
    #[arg(short = 'e', long = "extra-vars", value_name = "EXTRA_VARS", action = ArgAction::Append)]
    pub extra_vars: Vec<String>,

    #[command(flatten)]
    pub vault: super::args::VaultArgs,

    /// More output; up to -vvvvvv (accepted)
    #[arg(short = 'v', long = "verbose", action = ArgAction::Count)]
    pub verbose: u8,
}

/// One action, or Ansible's options error (exit 5).
enum Action {
    List,
    Graph,
    Host(String),
}

fn action(args: &InventoryArgs) -> Result<Action> {
    let used = [args.list, args.graph, args.host.is_some()]
        .iter()
        .filter(|x| **x)
        .count();
    match (used, &args.host) {
        (0, _) => Err(Error::options(
            "No action selected, at least one of --host, --graph or --list needs to be specified.",
        )),
        (1, Some(h)) => Ok(Action::Host(h.clone())),
        (1, None) if args.list => Ok(Action::List),
        (1, None) => Ok(Action::Graph),
        _ => Err(Error::options(
            "Conflicting options used, only one of --host, --graph or --list can be used at the same time.",
        )),
    }
}

/// Runs the subcommand; returns the exit code.
pub fn run_inventory(args: &InventoryArgs, cfg: &Config, cwd: &Path) -> Result<i32> {
    let action = action(args)?;
    let common = CommonArgs {
        inventory: args.inventory.clone(),
        limit: args.limit.clone(),
        ..CommonArgs::default()
    };
    let opts = super::options::resolve_sources(&common, cfg);
    let sources: Vec<PathBuf> = opts.inventory.iter().map(PathBuf::from).collect();
    let inv = super::run::load_inventory_with(
        &sources,
        cfg.inventory_unparsed,
        &cfg.inventory_settings,
        cfg.verbosity,
    )?;
    let extra_vars = load_extra_vars(&args.extra_vars, cwd)?;
    let playbook_dir = args.playbook_dir.as_ref().map(|p| cwd.join(p));
    let vars = ViewVars {
        export: args.export,
        playbook_dir: playbook_dir.as_deref(),
        extra_vars: &extra_vars,
    };
    let text = match action {
        Action::Host(h) => dumps(&Value::Object(
            inv.display_vars(&one_host(&inv, &h)?, &vars)?,
        )),
        Action::List => dumps(&inv.list_json(&available(&inv, args.limit.as_deref())?, &vars)?),
        Action::Graph => {
            let group = args.group.as_deref().unwrap_or("all");
            let shown = args.show_vars.then_some(&vars);
            inv.graph(group, shown)?.ok_or_else(|| {
                Error::options("Pattern must be valid group name when using --graph")
            })?
        }
    };
    match &args.output {
        Some(path) => std::fs::write(path, text.as_bytes()).map_err(|e| {
            Error::other(format!(
                "Unable to write to destination file '{}': {e}",
                path.display()
            ))
        })?,
        None => super::print::stdout_line(&text),
    }
    Ok(0)
}

/// `--host` takes a pattern that must match exactly one host (the implicit localhost counts).
fn one_host(inv: &Inventory, pattern: &str) -> Result<String> {
    let (mut hosts, warnings) = inv.select_with_warnings(pattern)?;
    if hosts.is_empty() && LOCALHOST_NAMES.contains(&pattern) {
        hosts.push(pattern.to_string());
    } else {
        for w in warnings {
            eprintln!("[WARNING]: {w}");
        }
    }
    match hosts.as_slice() {
        [one] => Ok(one.clone()),
        _ => Err(Error::options(
            "You must pass a single valid host to --host parameter",
        )),
    }
}

/// The hosts of `all` that `--limit` leaves (a limit matching nothing leaves none, as Ansible).
fn available(inv: &Inventory, limit: Option<&str>) -> Result<Vec<String>> {
    let all = inv.select("all")?;
    match limit {
        Some(l) => inv.apply_limit(&all, l),
        None => Ok(all),
    }
}

/// `json.dumps(..., sort_keys=True, indent=4)` with UTF-8 kept, as ansible-inventory prints.
fn dumps(v: &Value) -> String {
    pyjson::dumps(
        v,
        DumpOptions {
            indent: Some(4),
            sort_keys: true,
            ensure_ascii: false,
        },
    )
}
