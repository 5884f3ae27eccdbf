//! Privilege escalation: turning a shell script into a `sudo`/`su` command line.
//!
//! Without a password sudo runs with `-n`, so a host that wants one fails at once instead of
//! waiting on a prompt nobody will answer. With a password we pass `-S -p '<marker>'`: sudo
//! then writes exactly our unique marker to stderr when (and only when) it wants the password,
//! so the connection knows when to write it and can tell a second prompt (wrong password)
//! from the command's own output. The command itself first echoes a success marker, so stdin
//! meant for the command is never sent before sudo has let it run (sudo may not prompt at all:
//! NOPASSWD rules, cached credentials).

use super::{quote, Become};

/// A become-wrapped command line and the markers a connection must watch for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Wrapped {
    /// The command line to hand to the remote login shell.
    pub line: String,
    /// Written by sudo on stderr when it wants the password.
    pub prompt: Option<String>,
    /// Echoed on stdout (with a newline) once the command really starts.
    pub success: Option<String>,
}

/// Wraps `script` (run by `/bin/sh -c`) as `become_` says; `key` makes the markers unique.
pub fn wrap(script: &str, become_: &Become, key: &str) -> Wrapped {
    // `exec` lets the login shell that sshd starts replace itself with ours instead of forking
    // a child and waiting for it: one process fewer per command.
    let plain = format!("exec /bin/sh -c {}", quote(script));
    if !become_.enabled {
        return Wrapped {
            line: plain,
            prompt: None,
            success: None,
        };
    }
    let user = if become_.user.is_empty() {
        "root"
    } else {
        &become_.user
    };
    let password = become_.password.as_deref().filter(|p| !p.is_empty());
    match (become_.method.as_str(), password) {
        ("su", _) => Wrapped {
            line: format!("exec su -s /bin/sh {} -c {}", quote(user), quote(script)),
            prompt: None,
            success: None,
        },
        (_, None) => {
            let flags = if become_.flags.is_empty() {
                "-H -S -n"
            } else {
                &become_.flags
            };
            Wrapped {
                line: format!(
                    "exec sudo {flags} -u {} /bin/sh -c {}",
                    quote(user),
                    quote(script)
                ),
                prompt: None,
                success: None,
            }
        }
        (_, Some(_)) => {
            let prompt = format!("[sudo via yiqiu-play, key={key}] password:");
            let success = format!("BECOME-SUCCESS-{key}");
            // `-n` would forbid the prompt we are about to answer.
            let flags: Vec<&str> = if become_.flags.is_empty() {
                vec!["-H", "-S"]
            } else {
                become_
                    .flags
                    .split_whitespace()
                    .filter(|f| *f != "-n")
                    .collect()
            };
            let inner = format!("echo {success}; {script}");
            Wrapped {
                line: format!(
                    "exec sudo {} -p {} -u {} /bin/sh -c {}",
                    flags.join(" "),
                    quote(&prompt),
                    quote(user),
                    quote(&inner)
                ),
                prompt: Some(prompt),
                success: Some(success),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sudo(password: Option<&str>) -> Become {
        Become {
            enabled: true,
            method: "sudo".into(),
            user: "root".into(),
            flags: String::new(),
            password: password.map(str::to_string),
        }
    }

    #[test]
    fn no_become_still_runs_under_sh() {
        let w = wrap("echo 'hi'", &Become::default(), "k");
        assert_eq!(w.line, r"exec /bin/sh -c 'echo '\''hi'\'''");
        assert!(w.prompt.is_none());
    }

    #[test]
    fn passwordless_sudo_is_non_interactive() {
        let w = wrap("id -u", &sudo(None), "k");
        assert_eq!(w.line, "exec sudo -H -S -n -u root /bin/sh -c 'id -u'");
        assert!(w.prompt.is_none() && w.success.is_none());
    }

    #[test]
    fn password_sudo_uses_markers() {
        let w = wrap("id -u", &sudo(Some("pw")), "abc");
        assert_eq!(
            w.prompt.as_deref(),
            Some("[sudo via yiqiu-play, key=abc] password:")
        );
        assert_eq!(w.success.as_deref(), Some("BECOME-SUCCESS-abc"));
        assert!(w
            .line
            .starts_with("exec sudo -H -S -p '[sudo via yiqiu-play, key=abc] password:' -u root"));
        assert!(w.line.contains("echo BECOME-SUCCESS-abc; id -u"));
        assert!(!w.line.contains(" -n "));
    }
}
