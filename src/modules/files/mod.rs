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
