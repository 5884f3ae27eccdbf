//! Playbook layer: YAML to plays, blocks, tasks and roles.

pub mod keywords;
pub mod kv;
pub mod loader;
pub mod model;
pub mod plugins;
pub mod role;
pub mod tags;

pub use loader::Loader;
pub use model::{Block, Item, Keywords, Play, Playbook, RoleInstance, Task};
