//! Variables: Ansible's precedence, host stores (facts, set_fact, register) and lazy templating.

pub mod combine;
pub mod scope;

pub use scope::Scope;
