//! Modules about the host itself: facts (setup), services (systemd/service), ping, wait_for.

pub mod getent;
pub mod group;
pub mod ping;
pub mod setup;
pub mod systemd;
pub mod user;
pub mod user_db;
pub mod wait_for;
