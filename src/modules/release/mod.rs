//! Component releases (seed 003) as modules: component_pack, component_publish, component_deploy, ...

pub mod component_deploy;
pub mod component_health;
pub mod component_links;
pub mod component_pack;
pub mod component_publish;
pub mod component_version;
