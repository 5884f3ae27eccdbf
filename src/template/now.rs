//! Ansible's `now(utc=False, fmt=None)` global: the controller's current time, as a string with
//! `fmt` (strftime), else a datetime-like object (`.year`, ..., `.strftime(fmt)`, printed as
//! Python prints a datetime).

use minijinja::value::{Kwargs, Object, Value};
use minijinja::{Error, ErrorKind, State};
use std::sync::Arc;

#[derive(Debug)]
struct DateTime {
    tm: libc::tm,
    micros: u32,
}

// libc::tm holds a raw pointer (tm_zone) to static zone data, which is safe to share.
unsafe impl Send for DateTime {}
unsafe impl Sync for DateTime {}

fn current(utc: bool) -> DateTime {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs() as libc::time_t;
    // SAFETY: zeroed tm is a valid out-parameter; the *_r functions fill it.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    unsafe {
        if utc {
            libc::gmtime_r(&secs, &mut tm);
        } else {
            libc::localtime_r(&secs, &mut tm);
        }
    }
    DateTime {
        tm,
        micros: now.subsec_micros(),
    }
}

/// Python's `%f` (microseconds, six digits), which C's strftime lacks; `%%` stays.
fn with_micros(fmt: &str, micros: u32) -> String {
    let mut out = String::with_capacity(fmt.len() + 8);
    let mut chars = fmt.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('f') => out.push_str(&format!("{micros:06}")),
            Some(other) => {
                out.push('%');
                out.push(other);
            }
            None => out.push('%'),
        }
    }
    out
}

fn strftime(tm: &libc::tm, micros: u32, fmt: &str) -> Result<String, Error> {
    let fmt = with_micros(fmt, micros);
    let cfmt = std::ffi::CString::new(fmt.as_str())
        .map_err(|_| Error::new(ErrorKind::InvalidOperation, "format contains a NUL byte"))?;
    let mut buf = vec![0u8; 256 + fmt.len() * 8];
    // SAFETY: buf is writable for its length; cfmt and tm are valid.
    let n = unsafe { libc::strftime(buf.as_mut_ptr().cast(), buf.len(), cfmt.as_ptr(), tm) };
    buf.truncate(n);
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

impl Object for DateTime {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let t = &self.tm;
        Some(Value::from(match key.as_str()? {
            "year" => i64::from(t.tm_year) + 1900,
            "month" => i64::from(t.tm_mon) + 1,
            "day" => i64::from(t.tm_mday),
            "hour" => i64::from(t.tm_hour),
            "minute" => i64::from(t.tm_min),
            "second" => i64::from(t.tm_sec),
            "microsecond" => i64::from(self.micros),
            _ => return None,
        }))
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        match method {
            "strftime" => {
                let fmt = args
                    .first()
                    .and_then(Value::as_str)
                    .unwrap_or("%Y-%m-%d %H:%M:%S");
                strftime(&self.tm, self.micros, fmt).map(Value::from)
            }
            "isoformat" => Ok(Value::from(format!(
                "{}.{:06}",
                strftime(&self.tm, self.micros, "%Y-%m-%dT%H:%M:%S")?,
                self.micros
            ))),
            _ => Err(Error::new(
                ErrorKind::UnknownMethod,
                format!("datetime has no method {method}"),
            )),
        }
    }

    fn render(self: &Arc<Self>, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let base =
            strftime(&self.tm, self.micros, "%Y-%m-%d %H:%M:%S").map_err(|_| std::fmt::Error)?;
        write!(f, "{base}.{:06}", self.micros)
    }
}

/// `now(utc=False, fmt=None)`.
pub fn now(kwargs: Kwargs) -> Result<Value, Error> {
    let utc: Option<bool> = kwargs.get("utc")?;
    let fmt: Option<String> = kwargs.get("fmt")?;
    kwargs.assert_all_used()?;
    let dt = current(utc.unwrap_or(false));
    match fmt {
        Some(f) => strftime(&dt.tm, dt.micros, &f).map(Value::from),
        None => Ok(Value::from_object(dt)),
    }
}

#[cfg(test)]
mod tests {
    use crate::template::templar;
    use serde_json::json;

    #[test]
    fn percent_f_is_microseconds_and_percent_percent_stays() {
        assert_eq!(super::with_micros("%S.%f", 42), "%S.000042");
        assert_eq!(super::with_micros("100%%f %f", 7), "100%%f 000007");
        let ctx = crate::template::mj_value(json!({}));
        let s = templar()
            .render_string("{{ now(fmt='%f') }}", &ctx)
            .unwrap();
        assert!(s.len() == 6 && s.bytes().all(|b| b.is_ascii_digit()), "{s}");
    }

    #[test]
    fn now_formats_and_has_fields() {
        let ctx = crate::template::mj_value(json!({}));
        let year = templar().eval("now(utc=true).year", &ctx).unwrap();
        assert!(year.as_i64().unwrap() > 2000);
        let s = templar()
            .render_string("{{ now(fmt='%Y') }}", &ctx)
            .unwrap();
        assert_eq!(s.len(), 4);
        let iso = templar()
            .render_string("{{ now().strftime('%H:%M') }}", &ctx)
            .unwrap();
        assert_eq!(iso.len(), 5);
    }
}
