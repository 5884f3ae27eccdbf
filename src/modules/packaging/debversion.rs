//! Debian version comparison (dpkg's `verrevcmp`), as python-apt's `version_compare`.

use std::cmp::Ordering;

/// Compares two Debian versions `[epoch:]upstream[-revision]`.
pub fn compare(a: &str, b: &str) -> Ordering {
    let (ea, ua, ra) = split(a);
    let (eb, ub, rb) = split(b);
    ea.cmp(&eb)
        .then_with(|| verrevcmp(ua, ub))
        .then_with(|| verrevcmp(ra, rb))
}

fn split(v: &str) -> (u64, &str, &str) {
    let (epoch, rest) = match v.split_once(':') {
        Some((e, r)) if e.chars().all(|c| c.is_ascii_digit()) => (e.parse().unwrap_or(0), r),
        _ => (0, v),
    };
    match rest.rsplit_once('-') {
        Some((u, r)) => (epoch, u, r),
        None => (epoch, rest, ""),
    }
}

/// The sort weight of a non-digit character: `~` sorts before everything, even the end.
fn order(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(b'~') => -1,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => c as i32,
        Some(c) => c as i32 + 256,
    }
}

fn verrevcmp(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        // The non-digit prefixes, character by character.
        while (i < a.len() && !a[i].is_ascii_digit()) || (j < b.len() && !b[j].is_ascii_digit()) {
            let ac = order(a.get(i).copied().filter(|c| !c.is_ascii_digit()));
            let bc = order(b.get(j).copied().filter(|c| !c.is_ascii_digit()));
            if ac != bc {
                return ac.cmp(&bc);
            }
            if i < a.len() && !a[i].is_ascii_digit() {
                i += 1;
            }
            if j < b.len() && !b[j].is_ascii_digit() {
                j += 1;
            }
        }
        // Then the digit runs, as numbers.
        let num = |s: &[u8], k: &mut usize| {
            let start = *k;
            while *k < s.len() && s[*k].is_ascii_digit() {
                *k += 1;
            }
            let digits = std::str::from_utf8(&s[start..*k]).unwrap_or("");
            let digits = digits.trim_start_matches('0');
            (digits.len(), digits.to_string())
        };
        let na = num(a, &mut i);
        let nb = num(b, &mut j);
        match na.cmp(&nb) {
            Ordering::Equal => {}
            other => return other,
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dpkg_ordering() {
        assert_eq!(compare("1.0", "1.0"), Ordering::Equal);
        assert_eq!(compare("1.0~rc1", "1.0"), Ordering::Less);
        assert_eq!(compare("1.0", "1.0a"), Ordering::Less);
        assert_eq!(compare("1:0.1", "2.0"), Ordering::Greater);
        assert_eq!(compare("2.0.10", "2.0.9"), Ordering::Greater);
        assert_eq!(compare("1.0-1", "1.0-1+deb12u1"), Ordering::Less);
        assert_eq!(compare("3.0pl1-162", "3.0pl1-161"), Ordering::Greater);
        assert_eq!(compare("1.0.0", "1.0"), Ordering::Greater);
    }
}
