//! Package managers: apt (with its status query and Debian version order) and the generic
//! `package` action that picks the host's backend.

pub mod apt;
pub mod apt_status;
pub mod debversion;
pub mod package;
