//! Running one play: its hosts in batches (`serial`), facts, vars_files, the task sections
//! with blocks, includes and handlers, under the linear or free strategy.

use super::result::{HostStats, Status};
use super::state::{HostVars, RunState};
use super::task::{HostOutcome, IncludeRequest};
use crate::connection::Connection;
use crate::error::{Error, Result};
use crate::output::{Callback, TaskKind};
use crate::playbook::loader::{merge_keywords, Context};
use crate::playbook::model::{Item, Play, Task};
use crate::playbook::tags::TagFilter;
use crate::playbook::Loader;
use crate::template::templar;
use crate::vars::scope::Scope;
use indexmap::IndexMap;
use minijinja::Value as MjValue;
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// The play variable that keeps `serial` batches inside one failure domain (ours; Ansible
/// ignores it as an ordinary play var).
pub const BATCH_BY: &str = "yiqiu_batch_by";

/// A host's connection, shared by the tasks that run on it (one at a time).
pub type SharedConnection = Arc<Mutex<Box<dyn Connection>>>;

/// How a host stands in the current play.
#[derive(Clone, Copy, Debug, Default)]
pub struct HostFlags {
    pub failed: bool,
    pub unreachable: bool,
    /// `meta: end_host` / `end_play` / `end_batch`.
    pub ended: bool,
    /// How often `meta: clear_host_errors` ran: a host whose errors were cleared in a block's
    /// `always` leaves the block as not failed.
    pub errors_cleared: u32,
}

/// Shared across the plays of one run.
pub struct RunShared<'a> {
    pub state: Arc<RunState>,
    pub loader: &'a Loader,
    pub callback: &'a dyn Callback,
    pub stats: Mutex<IndexMap<String, HostStats>>,
    pub pool: rayon::ThreadPool,
    pub tags: TagFilter,
    /// `--start-at-task`: tasks are skipped until one with this name is met.
    pub start_at: Mutex<Option<String>>,
    /// Hosts that failed or were unreachable in earlier plays are left out of later ones.
    pub dead_hosts: Mutex<HashSet<String>>,
    pub unreachable_any: AtomicBool,
    pub failed_any: AtomicBool,
    /// Hosts whose failure decides the exit code (`meta: clear_host_errors` forgives them).
    pub failed_hosts: Mutex<HashSet<String>>,
    pub connections: Mutex<HashMap<String, SharedConnection>>,
    /// An error that ends the whole run at once (Ansible raises it out of the strategy:
    /// `[ERROR]: msg`, exit 1, no PLAY RECAP), e.g. a notified handler that does not exist.
    pub fatal: Mutex<Option<Error>>,
    /// set_stats data: per host, and the run's under `_run`.
    pub custom_stats: Mutex<Map<String, Value>>,
}

pub struct PlayRun<'a> {
    pub shared: &'a RunShared<'a>,
    pub play: &'a Play,
    pub play_vars: Arc<Map<String, Value>>,
    /// Defaults and vars of the play's static roles, seen by all its tasks.
    pub public_roles: super::public_roles::PublicRoleVars,
    pub vars_files: super::vars_files::VarsFiles,
    /// All hosts of the play and of the current batch.
    pub play_hosts: Vec<String>,
    /// The play's hosts including those failed or unreachable in earlier plays.
    pub play_hosts_all: Vec<String>,
    pub batch: Mutex<Vec<String>>,
    pub flags: Mutex<HashMap<String, HostFlags>>,
    /// Handler index → hosts notified, in notification order.
    pub notified: Mutex<HashMap<usize, Vec<String>>>,
    /// The play's handlers; an `include_role` appends its role's handlers at run time.
    pub handlers: std::sync::RwLock<Vec<Arc<Task>>>,
    pub abort: AtomicBool,
    play_ended: AtomicBool,
    /// An error that stops the whole run (a `throttle:` that is not an integer).
    fatal: Mutex<Option<crate::error::Error>>,
    no_more_hosts_shown: AtomicBool,
    /// Magic variables shared by every host of the batch.
    pub play_magic: Mutex<Arc<Map<String, Value>>>,
    pub hostvars: MjValue,
    /// Fleet tasks running now (by task address): their hosts and shared result slot.
    pub fleet_calls: Mutex<HashMap<usize, Arc<super::fleet::FleetCall>>>,
}

/// What the play ended with, for the playbook loop.
#[derive(Debug, PartialEq, Eq)]
pub enum PlayEnd {
    Continue,
    /// Every host failed: the playbook stops here (as Ansible does).
    AllFailed,
}

impl<'a> RunShared<'a> {
    /// Records the error that ends the run (the first one wins).
    pub fn end_run(&self, e: Error) {
        let mut fatal = self.fatal.lock().unwrap_or_else(|p| p.into_inner());
        fatal.get_or_insert(e);
    }

    pub fn run_ended(&self) -> bool {
        self.fatal
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some()
    }

    pub fn stat(&self, host: &str, f: impl FnOnce(&mut HostStats)) {
        let mut stats = self.stats.lock().unwrap_or_else(|p| p.into_inner());
        f(stats.entry(host.to_string()).or_default());
    }
}

fn flatten_handlers(items: &[Item], out: &mut Vec<Arc<Task>>) {
    for item in items {
        match item {
            Item::Task(t) => out.push(t.clone()),
            Item::Block(b) => {
                flatten_handlers(&b.block, out);
                flatten_handlers(&b.rescue, out);
                flatten_handlers(&b.always, out);
            }
        }
    }
}

/// The controller's python3 on PATH, else the usual path.
fn controller_python() -> &'static str {
    static PYTHON: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PYTHON.get_or_init(|| {
        std::env::var_os("PATH")
            .and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|d| d.join("python3"))
                    .find(|p| p.is_file())
                    .map(|p| p.display().to_string())
            })
            .unwrap_or_else(|| "/usr/bin/python3".into())
    })
}

/// Variables every host has unless its inventory says otherwise.
pub fn host_defaults(host: &str) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("ansible_host".into(), Value::String(host.to_string()));
    m
}

/// Renders templated tags; a tag that renders to a list gives each of its items.
pub fn render_tags(tags: &[String], ctx: &MjValue) -> Vec<String> {
    let mut out = Vec::new();
    for t in tags {
        match templar().render_native(t, ctx) {
            Ok(Value::Array(items)) => out.extend(items.iter().map(|i| {
                i.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| i.to_string())
            })),
            Ok(Value::String(s)) => out.extend(
                s.split(',')
                    .map(|p| p.trim().to_string())
                    .filter(|p| !p.is_empty()),
            ),
            Ok(other) => out.push(other.to_string()),
            Err(_) => out.push(t.clone()),
        }
    }
    out
}

/// Splits hosts into batches as `serial` asks (numbers, percentages, a list of them).
pub fn batches(hosts: &[String], serial: &[Value]) -> Vec<Vec<String>> {
    if serial.is_empty() || hosts.is_empty() {
        return vec![hosts.to_vec()];
    }
    let mut out = Vec::new();
    let mut step = 0;
    cut(hosts, serial, hosts.len(), &mut step, &mut out);
    out
}

/// One `serial` entry as a batch size; percentages are of `total`, the play's host count.
fn serial_size(v: &Value, total: usize) -> usize {
    let n = match v {
        Value::Number(n) => n.as_f64().unwrap_or(0.0) as usize,
        Value::String(s) if s.trim().ends_with('%') => {
            let pct: f64 = s.trim().trim_end_matches('%').parse().unwrap_or(100.0);
            ((total as f64) * pct / 100.0) as usize
        }
        Value::String(s) => s.trim().parse().unwrap_or(0),
        _ => 0,
    };
    match n {
        // Ansible: a percentage below one host is one host; `0` means all hosts.
        0 if matches!(v, Value::String(s) if s.ends_with('%')) => 1,
        0 => total,
        n => n,
    }
}

/// Cuts `hosts` into batches of the serial sizes; `step` is the serial list position, which
/// carries on from one call to the next.
fn cut(
    hosts: &[String],
    serial: &[Value],
    total: usize,
    step: &mut usize,
    out: &mut Vec<Vec<String>>,
) {
    let mut i = 0;
    while i < hosts.len() {
        let size = serial_size(&serial[(*step).min(serial.len() - 1)], total).max(1);
        out.push(hosts[i..(i + size).min(hosts.len())].to_vec());
        i += size;
        *step += 1;
    }
}

/// Batches that never cross a failure domain (`yiqiu_batch_by`): hosts are grouped by
/// `domains[i]` (the domain of `hosts[i]`), domains in the order their first host comes, and
/// each domain is cut into `serial` batches; sizes and percentages count all the play's
/// hosts and the serial list moves on across domains as across batches. Without `serial`,
/// each domain is one batch.
pub fn domain_batches(hosts: &[String], serial: &[Value], domains: &[String]) -> Vec<Vec<String>> {
    let mut groups: IndexMap<&str, Vec<String>> = IndexMap::new();
    for (h, d) in hosts.iter().zip(domains) {
        groups.entry(d.as_str()).or_default().push(h.clone());
    }
    if serial.is_empty() {
        return groups.into_values().collect();
    }
    let mut out = Vec::new();
    let mut step = 0;
    for members in groups.values() {
        cut(members, serial, hosts.len(), &mut step, &mut out);
    }
    out
}

/// A play field templated with the play's vars and the extra vars, as Ansible
/// post-validates the play before it lists its hosts; `None` when it does not render.
fn render_play_field(play: &Play, extra: &Map<String, Value>, text: &str) -> Option<String> {
    if !crate::template::is_template(text) {
        return Some(text.to_string());
    }
    let mut vars = play.vars.clone();
    vars.extend(extra.clone());
    let ctx = crate::vars::scope::to_mj(&Value::Object(vars));
    templar().render_string(text, &ctx).ok()
}

/// The play's `order:` (inventory order when it does not render).
fn play_order(play: &Play, extra: &Map<String, Value>) -> String {
    render_play_field(play, extra, &play.order).unwrap_or_else(|| "inventory".into())
}

impl<'a> PlayRun<'a> {
    pub fn new(shared: &'a RunShared<'a>, play: &'a Play, mut hosts: Vec<String>) -> PlayRun<'a> {
        match play_order(play, &shared.state.extra_vars).as_str() {
            "reverse_inventory" => hosts.reverse(),
            "sorted" => hosts.sort(),
            "reverse_sorted" => {
                hosts.sort();
                hosts.reverse();
            }
            "shuffle" => {
                use rand::seq::SliceRandom;
                hosts.shuffle(&mut rand::rng());
            }
            _ => {}
        }
        // Hosts that failed or were unreachable in earlier plays stay out of this one, but
        // still count in `ansible_play_hosts_all`.
        let hosts_all = hosts.clone();
        let dead = shared
            .dead_hosts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        hosts.retain(|h| !dead.contains(h));
        let mut handlers = Vec::new();
        flatten_handlers(&play.handlers, &mut handlers);
        let hostvars = MjValue::from_object(HostVars {
            state: shared.state.clone(),
            playbook_dir: play.playbook_dir.clone(),
        });
        PlayRun {
            shared,
            play,
            play_vars: Arc::new(play.vars.clone()),
            public_roles: super::public_roles::PublicRoleVars::of(play),
            vars_files: Default::default(),
            play_hosts: hosts,
            play_hosts_all: hosts_all,
            batch: Mutex::new(Vec::new()),
            flags: Mutex::new(HashMap::new()),
            notified: Mutex::new(HashMap::new()),
            handlers: std::sync::RwLock::new(handlers),
            abort: AtomicBool::new(false),
            fatal: Mutex::new(None),
            play_ended: AtomicBool::new(false),
            no_more_hosts_shown: AtomicBool::new(false),
            play_magic: Mutex::new(Arc::new(Map::new())),
            hostvars,
            fleet_calls: Mutex::new(HashMap::new()),
        }
    }

    pub fn flags(&self, host: &str) -> HostFlags {
        self.flags
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(host)
            .copied()
            .unwrap_or_default()
    }

    pub fn set_flags(&self, host: &str, f: impl FnOnce(&mut HostFlags)) {
        let mut flags = self.flags.lock().unwrap_or_else(|p| p.into_inner());
        f(flags.entry(host.to_string()).or_default());
    }

    /// Recomputes the batch-wide magic variables (after failures or inventory changes).
    pub fn refresh_magic(&self) {
        let batch = self.batch.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let alive = |h: &&String| {
            let f = self.flags(h);
            !f.failed && !f.unreachable
        };
        let batch_alive: Vec<Value> = batch
            .iter()
            .filter(alive)
            .map(|h| Value::from(h.as_str()))
            .collect();
        let dead = self
            .shared
            .dead_hosts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let play_alive: Vec<Value> = self
            .play_hosts
            .iter()
            .filter(|h| !dead.contains(*h))
            .filter(alive)
            .map(|h| Value::from(h.as_str()))
            .collect();
        let opts = &self.shared.state.options;
        let inv = self.shared.state.inventory();
        let mut m = Map::new();
        m.insert("groups".into(), Value::Object(inv.groups_map()));
        m.insert(
            "ansible_play_batch".into(),
            Value::Array(batch_alive.clone()),
        );
        m.insert("play_hosts".into(), Value::Array(batch_alive));
        m.insert("ansible_play_hosts".into(), Value::Array(play_alive));
        m.insert(
            "ansible_play_hosts_all".into(),
            Value::Array(
                self.play_hosts_all
                    .iter()
                    .map(|h| Value::from(h.as_str()))
                    .collect(),
            ),
        );
        m.insert(
            "ansible_play_name".into(),
            Value::String(self.play.display_name()),
        );
        m.insert(
            "playbook_dir".into(),
            Value::String(self.play.playbook_dir.display().to_string()),
        );
        if let Some(dir) = inv.source_dirs.first() {
            m.insert(
                "inventory_dir".into(),
                Value::String(dir.display().to_string()),
            );
        }
        m.insert("ansible_check_mode".into(), Value::Bool(opts.check));
        m.insert("ansible_diff_mode".into(), Value::Bool(opts.diff));
        m.insert("ansible_verbosity".into(), Value::from(opts.verbosity));
        m.insert("ansible_forks".into(), Value::from(opts.forks));
        let run_tags = if opts.tags.is_empty() {
            vec!["all".to_string()]
        } else {
            opts.tags.clone()
        };
        m.insert("ansible_run_tags".into(), Value::from(run_tags));
        m.insert(
            "ansible_skip_tags".into(),
            Value::from(opts.skip_tags.clone()),
        );
        m.insert(
            "ansible_version".into(),
            serde_json::json!({
                "full": "2.19.14", "major": 2, "minor": 19, "revision": 14, "string": "2.19.14"
            }),
        );
        m.insert("omit".into(), Value::String(crate::template::OMIT.into()));
        // Playbooks pass it on as `ansible_python_interpreter`; we run no Python ourselves, so
        // it names the controller's python3 (if any) for compatibility.
        m.insert(
            "ansible_playbook_python".into(),
            Value::String(controller_python().into()),
        );
        *self.play_magic.lock().unwrap_or_else(|p| p.into_inner()) = Arc::new(m);
    }

    /// The variables `task` sees on `host`, in Ansible's precedence order (lowest first).
    pub fn scope(&self, task: Option<&Task>, host: &str, top: Map<String, Value>) -> Arc<Scope> {
        let state = &self.shared.state;
        let store = state.store(host);
        let role = task.and_then(|t| t.role.as_ref());
        let empty = Arc::new(Map::new());
        let mut layers = Vec::with_capacity(17);
        layers.push(Arc::new(host_defaults(host)));
        layers.push(self.public_roles.defaults.clone());
        layers.push(
            role.map(|r| Arc::new(r.defaults.clone()))
                .unwrap_or_else(|| empty.clone()),
        );
        layers.push(state.inventory_vars(host, &self.play.playbook_dir));
        layers.push(state.facts_layer(host));
        layers.push(self.play_vars.clone());
        layers.push(self.vars_files_of(host));
        layers.push(self.public_roles.vars.clone());
        layers.push(
            role.map(|r| Arc::new(r.vars.clone()))
                .unwrap_or_else(|| empty.clone()),
        );
        if let Some(t) = task {
            layers.push(Arc::new(t.keywords.vars.clone()));
        }
        layers.push(store.include_vars);
        let set_facts_layer = layers.len();
        layers.push(store.set_facts);
        if let Some(r) = role {
            layers.push(Arc::new(r.params.clone()));
        }
        if let Some(t) = task.filter(|t| !t.keywords.include_params.is_empty()) {
            layers.push(Arc::new(t.keywords.include_params.clone()));
        }
        layers.push(state.extra_vars.clone());
        layers.push(
            self.play_magic
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
        );
        let mut magic = Map::new();
        magic.insert("inventory_hostname".into(), Value::String(host.to_string()));
        magic.insert(
            "inventory_hostname_short".into(),
            Value::String(host.split('.').next().unwrap_or(host).to_string()),
        );
        magic.insert(
            "group_names".into(),
            Value::from(state.inventory().group_names(host)),
        );
        if let Some(r) = role {
            magic.insert("role_name".into(), Value::String(r.name.clone()));
            magic.insert("ansible_role_name".into(), Value::String(r.name.clone()));
            magic.insert(
                "role_path".into(),
                Value::String(r.path.display().to_string()),
            );
        }
        layers.push(Arc::new(magic));
        if !top.is_empty() {
            layers.push(Arc::new(top));
        }
        Scope::new(layers, vec![("hostvars".into(), self.hostvars.clone())])
            .with_literal(set_facts_layer)
    }

    /// Runs the play over all its batches.
    pub fn run(&mut self) -> Result<PlayEnd> {
        let cb = self.shared.callback;
        let opts = &self.shared.state.options;
        let raw_name = self.play.display_name();
        let name = render_play_field(self.play, &self.shared.state.extra_vars, &raw_name)
            .unwrap_or(raw_name);
        cb.play_start(&name, opts.check);
        cb.play_details(Some(&self.play.origin.to_string()));
        if self.play_hosts.is_empty() {
            cb.no_hosts_matched();
            return Ok(PlayEnd::Continue);
        }
        let batches = self.plan_batches()?;
        let mut end = PlayEnd::Continue;
        for (i, batch) in batches.iter().enumerate() {
            if self.play_ended.load(Ordering::SeqCst) {
                break;
            }
            if i > 0 {
                cb.play_start(&name, opts.check);
            }
            *self.batch.lock().unwrap_or_else(|p| p.into_inner()) = batch.clone();
            self.abort.store(false, Ordering::SeqCst);
            self.refresh_magic();
            self.load_vars_files(batch)?;
            end = self.run_batch(batch);
            if let Some(e) = self.fatal.lock().unwrap_or_else(|p| p.into_inner()).take() {
                return Err(e);
            }
            // With `serial`, a batch where every host failed stops the play.
            if end == PlayEnd::AllFailed {
                break;
            }
        }
        Ok(end)
    }

    /// The play's batches: `serial`, kept inside failure domains when the play (or `-e`)
    /// sets `yiqiu_batch_by` to a host variable such as `yiqiu_zone`.
    fn plan_batches(&self) -> Result<Vec<Vec<String>>> {
        let Some(var) = self.batch_by()? else {
            return Ok(batches(&self.play_hosts, &self.play.serial));
        };
        let domains = self
            .play_hosts
            .iter()
            .map(|h| self.domain_of(h, &var))
            .collect::<Result<Vec<_>>>()?;
        Ok(domain_batches(
            &self.play_hosts,
            &self.play.serial,
            &domains,
        ))
    }

    /// `yiqiu_batch_by` (extra vars win over play vars); null or empty turns it off.
    fn batch_by(&self) -> Result<Option<String>> {
        let value = self
            .shared
            .state
            .extra_vars
            .get(BATCH_BY)
            .or_else(|| self.play.vars.get(BATCH_BY));
        let name = match value {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => return Ok(None),
            Some(Value::String(s)) => s.trim().to_string(),
            Some(other) => other.to_string(),
        };
        let plain = name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !plain {
            return Err(Error::other(format!(
                "{BATCH_BY} must name a host variable, such as yiqiu_zone or yiqiu_area; got '{name}'"
            ))
            .at(Some(&self.play.origin))
            .with_help("Write the variable's name without braces: yiqiu_batch_by: yiqiu_zone"));
        }
        Ok(Some(name))
    }

    /// A host's failure domain: the value of its inventory variable `var`.
    fn domain_of(&self, host: &str, var: &str) -> Result<String> {
        let vars = self
            .shared
            .state
            .inventory_vars(host, &self.play.playbook_dir);
        match vars.get(var) {
            Some(v) if !v.is_null() => Ok(crate::template::pyfmt::to_str(v)),
            _ => Err(Error::other(format!(
                "host {host} has no variable {var}, which {BATCH_BY} batches by"
            ))
            .at(Some(&self.play.origin))
            .with_help(format!(
                "Set {var} for the host in the inventory (the host cloud inventory sets yiqiu_zone, yiqiu_region, yiqiu_area and yiqiu_type), or leave the host out of the play."
            ))),
        }
    }

    pub fn alive(&self, hosts: &[String]) -> Vec<String> {
        hosts
            .iter()
            .filter(|h| {
                let f = self.flags(h);
                !f.failed && !f.unreachable && !f.ended
            })
            .cloned()
            .collect()
    }

    fn run_batch(&self, batch: &[String]) -> PlayEnd {
        let opts = &self.shared.state.options;
        let gather = match &self.play.gather_facts {
            Some(v) => crate::modules::args::to_bool(v).unwrap_or(true),
            None => opts.gathering != "explicit",
        };
        if gather && crate::modules::registry::find("setup").is_some() {
            let task = Arc::new(Task {
                name: Some("Gathering Facts".into()),
                action: "setup".into(),
                origin: self.play.origin.clone(),
                keywords: self.play.keywords.clone(),
                file_dir: self.play.playbook_dir.clone(),
                ..Task::default()
            });
            let mut gather_task = (*task).clone();
            gather_task.keywords.tags.push("always".into());
            let mut hosts = self.alive(batch);
            if opts.gathering == "smart" {
                // Gather once per host per run.
                hosts.retain(|h| self.shared.state.store(h).facts.is_empty());
            }
            let failed = if hosts.is_empty() {
                Vec::new()
            } else {
                self.run_task(&Arc::new(gather_task), &hosts, false)
            };
            self.mark_failed(&failed);
        }
        let sections: [&[Item]; 3] = [&self.play.pre_tasks, &self.play.roles, &self.play.tasks];
        for (i, section) in sections.iter().enumerate() {
            let hosts = self.alive(batch);
            if hosts.is_empty() || self.abort.load(Ordering::SeqCst) {
                break;
            }
            let failed = self.run_items(section, &hosts, false);
            self.mark_failed(&failed);
            // Handlers flush after pre_tasks and after roles+tasks.
            if i != 1 {
                self.implicit_flush(batch);
            }
        }
        if !self.abort.load(Ordering::SeqCst) && !self.alive(batch).is_empty() {
            let failed = self.run_items(&self.play.post_tasks, &self.alive(batch), false);
            self.mark_failed(&failed);
            self.implicit_flush(batch);
        }
        // Forced handlers still run when every host failed before a flush point (nothing
        // left notified makes this a no-op).
        if self.play.force_handlers.unwrap_or(opts.force_handlers) {
            self.flush_handlers(batch, false);
        }
        let all_failed = batch.iter().all(|h| {
            let f = self.flags(h);
            f.failed || f.unreachable
        });
        {
            let mut dead = self
                .shared
                .dead_hosts
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            for h in batch {
                let f = self.flags(h);
                if f.failed || f.unreachable {
                    dead.insert(h.clone());
                }
            }
        }
        if all_failed {
            PlayEnd::AllFailed
        } else {
            PlayEnd::Continue
        }
    }

    fn mark_failed(&self, hosts: &[String]) {
        for h in hosts {
            self.set_flags(h, |f| f.failed = true);
        }
        if !hosts.is_empty() {
            self.refresh_magic();
        }
    }

    /// Runs a task list for `hosts` (linear: each task on all hosts before the next).
    /// Returns the hosts that failed during it.
    pub fn run_items(&self, items: &[Item], hosts: &[String], rescuable: bool) -> Vec<String> {
        if self.play.strategy == "free" && hosts.len() > 1 {
            return self.run_items_free(items, hosts, rescuable);
        }
        let mut failed: Vec<String> = Vec::new();
        let mut cleared_at: HashMap<String, u32> = HashMap::new();
        for item in items {
            // From all the hosts each time: `meta: clear_host_errors` brings unreachable
            // hosts back.
            let alive: Vec<String> = hosts
                .iter()
                .filter(|h| {
                    let f = self.flags(h);
                    // A host that failed in this list does not come back to it, even
                    // when its errors are cleared (its iterator state is complete).
                    !f.unreachable && !f.ended && !cleared_at.contains_key(*h)
                })
                .cloned()
                .collect();
            if self.abort.load(Ordering::SeqCst) {
                break;
            }
            // Ansible 2.19's linear strategy says `NO MORE HOSTS LEFT` only when
            // any_errors_fatal or max_fail_percentage ends the play, not when every host failed.
            if alive.is_empty() {
                break;
            }
            let newly = match item {
                Item::Task(t) => self.run_task(t, &alive, rescuable),
                Item::Block(b) => self.run_block(b, &alive, rescuable),
            };
            let any_failed = !newly.is_empty();
            for h in newly {
                if !failed.contains(&h) {
                    cleared_at.insert(h.clone(), self.flags(&h).errors_cleared);
                    failed.push(h);
                }
            }
            // any_errors_fatal under a rescue: Ansible marks every other host failed at this
            // point too (`mark_host_failed`), so they all go to the rescue (not counted as
            // failed in the recap).
            if any_failed && rescuable && self.play.any_errors_fatal {
                for h in &alive {
                    if !failed.contains(h) {
                        cleared_at.insert(h.clone(), self.flags(h).errors_cleared);
                        failed.push(h.clone());
                    }
                }
            }
            // `meta: clear_host_errors` forgives the hosts that failed before it: they do
            // not count as failed in this list.
            failed.retain(|h| cleared_at.get(h) == Some(&self.flags(h).errors_cleared));
            self.check_fail_limits(&failed, rescuable);
        }
        failed
    }

    /// Free strategy: each host runs through the list on its own, in parallel.
    fn run_items_free(&self, items: &[Item], hosts: &[String], rescuable: bool) -> Vec<String> {
        let failed = Mutex::new(Vec::new());
        self.shared.pool.install(|| {
            use rayon::prelude::*;
            hosts.par_iter().for_each(|h| {
                let mut host_failed = false;
                for item in items {
                    let f = self.flags(h);
                    if f.unreachable || f.ended || self.abort.load(Ordering::SeqCst) {
                        break;
                    }
                    let one = std::slice::from_ref(h);
                    let newly = match item {
                        Item::Task(t) => self.run_task(t, one, rescuable),
                        Item::Block(b) => self.run_block(b, one, rescuable),
                    };
                    if !newly.is_empty() {
                        host_failed = true;
                        break;
                    }
                }
                if host_failed {
                    failed
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push(h.clone());
                }
            });
        });
        failed.into_inner().unwrap_or_default()
    }

    /// `NO MORE HOSTS LEFT`, at most once per play.
    fn no_more_hosts(&self) {
        if !self.no_more_hosts_shown.swap(true, Ordering::SeqCst) {
            self.shared.callback.no_more_hosts();
        }
    }

    /// any_errors_fatal and max_fail_percentage end the batch early.
    fn check_fail_limits(&self, failed: &[String], rescuable: bool) {
        if failed.is_empty() || rescuable {
            return;
        }
        let batch = self.batch.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if self.play.any_errors_fatal {
            for h in &batch {
                self.set_flags(h, |f| f.failed = true);
            }
            // Unlike max_fail_percentage, no `NO MORE HOSTS LEFT` banner (as Ansible 2.19).
            self.abort.store(true, Ordering::SeqCst);
            return;
        }
        if let Some(pct) = self.play.max_fail_percentage {
            let failed_count = batch
                .iter()
                .filter(|h| failed.contains(h) || self.flags(h).failed)
                .count();
            if (failed_count as f64) * 100.0 / (batch.len().max(1) as f64) > pct {
                for h in &batch {
                    self.set_flags(h, |f| f.failed = true);
                }
                self.abort.store(true, Ordering::SeqCst);
                self.no_more_hosts();
            }
        }
    }

    fn run_block(
        &self,
        block: &crate::playbook::model::Block,
        hosts: &[String],
        rescuable: bool,
    ) -> Vec<String> {
        let has_rescue = !block.rescue.is_empty();
        let mut failed = self.run_items(&block.block, hosts, rescuable || has_rescue);
        if has_rescue && !failed.is_empty() && !self.abort.load(Ordering::SeqCst) {
            failed = self.run_items(&block.rescue, &failed, rescuable);
        }
        if !block.always.is_empty() {
            let always_hosts: Vec<String> = hosts
                .iter()
                .filter(|h| {
                    let f = self.flags(h);
                    !f.unreachable && !f.ended
                })
                .cloned()
                .collect();
            // `always` runs even when any_errors_fatal has stopped the batch.
            let aborted = self.abort.swap(false, Ordering::SeqCst);
            let cleared_before: Vec<u32> = failed
                .iter()
                .map(|h| self.flags(h).errors_cleared)
                .collect();
            let f2 = {
                let _always = InAlways::enter(&failed);
                self.run_items(&block.always, &always_hosts, rescuable)
            };
            let still_failed: Vec<bool> = failed
                .iter()
                .zip(&cleared_before)
                .map(|(h, n)| self.flags(h).errors_cleared == *n)
                .collect();
            let mut keep = still_failed.into_iter();
            failed.retain(|_| keep.next().unwrap_or(true));
            if aborted {
                self.abort.store(true, Ordering::SeqCst);
            }
            for h in f2 {
                if !failed.contains(&h) {
                    failed.push(h);
                }
            }
        }
        failed
    }

    /// Whether tags and `--start-at-task` let this task run. Templated tags are rendered
    /// with the first host's variables.
    fn selected(&self, task: &Task, hosts: &[String]) -> bool {
        // A notified handler runs whatever --tags/--skip-tags say (as Ansible 2.19).
        if task.is_handler {
            return true;
        }
        let tags = if task
            .keywords
            .tags
            .iter()
            .any(|t| crate::template::is_template(t))
        {
            let scope = hosts.first().map(|h| self.scope(Some(task), h, Map::new()));
            match scope {
                Some(scope) => render_tags(&task.keywords.tags, &scope.context()),
                None => task.keywords.tags.clone(),
            }
        } else {
            task.keywords.tags.clone()
        };
        if !self.shared.tags.should_run(&tags) {
            return false;
        }
        let mut start = self
            .shared
            .start_at
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(name) = start.as_ref() {
            let display = task.display_name();
            let plain = task.name.clone().unwrap_or_default();
            // Ansible compares the name and fnmatch-es it (`--start-at-task '*x'`).
            let glob = glob::Pattern::new(name).ok();
            let matches = |n: &str| *name == n || glob.as_ref().is_some_and(|g| g.matches(n));
            if matches(&display) || (!plain.is_empty() && matches(&plain)) {
                *start = None;
            } else {
                return false;
            }
        }
        true
    }

    /// The task's `throttle:` as a limit below the workers (`None`: none applies); it is
    /// ignored with `run_once`, as in Ansible. Templated with the first host's variables.
    fn throttle(
        &self,
        task: &Arc<Task>,
        targets: &[String],
        run_once: bool,
    ) -> crate::error::Result<Option<usize>> {
        let (Some(v), Some(first)) = (&task.keywords.throttle, targets.first()) else {
            return Ok(None);
        };
        let ctx = self.scope(Some(task), first, Map::new()).context();
        let n = super::throttle::value(v, &ctx).map_err(|why| {
            crate::error::Error::other(format!(
                "Failed to convert the throttle value to an integer: {why}"
            ))
            .at(Some(&task.origin))
        })?;
        Ok((n > 0 && !run_once && n < targets.len()).then_some(n))
    }

    /// Runs one task on `hosts`; returns the hosts that failed (not ignored).
    pub fn run_task(&self, task: &Arc<Task>, hosts: &[String], rescuable: bool) -> Vec<String> {
        if task.action == "meta" {
            return self.run_meta(task, hosts, rescuable);
        }
        if !self.selected(task, hosts) {
            return Vec::new();
        }
        let cb = self.shared.callback;
        let kind = if task.is_handler {
            TaskKind::Handler
        } else {
            TaskKind::Task
        };
        let is_include = matches!(task.action.as_str(), "include_tasks" | "include_role");
        let check = self.shared.state.options.check;
        cb.task_start(&self.banner_name(task, hosts), kind, check);
        cb.task_details(Some(&task.origin.to_string()), &task.action);
        let run_once = task
            .keywords
            .run_once
            .as_ref()
            .and_then(crate::modules::args::to_bool)
            .unwrap_or(false)
            || crate::modules::registry::find(&task.action).is_some_and(|m| m.bypass_host_loop());
        let targets: Vec<String> = if run_once {
            hosts.iter().take(1).cloned().collect()
        } else {
            hosts.to_vec()
        };
        let fleet = crate::modules::registry::find(&task.action).is_some_and(|m| m.fleet());
        if fleet {
            self.fleet_calls
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(
                    Arc::as_ptr(task) as usize,
                    super::fleet::FleetCall::new(targets.clone()),
                );
        }
        let gate = match self.throttle(task, &targets, run_once) {
            Ok(limit) => limit.map(super::throttle::Gate::new),
            Err(e) => {
                *self.fatal.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
                self.abort.store(true, Ordering::SeqCst);
                self.play_ended.store(true, Ordering::SeqCst);
                return Vec::new();
            }
        };
        let running = Mutex::new(targets.clone());
        let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
        let run_one = |h: &String| {
            let _pass = gate.as_ref().map(super::throttle::Gate::enter);
            let outcome = self.run_task_on_host(task, h, rescuable);
            running
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .retain(|x| x != h);
            (h.clone(), outcome)
        };
        let outcomes: Vec<(String, HostOutcome)> = std::thread::scope(|scope| {
            // A terminal gets a live status line while a task runs long (the callback
            // throttles it and draws nothing when stdout is not a terminal). The ticker wakes
            // at once when the task ends, so it costs no time.
            let total = targets.len();
            let running = &running;
            scope.spawn(move || {
                let tick = std::time::Duration::from_millis(250);
                let mut ticks = 0u32;
                while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                    done_rx.recv_timeout(tick)
                {
                    ticks += 1;
                    if ticks >= 4 {
                        let left: Vec<String> = running
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .iter()
                            .map(|h| crate::output::live_detail::decorate(h))
                            .collect();
                        cb.progress(total - left.len(), total, &left);
                    }
                }
            });
            let out = if targets.len() == 1 {
                vec![run_one(&targets[0])]
            } else {
                self.shared.pool.install(|| {
                    use rayon::prelude::*;
                    targets.par_iter().map(run_one).collect()
                })
            };
            drop(done_tx);
            out
        });
        if fleet {
            self.fleet_calls
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&(Arc::as_ptr(task) as usize));
        }
        if run_once {
            // The one result counts for every host of the batch (registered vars included).
            if let Some((first, outcome)) = outcomes.first() {
                if let (Some(reg), Some(data)) = (&task.register, outcome.registered.as_ref()) {
                    for h in hosts.iter().filter(|h| *h != first) {
                        self.shared.state.update_store(h, |s| {
                            s.register(reg, Value::Object(data.clone()));
                        });
                    }
                }
            }
        }
        let mut failed = Vec::new();
        let mut includes: Vec<(String, IncludeRequest)> = Vec::new();
        for (host, outcome) in outcomes {
            if outcome.failed {
                failed.push(host.clone());
                if !rescuable {
                    // Flag it now so a later flush_handlers in this section leaves it out.
                    self.set_flags(&host, |f| f.failed = true);
                }
            }
            if outcome.unreachable {
                self.set_flags(&host, |f| f.unreachable = true);
            }
            for inc in outcome.includes {
                includes.push((host.clone(), inc));
            }
            if let Some(meta) = outcome.meta {
                self.apply_host_meta(&meta, &host);
            }
        }
        if is_include && !includes.is_empty() {
            let inc_failed = self.run_includes(includes, rescuable);
            for h in inc_failed {
                if !failed.contains(&h) {
                    failed.push(h);
                }
            }
        }
        if !failed.is_empty() {
            self.refresh_magic();
        }
        failed
    }

    fn banner_name(&self, task: &Task, hosts: &[String]) -> String {
        // Names may use variables; render with the first host's vars (as Ansible does).
        let name = task.display_name();
        if !crate::template::is_template(&name) {
            return name;
        }
        let Some(h) = hosts.first() else { return name };
        let scope = self.scope(Some(task), h, Map::new());
        templar()
            .render_string(&name, &scope.context())
            .unwrap_or(name)
    }

    /// Groups include requests by file and variables, keeping first-seen order, and runs each.
    /// Includes nest at most [`MAX_INCLUDE_DEPTH`] deep.
    fn run_includes(
        &self,
        includes: Vec<(String, IncludeRequest)>,
        rescuable: bool,
    ) -> Vec<String> {
        let mut groups: Vec<(IncludeRequest, Vec<String>)> = Vec::new();
        for (host, inc) in includes {
            match groups.iter_mut().find(|(g, _)| g.same_as(&inc)) {
                Some((_, hosts)) => hosts.push(host),
                None => groups.push((inc, vec![host])),
            }
        }
        let mut failed = Vec::new();
        // Ansible announces every include of the task before running any of them.
        for (inc, hosts) in &groups {
            self.shared
                .callback
                .included_item(&inc.display_path, hosts, inc.item_label.as_deref());
        }
        for (inc, hosts) in groups {
            let hosts: Vec<String> = hosts.into_iter().filter(|h| !failed.contains(h)).collect();
            if hosts.is_empty() {
                continue;
            }
            let nested = IncludeDepth::enter(&inc.display_path);
            match nested.and_then(|_guard| {
                let items = self.load_include(&inc)?;
                Ok(self.run_items(&items, &hosts, rescuable))
            }) {
                Ok(run_failed) => {
                    for h in run_failed {
                        if !failed.contains(&h) {
                            failed.push(h);
                        }
                    }
                }
                // A parse error in the included file ends the run (Ansible re-raises it).
                Err(e) if e.exit_code() == 4 => {
                    self.shared.end_run(e);
                    self.abort.store(true, Ordering::SeqCst);
                    self.play_ended.store(true, Ordering::SeqCst);
                    return failed;
                }
                Err(e) => {
                    for h in &hosts {
                        let mut data = Map::new();
                        data.insert("failed".into(), Value::Bool(true));
                        data.insert("msg".into(), Value::String(e.to_string()));
                        let r = super::result::TaskResult::new(h.clone(), Status::Failed, data);
                        self.shared
                            .callback
                            .host_result(&r, self.shared.state.options.verbosity);
                        self.shared.stat(h, |s| s.failed += 1);
                        if !rescuable {
                            self.shared
                                .failed_hosts
                                .lock()
                                .unwrap_or_else(|p| p.into_inner())
                                .insert(h.clone());
                        }
                        failed.push(h.clone());
                    }
                }
            }
        }
        failed
    }

    fn load_include(&self, inc: &IncludeRequest) -> Result<Vec<Item>> {
        let loader = self.shared.loader;
        let mut ctx = Context {
            keywords: inc.keywords.clone(),
            role: inc.role.clone(),
            file_dir: inc.file_dir.clone(),
            playbook_dir: self.play.playbook_dir.clone(),
            is_handler: inc.from_handler,
            stack: Vec::new(),
            play_vars: self.play.vars.clone(),
            seen_roles: Default::default(),
        };
        if let Some(role) = &inc.role_spec {
            let mut handlers = Vec::new();
            let at = crate::yaml::Node {
                value: crate::yaml::NodeValue::Null,
                origin: inc.origin.clone(),
            };
            ctx.keywords = merge_keywords(&ctx.keywords, &Default::default());
            let items = loader.expand_included_role(
                role,
                &ctx,
                &self.public_roles.ran_in_roles_section,
                &mut handlers,
                &at,
            )?;
            self.add_handlers(&handlers);
            return Ok(items);
        }
        loader.include_tasks(&inc.path, &ctx)
    }

    /// Handlers an `include_role` brought in join the play's list (once: including the same
    /// role again does not duplicate them), as Ansible's `update_handler_list` does.
    fn add_handlers(&self, items: &[Item]) {
        let mut new = Vec::new();
        flatten_handlers(items, &mut new);
        let mut list = self.handlers.write().unwrap_or_else(|p| p.into_inner());
        for h in new {
            let same = |x: &Arc<Task>| {
                x.origin.to_string() == h.origin.to_string()
                    && x.role.as_ref().map(|r| &r.name) == h.role.as_ref().map(|r| &r.name)
            };
            if list.iter().any(same) {
                continue;
            }
            // Notifications are resolved by name when handlers run, so the newest
            // definition of a name takes the pending ones of the older.
            if let Some(old) = h
                .name
                .as_ref()
                .and_then(|name| list.iter().rposition(|x| x.name.as_ref() == Some(name)))
            {
                let mut n = self.notified.lock().unwrap_or_else(|p| p.into_inner());
                if let Some(hosts) = n.remove(&old) {
                    n.insert(list.len(), hosts);
                }
            }
            list.push(h);
        }
    }

    fn handler_list(&self) -> Vec<Arc<Task>> {
        self.handlers
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Notifies `names` for `host`, as Ansible 2.19's `search_handlers_by_notification`: a
    /// name (plain or `role : name`) picks one handler, the first in [`handler_search_order`];
    /// `listen` topics pick every listener, one per handler name.
    pub fn notify(
        &self,
        task: &Task,
        host: &str,
        names: &[String],
    ) -> std::result::Result<(), String> {
        let _ = task;
        let list = self.handler_list();
        let order = handler_search_order(&list);
        for name in names {
            let by_name = order.iter().copied().find(|&i| {
                let h = &list[i];
                let Some(hname) = self.handler_name(h, host) else {
                    return false;
                };
                hname == *name || role_qualified(h, &hname, name)
            });
            let mut picked: Vec<usize> = by_name.into_iter().collect();
            let mut seen: Vec<Option<String>> = Vec::new();
            for &i in &order {
                let h = &list[i];
                // A role's handler also listens on `role : topic`.
                if h.listen
                    .iter()
                    .any(|l| l == name || role_qualified(h, l, name))
                {
                    if h.name.is_some() && seen.contains(&h.name) {
                        continue;
                    }
                    seen.push(h.name.clone());
                    if !picked.contains(&i) {
                        picked.push(i);
                    }
                }
            }
            if picked.is_empty() {
                let msg = format!(
                    "The requested handler '{name}' was not found in either the main handlers list nor in the listening handlers list"
                );
                // ANSIBLE_ERROR_ON_MISSING_HANDLER=false: a warning, and the other names count.
                // Otherwise the run ends here, as Ansible's strategy raises it.
                if self.shared.state.options.error_on_missing_handler {
                    self.shared.end_run(Error::other(msg.clone()));
                    self.abort.store(true, Ordering::SeqCst);
                    self.play_ended.store(true, Ordering::SeqCst);
                    return Err(msg);
                }
                self.shared.callback.warning(&msg);
                continue;
            }
            let mut n = self.notified.lock().unwrap_or_else(|p| p.into_inner());
            for i in picked {
                let hosts = n.entry(i).or_default();
                if !hosts.iter().any(|x| x == host) {
                    hosts.push(host.to_string());
                }
            }
        }
        Ok(())
    }

    /// A handler's name as notifications match it: templated for the host (its `listen`
    /// topics are not, as in Ansible).
    /// A name that does not render leaves the handler out, with Ansible's warning when it
    /// has no `listen` topics either.
    fn handler_name(&self, h: &Arc<Task>, host: &str) -> Option<String> {
        let raw = h.name.clone().unwrap_or_default();
        if !crate::template::is_template(&raw) {
            return Some(raw);
        }
        let ctx = self.scope(Some(h), host, Map::new()).context();
        match templar().render_string(&raw, &ctx) {
            Ok(name) => Some(name),
            Err(e) => {
                if h.listen.is_empty() {
                    self.shared.callback.warning(&format!(
                        "Handler '{raw}' is unusable because it has no listen topics and the name could not be templated (host-specific variables are not supported in handler names). The error: {}",
                        e.message
                    ));
                }
                None
            }
        }
    }

    /// The implicit `meta: flush_handlers` after a section. Ansible tags it `always` under
    /// the play's tags, and its `ANSIBLE_DEBUG` log says per host whether it triggers.
    fn implicit_flush(&self, batch: &[String]) {
        let mut tags = self.play.keywords.tags.clone();
        tags.push("always".into());
        if crate::output::debug_log::enabled() && self.shared.tags.should_run(&tags) {
            let notified = self
                .notified
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone();
            for h in self.alive(batch) {
                if notified.values().any(|hosts| hosts.contains(&h)) {
                    crate::output::debug_log::line(&format!(
                        "META: triggered running handlers for {h}"
                    ));
                } else {
                    crate::output::debug_log::line(&format!(
                        "No handler notifications for {h}, skipping."
                    ));
                }
            }
        }
        self.flush_handlers(batch, false);
    }

    /// Runs notified handlers in the order they are defined, each once. Returns the hosts
    /// whose handlers failed; inside a block with `rescue` they go to the rescue.
    pub fn flush_handlers(&self, batch: &[String], rescuable: bool) -> Vec<String> {
        if self.shared.run_ended() {
            return Vec::new();
        }
        let mut all_failed: Vec<String> = Vec::new();
        // An explicit `force_handlers:` on the play beats the command line (Ansible's play
        // attribute only defaults to --force-handlers).
        let force = self
            .play
            .force_handlers
            .unwrap_or(self.shared.state.options.force_handlers);
        // By index: a handler that includes a role may append handlers while this runs.
        let mut next = 0;
        while let Some(handler) = self.handler_list().get(next).cloned() {
            let i = next;
            next += 1;
            let hosts = {
                let mut n = self.notified.lock().unwrap_or_else(|p| p.into_inner());
                n.remove(&i).unwrap_or_default()
            };
            // In the play's host order, not the order notifications arrived (Ansible runs a
            // handler on the play's hosts that were notified: `run_once` picks the first).
            let hosts: Vec<String> = batch
                .iter()
                .filter(|h| hosts.contains(h))
                .filter(|h| {
                    let f = self.flags(h);
                    !f.unreachable && !f.ended && (force || !f.failed || InAlways::covers(h))
                })
                .cloned()
                .collect();
            if hosts.is_empty() {
                continue;
            }
            let failed = self.run_task(&handler, &hosts, rescuable);
            if !rescuable {
                self.mark_failed(&failed);
            }
            self.check_fail_limits(&failed, rescuable);
            for h in failed {
                if !all_failed.contains(&h) {
                    all_failed.push(h);
                }
            }
        }
        all_failed
    }

    fn run_meta(&self, task: &Arc<Task>, hosts: &[String], rescuable: bool) -> Vec<String> {
        let action = task
            .args
            .get("_raw_params")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .trim()
            .to_string();
        if !self.selected(task, hosts) {
            return Vec::new();
        }
        let cb = self.shared.callback;
        // As Ansible's linear strategy: host-level actions are evaluated for each host, the
        // others once, for the first host (`run_once`), and apply to the whole batch. At -vv
        // each evaluation says `META: what it did` (or why it was skipped).
        let per_host = matches!(
            action.as_str(),
            "noop" | "reset_connection" | "end_host" | "flush_handlers"
        );
        let candidates = if per_host {
            hosts
        } else {
            &hosts[..hosts.len().min(1)]
        };
        let mut selected = Vec::new();
        for (i, h) in candidates.iter().enumerate() {
            // Ansible starts the task (and prints its banner) again for each host of a
            // host-level meta action.
            if i == 0 || per_host {
                let kind = if task.is_handler {
                    TaskKind::Handler
                } else {
                    TaskKind::Task
                };
                cb.task_start(&task.display_name(), kind, self.shared.state.options.check);
                cb.task_details(Some(&task.origin.to_string()), "meta");
            }
            let ok = task.keywords.when.is_empty() || {
                let scope = self.scope(Some(task), h, Map::new());
                templar()
                    .eval_condition(&Value::Array(task.keywords.when.clone()), &scope.context())
                    .unwrap_or(false)
            };
            let (done, skip) = meta_messages(&action, h);
            if ok {
                cb.verbose(2, &format!("META: {done}"));
                selected.push(h.clone());
            } else {
                cb.verbose(2, &format!("META: {skip}"));
                let msg = if action == "end_host" {
                    format!("end_host conditional evaluated to false, continuing execution for {h}")
                } else {
                    action.clone()
                };
                let mut data = Map::new();
                data.insert("msg".into(), Value::String(msg));
                data.insert("skipped".into(), Value::Bool(true));
                data.insert("skip_reason".into(), Value::String(skip));
                let r = super::result::TaskResult::new(h.clone(), Status::Skipped, data);
                cb.host_result(&r, self.shared.state.options.verbosity);
            }
        }
        let hosts = selected;
        if hosts.is_empty() {
            return Vec::new();
        }
        match action.as_str() {
            "flush_handlers" if task.is_handler => {
                // Ansible raises it out of the strategy: the run ends.
                self.shared
                    .end_run(Error::other("flush_handlers cannot be used as a handler"));
                self.abort.store(true, Ordering::SeqCst);
                self.play_ended.store(true, Ordering::SeqCst);
            }
            "flush_handlers" => {
                let batch = self.batch.lock().unwrap_or_else(|p| p.into_inner()).clone();
                return self.flush_handlers(&batch, rescuable);
            }
            "end_play" | "end_batch" => {
                let batch = self.batch.lock().unwrap_or_else(|p| p.into_inner()).clone();
                for h in &batch {
                    self.set_flags(h, |f| f.ended = true);
                }
                self.abort.store(true, Ordering::SeqCst);
                if action == "end_play" {
                    // Later serial batches do not start either.
                    self.play_ended.store(true, Ordering::SeqCst);
                }
            }
            "end_host" => {
                for h in &hosts {
                    self.apply_host_meta("end_host", h);
                }
            }
            "clear_host_errors" => {
                // Every host of the play is forgiven, unreachable ones too (Ansible pops
                // them all from the TQM's failed and unreachable sets).
                let mut failed_hosts = self
                    .shared
                    .failed_hosts
                    .lock()
                    .unwrap_or_else(|p| p.into_inner());
                for h in &self.play_hosts {
                    self.set_flags(h, |f| {
                        f.failed = false;
                        // Ansible forgets unreachable hosts too (`_unreachable_hosts`).
                        f.unreachable = false;
                        f.errors_cleared += 1;
                    });
                    failed_hosts.remove(h);
                }
                self.shared
                    .dead_hosts
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .clear();
            }
            "refresh_inventory" => self.refresh_inventory(),
            "noop" | "reset_connection" | "clear_facts" => {
                if action == "clear_facts" {
                    for h in &hosts {
                        self.shared
                            .state
                            .update_store(h, |s| s.facts = Default::default());
                    }
                }
            }
            other => {
                self.shared
                    .callback
                    .warning(&format!("meta action '{other}' is not supported; ignored"));
            }
        }
        Vec::new()
    }

    /// Reads the inventory sources again (keeping the run's add_host / group_by changes);
    /// a source that no longer parses leaves the inventory as it was, with a warning.
    fn refresh_inventory(&self) {
        let state = &self.shared.state;
        let fresh = state.inventory().refreshed(&state.options.inventory);
        match fresh {
            Ok(inv) => *state.inventory_mut() = inv,
            Err(e) => self.shared.callback.warning(&e.to_string()),
        }
        // As Ansible resets its hosts cache: the rest of the play runs on the batch's hosts
        // that the play's pattern still selects.
        let still = super::render_pattern(&self.play.hosts, &state.extra_vars).and_then(|p| {
            super::play_hosts(&state.inventory(), &p, state.options.limit.as_deref())
        });
        if let Ok(still) = still {
            let batch = self.batch.lock().unwrap_or_else(|p| p.into_inner()).clone();
            for h in batch.iter().filter(|h| !still.contains(h)) {
                self.set_flags(h, |f| f.ended = true);
            }
        }
        self.refresh_magic();
    }

    fn apply_host_meta(&self, meta: &str, host: &str) {
        if meta == "end_host" {
            self.set_flags(host, |f| f.ended = true);
        }
    }

    pub fn playbook_dir(&self) -> PathBuf {
        self.play.playbook_dir.clone()
    }
}

/// Whether `wanted` is `role : what` for the handler's role, by its full (`ns.col.role`) or
/// short name.
fn role_qualified(h: &Task, what: &str, wanted: &str) -> bool {
    h.role.as_ref().is_some_and(|r| {
        let short = r.name.rsplit('.').next().unwrap_or(&r.name);
        wanted == format!("{} : {what}", r.name) || wanted == format!("{short} : {what}")
    })
}

/// Where a notification looks for its handler: Ansible keeps handlers in blocks (a handlers
/// file, or one `include_role` run) and searches the blocks from the last loaded to the
/// first, each block from its top. A block is approximated by the file the handlers are in.
fn handler_search_order(list: &[Arc<Task>]) -> Vec<usize> {
    let mut files: Vec<&str> = Vec::new();
    for h in list {
        if !files.contains(&&*h.origin.file) {
            files.push(&h.origin.file);
        }
    }
    files
        .iter()
        .rev()
        .flat_map(|f| (0..list.len()).filter(move |&i| &*list[i].origin.file == *f))
        .collect()
}

/// What a meta action says at -vv when it runs on `host` and when its `when` is false
/// (Ansible's `_execute_meta` messages).
fn meta_messages(action: &str, host: &str) -> (String, String) {
    let skip = format!("{action} conditional evaluated to False");
    match action {
        "flush_handlers" => (
            format!("triggered running handlers for {host}"),
            format!("{skip}, not running handlers for {host}"),
        ),
        "refresh_inventory" => ("inventory successfully refreshed".into(), skip),
        "clear_facts" => (
            "facts cleared".into(),
            format!("{skip}, not clearing facts and fact cache for {host}"),
        ),
        "clear_host_errors" => (
            "cleared host errors".into(),
            format!("{skip}, not clearing host error state for {host}"),
        ),
        "end_batch" => (
            "ending batch".into(),
            format!("{skip}, continuing current batch"),
        ),
        "end_play" => ("ending play".into(), format!("{skip}, continuing play")),
        "end_host" => (
            format!("ending play for {host}"),
            format!("{skip}, continuing execution for {host}"),
        ),
        "reset_connection" => ("reset connection".into(), skip),
        other => (other.to_string(), skip),
    }
}

thread_local! {
    /// Hosts whose block or rescue failed, while their `always` section runs on this
    /// thread (innermost last).
    static IN_ALWAYS: std::cell::RefCell<Vec<Vec<String>>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// An `always` section being run: Ansible does not count its hosts' earlier failure
/// (`fail_state` of block or rescue) as failed there, so its handlers still flush for them.
struct InAlways;

impl InAlways {
    fn enter(failed: &[String]) -> InAlways {
        IN_ALWAYS.with(|s| s.borrow_mut().push(failed.to_vec()));
        InAlways
    }

    fn covers(host: &str) -> bool {
        IN_ALWAYS.with(|s| {
            s.borrow()
                .iter()
                .any(|hosts| hosts.iter().any(|h| h == host))
        })
    }
}

impl Drop for InAlways {
    fn drop(&mut self) {
        IN_ALWAYS.with(|s| {
            s.borrow_mut().pop();
        });
    }
}

/// How deep `include_tasks` / `include_role` may nest. ansible-playbook has no limit of its
/// own and dies of Python's recursion limit after about 250, with a traceback.
pub const MAX_INCLUDE_DEPTH: usize = 100;

thread_local! {
    /// The includes being run on this thread, outermost first (each strategy runs an include
    /// and everything it includes on one thread).
    static INCLUDE_CHAIN: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// One level of include nesting; leaving it pops the chain.
struct IncludeDepth;

impl IncludeDepth {
    fn enter(path: &str) -> Result<IncludeDepth> {
        INCLUDE_CHAIN.with(|c| {
            let mut chain = c.borrow_mut();
            if chain.len() >= MAX_INCLUDE_DEPTH {
                let mut shown: Vec<&str> = chain.iter().take(4).map(String::as_str).collect();
                shown.push("...");
                shown.push(path);
                return Err(crate::error::Error::other(format!(
                    "Includes nest deeper than {MAX_INCLUDE_DEPTH} levels: {}. An include that includes itself needs a condition that ends it.",
                    shown.join(" -> ")
                )));
            }
            chain.push(path.to_string());
            Ok(IncludeDepth)
        })
    }
}

impl Drop for IncludeDepth {
    fn drop(&mut self) {
        INCLUDE_CHAIN.with(|c| {
            c.borrow_mut().pop();
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn serial_sizes_and_lists() {
        let hosts = names(&["a", "b", "c", "d", "e"]);
        assert_eq!(batches(&hosts, &[json!(2)]).len(), 3);
        assert_eq!(
            batches(&hosts, &[json!(1), json!("40%")]),
            vec![names(&["a"]), names(&["b", "c"]), names(&["d", "e"])]
        );
        assert_eq!(batches(&hosts, &[]), vec![hosts.clone()]);
    }

    #[test]
    fn domain_batches_stay_in_their_domain() {
        let hosts = names(&["a1", "b1", "a2", "a3", "b2", "c1"]);
        let zones = names(&["za", "zb", "za", "za", "zb", "zc"]);
        assert_eq!(
            domain_batches(&hosts, &[json!(2)], &zones),
            vec![
                names(&["a1", "a2"]),
                names(&["a3"]),
                names(&["b1", "b2"]),
                names(&["c1"])
            ]
        );
        assert_eq!(
            domain_batches(&hosts, &[], &zones),
            vec![
                names(&["a1", "a2", "a3"]),
                names(&["b1", "b2"]),
                names(&["c1"])
            ]
        );
        // The serial list moves on across domains; percentages count the whole play.
        assert_eq!(
            domain_batches(&hosts, &[json!(1), json!("50%")], &zones),
            vec![
                names(&["a1"]),
                names(&["a2", "a3"]),
                names(&["b1", "b2"]),
                names(&["c1"])
            ]
        );
    }
}
