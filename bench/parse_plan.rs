//! Front-end cost of a large playbook: YAML + playbook load, per-task templating, and
//! `--list-tasks` planning, on a generated 1,000-task playbook.
//!
//! Run: `cargo bench --bench parse_plan`. Sample counts are kept small so the whole bench
//! stays well under a minute on a 2-core machine.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use serde_json::{json, Map, Value};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use yiqiu_play::executor::listing::{self, ListMode};
use yiqiu_play::inventory::Inventory;
use yiqiu_play::playbook::model::{Item, Task};
use yiqiu_play::playbook::tags::TagFilter;
use yiqiu_play::playbook::{Loader, Playbook};
use yiqiu_play::template::templar;
use yiqiu_play::vars::scope::Scope;

/// Tasks per generated unit in the play's `tasks:`.
const UNIT_TASKS: usize = 10;
/// Units in `tasks:` (900 tasks) plus the role's 100 tasks make 1,000.
const UNITS: usize = 90;
const ROLE_TASKS: usize = 100;

/// One unit: debug, set_fact, command with `when`, a loop, task vars, shell with a `when`
/// list, and a block with rescue/always — 10 tasks.
fn unit(out: &mut String, i: usize) {
    let _ = write!(
        out,
        r#"
    - name: "debug {i} on {{{{ inventory_hostname }}}}"
      debug:
        msg: "task {i} on {{{{ inventory_hostname }}}} port {{{{ app_port + {i} }}}}"
    - name: set_fact {i}
      set_fact:
        fact_{i}: "{{{{ app_name | upper }}}}-{i}"
        list_{i}: "{{{{ items_list | map('upper') | list }}}}"
    - name: command {i}
      command: echo {{{{ base_dir }}}}/{{{{ app_name }}}}/{i}
      when: app_port > 1000
      tags: [cmd]
    - name: loop {i}
      debug:
        msg: "{{{{ item }}}} of {{{{ app_name }}}} ({i})"
      loop: "{{{{ items_list }}}}"
    - name: task vars {i}
      debug:
        msg: "{{{{ local_{i} }}}} and {{{{ other }}}}"
      vars:
        local_{i}: "{{{{ app_port * 2 }}}}"
        other: "{{{{ base_dir ~ '/x' }}}}"
    - name: shell {i}
      shell: "cd {{{{ base_dir }}}} && ls | wc -l"
      when:
        - app_name is defined
        - items_list | length > 2
      register: shell_{i}
    - name: block {i}
      when: app_name is defined
      tags: [blk]
      block:
        - debug: msg="in block {i} {{{{ app_name }}}}"
        - command: /bin/true
          args:
            chdir: "{{{{ base_dir }}}}"
      rescue:
        - debug: msg="rescued {i}"
      always:
        - set_fact:
            done_{i}: true
"#
    );
}

/// Writes the playbook and its role into `dir`; returns the playbook path.
fn generate(dir: &Path) -> std::io::Result<PathBuf> {
    let role = dir.join("roles/web");
    std::fs::create_dir_all(role.join("defaults"))?;
    std::fs::create_dir_all(role.join("tasks"))?;
    std::fs::write(
        role.join("defaults/main.yml"),
        "web_port: 80\nweb_root: \"{{ base_dir }}/www\"\nweb_user: www-data\nweb_pkgs: [nginx, curl, jq]\n",
    )?;
    let mut tasks = String::from("---\n");
    for i in 0..ROLE_TASKS {
        let _ = match i % 4 {
            0 => write!(tasks, "- name: role debug {i}\n  debug:\n    msg: \"{{{{ web_root }}}}/{i} as {{{{ web_user }}}}\"\n"),
            1 => write!(tasks, "- name: role fact {i}\n  set_fact:\n    web_{i}: \"{{{{ web_port + {i} }}}}\"\n"),
            2 => write!(tasks, "- name: role command {i}\n  command: echo {{{{ web_root }}}}\n  when: web_port == 80\n"),
            _ => write!(tasks, "- name: role loop {i}\n  debug:\n    msg: \"{{{{ item }}}}\"\n  loop: \"{{{{ web_pkgs }}}}\"\n"),
        };
    }
    std::fs::write(role.join("tasks/main.yml"), tasks)?;

    let mut pb = String::from(
        r#"---
- name: bench play
  hosts: all
  gather_facts: false
  vars:
    app_name: bench
    app_port: 8080
    items_list: [a, b, c]
    base_dir: /tmp/yiqiu-bench
  roles:
    - role: web
  tasks:
"#,
    );
    for i in 0..UNITS {
        unit(&mut pb, i);
    }
    let path = dir.join("site.yml");
    std::fs::write(&path, pb)?;
    Ok(path)
}

fn walk<'a>(items: &'a [Item], out: &mut Vec<&'a Arc<Task>>) {
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

fn all_tasks(pb: &Playbook) -> Vec<&Arc<Task>> {
    let mut out = Vec::new();
    for play in &pb.plays {
        walk(&play.pre_tasks, &mut out);
        walk(&play.roles, &mut out);
        walk(&play.tasks, &mut out);
        walk(&play.post_tasks, &mut out);
    }
    out
}

/// What the executor does per task and host before running a module: build the scope,
/// evaluate `when`, expand the loop, render the args (per item). Returns a count so the
/// work cannot be optimised away.
fn template_tasks(pb: &Playbook, tasks: &[&Arc<Task>]) -> usize {
    let t = templar();
    let magic: Arc<Map<String, Value>> = Arc::new(
        json!({
            "inventory_hostname": "web01",
            "inventory_hostname_short": "web01",
            "group_names": ["web"],
            "ansible_check_mode": false,
        })
        .as_object()
        .cloned()
        .unwrap_or_default(),
    );
    let play_vars = Arc::new(pb.plays[0].vars.clone());
    let mut rendered = 0;
    for task in tasks {
        let mut layers = Vec::with_capacity(5);
        if let Some(role) = &task.role {
            layers.push(Arc::new(role.defaults.clone()));
        }
        layers.push(play_vars.clone());
        layers.push(magic.clone());
        if !task.keywords.vars.is_empty() {
            layers.push(Arc::new(task.keywords.vars.clone()));
        }
        let scope = Scope::new(layers.clone(), Vec::new());
        let ctx = scope.context();
        let when = Value::Array(task.keywords.when.clone());
        if !t.eval_condition(&when, &ctx).unwrap_or(false) {
            continue;
        }
        let args = Value::Object(task.args.clone());
        match &task.loop_ {
            Some(spec) => {
                let items = t.render_value(&spec.value, &ctx).unwrap_or(Value::Null);
                for item in items.as_array().map(Vec::as_slice).unwrap_or(&[]) {
                    let mut item_layer = Map::new();
                    item_layer.insert("item".into(), item.clone());
                    let mut l = layers.clone();
                    l.push(Arc::new(item_layer));
                    let ctx = Scope::new(l, Vec::new()).context();
                    if let Ok(v) = t.render_value(&args, &ctx) {
                        rendered += usize::from(!v.is_null());
                    }
                }
            }
            None => {
                if let Ok(v) = t.render_value(&args, &ctx) {
                    rendered += usize::from(!v.is_null());
                }
            }
        }
    }
    rendered
}

fn bench(c: &mut Criterion) {
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("parse_plan: cannot create a temp dir: {e}");
            return;
        }
    };
    let path = match generate(dir.path()) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("parse_plan: cannot write the playbook: {e}");
            return;
        }
    };
    let roles = vec![dir.path().join("roles")];
    let pb = match Loader::new(roles.clone()).load_playbook(&path) {
        Ok(pb) => pb,
        Err(e) => {
            eprintln!("parse_plan: the generated playbook does not load: {e}");
            return;
        }
    };
    let tasks = all_tasks(&pb);
    if tasks.len() != UNITS * UNIT_TASKS + ROLE_TASKS {
        eprintln!(
            "parse_plan: WARNING expected {} tasks, loaded {}",
            UNITS * UNIT_TASKS + ROLE_TASKS,
            tasks.len()
        );
    }
    let rendered = template_tasks(&pb, &tasks);
    eprintln!(
        "parse_plan: {} tasks loaded ({} from the role), {} renders succeed per pass",
        tasks.len(),
        tasks.iter().filter(|t| t.role.is_some()).count(),
        rendered
    );
    // Every rendering must succeed, or the bench would time error paths.
    let expected_renders: usize = tasks
        .iter()
        .map(|t| match &t.loop_ {
            Some(_) => 3,
            None => 1,
        })
        .sum();
    if rendered != expected_renders {
        eprintln!("parse_plan: WARNING only {rendered} of {expected_renders} renders succeeded");
    }

    let mut g = c.benchmark_group("parse_plan_1000_tasks");
    g.sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));

    g.bench_function("yaml_load", |b| {
        b.iter(|| black_box(yiqiu_play::yaml::load_file(&path).map(|n| n.to_json())).is_ok())
    });
    // A fresh Loader each time: it caches parsed files.
    g.bench_function("yaml_and_playbook_load", |b| {
        b.iter(|| {
            let pb = Loader::new(roles.clone()).load_playbook(&path);
            black_box(pb.map(|p| p.plays.len()).unwrap_or(0))
        })
    });
    g.bench_function("template_args_one_host", |b| {
        b.iter(|| black_box(template_tasks(&pb, &tasks)))
    });
    let inv = Inventory::empty();
    let filter = TagFilter::new(Vec::new(), Vec::new());
    let extra = Map::new();
    g.bench_function("list_tasks", |b| {
        b.iter(|| {
            let out = listing::list(ListMode::Tasks, &pb, &inv, None, &filter, &extra);
            black_box(out.map(|s| s.len()).unwrap_or(0))
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
