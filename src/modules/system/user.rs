//! `user`: local accounts through useradd/usermod/userdel (and chage), deciding what to run
//! the way ansible-core's Linux `User` class does: one query (`user_db`), the one command
//! that closes the difference, then the account as it now is.

use super::user_db::{self, Db, Passwd};
use crate::connection::quote;
use crate::modules::util::{self, map};
use crate::modules::{ArgKind, ArgSpec, Args, Module, ModuleContext, ModuleError, ModuleResult};
use serde_json::{Map, Value};

pub struct User;

const SPEC: &[ArgSpec] = &[
    ArgSpec::new("state", ArgKind::Str).choices(&["absent", "present"]),
    ArgSpec::new("name", ArgKind::Str)
        .required()
        .aliases(&["user"]),
    ArgSpec::new("uid", ArgKind::Int),
    ArgSpec::new("non_unique", ArgKind::Bool),
    ArgSpec::new("group", ArgKind::Str),
    ArgSpec::new("groups", ArgKind::List),
    ArgSpec::new("comment", ArgKind::Str),
    ArgSpec::new("home", ArgKind::Path),
    ArgSpec::new("shell", ArgKind::Path),
    ArgSpec::new("password", ArgKind::Str),
    ArgSpec::new("login_class", ArgKind::Str),
    ArgSpec::new("password_expire_max", ArgKind::Int),
    ArgSpec::new("password_expire_min", ArgKind::Int),
    ArgSpec::new("password_expire_warn", ArgKind::Int),
    ArgSpec::new("hidden", ArgKind::Bool),
    ArgSpec::new("seuser", ArgKind::Str),
    ArgSpec::new("force", ArgKind::Bool),
    ArgSpec::new("remove", ArgKind::Bool),
    ArgSpec::new("create_home", ArgKind::Bool).aliases(&["createhome"]),
    ArgSpec::new("skeleton", ArgKind::Str),
    ArgSpec::new("system", ArgKind::Bool),
    ArgSpec::new("move_home", ArgKind::Bool),
    ArgSpec::new("append", ArgKind::Bool),
    ArgSpec::new("generate_ssh_key", ArgKind::Bool),
    ArgSpec::new("ssh_key_bits", ArgKind::Int),
    ArgSpec::new("ssh_key_type", ArgKind::Str),
    ArgSpec::new("ssh_key_file", ArgKind::Path),
    ArgSpec::new("ssh_key_comment", ArgKind::Str),
    ArgSpec::new("ssh_key_passphrase", ArgKind::Str),
    ArgSpec::new("update_password", ArgKind::Str).choices(&["always", "on_create"]),
    ArgSpec::new("expires", ArgKind::Float),
    ArgSpec::new("password_lock", ArgKind::Bool),
    ArgSpec::new("local", ArgKind::Bool),
    ArgSpec::new("profile", ArgKind::Str),
    ArgSpec::new("authorization", ArgKind::Str),
    ArgSpec::new("role", ArgKind::Str),
    ArgSpec::new("umask", ArgKind::Str),
    ArgSpec::new("password_expire_account_disable", ArgKind::Int),
    ArgSpec::new("uid_min", ArgKind::Int),
    ArgSpec::new("uid_max", ArgKind::Int),
];

/// The arguments, with Ansible's defaults.
struct Want<'a> {
    args: &'a Args,
    name: String,
    groups: Option<String>,
    create_home: bool,
}

impl Want<'_> {
    fn str(&self, k: &str) -> Option<&str> {
        self.args.str(k)
    }
    fn flag(&self, k: &str) -> bool {
        self.args.bool_or(k, false)
    }
}

fn fail(msg: impl Into<String>) -> ModuleError {
    ModuleError::msg(msg)
}

/// Runs one command line (words quoted here); `(rc, stdout, stderr)`.
pub(super) fn run_words(
    ctx: &mut ModuleContext,
    words: &[String],
) -> Result<(i32, String, String), ModuleError> {
    let line = words.iter().map(|w| quote(w)).collect::<Vec<_>>().join(" ");
    let script =
        format!("command -v useradd >/dev/null 2>&1 || PATH=$PATH:/usr/sbin:/sbin\n{line}");
    let out = util::exec_script(ctx, script)?;
    Ok((out.rc, util::text(&out.stdout), util::text(&out.stderr)))
}

fn query(ctx: &mut ModuleContext, name: &str) -> Result<Db, ModuleError> {
    let out = util::exec_script(ctx, user_db::query_script(name))?;
    Ok(user_db::parse(&util::text(&out.stdout)))
}

/// `check_password_encrypted`: a warning when the password does not look like a crypt hash.
fn password_warning(pw: &str) -> Option<String> {
    if pw.is_empty() || ["*", "!", "*************"].contains(&pw) {
        return None;
    }
    let fields: Vec<&str> = pw.split('$').collect();
    let bad_hash = |last: &str| {
        !last
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '/')
    };
    let suspicious = pw.contains([':', '*', '!'])
        || !pw.contains('$')
        || fields.len() < 3
        || fields.last().is_some_and(|l| bad_hash(l))
        || match (fields.get(1).copied(), fields.last().map(|l| l.len())) {
            (Some("1"), Some(n)) => n != 22,
            (Some("5"), Some(n)) | (Some("y"), Some(n)) => n != 43,
            (Some("6"), Some(n)) => n != 86,
            _ => false,
        };
    suspicious.then(|| {
        "The input password appears not to have been hashed. The 'password' argument must be encrypted for this module to work properly.".to_string()
    })
}

/// `YYYY-MM-DD` (UTC) of `secs` since the epoch.
fn date(secs: f64) -> String {
    let days = (secs / 86400.0).floor() as i64;
    let (y, m, d) = civil(days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Days since the epoch to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// The requested groups, each checked to exist (`get_groups_set`).
fn requested_groups<'a>(db: &'a Db, want: &Want) -> Result<Vec<&'a user_db::Group>, ModuleError> {
    let Some(list) = &want.groups else {
        return Ok(Vec::new());
    };
    let mut out: Vec<&user_db::Group> = Vec::new();
    for g in list.split(',').map(str::trim).filter(|g| !g.is_empty()) {
        let found = db
            .group(g)
            .ok_or_else(|| fail(format!("Group {g} does not exist")))?;
        if !out.iter().any(|x| x.name == found.name) {
            out.push(found);
        }
    }
    Ok(out)
}

fn useradd(db: &Db, want: &Want) -> Result<Vec<String>, ModuleError> {
    let a = want.args;
    let mut cmd: Vec<String> = vec!["useradd".into()];
    if let Some(uid) = a.int("uid") {
        cmd.extend(["-u".into(), uid.to_string()]);
        if want.flag("non_unique") {
            cmd.push("-o".into());
        }
    }
    if let Some(se) = want.str("seuser") {
        cmd.extend(["-Z".into(), se.into()]);
    }
    if let Some(g) = want.str("group") {
        if db.group(g).is_none() {
            return Err(fail(format!("Group {g} does not exist")));
        }
        cmd.extend(["-g".into(), g.into()]);
    } else if db.group(&want.name).is_some() {
        // A group named like the user exists: useradd must not try to create it.
        cmd.push("-N".into());
    }
    if want.groups.as_deref().is_some_and(|g| !g.is_empty()) {
        let names: Vec<String> = want
            .groups
            .iter()
            .flat_map(|g| g.split(','))
            .map(|g| g.trim().to_string())
            .filter(|g| !g.is_empty())
            .collect();
        requested_groups(db, want)?;
        let mut uniq: Vec<String> = Vec::new();
        for n in names {
            if !uniq.contains(&n) {
                uniq.push(n);
            }
        }
        cmd.extend(["-G".into(), uniq.join(",")]);
    }
    if let Some(c) = want.str("comment") {
        cmd.extend(["-c".into(), c.into()]);
    }
    if let Some(h) = want.str("home") {
        cmd.extend(["-d".into(), h.into()]);
    }
    if let Some(s) = want.str("shell") {
        cmd.extend(["-s".into(), s.into()]);
    }
    if let Some(e) = a.float("expires") {
        cmd.push("-e".into());
        cmd.push(if e < 0.0 { String::new() } else { date(e) });
    }
    if let Some(f) = a.int("password_expire_account_disable") {
        cmd.extend(["-f".into(), f.to_string()]);
    }
    if let Some(pw) = want.str("password") {
        cmd.push("-p".into());
        cmd.push(if want.flag("password_lock") {
            format!("!{pw}")
        } else {
            pw.into()
        });
    }
    if want.create_home {
        cmd.push("-m".into());
        if let Some(k) = want.str("skeleton") {
            cmd.extend(["-k".into(), k.into()]);
        }
        if let Some(u) = want.str("umask") {
            cmd.extend(["-K".into(), format!("UMASK={u}")]);
        }
    } else {
        cmd.push("-M".into());
    }
    if want.flag("system") {
        cmd.push("-r".into());
    }
    if let Some(v) = a.int("uid_min") {
        cmd.extend(["-K".into(), format!("UID_MIN={v}")]);
    }
    if let Some(v) = a.int("uid_max") {
        cmd.extend(["-K".into(), format!("UID_MAX={v}")]);
    }
    cmd.push(want.name.clone());
    Ok(cmd)
}

/// `modify_user_usermod`: the usermod words for what differs (just `usermod` when nothing).
fn usermod(db: &Db, info: &Passwd, want: &Want) -> Result<Vec<String>, ModuleError> {
    let a = want.args;
    let mut cmd: Vec<String> = vec!["usermod".into()];
    if let Some(uid) = a.int("uid").filter(|u| *u != info.uid) {
        cmd.extend(["-u".into(), uid.to_string()]);
        if want.flag("non_unique") {
            cmd.push("-o".into());
        }
    }
    if let Some(g) = want.str("group") {
        let ginfo = db
            .group(g)
            .ok_or_else(|| fail(format!("Group {g} does not exist")))?;
        if info.gid != ginfo.gid {
            cmd.extend(["-g".into(), ginfo.gid.to_string()]);
        }
    }
    if let Some(groups) = &want.groups {
        let current = db.membership(&want.name);
        let append = want.flag("append");
        let mut wanted: Vec<String> = requested_groups(db, want)?
            .iter()
            .map(|g| g.name.clone())
            .collect();
        wanted.sort();
        let differs = current.iter().any(|c| !wanted.contains(c))
            || wanted.iter().any(|w| !current.contains(w));
        let need = if groups.is_empty() {
            !current.is_empty() && !append
        } else if append {
            wanted.iter().any(|w| !current.contains(w))
        } else {
            differs
        };
        if need {
            if append && !groups.is_empty() {
                cmd.push("-a".into());
            }
            cmd.extend(["-G".into(), wanted.join(",")]);
        }
    }
    if let Some(c) = want.str("comment").filter(|c| *c != info.comment) {
        cmd.extend(["-c".into(), c.into()]);
    }
    if let Some(h) = want.str("home").filter(|h| *h != info.home) {
        cmd.extend(["-d".into(), h.into()]);
        if want.flag("move_home") {
            cmd.push("-m".into());
        }
    }
    if let Some(s) = want.str("shell").filter(|s| *s != info.shell) {
        cmd.extend(["-s".into(), s.into()]);
    }
    if let Some(e) = a.float("expires") {
        let current = info.expires.unwrap_or(-1);
        if e < 0.0 {
            if current >= 0 {
                cmd.extend(["-e".into(), String::new()]);
            }
        } else if current < 0 || date(current as f64 * 86400.0) != date(e) {
            cmd.extend(["-e".into(), date(e)]);
        }
    }
    if let Some(f) = a.int("password_expire_account_disable") {
        cmd.extend(["-f".into(), f.to_string()]);
    }
    let locked = info.password.starts_with('!');
    match a.bool("password_lock") {
        Some(true) if !locked => cmd.push("-L".into()),
        Some(false) if locked => cmd.push("-U".into()),
        _ => {}
    }
    let always = want.str("update_password").unwrap_or("always") == "always";
    if let Some(pw) = want.str("password") {
        if always && info.password.trim_start_matches('!') != pw.trim_start_matches('!') {
            cmd.retain(|c| c != "-U" && c != "-L");
            cmd.push("-p".into());
            cmd.push(if want.flag("password_lock") {
                format!("!{pw}")
            } else {
                pw.into()
            });
        }
    }
    Ok(cmd)
}

/// `create_homedir` + `chown_homedir`: the skeleton copied (or an empty dir), its mode
/// from login.defs' HOME_MODE or UMASK (0755 without either), owned by the user.
fn create_home_script(path: &str, skeleton: Option<&str>, uid: i64, gid: i64) -> String {
    let p = quote(path);
    let skel = quote(skeleton.unwrap_or("/etc/skel"));
    format!(
        "if [ ! -e {p} ]; then\n\
         \x20 if [ -e {skel} ] && [ {skel} != /dev/null ]; then cp -a {skel} {p} || exit 1; else mkdir -p {p} || exit 1; fi\n\
         \x20 if [ -e /etc/login.defs ]; then\n\
         \x20   m=$(awk '$1==\"HOME_MODE\"&&$2~/^[0-9]+$/{{print $2; exit}}' /etc/login.defs)\n\
         \x20   if [ -z \"$m\" ]; then u=$(awk '$1==\"UMASK\"&&$2~/^[0-9]+$/{{v=$2}} END{{print v}}' /etc/login.defs)\n\
         \x20     if [ -n \"$u\" ]; then m=$(printf '%o' $(( 0777 & ~0$u ))); else m=755; fi; fi\n\
         \x20   chmod \"$m\" {p} || exit 1\n\
         \x20 fi\n\
         fi\n\
         chown -R {uid}:{gid} {p}\n"
    )
}

fn dirname(path: &str) -> String {
    crate::template::filters::py_dirname(path)
}

impl Module for User {
    fn name(&self) -> &'static str {
        "user"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        SPEC
    }
    fn run(&self, args: &Args, ctx: &mut ModuleContext) -> ModuleResult {
        if args.bool_or("local", false) {
            return Err(fail(
                "user: local: true (luseradd) is not implemented by yiqiu-play yet",
            ));
        }
        if args.bool_or("generate_ssh_key", false) {
            return Err(fail(
                "user: generate_ssh_key is not implemented by yiqiu-play yet",
            ));
        }
        let groups = args.list("groups").map(|l| {
            l.iter()
                .map(crate::template::pyfmt::to_str)
                .collect::<Vec<_>>()
                .join(",")
        });
        let want = Want {
            args,
            name: args.str("name").unwrap_or_default().to_string(),
            groups,
            create_home: args.bool_or("create_home", true),
        };
        let mut warnings: Vec<Value> = Vec::new();
        if let Some(w) = want.str("password").and_then(password_warning) {
            warnings.push(w.into());
        }
        if want.groups.is_none() && want.flag("append") {
            warnings.push("'append' is set, but no 'groups' are specified. Use 'groups' for appending new groups.This will change to an error in Ansible 2.14.".into());
        }
        let mut res = run_user(&want, ctx)?;
        if !warnings.is_empty() {
            res.insert("warnings".into(), Value::Array(warnings));
        }
        Ok(res)
    }
}

pub(super) fn failed_run(name: &str, err: String, rc: i32) -> ModuleError {
    ModuleError::Failed(map([
        ("name", name.into()),
        ("msg", err.into()),
        ("rc", rc.into()),
    ]))
}

fn run_user(want: &Want, ctx: &mut ModuleContext) -> ModuleResult {
    let name = want.name.as_str();
    let state = want.str("state").unwrap_or("present");
    let db = query(ctx, name)?;
    let mut res = map([("name", name.into()), ("state", state.into())]);
    let mut outcome: Option<(i32, String, String)> = None;
    if state == "absent" {
        if db.user.is_some() {
            if ctx.check_mode {
                return Ok(map([("changed", true.into())]));
            }
            let mut cmd: Vec<String> = vec!["userdel".into()];
            if want.flag("force") {
                cmd.push("-f".into());
            }
            if want.flag("remove") {
                cmd.push("-r".into());
            }
            cmd.push(name.into());
            let (rc, out, err) = run_words(ctx, &cmd)?;
            if rc != 0 {
                return Err(failed_run(name, err, rc));
            }
            res.insert("force".into(), want.flag("force").into());
            res.insert("remove".into(), want.flag("remove").into());
            outcome = Some((rc, out, err));
        }
        return Ok(finish(res, outcome));
    }
    match &db.user {
        None => {
            if ctx.check_mode {
                return Ok(map([("changed", true.into())]));
            }
            let home = want.str("home");
            let parent_missing = match home.filter(|_| want.create_home) {
                Some(h) => !util::remote_exists(ctx, &format!("{}/.", dirname(h)))?,
                None => false,
            };
            let cmd = useradd(&db, want)?;
            if parent_missing {
                // useradd cannot make the parents: the module makes the home itself first.
                let h = home.unwrap_or_default();
                let out = util::exec_script(ctx, format!("mkdir -p {}", quote(&dirname(h))))?;
                if out.rc != 0 {
                    return Err(fail(util::text(&out.stderr).trim().to_string()));
                }
            }
            let (rc, out, err) = run_words(ctx, &cmd)?;
            if rc != 0 {
                return Err(failed_run(name, err, rc));
            }
            res.insert("system".into(), want.flag("system").into());
            res.insert("create_home".into(), want.create_home.into());
            outcome = Some((rc, out, err));
        }
        Some(info) => {
            let cmd = usermod(&db, info, want)?;
            if cmd.len() > 1 {
                let mut cmd = cmd;
                cmd.push(name.into());
                let run = match ctx.check_mode {
                    true => (0, String::new(), String::new()),
                    false => run_words(ctx, &cmd)?,
                };
                if run.0 != 0 {
                    return Err(failed_run(name, run.2, run.0));
                }
                outcome = Some(run);
            }
            res.insert("append".into(), want.flag("append").into());
            res.insert("move_home".into(), want.flag("move_home").into());
        }
    }
    if want.str("password").is_some() {
        res.insert("password".into(), "NOT_LOGGING_PASSWORD".into());
    }
    let mut res = finish(res, outcome);
    let now = if ctx.check_mode {
        db
    } else {
        query(ctx, name)?
    };
    let Some(info) = now.user else {
        return Ok(res);
    };
    res.insert("uid".into(), info.uid.into());
    res.insert("group".into(), info.gid.into());
    res.insert("comment".into(), info.comment.clone().into());
    res.insert("home".into(), info.home.clone().into());
    res.insert("shell".into(), info.shell.clone().into());
    if let Some(g) = &want.groups {
        res.insert("groups".into(), g.clone().into());
    }
    let home = want.str("home").unwrap_or(&info.home).to_string();
    if want.create_home && !util::remote_exists(ctx, &home)? {
        if !ctx.check_mode {
            let script = create_home_script(&home, want.str("skeleton"), info.uid, info.gid);
            let out = util::exec_script(ctx, script)?;
            if out.rc != 0 {
                return Err(fail(util::text(&out.stderr).trim().to_string()));
            }
        }
        res.insert("changed".into(), true.into());
    }
    password_expire(ctx, want, &info, &mut res)?;
    Ok(res)
}

/// `changed` from whether a command ran, with its non-empty stdout/stderr.
pub(super) fn finish(
    mut res: Map<String, Value>,
    outcome: Option<(i32, String, String)>,
) -> Map<String, Value> {
    res.insert("changed".into(), outcome.is_some().into());
    if let Some((_, out, err)) = outcome {
        // Ansible's action adds the `_lines` of any stdout/stderr a module returns.
        if !out.is_empty() {
            res.insert("stdout_lines".into(), util::lines(&out));
            res.insert("stdout".into(), out.into());
        }
        if !err.is_empty() {
            res.insert("stderr_lines".into(), util::lines(&err));
            res.insert("stderr".into(), err.into());
        }
    }
    res
}

/// `set_password_expire`: chage for the min/max/warn days that differ from shadow.
fn password_expire(
    ctx: &mut ModuleContext,
    want: &Want,
    info: &Passwd,
    res: &mut Map<String, Value>,
) -> Result<(), ModuleError> {
    let (min, max, warn) = info.aging;
    let mut cmd: Vec<String> = vec!["chage".into()];
    for (key, flag, current) in [
        ("password_expire_min", "-m", min),
        ("password_expire_max", "-M", max),
        ("password_expire_warn", "-W", warn),
    ] {
        if let Some(v) = want.args.int(key).filter(|v| *v != current) {
            cmd.extend([flag.into(), v.to_string()]);
        }
    }
    if cmd.len() == 1 {
        return Ok(());
    }
    cmd.push(want.name.clone());
    if !ctx.check_mode {
        let (rc, _, err) = run_words(ctx, &cmd)?;
        if rc != 0 {
            return Err(failed_run(&want.name, err, rc));
        }
    }
    res.insert("changed".into(), true.into());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_utc_calendar_days() {
        assert_eq!(date(0.0), "1970-01-01");
        assert_eq!(date(1_700_000_000.0), "2023-11-14");
        assert_eq!(date(951_782_400.0), "2000-02-29");
    }

    #[test]
    fn only_crypt_hashes_pass_the_password_check() {
        assert!(password_warning("plain").is_some());
        assert!(password_warning("!").is_none());
        let sha512 = format!("$6$salt${}", "a".repeat(86));
        assert!(password_warning(&sha512).is_none());
        assert!(password_warning("$6$salt$short").is_some());
    }
}
