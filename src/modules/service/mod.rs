//! Services and relations (`crate::service`): modules over the whole topology.

pub mod yiqiu_info;
pub mod yiqiu_services;
