//! Modules that run a command on the host: command, shell, raw, script, and a library/ module file.

pub mod command;
pub mod library_module;
pub mod raw;
pub mod script;
pub mod shell;
