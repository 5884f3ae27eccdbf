//! Resource checks against the host cloud inventory's `yiqiu_resources` (bytes, MHz, IOPS):
//!
//! - `units | resource_sum`: what a list of requests asks for in total (`{ram: 16G}` items);
//! - `host | overcommit(units)`: the resources the requests exceed, `{}` when they fit;
//! - `host is fits(units)`: the assert-friendly form of the same check.
//!
//! A host is a name (its `yiqiu_resources` is looked up in `hostvars`) or a resources mapping.

use super::filters::{data, fail, mj};
use crate::inventory::sizes::Resource;
use minijinja::{Environment, Error, State, Value as MjValue};
use serde_json::{Map, Value};

pub fn register(env: &mut Environment<'static>) {
    env.add_filter("resource_sum", resource_sum);
    env.add_filter("overcommit", overcommit);
    env.add_test("fits", fits);
}

/// Base-unit amounts per resource, in `Resource::ALL` order.
pub(crate) type Amounts = [Option<f64>; 4];

fn index(r: Resource) -> usize {
    Resource::ALL.iter().position(|x| *x == r).unwrap_or(0)
}

/// One request mapping (`{ram: 16G, cpu_mhz: 2000}`) as amounts; `what` names it in errors.
pub(crate) fn amounts(v: &Value, what: &str) -> Result<Amounts, Error> {
    let Value::Object(m) = v else {
        return Err(fail(format!(
            "{what} must be a mapping of resources such as {{ram: 16G, cpu_mhz: 2000}}, not {}",
            super::pyfmt::to_str(v)
        )));
    };
    let mut out: Amounts = [None; 4];
    for (k, val) in m {
        let Some(r) = Resource::from_name(k) else {
            return Err(fail(format!(
                "{what}: unknown resource '{k}' (known: cpu_mhz, ram, disk, iops)"
            )));
        };
        let Some(n) = r.parse(val) else {
            return Err(fail(format!(
                "{what}: {k} is '{}'; write it as {}",
                super::pyfmt::to_str(val),
                r.expected()
            )));
        };
        out[index(r)] = Some(n as f64);
    }
    Ok(out)
}

/// The sum of a list of requests (or of one request).
pub(crate) fn sum(requests: &Value, what: &str) -> Result<Amounts, Error> {
    let items: Vec<&Value> = match requests {
        Value::Array(a) => a.iter().collect(),
        Value::Null => Vec::new(),
        other => vec![other],
    };
    let mut total: Amounts = [None; 4];
    for (i, item) in items.iter().enumerate() {
        let one = amounts(item, &format!("{what}[{i}]"))?;
        for (t, a) in total.iter_mut().zip(one) {
            if let Some(a) = a {
                *t = Some(t.unwrap_or(0.0) + a);
            }
        }
    }
    Ok(total)
}

pub(crate) fn to_map(a: &Amounts) -> Map<String, Value> {
    Resource::ALL
        .iter()
        .zip(a)
        .filter_map(|(r, v)| v.map(|v| (r.name().to_string(), Value::from(v as u64))))
        .collect()
}

/// A host's declared resources: from a mapping, or `hostvars[name].yiqiu_resources`.
pub(crate) fn host_resources(state: &State, host: &MjValue) -> Result<Amounts, Error> {
    if let Some(name) = host.as_str() {
        let v = host_var(state, name, "yiqiu_resources")?.ok_or_else(|| {
            fail(format!(
                "host {name} declares no resources (yiqiu_resources); give it resources: in the host cloud inventory"
            ))
        })?;
        return amounts(&v, &format!("the resources of host {name}"));
    }
    amounts(&data(host)?, "the host's resources")
}

/// `hostvars[host][var]`, `None` when the host lacks it; an unknown host is an error.
pub(crate) fn host_var(state: &State, host: &str, var: &str) -> Result<Option<Value>, Error> {
    let hostvars = state
        .lookup("hostvars")
        .ok_or_else(|| fail("hostvars is not available here"))?;
    let vars = hostvars
        .get_item(&MjValue::from(host))
        .ok()
        .filter(|v| !v.is_undefined())
        .ok_or_else(|| fail(format!("'{host}' is not a host of the inventory")))?;
    let v = vars.get_attr(var).unwrap_or(MjValue::UNDEFINED);
    if v.is_undefined() || v.is_none() {
        return Ok(None);
    }
    data(&v).map(Some)
}

fn resource_sum(requests: &MjValue) -> Result<MjValue, Error> {
    let total = sum(&data(requests)?, "resource_sum")?;
    Ok(mj(Value::Object(to_map(&total))))
}

/// The over-committed resources: `{ram: {requested: .., available: ..}}`. A resource the host
/// does not declare has 0 available, so a request for it never fits silently.
fn over(state: &State, host: &MjValue, requests: &MjValue) -> Result<Map<String, Value>, Error> {
    let have = host_resources(state, host)?;
    let want = sum(&data(requests)?, "the requests")?;
    let mut out = Map::new();
    for (i, r) in Resource::ALL.iter().enumerate() {
        let (Some(w), h) = (want[i], have[i].unwrap_or(0.0)) else {
            continue;
        };
        if w > h {
            let mut m = Map::new();
            m.insert("requested".into(), Value::from(w as u64));
            m.insert("available".into(), Value::from(h as u64));
            out.insert(r.name().to_string(), Value::Object(m));
        }
    }
    Ok(out)
}

fn overcommit(state: &State, host: &MjValue, requests: &MjValue) -> Result<MjValue, Error> {
    Ok(mj(Value::Object(over(state, host, requests)?)))
}

fn fits(state: &State, host: &MjValue, requests: &MjValue) -> Result<bool, Error> {
    Ok(over(state, host, requests)?.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sums_and_errors() {
        let t = sum(
            &json!([{"ram": "16G"}, {"ram": "1G", "cpu_mhz": "2GHz"}]),
            "x",
        )
        .unwrap();
        assert_eq!(
            to_map(&t),
            *json!({"cpu_mhz": 2000, "ram": 17u64 << 30})
                .as_object()
                .unwrap()
        );
        let e = sum(&json!([{"ram": "16Q"}]), "units").unwrap_err();
        assert!(e.to_string().contains("units[0]: ram is '16Q'"), "{e}");
        let e = sum(&json!([{"gpu": 1}]), "units").unwrap_err();
        assert!(e.to_string().contains("unknown resource 'gpu'"), "{e}");
    }
}
