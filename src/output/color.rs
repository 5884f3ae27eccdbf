//! ANSI colors the way Ansible's `ansible.utils.color` applies them.

/// The colors Ansible's default configuration assigns to each kind of message
/// (`COLOR_*` in ansible-core's base.yml), as SGR parameters from `C.COLOR_CODES`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Color {
    /// `COLOR_OK`: green.
    Ok,
    /// `COLOR_CHANGED`: yellow.
    Changed,
    /// `COLOR_SKIP` (also `...ignoring`): cyan.
    Skip,
    /// `COLOR_ERROR`: red.
    Error,
    /// `COLOR_UNREACHABLE`: bright red.
    Unreachable,
    /// `COLOR_WARN`: bright purple.
    Warn,
    /// `COLOR_DEBUG` (retries, task path): dark gray.
    Debug,
    /// `COLOR_INCLUDED`: cyan.
    Included,
    /// `COLOR_VERBOSE`: blue.
    Verbose,
    /// `COLOR_DEPRECATE`: purple.
    Deprecate,
}

impl Color {
    pub fn sgr(self) -> &'static str {
        match self {
            Color::Ok => "0;32",
            Color::Changed => "0;33",
            Color::Skip | Color::Included => "0;36",
            Color::Error => "0;31",
            Color::Unreachable => "1;31",
            Color::Warn => "1;35",
            Color::Debug => "1;30",
            Color::Verbose => "0;34",
            Color::Deprecate => "0;35",
        }
    }
}

/// `stringc`: wraps every line separately so a color never bleeds across a newline.
pub fn stringc(text: &str, color: Color, enabled: bool) -> String {
    if !enabled {
        return text.to_string();
    }
    text.split('\n')
        .map(|line| format!("\x1b[{}m{}\x1b[0m", color.sgr(), line))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `colorize`: `lead=num` padded to 4, colored only when non-zero.
pub fn colorize(lead: &str, num: u32, color: Option<Color>, enabled: bool) -> String {
    let s = format!("{lead}={num:<4}");
    match color {
        Some(c) if num != 0 && enabled => stringc(&s, c, true),
        _ => s,
    }
}

/// Ansible's boolean parsing for environment settings (`BOOLEANS_TRUE`).
fn env_true(name: &str) -> Option<bool> {
    let v = std::env::var(name).ok()?;
    let v = v.trim().to_ascii_lowercase();
    Some(matches!(
        v.as_str(),
        "y" | "yes" | "on" | "1" | "true" | "t"
    ))
}

/// Whether output should be colored, like `ansible.utils.color.ANSIBLE_COLOR`:
/// `ANSIBLE_NOCOLOR`/`NO_COLOR` turn it off, a non-terminal stdout turns it off, and
/// `ANSIBLE_FORCE_COLOR` turns it back on regardless.
pub fn color_from_env(stdout_is_terminal: bool) -> bool {
    let nocolor = env_true("ANSIBLE_NOCOLOR")
        .or_else(|| env_true("NO_COLOR"))
        .unwrap_or(false);
    let force = env_true("ANSIBLE_FORCE_COLOR").unwrap_or(false);
    if force {
        return true;
    }
    !nocolor && stdout_is_terminal && std::env::var("TERM").map_or(true, |t| t != "dumb")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stringc_wraps_each_line() {
        assert_eq!(
            stringc("a\nb", Color::Ok, true),
            "\x1b[0;32ma\x1b[0m\n\x1b[0;32mb\x1b[0m"
        );
        assert_eq!(stringc("a\nb", Color::Ok, false), "a\nb");
    }

    #[test]
    fn colorize_only_nonzero() {
        assert_eq!(colorize("ok", 0, Some(Color::Ok), true), "ok=0   ");
        assert_eq!(
            colorize("ok", 12, Some(Color::Ok), true),
            "\x1b[0;32mok=12  \x1b[0m"
        );
        assert_eq!(colorize("failed", 1, None, true), "failed=1   ");
    }
}
