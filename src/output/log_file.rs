//! Ansible's log file (`log_path` / `ANSIBLE_LOG_PATH`): every message the run displays is
//! also appended there as a Python `logging` record,
//! `2026-01-02 10:11:12,345 p=PID u=USER n=ansible INFO| message`. Verbose messages (`-v`
//! levels) are logged up to `log_verbosity`, even when the screen shows fewer. The log gets
//! the displayed text only, so what no_log censors on screen is censored here too.

use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Mutex, OnceLock};

/// The logging level names Ansible's records carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Debug,
    Info,
    Warning,
    Error,
}

impl Level {
    fn name(self) -> &'static str {
        match self {
            Level::Debug => "DEBUG",
            Level::Info => "INFO",
            Level::Warning => "WARNING",
            Level::Error => "ERROR",
        }
    }
}

struct Log {
    file: Mutex<std::fs::File>,
    user: String,
}

static LOG: OnceLock<Log> = OnceLock::new();
static LOG_VERBOSITY: AtomicU8 = AtomicU8::new(0);

/// Opens the log for the run. `verbosity` is `max(-v count, log_verbosity)`. Returns the
/// warning Ansible prints when the file cannot be used (the run goes on without a log).
pub fn open(path: &Path, verbosity: u8) -> Result<(), String> {
    LOG_VERBOSITY.store(verbosity, Ordering::Relaxed);
    if path.is_dir() {
        return Err(format!(
            "DEFAULT_LOG_PATH can not be a directory '{}', aborting",
            path.display()
        ));
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|_| {
            format!(
                "log file at '{}' is not writeable and we cannot create it, aborting",
                path.display()
            )
        })?;
    let _ = LOG.set(Log {
        file: Mutex::new(file),
        user: crate::connection::ssh::local_user(),
    });
    Ok(())
}

/// Whether a message shown at `-v` level `min` (1 for `-v`) goes to the log.
pub fn wants_verbose(min: u8) -> bool {
    LOG.get().is_some() && LOG_VERBOSITY.load(Ordering::Relaxed) >= min
}

/// Appends one record; leading newlines are dropped (`msg.lstrip('\n')`).
pub fn log(level: Level, msg: &str) {
    let Some(log) = LOG.get() else {
        return;
    };
    let line = format!(
        "{} p={} u={} n=ansible {}| {}\n",
        stamp(),
        std::process::id(),
        log.user,
        level.name(),
        msg.trim_start_matches('\n')
    );
    let mut f = log.file.lock().unwrap_or_else(|p| p.into_inner());
    let _ = f.write_all(line.as_bytes());
}

/// Local time as Python logging's `asctime`: `2026-01-02 10:11:12,345`.
fn stamp() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs() as libc::time_t;
    // SAFETY: a zeroed tm is a valid out-parameter; localtime_r fills it and keeps no pointer.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: as above; both pointers are to live locals.
    unsafe { libc::localtime_r(&secs, &mut tm) };
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02},{:03}",
        tm.tm_year + 1900,
        tm.tm_mon + 1,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec,
        now.subsec_millis()
    )
}
