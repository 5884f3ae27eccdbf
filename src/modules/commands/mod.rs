//! Modules that run a command on the host: command, shell, raw.

pub mod command;
pub mod raw;
pub mod shell;
