//! Remote file helpers shared by the file modules: one shell script that stats paths and
//! checksums them (printing parseable lines), backups, and applying mode/owner/group.
//!
//! Everything runs with POSIX sh and coreutils-level tools (GNU `stat -c`, BSD `stat -f`
//! fallback; `sha1sum`/`shasum`/`openssl` for checksums), never Python.

use crate::connection::quote;
use crate::modules::util::{conn_err, exec_script, shell_path};
use crate::modules::{ModuleContext, ModuleError};
use serde_json::{Map, Value};

/// Shell functions the stat scripts rely on; prepended once per script.
const PRELUDE: &str = r#"__yq_sum() {
  __yq_sumset "$1" "$2" && printf '%s\n' "$__yq_sumv"
}
__yq_sumset() {
  __yq_sumv=
  case $1 in
    sha1) __c=sha1sum; __s=1;; sha224) __c=sha224sum; __s=224;; sha256) __c=sha256sum; __s=256;;
    sha384) __c=sha384sum; __s=384;; sha512) __c=sha512sum; __s=512;; md5) __c=md5sum; __s=;;
    *) return 1;;
  esac
  if command -v $__c >/dev/null 2>&1; then __yq_sumv=$($__c < "$2")
  elif [ -n "$__s" ] && command -v shasum >/dev/null 2>&1; then __yq_sumv=$(shasum -a $__s < "$2")
  else __yq_sumv=$(openssl dgst -$1 < "$2" | sed 's/^.*= *//')
  fi
  __yq_sumv=${__yq_sumv%% *}
}
__yq_stat() {
  __yq_sumv=
  if [ "$3" = 1 ]; then
    if [ ! -e "$2" ]; then printf '@@%s exists=0\n' "$1"; return; fi
    __l=-L
  else
    if [ ! -e "$2" ] && [ ! -h "$2" ]; then printf '@@%s exists=0\n' "$1"; return; fi
    __l=
  fi
  __st=$(stat $__l -c '%f|%u|%g|%U|%G|%s|%.9Y|%.9X|%.9Z|%i|%h|%d|%o|%b|%t:%T' -- "$2" 2>/dev/null) ||
    __st=$(stat $__l -f 'B%p|%u|%g|%Su|%Sg|%z|%Fm|%Fa|%Fc|%i|%l|%d|%k|%b|%r' -- "$2" 2>/dev/null) || __st=
  printf '@@%s st=%s\n' "$1" "$__st"
  eval "__yq_st_$1=\$__st"
  __a=
  [ -r "$2" ] && __a=${__a}r
  [ -w "$2" ] && __a=${__a}w
  [ -x "$2" ] && __a=${__a}x
  printf '@@%s access=%s\n' "$1" "$__a"
  if [ -h "$2" ]; then
    __lnk=$(readlink -- "$2")
    eval "__yq_lnk_$1=\$__lnk"
    printf '@@%s link=%s\n' "$1" "$__lnk"
  fi
  if [ -h "$2" ] || { [ "$3" = 1 ] && [ "$6" != 1 ]; }; then
    __r=$(readlink -f -- "$2" 2>/dev/null) && printf '@@%s real=%s\n' "$1" "$__r"
  fi
  if [ "$5" = 1 ] && command -v file >/dev/null 2>&1; then
    printf '@@%s mime=%s\n' "$1" "$(file -b -i -- "$2" 2>/dev/null)"
  fi
  if [ "$5" = 1 ] && command -v lsattr >/dev/null 2>&1; then
    __at=$(lsattr -vd -- "$2" 2>/dev/null) && printf '@@%s attr=%s\n' "$1" "$__at"
  fi
  if [ -n "$4" ] && [ -f "$2" ] && { [ "$3" = 1 ] || [ ! -h "$2" ]; } && [ -r "$2" ]; then
    __yq_sumset "$4" "$2"
    printf '@@%s sum=%s\n' "$1" "$__yq_sumv"
  fi
}
__yq_setattrs() {
  eval "__x=\$__yq_st_$1"
  __xm=${__x%%|*}; __x=${__x#*|}; __xu=${__x%%|*}; __x=${__x#*|}
  __xg=${__x%%|*}; __x=${__x#*|}; __xun=${__x%%|*}; __x=${__x#*|}; __xgn=${__x%%|*}
  case $__xun in UNKNOWN|'') __xun=$__xu;; esac
  case $__xgn in UNKNOWN|'') __xgn=$__xg;; esac
  case $__xm in B*) __xm=$(( 0${__xm#B} & 4095 ));; *) __xm=$(( 0x$__xm & 4095 ));; esac
  if [ -n "$4" ]; then
    case $4 in *[!0-9]*) [ "$4" = "$__xun" ];; *) [ "$4" -eq "$__xu" ];; esac ||
      { chown -- "$4" "$2" && __yq_did=1; } || return 1
  fi
  if [ -n "$5" ]; then
    case $5 in *[!0-9]*) [ "$5" = "$__xgn" ];; *) [ "$5" -eq "$__xg" ];; esac ||
      { chgrp -- "$5" "$2" && __yq_did=1; } || return 1
  fi
  if [ -n "$3" ] && [ "$__xm" -ne $(( 0$3 )) ]; then chmod -- "$3" "$2" && __yq_did=1 || return 1; fi
}
"#;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Kind {
    #[default]
    Absent,
    File,
    Dir,
    Link,
    Other,
}

/// What a stat of one remote path found.
#[derive(Clone, Debug, Default)]
pub struct RemoteStat {
    pub kind: Kind,
    /// Full `st_mode`, type bits included.
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub owner: String,
    pub group: String,
    pub size: u64,
    pub mtime: f64,
    pub atime: f64,
    pub ctime: f64,
    pub inode: u64,
    pub nlink: u64,
    pub dev: u64,
    pub readable: bool,
    pub writeable: bool,
    pub executable: bool,
    /// `readlink` of a symlink.
    pub link_target: Option<String>,
    /// `readlink -f` (symlinks, or when following).
    pub real_path: Option<String>,
    pub checksum: Option<String>,
    pub block_size: u64,
    pub blocks: u64,
    /// `st_rdev`.
    pub rdev: u64,
    /// `file -i` output (stat's get_mime), when `file` exists on the host.
    pub mime: Option<String>,
    /// `lsattr -vd` output (`version flags path`), when available.
    pub lsattr: Option<String>,
}

impl RemoteStat {
    pub fn exists(&self) -> bool {
        self.kind != Kind::Absent
    }
    /// The permission bits (`0o7777`).
    pub fn perm(&self) -> u32 {
        self.mode & 0o7777
    }
    /// Ansible's `'0644'` form.
    pub fn mode_str(&self) -> String {
        format!("{:04o}", self.perm())
    }
    /// Ansible's file state name.
    pub fn state_name(&self) -> &'static str {
        match self.kind {
            Kind::Absent => "absent",
            Kind::File if self.nlink > 1 => "hard",
            Kind::File => "file",
            Kind::Dir => "directory",
            Kind::Link => "link",
            Kind::Other => "file",
        }
    }
    /// The owner/group/mode keys Ansible's `add_path_info` adds to a result.
    pub fn add_path_info(&self, res: &mut Map<String, Value>) {
        if !self.exists() {
            res.insert("state".into(), Value::String("absent".into()));
            return;
        }
        res.insert("gid".into(), Value::from(self.gid));
        res.insert("group".into(), Value::String(self.group.clone()));
        res.insert("mode".into(), Value::String(self.mode_str()));
        res.insert("owner".into(), Value::String(self.owner.clone()));
        res.insert("size".into(), Value::from(self.size));
        let state = match self.kind {
            Kind::Dir => "directory",
            Kind::Link => "link",
            _ if self.nlink > 1 => "hard",
            _ => "file",
        };
        res.insert("state".into(), Value::String(state.into()));
        res.insert("uid".into(), Value::from(self.uid));
    }
}

/// A shell fragment that stats `path` under `tag` (use [`parse_stats`] on the output).
/// `checksum` names the algorithm (`sha1`...) to also checksum regular files.
pub fn stat_fragment(tag: &str, path: &str, follow: bool, checksum: Option<&str>) -> String {
    stat_fragment_mime(tag, path, follow, checksum, false)
}

/// [`stat_fragment`], also asking `file -i` for the MIME type and `lsattr` for the
/// attributes when `extra` (the stat module).
pub fn stat_fragment_mime(
    tag: &str,
    path: &str,
    follow: bool,
    checksum: Option<&str>,
    mime: bool,
) -> String {
    format!(
        "__yq_stat {} {} {} {} {}\n",
        quote(tag),
        shell_path(path),
        if follow { "1" } else { "0" },
        quote(checksum.unwrap_or("")),
        if mime { "1" } else { "0" }
    )
}

/// [`stat_fragment`] following symlinks without `real` (`readlink -f`) for a path that is not
/// a symlink: one process less where the caller has no use for it.
pub fn stat_fragment_noreal(tag: &str, path: &str, checksum: Option<&str>) -> String {
    format!(
        "__yq_stat {} {} 1 {} 0 1\n",
        quote(tag),
        shell_path(path),
        quote(checksum.unwrap_or(""))
    )
}

/// The function definitions [`stat_fragment`] needs; put once at the start of a script.
pub fn prelude() -> &'static str {
    PRELUDE
}

fn parse_num<T: std::str::FromStr + Default>(s: &str) -> T {
    s.trim().parse().unwrap_or_default()
}

fn parse_st(st: &str, out: &mut RemoteStat) {
    let f: Vec<&str> = st.split('|').collect();
    if f.len() < 12 {
        out.kind = Kind::Other;
        return;
    }
    out.mode = match f[0].strip_prefix('B') {
        Some(oct) => u32::from_str_radix(oct, 8).unwrap_or(0),
        None => u32::from_str_radix(f[0], 16).unwrap_or(0),
    };
    out.kind = match out.mode & 0o170000 {
        0o100000 => Kind::File,
        0o040000 => Kind::Dir,
        0o120000 => Kind::Link,
        _ => Kind::Other,
    };
    out.uid = parse_num(f[1]);
    out.gid = parse_num(f[2]);
    // GNU stat prints UNKNOWN for ids without a name; Ansible then shows the number.
    out.owner = if f[3] == "UNKNOWN" || f[3].is_empty() {
        f[1].to_string()
    } else {
        f[3].to_string()
    };
    out.group = if f[4] == "UNKNOWN" || f[4].is_empty() {
        f[2].to_string()
    } else {
        f[4].to_string()
    };
    out.size = parse_num(f[5]);
    out.mtime = parse_num(f[6]);
    out.atime = parse_num(f[7]);
    out.ctime = parse_num(f[8]);
    out.inode = parse_num(f[9]);
    out.nlink = parse_num(f[10]);
    out.dev = parse_num(f[11]);
    out.block_size = f.get(12).map(|v| parse_num(v)).unwrap_or_default();
    out.blocks = f.get(13).map(|v| parse_num(v)).unwrap_or_default();
    out.rdev = f.get(14).map(|v| parse_rdev(v)).unwrap_or_default();
}

/// GNU `%t:%T` (hex major and minor) as Linux's encoded `st_rdev`; BSD `%r` is the number.
fn parse_rdev(v: &str) -> u64 {
    match v.split_once(':') {
        Some((ma, mi)) => {
            let major = u64::from_str_radix(ma, 16).unwrap_or(0);
            let minor = u64::from_str_radix(mi, 16).unwrap_or(0);
            ((major & 0xfff) << 8)
                | (minor & 0xff)
                | ((minor & !0xff) << 12)
                | ((major & !0xfff) << 32)
        }
        None => parse_num(v),
    }
}

/// Parses the `@@tag key=value` lines the stat fragments printed.
pub fn parse_stats(stdout: &str) -> std::collections::HashMap<String, RemoteStat> {
    let mut all: std::collections::HashMap<String, RemoteStat> = Default::default();
    for line in stdout.lines() {
        let Some(rest) = line.strip_prefix("@@") else {
            continue;
        };
        let Some((tag, kv)) = rest.split_once(' ') else {
            continue;
        };
        let Some((key, value)) = kv.split_once('=') else {
            continue;
        };
        let st = all.entry(tag.to_string()).or_default();
        match key {
            "exists" => st.kind = Kind::Absent,
            "st" => parse_st(value, st),
            "access" => {
                st.readable = value.contains('r');
                st.writeable = value.contains('w');
                st.executable = value.contains('x');
            }
            "link" => st.link_target = Some(value.to_string()),
            "real" => st.real_path = Some(value.to_string()),
            "sum" if !value.is_empty() => st.checksum = Some(value.to_string()),
            "mime" if !value.is_empty() => st.mime = Some(value.to_string()),
            "attr" => st.lsattr = Some(value.to_string()),
            _ => {}
        }
    }
    all
}

/// Stats one path in one round trip.
pub fn stat(
    ctx: &mut ModuleContext,
    path: &str,
    follow: bool,
    checksum: Option<&str>,
) -> Result<RemoteStat, ModuleError> {
    let script = format!("{PRELUDE}{}", stat_fragment("p", path, follow, checksum));
    let out = exec_script(ctx, script)?;
    Ok(parse_stats(&crate::modules::util::text(&out.stdout))
        .remove("p")
        .unwrap_or_default())
}

/// Runs `fragment` (which must succeed, else the task fails with its stderr) and then stats
/// `path`, in one round trip.
pub fn run_then_stat(
    ctx: &mut ModuleContext,
    fragment: &str,
    path: &str,
    follow: bool,
    checksum: Option<&str>,
) -> Result<RemoteStat, ModuleError> {
    let script = format!(
        "{PRELUDE}set -e\n{fragment}\nset +e\n{}",
        stat_fragment("p", path, follow, checksum)
    );
    let out = exec_script(ctx, script)?;
    if out.rc != 0 {
        return Err(ModuleError::msg(
            crate::modules::util::text(&out.stderr).trim().to_string(),
        ));
    }
    Ok(parse_stats(&crate::modules::util::text(&out.stdout))
        .remove("p")
        .unwrap_or_default())
}

/// A shell fragment that copies `path` to Ansible's backup name
/// (`path.PID.YYYY-MM-DD@HH:MM:SS~`) and prints `@@backup=<name>`.
pub fn backup_fragment(path: &str) -> String {
    let q = shell_path(path);
    format!(
        "__yq_b={q}.$$.$(date '+%Y-%m-%d@%H:%M:%S~'); cp -p -- {q} \"$__yq_b\"; printf '@@backup=%s\\n' \"$__yq_b\"\n"
    )
}

/// The backup file name a script printed with [`backup_fragment`].
pub fn parse_backup(stdout: &str) -> Option<String> {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("@@backup=").map(str::to_string))
}

/// Reads a remote file as the task's become user.
pub fn read(ctx: &mut ModuleContext, path: &str) -> Result<Vec<u8>, ModuleError> {
    ctx.conn.get(path, &ctx.become_).map_err(conn_err)
}

/// Writes a remote file atomically as the task's become user.
pub fn write(
    ctx: &mut ModuleContext,
    data: &[u8],
    path: &str,
    mode: Option<u32>,
) -> Result<(), ModuleError> {
    ctx.conn
        .put(data, path, mode, &ctx.become_)
        .map_err(conn_err)
}

/// Ansible's `mode` argument: an int (already the numeric mode), octal digits, symbolic
/// (`u+rwx,g-w`), or `preserve` (copy/template only).
#[derive(Clone, Debug, PartialEq)]
pub enum ModeArg {
    Octal(u32),
    Symbolic(String),
    Preserve,
}

/// Parses the `mode` argument as Ansible does.
pub fn parse_mode(v: Option<&Value>) -> Result<Option<ModeArg>, ModuleError> {
    let bad = |m: &str| {
        ModuleError::msg(format!(
            "mode must be in octal or symbolic form: invalid mode '{m}'"
        ))
    };
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match n.as_u64() {
            Some(m) if m <= 0o7777 => Ok(Some(ModeArg::Octal(m as u32))),
            _ => Err(bad(&n.to_string())),
        },
        Some(Value::String(s)) => {
            if s == "preserve" {
                return Ok(Some(ModeArg::Preserve));
            }
            if !s.is_empty() && s.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
                return u32::from_str_radix(s, 8)
                    .ok()
                    .filter(|m| *m <= 0o7777)
                    .map(|m| Some(ModeArg::Octal(m)))
                    .ok_or_else(|| bad(s));
            }
            // Validate the syntax now so a typo fails before anything changes.
            symbolic_mode(s, 0o644, false).map_err(|_| bad(s))?;
            Ok(Some(ModeArg::Symbolic(s.clone())))
        }
        Some(other) => Err(bad(&other.to_string())),
    }
}

/// Applies a symbolic mode to `cur` (permission bits), as Ansible's
/// `_symbolic_mode_to_octal` does (no umask: an empty who means `a`).
pub fn symbolic_mode(spec: &str, cur: u32, is_dir: bool) -> Result<u32, String> {
    let mut mode = cur & 0o7777;
    for clause in spec.split(',') {
        let who_end = clause
            .find(|c: char| !"ugoa".contains(c))
            .ok_or_else(|| format!("bad symbolic permission for mode: {clause}"))?;
        let mut who = &clause[..who_end];
        if who.is_empty() || who.contains('a') {
            who = "ugo";
        }
        let mut ops = &clause[who_end..];
        if ops.is_empty() {
            return Err(format!("bad symbolic permission for mode: {clause}"));
        }
        while !ops.is_empty() {
            let op = ops.as_bytes()[0];
            if !b"+-=".contains(&op) {
                return Err(format!("bad symbolic permission for mode: {clause}"));
            }
            let rest = &ops[1..];
            let end = rest.find(['+', '-', '=']).unwrap_or(rest.len());
            let perms = &rest[..end];
            ops = &rest[end..];
            let prev = mode;
            for user in who.chars() {
                let mut bits = 0u32;
                for p in perms.chars() {
                    let (shift, special) = match user {
                        'u' => (6, 0o4000),
                        'g' => (3, 0o2000),
                        _ => (0, 0),
                    };
                    bits |= match p {
                        'r' => 4 << shift,
                        'w' => 2 << shift,
                        'x' => 1 << shift,
                        'X' if is_dir || prev & 0o111 != 0 => 1 << shift,
                        'X' => 0,
                        's' => special,
                        't' if user == 'o' => 0o1000,
                        't' => 0,
                        'u' => ((prev >> 6) & 7) << shift,
                        'g' => ((prev >> 3) & 7) << shift,
                        'o' => (prev & 7) << shift,
                        _ => return Err(format!("bad symbolic permission for mode: {clause}")),
                    };
                }
                mode = match op {
                    b'+' => mode | bits,
                    b'-' => mode & !bits,
                    _ => {
                        let mask = match user {
                            'u' => 0o4700,
                            'g' => 0o2070,
                            _ => 0o1007,
                        };
                        (mode & !mask) | bits
                    }
                };
            }
        }
    }
    Ok(mode)
}

/// The mode/owner/group a task asks for.
#[derive(Clone, Debug, Default)]
pub struct Attrs {
    pub mode: Option<ModeArg>,
    pub owner: Option<String>,
    pub group: Option<String>,
}

impl Attrs {
    pub fn from_args(args: &crate::modules::Args) -> Result<Attrs, ModuleError> {
        Ok(Attrs {
            mode: parse_mode(args.get("mode"))?,
            owner: args.string("owner").filter(|s| !s.is_empty()),
            group: args.string("group").filter(|s| !s.is_empty()),
        })
    }

    /// The numeric mode wanted for a file currently at `cur` (None: leave as is).
    pub fn wanted_mode(&self, cur: &RemoteStat) -> Result<Option<u32>, ModuleError> {
        match &self.mode {
            None | Some(ModeArg::Preserve) => Ok(None),
            Some(ModeArg::Octal(m)) => Ok(Some(*m)),
            Some(ModeArg::Symbolic(s)) => symbolic_mode(s, cur.perm(), cur.kind == Kind::Dir)
                .map(Some)
                .map_err(ModuleError::msg),
        }
    }

    /// The shell commands that bring `path` (currently `cur`) to these attributes, or an
    /// empty string when nothing differs. `no_follow` changes a symlink itself.
    pub fn fragment(
        &self,
        path: &str,
        cur: &RemoteStat,
        no_follow: bool,
    ) -> Result<String, ModuleError> {
        let q = shell_path(path);
        let h = if no_follow && cur.kind == Kind::Link {
            "-h "
        } else {
            ""
        };
        let mut script = String::new();
        if let Some(owner) = &self.owner {
            if !same_id(owner, &cur.owner, cur.uid) {
                script.push_str(&format!("chown {h}-- {} {q}\n", quote(owner)));
            }
        }
        if let Some(group) = &self.group {
            if !same_id(group, &cur.group, cur.gid) {
                script.push_str(&format!("chgrp {h}-- {} {q}\n", quote(group)));
            }
        }
        // A symlink's own mode cannot be changed on Linux; Ansible skips it too.
        if !(no_follow && cur.kind == Kind::Link) {
            if let Some(m) = self.wanted_mode(cur)? {
                if m != cur.perm() {
                    script.push_str(&format!("chmod -- {m:o} {q}\n"));
                }
            }
        }
        Ok(script)
    }
}

impl Attrs {
    /// A `__yq_setattrs` line (see the prelude) that does on the host what [`Attrs::fragment`]
    /// does for a path that is not a symlink, comparing with the stat the script printed
    /// under `tag` (same path): chown, chgrp, then chmod of what differs, setting
    /// `__yq_did` when it changed anything. None when only the controller can decide (a
    /// symbolic or `preserve` mode, an id like `+5`).
    pub fn shell_apply(&self, tag: &str, path: &str) -> Option<String> {
        let mode = match &self.mode {
            None => String::new(),
            Some(ModeArg::Octal(m)) => format!("{m:o}"),
            Some(_) => return None,
        };
        // Names compare as names, all-digit ids as numbers: as `same_id`. Anything else that
        // parses as a number (`+5`) is left to the controller.
        let id_ok = |v: &Option<String>| match v {
            None => true,
            Some(s) => {
                !s.is_empty()
                    && (s.bytes().all(|b| b.is_ascii_digit()) || s.parse::<u64>().is_err())
            }
        };
        if !id_ok(&self.owner) || !id_ok(&self.group) {
            return None;
        }
        Some(format!(
            "__yq_setattrs {} {} {} {} {}\n",
            quote(tag),
            shell_path(path),
            quote(&mode),
            quote(self.owner.as_deref().unwrap_or("")),
            quote(self.group.as_deref().unwrap_or(""))
        ))
    }
}

fn same_id(wanted: &str, name: &str, id: u64) -> bool {
    match wanted.parse::<u64>() {
        Ok(n) => n == id,
        Err(_) => wanted == name,
    }
}

/// The text of a file for a diff, or None when it is binary (Ansible shows no text diff).
pub fn diff_text(bytes: &[u8]) -> Option<String> {
    if bytes.contains(&0) {
        return None;
    }
    String::from_utf8(bytes.to_vec()).ok()
}

/// The sha1 hex digest of `data`, as Ansible's `checksum_s`.
pub fn sha1_hex(data: &[u8]) -> String {
    use sha1::{Digest, Sha1};
    let d = Sha1::digest(data);
    d.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn symbolic_modes_like_ansible() {
        assert_eq!(symbolic_mode("u+rwx", 0o644, false).unwrap(), 0o744);
        assert_eq!(symbolic_mode("g-r,o-r", 0o644, false).unwrap(), 0o600);
        assert_eq!(symbolic_mode("u=rw,g=r,o=", 0o777, false).unwrap(), 0o640);
        assert_eq!(symbolic_mode("a+X", 0o644, true).unwrap(), 0o755);
        assert_eq!(symbolic_mode("a+X", 0o644, false).unwrap(), 0o644);
        assert_eq!(symbolic_mode("+x", 0o600, false).unwrap(), 0o711);
        assert_eq!(symbolic_mode("u+s,o+t", 0o755, false).unwrap(), 0o5755);
        assert!(symbolic_mode("z+r", 0o644, false).is_err());
        assert!(symbolic_mode("u", 0o644, false).is_err());
    }

    #[test]
    fn mode_argument_forms() {
        assert_eq!(
            parse_mode(Some(&json!("0640"))).unwrap(),
            Some(ModeArg::Octal(0o640))
        );
        assert_eq!(
            parse_mode(Some(&json!("755"))).unwrap(),
            Some(ModeArg::Octal(0o755))
        );
        assert_eq!(
            parse_mode(Some(&json!(420))).unwrap(),
            Some(ModeArg::Octal(0o644))
        );
        assert_eq!(
            parse_mode(Some(&json!("preserve"))).unwrap(),
            Some(ModeArg::Preserve)
        );
        assert!(matches!(
            parse_mode(Some(&json!("u+x"))).unwrap(),
            Some(ModeArg::Symbolic(_))
        ));
        assert!(parse_mode(Some(&json!("0999"))).is_err());
        assert!(parse_mode(Some(&json!("bogus"))).is_err());
    }

    #[test]
    fn stat_parses_gnu_and_bsd_lines() {
        let out = "@@p st=81a4|0|0|root|root|7|1.5|2.5|3.5|10|1|65024\n@@p access=rw\n@@p sum=abc\n@@q exists=0\n@@r st=B40755|1|2|UNKNOWN|wheel|64|1|1|1|2|3|4\n";
        let all = parse_stats(out);
        let p = &all["p"];
        assert_eq!(p.kind, Kind::File);
        assert_eq!(p.mode_str(), "0644");
        assert_eq!(p.checksum.as_deref(), Some("abc"));
        assert!(p.readable && p.writeable && !p.executable);
        assert!(!all["q"].exists());
        let r = &all["r"];
        assert_eq!(r.kind, Kind::Dir);
        assert_eq!(r.mode_str(), "0755");
        assert_eq!(r.owner, "1");
        assert_eq!(r.group, "wheel");
    }

    #[test]
    fn sha1_matches_ansible_checksum() {
        assert_eq!(
            sha1_hex(b"hello\n"),
            "f572d396fae9206628714fb2ce00f72e94f2258f"
        );
    }
}

/// A local connection that records every operation, so tests can assert how many round trips
/// a module makes.
#[cfg(test)]
pub mod counting {
    use crate::connection::local::LocalConnection;
    use crate::connection::{Become, Command, ConnError, Connection, Output};
    use crate::modules::{Module, ModuleContext, ModuleResult};
    use serde_json::Value;
    use std::path::Path;

    #[derive(Default)]
    pub struct Counting {
        inner: LocalConnection,
        /// `exec`, `put` or `get`, in order.
        pub ops: Vec<&'static str>,
    }

    impl Connection for Counting {
        fn exec(&mut self, cmd: &Command) -> Result<Output, ConnError> {
            self.ops.push("exec");
            self.inner.exec(cmd)
        }
        fn put(
            &mut self,
            data: &[u8],
            dest: &str,
            mode: Option<u32>,
            b: &Become,
        ) -> Result<(), ConnError> {
            self.ops.push("put");
            self.inner.put(data, dest, mode, b)
        }
        fn put_file(
            &mut self,
            src: &Path,
            dest: &str,
            mode: Option<u32>,
            b: &Become,
        ) -> Result<(), ConnError> {
            self.ops.push("put");
            self.inner.put_file(src, dest, mode, b)
        }
        fn get(&mut self, path: &str, b: &Become) -> Result<Vec<u8>, ConnError> {
            self.ops.push("get");
            self.inner.get(path, b)
        }
        fn transport(&self) -> &'static str {
            "local"
        }
    }

    /// Runs `module` with `args` on a counting local connection; returns the result and the
    /// operations it made.
    pub fn run(
        module: &dyn Module,
        args: Value,
        check: bool,
        diff: bool,
    ) -> (ModuleResult, Vec<&'static str>) {
        let raw = args.as_object().cloned().unwrap_or_default();
        let args = crate::modules::validate(module.name(), module.spec(), raw).unwrap();
        let mut conn = Counting::default();
        let eval = crate::modules::util::test_support::JsonEval(serde_json::json!({}));
        let res = {
            let mut ctx = ModuleContext {
                host: "localhost",
                conn: &mut conn,
                check_mode: check,
                diff_mode: diff,
                verbosity: 0,
                become_: Default::default(),
                env: vec![],
                search_paths: vec![],
                role_path: None,
                task_dir: None,
                eval: &eval,
                fleet: None,
            };
            module.run(&args, &mut ctx)
        };
        (res, conn.ops)
    }
}
