//! From argv to exit code: parse flags, read ansible.cfg, load inventory and playbooks (all of
//! them before anything runs), then list or run.

use super::{
    load_config, load_extra_vars, parse_cli, resolve, resolve_adhoc, version_text, Invocation,
    Options,
};
use crate::error::{Error, Result};
use crate::executor::listing::{self, ListMode};
use crate::executor::state::RunOptions;
use crate::executor::{load_playbooks, run_playbooks};
use crate::inventory::{Inventory, UnparsedPolicy, WARN_NO_INVENTORY};
use crate::playbook::tags::TagFilter;
use crate::playbook::Loader;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Runs the command line; returns the process exit code.
pub fn main_with_args(argv: Vec<OsString>) -> i32 {
    init_tracing();
    let invocation = match parse_cli(argv) {
        Ok(i) => i,
        Err(e) => {
            let code = e.exit_code();
            let _ = e.print();
            return code;
        }
    };
    match run(invocation) {
        Ok(code) => code,
        Err(e) => {
            eprint!("{}", e.report());
            e.exit_code()
        }
    }
}

fn init_tracing() {
    // YIQIU_LOG=debug shows internals; -v levels are the callback's business.
    let filter = tracing_subscriber::EnvFilter::try_from_env("YIQIU_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let fmt = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // YIQIU_LOG_TIME=1 stamps each line with the time since start (for profiling a run).
    let _ = match std::env::var_os("YIQIU_LOG_TIME") {
        Some(_) => fmt
            .with_timer(tracing_subscriber::fmt::time::uptime())
            .try_init(),
        None => fmt.without_time().try_init(),
    };
}

fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

fn run(invocation: Invocation) -> Result<i32> {
    let cwd =
        std::env::current_dir().map_err(|e| Error::other(format!("no current directory: {e}")))?;
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let (cfg, cfg_file) = load_config(&env_var, &cwd, home.as_deref())?;
    crate::template::conditional::set_allow_broken_conditionals(cfg.allow_broken_conditionals);
    crate::vars::combine::set_hash_merge(cfg.hash_merge);
    match invocation {
        Invocation::Playbook(args) => {
            if args.common.version {
                super::print::stdout_line(&version_text(cfg_file.as_deref()));
                return Ok(0);
            }
            let opts = resolve(&args, &cfg);
            open_log(&cfg, opts.verbosity);
            filter_modules(&cfg)?;
            for w in opts.warnings() {
                eprintln!("[WARNING]: {w}");
            }
            super::vault_setup::install_run_secrets(&args.common.vault, &cfg)?;
            say_config_file(opts.verbosity, cfg_file.as_deref());
            run_playbook_mode(&opts, &cwd)
        }
        Invocation::Adhoc(args) => {
            if args.common.version {
                super::print::stdout_line(&version_text(cfg_file.as_deref()));
                return Ok(0);
            }
            let opts = resolve_adhoc(&args, &cfg);
            open_log(&cfg, opts.verbosity);
            filter_modules(&cfg)?;
            for w in opts.warnings() {
                eprintln!("[WARNING]: {w}");
            }
            super::vault_setup::install_run_secrets(&args.common.vault, &cfg)?;
            say_config_file(opts.verbosity, cfg_file.as_deref());
            super::adhoc_run::run_adhoc(&args, &opts, &cwd)
        }
        Invocation::Inventory(args) => {
            super::vault_setup::install_run_secrets(&args.vault, &cfg)?;
            super::inventory_cmd::run_inventory(&args, &cfg, &cwd)
        }
        Invocation::Vault(args) => super::vault_cmd::run_vault(&args, &cfg),
        Invocation::Topology(t) => {
            let opts = resolve(&t.playbook, &cfg);
            super::vault_setup::install_run_secrets(&t.playbook.common.vault, &cfg)?;
            super::topology_cmd::run_topology(&t, opts, &cwd)
        }
    }
}

/// Applies the module reject list of `plugin_filters_cfg` before anything loads.
fn filter_modules(cfg: &super::config::Config) -> Result<()> {
    let (names, warnings) = super::plugin_filters::load(cfg.plugin_filters_cfg.as_deref())?;
    for w in warnings {
        eprintln!("[WARNING]: {w}");
    }
    crate::modules::registry::reject(names);
    Ok(())
}

/// Starts the log file when `log_path` is set; a path that cannot be written is a warning.
fn open_log(cfg: &super::config::Config, verbosity: u8) {
    let Some(path) = &cfg.log_path else {
        return;
    };
    let level = cfg.log_verbosity.map_or(verbosity, |l| l.max(verbosity));
    if let Err(w) = crate::output::log_file::open(path, level) {
        eprintln!("[WARNING]: {w}");
    }
}

/// At -v, which ansible.cfg is used (the line every ansible CLI prints first).
fn say_config_file(verbosity: u8, cfg_file: Option<&Path>) {
    if verbosity >= 1 {
        super::print::stdout_line(&match cfg_file {
            Some(p) => format!("Using {} as config file", p.display()),
            None => "No config file found; using defaults".to_string(),
        });
    }
}

/// Turns the resolved CLI options into the executor's options.
pub fn run_options(opts: &Options, cwd: &Path) -> Result<RunOptions> {
    let extra_vars = load_extra_vars(&opts.extra_vars, cwd)?;
    let tags: Vec<String> = opts
        .tags
        .iter()
        .filter(|t| t.as_str() != "all")
        .cloned()
        .collect();
    let tags = if opts.tags.iter().any(|t| t == "all") && tags.is_empty() {
        Vec::new()
    } else if opts.tags.iter().any(|t| t == "all") {
        opts.tags.clone()
    } else {
        tags
    };
    Ok(RunOptions {
        inventory: opts.inventory.iter().map(PathBuf::from).collect(),
        extra_vars,
        tags,
        skip_tags: opts.skip_tags.clone(),
        limit: opts.limit.clone(),
        forks: opts.forks as usize,
        check: opts.check,
        diff: opts.diff,
        verbosity: opts.verbosity,
        start_at_task: opts.start_at_task.clone(),
        remote_user: opts.remote_user.clone(),
        connection: Some(opts.connection.clone())
            .filter(|c| !c.is_empty() && c != "smart" && c != "ssh"),
        become_: opts.become_enabled,
        become_user: Some(opts.become_user.clone()),
        become_method: Some(opts.become_method.clone()),
        become_password: None,
        timeout: opts.timeout,
        gathering: format!("{:?}", opts.config.gathering).to_lowercase(),
        force_handlers: opts.force_handlers || opts.config.force_handlers,
        error_on_missing_handler: opts.config.error_on_missing_handler,
        roles_path: opts.config.roles_path.clone(),
        private_key_file: opts
            .private_key_file
            .as_ref()
            .map(|p| p.display().to_string()),
        host_key_checking: opts.config.host_key_checking,
        display_skipped_hosts: opts.config.display_skipped_hosts,
        deprecation_warnings: opts.config.deprecation_warnings,
        display_ok_hosts: opts.config.display_ok_hosts,
        show_custom_stats: opts.config.show_custom_stats,
        ssh_args: opts.ssh_args.clone(),
        ssh_common_args: opts.ssh_common_args.clone(),
        ssh_extra_args: opts.ssh_extra_args.clone(),
        inventory_unparsed: opts.config.inventory_unparsed,
        inventory_settings: opts.config.inventory_settings.clone(),
        fact_cache: crate::executor::fact_cache::FactCacheSettings {
            flush: opts.flush_cache,
            ..opts.config.fact_cache.clone()
        },
    })
}

/// Loads the inventory sources; warns like Ansible when only the implicit localhost is left.
pub fn load_inventory(run: &RunOptions) -> Result<Inventory> {
    load_inventory_with(
        &run.inventory,
        run.inventory_unparsed,
        &run.inventory_settings,
        run.verbosity,
    )
}

/// [`load_inventory`] for any command: sources that cannot be parsed are warnings, or the
/// error `unparsed_is_failed` / `any_unparsed_is_failed` ask for.
pub fn load_inventory_with(
    sources: &[PathBuf],
    policy: UnparsedPolicy,
    settings: &crate::inventory::LoadSettings,
    verbosity: u8,
) -> Result<Inventory> {
    let inv = Inventory::load_with(sources, settings)?;
    for (level, msg) in &inv.verbose {
        if verbosity >= *level {
            println!("{msg}");
        }
    }
    for w in inv.load_warnings() {
        // With unparsed_is_failed, Ansible raises instead of this warning.
        if !(policy.all_failed && w == WARN_NO_INVENTORY) {
            eprintln!("[WARNING]: {w}");
        }
    }
    inv.check_unparsed(policy)?;
    Ok(inv)
}

fn run_playbook_mode(opts: &Options, cwd: &Path) -> Result<i32> {
    run_playbook_with(opts, cwd, None)
}

/// The playbook run; `quiet_callback` replaces the stdout callback (`yiqiu-play topology`).
pub fn run_playbook_with(
    opts: &Options,
    cwd: &Path,
    quiet_callback: Option<Box<dyn crate::output::Callback>>,
) -> Result<i32> {
    let run = run_options(opts, cwd)?;
    let loader = Loader::new(run.roles_path.clone()).with_load_vars(run.extra_vars.clone());
    let playbook_paths: Vec<PathBuf> = opts.playbooks.iter().map(|p| cwd.join(p)).collect();
    let inventory = load_inventory(&run)?;
    // Every playbook is parsed before anything runs: a bad file changes nothing.
    let playbooks = load_playbooks(&loader, &playbook_paths)?;
    let mode = if opts.syntax_check {
        Some(ListMode::SyntaxCheck)
    } else if opts.list_hosts {
        Some(ListMode::Hosts)
    } else if opts.list_tasks {
        Some(ListMode::Tasks)
    } else if opts.list_tags {
        Some(ListMode::Tags)
    } else {
        None
    };
    if let Some(mode) = mode {
        let filter = TagFilter::new(run.tags.clone(), run.skip_tags.clone());
        for (pb, path) in playbooks.iter().zip(&opts.playbooks) {
            let mut shown = pb.clone();
            shown.path = path.clone();
            super::print::stdout(&listing::list(
                mode,
                &shown,
                &inventory,
                run.limit.as_deref(),
                &filter,
                &run.extra_vars,
            )?);
        }
        return Ok(0);
    }
    let color = if opts.config.force_color {
        Some(true)
    } else if opts.config.nocolor {
        Some(false)
    } else {
        None
    };
    let callback = match quiet_callback {
        Some(cb) => cb,
        None => crate::output::make_callback(
            &opts.config.stdout_callback,
            opts.profile_tasks,
            color,
            run.verbosity,
        )
        .map_err(Error::cli)?,
    };
    let started = std::time::Instant::now();
    let code = run_playbooks(run, inventory, &playbooks, &loader, callback.as_ref())?;
    // profile_tasks' table already ends with the timer's line.
    if opts.config.timer_enabled() && !opts.profile_tasks {
        // ansible.posix 2.x's timer: its own banner, then the line ending in "\n\r".
        let banner = crate::output::banner::banner(
            "PLAYBOOK RECAP",
            crate::output::banner::display_columns(),
        );
        let line = crate::output::profile::timer_line(started.elapsed().as_secs());
        print!("{banner}\n{line}\r\n");
    }
    Ok(code)
}
