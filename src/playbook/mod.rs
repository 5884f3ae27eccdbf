//! Playbook layer: YAML to plays, blocks, tasks and roles.
pub mod kv;
