//! One converge run over the fleet: read every unit's state (one round trip per host), then
//! fire, per host in parallel and per unit one at a time: removals (relation departures,
//! `stop`), the lifecycle (install/upgrade, config-changed, start), then relation rounds until
//! no published data moves; and write back each changed unit state (one round trip per host).
//! `check` goes through the same steps without running anything and reports the plan.

use super::hooks::{self, HookCall};
use super::lifecycle;
use super::relations::{events, Event, RemoteNow};
use super::state::{self, RelationState, UnitState};
use super::topology::{Membership, RelKind, ServiceKind, Topology, Unit};
use crate::connection::{quote, Command, ConnError, Connection};
use serde::Serialize;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How `fire` acts on the current thread (one thread per host). A unit's hooks of one phase
/// go to its host in one round trip: the phase runs once recording the calls (as if each
/// succeeded), the batch runs on the host (stopping at the first failure), then the phase runs
/// again replaying the real outcomes, so exactly what succeeded is committed.
enum Batch {
    Off,
    Record(Vec<HookCall>),
    Replay(std::collections::VecDeque<Result<hooks::HookOutcome, ConnError>>),
}

thread_local! {
    static BATCH: std::cell::RefCell<Batch> = const { std::cell::RefCell::new(Batch::Off) };
}

/// `None`: the hook failed; `Some(data)`: it succeeded, maybe publishing data.
type Fired = Option<Option<Map<String, Value>>>;

pub type SharedConn = Arc<Mutex<Box<dyn Connection>>>;

/// How the run reaches a host.
pub trait Hosts: Sync {
    fn connection(&self, host: &str) -> Result<SharedConn, ConnError>;
}

#[derive(Debug, Clone)]
pub struct Options {
    pub check: bool,
    pub hook_timeout: Duration,
    /// Relation rounds at most (a hook that publishes new data each time would never settle).
    pub max_rounds: usize,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct UnitReport {
    pub service: String,
    pub port: u16,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member_id: Option<u64>,
    /// `hook: reason`, in firing order (in check mode: would fire).
    pub hooks: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed: Option<String>,
    /// Effective config key -> `{value, from}` (the layer that set it).
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub config: Map<String, Value>,
}

#[derive(Debug, Clone, Default)]
pub struct HostReport {
    pub unreachable: Option<String>,
    pub units: BTreeMap<String, UnitReport>,
    pub changed: bool,
}

impl HostReport {
    pub fn failures(&self) -> Vec<String> {
        self.units
            .iter()
            .filter_map(|(u, r)| r.failed.as_ref().map(|f| format!("unit {u}: {f}")))
            .collect()
    }
}

pub fn converge(
    topo: &Topology,
    hosts: &dyn Hosts,
    targets: &[String],
    opts: &Options,
) -> BTreeMap<String, HostReport> {
    let mut run = Run::new(topo, hosts, targets, opts);
    let clock = PhaseClock::start();
    run.read_states();
    clock.lap("read states");
    run.assign_member_ids();
    run.per_target_host(Run::remove_units);
    clock.lap("removals");
    run.per_target_host(Run::lifecycle);
    clock.lap("lifecycle");
    for _ in 0..opts.max_rounds.max(1) {
        run.snapshot = run.work.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let before = run.fired();
        run.per_target_host(Run::relation_round);
        clock.lap("relation round");
        if run.fired() == before || opts.check {
            break;
        }
    }
    run.raise_high_water();
    if !opts.check {
        run.per_target_host(Run::write_states);
        clock.lap("write states");
    }
    run.finish()
}

/// Where a converge spends its time, for `YIQIU_LOG=yiqiu::services=debug`.
struct PhaseClock(std::cell::Cell<std::time::Instant>);

impl PhaseClock {
    fn start() -> Self {
        PhaseClock(std::cell::Cell::new(std::time::Instant::now()))
    }

    fn lap(&self, phase: &str) {
        let now = std::time::Instant::now();
        let ms = now.duration_since(self.0.replace(now)).as_secs_f64() * 1e3;
        tracing::debug!(target: "yiqiu::services", phase, ms = format!("{ms:.1}"));
    }
}

struct Run<'t> {
    topo: &'t Topology,
    hosts: &'t dyn Hosts,
    opts: &'t Options,
    targets: Vec<String>,
    unreachable: Mutex<HashMap<String, String>>,
    /// Unit states as read at the start (all reachable hosts).
    original: HashMap<String, UnitState>,
    /// Unit states as this run leaves them.
    work: Mutex<HashMap<String, UnitState>>,
    /// `work` as a relation round started: what every unit sees of the others.
    snapshot: HashMap<String, UnitState>,
    /// Units found on target hosts that the topology no longer has.
    removals: HashMap<String, Vec<UnitState>>,
    /// Units whose hook failed this run: they fire nothing more.
    failed: Mutex<HashMap<String, String>>,
    /// The hook each failed unit stays pending on.
    pending: Mutex<HashMap<String, String>>,
    reports: Mutex<BTreeMap<String, HostReport>>,
    fired: Mutex<usize>,
}

impl<'t> Run<'t> {
    fn new(
        topo: &'t Topology,
        hosts: &'t dyn Hosts,
        targets: &[String],
        opts: &'t Options,
    ) -> Self {
        Run {
            topo,
            hosts,
            opts,
            targets: targets.to_vec(),
            unreachable: Mutex::new(HashMap::new()),
            original: HashMap::new(),
            work: Mutex::new(HashMap::new()),
            snapshot: HashMap::new(),
            removals: HashMap::new(),
            failed: Mutex::new(HashMap::new()),
            pending: Mutex::new(HashMap::new()),
            reports: Mutex::new(BTreeMap::new()),
            fired: Mutex::new(0),
        }
    }

    fn fired(&self) -> usize {
        *self.fired.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Reads every unit state on the targets and on the hosts of every unit (outside
    /// `--limit` too: their units still exist and their data still counts).
    fn read_states(&mut self) {
        let mut all: Vec<String> = self.targets.clone();
        for u in &self.topo.units {
            if !all.contains(&u.host) {
                all.push(u.host.clone());
            }
        }
        let read: Mutex<Vec<(String, Vec<UnitState>)>> = Mutex::new(Vec::new());
        self.per_host(
            &all,
            &|host, conn| match state::read_all(conn, self.topo.root_for(host)) {
                Ok(states) => lock(&read).push((host.to_string(), states)),
                Err(e) => {
                    lock(&self.unreachable).insert(host.to_string(), e);
                }
            },
        );
        let desired: HashSet<&str> = self.topo.units.iter().map(|u| u.id.as_str()).collect();
        for (host, states) in read.into_inner().unwrap_or_else(|p| p.into_inner()) {
            for s in states {
                if !desired.contains(s.unit.as_str()) {
                    if self.targets.contains(&host) && s.host == host {
                        self.removals.entry(host.clone()).or_default().push(s);
                    }
                    continue;
                }
                self.original.insert(s.unit.clone(), s);
            }
        }
        *lock(&self.work) = self.original.clone();
    }

    /// New units of a service with peers get the next member ids: never one given before.
    fn assign_member_ids(&mut self) {
        for (name, service) in &self.topo.services {
            let Some(p) = service.program() else { continue };
            if p.meta.peers.is_empty() {
                continue;
            }
            let mut high = self.high_water(name);
            let mut work = lock(&self.work);
            for u in self.topo.units_of(name) {
                if work.contains_key(&u.id) || !self.reachable_target(&u.host) {
                    continue;
                }
                high += 1;
                work.insert(u.id.clone(), fresh_state(u, &p.name, Some(high)));
            }
        }
    }

    fn high_water(&self, service: &str) -> u64 {
        let work = lock(&self.work);
        let removed = self.removals.values().flatten();
        work.values()
            .chain(removed)
            .filter(|s| s.service == service)
            .map(|s| s.member_high_water.max(s.member_id.unwrap_or(0)))
            .max()
            .unwrap_or(0)
    }

    fn raise_high_water(&self) {
        let services: Vec<String> = self.topo.services.keys().cloned().collect();
        for name in services {
            let high = self.high_water(&name);
            for s in lock(&self.work).values_mut().filter(|s| s.service == name) {
                if s.member_id.is_some() {
                    s.member_high_water = high;
                }
            }
        }
    }

    fn reachable_target(&self, host: &str) -> bool {
        self.targets.iter().any(|t| t == host) && !lock(&self.unreachable).contains_key(host)
    }

    fn per_target_host(&self, step: fn(&Self, &str, &mut dyn Connection)) {
        let hosts: Vec<String> = self
            .targets
            .iter()
            .filter(|h| self.reachable_target(h))
            .cloned()
            .collect();
        self.per_host(&hosts, &|h, c| step(self, h, c));
    }

    /// Runs `f` for each host on a thread of its own, holding the host's connection.
    fn per_host(&self, hosts: &[String], f: &(dyn Fn(&str, &mut dyn Connection) + Sync)) {
        std::thread::scope(|s| {
            for host in hosts {
                s.spawn(move || match self.hosts.connection(host) {
                    Ok(conn) => {
                        let mut guard = lock(&conn);
                        f(host, &mut **guard);
                    }
                    Err(e) => {
                        lock(&self.unreachable).insert(host.clone(), state::conn_msg(e));
                    }
                });
            }
        });
    }

    // ---- removals ----------------------------------------------------------------------

    /// A unit that left: departed + broken on each of its relations, `stop`, then its dir.
    fn remove_units(&self, host: &str, conn: &mut dyn Connection) {
        let Some(removed) = self.removals.get(host) else {
            return;
        };
        for s in removed {
            let mut s = s.clone();
            let mut ok = true;
            for (rel_id, rs) in s.relations.clone() {
                let mut rs = rs;
                for ev in events(&rs, None) {
                    ev.apply(&mut rs);
                    let call = self.relation_call(&s, &rel_id, &rs, &ev, None);
                    if self.fire(host, conn, &s, call).is_none() {
                        ok = false;
                        break;
                    }
                }
                if !ok {
                    break;
                }
                s.relations.remove(&rel_id);
            }
            let stop = HookCall {
                name: "stop".into(),
                reason: "unit removed from the topology".into(),
                env: self.unit_env(&s, "stop"),
                files: Vec::new(),
                relation: None,
            };
            if ok && self.fire(host, conn, &s, stop).is_some() && !self.opts.check {
                let rm = format!("rm -rf {}", quote(&s.dir));
                if let Err(e) = run_script(conn, &rm) {
                    self.fail(&s.unit, format!("removing {}: {e}", s.dir));
                }
            }
            self.report(host, &s, |r| r.status = "removed".into());
        }
    }

    // ---- lifecycle ---------------------------------------------------------------------

    fn lifecycle(&self, host: &str, conn: &mut dyn Connection) {
        for unit in self.topo.units.iter().filter(|u| u.host == host) {
            let Some(program) = self.topo.services[&unit.service].program() else {
                continue;
            };
            let current = lock(&self.work).get(&unit.id).cloned();
            let plan = lifecycle::plan(unit, &program.version, current.as_ref());
            let mut st = current.unwrap_or_else(|| fresh_state(unit, &program.name, None));
            st.address = unit.address.clone();
            self.report(host, &st, |r| r.config = config_sources(unit));
            if plan.deploy && !self.opts.check {
                if let Err(e) = deploy(conn, unit, program) {
                    self.fail(&unit.id, e);
                    self.report(host, &st, |_| {});
                    continue;
                }
            }
            self.batched(conn, &mut st, |conn, st| {
                for (hook, reason) in &plan.hooks {
                    let call = self.lifecycle_call(unit, st, hook, reason, &program.version);
                    if self.fire(host, conn, st, call).is_none() {
                        if st.status != "running" {
                            st.status = "error".into();
                        }
                        break;
                    }
                    apply_lifecycle(st, hook, unit, &program.version);
                }
            });
            st.pending = lock(&self.pending).get(&unit.id).cloned();
            self.report(host, &st, |_| {});
            lock(&self.work).insert(unit.id.clone(), st);
        }
    }

    fn lifecycle_call(
        &self,
        unit: &Unit,
        st: &UnitState,
        hook: &str,
        reason: &str,
        version: &str,
    ) -> HookCall {
        let mut env = self.unit_env(st, hook);
        if hook == "upgrade" {
            if let Some(old) = &st.version {
                env.push(("YIQIU_PREVIOUS_VERSION".into(), old.clone()));
            }
        }
        env.retain(|(k, _)| k != "YIQIU_PROGRAM_VERSION");
        env.push(("YIQIU_PROGRAM_VERSION".into(), version.into()));
        let config = Value::Object(unit.config.clone()).to_string();
        HookCall {
            name: hook.into(),
            reason: reason.into(),
            env,
            files: vec![
                ("config.json".into(), config),
                (
                    "config.sh".into(),
                    hooks::sh_assignments("", &unit.config, false),
                ),
            ],
            relation: None,
        }
    }

    // ---- relations ---------------------------------------------------------------------

    fn relation_round(&self, host: &str, conn: &mut dyn Connection) {
        for unit in self.topo.units.iter().filter(|u| u.host == host) {
            if !self.is_active(&unit.id) || lock(&self.failed).contains_key(&unit.id) {
                continue;
            }
            let Some(mut st) = lock(&self.work).get(&unit.id).cloned() else {
                continue;
            };
            if !self.batched(conn, &mut st, |conn, st| {
                self.relate_unit(host, conn, unit, st)
            }) {
                st.pending = lock(&self.pending).get(&unit.id).cloned();
            }
            self.report(host, &st, |_| {});
            lock(&self.work).insert(unit.id.clone(), st);
        }
    }

    /// Fires what each relation of the unit needs; false once a hook failed.
    fn relate_unit(
        &self,
        host: &str,
        conn: &mut dyn Connection,
        unit: &Unit,
        st: &mut UnitState,
    ) -> bool {
        let memberships = self.topo.memberships(&unit.service);
        for m in &memberships {
            let now = self.remote_now(m, unit);
            let rel_id = m.relation.id.clone();
            let mut rs = st
                .relations
                .get(&rel_id)
                .cloned()
                .unwrap_or_else(|| RelationState {
                    endpoint: m.endpoint.to_string(),
                    remote_service: m.remote_service.to_string(),
                    ..RelationState::default()
                });
            let mut evs = events(&rs, Some(&now));
            let leader = self.leader_of(&unit.service);
            let leader_moved =
                m.relation.kind == RelKind::Peer && st.leader != leader && leader.is_some();
            if leader_moved && leader.as_deref() == Some(unit.id.as_str()) {
                let call = self.plain_call(st, "leader-elected", "this unit is the new leader");
                if self.fire(host, conn, st, call).is_none() {
                    return false;
                }
            }
            if leader_moved && !evs.iter().any(|e| matches!(e, Event::Changed(..))) {
                // Every peer hears of a new leader, as relation data of the relation.
                let l = leader.clone().unwrap_or_default();
                let data = rs.seen.get(&l).cloned().unwrap_or(Value::Null);
                evs.push(Event::Changed(l, data));
            }
            for ev in evs {
                let mut next = rs.clone();
                ev.apply(&mut next);
                if let Event::Changed(u, Value::Null) = &ev {
                    next.seen.remove(u); // the leader itself: not a remote unit
                }
                let call = self.relation_call(st, &rel_id, &next, &ev, Some(m));
                let Some(published) = self.fire(host, conn, st, call) else {
                    return false;
                };
                rs = next;
                if let Some(p) = published {
                    rs.published = p;
                }
                // Committed per hook: a later failure does not undo this one.
                st.relations.insert(rel_id.clone(), rs.clone());
            }
            if m.relation.kind == RelKind::Peer {
                st.leader = leader;
            }
            st.relations.insert(rel_id, rs);
        }
        // Relations the topology no longer has: departures, then broken.
        let gone: Vec<String> = st
            .relations
            .keys()
            .filter(|id| !memberships.iter().any(|m| &m.relation.id == *id))
            .cloned()
            .collect();
        for rel_id in gone {
            let mut rs = st.relations[&rel_id].clone();
            for ev in events(&rs, None) {
                ev.apply(&mut rs);
                let call = self.relation_call(st, &rel_id, &rs, &ev, None);
                if self.fire(host, conn, st, call).is_none() {
                    return false;
                }
            }
            st.relations.remove(&rel_id);
        }
        true
    }

    /// The remote side as `unit` should see it now.
    fn remote_now(&self, m: &Membership, unit: &Unit) -> RemoteNow {
        let mut now = RemoteNow::new();
        let service = &self.topo.services[m.remote_service];
        if let ServiceKind::External { data, .. } = &service.kind {
            now.insert(service.name.clone(), Some(json!({ "data": data })));
            return now;
        }
        let unreachable = lock(&self.unreachable);
        for r in self.topo.units_of(m.remote_service) {
            if r.id == unit.id {
                continue;
            }
            if unreachable.contains_key(&r.host) {
                now.insert(r.id.clone(), None);
            } else if let Some(s) = self.snapshot.get(&r.id).filter(|s| s.status == "running") {
                now.insert(r.id.clone(), Some(view(r, s, &m.relation.id)));
            }
        }
        now
    }

    fn is_active(&self, unit: &str) -> bool {
        self.snapshot
            .get(unit)
            .is_some_and(|s| s.status == "running")
    }

    /// The pinned leader if it is live, else the live unit with the lowest member id.
    fn leader_of(&self, service: &str) -> Option<String> {
        let svc = self.topo.services.get(service)?;
        if svc.program()?.meta.peers.is_empty() {
            return None;
        }
        let states = if self.snapshot.is_empty() {
            lock(&self.work).clone()
        } else {
            self.snapshot.clone()
        };
        let live: Vec<(&str, u64)> = self
            .topo
            .units_of(service)
            .filter(|u| !lock(&self.failed).contains_key(&u.id))
            .filter_map(|u| {
                states
                    .get(&u.id)
                    .and_then(|s| s.member_id)
                    .map(|id| (u.id.as_str(), id))
            })
            .collect();
        if let Some(p) = &svc.leader {
            if live.iter().any(|(u, _)| u == p) {
                return Some(p.clone());
            }
        }
        live.iter()
            .min_by_key(|(_, id)| *id)
            .map(|(u, _)| u.to_string())
    }

    fn relation_call(
        &self,
        st: &UnitState,
        rel_id: &str,
        rs: &RelationState,
        ev: &Event,
        m: Option<&Membership>,
    ) -> HookCall {
        let endpoint = m
            .map(|m| m.endpoint.to_string())
            .unwrap_or_else(|| rs.endpoint.clone());
        let hook = ev.hook(&endpoint);
        let mut env = self.unit_env(st, &hook);
        let (data, sh) = relation_files(rel_id, &endpoint, rs);
        let run = format!("{}/.yiqiu/run", st.dir);
        let endpoints: Vec<String> = rs
            .seen
            .values()
            .filter_map(|v| Some(format!("{}:{}", v.get("host")?.as_str()?, v.get("port")?)))
            .collect();
        let mut add = |k: &str, v: String| env.push((k.to_string(), v));
        add("YIQIU_RELATION", endpoint.clone());
        add("YIQIU_RELATION_ID", rel_id.into());
        add("YIQIU_REMOTE_SERVICE", rs.remote_service.clone());
        add("YIQIU_REMOTE_UNIT", ev.remote().unwrap_or("").into());
        if let Event::Departed(u) = ev {
            add("YIQIU_DEPARTING_UNIT", u.clone());
        }
        add("YIQIU_RELATION_ENDPOINTS", endpoints.join(" "));
        add("YIQIU_RELATION_DATA", format!("{run}/relation.json"));
        add("YIQIU_RELATION_SH", format!("{run}/relation.sh"));
        add("YIQIU_RELATION_PUBLISH", format!("{run}/publish"));
        HookCall {
            name: hook,
            reason: ev.reason(),
            env,
            files: vec![
                (".yiqiu/run/relation.json".into(), data),
                (".yiqiu/run/relation.sh".into(), sh),
            ],
            relation: Some(rel_id.into()),
        }
    }

    fn plain_call(&self, st: &UnitState, hook: &str, reason: &str) -> HookCall {
        HookCall {
            name: hook.into(),
            reason: reason.into(),
            env: self.unit_env(st, hook),
            files: Vec::new(),
            relation: None,
        }
    }

    /// The environment every hook of the unit gets.
    fn unit_env(&self, st: &UnitState, hook: &str) -> Vec<(String, String)> {
        let unit = self.topo.unit(&st.unit);
        let address = unit.map(|u| u.address.clone()).unwrap_or_else(|| {
            if st.address.is_empty() {
                st.host.clone()
            } else {
                st.address.clone()
            }
        });
        let mut env = vec![
            ("YIQIU_HOOK".to_string(), hook.to_string()),
            ("YIQIU_SERVICE".into(), st.service.clone()),
            ("YIQIU_UNIT".into(), st.unit.clone()),
            ("YIQIU_UNIT_DIR".into(), st.dir.clone()),
            (
                "YIQIU_PROGRAM_DIR".into(),
                program_dir(&st.dir, &st.program),
            ),
            ("YIQIU_HOST".into(), address),
            ("YIQIU_PORT".into(), st.port.to_string()),
            (
                "YIQIU_CONFIG_FILE".into(),
                format!("{}/config.json", st.dir),
            ),
            ("YIQIU_CONFIG_SH".into(), format!("{}/config.sh", st.dir)),
            (
                "YIQIU_PROGRAM_VERSION".into(),
                st.version.clone().unwrap_or_default(),
            ),
        ];
        if let Some(id) = st.member_id {
            env.push(("YIQIU_MEMBER_ID".into(), id.to_string()));
        }
        if let Some(leader) = self.leader_of(&st.service) {
            env.push(("YIQIU_IS_LEADER".into(), (leader == st.unit).to_string()));
            if let Some(l) = self.topo.unit(&leader) {
                env.push(("YIQIU_LEADER_HOST".into(), l.address.clone()));
                env.push(("YIQIU_LEADER_PORT".into(), l.port.to_string()));
            }
            env.push(("YIQIU_LEADER".into(), leader));
        }
        env
    }

    // ---- firing and bookkeeping --------------------------------------------------------

    /// Runs a unit's phase `body` with its hooks sent in one round trip (see [`Batch`]).
    fn batched<T>(
        &self,
        conn: &mut dyn Connection,
        st: &mut UnitState,
        mut body: impl FnMut(&mut dyn Connection, &mut UnitState) -> T,
    ) -> T {
        if self.opts.check {
            return body(conn, st);
        }
        BATCH.with(|b| *b.borrow_mut() = Batch::Record(Vec::new()));
        let mut scratch = st.clone();
        body(conn, &mut scratch);
        let calls = BATCH.with(
            |b| match std::mem::replace(&mut *b.borrow_mut(), Batch::Off) {
                Batch::Record(calls) => calls,
                _ => Vec::new(),
            },
        );
        if !calls.is_empty() {
            let prog = program_dir(&st.dir, &st.program);
            let outcomes =
                match hooks::run_batch(conn, &st.dir, &prog, &calls, self.opts.hook_timeout) {
                    Ok(o) => o.into_iter().map(Ok).collect(),
                    Err(e) => std::iter::once(Err(e)).collect(),
                };
            BATCH.with(|b| *b.borrow_mut() = Batch::Replay(outcomes));
        }
        let out = body(conn, st);
        BATCH.with(|b| *b.borrow_mut() = Batch::Off);
        out
    }

    /// Fires one hook (in check mode: records it): `None` when it failed, else the data it
    /// published, if any.
    fn fire(&self, host: &str, conn: &mut dyn Connection, st: &UnitState, call: HookCall) -> Fired {
        let replayed = BATCH.with(|b| match &mut *b.borrow_mut() {
            Batch::Off => None,
            Batch::Record(calls) => {
                calls.push(call.clone());
                Some(None)
            }
            Batch::Replay(outcomes) => Some(Some(outcomes.pop_front())),
        });
        if let Some(None) = replayed {
            return Some(None);
        }
        *lock(&self.fired) += 1;
        let line = format!("{}: {}", call.name, call.reason);
        self.report(host, st, |r| r.hooks.push(line));
        if self.opts.check {
            return Some(None);
        }
        tracing::info!(unit = %st.unit, hook = %call.name, "firing hook");
        let outcome = match replayed {
            Some(Some(Some(o))) => o,
            Some(Some(None)) => Err(ConnError::Failed("the hook batch ended early".into())),
            _ => hooks::run(
                conn,
                &st.dir,
                &program_dir(&st.dir, &st.program),
                &call,
                self.opts.hook_timeout,
            ),
        };
        match outcome {
            Ok(o) if o.rc == 0 => Some(o.published.filter(|_| call.relation.is_some())),
            Ok(o) => {
                let why = if o.rc == 124 {
                    format!(
                        "hook {} timed out after {} s",
                        call.name,
                        self.opts.hook_timeout.as_secs()
                    )
                } else {
                    format!("hook {} exited {}", call.name, o.rc)
                };
                self.fail(&st.unit, format!("{why}: {}", o.tail));
                lock(&self.pending).insert(st.unit.clone(), call.name.clone());
                None
            }
            Err(e) => {
                lock(&self.unreachable).insert(host.to_string(), state::conn_msg(e.clone()));
                self.fail(
                    &st.unit,
                    format!("hook {}: {}", call.name, state::conn_msg(e)),
                );
                None
            }
        }
    }
}

impl Run<'_> {
    fn fail(&self, unit: &str, msg: String) {
        lock(&self.failed).entry(unit.to_string()).or_insert(msg);
    }

    /// Updates the unit's row of its host's report.
    fn report(&self, host: &str, st: &UnitState, f: impl FnOnce(&mut UnitReport)) {
        let mut reports = lock(&self.reports);
        let r = reports.entry(host.to_string()).or_default();
        let row = r.units.entry(st.unit.clone()).or_default();
        row.service = st.service.clone();
        row.port = st.port;
        row.status = st.status.clone();
        row.member_id = st.member_id;
        f(row);
    }

    fn write_states(&self, host: &str, conn: &mut dyn Connection) {
        // Copied out: the hosts write in parallel, so no lock is held across the round trip.
        let changed: Vec<UnitState> = lock(&self.work)
            .values()
            .filter(|s| s.host == host && self.original.get(&s.unit) != Some(*s))
            .filter(|s| s.status != "none")
            .cloned()
            .collect();
        let changed: Vec<&UnitState> = changed.iter().collect();
        if let Err(e) = state::write_all(conn, &changed) {
            for s in &changed {
                self.fail(&s.unit, e.clone());
            }
        }
    }

    fn finish(self) -> BTreeMap<String, HostReport> {
        let mut reports = self.reports.into_inner().unwrap_or_else(|p| p.into_inner());
        let failed = self.failed.into_inner().unwrap_or_else(|p| p.into_inner());
        let unreachable = self
            .unreachable
            .into_inner()
            .unwrap_or_else(|p| p.into_inner());
        for host in &self.targets {
            let r = reports.entry(host.clone()).or_default();
            r.unreachable = unreachable.get(host).cloned();
            for (unit, row) in r.units.iter_mut() {
                row.failed = failed.get(unit).cloned();
            }
            r.changed = r.units.values().any(|u| !u.hooks.is_empty());
        }
        reports.retain(|h, _| self.targets.contains(h));
        reports
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn fresh_state(unit: &Unit, program: &str, member_id: Option<u64>) -> UnitState {
    UnitState {
        unit: unit.id.clone(),
        service: unit.service.clone(),
        host: unit.host.clone(),
        address: unit.address.clone(),
        port: unit.port,
        dir: unit.dir.clone(),
        status: "none".into(),
        program: program.into(),
        member_id,
        member_high_water: member_id.unwrap_or(0),
        ..UnitState::default()
    }
}

fn apply_lifecycle(st: &mut UnitState, hook: &str, unit: &Unit, version: &str) {
    match hook {
        "install" | "upgrade" => {
            st.version = Some(version.into());
            if st.status == "none" || st.status == "error" {
                st.status = "installed".into();
            }
        }
        "config-changed" => st.config = Some(unit.config.clone()),
        "start" => st.status = "running".into(),
        _ => {}
    }
}

pub fn program_dir(unit_dir: &str, program: &str) -> String {
    format!("{unit_dir}/components/{program}/current")
}

/// Ships the program version into the unit dir with the release layer (verified, extracted
/// beside, `current` switched atomically).
fn deploy(
    conn: &mut dyn Connection,
    unit: &Unit,
    program: &super::program::Program,
) -> Result<(), String> {
    use crate::release::deploy::{deploy, DeployRequest, Source};
    let mut req = DeployRequest::new(
        &unit.dir,
        &program.name,
        &program.version,
        vec![Source::Controller(program.package.clone())],
    );
    req.manifest = Some(program.manifest.clone());
    deploy(conn, &req).map(|_| ()).map_err(|e| {
        format!(
            "deploying program {} {}: {e}",
            program.name, program.version
        )
    })
}

fn run_script(conn: &mut dyn Connection, script: &str) -> Result<(), String> {
    let out = conn
        .exec(&Command {
            script: script.into(),
            ..Command::default()
        })
        .map_err(state::conn_msg)?;
    if out.rc == 0 {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

/// A unit as the other side of a relation sees it.
fn view(unit: &Unit, st: &UnitState, relation: &str) -> Value {
    let mut v = json!({ "unit": unit.id, "host": unit.address, "port": unit.port });
    if let Some(id) = st.member_id {
        v["member_id"] = json!(id);
    }
    v["data"] = Value::Object(
        st.relations
            .get(relation)
            .map(|r| r.published.clone())
            .unwrap_or_default(),
    );
    v
}

/// The relation as JSON and as sh assignments, for the hook.
fn relation_files(rel_id: &str, endpoint: &str, rs: &RelationState) -> (String, String) {
    let mut units = Vec::new();
    let mut service_data = Value::Null;
    let mut sh = String::new();
    for v in rs.seen.values() {
        if v.get("unit").is_none() {
            // An external endpoint: its data is the service's.
            service_data = v.get("data").cloned().unwrap_or(Value::Null);
            continue;
        }
        units.push(v.clone());
    }
    if let Value::Object(d) = &service_data {
        sh.push_str(&hooks::sh_assignments("SERVICE_", d, true));
    }
    sh.push_str(&format!("REMOTE_COUNT={}\n", units.len()));
    for (i, u) in units.iter().enumerate() {
        let p = format!("REMOTE_{}_", i + 1);
        for k in ["unit", "host", "port", "member_id"] {
            if let Some(v) = u.get(k) {
                sh.push_str(&format!(
                    "{p}{}={}\n",
                    k.to_uppercase(),
                    quote(&hooks::plain(v))
                ));
            }
        }
        if let Some(Value::Object(d)) = u.get("data") {
            sh.push_str(&hooks::sh_assignments(&p, d, true));
        }
    }
    let endpoints: Vec<String> = units
        .iter()
        .filter_map(|v| Some(format!("{}:{}", v.get("host")?.as_str()?, v.get("port")?)))
        .collect();
    let data = json!({
        "relation": endpoint,
        "id": rel_id,
        "remote_service": rs.remote_service,
        "units": units,
        "endpoints": endpoints,
        "service_data": service_data,
        "local": rs.published,
    });
    (data.to_string(), sh)
}

/// Effective config key -> `{value, from}`.
fn config_sources(unit: &Unit) -> Map<String, Value> {
    unit.config
        .iter()
        .map(|(k, v)| {
            let from = unit.origins.get(k).cloned().unwrap_or_default();
            (k.clone(), json!({ "value": v, "from": from }))
        })
        .collect()
}
