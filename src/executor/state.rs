//! What the run remembers across tasks and plays: the inventory (which `add_host` changes),
//! per-host facts, `set_fact`/`register` results and `include_vars`, and the run options.

use crate::inventory::Inventory;
use crate::vars::scope::{to_mj, Scope};
use minijinja::value::{Enumerator, Object, ObjectRepr};
use minijinja::Value as MjValue;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};

/// Options that shape a run, resolved from the command line, environment and ansible.cfg.
#[derive(Clone, Debug)]
pub struct RunOptions {
    pub inventory: Vec<PathBuf>,
    pub extra_vars: Map<String, Value>,
    pub tags: Vec<String>,
    pub skip_tags: Vec<String>,
    pub limit: Option<String>,
    pub forks: usize,
    pub check: bool,
    pub diff: bool,
    pub verbosity: u8,
    pub start_at_task: Option<String>,
    pub remote_user: Option<String>,
    pub connection: Option<String>,
    pub become_: bool,
    pub become_user: Option<String>,
    pub become_method: Option<String>,
    pub become_password: Option<String>,
    pub timeout: u64,
    /// `implicit` (gather unless told not to), `explicit`, `smart`.
    pub gathering: String,
    pub force_handlers: bool,
    /// Notifying a handler that does not exist fails the task (Ansible's default).
    pub error_on_missing_handler: bool,
    pub roles_path: Vec<PathBuf>,
    pub private_key_file: Option<String>,
    pub host_key_checking: bool,
    pub display_skipped_hosts: bool,
    pub deprecation_warnings: bool,
    pub display_ok_hosts: bool,
    pub show_custom_stats: bool,
    /// ansible.cfg `ssh_args`, `--ssh-common-args`, `--ssh-extra-args`.
    pub ssh_args: Option<String>,
    pub ssh_common_args: Option<String>,
    pub ssh_extra_args: Option<String>,
    /// ansible.cfg `[inventory] unparsed_is_failed` / `any_unparsed_is_failed`.
    pub inventory_unparsed: crate::inventory::UnparsedPolicy,
    /// `[inventory] enable_plugins` and the other settings of inventory parsing.
    pub inventory_settings: crate::inventory::LoadSettings,
    /// `fact_caching` and its settings, `--flush-cache`.
    pub fact_cache: super::fact_cache::FactCacheSettings,
}

impl Default for RunOptions {
    fn default() -> RunOptions {
        RunOptions {
            inventory: Vec::new(),
            extra_vars: Map::new(),
            tags: Vec::new(),
            skip_tags: Vec::new(),
            limit: None,
            forks: 50,
            check: false,
            diff: false,
            verbosity: 0,
            start_at_task: None,
            remote_user: None,
            connection: None,
            become_: false,
            become_user: None,
            become_method: None,
            become_password: None,
            timeout: 10,
            gathering: "implicit".into(),
            force_handlers: false,
            error_on_missing_handler: true,
            roles_path: Vec::new(),
            private_key_file: None,
            host_key_checking: true,
            display_skipped_hosts: true,
            deprecation_warnings: true,
            display_ok_hosts: true,
            show_custom_stats: false,
            ssh_args: None,
            ssh_common_args: None,
            ssh_extra_args: None,
            inventory_unparsed: crate::inventory::UnparsedPolicy::default(),
            inventory_settings: Default::default(),
            fact_cache: Default::default(),
        }
    }
}

/// One layer of variables, shared cheaply between scopes.
pub type VarsLayer = Arc<Map<String, Value>>;

impl HostStore {
    /// Stores a registered result under `name`.
    pub fn register(&mut self, name: &str, result: Value) {
        Arc::make_mut(&mut self.set_facts).insert(name.to_string(), result);
    }
}

/// Variables a host accumulates during the run. Layers are shared (`Arc`): every task's
/// scope takes them without copying; a change copies a layer only if a scope still holds it.
#[derive(Clone, Debug, Default)]
pub struct HostStore {
    /// Gathered facts (precedence 11), keyed without the `ansible_` prefix.
    pub facts: VarsLayer,
    /// `include_vars` (precedence 18).
    pub include_vars: VarsLayer,
    /// `set_fact` and `register` (precedence 19): results of templating and module output,
    /// data that is never templated again (2.19: results are untrusted).
    pub set_facts: VarsLayer,
    /// The facts a module returned without the `ansible_` prefix (getent's
    /// `getent_passwd`): variables under their own name, as in Ansible.
    pub bare_facts: Arc<std::collections::BTreeSet<String>>,
    /// The facts as variables (`ansible_facts` + `ansible_*`), built once per change.
    facts_vars: Option<VarsLayer>,
}

impl HostStore {
    /// A store holding facts read from the fact cache (variable names: `ansible_x` is the
    /// fact `x`, another name a fact under its own name).
    fn from_cached(vars: Map<String, Value>) -> HostStore {
        let mut store = HostStore::default();
        let facts = Arc::make_mut(&mut store.facts);
        let bare = Arc::make_mut(&mut store.bare_facts);
        for (k, v) in vars {
            match k.strip_prefix("ansible_") {
                Some(name) => {
                    facts.insert(name.to_string(), v);
                }
                None => {
                    bare.insert(k.clone());
                    facts.insert(k, v);
                }
            }
        }
        store
    }
}

pub struct RunState {
    pub options: RunOptions,
    pub inventory: RwLock<Inventory>,
    pub hosts: RwLock<HashMap<String, HostStore>>,
    pub extra_vars: Arc<Map<String, Value>>,
    /// Inventory-level vars per (host, playbook dir), computed once.
    inventory_vars: Mutex<HashMap<(String, PathBuf), VarsLayer>>,
}

impl RunState {
    pub fn new(options: RunOptions, inventory: Inventory) -> Arc<RunState> {
        let cache = &options.fact_cache;
        if cache.flush {
            cache.flush_hosts(inventory.hosts.keys());
        }
        let mut hosts = HashMap::new();
        for h in inventory.hosts.keys() {
            if let Some(facts) = cache.load(h) {
                hosts.insert(h.clone(), HostStore::from_cached(facts));
            }
        }
        Arc::new(RunState {
            extra_vars: Arc::new(options.extra_vars.clone()),
            options,
            inventory: RwLock::new(inventory),
            hosts: RwLock::new(hosts),
            inventory_vars: Mutex::new(HashMap::new()),
        })
    }

    /// Writes a host's persistent facts to the fact cache (a no-op for `memory`).
    pub fn save_facts(&self, host: &str) {
        let mut vars = (*self.facts_layer(host)).clone();
        vars.remove("ansible_facts");
        self.options.fact_cache.save(host, &vars);
    }

    pub fn inventory(&self) -> std::sync::RwLockReadGuard<'_, Inventory> {
        self.inventory.read().unwrap_or_else(|p| p.into_inner())
    }

    pub fn inventory_mut(&self) -> std::sync::RwLockWriteGuard<'_, Inventory> {
        self.inventory_vars
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        self.inventory.write().unwrap_or_else(|p| p.into_inner())
    }

    pub fn store(&self, host: &str) -> HostStore {
        self.hosts
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(host)
            .cloned()
            .unwrap_or_default()
    }

    pub fn update_store(&self, host: &str, f: impl FnOnce(&mut HostStore)) {
        let mut hosts = self.hosts.write().unwrap_or_else(|p| p.into_inner());
        let store = hosts.entry(host.to_string()).or_default();
        f(store);
        store.facts_vars = None;
    }

    /// Inventory variables (precedence 3-10) of a host.
    pub fn inventory_vars(
        &self,
        host: &str,
        playbook_dir: &std::path::Path,
    ) -> Arc<Map<String, Value>> {
        let key = (host.to_string(), playbook_dir.to_path_buf());
        if let Some(v) = self
            .inventory_vars
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
        {
            return v.clone();
        }
        let vars = match self.inventory().host_vars(host, Some(playbook_dir)) {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!("inventory vars of {host}: {e}");
                Map::new()
            }
        };
        let vars = Arc::new(vars);
        self.inventory_vars
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, vars.clone());
        vars
    }

    /// Facts as variables: `ansible_facts` and each fact as `ansible_<name>`.
    pub fn facts_layer(&self, host: &str) -> VarsLayer {
        let store = self.store(host);
        if let Some(cached) = store.facts_vars {
            return cached;
        }
        let mut out = Map::new();
        for (k, v) in store.facts.iter() {
            let name = if k.starts_with("ansible_") || store.bare_facts.contains(k) {
                k.clone()
            } else {
                format!("ansible_{k}")
            };
            out.insert(name, v.clone());
        }
        out.insert(
            "ansible_facts".into(),
            Value::Object((*store.facts).clone()),
        );
        let layer = Arc::new(out);
        let mut hosts = self.hosts.write().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = hosts.get_mut(host) {
            if Arc::ptr_eq(&s.facts, &store.facts) {
                s.facts_vars = Some(layer.clone());
            }
        }
        layer
    }

    /// The variables of a host outside any play (what `hostvars[host]` shows).
    pub fn host_scope(self: &Arc<Self>, host: &str, playbook_dir: &std::path::Path) -> Arc<Scope> {
        let store = self.store(host);
        let mut magic = Map::new();
        magic.insert("inventory_hostname".into(), Value::String(host.to_string()));
        magic.insert(
            "inventory_hostname_short".into(),
            Value::String(host.split('.').next().unwrap_or(host).to_string()),
        );
        magic.insert(
            "group_names".into(),
            Value::from(self.inventory().group_names(host)),
        );
        Scope::new(
            vec![
                Arc::new(super::play::host_defaults(host)),
                self.inventory_vars(host, playbook_dir),
                self.facts_layer(host),
                store.include_vars,
                store.set_facts,
                self.extra_vars.clone(),
                Arc::new(magic),
            ],
            vec![],
        )
        .with_literal(4)
    }
}

/// `hostvars`: every host's variables, built when first looked at.
#[derive(Debug)]
pub struct HostVars {
    pub state: Arc<RunState>,
    pub playbook_dir: PathBuf,
}

impl std::fmt::Debug for RunState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RunState")
    }
}

impl Object for HostVars {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &MjValue) -> Option<MjValue> {
        let host = key.as_str()?;
        let known = {
            let inv = self.state.inventory();
            inv.hosts.contains_key(host)
        } || self
            .state
            .hosts
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .contains_key(host);
        if !known {
            return None;
        }
        Some(self.state.host_scope(host, &self.playbook_dir).context())
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        let names: Vec<MjValue> = self
            .state
            .inventory()
            .hosts
            .keys()
            .map(|h| MjValue::from(h.as_str()))
            .collect();
        Enumerator::Values(names)
    }
}

/// Converts plain data for templates (re-exported for the executor).
pub fn mj(v: &Value) -> MjValue {
    to_mj(v)
}
