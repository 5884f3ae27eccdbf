//! Modules that read and write files on the host: copy, template, file, lineinfile, ...

pub mod archive_check;
pub mod assemble;
pub mod blockinfile;
pub mod copy;
pub mod fetch;
pub mod file;
pub mod find;
pub mod get_url;
pub mod lineinfile;
pub mod remote_file;
pub mod replace;
pub mod slurp;
pub mod stat;
pub mod tempfile;
pub mod template;
pub mod unarchive;

use crate::modules::{ArgKind, ArgSpec};

/// The file attributes every module that writes a file takes (Ansible's
/// FILE_COMMON_ARGUMENTS); each module joins them to its own arguments with
/// `args::joined`.
pub const FILE_ATTRIBUTES: [ArgSpec; 9] = [
    ArgSpec::new("mode", ArgKind::Raw),
    ArgSpec::new("owner", ArgKind::Str),
    ArgSpec::new("group", ArgKind::Str),
    ArgSpec::new("unsafe_writes", ArgKind::Bool),
    ArgSpec::new("attributes", ArgKind::Str).aliases(&["attr"]),
    ArgSpec::new("selevel", ArgKind::Str),
    ArgSpec::new("serole", ArgKind::Str),
    ArgSpec::new("setype", ArgKind::Str),
    ArgSpec::new("seuser", ArgKind::Str),
];
