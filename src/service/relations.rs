//! Relation events for one unit on one relation, with Juju's semantics: per remote unit
//! `-departed` for each that left, `-joined` then `-changed` for each new one, `-changed`
//! when its data changed; `-broken` once, after the departures, when the relation goes.

use super::state::RelationState;
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Departed(String),
    Joined(String, Value),
    Changed(String, Value),
    Broken,
}

impl Event {
    /// The hook name on `endpoint`.
    pub fn hook(&self, endpoint: &str) -> String {
        let kind = match self {
            Event::Departed(_) => "departed",
            Event::Joined(..) => "joined",
            Event::Changed(..) => "changed",
            Event::Broken => "broken",
        };
        format!("{endpoint}-relation-{kind}")
    }

    pub fn remote(&self) -> Option<&str> {
        match self {
            Event::Departed(u) | Event::Joined(u, _) | Event::Changed(u, _) => Some(u),
            Event::Broken => None,
        }
    }

    pub fn reason(&self) -> String {
        match self {
            Event::Departed(u) => format!("{u} left"),
            Event::Joined(u, _) => format!("{u} joined"),
            Event::Changed(u, _) => format!("{u} data"),
            Event::Broken => "relation removed".into(),
        }
    }

    /// Applies a fired event to what the unit has seen.
    pub fn apply(&self, seen: &mut RelationState) {
        match self {
            Event::Departed(u) => {
                seen.seen.remove(u);
            }
            Event::Joined(u, d) | Event::Changed(u, d) => {
                seen.seen.insert(u.clone(), d.clone());
            }
            Event::Broken => seen.seen.clear(),
        }
    }
}

/// The remote side now: unit id -> its data, `None` when its host could not be read this run
/// (the unit keeps whatever it was last seen as: an unreachable host is not a departure).
pub type RemoteNow = BTreeMap<String, Option<Value>>;

/// The events a unit needs so that what it has seen matches `now` (`None`: the relation is
/// gone, so everything departs and it breaks).
pub fn events(seen: &RelationState, now: Option<&RemoteNow>) -> Vec<Event> {
    let Some(now) = now else {
        let mut out: Vec<Event> = seen
            .seen
            .keys()
            .map(|u| Event::Departed(u.clone()))
            .collect();
        out.push(Event::Broken);
        return out;
    };
    let mut out: Vec<Event> = seen
        .seen
        .keys()
        .filter(|u| !now.contains_key(*u))
        .map(|u| Event::Departed(u.clone()))
        .collect();
    for (unit, data) in now {
        let Some(data) = data else { continue };
        match seen.seen.get(unit) {
            None => {
                out.push(Event::Joined(unit.clone(), data.clone()));
                out.push(Event::Changed(unit.clone(), data.clone()));
            }
            Some(old) if old != data => out.push(Event::Changed(unit.clone(), data.clone())),
            Some(_) => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn seen(units: &[(&str, Value)]) -> RelationState {
        RelationState {
            seen: units
                .iter()
                .map(|(u, d)| (u.to_string(), d.clone()))
                .collect(),
            ..RelationState::default()
        }
    }

    #[test]
    fn joins_changes_and_departures_balance() {
        let now: RemoteNow = [
            ("a".to_string(), Some(json!(1))),
            ("b".to_string(), Some(json!(2))),
        ]
        .into();
        let ev = events(&seen(&[]), Some(&now));
        let hooks: Vec<String> = ev
            .iter()
            .map(|e| format!("{} {:?}", e.hook("cache"), e.remote()))
            .collect();
        assert_eq!(
            hooks,
            [
                "cache-relation-joined Some(\"a\")",
                "cache-relation-changed Some(\"a\")",
                "cache-relation-joined Some(\"b\")",
                "cache-relation-changed Some(\"b\")"
            ]
        );
        let mut s = seen(&[]);
        ev.iter().for_each(|e| e.apply(&mut s));
        assert!(
            events(&s, Some(&now)).is_empty(),
            "nothing changed, nothing fires"
        );
        let later: RemoteNow = [("b".to_string(), Some(json!(3))), ("c".to_string(), None)].into();
        assert_eq!(
            events(&s, Some(&later)),
            [
                Event::Departed("a".into()),
                Event::Changed("b".into(), json!(3))
            ],
            "c is unknown this run: no join until its host answers"
        );
        assert_eq!(
            events(&s, None),
            [
                Event::Departed("a".into()),
                Event::Departed("b".into()),
                Event::Broken
            ]
        );
    }

    #[test]
    fn an_unreadable_unit_is_not_a_departure() {
        let s = seen(&[("a", json!(1))]);
        let now: RemoteNow = [("a".to_string(), None)].into();
        assert!(events(&s, Some(&now)).is_empty());
    }
}
