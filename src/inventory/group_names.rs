//! Group names that are not valid variable names (`local-`): Ansible's
//! `TRANSFORM_INVALID_GROUP_CHARS` keeps them with a warning (`never`, the default), keeps
//! them silently (`ignore`), or replaces each bad character with `_` (`always`, with a
//! warning; `silently`).

use super::Inventory;
use crate::error::{Error, Result};
use regex::Regex;
use std::borrow::Cow;
use std::sync::OnceLock;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum GroupChars {
    #[default]
    Never,
    Ignore,
    Always,
    Silently,
}

const WARN_REPLACED: &str =
    "Invalid characters were found in group names and automatically replaced, use -vvvv to see details";
const WARN_KEPT: &str =
    "Invalid characters were found in group names but not replaced, use -vvvv to see details";

impl GroupChars {
    pub fn parse(v: &str) -> Result<GroupChars> {
        match v.trim().to_ascii_lowercase().as_str() {
            "never" | "false" | "no" => Ok(GroupChars::Never),
            "ignore" => Ok(GroupChars::Ignore),
            "always" | "true" | "yes" => Ok(GroupChars::Always),
            "silently" => Ok(GroupChars::Silently),
            other => Err(Error::other(format!(
                "Invalid value \"{other}\" for configuration option \"setting: TRANSFORM_INVALID_GROUP_CHARS\", valid values are: always, never, ignore, silently"
            ))),
        }
    }

    fn replaces(self) -> bool {
        matches!(self, GroupChars::Always | GroupChars::Silently)
    }
}

/// Ansible's `INVALID_VARIABLE_NAMES`: a leading digit or non-word character, or any
/// non-word character.
fn invalid() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"^[\d\W]|[^\w]").unwrap_or_else(|e| panic!("bad regex: {e}")))
}

impl Inventory {
    /// The name a group is stored under.
    pub(crate) fn group_key<'a>(&self, name: &'a str) -> Cow<'a, str> {
        if self.group_chars.replaces() {
            invalid().replace_all(name, "_")
        } else {
            Cow::Borrowed(name)
        }
    }

    /// Warns once, as Ansible's `to_safe_group_name`, when a new group's name is invalid.
    pub(crate) fn check_group_name(&mut self, name: &str) {
        if name.is_empty() || !invalid().is_match(name) {
            return;
        }
        let warning = match self.group_chars {
            GroupChars::Always => WARN_REPLACED,
            GroupChars::Never => WARN_KEPT,
            GroupChars::Ignore | GroupChars::Silently => return,
        };
        if !self.warnings.iter().any(|w| w == warning) {
            self.warnings.push(warning.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes() {
        let mut inv = Inventory::empty();
        inv.group_chars = GroupChars::Always;
        assert_eq!(inv.group_key("local-x"), "local_x");
        assert_eq!(inv.group_key("1a"), "_a");
        inv.group_chars = GroupChars::Never;
        assert_eq!(inv.group_key("local-x"), "local-x");
        inv.check_group_name("local-x");
        inv.check_group_name("other-x");
        assert_eq!(inv.warnings, vec![WARN_KEPT.to_string()]);
        assert!(GroupChars::parse("bogus").is_err());
    }
}
