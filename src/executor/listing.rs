//! `--list-hosts`, `--list-tasks`, `--list-tags` and `--syntax-check`, in ansible-playbook's layout.

use crate::error::Result;
use crate::inventory::Inventory;
use crate::playbook::model::{Item, Play};
use crate::playbook::tags::TagFilter;
use crate::playbook::Playbook;
use std::fmt::Write;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListMode {
    Hosts,
    Tasks,
    Tags,
    SyntaxCheck,
}

fn tags_text(tags: &[String]) -> String {
    let mut t: Vec<&str> = tags.iter().map(String::as_str).collect();
    t.sort_unstable();
    t.dedup();
    format!("[{}]", t.join(", "))
}

fn walk<'a>(items: &'a [Item], out: &mut Vec<&'a crate::playbook::model::Task>) {
    for item in items {
        match item {
            Item::Task(t) => out.push(t),
            Item::Block(b) => {
                walk(&b.block, out);
                walk(&b.rescue, out);
                walk(&b.always, out);
            }
        }
    }
}

fn play_tasks(play: &Play) -> Vec<&crate::playbook::model::Task> {
    let mut out = Vec::new();
    walk(&play.pre_tasks, &mut out);
    walk(&play.roles, &mut out);
    walk(&play.tasks, &mut out);
    walk(&play.post_tasks, &mut out);
    out
}

/// Renders the listing for one playbook.
pub fn list(
    mode: ListMode,
    pb: &Playbook,
    inv: &Inventory,
    limit: Option<&str>,
    filter: &TagFilter,
    extra: &serde_json::Map<String, serde_json::Value>,
) -> Result<String> {
    let mut out = String::new();
    let _ = write!(out, "\nplaybook: {}\n", pb.path.display());
    if mode == ListMode::SyntaxCheck {
        return Ok(out);
    }
    for (i, play) in pb.plays.iter().enumerate() {
        let pattern = super::render_pattern(&play.hosts, extra)?;
        let _ = write!(
            out,
            "\n  play #{} ({}): {}\tTAGS: {}\n",
            i + 1,
            pattern,
            play.display_name(),
            tags_text(&play.keywords.tags)
        );
        match mode {
            ListMode::Hosts => {
                let hosts = super::play_hosts(inv, &pattern, limit)?;
                let pats: Vec<String> = pattern
                    .split(',')
                    .map(|p| format!("'{}'", p.trim()))
                    .collect();
                let _ = writeln!(out, "    pattern: [{}]", pats.join(", "));
                let _ = writeln!(out, "    hosts ({}):", hosts.len());
                for h in hosts {
                    let _ = writeln!(out, "      {h}");
                }
            }
            ListMode::Tasks => {
                let _ = writeln!(out, "    tasks:");
                for t in play_tasks(play) {
                    if filter.should_run(&t.keywords.tags) {
                        let _ = writeln!(
                            out,
                            "      {}\tTAGS: {}",
                            t.display_name(),
                            tags_text(&t.keywords.tags)
                        );
                    }
                }
            }
            ListMode::Tags => {
                let mut all: Vec<String> = Vec::new();
                for t in play_tasks(play) {
                    if filter.should_run(&t.keywords.tags) {
                        all.extend(t.keywords.tags.iter().cloned());
                    }
                }
                let _ = writeln!(out, "      TASK TAGS: {}", tags_text(&all));
            }
            ListMode::SyntaxCheck => {}
        }
    }
    Ok(out)
}
