//! Ctrl-C as ansible-playbook ends on it: `[ERROR]: User interrupted execution` on stderr and
//! exit code 99, with the live status line erased first.
//!
//! The handler only calls async-signal-safe functions (`write`, `kill`, `_exit`) and reads
//! lock-free atomics. Before exiting it ends the process groups of the controller-side
//! commands still running (`pipe` lookups): a SIGINT sent to yiqiu-play alone must not leave
//! them behind (ansible's workers end theirs).

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

/// Ansible's `ExitCode.KEYBOARD_INTERRUPT`.
pub const EXIT_INTERRUPTED: i32 = 99;

static STDOUT_IS_TTY: AtomicBool = AtomicBool::new(false);

/// Process groups to end on interrupt (0: free slot).
static GROUPS: [AtomicI32; 64] = [const { AtomicI32::new(0) }; 64];

/// While alive, process group `pgid` is ended (SIGTERM) if the run is interrupted.
pub struct Tracked(Option<usize>);

/// Registers a child that leads its own process group (`process_group(0)`). With every
/// slot taken the child is simply not tracked.
pub fn track(pgid: u32) -> Tracked {
    let Ok(pgid) = i32::try_from(pgid) else {
        return Tracked(None);
    };
    let slot = GROUPS.iter().position(|g| {
        g.compare_exchange(0, pgid, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    });
    Tracked(slot)
}

impl Drop for Tracked {
    fn drop(&mut self) {
        if let Some(i) = self.0 {
            GROUPS[i].store(0, Ordering::SeqCst);
        }
    }
}

extern "C" fn on_sigint(_: libc::c_int) {
    const ERASE: &[u8] = b"\r\x1b[K";
    const MSG: &[u8] = b"[ERROR]: User interrupted execution\n";
    // SAFETY: write(2) and _exit(2) are async-signal-safe; the buffers are static.
    unsafe {
        if STDOUT_IS_TTY.load(Ordering::Relaxed) {
            libc::write(1, ERASE.as_ptr().cast(), ERASE.len());
        }
        libc::write(2, MSG.as_ptr().cast(), MSG.len());
        for g in &GROUPS {
            let pgid = g.load(Ordering::SeqCst);
            if pgid > 0 {
                libc::kill(-pgid, libc::SIGTERM);
            }
        }
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
