//! `hosts | spread(n, by='yiqiu_zone', max_per=none, requires=none, used=none)`: picks `n`
//! hosts spread over failure domains as evenly as possible, preferring hosts with the most
//! free resources, and fails saying why when it cannot.
//!
//! Each pick goes to the domain with the fewest picks so far (ties: the domain whose best
//! remaining host is freest, then the domain seen first), and takes that domain's freest
//! host. Free = `yiqiu_resources` minus `used[host]`; a host's score is the sum over
//! resources of its free amount divided by the largest free amount among the candidates.
//! `requires` (what one pick needs) drops hosts that lack it; `max_per` caps picks per domain.

use super::filters::{data, fail, mj};
use super::resources::{amounts, host_resources, host_var, sum, Amounts};
use minijinja::value::Kwargs;
use minijinja::{Environment, Error, State, Value as MjValue};
use serde_json::Value;

pub fn register(env: &mut Environment<'static>) {
    env.add_filter("spread", spread);
}

struct Candidate {
    name: String,
    free: Amounts,
    score: f64,
}

struct Domain {
    name: String,
    hosts: Vec<Candidate>,
    picked: usize,
}

struct Request {
    n: usize,
    by: String,
    max_per: Option<usize>,
    requires: Option<Amounts>,
    used: Value,
}

impl Request {
    fn describe(&self) -> String {
        let mut s = format!("spread({}, by='{}'", self.n, self.by);
        if let Some(m) = self.max_per {
            s.push_str(&format!(", max_per={m}"));
        }
        if self.requires.is_some() {
            s.push_str(", requires=...");
        }
        s + ")"
    }
}

fn spread(state: &State, hosts: &MjValue, n: usize, kwargs: Kwargs) -> Result<MjValue, Error> {
    let req = Request {
        n,
        by: kwargs
            .get::<Option<String>>("by")?
            .unwrap_or_else(|| "yiqiu_zone".into()),
        max_per: kwargs.get::<Option<usize>>("max_per")?,
        requires: match kwargs.get::<Option<MjValue>>("requires")? {
            Some(r) => Some(amounts(&data(&r)?, "spread: requires")?),
            None => None,
        },
        used: kwargs
            .get::<Option<MjValue>>("used")?
            .map(|u| data(&u))
            .transpose()?
            .unwrap_or(Value::Null),
    };
    kwargs.assert_all_used()?;
    let names = host_names(hosts, &req)?;
    let (mut domains, lacking) = candidates(state, &names, &req)?;
    let picks =
        pick(&mut domains, &req).ok_or_else(|| fail(shortfall(&domains, &lacking, &req)))?;
    Ok(mj(Value::from(picks)))
}

fn host_names(hosts: &MjValue, req: &Request) -> Result<Vec<String>, Error> {
    match data(hosts)? {
        Value::Array(items) => items
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Ok(s),
                other => Err(fail(format!(
                    "{}: expects a list of host names, got {}",
                    req.describe(),
                    super::pyfmt::to_str(&other)
                ))),
            })
            .collect(),
        other => Err(fail(format!(
            "{}: expects a list of host names (such as groups['cache']), got {}",
            req.describe(),
            super::pyfmt::to_str(&other)
        ))),
    }
}

/// Groups the hosts by domain with their free resources and scores; also returns the hosts
/// left out because they lack `requires`.
fn candidates(
    state: &State,
    names: &[String],
    req: &Request,
) -> Result<(Vec<Domain>, Vec<String>), Error> {
    let mut domains: Vec<Domain> = Vec::new();
    let mut lacking = Vec::new();
    for name in names {
        let domain = host_var(state, name, &req.by)?
            .map(|v| super::pyfmt::to_str(&v))
            .ok_or_else(|| {
                fail(format!(
                    "{}: host {name} has no variable {} to spread by",
                    req.describe(),
                    req.by
                ))
            })?;
        let free = free_of(state, name, req)?;
        if !meets(&free, req.requires.as_ref()) {
            lacking.push(name.clone());
            continue;
        }
        let cand = Candidate {
            name: name.clone(),
            free,
            score: 0.0,
        };
        match domains.iter_mut().find(|d| d.name == domain) {
            Some(d) => d.hosts.push(cand),
            None => domains.push(Domain {
                name: domain,
                hosts: vec![cand],
                picked: 0,
            }),
        }
    }
    score(&mut domains);
    Ok((domains, lacking))
}

/// Declared resources minus `used[host]`; a host without resources has none free.
fn free_of(state: &State, name: &str, req: &Request) -> Result<Amounts, Error> {
    let declared = match host_var(state, name, "yiqiu_resources")? {
        Some(_) => host_resources(state, &MjValue::from(name))?,
        None => [None; 4],
    };
    let used = match req.used.get(name) {
        Some(u) => sum(u, &format!("spread: used['{name}']"))?,
        None => [None; 4],
    };
    let mut free = declared;
    for (f, u) in free.iter_mut().zip(used) {
        if let (Some(f), Some(u)) = (f.as_mut(), u) {
            *f = (*f - u).max(0.0);
        }
    }
    Ok(free)
}

fn meets(free: &Amounts, requires: Option<&Amounts>) -> bool {
    let Some(req) = requires else {
        return true;
    };
    free.iter()
        .zip(req)
        .all(|(f, r)| r.is_none_or(|r| f.unwrap_or(0.0) >= r))
}

/// Scores every candidate and orders each domain's hosts freest first (stable: input order).
fn score(domains: &mut [Domain]) {
    let mut max: Amounts = [None; 4];
    for c in domains.iter().flat_map(|d| &d.hosts) {
        for (m, f) in max.iter_mut().zip(c.free) {
            if let Some(f) = f {
                *m = Some(m.unwrap_or(0.0).max(f));
            }
        }
    }
    for d in domains.iter_mut() {
        for c in &mut d.hosts {
            c.score = c
                .free
                .iter()
                .zip(max)
                .filter_map(|(f, m)| match (f, m) {
                    (Some(f), Some(m)) if m > 0.0 => Some(f / m),
                    _ => None,
                })
                .sum();
        }
        d.hosts.sort_by(|a, b| b.score.total_cmp(&a.score));
    }
}

/// The picks, or `None` when fewer than `n` can be made.
fn pick(domains: &mut [Domain], req: &Request) -> Option<Vec<String>> {
    let mut out = Vec::with_capacity(req.n);
    while out.len() < req.n {
        let open =
            |d: &&mut Domain| d.picked < d.hosts.len() && req.max_per.is_none_or(|m| d.picked < m);
        // Fewest picks first, then the freest next host; `min_by` keeps the first on ties.
        let d = domains.iter_mut().filter(open).min_by(|a, b| {
            a.picked
                .cmp(&b.picked)
                .then(b.hosts[b.picked].score.total_cmp(&a.hosts[a.picked].score))
        })?;
        out.push(d.hosts[d.picked].name.clone());
        d.picked += 1;
    }
    Some(out)
}

/// Why `n` hosts could not be picked, with the count each domain could give.
fn shortfall(domains: &[Domain], lacking: &[String], req: &Request) -> String {
    let cap = |d: &Domain| req.max_per.map_or(d.hosts.len(), |m| d.hosts.len().min(m));
    let possible: usize = domains.iter().map(cap).sum();
    let per: Vec<String> = domains
        .iter()
        .map(|d| format!("{} {}", d.name, cap(d)))
        .collect();
    let mut msg = format!(
        "{}: cannot pick {} hosts, only {possible} can be placed (per {}: {})",
        req.describe(),
        req.n,
        req.by,
        if per.is_empty() {
            "none".to_string()
        } else {
            per.join(", ")
        }
    );
    if !lacking.is_empty() {
        msg.push_str(&format!(
            "; without the required resources: {}",
            lacking.join(", ")
        ));
    }
    msg.push_str(". Add hosts or domains, lower the count, or relax max_per/requires.");
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn domain(name: &str, hosts: &[(&str, f64)]) -> Domain {
        Domain {
            name: name.into(),
            hosts: hosts
                .iter()
                .map(|(h, ram)| Candidate {
                    name: h.to_string(),
                    free: [None, Some(*ram), None, None],
                    score: 0.0,
                })
                .collect(),
            picked: 0,
        }
    }

    fn request(n: usize, max_per: Option<usize>) -> Request {
        Request {
            n,
            by: "yiqiu_zone".into(),
            max_per,
            requires: None,
            used: Value::Null,
        }
    }

    fn zones() -> Vec<Domain> {
        let mut d = vec![
            domain("z1", &[("a1", 10.0), ("a2", 40.0), ("a3", 20.0)]),
            domain("z2", &[("b1", 30.0)]),
            domain("z3", &[("c1", 5.0), ("c2", 50.0)]),
        ];
        score(&mut d);
        d
    }

    #[test]
    fn even_first_then_freest() {
        let picks = pick(&mut zones(), &request(5, None)).unwrap();
        // One per zone, freest zone-best first (c2 50, a2 40, b1 30), then the second round.
        assert_eq!(picks, ["c2", "a2", "b1", "a3", "c1"]);
        let picks = pick(&mut zones(), &request(6, None)).unwrap();
        assert_eq!(picks.last().map(String::as_str), Some("a1"));
        assert!(pick(&mut zones(), &request(7, None)).is_none());
    }

    #[test]
    fn max_per_caps_each_domain() {
        assert_eq!(
            pick(&mut zones(), &request(3, Some(1))).unwrap(),
            ["c2", "a2", "b1"]
        );
        let mut d = zones();
        assert!(pick(&mut d, &request(4, Some(1))).is_none());
        let msg = shortfall(&d, &["x9".to_string()], &request(4, Some(1)));
        assert!(
            msg.starts_with("spread(4, by='yiqiu_zone', max_per=1): cannot pick 4 hosts, only 3 can be placed (per yiqiu_zone: z1 1, z2 1, z3 1); without the required resources: x9."),
            "{msg}"
        );
    }
}
