//! Resource amounts with units, as operators write them in a host cloud inventory:
//! sizes (`256G`, `4T`, `512MiB`, bytes when bare) and CPU frequency (`48000`, `2.4GHz`).
//!
//! Sizes use powers of 1024, as Ansible's `human_to_bytes` does, so `'256G' | human_to_bytes`
//! and `yiqiu_resources.ram` agree.

use serde_json::Value;

/// Unit letters and their power of 1024.
const SIZE_UNITS: [(char, u32); 7] = [
    ('B', 0),
    ('K', 1),
    ('M', 2),
    ('G', 3),
    ('T', 4),
    ('P', 5),
    ('E', 6),
];

/// Splits `"2.5 GHz"` into `(2.5, "GHz")`; `None` unless it starts with a non-negative number.
fn split_number(text: &str) -> Option<(f64, &str)> {
    let t = text.trim();
    let end = t
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_digit() || *c == '.'))
        .map_or(t.len(), |(i, _)| i);
    let num: f64 = t[..end].parse().ok()?;
    (num.is_finite() && num >= 0.0).then_some((num, t[end..].trim()))
}

/// Bytes from `256G`, `4T`, `1.5TiB`, `512MB`, `1024` (bare: bytes).
pub fn parse_size(text: &str) -> Option<u64> {
    let (num, unit) = split_number(text)?;
    let power = if unit.is_empty() {
        0
    } else {
        let mut chars = unit.chars();
        let letter = chars.next()?.to_ascii_uppercase();
        let rest: String = chars.collect();
        // `G`, `GB`, `GiB` are the same size; anything else (`Gb`, `GX`) is refused.
        let ok = rest.is_empty() || (letter != 'B' && (rest == "B" || rest == "iB"));
        if !ok {
            return None;
        }
        SIZE_UNITS.iter().find(|(c, _)| *c == letter)?.1
    };
    let bytes = num * 1024f64.powi(power as i32);
    (bytes < u64::MAX as f64).then_some(bytes.round() as u64)
}

/// MHz from `48000`, `48000MHz`, `2.4GHz`, `2400000kHz`.
pub fn parse_mhz(text: &str) -> Option<u64> {
    let (num, unit) = split_number(text)?;
    let factor = match unit.to_ascii_lowercase().as_str() {
        "" | "mhz" => 1.0,
        "ghz" => 1000.0,
        "khz" => 0.001,
        _ => return None,
    };
    let mhz = num * factor;
    (mhz < u64::MAX as f64).then_some(mhz.round() as u64)
}

/// A plain count (`20000`, `"20000"`), for IOPS.
pub fn parse_count(text: &str) -> Option<u64> {
    text.trim().parse().ok()
}

/// The resources a cloud host may declare, how each is read, and what the error suggests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resource {
    CpuMhz,
    Ram,
    Disk,
    Iops,
}

impl Resource {
    pub const ALL: [Resource; 4] = [
        Resource::CpuMhz,
        Resource::Ram,
        Resource::Disk,
        Resource::Iops,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Resource::CpuMhz => "cpu_mhz",
            Resource::Ram => "ram",
            Resource::Disk => "disk",
            Resource::Iops => "iops",
        }
    }

    pub fn from_name(name: &str) -> Option<Resource> {
        Resource::ALL.into_iter().find(|r| r.name() == name)
    }

    /// What a valid value looks like, for error messages.
    pub fn expected(self) -> &'static str {
        match self {
            Resource::CpuMhz => "a frequency in MHz such as 48000, 48000MHz or 2.4GHz",
            Resource::Ram | Resource::Disk => {
                "a size such as 256G or 4T (units K, M, G, T, P, E: powers of 1024; bare numbers are bytes)"
            }
            Resource::Iops => "a whole number such as 20000",
        }
    }

    /// Reads a YAML/JSON value of this resource into its base unit (bytes, MHz, IOPS).
    pub fn parse(self, value: &Value) -> Option<u64> {
        let text = match value {
            Value::Number(n) => n.to_string(),
            Value::String(s) => s.clone(),
            _ => return None,
        };
        match self {
            Resource::CpuMhz => parse_mhz(&text),
            Resource::Ram | Resource::Disk => parse_size(&text),
            Resource::Iops => parse_count(&text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("256G"), Some(256 << 30));
        assert_eq!(parse_size("4T"), Some(4 << 40));
        assert_eq!(parse_size("4 TiB"), Some(4 << 40));
        assert_eq!(parse_size("512MB"), Some(512 << 20));
        assert_eq!(parse_size("1.5k"), Some(1536));
        assert_eq!(parse_size("1024"), Some(1024));
        assert_eq!(parse_size("10B"), Some(10));
        for bad in [
            "", "G", "256X", "256Gb", "-1G", "4TT", "1e3", "abc", "99999E",
        ] {
            assert_eq!(parse_size(bad), None, "{bad}");
        }
    }

    #[test]
    fn frequencies_and_counts() {
        assert_eq!(parse_mhz("48000"), Some(48000));
        assert_eq!(parse_mhz("2.4GHz"), Some(2400));
        assert_eq!(parse_mhz("48000 MHz"), Some(48000));
        assert_eq!(parse_mhz("2.4G"), None);
        assert_eq!(parse_count("20000"), Some(20000));
        assert_eq!(parse_count("20k"), None);
    }

    #[test]
    fn values_of_each_resource() {
        assert_eq!(Resource::Ram.parse(&json!("256G")), Some(256 << 30));
        assert_eq!(Resource::Ram.parse(&json!(1024)), Some(1024));
        assert_eq!(Resource::CpuMhz.parse(&json!(48000)), Some(48000));
        assert_eq!(Resource::Iops.parse(&json!(true)), None);
        assert_eq!(Resource::Iops.parse(&json!(1.5)), None);
        assert_eq!(Resource::from_name("disk"), Some(Resource::Disk));
        assert_eq!(Resource::from_name("gpu"), None);
    }
}
