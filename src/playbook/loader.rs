//! Turns YAML nodes into plays, blocks and tasks.
//!
//! Static imports (`import_playbook`, `import_tasks`, `import_role`, `roles:`) are expanded
//! here, with the import's keywords pushed down onto every imported task. Dynamic includes stay
//! tasks; the executor calls back into [`Loader`] when it runs them.

use super::keywords::{self, closest};
use super::kv::{parse_kv, parse_kv_free_form};
use super::model::{Block, Item, Keywords, LoopSpec, Play, Playbook, RoleInstance, Task};
use super::role::{self, RoleSpec};
use crate::error::{Error, Origin, Result};
use crate::modules::registry;
use crate::yaml::{self, Node, NodeValue};
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Loads playbooks, task files and roles; caches parsed files.
#[derive(Debug, Default)]
pub struct Loader {
    pub roles_path: Vec<PathBuf>,
    /// The variables known before any play runs (the extra vars): templated
    /// `import_playbook` names are rendered with them, as Ansible does at load time.
    pub load_vars: Map<String, Value>,
    files: Mutex<HashMap<PathBuf, Arc<Node>>>,
    /// Every role instance expanded while a play loads (its static roles, tasks or not).
    expanded_roles: Mutex<Vec<Arc<RoleInstance>>>,
}

/// Where a task list is being loaded from: what imported tasks inherit and where paths resolve.
#[derive(Clone, Debug, Default)]
pub struct Context {
    pub keywords: Keywords,
    pub role: Option<Arc<RoleInstance>>,
    pub file_dir: PathBuf,
    pub playbook_dir: PathBuf,
    pub is_handler: bool,
    /// Files being imported, to report include cycles.
    pub stack: Vec<PathBuf>,
    /// The play's vars: with the load-time vars, what a templated `import_role` name sees.
    pub play_vars: Map<String, Value>,
    /// The roles the play's `roles:` and `import_role`s have expanded so far ([`role_key`]s),
    /// so that a dependency already run is not run again (Ansible's per-play role dedup).
    pub seen_roles: Arc<Mutex<HashSet<String>>>,
}

/// Ansible's parse error for a block where a handler is expected.
fn refuse_handler_blocks(list: &Node) -> Result<()> {
    for entry in list.as_seq().unwrap_or_default() {
        if entry.get("block").is_some() {
            return Err(err("Using a block as a handler is not supported.", entry));
        }
    }
    Ok(())
}

fn err(msg: impl Into<String>, node: &Node) -> Error {
    Error::parse(msg, Some(node.origin.clone()))
}

fn scalar_string(node: &Node) -> Option<String> {
    match &node.value {
        NodeValue::Str(s) => Some(s.clone()),
        NodeValue::Int(i) => Some(i.to_string()),
        NodeValue::Float(f) => Some(f.to_string()),
        NodeValue::Bool(b) => Some(if *b { "True" } else { "False" }.to_string()),
        _ => None,
    }
}

pub fn string_list(node: &Node, what: &str) -> Result<Vec<String>> {
    match &node.value {
        NodeValue::Null => Ok(Vec::new()),
        NodeValue::Seq(items) => items
            .iter()
            .map(|i| {
                scalar_string(i).ok_or_else(|| err(format!("{what} must be a list of strings"), i))
            })
            .collect(),
        _ => Ok(scalar_string(node)
            .map(|s| {
                s.split(',')
                    .map(|p| p.trim().to_string())
                    .filter(|p| !p.is_empty())
                    .collect()
            })
            .unwrap_or_default()),
    }
}

fn map_of(node: &Node, what: &str) -> Result<Map<String, Value>> {
    match node.to_json() {
        Value::Object(m) => Ok(m),
        Value::Null => Ok(Map::new()),
        _ => Err(err(
            format!("{what} must be a dictionary, got a {}", node.type_name()),
            node,
        )),
    }
}

/// Applies one keyword to `kw`, returning false if `key` is not an inheritable keyword.
pub fn set_keyword(kw: &mut Keywords, key: &str, node: &Node) -> Result<bool> {
    let v = node.to_json();
    match key {
        "when" => match (v, node.as_seq()) {
            (Value::Array(items), Some(nodes)) => {
                kw.when_origins
                    .extend(nodes.iter().map(|n| n.origin.clone()));
                kw.when.extend(items);
            }
            (Value::Null, _) => {}
            (other, _) => {
                kw.when_origins.push(node.origin.clone());
                kw.when.push(other);
            }
        },
        "tags" => {
            for t in string_list(node, "tags")? {
                if !kw.tags.contains(&t) {
                    kw.tags.push(t);
                }
            }
        }
        "vars" => {
            for (k, val) in map_of(node, "vars")? {
                kw.vars.insert(k, val);
            }
        }
        "become" => kw.become_ = Some(v),
        "become_user" => kw.become_user = Some(v),
        "become_method" => kw.become_method = Some(v),
        "become_flags" => kw.become_flags = Some(v),
        "remote_user" => kw.remote_user = Some(v),
        "connection" => kw.connection = Some(v),
        "environment" => {
            if !v.is_null() {
                kw.environment.push(v)
            }
        }
        "ignore_errors" => kw.ignore_errors = Some(v),
        "ignore_unreachable" => kw.ignore_unreachable = Some(v),
        "delegate_to" => kw.delegate_to = Some(v),
        "delegate_facts" => kw.delegate_facts = Some(v),
        "run_once" => kw.run_once = Some(v),
        "no_log" => kw.no_log = Some(v),
        "check_mode" => kw.check_mode = Some(v),
        "diff" => kw.diff = Some(v),
        "any_errors_fatal" => kw.any_errors_fatal = Some(v),
        "timeout" => kw.timeout = Some(v),
        "throttle" => kw.throttle = Some(v),
        "async" => kw.async_ = Some(v),
        "port" => kw.port = Some(v),
        "collections" => kw.collections = string_list(node, "collections")?,
        // Accepted and ignored: they change nothing in how we run.
        "module_defaults" | "debugger" | "become_exe" | "poll" => {}
        _ => return Ok(false),
    }
    Ok(true)
}

impl Loader {
    pub fn new(roles_path: Vec<PathBuf>) -> Loader {
        Loader {
            roles_path,
            load_vars: Map::new(),
            files: Mutex::new(HashMap::new()),
            expanded_roles: Mutex::new(Vec::new()),
        }
    }

    pub fn with_load_vars(mut self, vars: Map<String, Value>) -> Loader {
        self.load_vars = vars;
        self
    }

    /// A templated `import_role` name, rendered with what is known while loading: extra
    /// vars, play vars, and the vars of the enclosing blocks and the task.
    fn render_role_name(
        &self,
        name: &str,
        task: &Task,
        ctx: &Context,
        at: &Node,
    ) -> Result<String> {
        let layers = vec![
            ctx.play_vars.clone(),
            task.keywords.vars.clone(),
            self.load_vars.clone(),
        ];
        render_static_name("import_role", name, layers, at).map_err(|e| {
            e.with_help(
                "import_role is static: its name can use extra vars, play vars and task vars, not facts or registered results (use include_role for those).",
            )
        })
    }

    /// `action: "{{ name_var }} k=v"`: the module named by a leading template, rendered with
    /// the vars known at load time (role defaults and vars, play vars, extra vars), as the
    /// rest of the loader needs the module; its arguments stay templates for run time.
    fn render_action_module(&self, v: &Node, ctx: &Context) -> Result<Option<Node>> {
        let Some(text) = v.as_str().map(str::trim_start) else {
            return Ok(None);
        };
        let Some(end) = text
            .strip_prefix("{{")
            .and_then(|t| t.find("}}"))
            .map(|e| e + 4)
        else {
            return Ok(None);
        };
        let mut layers = Vec::new();
        if let Some(role) = &ctx.role {
            layers.push(role.defaults.clone());
        }
        layers.push(ctx.play_vars.clone());
        if let Some(role) = &ctx.role {
            layers.push(role.vars.clone());
        }
        layers.push(self.load_vars.clone());
        let module = render_static_name("action", &text[..end], layers, v)?;
        Ok(Some(Node {
            value: NodeValue::Str(format!("{module}{}", &text[end..])),
            origin: v.origin.clone(),
        }))
    }

    /// A templated `import_playbook` name, rendered with the load-time vars and the
    /// import's own `vars:`.
    fn render_import_name(&self, name: &str, entry: &Node, target: &Node) -> Result<String> {
        let mut vars = self.load_vars.clone();
        if let Some(v) = entry.get("vars") {
            for (k, val) in map_of(v, "vars")? {
                vars.entry(k).or_insert(val);
            }
        }
        render_static_name("import_playbook", name, vec![vars], target).map_err(|e| {
            e.with_help(
                "Only extra vars (-e) and the import's own vars are known when playbooks load.",
            )
        })
    }

    pub fn load_yaml(&self, path: &Path) -> Result<Arc<Node>> {
        let key = path.to_path_buf();
        if let Some(n) = self
            .files
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
        {
            return Ok(n.clone());
        }
        let node = Arc::new(yaml::load_file(path)?);
        self.files
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, node.clone());
        Ok(node)
    }

    /// Loads a playbook file and everything it imports statically.
    pub fn load_playbook(&self, path: &Path) -> Result<Playbook> {
        let mut plays = Vec::new();
        self.load_plays(path, &mut plays, &mut Vec::new())?;
        Ok(Playbook {
            path: path.to_path_buf(),
            plays,
        })
    }

    fn load_plays(
        &self,
        path: &Path,
        plays: &mut Vec<Arc<Play>>,
        stack: &mut Vec<PathBuf>,
    ) -> Result<()> {
        let abs = std::fs::canonicalize(path).map_err(|e| {
            Error::io(path, e)
                .with_help("Check the playbook path; it is relative to the current directory.")
        })?;
        if stack.contains(&abs) {
            return Err(Error::parse(
                format!("import_playbook cycle: {} imports itself", abs.display()),
                None,
            ));
        }
        stack.push(abs.clone());
        let root = self.load_yaml(&abs)?;
        let dir = abs.parent().map(Path::to_path_buf).unwrap_or_default();
        let entries = match &root.value {
            NodeValue::Seq(items) => items.clone(),
            NodeValue::Null => Vec::new(),
            _ => {
                return Err(err(
                    "A playbook must be a list of plays, got a ".to_string() + root.type_name(),
                    &root,
                )
                .with_help("Start each play with '- hosts: ...'."))
            }
        };
        if entries.is_empty() && stack.len() == 1 {
            return Err(Error::parse(
                format!(
                    "A playbook must contain at least one play: {}",
                    abs.display()
                ),
                Some(root.origin.clone()),
            )
            .with_help("A playbook is a list of plays, each starting with '- hosts: ...'."));
        }
        for entry in &entries {
            if entry.as_map().is_none() {
                return Err(err(
                    format!("A play must be a dictionary, got a {}", entry.type_name()),
                    entry,
                ));
            }
            let import = entry
                .get("import_playbook")
                .or_else(|| entry.get("ansible.builtin.import_playbook"));
            if let Some(target) = import {
                let name = scalar_string(target)
                    .ok_or_else(|| err("import_playbook needs a file name", target))?;
                let name = if crate::template::is_template(&name) {
                    self.render_import_name(&name, entry, target)?
                } else {
                    name
                };
                let first_new = plays.len();
                self.load_plays(&dir.join(name), plays, stack)?;
                // `vars:` on the import reach every imported play (the play's own vars win).
                if let Some(vars) = entry.get("vars") {
                    let vars = map_of(vars, "vars")?;
                    for play in &mut plays[first_new..] {
                        let p = Arc::make_mut(play);
                        for (k, v) in &vars {
                            p.vars.entry(k.clone()).or_insert_with(|| v.clone());
                        }
                    }
                }
                continue;
            }
            plays.push(Arc::new(self.load_play(entry, &dir)?));
        }
        stack.pop();
        Ok(())
    }

    fn load_play(&self, node: &Node, dir: &Path) -> Result<Play> {
        let mut play = Play {
            origin: node.origin.clone(),
            playbook_dir: dir.to_path_buf(),
            strategy: "linear".into(),
            order: "inventory".into(),
            ..Play::default()
        };
        let pairs = node.as_map().unwrap_or_default();
        let mut has_hosts = false;
        for (k, v) in pairs {
            let key = k.key_string();
            match key.as_str() {
                "name" => play.name = scalar_string(v),
                "hosts" => {
                    has_hosts = true;
                    play.hosts = match &v.value {
                        NodeValue::Seq(_) => string_list(v, "hosts")?.join(","),
                        _ => scalar_string(v).unwrap_or_default(),
                    };
                }
                "vars" => play.vars = map_of(v, "vars")?,
                "vars_files" => {
                    play.vars_files = match v.to_json() {
                        Value::Array(items) => items,
                        Value::Null => Vec::new(),
                        other => vec![other],
                    }
                }
                "gather_facts" => play.gather_facts = Some(v.to_json()),
                "serial" => {
                    play.serial = match v.to_json() {
                        Value::Array(items) => items,
                        Value::Null => Vec::new(),
                        other => vec![other],
                    }
                }
                "strategy" => play.strategy = scalar_string(v).unwrap_or_else(|| "linear".into()),
                "any_errors_fatal" => {
                    play.any_errors_fatal =
                        crate::modules::args::to_bool(&v.to_json()).unwrap_or(false);
                    set_keyword(&mut play.keywords, &key, v)?;
                }
                "max_fail_percentage" => {
                    play.max_fail_percentage = match v.to_json() {
                        Value::Number(n) => n.as_f64(),
                        Value::String(s) => s.trim_end_matches('%').parse().ok(),
                        _ => None,
                    }
                }
                "force_handlers" => {
                    play.force_handlers = crate::modules::args::to_bool(&v.to_json())
                }
                "order" => play.order = scalar_string(v).unwrap_or_else(|| "inventory".into()),
                "pre_tasks" | "tasks" | "post_tasks" | "handlers" | "roles" => {}
                "vars_prompt" => {
                    // No prompting: each prompt's default becomes a play var (what Ansible does
                    // without a terminal); extra vars still override it.
                    for entry in v.as_seq().unwrap_or_default() {
                        if entry.get("name").is_none() {
                            return Err(err(
                                "Invalid vars_prompt data structure, missing 'name' key",
                                entry,
                            ));
                        }
                        let name = entry.get("name").and_then(scalar_string);
                        let default = entry.get("default").map(Node::to_json);
                        if let (Some(name), Some(default)) = (name, default) {
                            play.vars.entry(name).or_insert(default);
                        }
                    }
                }
                "gather_subset" | "gather_timeout" | "fact_path" => {}
                // The old name of a play's `remote_user`; both at once is an error.
                "user" => {
                    if pairs.iter().any(|(k2, _)| k2.key_string() == "remote_user") {
                        return Err(err(
                            "both 'user' and 'remote_user' are set for this play. The use of 'user' is deprecated, and should be removed",
                            k,
                        ));
                    }
                    set_keyword(&mut play.keywords, "remote_user", v)?;
                }
                other => {
                    if other == "when" {
                        return Err(err("'when' is not a valid attribute for a Play", k)
                            .with_help("Put the condition on the tasks, or use a block."));
                    }
                    if !set_keyword(&mut play.keywords, other, v)? {
                        let hint = closest(other, keywords::PLAY)
                            .map(|c| format!(" Did you mean '{c}'?"))
                            .unwrap_or_default();
                        return Err(err(
                            format!("'{other}' is not a valid attribute for a Play.{hint}"),
                            k,
                        ));
                    }
                }
            }
        }
        if !has_hosts {
            return Err(err("the field 'hosts' is required but was not set", node)
                .with_help("Every play needs 'hosts:', e.g. 'hosts: all'."));
        }
        if play.hosts.trim().is_empty() {
            return Err(err(
                "Hosts list cannot be empty. Please check your playbook",
                node,
            )
            .with_help("Give the play a host pattern, e.g. 'hosts: all'."));
        }
        let ctx = Context {
            keywords: play.keywords.clone(),
            role: None,
            file_dir: dir.to_path_buf(),
            playbook_dir: dir.to_path_buf(),
            is_handler: false,
            stack: Vec::new(),
            play_vars: play.vars.clone(),
            seen_roles: Default::default(),
        };
        let mut seen_roles = HashSet::new();
        // Ansible's handler list: the `roles:` roles' handlers, the play's own, then those of
        // `import_role`s in the task sections (the order they run and are searched in).
        let mut role_handlers = Vec::new();
        let mut import_handlers = Vec::new();
        for section in ["pre_tasks", "tasks", "post_tasks", "handlers"] {
            if let Some(n) = node
                .get(section)
                .filter(|n| !matches!(n.value, NodeValue::Seq(_) | NodeValue::Null))
            {
                return Err(err(
                    format!(
                        "A malformed block was encountered while loading {section}: {} should be a list or None but is <class '{}'>",
                        crate::template::pyfmt::to_str(&n.to_json()),
                        crate::template::filters::type_name(&n.to_json())
                    ),
                    n,
                ));
            }
        }
        if let Some(n) = node.get("pre_tasks") {
            play.pre_tasks = self.load_items(n, &ctx, &mut import_handlers)?;
        }
        if let Some(n) = node.get("roles") {
            if !matches!(n.value, NodeValue::Seq(_) | NodeValue::Null) {
                return Err(err("A malformed role declaration was encountered.", n));
            }
            for entry in n.as_seq().unwrap_or_default() {
                let spec = RoleSpec::from_node(entry)?;
                let mut items =
                    self.expand_role(&spec, &ctx, &mut seen_roles, &mut role_handlers, entry)?;
                play.roles.append(&mut items);
            }
        }
        ctx.seen_roles
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend(seen_roles);
        if let Some(n) = node.get("tasks") {
            play.tasks = self.load_items(n, &ctx, &mut import_handlers)?;
        }
        if let Some(n) = node.get("post_tasks") {
            play.post_tasks = self.load_items(n, &ctx, &mut import_handlers)?;
        }
        play.handlers = role_handlers;
        if let Some(n) = node.get("handlers") {
            let hctx = Context {
                is_handler: true,
                ..ctx.clone()
            };
            // A handlers file (a role's, an included one) may hold blocks; the play's own
            // `handlers:` may not, nor may any block inside a handler block.
            refuse_handler_blocks(n)?;
            play.handlers
                .append(&mut self.load_items(n, &hctx, &mut Vec::new())?);
        }
        play.handlers.append(&mut import_handlers);
        // `roles:` and `import_role`s, a role without tasks (only vars/) included.
        play.static_roles = std::mem::take(
            &mut *self
                .expanded_roles
                .lock()
                .unwrap_or_else(|p| p.into_inner()),
        );
        Ok(play)
    }

    /// Expands an `include_role` at run time: the role itself always runs, but a dependency
    /// that already ran in the play with the same parameters (`already_run`, keys of
    /// [`role_key`]) is not run again, as Ansible dedupes roles within a play.
    pub fn expand_included_role(
        &self,
        spec: &RoleSpec,
        ctx: &Context,
        already_run: &HashSet<String>,
        handlers: &mut Vec<Item>,
        at: &Node,
    ) -> Result<Vec<Item>> {
        let mut seen = already_run.clone();
        let logged = self.expanded_len();
        let items = self.expand_role_itself(spec, ctx, &mut seen, handlers, at);
        // An include_role is dynamic: its roles are not the play's static ones.
        self.expanded_roles
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .truncate(logged);
        items
    }

    /// Expands a role that runs even if it ran before (an include or import of it), with
    /// `seen` deduping its dependencies.
    fn expand_role_itself(
        &self,
        spec: &RoleSpec,
        ctx: &Context,
        seen: &mut HashSet<String>,
        handlers: &mut Vec<Item>,
        at: &Node,
    ) -> Result<Vec<Item>> {
        if let Some(path) = role::find_role(
            &spec.name,
            &ctx.playbook_dir,
            ctx.role.as_deref(),
            &self.roles_path,
            &ctx.keywords.collections,
        ) {
            seen.remove(&role_key(&path, &spec.params));
        }
        self.expand_role(spec, ctx, seen, handlers, at)
    }

    fn expanded_len(&self) -> usize {
        self.expanded_roles
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .len()
    }

    /// Expands a role (dependencies first) into blocks, collecting its handlers.
    pub fn expand_role(
        &self,
        spec: &RoleSpec,
        ctx: &Context,
        seen: &mut HashSet<String>,
        handlers: &mut Vec<Item>,
        at: &Node,
    ) -> Result<Vec<Item>> {
        self.expand_role_under(spec, ctx, seen, handlers, at, &Map::new())
    }

    /// A role's vars as a role that depends on it sees them (Ansible's `only_exports`):
    /// its dependencies' exports, then its own `vars/`.
    fn exported_role_vars(
        &self,
        path: &Path,
        playbook_dir: &Path,
        depth: usize,
    ) -> Result<Map<String, Value>> {
        let mut out = Map::new();
        // Dependency cycles are refused elsewhere; this only bounds the walk.
        if depth < 32 {
            for dep in &role::load_meta(self, path)?.dependencies {
                let dep_spec = RoleSpec::from_node(dep)?;
                if let Some(dpath) =
                    role::find_role(&dep_spec.name, playbook_dir, None, &self.roles_path, &[])
                {
                    out.extend(self.exported_role_vars(&dpath, playbook_dir, depth + 1)?);
                }
            }
        }
        out.extend(role::load_vars_file(self, path, "vars", None)?);
        Ok(out)
    }

    /// [`Loader::expand_role`] for a role used by other roles: `inherited` are the vars of
    /// the roles above it (each one's entry vars and `vars/`), the lowest of its role vars.
    fn expand_role_under(
        &self,
        spec: &RoleSpec,
        ctx: &Context,
        seen: &mut HashSet<String>,
        handlers: &mut Vec<Item>,
        at: &Node,
        inherited: &Map<String, Value>,
    ) -> Result<Vec<Item>> {
        let path = role::find_role(
            &spec.name,
            &ctx.playbook_dir,
            ctx.role.as_deref(),
            &self.roles_path,
            &ctx.keywords.collections,
        )
        .ok_or_else(|| {
            err(format!("the role '{}' was not found", spec.name), at).with_help(format!(
                "Looked in {}/roles, {} and the roles_path ({}).",
                ctx.playbook_dir.display(),
                ctx.playbook_dir.display(),
                self.roles_path
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(":")
            ))
        })?;
        let meta = role::load_meta(self, &path)?;
        let key = role_key(&path, &spec.params);
        if !meta.allow_duplicates && spec.tasks_from.is_none() && !seen.insert(key) {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        let own_vars = role::load_vars_file(self, &path, "vars", spec.vars_from.as_deref())?;
        let mut for_deps = inherited.clone();
        for_deps.extend(spec.params.clone());
        for_deps.extend(own_vars.clone());
        // Role vars as Ansible's `Role.get_vars`: inherited, the dependencies' exports, its own.
        let mut vars = inherited.clone();
        // Dependencies run first, with the using role's keywords applied.
        let mut dep_defaults = Map::new();
        for dep in &meta.dependencies {
            let mut dep_spec = RoleSpec::from_node(dep)?;
            dep_spec.inherited_params = spec.all_params();
            let mut dep_ctx = ctx.clone();
            dep_ctx.keywords = merge_keywords(&ctx.keywords, &spec.keywords);
            let mut items =
                self.expand_role_under(&dep_spec, &dep_ctx, seen, handlers, dep, &for_deps)?;
            out.append(&mut items);
            if let Some(dpath) = role::find_role(
                &dep_spec.name,
                &ctx.playbook_dir,
                None,
                &self.roles_path,
                &ctx.keywords.collections,
            ) {
                for (k, v) in role::load_vars_file(self, &dpath, "defaults", None)? {
                    dep_defaults.insert(k, v);
                }
                vars.extend(self.exported_role_vars(&dpath, &ctx.playbook_dir, 0)?);
            }
        }
        vars.extend(own_vars);
        let mut defaults = dep_defaults;
        // Ansible's `get_default_vars(dep_chain)` / `get_inherited_vars`: a role included or
        // imported from another role sees the defaults and vars of the roles above it, under
        // its own.
        if let Some(parent) = &ctx.role {
            defaults.extend(parent.defaults.clone());
            let mut chained = parent.vars.clone();
            chained.extend(std::mem::take(&mut vars));
            vars = chained;
        }
        for (k, v) in role::load_vars_file(self, &path, "defaults", spec.defaults_from.as_deref())?
        {
            defaults.insert(k, v);
        }
        let instance = Arc::new(RoleInstance {
            name: spec.display_name(&path),
            path: path.clone(),
            defaults,
            vars,
            params: spec.all_params(),
        });
        self.expanded_roles
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(instance.clone());
        let role_ctx = Context {
            keywords: merge_keywords(&ctx.keywords, &spec.keywords),
            role: Some(instance.clone()),
            file_dir: path.join("tasks"),
            playbook_dir: ctx.playbook_dir.clone(),
            is_handler: false,
            stack: ctx.stack.clone(),
            play_vars: ctx.play_vars.clone(),
            seen_roles: ctx.seen_roles.clone(),
        };
        let tasks_file = role::main_file(
            &path.join("tasks"),
            spec.tasks_from.as_deref().unwrap_or("main"),
        );
        if let Some(f) = tasks_file {
            let node = self.load_yaml(&f)?;
            let mut items = self.load_items(&node, &role_ctx, handlers)?;
            out.append(&mut items);
        } else if let Some(t) = &spec.tasks_from {
            return Err(err(
                format!("the tasks file '{t}' was not found in role '{}'", spec.name),
                at,
            ));
        }
        let handlers_file = role::main_file(
            &path.join("handlers"),
            spec.handlers_from.as_deref().unwrap_or("main"),
        );
        if let Some(f) = handlers_file {
            let node = self.load_yaml(&f)?;
            let hctx = Context {
                is_handler: true,
                file_dir: path.join("handlers"),
                ..role_ctx.clone()
            };
            let mut items = self.load_items(&node, &hctx, &mut Vec::new())?;
            handlers.append(&mut items);
        }
        Ok(out)
    }

    /// Loads a task list (a YAML sequence of tasks and blocks).
    pub fn load_items(
        &self,
        node: &Node,
        ctx: &Context,
        handlers: &mut Vec<Item>,
    ) -> Result<Vec<Item>> {
        let entries = match &node.value {
            NodeValue::Seq(items) => items,
            NodeValue::Null => return Ok(Vec::new()),
            _ => {
                return Err(err(
                    format!("A task list must be a list, got a {}", node.type_name()),
                    node,
                ))
            }
        };
        let mut out = Vec::new();
        for entry in entries {
            if entry.as_map().is_none() {
                return Err(err(
                    format!(
                        "A task must be a dictionary, got a {}: {}",
                        entry.type_name(),
                        entry.key_string()
                    ),
                    entry,
                )
                .with_help("Each task is a mapping like '- name: ...\\n  debug: msg=hi'."));
            }
            if entry.get("block").is_some() {
                out.push(self.load_block(entry, ctx, handlers)?);
            } else {
                out.append(&mut self.load_task(entry, ctx, handlers)?);
            }
        }
        Ok(out)
    }

    fn load_block(&self, node: &Node, ctx: &Context, handlers: &mut Vec<Item>) -> Result<Item> {
        let mut inner = ctx.clone();
        let mut name = None;
        for (k, v) in node.as_map().unwrap_or_default() {
            let key = k.key_string();
            match key.as_str() {
                "block" | "rescue" | "always" => {}
                "name" => name = scalar_string(v),
                "notify" => inner.keywords.notify.extend(string_list(v, "notify")?),
                other => {
                    if !set_keyword(&mut inner.keywords, other, v)? {
                        let hint = closest(other, keywords::BLOCK)
                            .map(|c| format!(" Did you mean '{c}'?"))
                            .unwrap_or_default();
                        return Err(err(
                            format!("'{other}' is not a valid attribute for a Block.{hint}"),
                            k,
                        ));
                    }
                }
            }
        }
        let section = |key: &str, handlers: &mut Vec<Item>| -> Result<Vec<Item>> {
            match node.get(key) {
                Some(n) => {
                    if inner.is_handler {
                        refuse_handler_blocks(n)?;
                    }
                    self.load_items(n, &inner, handlers)
                }
                None => Ok(Vec::new()),
            }
        };
        Ok(Item::Block(Arc::new(Block {
            name,
            origin: node.origin.clone(),
            block: section("block", handlers)?,
            rescue: section("rescue", handlers)?,
            always: section("always", handlers)?,
        })))
    }

    /// Loads one task; a static import expands to the imported items.
    fn load_task(&self, node: &Node, ctx: &Context, handlers: &mut Vec<Item>) -> Result<Vec<Item>> {
        let mut task = Task {
            origin: node.origin.clone(),
            role: ctx.role.clone(),
            file_dir: ctx.file_dir.clone(),
            is_handler: ctx.is_handler,
            ..Task::default()
        };
        let mut kw = Keywords::default();
        let mut action: Option<(String, &Node, &Node)> = None;
        let mut extra_args: Option<&Node> = None;
        for (k, v) in node.as_map().unwrap_or_default() {
            let key = k.key_string();
            if let Some(lookup) = key.strip_prefix("with_") {
                task.loop_ = Some(LoopSpec {
                    kind: lookup.to_string(),
                    value: v.to_json(),
                });
                continue;
            }
            match key.as_str() {
                "name" => task.name = scalar_string(v),
                "loop" => {
                    task.loop_ = Some(LoopSpec {
                        kind: "loop".into(),
                        value: v.to_json(),
                    })
                }
                "loop_control" => task.loop_control = map_of(v, "loop_control")?,
                "register" => {
                    if !v.as_str().is_some_and(is_identifier) {
                        return Err(err(
                            format!(
                                "Invalid variable name in 'register' specified: '{}'",
                                v.key_string()
                            ),
                            v,
                        ));
                    }
                    task.register = scalar_string(v);
                }
                "until" => task.until = Some(v.to_json()),
                "retries" => task.retries = Some(v.to_json()),
                "delay" => task.delay = Some(v.to_json()),
                "failed_when" => task.failed_when = Some(v.to_json()),
                "changed_when" => task.changed_when = Some(v.to_json()),
                "notify" => task.notify = string_list(v, "notify")?,

                "listen" => task.listen = string_list(v, "listen")?,
                "args" => extra_args = Some(v),
                "local_action" | "action" => {
                    let named = self.render_action_module(v, ctx)?;
                    let (module, args) = split_action_string(named.as_ref().unwrap_or(v))?;
                    if key == "local_action" {
                        kw.delegate_to = Some(Value::String("localhost".into()));
                    }
                    if let Some((prev, _, _)) = &action {
                        return Err(err(
                            format!("conflicting action statements: {prev}, {module}"),
                            k,
                        ));
                    }
                    task.action = module.clone();
                    task.args = args;
                    action = Some((module, k, v));
                }
                other => {
                    if set_keyword(&mut kw, other, v)? {
                        continue;
                    }
                    if let Some((prev, _, _)) = &action {
                        let hint = closest(other, keywords::TASK)
                            .map(|c| format!(" Did you mean '{c}'?"))
                            .unwrap_or_default();
                        return Err(err(
                            format!("conflicting action statements: {prev}, {other}.{hint}"),
                            k,
                        )
                        .with_help("A task runs exactly one module; the other key is neither a module nor a task keyword."));
                    }
                    action = Some((other.to_string(), k, v));
                }
            }
        }
        let Some((action_name, key_node, args_node)) = action else {
            return Err(err("no module/action detected in task", node)
                .with_help("Add a module such as 'debug: msg=hello' to the task."));
        };
        let short = registry::short_name(&action_name).to_string();
        // Keyword args of the action, from a mapping or a k=v / free-form string.
        let from_action = node.get("action").is_some() || node.get("local_action").is_some();
        task.action_origin = Some(key_node.origin.clone());
        for (k, v) in args_node.as_map().unwrap_or_default() {
            task.arg_origins.insert(k.key_string(), v.origin.clone());
        }
        if !from_action {
            task.args = match &args_node.value {
                NodeValue::Map(_) => map_of(args_node, "module arguments")?,
                NodeValue::Str(s) => parse_args(s, &short).map_err(|m| err(m, args_node))?,
                NodeValue::Null => Map::new(),
                _ => {
                    let mut m = Map::new();
                    m.insert("_raw_params".into(), args_node.to_json());
                    m
                }
            };
        }
        // k=v arguments: each value is in the one string.
        if args_node.as_str().is_some() {
            for k in task.args.keys() {
                task.arg_origins.insert(k.clone(), args_node.origin.clone());
            }
        }
        if let Some(extra) = extra_args {
            for (k, v) in map_of(extra, "args")? {
                task.args.insert(k, v);
            }
        }
        if !matches!(short.as_str(), "command" | "shell" | "raw" | "script") {
            if let Some(k) = task.args.keys().find(|k| k.starts_with("_ansible_")) {
                return Err(Error::other(format!(
                    "Invalid parameter specified beginning with keyword '_ansible_' for action '{short}': '{k}'. The prefix '_ansible_' is reserved for internal use only."
                )));
            }
        }
        task.action = short.clone();
        task.keywords = merge_keywords(&ctx.keywords, &kw);
        if matches!(short.as_str(), "include_tasks" | "include_role") {
            task.keywords.include_params.extend(kw.vars.clone());
        }
        for n in task.keywords.notify.iter().rev() {
            if !task.notify.contains(n) {
                task.notify.insert(0, n.clone());
            }
        }

        if ctx.is_handler && matches!(short.as_str(), "include_role" | "import_role") {
            return Err(err(
                format!("Using '{action_name}' as a handler is not supported."),
                node,
            ));
        }
        if matches!(short.as_str(), "include_tasks" | "include_role") {
            task.enclosing = Some(Arc::new(ctx.keywords.clone()));
        }
        if matches!(short.as_str(), "import_tasks" | "import_role") {
            // An import's `notify` is inherited by the tasks it brings in.
            task.keywords.notify = task.notify.clone();
        }
        match short.as_str() {
            "import_tasks" => return self.import_tasks(&task, ctx, handlers, args_node),
            "import_role" => {
                let mut spec = RoleSpec::from_args(&task.args, args_node)?;
                if crate::template::is_template(&spec.name) {
                    spec.name = self.render_role_name(&spec.name, &task, ctx, args_node)?;
                }
                let mut ictx = ctx.clone();
                ictx.keywords = task.keywords.clone();
                // As an include: the role itself runs, its dependencies the play already
                // ran do not, and what it runs counts for later imports.
                let mut seen = ctx
                    .seen_roles
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .clone();
                let items =
                    self.expand_role_itself(&spec, &ictx, &mut seen, handlers, args_node)?;
                ctx.seen_roles
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .extend(seen);
                return Ok(items);
            }
            "include" => {
                return Err(err(
                    "'include' was removed from Ansible; use include_tasks or import_tasks",
                    key_node,
                ))
            }
            "include_tasks" | "include_role" | "meta" => {}
            "import_playbook" => {
                return Err(err(
                    "import_playbook is only allowed at the play level",
                    key_node,
                ))
            }
            // A templated module name is resolved per host when the task runs.
            _ if crate::template::is_template(&action_name) => {}
            _ => {
                if !registry::is_module(&short) {
                    let mut bases: Vec<&Path> = ctx.role.iter().map(|r| r.path.as_path()).collect();
                    bases.push(&ctx.playbook_dir);
                    if let Some(file) = super::plugins::find_module_file(&short, &bases) {
                        if !super::plugins::is_python(&file) {
                            task.module_file = Some(file);
                            return Ok(vec![Item::Task(Arc::new(task))]);
                        }
                        return Err(err(
                            super::plugins::unsupported_message(&action_name, &file),
                            key_node,
                        ));
                    }
                    let hint = registry::suggest(&short)
                        .map(|s| format!(" Did you mean '{s}'?"))
                        .unwrap_or_default();
                    return Err(err(
                        format!("couldn't resolve module/action '{action_name}'. This often indicates a misspelling, missing collection, or incorrect module path.{hint}"),
                        key_node,
                    ));
                }
            }
        }
        Ok(vec![Item::Task(Arc::new(task))])
    }

    fn import_tasks(
        &self,
        task: &Task,
        ctx: &Context,
        handlers: &mut Vec<Item>,
        at: &Node,
    ) -> Result<Vec<Item>> {
        let file = task
            .args
            .get("_raw_params")
            .or_else(|| task.args.get("file"))
            .and_then(Value::as_str)
            .ok_or_else(|| err("import_tasks needs a file name", at))?;
        if file.contains("{{") {
            return Err(err(
                "import_tasks is static: its file name cannot use variables known only at run time",
                at,
            )
            .with_help("Use include_tasks for a dynamic file name."));
        }
        let path = self
            .resolve_task_file(file, ctx)
            .ok_or_else(|| err(format!("Could not find or access '{file}'"), at))?;
        if ctx.stack.contains(&path) {
            return Err(err(
                format!("import cycle: '{}' imports itself", path.display()),
                at,
            ));
        }
        let node = self.load_yaml(&path)?;
        let mut ictx = ctx.clone();
        ictx.keywords = task.keywords.clone();
        // Import params are vars for the imported tasks.
        for (k, v) in &task.args {
            if k != "_raw_params" && k != "file" {
                ictx.keywords.vars.insert(k.clone(), v.clone());
            }
        }
        ictx.file_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        ictx.stack.push(path);
        self.load_items(&node, &ictx, handlers)
    }

    /// Finds a task file named by an include or import: beside the including file, in the
    /// role's tasks/ dir, or beside the playbook.
    pub fn resolve_task_file(&self, file: &str, ctx: &Context) -> Option<PathBuf> {
        let p = Path::new(file);
        if p.is_absolute() {
            return p.is_file().then(|| p.to_path_buf());
        }
        let mut candidates = vec![ctx.file_dir.join(p)];
        if let Some(role) = &ctx.role {
            candidates.push(role.path.join("tasks").join(p));
            candidates.push(role.path.join(p));
        }
        candidates.push(ctx.playbook_dir.join(p));
        candidates.push(ctx.playbook_dir.join("tasks").join(p));
        candidates.into_iter().find(|c| c.is_file())
    }

    /// Loads the items of a dynamic `include_tasks` at run time.
    pub fn include_tasks(&self, path: &Path, ctx: &Context) -> Result<Vec<Item>> {
        if ctx.stack.iter().filter(|p| p.as_path() == path).count() > 20 {
            return Err(Error::parse(
                format!("include cycle: '{}' includes itself", path.display()),
                None,
            ));
        }
        let node = self.load_yaml(path)?;
        let mut handlers = Vec::new();
        let logged = self.expanded_len();
        let items = self.load_items(&node, ctx, &mut handlers);
        // Roles imported by an included file are not the play's static roles.
        self.expanded_roles
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .truncate(logged);
        items
    }
}

/// A name an import templates while loading (`keyword` says which), with `layers` of
/// variables, lowest precedence first.
fn render_static_name(
    keyword: &str,
    name: &str,
    layers: Vec<Map<String, Value>>,
    at: &Node,
) -> Result<String> {
    let scope = crate::vars::Scope::new(layers.into_iter().map(Arc::new).collect(), vec![]);
    crate::template::templar()
        .render_string(name, &scope.context())
        .map_err(|e| err(format!("{keyword} name {name:?}: {}", e.message), at))
}

/// What makes two uses of a role the same role within a play: where it is and its params.
pub fn role_key(path: &Path, params: &Map<String, Value>) -> String {
    format!("{}|{}", path.display(), Value::Object(params.clone()))
}

/// Combines outer and inner keywords: conditions and environments accumulate, tags unite,
/// vars merge, and the inner value of a single keyword wins.
pub fn merge_keywords(outer: &Keywords, inner: &Keywords) -> Keywords {
    let mut out = outer.clone();
    out.when.extend(inner.when.iter().cloned());
    out.when_origins.extend(inner.when_origins.iter().cloned());
    if !inner.collections.is_empty() {
        out.collections = inner.collections.clone();
    }
    for t in &inner.tags {
        if !out.tags.contains(t) {
            out.tags.push(t.clone());
        }
    }
    for (k, v) in &inner.vars {
        out.vars.insert(k.clone(), v.clone());
    }
    for (k, v) in &inner.include_params {
        out.include_params.insert(k.clone(), v.clone());
    }
    out.environment.extend(inner.environment.iter().cloned());
    for n in &inner.notify {
        if !out.notify.contains(n) {
            out.notify.push(n.clone());
        }
    }
    macro_rules! over {
        ($($f:ident),*) => { $( if inner.$f.is_some() { out.$f = inner.$f.clone(); } )* };
    }
    over!(
        become_,
        become_user,
        become_method,
        become_flags,
        remote_user,
        connection,
        ignore_errors,
        ignore_unreachable,
        delegate_to,
        delegate_facts,
        run_once,
        no_log,
        check_mode,
        diff,
        any_errors_fatal,
        timeout,
        throttle,
        async_,
        port
    );
    out
}

/// `action: copy src=a dest=b` or `local_action: {module: copy, src: a}`.
fn split_action_string(node: &Node) -> Result<(String, Map<String, Value>)> {
    match &node.value {
        NodeValue::Str(s) => {
            let s = s.trim();
            let (module, rest) = s.split_once(char::is_whitespace).unwrap_or((s, ""));
            let args = parse_args(rest, registry::short_name(module)).map_err(|m| err(m, node))?;
            Ok((module.to_string(), args))
        }
        NodeValue::Map(_) => {
            let mut m = map_of(node, "action")?;
            let module = m
                .remove("module")
                .and_then(|v| v.as_str().map(str::to_string))
                .ok_or_else(|| err("action needs a 'module' key", node))?;
            // `action: {module: x, args: {...}}`: the nested args are merged in, as
            // Ansible's ModuleArgsParser does.
            if let Some(Value::Object(nested)) = m.remove("args") {
                m.extend(nested);
            }
            Ok((module, m))
        }
        _ => Err(err("action must be a string or a dictionary", node)),
    }
}

/// Actions whose string form is a free-form command: only their own option words are
/// split off as `k=v` (Ansible's `check_raw`), so `shell: FOO=1 make` keeps `FOO=1`.
pub fn takes_free_form(action: &str) -> bool {
    matches!(
        action,
        "command" | "shell" | "raw" | "script" | "include_tasks" | "import_tasks" | "meta"
    )
}

fn parse_args(text: &str, action: &str) -> std::result::Result<Map<String, Value>, String> {
    if takes_free_form(action) {
        parse_kv_free_form(text)
    } else {
        parse_kv(text)
    }
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Origin of a node, for callers outside this module.
pub fn origin_of(node: &Node) -> Origin {
    node.origin.clone()
}
