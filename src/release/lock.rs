//! Per-component lock on a host: `<root>/.yiqiu/locks/<type>.lock`, a directory renamed into
//! place (atomic on every POSIX filesystem; rename refuses a non-empty target), with an owner file holding a random token, the host name, the holder's
//! pid and the time. Released explicitly on every path (the callers release it after the work,
//! success or failure). A lock whose holder died (`kill -9`) is broken: same host and the pid
//! is gone, or older than the lease.

use super::remote::{q, run, Layout};
use super::{ErrorKind, ReleaseError, Result};
use crate::connection::Connection;
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct LockOptions {
    /// How long to wait for another deploy to finish.
    pub timeout: Duration,
    /// The pid that holds the lock on the host, when the holder runs there (the local CLI).
    /// A lock held by a dead pid is stale. `None` for remote callers (pid is not on the host).
    pub holder_pid: Option<u32>,
    /// A lock older than this is stale whatever its pid says.
    pub lease: Duration,
}

impl Default for LockOptions {
    fn default() -> Self {
        LockOptions {
            timeout: Duration::from_secs(600),
            holder_pid: None,
            lease: Duration::from_secs(6 * 3600),
        }
    }
}

#[derive(Debug)]
pub struct Lock {
    dir: String,
    token: String,
    released: bool,
}

impl Lock {
    /// Takes the lock, waiting up to `opts.timeout`. One round trip: the wait loop runs on the host.
    pub fn acquire(
        conn: &mut dyn Connection,
        layout: &Layout,
        component: &str,
        opts: &LockOptions,
    ) -> Result<Lock> {
        let dir = layout.lock_dir(component);
        let token = format!("{:016x}", rand::random::<u64>());
        let pid = opts.holder_pid.map(|p| p.to_string()).unwrap_or_default();
        // Steps of 0.1 s where `sleep` takes fractions (GNU, busybox), else 1 s.
        // The lock dir appears by rename with its owner file already inside, so a holder
        // killed at any point leaves either no lock or a lock that names it. A lock dir
        // without an owner is one being released: breaking it is harmless.
        let script = format!(
            r#"d={d}; mkdir -p "$(dirname "$d")" || exit 1
tries=0; max={max}; me=$(hostname 2>/dev/null || uname -n); t="$d.new-$$"
while :; do
  rm -rf "$t"; mkdir "$t" && printf '%s %s %s %s\n' {token} "$me" {pid} "$(date +%s)" > "$t/owner" || {{ rm -rf "$t"; exit 1; }}
  if mv -T "$t" "$d" 2>/dev/null; then exit 0; fi
  rm -rf "$t"
  stale=
  if [ -f "$d/owner" ]; then
    read -r otok ohost opid otime < "$d/owner"
    now=$(date +%s)
    if [ "$ohost" = "$me" ] && [ -n "$opid" ] && [ "$opid" != "-" ] && ! kill -0 "$opid" 2>/dev/null; then stale=1; fi
    if [ -n "$otime" ] && [ $((now - otime)) -gt {lease} ]; then stale=1; fi
  elif [ -d "$d" ]; then stale=1
  fi
  if [ -n "$stale" ]; then mv -T "$d" "$d.stale-$$" 2>/dev/null && rm -rf "$d.stale-$$"; continue; fi
  tries=$((tries + 1)); [ "$tries" -gt "$max" ] && {{ echo "component is locked by another deploy ($(cat "$d/owner" 2>/dev/null))" >&2; exit 75; }}
  sleep 0.1 2>/dev/null || {{ sleep 1; tries=$((tries + 9)); }}
done"#,
            d = q(&dir),
            max = opts.timeout.as_millis() / 100,
            token = token,
            pid = if pid.is_empty() { "-".to_string() } else { pid },
            lease = opts.lease.as_secs(),
        );
        let out = run(conn, &script)?;
        if out.rc == 75 {
            return Err(ReleaseError::new(
                ErrorKind::Locked,
                super::remote::last_line(&out.stderr),
            ));
        }
        if out.rc != 0 {
            return Err(ReleaseError::io(format!(
                "cannot take lock {dir}: {}",
                super::remote::last_line(&out.stderr)
            )));
        }
        Ok(Lock {
            dir,
            token,
            released: false,
        })
    }

    /// Releases the lock if it is still ours (a lease-broken lock may belong to someone else).
    pub fn release(mut self, conn: &mut dyn Connection) -> Result<()> {
        self.released = true;
        let script = format!(
            r#"d={d}; read -r t rest < "$d/owner" 2>/dev/null; [ "$t" = {token} ] && rm -rf "$d"; exit 0"#,
            d = q(&self.dir),
            token = self.token
        );
        run(conn, &script).map(|_| ())
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        if !self.released {
            // No connection here to release it: say so; the pid/lease rules break it later.
            tracing::warn!(target: "yiqiu::release", "lock {} dropped without release", self.dir);
        }
    }
}

/// Runs `f` holding the component lock, releasing it on every path.
pub fn with_lock<T>(
    conn: &mut dyn Connection,
    layout: &Layout,
    component: &str,
    opts: &LockOptions,
    f: impl FnOnce(&mut dyn Connection) -> Result<T>,
) -> Result<T> {
    let lock = Lock::acquire(conn, layout, component, opts)?;
    let res = f(conn);
    let rel = lock.release(conn);
    match (res, rel) {
        (Ok(v), Ok(())) => Ok(v),
        (Ok(_), Err(e)) => Err(e),
        (Err(e), _) => Err(e),
    }
}
