//! The run as a fleet module ([`crate::modules::Module::fleet`]) sees it. Such a task's
//! result is computed once, by the first of its hosts to get there, for all of them: the
//! others wait on the slot and take their own entry. The computation runs on its own threads
//! (never on the forks pool the waiting hosts occupy), and the module is controller-side, so
//! no waiting host holds a connection the computation needs.

use super::play::{PlayRun, SharedConnection};
use crate::connection::ConnError;
use crate::modules::{Fleet, FleetResults};
use serde_json::Value;
use std::sync::{Arc, OnceLock};

/// One run of a fleet task over its hosts.
pub struct FleetCall {
    pub targets: Vec<String>,
    results: OnceLock<FleetResults>,
}

impl FleetCall {
    pub fn new(targets: Vec<String>) -> Arc<FleetCall> {
        Arc::new(FleetCall {
            targets,
            results: OnceLock::new(),
        })
    }
}

pub struct PlayFleet<'r, 'a> {
    pub run: &'r PlayRun<'a>,
    pub call: Arc<FleetCall>,
}

impl Fleet for PlayFleet<'_, '_> {
    fn hosts_matching(&self, pattern: &str) -> Result<Vec<String>, String> {
        self.run
            .shared
            .state
            .inventory()
            .select(pattern)
            .map_err(|e| e.to_string())
    }

    fn targets(&self) -> &[String] {
        &self.call.targets
    }

    fn hostvar(&self, host: &str, name: &str) -> Option<Value> {
        let scope = self.run.scope(None, host, serde_json::Map::new());
        scope.get_json(name).ok().flatten()
    }

    fn connection(&self, host: &str) -> Result<SharedConnection, ConnError> {
        self.run.connection(host)
    }

    fn once(&self, compute: &mut dyn FnMut() -> FleetResults) -> &FleetResults {
        self.call.results.get_or_init(compute)
    }
}
