//! The resolved run options: command line over environment over `ansible.cfg` over defaults.

use super::adhoc::AdhocArgs;
use super::args::{CommonArgs, PlaybookArgs};
use super::config::Config;
use super::paths::unfrack;
use std::path::{Path, PathBuf};

/// Everything a run needs to know, resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    /// Empty in ad-hoc mode.
    pub playbooks: Vec<PathBuf>,
    /// Inventory sources: host lists (containing `,`) as given, paths made absolute.
    pub inventory: Vec<String>,
    /// Raw `-e` values in order; parse with `extra_vars::load_extra_vars`.
    pub extra_vars: Vec<String>,
    /// Tags to run, split and trimmed; `["all"]` when none were given.
    pub tags: Vec<String>,
    pub skip_tags: Vec<String>,
    pub limit: Option<String>,
    pub forks: u32,
    pub check: bool,
    pub diff: bool,
    pub verbosity: u8,
    pub list_hosts: bool,
    pub list_tasks: bool,
    pub list_tags: bool,
    pub syntax_check: bool,
    pub start_at_task: Option<String>,
    pub step: bool,
    pub flush_cache: bool,
    pub force_handlers: bool,
    pub remote_user: Option<String>,
    pub connection: String,
    pub timeout: u64,
    pub private_key_file: Option<PathBuf>,
    /// `[ssh_connection] ssh_args` from ansible.cfg.
    pub ssh_args: Option<String>,
    pub ssh_common_args: Option<String>,
    pub ssh_extra_args: Option<String>,
    pub sftp_extra_args: Option<String>,
    pub scp_extra_args: Option<String>,
    pub ask_pass: bool,
    pub connection_password_file: Option<PathBuf>,
    pub become_enabled: bool,
    pub become_method: String,
    pub become_user: String,
    pub ask_become_pass: bool,
    pub become_password_file: Option<PathBuf>,
    pub module_path: Vec<String>,
    /// `--profile`, or `profile_tasks` in `callbacks_enabled`.
    pub profile_tasks: bool,
    /// The remaining settings (callbacks, colour, roles_path, gathering, ...).
    pub config: Config,
}

impl Options {
    /// `[WARNING]:` lines for flags that are accepted but do nothing here, plus the
    /// config's own warnings (e.g. an ignored world-writable `./ansible.cfg`).
    pub fn warnings(&self) -> Vec<String> {
        let mut out = self.config.warnings.clone();
        if self.step {
            out.push(
                "--step is not supported by yiqiu-play; running all tasks without confirmation"
                    .into(),
            );
        }
        if !self.module_path.is_empty() {
            out.push("--module-path is ignored: yiqiu-play only runs its built-in modules".into());
        }
        out
    }
}

/// Splits `-t a,b -t c` into `[a, b, c]`: trimmed, empty entries and repeats dropped.
pub fn split_list(values: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for value in values {
        for item in value.split(',').map(str::trim) {
            if !item.is_empty() && !out.iter().any(|o| o == item) {
                out.push(item.to_string());
            }
        }
    }
    out
}

/// Resolves playbook-mode options against the process's working directory.
pub fn resolve(args: &PlaybookArgs, cfg: &Config) -> Options {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    let home = std::env::var_os("HOME").map(PathBuf::from);
    resolve_in(args, cfg, &cwd, home.as_deref())
}

/// [`resolve`] with an explicit working directory and home (for tests).
pub fn resolve_in(args: &PlaybookArgs, cfg: &Config, cwd: &Path, home: Option<&Path>) -> Options {
    let mut o = resolve_common(&args.common, cfg, cwd, home);
    o.playbooks = args.playbooks.clone();
    // argparse appends -t values to the configured default list.
    let tags = split_list(&[cfg.run_tags.clone(), args.tags.clone()].concat());
    o.tags = if tags.is_empty() {
        vec!["all".to_string()]
    } else {
        tags
    };
    o.skip_tags = split_list(&[cfg.skip_tags.clone(), args.skip_tags.clone()].concat());
    o.list_tasks = args.list_tasks;
    o.list_tags = args.list_tags;
    o.syntax_check = args.syntax_check;
    o.start_at_task = args.start_at_task.clone();
    o.step = args.step;
    o.force_handlers = args.force_handlers || cfg.force_handlers;
    o.profile_tasks = args.profile || cfg.profile_tasks_enabled();
    o
}

/// Resolves ad-hoc options; `playbooks` is empty and tags are `["all"]`.
pub fn resolve_adhoc(args: &AdhocArgs, cfg: &Config) -> Options {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    let home = std::env::var_os("HOME").map(PathBuf::from);
    resolve_common(&args.common, cfg, &cwd, home.as_deref())
}

/// Resolves only the shared flags (inventory sources, limit), for `yiqiu-play inventory`.
pub(crate) fn resolve_sources(c: &CommonArgs, cfg: &Config) -> Options {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    let home = std::env::var_os("HOME").map(PathBuf::from);
    resolve_common(c, cfg, &cwd, home.as_deref())
}

fn resolve_common(c: &CommonArgs, cfg: &Config, cwd: &Path, home: Option<&Path>) -> Options {
    let env = |k: &str| std::env::var(k).ok();
    // As ansible's CLI: a value with a comma is a host list, anything else a path.
    let inventory = if c.inventory.is_empty() {
        cfg.inventory.clone()
    } else {
        c.inventory
            .iter()
            .map(|i| {
                if i.contains(',') {
                    i.clone()
                } else {
                    unfrack(i, cwd, home, &env).display().to_string()
                }
            })
            .collect()
    };
    let conn = &c.connection;
    let priv_ = &c.privilege;
    Options {
        playbooks: Vec::new(),
        inventory,
        extra_vars: c.extra_vars.clone(),
        tags: vec!["all".to_string()],
        skip_tags: Vec::new(),
        limit: c.limit.clone(),
        forks: c.forks.unwrap_or(cfg.forks),
        check: c.check,
        diff: c.diff || cfg.diff_always,
        verbosity: cfg.verbosity.saturating_add(c.verbose),
        list_hosts: c.list_hosts,
        list_tasks: false,
        list_tags: false,
        syntax_check: false,
        start_at_task: None,
        step: false,
        flush_cache: c.flush_cache,
        force_handlers: cfg.force_handlers,
        remote_user: conn.user.clone().or_else(|| cfg.remote_user.clone()),
        connection: conn
            .connection
            .clone()
            .unwrap_or_else(|| cfg.transport.clone()),
        timeout: conn.timeout.unwrap_or(cfg.timeout),
        private_key_file: conn
            .private_key
            .as_ref()
            .map(|p| unfrack(&p.to_string_lossy(), cwd, home, &env))
            .or_else(|| cfg.private_key_file.clone()),
        ssh_args: cfg.ssh_args.clone(),
        ssh_common_args: conn.ssh_common_args.clone(),
        ssh_extra_args: conn.ssh_extra_args.clone(),
        sftp_extra_args: conn.sftp_extra_args.clone(),
        scp_extra_args: conn.scp_extra_args.clone(),
        ask_pass: conn.ask_pass || cfg.ask_pass,
        connection_password_file: conn.connection_password_file.clone(),
        become_enabled: priv_.become_enabled || cfg.become_enabled,
        become_method: priv_
            .become_method
            .clone()
            .unwrap_or_else(|| cfg.become_method.clone()),
        become_user: priv_
            .become_user
            .clone()
            .unwrap_or_else(|| cfg.become_user.clone()),
        ask_become_pass: priv_.ask_become_pass || cfg.become_ask_pass,
        become_password_file: priv_.become_password_file.clone(),
        module_path: c.module_path.clone(),
        profile_tasks: cfg.profile_tasks_enabled(),
        config: cfg.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::args::{parse_cli, Invocation};
    use std::ffi::OsString;

    fn pb(args: &[&str]) -> PlaybookArgs {
        let argv: Vec<OsString> = std::iter::once("yiqiu-play")
            .chain(args.iter().copied())
            .map(OsString::from)
            .collect();
        match parse_cli(argv).unwrap() {
            Invocation::Playbook(p) => p,
            other => panic!("{other:?}"),
        }
    }

    fn cfg() -> Config {
        Config::defaults(Some(Path::new("/home/u")), None)
    }

    #[test]
    fn tags_are_split_trimmed_and_default_to_all() {
        let o = resolve_in(
            &pb(&["-t", "a, b", "-t", "c,,a", "--skip-tags", " x ,y", "p.yml"]),
            &cfg(),
            Path::new("/w"),
            None,
        );
        assert_eq!(o.tags, ["a", "b", "c"]);
        assert_eq!(o.skip_tags, ["x", "y"]);
        let o = resolve_in(&pb(&["p.yml"]), &cfg(), Path::new("/w"), None);
        assert_eq!(o.tags, ["all"]);
        assert!(o.skip_tags.is_empty());
    }

    #[test]
    fn cli_beats_config() {
        let mut c = cfg();
        c.forks = 7;
        c.remote_user = Some("cfguser".into());
        c.timeout = 20;
        c.become_user = "admin".into();
        c.transport = "paramiko".into();
        c.inventory = vec!["/etc/cfg-hosts".into()];
        c.verbosity = 1;
        let o = resolve_in(
            &pb(&[
                "-f",
                "3",
                "-u",
                "cli",
                "-T",
                "5",
                "--become-user",
                "ops",
                "-c",
                "local",
                "-i",
                "inv",
                "-i",
                "h1,h2",
                "-vv",
                "p.yml",
            ]),
            &c,
            Path::new("/w"),
            Some(Path::new("/home/u")),
        );
        assert_eq!(o.forks, 3);
        assert_eq!(o.remote_user.as_deref(), Some("cli"));
        assert_eq!(o.timeout, 5);
        assert_eq!(o.become_user, "ops");
        assert_eq!(o.connection, "local");
        assert_eq!(o.inventory, ["/w/inv", "h1,h2"]);
        assert_eq!(o.verbosity, 3);

        let o = resolve_in(&pb(&["p.yml"]), &c, Path::new("/w"), None);
        assert_eq!(o.forks, 7);
        assert_eq!(o.remote_user.as_deref(), Some("cfguser"));
        assert_eq!(o.timeout, 20);
        assert_eq!(o.become_user, "admin");
        assert_eq!(o.connection, "paramiko");
        assert_eq!(o.inventory, ["/etc/cfg-hosts"]);
        assert_eq!(o.verbosity, 1);
    }

    #[test]
    fn flags_or_config_for_booleans_and_profile() {
        let mut c = cfg();
        let o = resolve_in(&pb(&["p.yml"]), &c, Path::new("/w"), None);
        assert!(!o.become_enabled && !o.force_handlers && !o.profile_tasks);
        let o = resolve_in(
            &pb(&["-b", "--force-handlers", "--profile", "p.yml"]),
            &c,
            Path::new("/w"),
            None,
        );
        assert!(o.become_enabled && o.force_handlers && o.profile_tasks);
        c.become_enabled = true;
        c.force_handlers = true;
        c.callbacks_enabled = vec!["ansible.posix.profile_tasks".into()];
        let o = resolve_in(&pb(&["p.yml"]), &c, Path::new("/w"), None);
        assert!(o.become_enabled && o.force_handlers && o.profile_tasks);
    }

    #[test]
    fn configured_tags_are_extended_by_cli() {
        let mut c = cfg();
        c.run_tags = vec!["a".into()];
        c.skip_tags = vec!["s".into()];
        c.diff_always = true;
        let o = resolve_in(&pb(&["-t", "b", "p.yml"]), &c, Path::new("/w"), None);
        assert_eq!(o.tags, ["a", "b"]);
        assert_eq!(o.skip_tags, ["s"]);
        assert!(o.diff);
    }

    #[test]
    fn unsupported_flags_warn() {
        let o = resolve_in(&pb(&["p.yml"]), &cfg(), Path::new("/w"), None);
        assert!(o.warnings().is_empty());
        let o = resolve_in(
            &pb(&["--step", "-M", "lib", "--flush-cache", "p.yml"]),
            &cfg(),
            Path::new("/w"),
            None,
        );
        // --flush-cache is supported (the jsonfile fact cache): no warning.
        let w = o.warnings();
        assert_eq!(w.len(), 2);
        assert!(w[0].contains("--step"));
    }

    #[test]
    fn private_key_from_cli_is_made_absolute() {
        let o = resolve_in(
            &pb(&["--private-key", "~/k", "p.yml"]),
            &cfg(),
            Path::new("/w"),
            Some(Path::new("/home/u")),
        );
        assert_eq!(o.private_key_file, Some(PathBuf::from("/home/u/k")));
    }
}
