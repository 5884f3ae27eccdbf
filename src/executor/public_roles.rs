//! Role variables the whole play sees. With Ansible's default `private_role_vars = False`,
//! the defaults and vars of every role a play loads statically (its `roles:` and each
//! `import_role`) are visible to all tasks of the play, not only the role's own: a later
//! role or a play task reads them (Ansible's VariableManager, "role defaults" and the
//! exported role vars after `vars_files`). `include_role` is dynamic and stays private.

use crate::playbook::model::{Item, Play, RoleInstance};
use serde_json::{Map, Value};
use std::collections::HashSet;
use std::sync::Arc;

/// The merged defaults and vars of the play's static roles, in load order (later wins).
pub struct PublicRoleVars {
    pub defaults: Arc<Map<String, Value>>,
    pub vars: Arc<Map<String, Value>>,
    /// The roles of `roles:` (they run before the play's tasks), by
    /// [`crate::playbook::loader::role_key`]: an `include_role` does not run them again as
    /// dependencies.
    pub ran_in_roles_section: HashSet<String>,
}

impl PublicRoleVars {
    pub fn of(play: &Play) -> PublicRoleVars {
        let mut roles: Vec<Arc<RoleInstance>> = play.static_roles.clone();
        for items in [&play.roles, &play.pre_tasks, &play.tasks, &play.post_tasks] {
            collect(items, &mut roles);
        }
        let mut defaults = Map::new();
        let mut vars = Map::new();
        for r in &roles {
            defaults.extend(r.defaults.iter().map(|(k, v)| (k.clone(), v.clone())));
            vars.extend(r.vars.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        let mut in_section = Vec::new();
        collect(&play.roles, &mut in_section);
        let ran_in_roles_section = in_section
            .iter()
            .map(|r| crate::playbook::loader::role_key(&r.path, &r.params))
            .collect();
        PublicRoleVars {
            defaults: Arc::new(defaults),
            vars: Arc::new(vars),
            ran_in_roles_section,
        }
    }
}

/// Every distinct role instance behind `items` (nested blocks included), first seen first.
fn collect(items: &[Item], out: &mut Vec<Arc<RoleInstance>>) {
    for item in items {
        match item {
            Item::Task(t) => {
                if let Some(r) = &t.role {
                    if !out.iter().any(|seen| Arc::ptr_eq(seen, r)) {
                        out.push(r.clone());
                    }
                }
            }
            Item::Block(b) => {
                collect(&b.block, out);
                collect(&b.rescue, out);
                collect(&b.always, out);
            }
        }
    }
}
