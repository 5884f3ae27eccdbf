//! The `local` connection: runs commands on the controller itself.

use super::pipes::Pipes;
use super::{wrap_become, Become, Command, ConnError, Connection, Output};
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Waits up to `limit`; then kills the child's process group (TERM, then KILL) and fails
/// with the timeout.
fn wait_or_kill(
    child: &mut Child,
    limit: Duration,
) -> Result<std::io::Result<ExitStatus>, ConnError> {
    let until = Instant::now() + limit;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Ok(Ok(status)),
            Ok(None) if Instant::now() < until => std::thread::sleep(Duration::from_millis(10)),
            Ok(None) => break,
            Err(e) => return Ok(Err(e)),
        }
    }
    let group = -(child.id() as libc::pid_t);
    // SAFETY: kill(2) on the process group we created; no memory is involved.
    unsafe { libc::kill(group, libc::SIGTERM) };
    let grace = Instant::now() + Duration::from_secs(2);
    while Instant::now() < grace && matches!(child.try_wait(), Ok(None)) {
        std::thread::sleep(Duration::from_millis(10));
    }
    // SAFETY: as above.
    unsafe { libc::kill(group, libc::SIGKILL) };
    let _ = child.wait();
    Err(ConnError::Failed(format!(
        "the command timed out after {} seconds and was killed",
        limit.as_secs()
    )))
}

#[derive(Debug, Default)]
pub struct LocalConnection;

impl Connection for LocalConnection {
    fn exec(&mut self, cmd: &Command) -> Result<Output, ConnError> {
        let shown = super::shown_command(cmd);
        let shown = shown.as_str();
        tracing::debug!(target: "yiqiu::roundtrip", op = "exec", script = %shown);
        if let Some(host) = crate::output::live_detail::current_host() {
            super::vvv(&host, &format!("EXEC /bin/sh -c {}", super::quote(shown)));
        }
        let script = wrap_become(&cmd.script, &cmd.become_);
        let shell = cmd.executable.as_deref().unwrap_or("/bin/sh");
        let mut proc = std::process::Command::new(shell);
        proc.arg("-c").arg(&script);
        if let Some(cwd) = &cmd.cwd {
            proc.current_dir(cwd);
        }
        for (k, v) in &cmd.env {
            proc.env(k, v);
        }
        proc.stdin(if cmd.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        if cmd.timeout.is_some() {
            // Its own process group, so a timeout kills the command and its children.
            proc.process_group(0);
        }
        let mut child = proc
            .spawn()
            .map_err(|e| ConnError::Failed(format!("could not start {shell}: {e}")))?;
        if let Some(data) = cmd.stdin.clone() {
            if let Some(mut stdin) = child.stdin.take() {
                // A command that does not read its stdin closes the pipe early; that is fine.
                std::thread::spawn(move || {
                    let _ = stdin.write_all(&data);
                });
            }
        }
        let pipes = Pipes::start(child.stdout.take(), child.stderr.take());
        let status = match cmd.timeout {
            None => child.wait(),
            Some(t) => wait_or_kill(&mut child, t)?,
        }
        .map_err(|e| ConnError::Failed(format!("waiting for {shell}: {e}")))?;
        let (stdout, stderr) = pipes.finish();
        Ok(Output {
            rc: status.code().unwrap_or(-1),
            stdout,
            stderr,
        })
    }

    fn put(
        &mut self,
        data: &[u8],
        dest: &str,
        mode: Option<u32>,
        become_: &Become,
    ) -> Result<(), ConnError> {
        tracing::debug!(target: "yiqiu::roundtrip", op = "put", dest);
        if become_.enabled {
            // Stream through the become wrapper so the write happens as the target user.
            let tmp = format!("{dest}.yiqiu-tmp");
            let mut script = format!("cat > {}", super::quote(&tmp));
            if let Some(m) = mode {
                script.push_str(&format!(" && chmod {m:o} {}", super::quote(&tmp)));
            }
            script.push_str(&format!(
                " && mv -f {} {}",
                super::quote(&tmp),
                super::quote(dest)
            ));
            let out = self.exec(&Command {
                script,
                stdin: Some(data.to_vec()),
                become_: become_.clone(),
                ..Command::default()
            })?;
            if out.rc != 0 {
                return Err(ConnError::Failed(
                    String::from_utf8_lossy(&out.stderr).into_owned(),
                ));
            }
            return Ok(());
        }
        let dest_path = Path::new(dest);
        let dir = dest_path.parent().unwrap_or(Path::new("."));
        let name = dest_path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = dir.join(format!(".{name}.yiqiu-{}", std::process::id()));
        let res = (|| -> std::io::Result<()> {
            std::fs::write(&tmp, data)?;
            if let Some(m) = mode {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(m))?;
            }
            std::fs::rename(&tmp, dest_path)
        })();
        res.map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            ConnError::Failed(format!("could not write {dest}: {e}"))
        })
    }

    fn put_file(
        &mut self,
        src: &Path,
        dest: &str,
        mode: Option<u32>,
        become_: &Become,
    ) -> Result<(), ConnError> {
        let data = std::fs::read(src)
            .map_err(|e| ConnError::Failed(format!("could not read {}: {e}", src.display())))?;
        self.put(&data, dest, mode, become_)
    }

    fn get(&mut self, path: &str, become_: &Become) -> Result<Vec<u8>, ConnError> {
        tracing::debug!(target: "yiqiu::roundtrip", op = "get", path);
        if become_.enabled {
            let out = self.exec(&Command {
                script: format!("cat {}", super::quote(path)),
                become_: become_.clone(),
                ..Command::default()
            })?;
            if out.rc != 0 {
                return Err(ConnError::Failed(
                    String::from_utf8_lossy(&out.stderr).into_owned(),
                ));
            }
            return Ok(out.stdout);
        }
        std::fs::read(path).map_err(|e| ConnError::Failed(format!("could not read {path}: {e}")))
    }

    fn transport(&self) -> &'static str {
        "local"
    }
}
