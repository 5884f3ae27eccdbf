//! Connection layer: how commands and files reach a host.
//!
//! Every transport (local, ssh) implements [`Connection`]. Modules never build transport-specific
//! code: they describe a command as argv or a shell script and the connection runs it, applying
//! `become` by wrapping the command (sudo/su) with proper quoting.

pub mod r#become;
pub mod deadline;
pub mod known_hosts;
pub mod local;
pub mod persist;
pub mod pipes;
pub mod ssh;
pub mod ssh_config;
pub mod tunnel;

use std::path::{Path, PathBuf};
use std::time::Duration;

/// Privilege escalation for one command.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Become {
    pub enabled: bool,
    /// `sudo` or `su`.
    pub method: String,
    pub user: String,
    pub flags: String,
    pub password: Option<String>,
}

/// A command to run on the host.
#[derive(Clone, Debug, Default)]
pub struct Command {
    /// A POSIX shell script run by `/bin/sh -c` (already quoted by the caller), or
    /// `executable` if set.
    pub script: String,
    pub executable: Option<String>,
    pub stdin: Option<Vec<u8>>,
    pub env: Vec<(String, String)>,
    pub cwd: Option<String>,
    pub become_: Become,
    pub timeout: Option<Duration>,
}

#[derive(Clone, Debug, Default)]
pub struct Output {
    pub rc: i32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// Why a connection-level operation failed. `Unreachable` marks the host unreachable;
/// `Failed` fails only the task.
#[derive(Clone, Debug)]
pub enum ConnError {
    Unreachable(String),
    Failed(String),
}

impl std::fmt::Display for ConnError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConnError::Unreachable(m) | ConnError::Failed(m) => f.write_str(m),
        }
    }
}

pub trait Connection: Send {
    /// Runs one command and waits for it.
    fn exec(&mut self, cmd: &Command) -> Result<Output, ConnError>;
    /// Writes `data` to `dest` on the host atomically (temp file + rename), with an optional mode.
    fn put(
        &mut self,
        data: &[u8],
        dest: &str,
        mode: Option<u32>,
        become_: &Become,
    ) -> Result<(), ConnError>;
    /// Copies a local file to the host (streams; large files are fine).
    fn put_file(
        &mut self,
        src: &Path,
        dest: &str,
        mode: Option<u32>,
        become_: &Become,
    ) -> Result<(), ConnError>;
    /// Reads a whole remote file.
    fn get(&mut self, path: &str, become_: &Become) -> Result<Vec<u8>, ConnError>;
    /// A short name for messages (`local`, `ssh`).
    fn transport(&self) -> &'static str;
    /// Where an SSH connection goes, so a port can be forwarded through that host
    /// (`tunnel.rs`); `None` for the local connection.
    fn ssh_target(&self) -> Option<&ssh::Target> {
        None
    }
}

/// Where and how to reach one host, resolved from its variables (`ansible_host`,
/// `ansible_port`, `ansible_user`, ...), the play and the command line.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct ConnectionSpec {
    /// `local` or `ssh` (`paramiko`/`smart` mean ssh).
    pub transport: String,
    /// The inventory name, for messages.
    pub inventory_name: String,
    /// The address to connect to (`ansible_host`, else the inventory name).
    pub host: String,
    pub port: Option<u16>,
    pub user: Option<String>,
    pub password: Option<String>,
    pub private_key_file: Option<PathBuf>,
    pub private_key_passphrase: Option<String>,
    /// Connect timeout (`-T`, `ansible_timeout`).
    pub timeout: Duration,
    /// Verify host keys against known_hosts (Ansible's default: yes).
    pub host_key_checking: bool,
    /// `-o` options from Ansible's `ssh_args`, `ssh_common_args` and `ssh_extra_args`, in
    /// that order (the first value of a key wins, as for ssh).
    pub ssh_options: Vec<(String, String)>,
    /// Keep the session for later runs this long when idle (`ControlPersist`, see
    /// `persist/`); `None`: close it when the run ends.
    pub control_persist: Option<Duration>,
}

/// Opens a connection as `spec` says.
pub fn open(spec: &ConnectionSpec) -> Result<Box<dyn Connection>, ConnError> {
    match spec.transport.as_str() {
        "local" => Ok(Box::new(local::LocalConnection)),
        "ssh" => match spec.control_persist {
            Some(idle) => persist::open(spec, idle),
            None => Ok(Box::new(ssh::SshConnection::open(spec)?)),
        },
        other => Err(ConnError::Unreachable(format!(
            "Failed to connect to the host via {other}: the '{other}' connection is not available in this build (host {})",
            spec.inventory_name
        ))),
    }
}

thread_local! {
    /// Whether the task running on this thread has `no_log` (a module runs on the thread of
    /// its task, so the connection can tell without every call site passing it down).
    static NO_LOG: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// While alive, this thread's commands carry secrets: the round-trip trace censors them.
pub struct NoLogScope(bool);

impl NoLogScope {
    pub fn enter(no_log: bool) -> NoLogScope {
        NoLogScope(NO_LOG.with(|c| c.replace(no_log)))
    }
}

impl Drop for NoLogScope {
    fn drop(&mut self) {
        NO_LOG.with(|c| c.set(self.0));
    }
}

/// What the `yiqiu::roundtrip` trace and the `-vvv` lines may show of a script: nothing of
/// a `no_log` task's, nor of one that carries a value decrypted from a vault.
pub fn traceable(script: &str) -> &str {
    if NO_LOG.with(|c| c.get()) {
        "(censored due to no_log)"
    } else if crate::vault::carries_secret(script) {
        "(censored: carries a vault-decrypted value)"
    } else {
        script
    }
}

/// The command an `EXEC` line shows: the traceable script inside its become wrapper, as
/// Ansible logs the `sudo -H -S -n -u root /bin/sh -c '...'` line it runs.
pub fn shown_command(cmd: &Command) -> String {
    wrap_become(traceable(&cmd.script), &cmd.become_)
}

/// `-v` count of the run, for the `-vvv` connection lines.
static VERBOSITY: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);

/// Sets the verbosity the connection lines follow (the executor does, once per run).
pub fn set_verbosity(v: u8) {
    VERBOSITY.store(v, std::sync::atomic::Ordering::Relaxed);
}

/// Ansible's `-vvv` connection line, `<host> MESSAGE`, on stdout. Secrets stay out: the
/// caller passes scripts through [`traceable`], and environment values are never in them.
pub fn vvv(host: &str, message: &str) {
    let line = format!("<{host}> {message}");
    if VERBOSITY.load(std::sync::atomic::Ordering::Relaxed) >= 3 {
        crate::cli::print::stdout_line(&line);
        crate::output::log_file::log(crate::output::log_file::Level::Info, &line);
    } else if crate::output::log_file::wants_verbose(3) {
        crate::output::log_file::log(crate::output::log_file::Level::Info, &line);
    }
}

/// Quotes one word for a POSIX shell.
pub fn quote(word: &str) -> String {
    if !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:@,+%".contains(&b))
    {
        return word.to_string();
    }
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// Joins argv into one shell command line with every word quoted.
pub fn join_argv<S: AsRef<str>>(argv: &[S]) -> String {
    argv.iter()
        .map(|w| quote(w.as_ref()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A shell command (ending in `;`) that removes the temp files interrupted uploads to `dest`
/// left beside it: `.NAME.yiqiu-*` (a module's staging file) and `..NAME.yiqiu-*` (the
/// connection's temp file for that staging file). A killed controller cannot clean up after
/// itself, so the next write to the same path does.
pub fn remove_stale_temps(dest: &str) -> String {
    let path = Path::new(dest);
    let dir = path
        .parent()
        .map(|d| d.to_string_lossy().into_owned())
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| ".".into());
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if name.is_empty() {
        return String::new();
    }
    let dir = quote(&dir);
    format!(
        "rm -f -- {dir}/{}* {dir}/{}* 2>/dev/null;",
        quote(&format!(".{name}.yiqiu-")),
        quote(&format!("..{name}.yiqiu-"))
    )
}

/// Wraps a script with sudo or su as `become_` asks.
pub fn wrap_become(script: &str, become_: &Become) -> String {
    if !become_.enabled {
        return script.to_string();
    }
    let user = if become_.user.is_empty() {
        "root"
    } else {
        &become_.user
    };
    match become_.method.as_str() {
        "su" => format!("su {} -c {}", quote(user), quote(script)),
        _ => {
            let flags = if become_.flags.is_empty() {
                "-H -S -n"
            } else {
                &become_.flags
            };
            format!(
                "sudo {flags} -u {} /bin/sh -c {}",
                quote(user),
                quote(script)
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_log_censors_the_trace_while_in_scope() {
        assert_eq!(traceable("echo pw"), "echo pw");
        {
            let _s = NoLogScope::enter(true);
            assert_eq!(traceable("echo pw"), "(censored due to no_log)");
        }
        assert_eq!(traceable("echo pw"), "echo pw");
    }

    #[test]
    fn stale_temp_cleanup_is_quoted_and_globbed() {
        assert_eq!(
            remove_stale_temps("/srv/it's/app.conf"),
            r"rm -f -- '/srv/it'\''s'/.app.conf.yiqiu-* '/srv/it'\''s'/..app.conf.yiqiu-* 2>/dev/null;"
        );
        assert_eq!(remove_stale_temps("/"), "");
    }

    #[test]
    fn quoting_survives_hostile_words() {
        assert_eq!(quote("plain"), "plain");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote(""), "''");
        assert_eq!(
            join_argv(&["echo", "a b", "$(rm -rf /)"]),
            "echo 'a b' '$(rm -rf /)'"
        );
    }
}
