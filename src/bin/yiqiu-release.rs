//! `yiqiu-release`: pack, publish and deploy components on the machine where it runs
//! (seed 003's `deploy-tool`). Host actions go through the same code the `component_*`
//! modules run over SSH, here with the local connection.

use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use yiqiu_play::cli::print::stdout_line;
use yiqiu_play::connection::local::LocalConnection;
use yiqiu_play::release::config::ReleaseConfig;
use yiqiu_play::release::deploy::{self, DeployRequest, Source};
use yiqiu_play::release::lock::LockOptions;
use yiqiu_play::release::manifest::Manifest;
use yiqiu_play::release::pack::{self, Compression, PackOptions};
use yiqiu_play::release::{health, links, publish, s3, version, ErrorKind, ReleaseError};

#[derive(Parser)]
#[command(
    name = "yiqiu-release",
    version,
    about = "Pack, publish and deploy versioned components"
)]
struct Cli {
    /// Print the result as JSON.
    #[arg(long, global = true)]
    json: bool,
    /// Print what each step does, as it happens.
    #[arg(short, long, global = true)]
    verbose: bool,
    /// Project file (default: .yiqiu-release.yaml here or in a parent directory).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Seconds to wait for another run holding the component lock.
    #[arg(long, global = true, default_value_t = 600)]
    lock_timeout: u64,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    Pack {
        src: Option<PathBuf>,
        #[arg(long = "type")]
        type_: String,
        #[arg(long)]
        version: String,
        #[arg(long)]
        dest: Option<PathBuf>,
        #[arg(long)]
        compression: Option<String>,
        #[arg(long)]
        exclude: Vec<String>,
    },
    Publish {
        manifest: PathBuf,
        #[arg(long)]
        target: Vec<String>,
        #[arg(long)]
        force: bool,
    },
    Deploy {
        #[arg(long = "type")]
        type_: String,
        #[arg(long)]
        version: String,
        #[arg(long)]
        root: Option<String>,
        #[arg(long = "from")]
        from: Vec<String>,
        #[arg(long)]
        no_switch: bool,
        /// Extra custom link PATH (points at <root>/links/<type>).
        #[arg(long)]
        link: Vec<String>,
        /// This component needs TYPE=VERSION of another component (kept by its cleanup).
        #[arg(long)]
        depends: Vec<String>,
    },
    Version {
        #[arg(value_parser = ["list", "switch", "rollback", "cleanup", "pin", "unpin"])]
        action: String,
        #[arg(long = "type")]
        type_: String,
        #[arg(long)]
        root: Option<String>,
        #[arg(long)]
        version: Option<String>,
        #[arg(long)]
        keep: Option<usize>,
        #[arg(long)]
        keep_days: Option<u64>,
        #[arg(long)]
        dry_run: bool,
    },
    Links {
        #[arg(value_parser = ["list", "verify", "repair"])]
        action: String,
        #[arg(long)]
        root: Option<String>,
    },
    Health {
        #[arg(long)]
        root: Option<String>,
        /// Versions to keep when counting cleanable ones.
        #[arg(long, default_value_t = 3)]
        keep: usize,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(code) => code,
        Err(e) => {
            if cli.json {
                stdout_line(&serde_json::json!({"failed": true, "msg": e.message}).to_string());
            }
            eprintln!("yiqiu-release: {e}");
            ExitCode::from(if e.kind == ErrorKind::Invalid { 2 } else { 1 })
        }
    }
}

fn config_path(cli: &Cli) -> Option<PathBuf> {
    match &cli.config {
        Some(p) => Some(p.clone()),
        None => std::env::current_dir()
            .ok()
            .and_then(|d| ReleaseConfig::find(&d)),
    }
}

fn load_config(cli: &Cli) -> Result<(ReleaseConfig, PathBuf), ReleaseError> {
    let path = match &cli.config {
        Some(p) => Some(p.clone()),
        None => std::env::current_dir()
            .ok()
            .and_then(|d| ReleaseConfig::find(&d)),
    };
    match path {
        Some(p) => {
            let dir = p.parent().map(Path::to_path_buf).unwrap_or_default();
            Ok((ReleaseConfig::load(&p)?, dir))
        }
        None => Ok((ReleaseConfig::default(), PathBuf::from("."))),
    }
}

fn abs(p: &str) -> String {
    std::path::absolute(p)
        .map(|a| a.display().to_string())
        .unwrap_or_else(|_| p.to_string())
}

fn root_of(arg: &Option<String>, cfg: &ReleaseConfig) -> Result<String, ReleaseError> {
    arg.clone()
        .or_else(|| cfg.deploy.root.clone())
        .map(|r| abs(&r))
        .ok_or_else(|| {
            ReleaseError::invalid("--root is required (or deploy.root in .yiqiu-release.yaml)")
        })
}

fn emit<T: serde::Serialize>(cli: &Cli, value: &T, human: String) {
    if cli.json {
        stdout_line(&serde_json::to_string_pretty(value).unwrap_or_default());
    } else {
        stdout_line(&human);
    }
}

fn lock_opts(cli: &Cli) -> LockOptions {
    LockOptions {
        holder_pid: Some(std::process::id()),
        timeout: std::time::Duration::from_secs(cli.lock_timeout),
        ..LockOptions::default()
    }
}

/// Turns a `--from` word into a source. Local paths are host paths (this machine is the host).
fn source_of(
    word: &str,
    cfg: &ReleaseConfig,
    type_: &str,
    version: &str,
    manifest: &mut Option<Manifest>,
) -> Result<Source, ReleaseError> {
    if let Some(t) = cfg.target(word) {
        if t.type_ == "s3" {
            // The layout publish wrote: <prefix>/<type>/<version>/<type>-<version>.manifest.json.
            let prefix = t.prefix.as_deref().unwrap_or("").trim_matches('/');
            let key = format!("{type_}/{version}/{}", Manifest::file_name(type_, version));
            let key = if prefix.is_empty() {
                key
            } else {
                format!("{prefix}/{key}")
            };
            let bucket = t.bucket.as_deref().unwrap_or_default();
            return source_of(
                &format!("s3://{bucket}/{key}"),
                cfg,
                type_,
                version,
                manifest,
            );
        }
        return Ok(Source::Dir(abs(t.path.as_deref().unwrap_or("."))));
    }
    if let Some((bucket, key)) = s3::parse_s3_url(word) {
        let t = cfg
            .publish
            .targets
            .iter()
            .find(|t| t.type_ == "s3" && t.bucket.as_deref() == Some(bucket.as_str()));
        let endpoint = t
            .and_then(|t| t.endpoint.clone())
            .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok())
            .ok_or_else(|| {
                ReleaseError::invalid(format!(
                    "{word}: no s3 target for bucket {bucket} and AWS_ENDPOINT_URL is not set"
                ))
            })?;
        let creds = s3::Credentials::load(t.and_then(|t| t.profile.as_deref()))?;
        let client = s3::S3Client::new(&endpoint, t.and_then(|t| t.region.as_deref()), creds)?;
        // The manifest is read here, on the controller, with the credentials; the host gets
        // only a presigned URL of the package, valid for an hour.
        let dir = key
            .rsplit_once('/')
            .map(|(d, _)| format!("{d}/"))
            .unwrap_or_default();
        let mkey = if key.ends_with(".json") {
            key.clone()
        } else {
            format!("{dir}{}", Manifest::file_name(type_, version))
        };
        let m = match manifest.as_ref() {
            Some(m) => m.clone(),
            None => Manifest::parse(
                &client.get_object(&bucket, &mkey)?,
                &format!("s3://{bucket}/{mkey}"),
            )?,
        };
        let pkey = if key.ends_with(".json") {
            format!("{dir}{}", m.package.file)
        } else {
            key.clone()
        };
        *manifest = Some(m);
        return Ok(Source::Url(client.presign_get(
            &bucket,
            &pkey,
            std::time::Duration::from_secs(3600),
            std::time::SystemTime::now(),
        )));
    }
    if word.starts_with("http://") || word.starts_with("https://") {
        return Ok(Source::Url(word.to_string()));
    }
    let path = abs(word.strip_prefix("file://").unwrap_or(word));
    if !Path::new(&path).exists() {
        return Err(ReleaseError::invalid(format!(
            "--from {word}: {path} does not exist (give a package, a manifest, a directory, an http(s) URL or a publish target name)"
        )));
    }
    if Path::new(&path).is_dir() {
        Ok(Source::Dir(path))
    } else if path.ends_with(".json") {
        Ok(Source::Manifest(path))
    } else {
        Ok(Source::Package(path))
    }
}

fn run(cli: &Cli) -> Result<ExitCode, ReleaseError> {
    let (cfg, cfg_dir) = load_config(cli)?;
    let mut conn = LocalConnection;
    match &cli.cmd {
        Cmd::Pack {
            src,
            type_,
            version,
            dest,
            compression,
            exclude,
        } => {
            let src = match src {
                Some(s) => s.clone(),
                None => cfg
                    .components
                    .get(type_)
                    .and_then(|c| c.source.as_ref())
                    .map(|s| cfg_dir.join(s))
                    .ok_or_else(|| {
                        ReleaseError::invalid(format!(
                            "SRC is required (no components.{type_}.source in the config)"
                        ))
                    })?,
            };
            let compression = Compression::parse(
                compression
                    .as_deref()
                    .or(cfg.pack.compression.as_deref())
                    .unwrap_or("gzip"),
            )?;
            let mut excludes = cfg.pack.excludes.clone();
            excludes.extend(exclude.iter().cloned());
            let dest = dest
                .clone()
                .or_else(|| cfg.pack.dest.as_ref().map(PathBuf::from))
                .unwrap_or_else(|| PathBuf::from("dist"));
            let r = pack::pack(&PackOptions {
                src,
                component: type_.clone(),
                version: version.clone(),
                dest,
                compression,
                excludes,
                level: cfg.pack.level,
            })?;
            let human = format!(
                "{}: {} ({} bytes, sha256 {})",
                if r.changed { "changed" } else { "ok" },
                r.package.display(),
                r.manifest.package.size,
                r.manifest.package.checksum.value
            );
            emit(cli, &r, human);
        }
        Cmd::Publish {
            manifest,
            target,
            force,
        } => {
            let targets: Vec<_> = if target.is_empty() {
                cfg.publish.targets.clone()
            } else {
                target
                    .iter()
                    .map(|n| {
                        cfg.target(n).cloned().ok_or_else(|| {
                            ReleaseError::invalid(format!(
                                "no publish target named {n:?} in the config"
                            ))
                        })
                    })
                    .collect::<Result<_, _>>()?
            };
            let r = publish::publish(manifest, &targets, *force)?;
            let human = r
                .targets
                .iter()
                .map(|t| format!("{}: {}", if t.changed { "changed" } else { "ok" }, t.name))
                .collect::<Vec<_>>()
                .join("\n");
            emit(cli, &r, human);
        }
        Cmd::Deploy {
            type_,
            version,
            root,
            from,
            no_switch,
            link,
            depends,
        } => {
            let root = root_of(root, &cfg)?;
            let words: Vec<String> = if from.is_empty() {
                cfg.deploy.sources.clone()
            } else {
                from.clone()
            };
            let mut manifest = None;
            let sources = words
                .iter()
                .map(|w| source_of(w, &cfg, type_, version, &mut manifest))
                .collect::<Result<Vec<_>, _>>()?;
            let mut req = DeployRequest::new(&root, type_, version, sources);
            req.manifest = manifest;
            req.switch = !no_switch;
            req.lock = lock_opts(cli);
            req.custom_links = cfg
                .deploy
                .custom_links
                .iter()
                .filter(|(_, t)| *t == type_ || t.ends_with(&format!("/links/{type_}")))
                .map(|(p, _)| p.clone())
                .collect();
            req.custom_links.extend(link.iter().cloned());
            req.depends = cfg
                .components
                .get(type_)
                .map(|c| c.depends.clone())
                .unwrap_or_default();
            for d in depends {
                let (t, v) = d.split_once('=').ok_or_else(|| {
                    ReleaseError::invalid(format!("--depends {d:?}: use TYPE=VERSION"))
                })?;
                req.depends.insert(t.to_string(), v.to_string());
            }
            let r = deploy::deploy(&mut conn, &req)?;
            if cli.verbose {
                for l in &r.log {
                    eprintln!("{l}");
                }
            }
            let human = format!(
                "{}: {} {} (current: {})",
                if r.changed { "changed" } else { "ok" },
                r.component,
                r.version,
                r.current.as_deref().unwrap_or("-")
            );
            emit(cli, &r, human);
        }
        Cmd::Version {
            action,
            type_,
            root,
            version,
            keep,
            keep_days,
            dry_run,
        } => {
            let root = root_of(root, &cfg)?;
            let need_version = || {
                version.clone().ok_or_else(|| {
                    ReleaseError::invalid(format!("version {action} needs --version"))
                })
            };
            match action.as_str() {
                "list" => {
                    let l = version::list(&mut conn, &root, type_)?;
                    let human = l
                        .versions
                        .iter()
                        .map(|v| {
                            let mut tags = Vec::new();
                            if v.current {
                                tags.push("current".to_string())
                            }
                            if v.previous {
                                tags.push("previous".to_string())
                            }
                            if v.pinned {
                                tags.push("pinned".to_string())
                            }
                            if !v.required_by.is_empty() {
                                tags.push(format!("required by {}", v.required_by.join(",")))
                            }
                            format!("{}\t{}K\t{}", v.version, v.size_kb, tags.join(" "))
                        })
                        .collect::<Vec<_>>()
                        .join("\n");
                    emit(cli, &l, human);
                }
                "switch" | "rollback" => {
                    let r = if action == "switch" {
                        version::switch(&mut conn, &root, type_, &need_version()?, &lock_opts(cli))?
                    } else {
                        version::rollback(&mut conn, &root, type_, &lock_opts(cli))?
                    };
                    let mut human = format!(
                        "{}: {} current -> {}",
                        if r.changed { "changed" } else { "ok" },
                        r.component,
                        r.current
                    );
                    if action == "rollback" {
                        if let Some(from) = &r.previous {
                            human.push_str(&format!(
                                " (rolled back from {from}: {} is the version that was current before it; rolling back again returns to {from})",
                                r.current
                            ));
                        }
                    }
                    emit(cli, &r, human);
                }
                "cleanup" => {
                    let r = version::cleanup(
                        &mut conn,
                        &root,
                        type_,
                        *keep,
                        *keep_days,
                        *dry_run,
                        &lock_opts(cli),
                    )?;
                    let human = if keep.is_none() && keep_days.is_none() {
                        format!(
                            "ok: no --keep or --keep-days given, so every version is kept: [{}]. \
                             --keep N keeps the N newest, --keep-days D those deployed in the last D days; \
                             current, previous, pinned and required versions are always kept.",
                            r.kept.join(", ")
                        )
                    } else {
                        format!(
                            "{}: {} [{}], kept [{}]",
                            if r.changed { "changed" } else { "ok" },
                            if *dry_run { "would remove" } else { "removed" },
                            r.removed.join(", "),
                            r.kept.join(", ")
                        )
                    };
                    emit(cli, &r, human);
                }
                _ => {
                    let v = need_version()?;
                    let changed = version::pin(
                        &mut conn,
                        &root,
                        type_,
                        &v,
                        action == "pin",
                        &lock_opts(cli),
                    )?;
                    emit(
                        cli,
                        &serde_json::json!({"changed": changed, "version": v, "action": action}),
                        format!(
                            "{}: {action} {type_} {v}",
                            if changed { "changed" } else { "ok" }
                        ),
                    );
                }
            }
        }
        Cmd::Links { action, root } => {
            let root = root_of(root, &cfg)?;
            match action.as_str() {
                "list" => {
                    let l = links::list(&mut conn, &root)?;
                    let human = l
                        .iter()
                        .map(|s| {
                            format!(
                                "{}\t-> {}\t{}",
                                s.path,
                                s.actual.as_deref().unwrap_or("-"),
                                s.status
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("\n");
                    emit(cli, &l, human);
                }
                "verify" => {
                    let bad = links::verify(&mut conn, &root)?;
                    // Each broken link with what it should point at.
                    let explain = |s: &links::LinkStatus| match &s.actual {
                        Some(actual) => format!(
                            "{} {}: points at {actual}, expected {}",
                            s.path, s.status, s.expected
                        ),
                        None => {
                            format!("{} {}: expected a link to {}", s.path, s.status, s.expected)
                        }
                    };
                    let human = if bad.is_empty() {
                        "ok: all links valid".to_string()
                    } else {
                        bad.iter().map(explain).collect::<Vec<_>>().join("\n")
                    };
                    emit(cli, &bad, human);
                    if !bad.is_empty() {
                        return Err(ReleaseError::new(
                            ErrorKind::Refused,
                            format!(
                                "{} broken link(s); `yiqiu-release links repair --root {root}` recreates them",
                                bad.len()
                            ),
                        ));
                    }
                }
                _ => {
                    let r = links::repair(&mut conn, &root)?;
                    let human = format!(
                        "{}: repaired [{}]",
                        if r.changed { "changed" } else { "ok" },
                        r.repaired.join(", ")
                    );
                    emit(cli, &r, human);
                    if !r.remaining.is_empty() {
                        return Err(ReleaseError::new(
                            ErrorKind::Refused,
                            format!("{} link(s) could not be repaired", r.remaining.len()),
                        ));
                    }
                }
            }
        }
        Cmd::Health { root, keep } => {
            let root = root_of(root, &cfg)?;
            let mut r = health::health(&mut conn, &root, *keep)?;
            // The config parsed (or this command would have failed before here).
            r.checks.push(health::Check {
                name: "config".into(),
                status: "ok".into(),
                detail: match config_path(cli) {
                    Some(p) => format!("{} is valid", p.display()),
                    None => format!(
                        "no {} found (defaults)",
                        yiqiu_play::release::config::FILE_NAME
                    ),
                },
            });
            let human = r
                .checks
                .iter()
                .map(|c| format!("{}\t{}\t{}", c.status, c.name, c.detail))
                .collect::<Vec<_>>()
                .join("\n");
            emit(cli, &r, human);
            if !r.healthy {
                return Err(ReleaseError::new(
                    ErrorKind::Refused,
                    "unhealthy: see the failed checks",
                ));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
