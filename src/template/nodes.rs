//! The values a template emits (`{{ }}` blocks), recorded while it renders, so that a
//! template string gives a native value the way ansible-core 2.19's `concat` does: no output
//! nodes is `None`, a single node is that node's value (`{% for x in [1] %}{{ x }}{% endfor %}`
//! is the int 1), more nodes are joined into a string. `None` values are not nodes.
//!
//! minijinja writes template text straight to the output, so a lone emitted value is the
//! only node exactly when the output is that value printed.

use minijinja::Value as MjValue;
use std::cell::RefCell;

thread_local! {
    /// One frame per render in progress on this thread (renders nest through variables
    /// and lookups); the formatter records into the innermost.
    static FRAMES: RefCell<Vec<Vec<MjValue>>> = const { RefCell::new(Vec::new()) };
}

/// Most nodes a frame keeps: only "none" and "one" matter.
const KEEP: usize = 2;

/// Called by the formatter for each emitted value.
pub fn record(v: &MjValue) {
    if v.is_none() {
        return;
    }
    FRAMES.with(|f| {
        if let Some(top) = f.borrow_mut().last_mut() {
            if top.len() < KEEP {
                top.push(v.clone());
            }
        }
    });
}

/// Runs `render` in a frame of its own; returns its result and the nodes it emitted.
pub fn framed<R>(render: impl FnOnce() -> R) -> (R, Vec<MjValue>) {
    FRAMES.with(|f| f.borrow_mut().push(Vec::new()));
    let r = render();
    let nodes = FRAMES.with(|f| f.borrow_mut().pop()).unwrap_or_default();
    (r, nodes)
}

/// Forgets what the innermost frame recorded (a failed render about to be retried).
pub fn reset() {
    FRAMES.with(|f| {
        if let Some(top) = f.borrow_mut().last_mut() {
            top.clear();
        }
    });
}
