//! The task `timeout:` keyword: a connection adapter that gives every command of one task the
//! time the task has left.
//!
//! A module may run several commands; Ansible's alarm covers the whole action, so the budget
//! is shared: each `exec` gets `min(its own timeout, time left)` and the transport kills the
//! remote process group when it runs out (see `ssh.rs`, `local.rs`). Once the budget is spent,
//! nothing more is started on the host.

use super::{Become, Command, ConnError, Connection, Output};
use std::path::Path;
use std::time::{Duration, Instant};

/// `inner` with the task's time budget; with no budget, `inner` as it is.
pub struct Deadline<'a> {
    inner: &'a mut dyn Connection,
    until: Option<Instant>,
    expired: bool,
}

impl<'a> Deadline<'a> {
    pub fn new(inner: &'a mut dyn Connection, budget: Option<Duration>) -> Deadline<'a> {
        Deadline {
            inner,
            until: budget.map(|b| Instant::now() + b),
            expired: false,
        }
    }

    /// Whether the task ran out of time (a command was cut short, or the budget is spent).
    pub fn expired(&self) -> bool {
        self.expired || self.until.is_some_and(|u| Instant::now() >= u)
    }

    /// The time left; an error once there is none.
    fn left(&mut self) -> Result<Option<Duration>, ConnError> {
        let Some(until) = self.until else {
            return Ok(None);
        };
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            self.expired = true;
            return Err(ConnError::Failed("the task's timeout has expired".into()));
        }
        Ok(Some(left))
    }

    fn check<T>(&mut self, r: Result<T, ConnError>) -> Result<T, ConnError> {
        self.expired = self.expired();
        r
    }
}

impl Connection for Deadline<'_> {
    fn exec(&mut self, cmd: &Command) -> Result<Output, ConnError> {
        let Some(left) = self.left()? else {
            return self.inner.exec(cmd);
        };
        let mut cmd = cmd.clone();
        cmd.timeout = Some(cmd.timeout.map_or(left, |t| t.min(left)));
        let r = self.inner.exec(&cmd);
        self.check(r)
    }

    fn put(
        &mut self,
        data: &[u8],
        dest: &str,
        mode: Option<u32>,
        become_: &Become,
    ) -> Result<(), ConnError> {
        self.left()?;
        let r = self.inner.put(data, dest, mode, become_);
        self.check(r)
    }

    fn put_file(
        &mut self,
        src: &Path,
        dest: &str,
        mode: Option<u32>,
        become_: &Become,
    ) -> Result<(), ConnError> {
        self.left()?;
        let r = self.inner.put_file(src, dest, mode, become_);
        self.check(r)
    }

    fn get(&mut self, path: &str, become_: &Become) -> Result<Vec<u8>, ConnError> {
        self.left()?;
        let r = self.inner.get(path, become_);
        self.check(r)
    }

    fn transport(&self) -> &'static str {
        self.inner.transport()
    }

    fn ssh_target(&self) -> Option<&super::ssh::Target> {
        self.inner.ssh_target()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connection::local::LocalConnection;

    #[test]
    fn commands_share_the_budget_and_none_start_after_it() {
        let mut local = LocalConnection;
        let mut d = Deadline::new(&mut local, Some(Duration::from_millis(300)));
        let quick = d.exec(&Command {
            script: "echo hi".into(),
            ..Command::default()
        });
        assert_eq!(quick.expect("quick command").stdout, b"hi\n");
        assert!(!d.expired());
        let slow = d.exec(&Command {
            script: "sleep 5".into(),
            ..Command::default()
        });
        assert!(slow.is_err(), "sleep 5 outlived a 300 ms budget");
        assert!(d.expired());
        let after = d.exec(&Command {
            script: "echo never".into(),
            ..Command::default()
        });
        assert!(after.is_err());
    }
}
