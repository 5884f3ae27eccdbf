//! A local child's stdout and stderr, read the way Ansible's `run_command` reads them: to the
//! end while the child runs, and once it has exited, only until both pipes close or stay
//! quiet for a second. A command that leaves a background process holding its output open
//! (`shell: 'daemon &'`) so returns when the shell exits, not when the daemon does.

use std::io::Read;
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::time::Duration;

/// How long the pipes of an exited child may stay silent before we stop reading
/// (`selector.select(1)` in ansible's `module_utils/basic.py`).
const QUIET_AFTER_EXIT: Duration = Duration::from_secs(1);

enum Piece {
    Data(usize, Vec<u8>),
    Closed(usize),
}

/// The readers of both pipes (index 0 stdout, 1 stderr), each on its own thread so neither
/// pipe fills while the other is read.
pub struct Pipes {
    rx: Receiver<Piece>,
    open: [bool; 2],
    got: [Vec<u8>; 2],
}

fn reader(index: usize, mut pipe: impl Read + Send + 'static, tx: Sender<Piece>) {
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            match pipe.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    if tx.send(Piece::Data(index, buf[..n].to_vec())).is_err() {
                        return;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        let _ = tx.send(Piece::Closed(index));
    });
}

impl Pipes {
    pub fn start(
        stdout: Option<impl Read + Send + 'static>,
        stderr: Option<impl Read + Send + 'static>,
    ) -> Pipes {
        let (tx, rx) = channel();
        let open = [stdout.is_some(), stderr.is_some()];
        if let Some(p) = stdout {
            reader(0, p, tx.clone());
        }
        if let Some(p) = stderr {
            reader(1, p, tx);
        }
        Pipes {
            rx,
            open,
            got: [Vec::new(), Vec::new()],
        }
    }

    /// Call once the child has exited: collects what the pipes still bring and returns
    /// (stdout, stderr). A reader left behind ends when the last writer closes its pipe.
    pub fn finish(mut self) -> (Vec<u8>, Vec<u8>) {
        // What arrived while the child ran is already queued: take it without waiting.
        while let Ok(piece) = self.rx.try_recv() {
            self.take(piece);
        }
        while self.open.iter().any(|o| *o) {
            match self.rx.recv_timeout(QUIET_AFTER_EXIT) {
                Ok(piece) => self.take(piece),
                Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => break,
            }
        }
        let [out, err] = self.got;
        (out, err)
    }

    fn take(&mut self, piece: Piece) {
        match piece {
            Piece::Data(i, data) => self.got[i].extend_from_slice(&data),
            Piece::Closed(i) => self.open[i] = false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::{Command, Stdio};

    fn run(script: &str) -> (Vec<u8>, Vec<u8>) {
        let mut child = Command::new("/bin/sh")
            .arg("-c")
            .arg(script)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn sh");
        let pipes = Pipes::start(child.stdout.take(), child.stderr.take());
        child.wait().expect("wait");
        pipes.finish()
    }

    #[test]
    fn a_background_child_holding_the_pipes_does_not_hold_the_result() {
        let (out, _) = run("echo before; sleep 60 & echo \"pid=$!\"");
        let text = String::from_utf8_lossy(&out).into_owned();
        let pid: libc::pid_t = text
            .lines()
            .find_map(|l| l.strip_prefix("pid="))
            .and_then(|p| p.parse().ok())
            .expect("the background pid");
        assert!(text.starts_with("before\n"), "{text}");
        // SAFETY: signal 0 only probes; the pid is the sleep our shell started.
        let alive = unsafe { libc::kill(pid, 0) } == 0;
        // SAFETY: as above, ending our own child's child.
        unsafe { libc::kill(pid, libc::SIGKILL) };
        assert!(alive, "the result waited for the background child to end");
    }

    #[test]
    fn output_a_background_child_writes_after_the_shell_exits_is_kept() {
        let (out, err) = run("(head -c 300000 /dev/zero | tr '\\0' x; echo done >&2) & exit 0");
        assert_eq!(out.len(), 300000);
        assert_eq!(err, b"done\n");
    }
}
