//! `yiqiu_services`: converge a topology of services, units and relations
//! (`crate::service`). A fleet task: its first host computes the whole run for every host of
//! the task, each host then reports its own units (hooks fired, status, failures).

use crate::modules::{
    ArgKind, ArgSpec, Args, Fleet, FleetResults, Module, ModuleContext, ModuleError, ModuleResult,
};
use crate::service::converge::{self, HostReport, Hosts, Options, SharedConn};
use crate::service::topology::{find_program, InventoryView, Topology};
use serde_json::{json, Map, Value};
use std::time::Duration;

pub struct YiqiuServices;

pub const SPEC: &[ArgSpec] = &[
    ArgSpec::new("root", ArgKind::Path),
    ArgSpec::new("services", ArgKind::Dict).required(),
    ArgSpec::new("relations", ArgKind::List),
    ArgSpec::new("hook_timeout", ArgKind::Int),
];

impl Module for YiqiuServices {
    fn name(&self) -> &'static str {
        "yiqiu_services"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        SPEC
    }
    fn controller_only(&self) -> bool {
        true
    }
    fn fleet(&self) -> bool {
        true
    }
    fn run(&self, args: &Args, ctx: &mut ModuleContext) -> ModuleResult {
        let Some(fleet) = ctx.fleet else {
            return Err(ModuleError::msg(
                "yiqiu_services runs as a play task (it needs the inventory and its hosts)",
            ));
        };
        let search = ctx.search_paths.clone();
        let check = ctx.check_mode;
        let verbose = ctx.verbosity > 0;
        let results = fleet.once(&mut || converge_all(args, fleet, &search, check, verbose));
        let host = ctx.host.to_string();
        results
            .get(&host)
            .cloned()
            .unwrap_or_else(|| Ok(result_map(&HostReport::default(), check)))
    }
}

pub struct FleetInventory<'f>(pub &'f dyn Fleet);

impl InventoryView for FleetInventory<'_> {
    fn hosts(&self, pattern: &str) -> Result<Vec<String>, String> {
        self.0.hosts_matching(pattern)
    }
    fn var(&self, host: &str, name: &str) -> Option<Value> {
        self.0.hostvar(host, name).filter(|v| !v.is_null())
    }
}

struct FleetHosts<'f>(&'f dyn Fleet);

impl Hosts for FleetHosts<'_> {
    fn connection(&self, host: &str) -> Result<SharedConn, crate::connection::ConnError> {
        self.0.connection(host)
    }
}

/// Where directory programs are packed on the controller.
pub fn program_cache() -> std::path::PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("yiqiu-play/programs")
}

pub fn build_topology(
    args: &Args,
    inventory: &dyn InventoryView,
    search: &[std::path::PathBuf],
) -> crate::service::Result<Topology> {
    let root = args.str("root").unwrap_or("/srv/yiqiu");
    let services = args.dict("services").cloned().unwrap_or_default();
    let relations = args.list("relations").cloned().unwrap_or_default();
    let cache = program_cache();
    Topology::build(root, &services, &relations, inventory, &|p| {
        find_program(p, search, &cache)
    })
}

fn converge_all(
    args: &Args,
    fleet: &dyn Fleet,
    search: &[std::path::PathBuf],
    check: bool,
    verbose: bool,
) -> FleetResults {
    let targets = fleet.targets().to_vec();
    let topo = match build_topology(args, &FleetInventory(fleet), search) {
        Ok(t) => t,
        Err(e) => {
            return targets
                .into_iter()
                .map(|h| (h, Err(ModuleError::msg(format!("yiqiu_services: {e}")))))
                .collect()
        }
    };
    if crate::service::graph::capture(&topo) {
        return targets
            .into_iter()
            .map(|h| (h, Ok(result_map(&HostReport::default(), false))))
            .collect();
    }
    let opts = Options {
        check,
        hook_timeout: Duration::from_secs(args.int("hook_timeout").unwrap_or(300).max(1) as u64),
        max_rounds: 5,
    };
    let reports = converge::converge(&topo, &FleetHosts(fleet), &targets, &opts);
    reports
        .into_iter()
        .map(|(host, mut r)| {
            if !verbose {
                // Where each config value came from is for -v.
                r.units.values_mut().for_each(|u| u.config.clear());
            }
            let res = host_result(&r, check);
            (host, res)
        })
        .collect()
}

fn host_result(r: &HostReport, check: bool) -> ModuleResult {
    if let Some(msg) = &r.unreachable {
        return Err(ModuleError::Unreachable(msg.clone()));
    }
    let mut m = result_map(r, check);
    let failures = r.failures();
    if !failures.is_empty() {
        m.insert("msg".into(), Value::String(failures.join("\n")));
        return Err(ModuleError::Failed(m));
    }
    Ok(m)
}

fn result_map(r: &HostReport, check: bool) -> Map<String, Value> {
    let units = serde_json::to_value(&r.units).unwrap_or(Value::Null);
    let fired: usize = r.units.values().map(|u| u.hooks.len()).sum();
    let mut m = Map::new();
    m.insert("changed".into(), Value::Bool(r.changed));
    if !check {
        m.insert("units".into(), units);
    }
    m.insert("hooks_fired".into(), json!(if check { 0 } else { fired }));
    if check {
        let plan: Vec<String> = r
            .units
            .iter()
            .flat_map(|(u, row)| row.hooks.iter().map(move |h| format!("{u}: {h}")))
            .collect();
        // Juju has no dry run: the plan shows without -v, as debug output does.
        m.insert("plan".into(), json!(plan));
        m.insert("_ansible_verbose_always".into(), Value::Bool(true));
    }
    m
}
