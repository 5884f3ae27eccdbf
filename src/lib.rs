//! yiqiu-play: an Ansible-compatible playbook runner.
//!
//! Layers, from the outside in: `cli` (flags, ansible.cfg) → `playbook` (YAML to plays, blocks,
//! tasks, roles) → `executor` (strategies, hosts, loops, handlers) → `modules` (what a task does)
//! → `connection` (how it reaches a host). `inventory`, `vars` and `template` feed the executor;
//! `output` shows what happened. See ARCHITECTURE.md.

pub mod cli;
pub mod connection;
pub mod error;
pub mod executor;
pub mod inventory;
pub mod k8s;
pub mod modules;
pub mod output;
pub mod playbook;
pub mod release;
pub mod service;
pub mod template;
pub mod vars;
pub mod vault;
pub mod yaml;
