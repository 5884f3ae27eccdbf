//! Star banners (`TASK [x] ****`) and the terminal facts they depend on.

use unicode_width::UnicodeWidthStr;

/// Whether file descriptor 1 is a terminal.
pub fn stdout_is_terminal() -> bool {
    // SAFETY: isatty only inspects the descriptor.
    unsafe { libc::isatty(1) == 1 }
}

/// Width of the terminal on stdout, if it is one.
pub fn terminal_width() -> Option<usize> {
    if !stdout_is_terminal() {
        return None;
    }
    let mut ws = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes a winsize into the struct we own.
    let rc = unsafe { libc::ioctl(1, libc::TIOCGWINSZ, &mut ws) };
    (rc == 0 && ws.ws_col > 0).then_some(ws.ws_col as usize)
}

/// Ansible's `Display.columns`: `max(79, terminal width - 1)`, 79 when not a terminal.
pub fn display_columns() -> usize {
    terminal_width().map_or(79, |w| w.saturating_sub(1).max(79))
}

/// Columns a string occupies on screen (CJK counts 2), like Ansible's `get_text_width`.
pub fn text_width(s: &str) -> usize {
    UnicodeWidthStr::width(s)
}

/// `Display.banner`: a blank line, then `msg` and stars up to `columns` (at least 3).
/// Returned without the final newline.
pub fn banner(msg: &str, columns: usize) -> String {
    let msg = msg.trim();
    let stars = columns.saturating_sub(text_width(msg)).max(3);
    format!("\n{msg} {}", "*".repeat(stars))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn banner_is_80_wide_at_79_columns() {
        let b = banner("TASK [debug msg]", 79);
        assert_eq!(b.len(), 81); // leading newline + 80
        assert!(b.starts_with("\nTASK [debug msg] ***"));
    }

    #[test]
    fn banner_counts_wide_chars_double() {
        let b = banner("TASK [你好]", 79);
        let line = &b[1..];
        assert_eq!(text_width(line), 80);
    }

    #[test]
    fn banner_has_at_least_three_stars() {
        let long = "x".repeat(100);
        assert!(banner(&long, 79).ends_with(&format!("{long} ***")));
    }
}
