//! `ANSIBLE_DEBUG`: Ansible's developer log (`Display.debug`), lines of
//! `<pid> <epoch seconds>: message` on stdout. We write only the few lines playbooks and
//! their tests look for (the implicit handler flushes), not Ansible's internal trace.

use std::sync::OnceLock;

/// Whether `ANSIBLE_DEBUG` is set to a true value (Ansible's `boolean()`).
pub fn enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| {
        std::env::var("ANSIBLE_DEBUG").is_ok_and(|v| crate::cli::config::parse_bool(&v))
    })
}

/// One debug line, formatted as `Display.debug` formats it.
pub fn line(msg: &str) {
    if !enabled() {
        return;
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default();
    crate::cli::print::stdout_line(&format!("{:6} {now:.5}: {msg}", std::process::id()));
}
