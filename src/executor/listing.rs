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

/// Tags as listed: templated ones rendered with the play vars and extra vars (no host yet).
fn static_tags(
    tags: &[String],
    play: &Play,
    extra: &serde_json::Map<String, serde_json::Value>,
) -> Vec<String> {
    if !tags.iter().any(|t| crate::template::is_template(t)) {
        return tags.to_vec();
    }
    let mut vars = play.vars.clone();
    vars.extend(extra.clone());
    let scope = crate::vars::Scope::new(vec![std::sync::Arc::new(vars)], vec![]);
    super::play::render_tags(tags, &scope.context())
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
            tags_text(&static_tags(&play.keywords.tags, play, extra))
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
                    let tags = static_tags(&t.keywords.tags, play, extra);
                    if filter.should_run(&tags) {
                        let _ = writeln!(
                            out,
                            "      {}\tTAGS: {}",
                            t.display_name(),
                            tags_text(&tags)
                        );
                    }
                }
            }
            ListMode::Tags => {
                // ansible-playbook lists every task's tags (`never` ones too) unless --tags
                // or --skip-tags narrow the selection.
                let unfiltered = filter.only.is_empty() && filter.skip.is_empty();
                let mut all: Vec<String> = Vec::new();
                for t in play_tasks(play) {
                    let tags = static_tags(&t.keywords.tags, play, extra);
                    if unfiltered || filter.should_run(&tags) {
                        all.extend(tags);
                    }
                }
                let _ = writeln!(out, "      TASK TAGS: {}", tags_text(&all));
            }
            ListMode::SyntaxCheck => {}
        }
    }
    Ok(out)
}
