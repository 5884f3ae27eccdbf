//! Ctrl-C as ansible-playbook ends on it: `[ERROR]: User interrupted execution` on stderr and
//! exit code 99, with the live status line erased first.
//!
//! The handler only calls async-signal-safe functions (`write`, `_exit`).

use std::sync::atomic::{AtomicBool, Ordering};

/// Ansible's `ExitCode.KEYBOARD_INTERRUPT`.
pub const EXIT_INTERRUPTED: i32 = 99;

static STDOUT_IS_TTY: AtomicBool = AtomicBool::new(false);

extern "C" fn on_sigint(_: libc::c_int) {
    const ERASE: &[u8] = b"\r\x1b[K";
    const MSG: &[u8] = b"[ERROR]: User interrupted execution\n";
    // SAFETY: write(2) and _exit(2) are async-signal-safe; the buffers are static.
    unsafe {
        if STDOUT_IS_TTY.load(Ordering::Relaxed) {
            libc::write(1, ERASE.as_ptr().cast(), ERASE.len());
        }
        libc::write(2, MSG.as_ptr().cast(), MSG.len());
        libc::_exit(EXIT_INTERRUPTED);
    }
}

/// Installs the SIGINT handler for the whole process.
pub fn install() {
    // SAFETY: isatty has no preconditions; signal() installs a handler that only does
    // async-signal-safe work.
    unsafe {
        STDOUT_IS_TTY.store(libc::isatty(1) == 1, Ordering::Relaxed);
        libc::signal(
            libc::SIGINT,
            on_sigint as extern "C" fn(libc::c_int) as libc::sighandler_t,
        );
    }
}
