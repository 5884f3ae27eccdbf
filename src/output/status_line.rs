//! A single live line at the bottom of a terminal showing which hosts a task still waits on.
//!
//! Only ever used when stdout is a terminal; it is erased (`\r\x1b[K`) before any other
//! output so the transcript stays identical to Ansible's.

use super::banner::text_width;
use std::io::{self, Write};
use std::time::{Duration, Instant};

/// Don't redraw more often than this: a terminal flooded with redraws slows the run.
const MIN_REDRAW: Duration = Duration::from_millis(100);
const ERASE: &str = "\r\x1b[K";

pub struct StatusLine {
    width: usize,
    task_started: Instant,
    last_draw: Option<Instant>,
    visible: bool,
}

impl StatusLine {
    /// `width`: terminal columns; the line is kept shorter so it never wraps.
    pub fn new(width: usize) -> StatusLine {
        StatusLine {
            width,
            task_started: Instant::now(),
            last_draw: None,
            visible: false,
        }
    }

    /// A new task began: the elapsed time counts from now, and the next update draws at once.
    pub fn reset(&mut self) {
        self.task_started = Instant::now();
        self.last_draw = None;
    }

    /// Redraw with the current progress, unless the last redraw was too recent.
    pub fn update(
        &mut self,
        out: &mut dyn Write,
        done: usize,
        total: usize,
        running: &[String],
    ) -> io::Result<()> {
        self.update_at(Instant::now(), out, done, total, running)
    }

    /// `update` with an explicit clock, so throttling is testable without sleeping.
    pub fn update_at(
        &mut self,
        now: Instant,
        out: &mut dyn Write,
        done: usize,
        total: usize,
        running: &[String],
    ) -> io::Result<()> {
        if self
            .last_draw
            .is_some_and(|t| now.duration_since(t) < MIN_REDRAW)
        {
            return Ok(());
        }
        self.last_draw = Some(now);
        if running.is_empty() {
            return self.erase(out);
        }
        let elapsed = now.saturating_duration_since(self.task_started);
        let line = render(done, total, elapsed, running, self.width.saturating_sub(1));
        write!(out, "{ERASE}{line}")?;
        out.flush()?;
        self.visible = true;
        Ok(())
    }

    /// Remove the line if it is on screen, leaving the cursor at the start of the line.
    pub fn erase(&mut self, out: &mut dyn Write) -> io::Result<()> {
        if self.visible {
            out.write_all(ERASE.as_bytes())?;
            out.flush()?;
            self.visible = false;
        }
        Ok(())
    }

    pub fn is_visible(&self) -> bool {
        self.visible
    }
}

/// `  [3/10 hosts done, 12.3s] waiting on: web01, web02, …`, at most `max_width` columns.
pub fn render(
    done: usize,
    total: usize,
    elapsed: Duration,
    running: &[String],
    max_width: usize,
) -> String {
    let mut line = format!(
        "  [{done}/{total} hosts done, {:.1}s] waiting on:",
        elapsed.as_secs_f64()
    );
    let ellipsis = " …";
    for (i, host) in running.iter().enumerate() {
        let sep = if i == 0 { " " } else { ", " };
        let rest_after = i + 1 < running.len();
        let needed = text_width(sep) + text_width(host) + if rest_after { 3 } else { 0 };
        if text_width(&line) + needed > max_width {
            if i > 0 {
                line.push(',');
            }
            line.push_str(ellipsis);
            break;
        }
        line.push_str(sep);
        line.push_str(host);
    }
    truncate_to_width(&line, max_width)
}

fn truncate_to_width(s: &str, max: usize) -> String {
    if text_width(s) <= max {
        return s.to_string();
    }
    let mut out = String::new();
    for c in s.chars() {
        let w = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if text_width(&out) + w > max {
            break;
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn renders_all_hosts_when_they_fit() {
        let l = render(
            3,
            10,
            Duration::from_millis(12_340),
            &hosts(&["web01", "web02"]),
            200,
        );
        assert_eq!(l, "  [3/10 hosts done, 12.3s] waiting on: web01, web02");
    }

    #[test]
    fn elides_hosts_that_do_not_fit() {
        let names = hosts(&["web01", "web02", "web03", "web04"]);
        let l = render(0, 4, Duration::from_secs(1), &names, 55);
        assert_eq!(l, "  [0/4 hosts done, 1.0s] waiting on: web01, web02, …");
        assert!(text_width(&l) <= 55);
    }

    #[test]
    fn update_erases_and_draws_then_erase_clears() {
        let mut sl = StatusLine::new(80);
        let mut buf: Vec<u8> = Vec::new();
        sl.update(&mut buf, 1, 2, &hosts(&["a"])).unwrap();
        let s = String::from_utf8(buf.clone()).unwrap();
        assert!(s.starts_with("\r\x1b[K  [1/2 hosts done"));
        assert!(!s.contains('\n'));
        assert!(sl.is_visible());
        buf.clear();
        sl.erase(&mut buf).unwrap();
        assert_eq!(buf, b"\r\x1b[K");
        buf.clear();
        sl.erase(&mut buf).unwrap();
        assert!(buf.is_empty(), "erasing twice writes nothing");
    }

    #[test]
    fn updates_are_throttled() {
        let mut sl = StatusLine::new(80);
        let mut buf: Vec<u8> = Vec::new();
        let t0 = Instant::now();
        sl.update_at(t0, &mut buf, 0, 2, &hosts(&["a", "b"]))
            .unwrap();
        let first = buf.len();
        sl.update_at(
            t0 + Duration::from_millis(10),
            &mut buf,
            1,
            2,
            &hosts(&["b"]),
        )
        .unwrap();
        assert_eq!(buf.len(), first, "an update 10ms later is skipped");
        sl.update_at(
            t0 + Duration::from_millis(500),
            &mut buf,
            1,
            2,
            &hosts(&["b"]),
        )
        .unwrap();
        assert!(buf.len() > first, "an update 500ms later draws");
    }
}
