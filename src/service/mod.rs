//! Services, units, lifecycle hooks and relations (seeds 000/001), agentless.
//!
//! A *program* ([`program`]) declares what it provides, requires and shares with its peers;
//! a *topology* ([`topology`]) says which services run which program on which inventory
//! hosts and ports, and which endpoints are related. Each unit keeps what it has seen on its
//! own host ([`state`]); a run reads all of it, works out the hooks that follow from the
//! difference ([`lifecycle`], [`relations`]), fires them one at a time per unit ([`hooks`])
//! and commits what succeeded ([`converge`]). [`graph`] draws the topology.

pub mod converge;
pub mod graph;
pub mod hooks;
pub mod lifecycle;
pub mod program;
pub mod relations;
pub mod state;
pub mod topology;

/// A load or planning error: bad program metadata, a bad topology, a refused relation.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct ServiceError(pub String);

pub type Result<T> = std::result::Result<T, ServiceError>;

pub fn err<T>(msg: impl Into<String>) -> Result<T> {
    Err(ServiceError(msg.into()))
}
