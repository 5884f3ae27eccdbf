//! `group`: local groups through groupadd/groupmod/groupdel, as ansible-core's Linux `Group`
//! class: one `getent group NAME`, the one command that closes the difference, then the gid.

use super::user::{failed_run, finish, run_words};
use super::user_db::{self, Group as Entry};
use crate::modules::util::{self, map};
use crate::modules::{ArgKind, ArgSpec, Args, Module, ModuleContext, ModuleError, ModuleResult};

pub struct Group;

const SPEC: &[ArgSpec] = &[
    ArgSpec::new("state", ArgKind::Str).choices(&["absent", "present"]),
    ArgSpec::new("name", ArgKind::Str).required(),
    ArgSpec::new("force", ArgKind::Bool),
    ArgSpec::new("gid", ArgKind::Int),
    ArgSpec::new("system", ArgKind::Bool),
    ArgSpec::new("local", ArgKind::Bool),
    ArgSpec::new("non_unique", ArgKind::Bool),
    ArgSpec::new("gid_min", ArgKind::Int),
    ArgSpec::new("gid_max", ArgKind::Int),
];

/// `grp.getgrnam`: the group by name only (getent would also match a numeric name as a gid).
fn query(ctx: &mut ModuleContext, name: &str) -> Result<Option<Entry>, ModuleError> {
    let out = util::exec_script(ctx, user_db::group_query_script(name))?;
    let db = user_db::parse(&util::text(&out.stdout));
    Ok(db.groups.into_iter().find(|g| g.name == name))
}

/// `group_add` of the base class (Linux only overrides `group_del`).
fn groupadd(args: &Args, name: &str) -> Vec<String> {
    let mut cmd: Vec<String> = vec!["groupadd".into()];
    if let Some(gid) = args.int("gid") {
        cmd.extend(["-g".into(), gid.to_string()]);
        if args.bool_or("non_unique", false) {
            cmd.push("-o".into());
        }
    }
    if args.bool_or("system", false) {
        cmd.push("-r".into());
    }
    for (key, var) in [("gid_min", "GID_MIN"), ("gid_max", "GID_MAX")] {
        if let Some(v) = args.int(key) {
            cmd.extend(["-K".into(), format!("{var}={v}")]);
        }
    }
    cmd.push(name.into());
    cmd
}

/// `group_mod`: groupmod words when the gid differs, `None` when nothing does.
fn groupmod(args: &Args, info: &Entry) -> Option<Vec<String>> {
    let gid = args.int("gid").filter(|g| *g != info.gid)?;
    let mut cmd: Vec<String> = vec!["groupmod".into(), "-g".into(), gid.to_string()];
    if args.bool_or("non_unique", false) {
        cmd.push("-o".into());
    }
    cmd.push(info.name.clone());
    Some(cmd)
}

/// The checks `main` and `AnsibleModule` make before touching anything.
fn validate(args: &Args) -> Result<(), ModuleError> {
    if args.bool_or("non_unique", false) && args.int("gid").is_none() {
        return Err(ModuleError::msg(
            "non_unique is True but all of the following are missing: gid",
        ));
    }
    if args.bool_or("local", false) {
        return Err(ModuleError::msg(
            "group: local: true (lgroupadd/lgroupmod/lgroupdel) is not implemented by yiqiu-play yet",
        ));
    }
    Ok(())
}

impl Module for Group {
    fn name(&self) -> &'static str {
        "group"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        SPEC
    }
    fn run(&self, args: &Args, ctx: &mut ModuleContext) -> ModuleResult {
        validate(args)?;
        let name = args.str("name").unwrap_or_default().to_string();
        let state = args.str("state").unwrap_or("present");
        let found = query(ctx, &name)?;
        let cmd = match (state, &found) {
            ("absent", None) => None,
            ("absent", Some(_)) => {
                let mut cmd: Vec<String> = vec!["groupdel".into()];
                if args.bool_or("force", false) {
                    cmd.push("-f".into());
                }
                cmd.push(name.clone());
                Some(cmd)
            }
            (_, None) => Some(groupadd(args, &name)),
            (_, Some(info)) => groupmod(args, info),
        };
        // Ansible exits right after the query when it would add or delete.
        if ctx.check_mode && cmd.is_some() && (state == "absent" || found.is_none()) {
            return Ok(map([("changed", true.into())]));
        }
        let outcome = match cmd {
            None => None,
            // Ansible's group_mod reports the change in check mode without running it.
            Some(_) if ctx.check_mode => Some((0, String::new(), String::new())),
            Some(cmd) => {
                let (rc, out, err) = run_words(ctx, &cmd)?;
                if rc != 0 {
                    return Err(failed_run(&name, err, rc));
                }
                Some((rc, out, err))
            }
        };
        let changed = outcome.is_some();
        let mut res = finish(
            map([("name", name.clone().into()), ("state", state.into())]),
            outcome,
        );
        let now = if changed && !ctx.check_mode {
            query(ctx, &name)?
        } else {
            found
        };
        if let Some(info) = now {
            res.insert("system".into(), args.bool_or("system", false).into());
            res.insert("gid".into(), info.gid.into());
        }
        Ok(res)
    }
}
