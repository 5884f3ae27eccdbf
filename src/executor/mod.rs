//! Executor layer: runs loaded playbooks against the inventory.
//!
//! `run_playbooks` walks plays in order; `play::PlayRun` runs one play (batches, sections,
//! blocks, handlers); `task` runs one task on one host; `loops` expands loop items.

pub mod error_chain;
pub mod fact_cache;
pub mod fleet;
pub mod listing;
pub mod loops;
pub mod play;
pub mod public_roles;
pub mod result;
pub mod state;
pub mod task;
pub mod throttle;
pub mod vars_files;

use crate::error::{Error, Result};
use crate::inventory::Inventory;
use crate::output::Callback;
use crate::playbook::tags::TagFilter;
use crate::playbook::{Loader, Playbook};
use crate::template::templar;
use play::{PlayEnd, PlayRun, RunShared};
use serde_json::Value;
use state::{RunOptions, RunState};
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// Exit codes of ansible-playbook.
pub mod exit {
    pub const OK: i32 = 0;
    pub const ERROR: i32 = 1;
    pub const HOST_FAILED: i32 = 2;
    pub const HOST_UNREACHABLE: i32 = 4;
}

/// Loads every playbook before anything runs, so a bad file changes nothing.
pub fn load_playbooks(loader: &Loader, paths: &[PathBuf]) -> Result<Vec<Playbook>> {
    paths
        .iter()
        .map(|p| {
            if !p.exists() {
                return Err(Error::new(
                    crate::error::ErrorKind::FileNotFound,
                    format!("the playbook: {} could not be found", p.display()),
                ));
            }
            loader.load_playbook(p)
        })
        .collect()
}

/// The hosts a play targets: its pattern (the implicit localhost included), narrowed by
/// `--limit`.
pub fn play_hosts(inv: &Inventory, pattern: &str, limit: Option<&str>) -> Result<Vec<String>> {
    let hosts = inv.list_hosts(pattern)?;
    match limit {
        Some(l) if !l.is_empty() => inv.restrict(&hosts, l),
        _ => Ok(hosts),
    }
}

/// Renders a play's `hosts:` with the extra vars (the only vars known before the play).
pub fn render_pattern(pattern: &str, extra: &serde_json::Map<String, Value>) -> Result<String> {
    if !crate::template::is_template(pattern) {
        return Ok(pattern.to_string());
    }
    let ctx = crate::vars::scope::to_mj(&Value::Object(extra.clone()));
    let rendered = templar()
        .render_value(&Value::String(pattern.to_string()), &ctx)
        .map_err(|e| Error::parse(format!("hosts: {}", e.message), None))?;
    // A template that gives a list (`hosts: "{{ targets }}"`) is that list of patterns.
    Ok(match rendered {
        Value::Array(items) => items
            .iter()
            .map(crate::template::pyfmt::to_str)
            .collect::<Vec<_>>()
            .join(","),
        other => crate::template::pyfmt::to_str(&other),
    })
}

/// Runs playbooks; returns ansible-playbook's exit code.
pub fn run_playbooks(
    options: RunOptions,
    inventory: Inventory,
    playbooks: &[Playbook],
    loader: &Loader,
    callback: &dyn Callback,
) -> Result<i32> {
    // No more workers than hosts: a 3-host inventory with forks 50 starts 3 threads. (Hosts
    // that add_host creates later share them.)
    let forks = options.forks.min(inventory.hosts.len()).max(1);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(forks)
        // As the main thread's (see main.rs): depth limits, not the stack, end deep inputs.
        .stack_size(32 << 20)
        .build()
        .map_err(|e| Error::other(format!("could not start {forks} workers: {e}")))?;
    let tags = TagFilter::new(options.tags.clone(), options.skip_tags.clone());
    let start_at = options.start_at_task.clone();
    let limit = options.limit.clone();
    crate::connection::set_verbosity(options.verbosity);
    let state = RunState::new(options, inventory);
    let shared = RunShared {
        state: state.clone(),
        loader,
        callback,
        stats: Mutex::new(Default::default()),
        pool,
        tags,
        start_at: Mutex::new(start_at),
        dead_hosts: Mutex::new(HashSet::new()),
        unreachable_any: AtomicBool::new(false),
        failed_any: AtomicBool::new(false),
        failed_hosts: Mutex::new(HashSet::new()),
        connections: Mutex::new(HashMap::new()),
        fatal: Mutex::new(None),
        custom_stats: Mutex::new(serde_json::Map::new()),
    };
    'playbooks: for pb in playbooks {
        callback.playbook_start(&pb.path.display().to_string());
        // The path as given on the command line (ours are joined to the working directory).
        let given = std::env::current_dir()
            .ok()
            .and_then(|cwd| pb.path.strip_prefix(cwd).ok().map(|p| p.to_path_buf()))
            .unwrap_or_else(|| pb.path.clone());
        callback.plays_in(pb.plays.len(), &given.display().to_string());
        for play in &pb.plays {
            let pattern = render_pattern(&play.hosts, &state.extra_vars)?;
            let hosts = {
                let inv = state.inventory();
                if let Ok((_, warnings)) = inv.select_with_warnings(&pattern) {
                    for w in warnings {
                        callback.warning(&w);
                    }
                }
                play_hosts(&inv, &pattern, limit.as_deref())?
            };
            let mut run = PlayRun::new(&shared, play, hosts);
            let end = run.run()?;
            if let Some(e) = shared
                .fatal
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take()
            {
                return Err(e);
            }
            if end == PlayEnd::AllFailed {
                break 'playbooks;
            }
        }
    }
    let mut stats = shared
        .stats
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    stats.sort_keys();
    callback.recap(&stats);
    let custom = shared
        .custom_stats
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    if state.options.show_custom_stats && !custom.is_empty() {
        callback.custom_stats(&custom);
    }
    callback.playbook_end();
    if let Some(name) = shared
        .start_at
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .as_ref()
    {
        eprintln!(
            "[ERROR]: No matching task \"{name}\" found. Note: --start-at-task can only follow static includes."
        );
    }
    let code = if shared.unreachable_any.load(Ordering::SeqCst) {
        exit::HOST_UNREACHABLE
    } else if !shared
        .failed_hosts
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .is_empty()
    {
        exit::HOST_FAILED
    } else {
        exit::OK
    };
    Ok(code)
}
