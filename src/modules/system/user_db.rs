//! The account databases as the `user` module reads them on the host: one user's passwd and
//! shadow entries and the whole group database, from `getent` in one round trip.

use crate::connection::quote;

/// A passwd entry (`pwd.getpwnam`), with the shadow password and expiry when readable.
#[derive(Debug, Clone, PartialEq)]
pub struct Passwd {
    pub name: String,
    /// The shadow hash when the passwd field is `x` (as the module's `user_info`).
    pub password: String,
    pub uid: i64,
    pub gid: i64,
    pub comment: String,
    pub home: String,
    pub shell: String,
    /// shadow's account expiry in days since the epoch (`None`: not set).
    pub expires: Option<i64>,
    /// shadow's min/max/warn days (`-1`: not set).
    pub aging: (i64, i64, i64),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub name: String,
    pub gid: i64,
    pub members: Vec<String>,
}

/// What one query found: the user (if it exists) and all groups.
#[derive(Debug, Default)]
pub struct Db {
    pub user: Option<Passwd>,
    pub groups: Vec<Group>,
}

const MARK: &str = "@@yq-user ";

/// Shell text printing what [`parse`] reads.
pub fn query_script(name: &str) -> String {
    let q = quote(name);
    format!(
        "command -v useradd >/dev/null 2>&1 || PATH=$PATH:/usr/sbin:/sbin\n\
         getent passwd {q} | sed 's/^/{MARK}passwd /'\n\
         getent shadow {q} 2>/dev/null | sed 's/^/{MARK}shadow /'\n\
         getent group | sed 's/^/{MARK}group /'\n"
    )
}

/// Shell text printing one group (`getent group NAME`) the way [`parse`] reads it.
pub fn group_query_script(name: &str) -> String {
    format!("getent group {} | sed 's/^/{MARK}group /'\n", quote(name))
}

fn int(s: Option<&str>) -> Option<i64> {
    s.and_then(|v| v.trim().parse().ok())
}

/// Parses [`query_script`]'s output.
pub fn parse(out: &str) -> Db {
    let mut db = Db::default();
    let mut shadow: Option<Vec<String>> = None;
    for line in out.lines() {
        let Some(rest) = line.strip_prefix(MARK) else {
            continue;
        };
        if let Some(p) = rest.strip_prefix("passwd ") {
            let f: Vec<&str> = p.split(':').collect();
            if f.len() >= 7 && db.user.is_none() {
                db.user = Some(Passwd {
                    name: f[0].into(),
                    password: f[1].into(),
                    uid: int(Some(f[2])).unwrap_or(-1),
                    gid: int(Some(f[3])).unwrap_or(-1),
                    comment: f[4].into(),
                    home: f[5].into(),
                    shell: f[6..].join(":"),
                    expires: None,
                    aging: (-1, -1, -1),
                });
            }
        } else if let Some(s) = rest.strip_prefix("shadow ") {
            shadow = Some(s.split(':').map(str::to_string).collect());
        } else if let Some(g) = rest.strip_prefix("group ") {
            let f: Vec<&str> = g.split(':').collect();
            if f.len() >= 3 {
                db.groups.push(Group {
                    name: f[0].into(),
                    gid: int(Some(f[2])).unwrap_or(-1),
                    members: f
                        .get(3)
                        .map(|m| {
                            m.split(',')
                                .filter(|x| !x.is_empty())
                                .map(str::to_string)
                                .collect()
                        })
                        .unwrap_or_default(),
                });
            }
        }
    }
    if let (Some(u), Some(s)) = (db.user.as_mut(), shadow) {
        if u.password.len() <= 1 {
            u.password = s.get(1).cloned().unwrap_or_default();
        }
        let field = |i: usize| int(s.get(i).map(String::as_str));
        u.expires = field(7);
        u.aging = (
            field(3).unwrap_or(-1),
            field(4).unwrap_or(-1),
            field(5).unwrap_or(-1),
        );
    }
    db
}

impl Db {
    /// `group_info`: a group by gid (when numeric) or by name.
    pub fn group(&self, g: &str) -> Option<&Group> {
        if let Ok(gid) = g.parse::<i64>() {
            if let Some(found) = self.groups.iter().find(|x| x.gid == gid) {
                return Some(found);
            }
        }
        self.groups.iter().find(|x| x.name == g)
    }

    /// `user_group_membership(exclude_primary=False)`: the groups listing `name` as a member.
    pub fn membership(&self, name: &str) -> Vec<String> {
        self.groups
            .iter()
            .filter(|g| g.members.iter().any(|m| m == name))
            .map(|g| g.name.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwd_takes_the_shadow_hash_and_groups_their_members() {
        let out = "@@yq-user passwd bob:x:1001:1001:Bob B:/home/bob:/bin/sh\n\
                   @@yq-user shadow bob:$6$abc:19000:0:99999:7:::\n\
                   @@yq-user group bob:x:1001:\n\
                   @@yq-user group sudo:x:27:alice,bob\n";
        let db = parse(out);
        let u = db.user.as_ref().expect("user");
        assert_eq!((u.uid, u.gid, u.password.as_str()), (1001, 1001, "$6$abc"));
        assert_eq!(u.aging, (0, 99999, 7));
        assert_eq!(u.expires, None);
        assert_eq!(db.membership("bob"), vec!["sudo"]);
        assert_eq!(db.group("27").map(|g| g.name.as_str()), Some("sudo"));
        assert_eq!(db.group("bob").map(|g| g.gid), Some(1001));
        assert!(parse("").user.is_none());
    }
}
