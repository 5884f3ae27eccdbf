//! `meta: refresh_inventory`: the sources are read again and the run's own changes
//! (`add_host`, `group_by`) are replayed on top, as Ansible's `refresh_inventory` re-adds
//! its cached dynamic hosts and groupings.

use super::Inventory;
use crate::error::Result;
use serde_json::{Map, Value};
use std::path::PathBuf;

/// One change the run made to the inventory.
#[derive(Clone, Debug)]
pub enum DynamicChange {
    AddHost {
        name: String,
        groups: Vec<String>,
        vars: Map<String, Value>,
    },
    AddToGroup {
        host: String,
        group: String,
    },
    AddChildGroup {
        parent: String,
        child: String,
    },
}

impl Inventory {
    /// The inventory read again from `sources`, with this one's runtime changes replayed.
    pub fn refreshed(&self, sources: &[PathBuf]) -> Result<Inventory> {
        // Read with the same plugins and group name rule as the first time.
        let settings = super::LoadSettings {
            plugins: self.plugins.clone(),
            group_chars: self.group_chars,
        };
        let mut fresh = Inventory::load_with(sources, &settings)?;
        for change in &self.dynamic {
            match change.clone() {
                DynamicChange::AddHost { name, groups, vars } => {
                    fresh.add_dynamic_host(&name, &groups, vars)
                }
                DynamicChange::AddToGroup { host, group } => fresh.add_to_group(&host, &group),
                // A loop refused once is refused again: nothing to report.
                DynamicChange::AddChildGroup { parent, child } => {
                    let _ = fresh.add_child_group(&parent, &child);
                }
            }
        }
        Ok(fresh)
    }
}
