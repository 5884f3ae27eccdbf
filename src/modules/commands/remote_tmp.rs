//! A private temporary directory on the host holding one uploaded executable file, as
//! Ansible's `_make_tmp_path` + `_transfer_data` + `_fixup_perms2(execute=True)` make for
//! `script` and non-Python modules: one exec creates the dir and writes the file from stdin.

use crate::connection::{quote, Command};
use crate::modules::util::conn_err;
use crate::modules::{ModuleContext, ModuleError};

/// Creates `~/.ansible/tmp/ansible-tmp-XXXXXXXXXX/<file>` (mode u+x) with `data` as the
/// task's become user; returns the directory.
pub fn stage(ctx: &mut ModuleContext, file: &str, data: Vec<u8>) -> Result<String, ModuleError> {
    let file = quote(file);
    let script = format!(
        "umask 77 && mkdir -p ~/.ansible/tmp && d=$(mktemp -d ~/.ansible/tmp/ansible-tmp-XXXXXXXXXX) \
         && cat > \"$d\"/{file} && chmod u+x \"$d\"/{file} && printf %s \"$d\""
    );
    let out = ctx
        .conn
        .exec(&Command {
            script,
            stdin: Some(data),
            become_: ctx.become_.clone(),
            ..Command::default()
        })
        .map_err(conn_err)?;
    let dir = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if out.rc != 0 || dir.is_empty() {
        return Err(ModuleError::msg(format!(
            "could not create a temporary directory on the host: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(dir)
}

/// `line`, then the directory removed, keeping `line`'s exit status.
pub fn run_then_remove(line: &str, dir: &str) -> String {
    format!("{line}; rc=$?; rm -rf {}; exit $rc", quote(dir))
}
