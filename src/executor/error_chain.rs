//! ansible-core 2.19's error block for a failure with causes: the whole message, then
//! "Task failed." at the task, and each cause at the line and column where it is written,
//! joined by `<<< caused by >>>` (an undefined variable in an argument points at the value,
//! a bad conditional at the `when:` expression).

use crate::error::Origin;

/// One cause: its message and where it is written (when known).
pub struct Cause {
    pub msg: String,
    pub origin: Option<Origin>,
}

/// `Task failed: a: b: c`, as the result's `msg` carries it.
pub fn full_message(causes: &[Cause]) -> String {
    let parts: Vec<&str> = causes.iter().map(|c| c.msg.as_str()).collect();
    format!("Task failed: {}", parts.join(": "))
}

/// The text after `[ERROR]: `. Links written at the same place are one link, their messages
/// joined by `: ` (a one-line `- debug: msg={{ x }}` task has its action where it starts).
pub fn summary(task_origin: &Origin, causes: &[Cause]) -> String {
    let mut links: Vec<(String, Option<&Origin>)> = vec![("Task failed".into(), Some(task_origin))];
    for c in causes {
        match links.last_mut() {
            Some((msg, at)) if c.origin.is_some() && *at == c.origin.as_ref() => {
                msg.push_str(": ");
                msg.push_str(&c.msg);
            }
            _ => links.push((c.msg.clone(), c.origin.as_ref())),
        }
    }
    let mut out = full_message(causes);
    for (i, (msg, at)) in links.iter().enumerate() {
        out.push_str(if i == 0 {
            "\n\n"
        } else {
            "\n\n<<< caused by >>>\n\n"
        });
        out.push_str(msg);
        // Every link but the innermost is a sentence of its own.
        if i + 1 < links.len() && !msg.ends_with('.') {
            out.push('.');
        }
        if let Some(o) = at {
            out.push('\n');
            out.push_str(&o.located());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_at_the_same_place_are_merged() {
        let o = Origin::new("/nonexistent.yml", 4, 7);
        let causes = [
            Cause {
                msg: "Finalization of task args for 'ansible.builtin.debug' failed".into(),
                origin: Some(o.clone()),
            },
            Cause {
                msg: "Error while resolving value for 'msg': 'foo' is undefined".into(),
                origin: Some(Origin::new("/nonexistent.yml", 4, 14)),
            },
        ];
        assert!(summary(&o, &causes).contains(
            "\n\nTask failed: Finalization of task args for 'ansible.builtin.debug' failed.\nOrigin: /nonexistent.yml:4:7\n\n<<< caused by >>>\n\nError while resolving value"
        ));
    }

    #[test]
    fn causes_are_joined_and_each_but_the_last_ends_with_a_period() {
        let o = Origin::new("/nonexistent.yml", 4, 7);
        let causes = [
            Cause {
                msg: "Finalization of task args for 'ansible.builtin.debug' failed".into(),
                origin: Some(Origin::new("/nonexistent.yml", 5, 7)),
            },
            Cause {
                msg: "Error while resolving value for 'msg': 'foo' is undefined".into(),
                origin: None,
            },
        ];
        assert_eq!(
            full_message(&causes),
            "Task failed: Finalization of task args for 'ansible.builtin.debug' failed: Error while resolving value for 'msg': 'foo' is undefined"
        );
        assert_eq!(
            summary(&o, &causes),
            "Task failed: Finalization of task args for 'ansible.builtin.debug' failed: Error while resolving value for 'msg': 'foo' is undefined\n\nTask failed.\nOrigin: /nonexistent.yml:4:7\n\n<<< caused by >>>\n\nFinalization of task args for 'ansible.builtin.debug' failed.\nOrigin: /nonexistent.yml:5:7\n\n<<< caused by >>>\n\nError while resolving value for 'msg': 'foo' is undefined"
        );
    }
}
