//! What a long-running task is doing on a host right now (`deployment/web 2/3 available`),
//! for the live status line: `waiting on: localhost (deployment/web 2/3 available)`.
//!
//! A module sets the detail from the task's thread; the executor scopes it to the host the
//! task runs for and clears it when the module returns.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

thread_local! {
    static HOST: RefCell<Option<String>> = const { RefCell::new(None) };
}

fn details() -> &'static Mutex<HashMap<String, String>> {
    static D: OnceLock<Mutex<HashMap<String, String>>> = OnceLock::new();
    D.get_or_init(|| Mutex::new(HashMap::new()))
}

/// While alive, details set on this thread belong to `host`.
pub struct HostScope(Option<String>);

impl HostScope {
    pub fn enter(host: &str) -> HostScope {
        HostScope(HOST.with(|h| h.replace(Some(host.to_string()))))
    }
}

impl Drop for HostScope {
    fn drop(&mut self) {
        if let Some(host) = HOST.with(|h| h.replace(self.0.take())) {
            details()
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&host);
        }
    }
}

/// The host the current thread runs a task for, if any.
pub fn current_host() -> Option<String> {
    HOST.with(|h| h.borrow().clone())
}

/// The current task's detail, shown after its host on the status line.
pub fn set(text: &str) {
    if let Some(host) = HOST.with(|h| h.borrow().clone()) {
        details()
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(host, text.to_string());
    }
}

/// `host`, or `host (detail)` while its task has one.
pub fn decorate(host: &str) -> String {
    match details()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(host)
    {
        Some(d) => format!("{host} ({d})"),
        None => host.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detail_belongs_to_the_scoped_host_and_goes_with_the_scope() {
        set("ignored: no host yet");
        assert_eq!(decorate("web1"), "web1");
        {
            let _s = HostScope::enter("web1");
            set("deployment/web 2/3 available");
            assert_eq!(decorate("web1"), "web1 (deployment/web 2/3 available)");
            assert_eq!(decorate("web2"), "web2");
        }
        assert_eq!(decorate("web1"), "web1");
    }
}
