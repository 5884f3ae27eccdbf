//! Printing a command's answer to stdout. `yiqiu-play --list-hosts | head -1` closes the pipe
//! early; that is the reader's choice, not an error: stop quietly (ansible-playbook prints a
//! traceback and exits 250; `print!` would panic).

use std::io::Write;

/// Writes `text` to stdout; a closed pipe or other write error ends the output silently.
pub fn stdout(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|_| out.flush());
}

/// [`stdout`] with a newline.
pub fn stdout_line(text: &str) {
    stdout(&format!("{text}\n"));
}
