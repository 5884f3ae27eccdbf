//! Modules that run a command on the host: command, shell, raw, and a library/ module file.

pub mod command;
pub mod library_module;
pub mod raw;
pub mod shell;
