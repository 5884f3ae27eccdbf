//! `yiqiu_info`: the topology `yiqiu_services` would converge (services, units, relations, as
//! data and as Graphviz DOT) and what each unit on the task's hosts has recorded (status,
//! version, member id, leader, the remote units it has seen). Read-only: check mode is the
//! same run.

use super::yiqiu_services::{build_topology, FleetInventory, SPEC};
use crate::modules::{
    ArgSpec, Args, Fleet, FleetResults, Module, ModuleContext, ModuleError, ModuleResult,
};
use crate::service::state::{self, UnitState};
use crate::service::topology::{ServiceKind, Topology};
use serde_json::{json, Map, Value};

pub struct YiqiuInfo;

impl Module for YiqiuInfo {
    fn name(&self) -> &'static str {
        "yiqiu_info"
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
            return Err(ModuleError::msg("yiqiu_info runs as a play task"));
        };
        let search = ctx.search_paths.clone();
        let results = fleet.once(&mut || info_all(args, fleet, &search));
        results
            .get(ctx.host)
            .cloned()
            .unwrap_or_else(|| Err(ModuleError::msg("no result for this host")))
    }
}

fn info_all(args: &Args, fleet: &dyn Fleet, search: &[std::path::PathBuf]) -> FleetResults {
    let targets = fleet.targets().to_vec();
    let topo = match build_topology(args, &FleetInventory(fleet), search) {
        Ok(t) => t,
        Err(e) => {
            return targets
                .into_iter()
                .map(|h| (h, Err(ModuleError::msg(format!("yiqiu_info: {e}")))))
                .collect()
        }
    };
    let shape = topology_value(&topo);
    let mut out = FleetResults::new();
    std::thread::scope(|s| {
        let handles: Vec<_> = targets
            .iter()
            .map(|h| {
                let topo = &topo;
                s.spawn(move || (h.clone(), host_units(fleet, topo, h)))
            })
            .collect();
        for handle in handles {
            if let Ok((host, units)) = handle.join() {
                let res = units.map(|u| {
                    let mut m = Map::new();
                    m.insert("changed".into(), Value::Bool(false));
                    m.insert("units".into(), u);
                    m.insert("topology".into(), shape.clone());
                    m.insert(
                        "dot".into(),
                        Value::String(crate::service::graph::dot(&topo)),
                    );
                    m
                });
                out.insert(host, res);
            }
        }
    });
    out
}

fn host_units(fleet: &dyn Fleet, topo: &Topology, host: &str) -> Result<Value, ModuleError> {
    let conn = fleet
        .connection(host)
        .map_err(|e| ModuleError::Unreachable(state::conn_msg(e)))?;
    let mut guard = conn.lock().unwrap_or_else(|p| p.into_inner());
    let states =
        state::read_all(&mut **guard, topo.root_for(host)).map_err(ModuleError::Unreachable)?;
    let mut units = Map::new();
    for s in states.iter().filter(|s| s.host == host) {
        units.insert(s.unit.clone(), unit_value(s, topo));
    }
    // Desired units not deployed yet show as `none` (seed 000's first state).
    for u in topo.units.iter().filter(|u| u.host == host) {
        units.entry(u.id.clone()).or_insert_with(
            || json!({"service": u.service, "port": u.port, "status": "none", "in_topology": true}),
        );
    }
    Ok(Value::Object(units))
}

fn unit_value(s: &UnitState, topo: &Topology) -> Value {
    let relations: Map<String, Value> = s
        .relations
        .iter()
        .map(|(id, r)| (id.clone(), json!({"endpoint": r.endpoint, "remote_service": r.remote_service, "seen": r.seen.keys().collect::<Vec<_>>(), "published": r.published})))
        .collect();
    json!({
        "service": s.service,
        "port": s.port,
        "dir": s.dir,
        "status": s.status,
        "version": s.version,
        "member_id": s.member_id,
        "leader": s.leader,
        "pending": s.pending,
        "relations": relations,
        "in_topology": topo.unit(&s.unit).is_some(),
    })
}

fn topology_value(topo: &Topology) -> Value {
    let services: Map<String, Value> = topo
        .services
        .iter()
        .map(|(name, s)| {
            let v = match &s.kind {
                ServiceKind::Program(p) => json!({
                    "program": p.name, "version": p.version, "hosts": s.hosts,
                    "units": topo.units_of(name).map(|u| json!({"unit": u.id, "host": u.host, "address": u.address, "port": u.port, "dir": u.dir})).collect::<Vec<_>>(),
                }),
                ServiceKind::External { interface, data } => json!({"external": {"interface": interface, "data": data}}),
            };
            (name.clone(), v)
        })
        .collect();
    let relations: Vec<Value> = topo
        .relations
        .iter()
        .map(|r| json!({"id": r.id, "interface": r.interface, "kind": format!("{:?}", r.kind).to_lowercase(), "requirer": format!("{}:{}", r.requirer.service, r.requirer.endpoint), "provider": format!("{}:{}", r.provider.service, r.provider.endpoint)}))
        .collect();
    json!({"root": topo.root, "services": services, "relations": relations})
}
