//! Controller-side actions that never touch the host: debug, set_fact, assert, fail, pause, include_vars, add_host, group_by, set_stats.

pub mod add_host;
pub mod assert;
pub mod debug;
pub mod fail;
pub mod group_by;
pub mod include_vars;
pub mod pause;
pub mod set_fact;
pub mod set_stats;
