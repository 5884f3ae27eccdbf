//! `ansible.cfg` and `ANSIBLE_*` environment settings, found and typed as ansible-core 2.19 does.
//!
//! Discovery (first readable file wins): `$ANSIBLE_CONFIG` (a file, or a directory holding
//! `ansible.cfg`), `./ansible.cfg` (skipped with a warning when the working directory is
//! world-writable), `~/.ansible.cfg`, `/etc/ansible/ansible.cfg`. For each setting an
//! environment variable beats the file, which beats the default; the command line beats both
//! (see `options::resolve`). Unknown keys are ignored, as in Ansible.

use super::ini::{self, Ini};
use super::paths::{expand_user, unfrack};
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// When facts are gathered (`gathering` / `ANSIBLE_GATHERING`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Gathering {
    /// Gather per play unless `gather_facts: false`.
    #[default]
    Implicit,
    /// Only when a play asks for it.
    Explicit,
    /// Gather once per host per run.
    Smart,
}

/// Settings from `ansible.cfg` and the environment, typed, with Ansible's defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// Inventory sources (`inventory`, `ANSIBLE_INVENTORY`); relative paths are already
    /// resolved against the config file's directory (or the cwd for the env var).
    pub inventory: Vec<String>,
    /// Parallel hosts (`forks`, `ANSIBLE_FORKS`).
    ///
    /// Deliberately 50, not Ansible's 5: we run hosts as threads, not processes, and the low
    /// default is a long-standing complaint about Ansible's speed. Set `forks` to change it.
    pub forks: u32,
    /// Where roles are searched (`roles_path`, `ANSIBLE_ROLES_PATH`), colon-separated.
    pub roles_path: Vec<PathBuf>,
    /// `vault_password_file` / `ANSIBLE_VAULT_PASSWORD_FILE`, tried after the command line's.
    pub vault_password_file: Option<PathBuf>,
    /// `vault_identity_list` / `ANSIBLE_VAULT_IDENTITY_LIST`: `label@source` tried first.
    pub vault_identity_list: Vec<String>,
    /// `vault_identity`: the label of unlabelled vault sources (`default`).
    pub vault_identity: String,
    /// `vault_id_match`: a vault opens only with the secret of its own label.
    pub vault_id_match: bool,
    /// `vault_encrypt_identity`: the label ansible-vault encrypts with.
    pub vault_encrypt_identity: Option<String>,
    pub remote_user: Option<String>,
    pub private_key_file: Option<PathBuf>,
    pub host_key_checking: bool,
    /// Connection timeout in seconds.
    pub timeout: u64,
    pub gathering: Gathering,
    /// The main output callback (`default`, `minimal`, `oneline`, `json`, ...).
    pub stdout_callback: String,
    /// `bin_ansible_callbacks`: ad-hoc `ansible` uses `stdout_callback` too (else `minimal`).
    pub adhoc_callbacks: bool,
    /// `fact_caching`, `fact_caching_connection`, `_prefix`, `_timeout`.
    pub fact_cache: crate::executor::fact_cache::FactCacheSettings,
    /// `[inventory] enable_plugins`, `TRANSFORM_INVALID_GROUP_CHARS`.
    pub inventory_settings: crate::inventory::LoadSettings,
    /// Extra callbacks (`callbacks_enabled`, or its old name `callback_whitelist`).
    pub callbacks_enabled: Vec<String>,
    pub nocolor: bool,
    pub force_color: bool,
    pub become_enabled: bool,
    pub become_method: String,
    pub become_user: String,
    pub become_ask_pass: bool,
    pub ask_pass: bool,
    /// Default connection type (`transport`, `ANSIBLE_TRANSPORT`).
    pub transport: String,
    /// Accepted for compatibility; we never copy module files to targets anyway.
    pub pipelining: bool,
    pub display_skipped_hosts: bool,
    /// `deprecation_warnings` (default on): `[DEPRECATION WARNING]:` lines.
    pub deprecation_warnings: bool,
    pub display_ok_hosts: bool,
    /// The default callback's `show_custom_stats`: set_stats data after the recap.
    pub show_custom_stats: bool,
    pub any_errors_fatal: bool,
    /// `[inventory] unparsed_is_failed` / `any_unparsed_is_failed`.
    pub inventory_unparsed: crate::inventory::UnparsedPolicy,
    pub force_handlers: bool,
    /// `[defaults] error_on_missing_handler` / `ANSIBLE_ERROR_ON_MISSING_HANDLER`.
    pub error_on_missing_handler: bool,
    /// Accepted; undefined variables are always errors.
    pub error_on_undefined_vars: bool,
    /// `[defaults] allow_broken_conditionals` / `ANSIBLE_ALLOW_BROKEN_CONDITIONALS`: a
    /// conditional with a non-bool result is read by truthiness instead of failing.
    pub allow_broken_conditionals: bool,
    /// `[defaults] hash_behaviour` / `ANSIBLE_HASH_BEHAVIOUR`: `merge` merges dict variables
    /// of different precedence layers recursively instead of replacing them.
    pub hash_merge: bool,
    /// Accepted; retry files are never written.
    pub retry_files_enabled: bool,
    /// `[ssh_connection] ssh_args` / `ANSIBLE_SSH_ARGS`, when set.
    pub ssh_args: Option<String>,
    /// Base verbosity (`ANSIBLE_VERBOSITY`); each `-v` adds one.
    pub verbosity: u8,
    /// `log_path` / `ANSIBLE_LOG_PATH`: the log file (`output::log_file`), off when unset.
    pub log_path: Option<PathBuf>,
    /// `log_verbosity` / `ANSIBLE_LOG_VERBOSITY`: the log's verbosity when above the run's.
    pub log_verbosity: Option<u8>,
    /// `plugin_filters_cfg` / `ANSIBLE_PLUGIN_FILTERS_CFG` (see `cli::plugin_filters`).
    pub plugin_filters_cfg: Option<PathBuf>,
    /// `[tags] run` / `ANSIBLE_RUN_TAGS`: `-t` values are added to these (argparse `append`).
    pub run_tags: Vec<String>,
    /// `[tags] skip` / `ANSIBLE_SKIP_TAGS`: `--skip-tags` values are added to these.
    pub skip_tags: Vec<String>,
    /// `[diff] always` / `ANSIBLE_DIFF_ALWAYS`: as if `-D` were always given.
    pub diff_always: bool,
    /// Problems worth a `[WARNING]:` that did not stop loading (e.g. a world-writable cwd).
    pub warnings: Vec<String>,
}

impl Config {
    /// Ansible's defaults, except `forks` (see its doc). `home` expands `~` in `roles_path`.
    pub fn defaults(home: Option<&Path>, ansible_home: Option<&str>) -> Config {
        let ansible_home = ansible_home
            .map(|h| expand_user(h, home))
            .unwrap_or_else(|| expand_user("~/.ansible", home));
        Config {
            inventory: vec!["/etc/ansible/hosts".into()],
            forks: 50,
            roles_path: vec![
                PathBuf::from(format!("{ansible_home}/roles")),
                PathBuf::from("/usr/share/ansible/roles"),
                PathBuf::from("/etc/ansible/roles"),
            ],
            remote_user: None,
            private_key_file: None,
            vault_password_file: None,
            vault_identity_list: Vec::new(),
            vault_identity: "default".into(),
            vault_id_match: false,
            vault_encrypt_identity: None,
            host_key_checking: true,
            timeout: 10,
            gathering: Gathering::Implicit,
            stdout_callback: "default".into(),
            adhoc_callbacks: false,
            inventory_settings: Default::default(),
            fact_cache: Default::default(),
            callbacks_enabled: Vec::new(),
            nocolor: false,
            force_color: false,
            become_enabled: false,
            become_method: "sudo".into(),
            become_user: "root".into(),
            become_ask_pass: false,
            ask_pass: false,
            transport: "ssh".into(),
            pipelining: false,
            display_skipped_hosts: true,
            deprecation_warnings: true,
            display_ok_hosts: true,
            show_custom_stats: false,
            any_errors_fatal: false,
            inventory_unparsed: crate::inventory::UnparsedPolicy::default(),
            force_handlers: false,
            error_on_missing_handler: true,
            error_on_undefined_vars: true,
            allow_broken_conditionals: false,
            hash_merge: false,
            retry_files_enabled: false,
            ssh_args: None,
            verbosity: 0,
            log_path: None,
            log_verbosity: None,
            plugin_filters_cfg: None,
            run_tags: Vec::new(),
            skip_tags: Vec::new(),
            diff_always: false,
            warnings: Vec::new(),
        }
    }

    /// Whether output should be coloured: `force_color` wins over `nocolor`, else a terminal.
    pub fn use_color(&self, is_tty: bool) -> bool {
        self.force_color || (!self.nocolor && is_tty)
    }

    /// Whether the profile_tasks callback is enabled by name (short or collection form).
    pub fn profile_tasks_enabled(&self) -> bool {
        self.callbacks_enabled
            .iter()
            .any(|c| c == "profile_tasks" || c.ends_with(".profile_tasks"))
    }

    /// Whether the timer callback (`Playbook run took ...`) is enabled by name.
    pub fn timer_enabled(&self) -> bool {
        self.callbacks_enabled
            .iter()
            .any(|c| c == "timer" || c.ends_with(".timer"))
    }
}

/// Ansible's non-strict boolean: `y yes on 1 true t` (any case, trimmed) are true, all else false.
pub fn parse_bool(value: &str) -> bool {
    matches!(
        value.trim().to_lowercase().as_str(),
        "y" | "yes" | "on" | "1" | "true" | "t"
    )
}

/// Finds the config file Ansible would use; warnings go to `warnings`.
pub fn find_config_file(
    env: &dyn Fn(&str) -> Option<String>,
    cwd: &Path,
    home: Option<&Path>,
    warnings: &mut Vec<String>,
) -> Option<PathBuf> {
    let mut candidates = Vec::new();
    let from_env = env("ANSIBLE_CONFIG").map(|p| {
        let p = unfrack(&p, cwd, home, env);
        if p.is_dir() {
            p.join("ansible.cfg")
        } else {
            p
        }
    });
    candidates.extend(from_env.clone());

    let cwd_cfg = cwd.join("ansible.cfg");
    let mut skipped_cwd = false;
    if world_writable(cwd) {
        skipped_cwd = cwd_cfg.exists();
    } else {
        candidates.push(cwd_cfg);
    }
    if let Some(h) = home {
        candidates.push(h.join(".ansible.cfg"));
    }
    candidates.push(PathBuf::from("/etc/ansible/ansible.cfg"));

    let found = candidates.into_iter().find(|p| readable_file(p));
    if skipped_cwd && found != from_env {
        warnings.push(format!(
            "Ansible is being run in a world writable directory ({}), ignoring it as an ansible.cfg source. For more information see https://docs.ansible.com/ansible/devel/reference_appendices/config.html#cfg-in-world-writable-dir",
            cwd.display()
        ));
    }
    found
}

fn world_writable(dir: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(dir).is_ok_and(|m| m.permissions().mode() & 0o002 != 0)
}

fn readable_file(path: &Path) -> bool {
    path.exists() && std::fs::File::open(path).is_ok()
}

/// Finds, reads and types the configuration. Returns the config and the file used, if any.
///
/// `env` looks up environment variables (inject a map in tests); `cwd` is the working
/// directory; `home` is the user's home directory (for `~`).
pub fn load_config(
    env: &dyn Fn(&str) -> Option<String>,
    cwd: &Path,
    home: Option<&Path>,
) -> Result<(Config, Option<PathBuf>)> {
    let mut warnings = Vec::new();
    let file = find_config_file(env, cwd, home, &mut warnings);
    let ini = match &file {
        Some(path) => Some(read_ini(path)?),
        None => None,
    };
    let mut cfg = build(env, cwd, home, ini.as_ref().zip(file.as_deref()))?;
    cfg.warnings = warnings;
    Ok((cfg, file))
}

fn read_ini(path: &Path) -> Result<Ini> {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    if !matches!(ext, "cfg" | "ini") {
        return Err(Error::other(format!(
            "Unsupported configuration file extension for {}: .{ext}",
            path.display()
        )));
    }
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        Error::other(format!(
            "Error reading config file({}) because the config file was not utf8 encoded: {e}",
            path.display()
        ))
    })?;
    ini::parse(&text, &path.display().to_string()).map_err(|e| {
        Error::other(format!(
            "Error reading config file ({}): {e}",
            path.display()
        ))
    })
}

/// Where a raw setting came from; decides relative-path base and unquoting.
enum Source<'a> {
    Env(&'static str),
    File(&'a Path),
}

struct Raw<'a> {
    value: String,
    source: Source<'a>,
}

impl Raw<'_> {
    fn origin(&self) -> String {
        match &self.source {
            Source::Env(name) => format!("env: {name}"),
            Source::File(p) => p.display().to_string(),
        }
    }
}

/// One setting: Ansible's name (for messages), its ini keys and env vars, in Ansible's order
/// (the last one found of each kind wins).
struct Setting {
    name: &'static str,
    ini: &'static [(&'static str, &'static str)],
    env: &'static [&'static str],
}

macro_rules! setting {
    ($name:literal, [$(($s:literal, $k:literal)),*], [$($e:literal),*]) => {
        Setting { name: $name, ini: &[$(($s, $k)),*], env: &[$($e),*] }
    };
}

struct Lookup<'a> {
    env: &'a dyn Fn(&str) -> Option<String>,
    cwd: &'a Path,
    home: Option<&'a Path>,
    file: Option<(&'a Ini, &'a Path)>,
}

impl<'a> Lookup<'a> {
    fn raw(&self, s: &Setting) -> Option<Raw<'a>> {
        let from_env = s.env.iter().rev().find_map(|name| {
            // An empty variable counts as unset: `ANSIBLE_FORKS= cmd` should not fail.
            (self.env)(name).filter(|v| !v.is_empty()).map(|v| Raw {
                value: v,
                source: Source::Env(name),
            })
        });
        if from_env.is_some() {
            return from_env;
        }
        let (ini, path) = self.file?;
        s.ini
            .iter()
            .rev()
            .find_map(|(sect, key)| ini.get(sect, key))
            .map(|v| Raw {
                value: v.to_string(),
                source: Source::File(path),
            })
    }

    fn invalid(&self, s: &Setting, raw: &Raw, kind: &str) -> Error {
        Error::other(format!(
            "Config '{}' from '{}' has an invalid value: Invalid value provided for '{kind}': '{}'",
            s.name,
            raw.origin(),
            raw.value
        ))
    }

    fn string(&self, s: &Setting) -> Option<String> {
        self.raw(s).map(|r| match r.source {
            Source::File(_) => unquote(&r.value).to_string(),
            Source::Env(_) => r.value,
        })
    }

    fn bool(&self, s: &Setting, default: bool) -> bool {
        self.raw(s).map_or(default, |r| parse_bool(&r.value))
    }

    fn int(&self, s: &Setting) -> Result<Option<i64>> {
        let Some(raw) = self.raw(s) else {
            return Ok(None);
        };
        parse_int(&raw.value)
            .map(Some)
            .ok_or_else(|| self.invalid(s, &raw, "integer"))
    }

    fn list(&self, s: &Setting) -> Option<Vec<String>> {
        self.raw(s).map(|r| {
            r.value
                .split(',')
                .map(|x| unquote(x.trim()).to_string())
                .collect()
        })
    }

    fn base(&self, raw: &Raw) -> PathBuf {
        match &raw.source {
            Source::File(p) => p
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_else(|| self.cwd.to_path_buf()),
            Source::Env(_) => self.cwd.to_path_buf(),
        }
    }

    fn resolve(&self, raw: &Raw, path: &str) -> PathBuf {
        unfrack(path, &self.base(raw), self.home, self.env)
    }

    fn path(&self, s: &Setting) -> Option<PathBuf> {
        let raw = self.raw(s)?;
        let value = match raw.source {
            Source::File(_) => unquote(&raw.value).to_string(),
            Source::Env(_) => raw.value.clone(),
        };
        Some(self.resolve(&raw, &value))
    }

    /// Colon-separated paths (`pathspec`); empty entries are dropped.
    fn pathspec(&self, s: &Setting) -> Option<Vec<PathBuf>> {
        let raw = self.raw(s)?;
        Some(
            raw.value
                .split(':')
                .filter(|p| !p.trim().is_empty())
                .map(|p| self.resolve(&raw, p))
                .collect(),
        )
    }

    /// Comma-separated paths (`pathlist`), trimmed; empty entries are dropped.
    fn pathlist(&self, s: &Setting) -> Option<Vec<String>> {
        let raw = self.raw(s)?;
        Some(
            raw.value
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(|p| self.resolve(&raw, p).display().to_string())
                .collect(),
        )
    }
}

/// Python `int(Decimal(value))` when the fraction is zero: `" 7 "`, `"7.0"`, `"+7"`.
fn parse_int(value: &str) -> Option<i64> {
    let v = value.trim();
    if let Ok(i) = v.parse::<i64>() {
        return Some(i);
    }
    let f: f64 = v.parse().ok()?;
    (f.is_finite() && f.fract() == 0.0 && f.abs() < 9.0e15).then_some(f as i64)
}

/// Removes one pair of matching surrounding quotes, as Ansible's `unquote`.
fn unquote(s: &str) -> &str {
    let b = s.as_bytes();
    let quoted = b.len() > 1
        && b[0] == b[b.len() - 1]
        && (b[0] == b'"' || b[0] == b'\'')
        && b[b.len() - 2] != b'\\';
    if quoted {
        &s[1..s.len() - 1]
    } else {
        s
    }
}

fn build(
    env: &dyn Fn(&str) -> Option<String>,
    cwd: &Path,
    home: Option<&Path>,
    file: Option<(&Ini, &Path)>,
) -> Result<Config> {
    let l = Lookup {
        env,
        cwd,
        home,
        file,
    };
    let ansible_home = env("ANSIBLE_HOME").filter(|h| !h.is_empty());
    let mut c = Config::defaults(home, ansible_home.as_deref());

    if let Some(v) = l.pathlist(&setting!(
        "DEFAULT_HOST_LIST",
        [("defaults", "inventory")],
        ["ANSIBLE_INVENTORY"]
    )) {
        c.inventory = v;
    }
    let forks = setting!("DEFAULT_FORKS", [("defaults", "forks")], ["ANSIBLE_FORKS"]);
    if let Some(v) = l.int(&forks)? {
        let raw = l.raw(&forks);
        c.forks = u32::try_from(v)
            .ok()
            .filter(|f| *f >= 1)
            .ok_or_else(|| match raw {
                Some(r) => Error::other(format!(
                    "Config 'DEFAULT_FORKS' from '{}' has an invalid value: the number of forks must be >= 1, got {v}",
                    r.origin()
                )),
                None => Error::other("invalid forks"),
            })?;
    }
    if let Some(v) = l.pathspec(&setting!(
        "DEFAULT_ROLES_PATH",
        [("defaults", "roles_path")],
        ["ANSIBLE_ROLES_PATH"]
    )) {
        c.roles_path = v;
    }
    c.remote_user = l.string(&setting!(
        "DEFAULT_REMOTE_USER",
        [("defaults", "remote_user")],
        ["ANSIBLE_REMOTE_USER"]
    ));
    c.private_key_file = l.path(&setting!(
        "DEFAULT_PRIVATE_KEY_FILE",
        [("defaults", "private_key_file")],
        ["ANSIBLE_PRIVATE_KEY_FILE"]
    ));
    c.host_key_checking = l.bool(
        &setting!(
            "HOST_KEY_CHECKING",
            [("defaults", "host_key_checking")],
            ["ANSIBLE_HOST_KEY_CHECKING"]
        ),
        true,
    );
    let timeout = setting!(
        "DEFAULT_TIMEOUT",
        [("defaults", "timeout")],
        ["ANSIBLE_TIMEOUT"]
    );
    if let Some(v) = l.int(&timeout)? {
        c.timeout = u64::try_from(v).map_err(|_| match l.raw(&timeout) {
            Some(r) => l.invalid(&timeout, &r, "integer"),
            None => Error::other("invalid timeout"),
        })?;
    }
    let gathering = setting!(
        "DEFAULT_GATHERING",
        [("defaults", "gathering")],
        ["ANSIBLE_GATHERING"]
    );
    if let Some(v) = l.string(&gathering) {
        c.gathering = match v.as_str() {
            "implicit" => Gathering::Implicit,
            "explicit" => Gathering::Explicit,
            "smart" => Gathering::Smart,
            other => {
                return Err(Error::other(format!(
                    "Invalid value \"{other}\" for configuration option \"setting: DEFAULT_GATHERING\", valid values are: implicit, explicit, smart"
                )))
            }
        };
    }
    if let Some(v) = l.string(&setting!(
        "DEFAULT_STDOUT_CALLBACK",
        [("defaults", "stdout_callback")],
        ["ANSIBLE_STDOUT_CALLBACK"]
    )) {
        c.stdout_callback = v;
    }
    c.adhoc_callbacks = l.bool(
        &setting!(
            "DEFAULT_LOAD_CALLBACK_PLUGINS",
            [("defaults", "bin_ansible_callbacks")],
            ["ANSIBLE_LOAD_CALLBACK_PLUGINS"]
        ),
        false,
    );
    if let Some(list) = l.list(&setting!(
        "INVENTORY_ENABLED",
        [("inventory", "enable_plugins")],
        ["ANSIBLE_INVENTORY_ENABLED"]
    )) {
        c.inventory_settings.plugins = list;
    }
    if let Some(v) = l.string(&setting!(
        "CACHE_PLUGIN",
        [("defaults", "fact_caching")],
        ["ANSIBLE_CACHE_PLUGIN"]
    )) {
        c.fact_cache.plugin = v;
    }
    if let Some(v) = l.string(&setting!(
        "CACHE_PLUGIN_CONNECTION",
        [("defaults", "fact_caching_connection")],
        ["ANSIBLE_CACHE_PLUGIN_CONNECTION"]
    )) {
        c.fact_cache.connection = Some(PathBuf::from(v));
    }
    if let Some(v) = l.string(&setting!(
        "CACHE_PLUGIN_PREFIX",
        [("defaults", "fact_caching_prefix")],
        ["ANSIBLE_CACHE_PLUGIN_PREFIX"]
    )) {
        c.fact_cache.prefix = v;
    }
    if let Some(v) = l.string(&setting!(
        "CACHE_PLUGIN_TIMEOUT",
        [("defaults", "fact_caching_timeout")],
        ["ANSIBLE_CACHE_PLUGIN_TIMEOUT"]
    )) {
        c.fact_cache.timeout = v.trim().parse().map_err(|_| {
            Error::other(format!(
                "Invalid type for configuration option setting: CACHE_PLUGIN_TIMEOUT : {v}"
            ))
        })?;
    }
    if let Some(v) = l.string(&setting!(
        "TRANSFORM_INVALID_GROUP_CHARS",
        [("defaults", "force_valid_group_names")],
        ["ANSIBLE_TRANSFORM_INVALID_GROUP_CHARS"]
    )) {
        c.inventory_settings.group_chars = crate::inventory::GroupChars::parse(&v)?;
    }
    // The old name only counts when the new one is not set anywhere.
    let enabled = l
        .list(&setting!(
            "CALLBACKS_ENABLED",
            [("defaults", "callbacks_enabled")],
            ["ANSIBLE_CALLBACKS_ENABLED"]
        ))
        .or_else(|| {
            l.list(&setting!(
                "CALLBACK_WHITELIST",
                [("defaults", "callback_whitelist")],
                ["ANSIBLE_CALLBACK_WHITELIST"]
            ))
        });
    if let Some(v) = enabled {
        c.callbacks_enabled = v.into_iter().filter(|s| !s.is_empty()).collect();
    }
    c.nocolor = l.bool(
        &setting!(
            "ANSIBLE_NOCOLOR",
            [("defaults", "nocolor")],
            ["ANSIBLE_NOCOLOR", "NO_COLOR"]
        ),
        false,
    );
    c.force_color = l.bool(
        &setting!(
            "ANSIBLE_FORCE_COLOR",
            [("defaults", "force_color")],
            ["ANSIBLE_FORCE_COLOR"]
        ),
        false,
    );
    c.become_enabled = l.bool(
        &setting!(
            "DEFAULT_BECOME",
            [("privilege_escalation", "become")],
            ["ANSIBLE_BECOME"]
        ),
        false,
    );
    if let Some(v) = l.string(&setting!(
        "DEFAULT_BECOME_METHOD",
        [("privilege_escalation", "become_method")],
        ["ANSIBLE_BECOME_METHOD"]
    )) {
        c.become_method = v;
    }
    if let Some(v) = l.string(&setting!(
        "DEFAULT_BECOME_USER",
        [("privilege_escalation", "become_user")],
        ["ANSIBLE_BECOME_USER"]
    )) {
        c.become_user = v;
    }
    c.become_ask_pass = l.bool(
        &setting!(
            "DEFAULT_BECOME_ASK_PASS",
            [("privilege_escalation", "become_ask_pass")],
            ["ANSIBLE_BECOME_ASK_PASS"]
        ),
        false,
    );
    c.ask_pass = l.bool(
        &setting!(
            "DEFAULT_ASK_PASS",
            [("defaults", "ask_pass")],
            ["ANSIBLE_ASK_PASS"]
        ),
        false,
    );
    if let Some(v) = l.string(&setting!(
        "DEFAULT_TRANSPORT",
        [("defaults", "transport")],
        ["ANSIBLE_TRANSPORT"]
    )) {
        c.transport = v;
    }
    c.pipelining = l.bool(
        &setting!(
            "ANSIBLE_PIPELINING",
            [
                ("defaults", "pipelining"),
                ("connection", "pipelining"),
                ("ssh_connection", "pipelining")
            ],
            ["ANSIBLE_PIPELINING", "ANSIBLE_SSH_PIPELINING"]
        ),
        false,
    );
    c.deprecation_warnings = l.bool(
        &setting!(
            "DEPRECATION_WARNINGS",
            [("defaults", "deprecation_warnings")],
            ["ANSIBLE_DEPRECATION_WARNINGS"]
        ),
        true,
    );
    c.display_skipped_hosts = l.bool(
        &setting!(
            "DISPLAY_SKIPPED_HOSTS",
            [("defaults", "display_skipped_hosts")],
            ["ANSIBLE_DISPLAY_SKIPPED_HOSTS"]
        ),
        true,
    );
    c.display_ok_hosts = l.bool(
        &setting!(
            "DISPLAY_OK_HOSTS",
            [("defaults", "display_ok_hosts")],
            ["ANSIBLE_DISPLAY_OK_HOSTS"]
        ),
        true,
    );
    c.show_custom_stats = l.bool(
        &setting!(
            "SHOW_CUSTOM_STATS",
            [("defaults", "show_custom_stats")],
            ["ANSIBLE_SHOW_CUSTOM_STATS"]
        ),
        false,
    );
    c.any_errors_fatal = l.bool(
        &setting!(
            "ANY_ERRORS_FATAL",
            [("defaults", "any_errors_fatal")],
            ["ANSIBLE_ANY_ERRORS_FATAL"]
        ),
        false,
    );
    c.inventory_unparsed.all_failed = l.bool(
        &setting!(
            "INVENTORY_UNPARSED_IS_FAILED",
            [("inventory", "unparsed_is_failed")],
            ["ANSIBLE_INVENTORY_UNPARSED_FAILED"]
        ),
        false,
    );
    c.inventory_unparsed.any_failed = l.bool(
        &setting!(
            "INVENTORY_ANY_UNPARSED_IS_FAILED",
            [("inventory", "any_unparsed_is_failed")],
            ["ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED"]
        ),
        false,
    );
    c.force_handlers = l.bool(
        &setting!(
            "DEFAULT_FORCE_HANDLERS",
            [("defaults", "force_handlers")],
            ["ANSIBLE_FORCE_HANDLERS"]
        ),
        false,
    );
    c.allow_broken_conditionals = l.bool(
        &setting!(
            "ALLOW_BROKEN_CONDITIONALS",
            [("defaults", "allow_broken_conditionals")],
            ["ANSIBLE_ALLOW_BROKEN_CONDITIONALS"]
        ),
        false,
    );
    let hash = setting!(
        "DEFAULT_HASH_BEHAVIOUR",
        [("defaults", "hash_behaviour")],
        ["ANSIBLE_HASH_BEHAVIOUR"]
    );
    if let Some(v) = l.string(&hash) {
        c.hash_merge = match v.as_str() {
            "merge" => true,
            "replace" => false,
            other => {
                return Err(Error::other(format!(
                    "Invalid value \"{other}\" for configuration option \"setting: DEFAULT_HASH_BEHAVIOUR\", valid values are: replace, merge"
                )))
            }
        };
    }
    c.error_on_missing_handler = l.bool(
        &setting!(
            "ERROR_ON_MISSING_HANDLER",
            [("defaults", "error_on_missing_handler")],
            ["ANSIBLE_ERROR_ON_MISSING_HANDLER"]
        ),
        true,
    );
    c.error_on_undefined_vars = l.bool(
        &setting!(
            "DEFAULT_UNDEFINED_VAR_BEHAVIOR",
            [("defaults", "error_on_undefined_vars")],
            ["ANSIBLE_ERROR_ON_UNDEFINED_VARS"]
        ),
        true,
    );
    c.retry_files_enabled = l.bool(
        &setting!(
            "RETRY_FILES_ENABLED",
            [("defaults", "retry_files_enabled")],
            ["ANSIBLE_RETRY_FILES_ENABLED"]
        ),
        false,
    );
    c.ssh_args = l.string(&setting!(
        "ssh_args",
        [("ssh_connection", "ssh_args")],
        ["ANSIBLE_SSH_ARGS"]
    ));
    let verbosity = setting!(
        "DEFAULT_VERBOSITY",
        [("defaults", "verbosity")],
        ["ANSIBLE_VERBOSITY"]
    );
    if let Some(v) = l.int(&verbosity)? {
        c.verbosity = v.clamp(0, u8::MAX as i64) as u8;
    }
    c.log_path = l
        .path(&setting!(
            "DEFAULT_LOG_PATH",
            [("defaults", "log_path")],
            ["ANSIBLE_LOG_PATH"]
        ))
        .filter(|p| !p.as_os_str().is_empty());
    c.plugin_filters_cfg = l.path(&setting!(
        "PLUGIN_FILTERS_CFG",
        [("defaults", "plugin_filters_cfg")],
        ["ANSIBLE_PLUGIN_FILTERS_CFG"]
    ));
    let log_verbosity = setting!(
        "LOG_VERBOSITY",
        [("defaults", "log_verbosity")],
        ["ANSIBLE_LOG_VERBOSITY"]
    );
    if let Some(v) = l.int(&log_verbosity)? {
        c.log_verbosity = Some(v.clamp(0, u8::MAX as i64) as u8);
    }
    if let Some(v) = l.list(&setting!(
        "TAGS_RUN",
        [("tags", "run")],
        ["ANSIBLE_RUN_TAGS"]
    )) {
        c.run_tags = v;
    }
    if let Some(v) = l.list(&setting!(
        "TAGS_SKIP",
        [("tags", "skip")],
        ["ANSIBLE_SKIP_TAGS"]
    )) {
        c.skip_tags = v;
    }
    c.diff_always = l.bool(
        &setting!("DIFF_ALWAYS", [("diff", "always")], ["ANSIBLE_DIFF_ALWAYS"]),
        false,
    );
    vault_settings(&l, &mut c);
    Ok(c)
}

fn vault_settings(l: &Lookup, c: &mut Config) {
    c.vault_password_file = l.path(&setting!(
        "DEFAULT_VAULT_PASSWORD_FILE",
        [("defaults", "vault_password_file")],
        ["ANSIBLE_VAULT_PASSWORD_FILE"]
    ));
    if let Some(v) = l.list(&setting!(
        "DEFAULT_VAULT_IDENTITY_LIST",
        [("defaults", "vault_identity_list")],
        ["ANSIBLE_VAULT_IDENTITY_LIST"]
    )) {
        c.vault_identity_list = v;
    }
    if let Some(v) = l.string(&setting!(
        "DEFAULT_VAULT_IDENTITY",
        [("defaults", "vault_identity")],
        ["ANSIBLE_VAULT_IDENTITY"]
    )) {
        c.vault_identity = v;
    }
    c.vault_id_match = l.bool(
        &setting!(
            "DEFAULT_VAULT_ID_MATCH",
            [("defaults", "vault_id_match")],
            ["ANSIBLE_VAULT_ID_MATCH"]
        ),
        false,
    );
    c.vault_encrypt_identity = l.string(&setting!(
        "DEFAULT_VAULT_ENCRYPT_IDENTITY",
        [("defaults", "vault_encrypt_identity")],
        ["ANSIBLE_VAULT_ENCRYPT_IDENTITY"]
    ));
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::os::unix::fs::PermissionsExt;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k: &str| map.get(k).cloned()
    }

    /// A private (not world-writable) temp dir, with `cwd/` and `home/` inside.
    fn dirs() -> (tempfile::TempDir, PathBuf, PathBuf) {
        let t = tempfile::tempdir().unwrap();
        let cwd = t.path().join("cwd");
        let home = t.path().join("home");
        std::fs::create_dir_all(&cwd).unwrap();
        std::fs::create_dir_all(&home).unwrap();
        std::fs::set_permissions(&cwd, std::fs::Permissions::from_mode(0o755)).unwrap();
        (t, cwd, home)
    }

    #[test]
    fn bool_parsing_like_ansible() {
        for t in ["yes", "Yes", " TRUE ", "1", "on", "y", "t"] {
            assert!(parse_bool(t), "{t}");
        }
        for f in ["no", "false", "0", "off", "n", "f", "maybe", ""] {
            assert!(!parse_bool(f), "{f}");
        }
    }

    #[test]
    fn defaults_without_any_file() {
        let (_t, cwd, home) = dirs();
        let env = env_of(&[]);
        let c = build(&env, &cwd, Some(&home), None).unwrap();
        assert_eq!(c.forks, 50);
        assert_eq!(c.timeout, 10);
        assert_eq!(c.gathering, Gathering::Implicit);
        assert_eq!(c.stdout_callback, "default");
        assert_eq!(c.become_user, "root");
        assert_eq!(c.become_method, "sudo");
        assert!(c.host_key_checking && c.display_ok_hosts && c.display_skipped_hosts);
        assert_eq!(
            c.roles_path,
            [
                home.join(".ansible/roles"),
                PathBuf::from("/usr/share/ansible/roles"),
                PathBuf::from("/etc/ansible/roles")
            ]
        );
        assert_eq!(c.inventory, ["/etc/ansible/hosts"]);
    }

    #[test]
    fn discovery_order() {
        let (t, cwd, home) = dirs();
        let env_dir = t.path().join("envdir");
        std::fs::create_dir_all(&env_dir).unwrap();
        std::fs::write(env_dir.join("ansible.cfg"), "[defaults]\nforks = 1\n").unwrap();
        std::fs::write(cwd.join("ansible.cfg"), "[defaults]\nforks = 2\n").unwrap();
        std::fs::write(home.join(".ansible.cfg"), "[defaults]\nforks = 3\n").unwrap();

        // ANSIBLE_CONFIG as a directory.
        let env = env_of(&[("ANSIBLE_CONFIG", env_dir.to_str().unwrap())]);
        let (c, f) = load_config(&env, &cwd, Some(&home)).unwrap();
        assert_eq!((c.forks, f), (1, Some(env_dir.join("ansible.cfg"))));

        // ANSIBLE_CONFIG naming a missing file falls through to ./ansible.cfg.
        let env = env_of(&[("ANSIBLE_CONFIG", "/nonexistent/x.cfg")]);
        let (c, f) = load_config(&env, &cwd, Some(&home)).unwrap();
        assert_eq!((c.forks, f), (2, Some(cwd.join("ansible.cfg"))));

        // Then ~/.ansible.cfg.
        std::fs::remove_file(cwd.join("ansible.cfg")).unwrap();
        let env = env_of(&[]);
        let (c, f) = load_config(&env, &cwd, Some(&home)).unwrap();
        assert_eq!((c.forks, f), (3, Some(home.join(".ansible.cfg"))));
    }

    #[test]
    fn world_writable_cwd_is_skipped_with_warning() {
        let (_t, cwd, home) = dirs();
        std::fs::write(cwd.join("ansible.cfg"), "[defaults]\nforks = 2\n").unwrap();
        std::fs::write(home.join(".ansible.cfg"), "[defaults]\nforks = 3\n").unwrap();
        std::fs::set_permissions(&cwd, std::fs::Permissions::from_mode(0o777)).unwrap();
        let env = env_of(&[]);
        let (c, f) = load_config(&env, &cwd, Some(&home)).unwrap();
        assert_eq!((c.forks, f), (3, Some(home.join(".ansible.cfg"))));
        assert_eq!(c.warnings.len(), 1);
        assert!(c.warnings[0].contains("world writable directory"));
        // Named explicitly through ANSIBLE_CONFIG it is used, without a warning.
        let cfg = cwd.join("ansible.cfg");
        let env = env_of(&[("ANSIBLE_CONFIG", cfg.to_str().unwrap())]);
        let (c, _) = load_config(&env, &cwd, Some(&home)).unwrap();
        assert_eq!(c.forks, 2);
        assert!(c.warnings.is_empty());
    }

    #[test]
    fn file_values_are_typed_and_resolved() {
        let (_t, cwd, home) = dirs();
        std::fs::write(
            cwd.join("ansible.cfg"),
            "[defaults]\n\
             forks = 7 ; comment\n\
             remote_user = bob#x\n\
             stdout_callback = \"yaml\"\n\
             roles_path = ~/r1:./r2\n\
             Timeout: 33\n\
             callbacks_enabled = a, 'b' , profile_tasks\n\
             inventory = hosts, /abs/inv\n\
             gathering = smart\n\
             host_key_checking = False\n\
             private_key_file = keys/id\n\
             unknown_key = whatever\n\
             [privilege_escalation]\n\
             become = Yes\n\
             become_user = admin\n\
             [ssh_connection]\n\
             pipelining = true\n\
             ssh_args = -o ControlMaster=auto\n\
             [tags]\n\
             run = a,b\n\
             [diff]\n\
             always = yes\n",
        )
        .unwrap();
        let env = env_of(&[]);
        let (c, _) = load_config(&env, &cwd, Some(&home)).unwrap();
        assert_eq!(c.forks, 7);
        assert_eq!(c.remote_user.as_deref(), Some("bob#x"));
        assert_eq!(c.stdout_callback, "yaml");
        assert_eq!(c.roles_path, [home.join("r1"), cwd.join("r2")]);
        assert_eq!(c.timeout, 33);
        assert_eq!(c.callbacks_enabled, ["a", "b", "profile_tasks"]);
        assert!(c.profile_tasks_enabled());
        assert_eq!(
            c.inventory,
            [
                cwd.join("hosts").display().to_string(),
                "/abs/inv".to_string()
            ]
        );
        assert_eq!(c.gathering, Gathering::Smart);
        assert!(!c.host_key_checking);
        assert_eq!(c.private_key_file, Some(cwd.join("keys/id")));
        assert!(c.become_enabled && c.pipelining);
        assert_eq!(c.become_user, "admin");
        assert_eq!(c.ssh_args.as_deref(), Some("-o ControlMaster=auto"));
        assert_eq!(c.run_tags, ["a", "b"]);
        assert!(c.diff_always);
    }

    #[test]
    fn env_beats_file() {
        let (t, cwd, home) = dirs();
        std::fs::write(
            cwd.join("ansible.cfg"),
            "[defaults]\nforks = 7\ninventory = hosts\nnocolor = false\nroles_path = r\n",
        )
        .unwrap();
        let other = t.path().join("other");
        let env = env_of(&[
            ("ANSIBLE_FORKS", "9"),
            ("ANSIBLE_INVENTORY", "inv1,inv2"),
            ("NO_COLOR", "1"),
            ("ANSIBLE_ROLES_PATH", "~/a:b"),
            ("ANSIBLE_BECOME", "on"),
            ("ANSIBLE_CALLBACK_WHITELIST", "timer"),
            ("ANSIBLE_TIMEOUT", ""),
            ("ANSIBLE_HOME", other.to_str().unwrap()),
        ]);
        let (c, _) = load_config(&env, &cwd, Some(&home)).unwrap();
        assert_eq!(c.forks, 9);
        assert_eq!(
            c.inventory,
            [
                cwd.join("inv1").display().to_string(),
                cwd.join("inv2").display().to_string()
            ]
        );
        assert!(c.nocolor);
        assert!(!c.use_color(true));
        assert_eq!(c.roles_path, [home.join("a"), cwd.join("b")]);
        assert!(c.become_enabled);
        assert_eq!(c.callbacks_enabled, ["timer"]);
        assert_eq!(c.timeout, 10, "empty env var counts as unset");
    }

    #[test]
    fn force_color_wins() {
        let (_t, cwd, home) = dirs();
        let env = env_of(&[("ANSIBLE_NOCOLOR", "1"), ("ANSIBLE_FORCE_COLOR", "yes")]);
        let (c, _) = load_config(&env, &cwd, Some(&home)).unwrap();
        assert!(c.use_color(false));
    }

    #[test]
    fn ansible_home_moves_default_roles_path() {
        let (_t, cwd, home) = dirs();
        let env = env_of(&[("ANSIBLE_HOME", "/opt/ah")]);
        let (c, _) = load_config(&env, &cwd, Some(&home)).unwrap();
        assert_eq!(c.roles_path[0], PathBuf::from("/opt/ah/roles"));
    }

    #[test]
    fn invalid_values_are_errors_naming_the_source() {
        let (_t, cwd, home) = dirs();
        std::fs::write(cwd.join("ansible.cfg"), "[defaults]\ntimeout = 33;x\n").unwrap();
        let env = env_of(&[]);
        let e = load_config(&env, &cwd, Some(&home)).unwrap_err();
        assert_eq!(
            e.message,
            format!(
                "Config 'DEFAULT_TIMEOUT' from '{}' has an invalid value: Invalid value provided for 'integer': '33;x'",
                cwd.join("ansible.cfg").display()
            )
        );
        let env = env_of(&[("ANSIBLE_FORKS", "lots")]);
        let e = load_config(&env, &cwd, Some(&home)).unwrap_err();
        assert!(
            e.message
                .contains("'DEFAULT_FORKS' from 'env: ANSIBLE_FORKS'"),
            "{}",
            e.message
        );
        let env = env_of(&[("ANSIBLE_GATHERING", "sometimes")]);
        assert!(load_config(&env, &cwd, Some(&home)).is_err());
        let env = env_of(&[("ANSIBLE_FORKS", "7.0")]);
        std::fs::remove_file(cwd.join("ansible.cfg")).unwrap();
        assert_eq!(load_config(&env, &cwd, Some(&home)).unwrap().0.forks, 7);
    }

    #[test]
    fn bad_file_syntax_and_extension_are_errors() {
        let (_t, cwd, home) = dirs();
        std::fs::write(cwd.join("ansible.cfg"), "forks = 3\n").unwrap();
        let env = env_of(&[]);
        let e = load_config(&env, &cwd, Some(&home)).unwrap_err();
        assert!(
            e.message.starts_with("Error reading config file ("),
            "{}",
            e.message
        );
        let odd = cwd.join("settings.conf");
        std::fs::write(&odd, "[defaults]\n").unwrap();
        let env = env_of(&[("ANSIBLE_CONFIG", odd.to_str().unwrap())]);
        let e = load_config(&env, &cwd, Some(&home)).unwrap_err();
        assert!(e
            .message
            .contains("Unsupported configuration file extension"));
    }
}
