//! `throttle:` the most hosts a task runs on at once, below `forks`. As Ansible's strategy
//! (`_queue_task`), the value is templated with the task's variables and made an integer
//! with Python's `int()`; a value that is not one stops the run.

use crate::template::templar;
use minijinja::Value as MjValue;
use serde_json::Value;
use std::sync::{Condvar, Mutex};

/// The task's throttle (0: no limit), or why it is not an integer.
pub fn value(v: &Value, ctx: &MjValue) -> Result<usize, String> {
    let rendered = match v {
        Value::String(s) => templar()
            .render_native(s, ctx)
            .map_err(super::task::nested_message)?,
        other => other.clone(),
    };
    let n = match &rendered {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f.trunc() as i64)),
        Value::Bool(b) => Some(i64::from(*b)),
        Value::String(s) => Some(s.trim().parse::<i64>().map_err(|_| {
            format!(
                "invalid literal for int() with base 10: {}",
                crate::template::pyfmt::repr_str(s)
            )
        })?),
        _ => None,
    };
    let n = n.ok_or_else(|| {
        format!(
            "int() argument must be a string, a bytes-like object or a real number, not '{}'",
            match &rendered {
                Value::Array(_) => "list",
                Value::Object(_) => "dict",
                _ => "NoneType",
            }
        )
    })?;
    Ok(usize::try_from(n).unwrap_or(0))
}

/// A counting gate: at most `limit` holders at once.
pub struct Gate {
    limit: usize,
    held: Mutex<usize>,
    freed: Condvar,
}

pub struct Pass<'a>(&'a Gate);

impl Gate {
    pub fn new(limit: usize) -> Gate {
        Gate {
            limit: limit.max(1),
            held: Mutex::new(0),
            freed: Condvar::new(),
        }
    }

    /// Waits for a free place; the place is given back when the pass drops.
    pub fn enter(&self) -> Pass<'_> {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        while *held >= self.limit {
            held = self.freed.wait(held).unwrap_or_else(|p| p.into_inner());
        }
        *held += 1;
        Pass(self)
    }
}

impl Drop for Pass<'_> {
    fn drop(&mut self) {
        let mut held = self.0.held.lock().unwrap_or_else(|p| p.into_inner());
        *held -= 1;
        self.0.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ctx() -> MjValue {
        crate::vars::scope::to_mj(&json!({"n": 3}))
    }

    #[test]
    fn values_convert_as_python_int() {
        assert_eq!(value(&json!(2), &ctx()), Ok(2));
        assert_eq!(value(&json!("{{ n }}"), &ctx()), Ok(3));
        assert_eq!(value(&json!("4"), &ctx()), Ok(4));
        assert_eq!(
            value(&json!("{{ 'nope' }}"), &ctx()),
            Err("invalid literal for int() with base 10: 'nope'".into())
        );
        assert!(value(&json!("{{ missing }}"), &ctx())
            .unwrap_err()
            .contains("'missing' is undefined"));
    }

    #[test]
    fn the_gate_never_lets_more_than_its_limit_in() {
        let gate = Gate::new(2);
        let inside = Mutex::new((0usize, 0usize));
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    let _pass = gate.enter();
                    {
                        let mut i = inside.lock().unwrap();
                        i.0 += 1;
                        i.1 = i.1.max(i.0);
                    }
                    std::thread::yield_now();
                    inside.lock().unwrap().0 -= 1;
                });
            }
        });
        assert!(inside.lock().unwrap().1 <= 2);
    }
}
