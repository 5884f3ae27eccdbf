//! `pack`: tar the contents of a directory into a reproducible, compressed package and write
//! its manifest. The sha256 is computed from the compressed bytes as they are written (one
//! pass), so packing a large model directory reads it once.

use super::manifest::{Checksum, ComponentInfo, Manifest, Metadata, PackageInfo, PACK_VERSION};
use super::{check_name, ReleaseError, Result};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// Excluded unless the user says otherwise: caches and VCS data never belong in a release.
pub const DEFAULT_EXCLUDES: &[&str] = &["__pycache__", "*.pyc", ".git"];

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Compression {
    #[default]
    Gzip,
    Xz,
    Bzip2,
    Zstd,
}

impl Compression {
    pub fn parse(s: &str) -> Result<Compression> {
        match s {
            "gzip" | "gz" => Ok(Compression::Gzip),
            "xz" => Ok(Compression::Xz),
            "bzip2" | "bz2" => Ok(Compression::Bzip2),
            "zstd" | "zst" => Ok(Compression::Zstd),
            other => Err(ReleaseError::invalid(format!(
                "unknown compression {other:?}: use gzip, xz, bzip2 or zstd"
            ))),
        }
    }
    /// The manifest's `package.algorithm`.
    pub fn name(self) -> &'static str {
        match self {
            Compression::Gzip => "gzip",
            Compression::Xz => "xz",
            Compression::Bzip2 => "bzip2",
            Compression::Zstd => "zstd",
        }
    }
    pub fn extension(self) -> &'static str {
        match self {
            Compression::Gzip => "tar.gz",
            Compression::Xz => "tar.xz",
            Compression::Bzip2 => "tar.bz2",
            Compression::Zstd => "tar.zst",
        }
    }
    /// From a package file name, for packages that come without a manifest.
    pub fn from_file_name(name: &str) -> Option<Compression> {
        [
            Compression::Gzip,
            Compression::Xz,
            Compression::Bzip2,
            Compression::Zstd,
        ]
        .into_iter()
        .find(|c| name.ends_with(&format!(".{}", c.extension())))
        .or_else(|| name.ends_with(".tgz").then_some(Compression::Gzip))
    }
    /// The shell command that decompresses stdin to stdout on a host.
    pub fn decompress_cmd(self) -> &'static str {
        match self {
            Compression::Gzip => "gzip -dc",
            Compression::Xz => "xz -dc",
            Compression::Bzip2 => "bzip2 -dc",
            Compression::Zstd => "zstd -dcq",
        }
    }
}

#[derive(Clone, Debug)]
pub struct PackOptions {
    pub src: PathBuf,
    pub component: String,
    pub version: String,
    pub dest: PathBuf,
    pub compression: Compression,
    /// Glob patterns matched against each entry's name and its path relative to `src`.
    /// `DEFAULT_EXCLUDES` are always added.
    pub excludes: Vec<String>,
    /// Compression level; `None` takes each algorithm's default.
    pub level: Option<u32>,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct PackReport {
    pub package: PathBuf,
    pub manifest_path: PathBuf,
    pub manifest: Manifest,
    pub files: u64,
    pub changed: bool,
}

/// Counts and hashes the bytes that reach the file.
pub struct HashWriter<W: Write> {
    inner: W,
    hasher: Sha256,
    written: u64,
}

impl<W: Write> HashWriter<W> {
    pub fn new(inner: W) -> Self {
        HashWriter {
            inner,
            hasher: Sha256::new(),
            written: 0,
        }
    }
    pub fn finish(self) -> (W, String, u64) {
        (
            self.inner,
            format!("{:x}", self.hasher.finalize()),
            self.written,
        )
    }
}

impl<W: Write> Write for HashWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

type Sink = HashWriter<BufWriter<File>>;

enum Encoder {
    Gzip(flate2::write::GzEncoder<Sink>),
    Xz(liblzma::write::XzEncoder<Sink>),
    Bzip2(bzip2::write::BzEncoder<Sink>),
    Zstd(zstd::stream::write::Encoder<'static, Sink>),
}

impl Encoder {
    fn new(c: Compression, level: Option<u32>, sink: Sink) -> io::Result<Encoder> {
        Ok(match c {
            // GzBuilder writes mtime 0 and no file name: the header does not depend on the clock.
            Compression::Gzip => Encoder::Gzip(
                flate2::GzBuilder::new()
                    .mtime(0)
                    .write(sink, flate2::Compression::new(level.unwrap_or(6).min(9))),
            ),
            Compression::Xz => Encoder::Xz(liblzma::write::XzEncoder::new(
                sink,
                level.unwrap_or(6).min(9),
            )),
            Compression::Bzip2 => Encoder::Bzip2(bzip2::write::BzEncoder::new(
                sink,
                bzip2::Compression::new(level.unwrap_or(9).clamp(1, 9)),
            )),
            Compression::Zstd => Encoder::Zstd(zstd::stream::write::Encoder::new(
                sink,
                level.unwrap_or(3).min(19) as i32,
            )?),
        })
    }
    fn finish(self) -> io::Result<Sink> {
        match self {
            Encoder::Gzip(e) => e.finish(),
            Encoder::Xz(e) => e.finish(),
            Encoder::Bzip2(e) => e.finish(),
            Encoder::Zstd(e) => e.finish(),
        }
    }
}

impl Write for Encoder {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Encoder::Gzip(e) => e.write(buf),
            Encoder::Xz(e) => e.write(buf),
            Encoder::Bzip2(e) => e.write(buf),
            Encoder::Zstd(e) => e.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Encoder::Gzip(e) => e.flush(),
            Encoder::Xz(e) => e.flush(),
            Encoder::Bzip2(e) => e.flush(),
            Encoder::Zstd(e) => e.flush(),
        }
    }
}

/// Compiled exclude patterns.
pub struct Excludes(Vec<glob::Pattern>);

impl Excludes {
    pub fn new(extra: &[String]) -> Result<Excludes> {
        let mut pats = Vec::new();
        for p in DEFAULT_EXCLUDES
            .iter()
            .map(|s| s.to_string())
            .chain(extra.iter().cloned())
        {
            let pat = glob::Pattern::new(p.trim_end_matches('/'))
                .map_err(|e| ReleaseError::invalid(format!("bad exclude pattern {p:?}: {e}")))?;
            pats.push(pat);
        }
        Ok(Excludes(pats))
    }
    /// `rel` uses '/' separators; a pattern matches the base name or the whole relative path.
    pub fn matches(&self, rel: &str) -> bool {
        let base = rel.rsplit('/').next().unwrap_or(rel);
        self.0.iter().any(|p| p.matches(base) || p.matches(rel))
    }
}

/// Lists entries under `dir` depth-first in byte order of names, skipping excluded ones.
/// Sorting makes the archive independent of directory order on disk.
fn walk(root: &Path, rel: &str, ex: &Excludes, out: &mut Vec<String>) -> Result<()> {
    let dir = if rel.is_empty() {
        root.to_path_buf()
    } else {
        root.join(rel)
    };
    let rd = std::fs::read_dir(&dir)
        .map_err(|e| ReleaseError::io(format!("cannot read {}: {e}", dir.display())))?;
    let mut names = Vec::new();
    for ent in rd {
        let ent = ent.map_err(|e| ReleaseError::io(format!("{}: {e}", dir.display())))?;
        let name = ent.file_name().into_string().map_err(|n| {
            ReleaseError::invalid(format!("{}: file name {n:?} is not UTF-8", dir.display()))
        })?;
        names.push(name);
    }
    names.sort();
    for name in names {
        let r = if rel.is_empty() {
            name
        } else {
            format!("{rel}/{name}")
        };
        if ex.matches(&r) {
            continue;
        }
        let meta = std::fs::symlink_metadata(root.join(&r))
            .map_err(|e| ReleaseError::io(format!("{r}: {e}")))?;
        out.push(r.clone());
        if meta.is_dir() {
            walk(root, &r, ex, out)?;
        }
    }
    Ok(())
}

fn header_for(meta: &std::fs::Metadata) -> tar::Header {
    use std::os::unix::fs::MetadataExt;
    let mut h = tar::Header::new_gnu();
    h.set_mode(meta.mode() & 0o7777);
    h.set_mtime(meta.mtime().max(0) as u64);
    // Owners normalized: the archive must not depend on who packed it.
    h.set_uid(0);
    h.set_gid(0);
    let _ = h.set_username("");
    let _ = h.set_groupname("");
    h
}

/// Packs `opts.src` and writes the package and its manifest into `opts.dest`.
pub fn pack(opts: &PackOptions) -> Result<PackReport> {
    check_name("component type", &opts.component)?;
    check_name("version", &opts.version)?;
    let src_meta = std::fs::metadata(&opts.src)
        .map_err(|e| ReleaseError::not_found(format!("{}: {e}", opts.src.display())))?;
    if !src_meta.is_dir() {
        return Err(ReleaseError::invalid(format!(
            "{} is not a directory",
            opts.src.display()
        )));
    }
    let ex = Excludes::new(&opts.excludes)?;
    let mut entries = Vec::new();
    walk(&opts.src, "", &ex, &mut entries)?;

    std::fs::create_dir_all(&opts.dest)
        .map_err(|e| ReleaseError::io(format!("cannot create {}: {e}", opts.dest.display())))?;
    let file_name = format!(
        "{}-{}.{}",
        opts.component,
        opts.version,
        opts.compression.extension()
    );
    let package = opts.dest.join(&file_name);
    let tmp = opts
        .dest
        .join(format!(".{file_name}.tmp-{}", std::process::id()));
    let result = write_archive(opts, &entries, &tmp);
    let (checksum, size, files) = match result {
        Ok(v) => v,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    // Unchanged when an identical package is already there (same bytes, same checksum).
    let old_manifest_path = opts
        .dest
        .join(Manifest::file_name(&opts.component, &opts.version));
    let previous = Manifest::load(&old_manifest_path).ok();
    let unchanged = previous.as_ref().is_some_and(|m| {
        m.package.checksum.value == checksum && m.package.file == file_name && package.is_file()
    });
    std::fs::rename(&tmp, &package).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        ReleaseError::io(format!("cannot write {}: {e}", package.display()))
    })?;
    if let (true, Some(m)) = (unchanged, previous) {
        return Ok(PackReport {
            package,
            manifest_path: old_manifest_path,
            manifest: m,
            files,
            changed: false,
        });
    }
    let manifest = Manifest {
        component: ComponentInfo {
            type_: opts.component.clone(),
            version: opts.version.clone(),
            created_at: super::now_rfc3339(),
        },
        package: PackageInfo {
            file: file_name,
            size,
            algorithm: opts.compression.name().to_string(),
            checksum: Checksum {
                algorithm: "sha256".into(),
                value: checksum,
            },
        },
        metadata: Metadata {
            source_path: opts.src.display().to_string(),
            pack_version: PACK_VERSION.to_string(),
        },
    };
    write_atomic(&old_manifest_path, manifest.to_json_pretty().as_bytes())?;
    Ok(PackReport {
        package,
        manifest_path: old_manifest_path,
        manifest,
        files,
        changed: true,
    })
}

/// Writes `data` to `path` through a temp file and rename, so readers never see half a file.
pub fn write_atomic(path: &Path, data: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    std::fs::write(&tmp, data)
        .and_then(|_| std::fs::rename(&tmp, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            ReleaseError::io(format!("cannot write {}: {e}", path.display()))
        })
}

fn write_archive(opts: &PackOptions, entries: &[String], tmp: &Path) -> Result<(String, u64, u64)> {
    let ioerr = |e: io::Error| ReleaseError::io(format!("writing {}: {e}", tmp.display()));
    let file = File::create(tmp).map_err(ioerr)?;
    let sink = HashWriter::new(BufWriter::with_capacity(1 << 20, file));
    let enc = Encoder::new(opts.compression, opts.level, sink).map_err(ioerr)?;
    let mut builder = tar::Builder::new(enc);
    let mut files = 0u64;
    for rel in entries {
        let path = opts.src.join(rel);
        let meta = std::fs::symlink_metadata(&path)
            .map_err(|e| ReleaseError::io(format!("{}: {e}", path.display())))?;
        let ft = meta.file_type();
        let mut h = header_for(&meta);
        let entry_err = |e: io::Error| ReleaseError::io(format!("packing {rel}: {e}"));
        if ft.is_dir() {
            h.set_entry_type(tar::EntryType::Directory);
            h.set_size(0);
            builder
                .append_data(&mut h, format!("{rel}/"), io::empty())
                .map_err(entry_err)?;
        } else if ft.is_symlink() {
            let target = std::fs::read_link(&path).map_err(entry_err)?;
            h.set_entry_type(tar::EntryType::Symlink);
            h.set_size(0);
            builder
                .append_link(&mut h, rel, &target)
                .map_err(entry_err)?;
        } else if ft.is_file() {
            h.set_entry_type(tar::EntryType::Regular);
            h.set_size(meta.len());
            let f = File::open(&path).map_err(entry_err)?;
            builder.append_data(&mut h, rel, f).map_err(entry_err)?;
            files += 1;
        } else {
            // Sockets, fifos and devices have no place in a component and would be refused
            // at deploy time anyway.
            return Err(ReleaseError::refused(format!(
                "{}: special files (fifo, socket, device) cannot be packed",
                path.display()
            )));
        }
    }
    let enc = builder.into_inner().map_err(ioerr)?;
    let sink = enc.finish().map_err(ioerr)?;
    let (mut buf, checksum, size) = sink.finish();
    buf.flush().map_err(ioerr)?;
    let file = buf.into_inner().map_err(|e| ioerr(e.into_error()))?;
    file.sync_all().map_err(ioerr)?;
    Ok((checksum, size, files))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excludes_match_names_and_paths() {
        let ex = Excludes::new(&["data/*.tmp".into()]).unwrap();
        assert!(ex.matches("a/__pycache__"));
        assert!(ex.matches("x.pyc"));
        assert!(ex.matches(".git"));
        assert!(ex.matches("data/x.tmp"));
        assert!(!ex.matches("other/x.tmp"));
        assert!(!ex.matches("bert/config.json"));
    }

    #[test]
    fn compression_from_name() {
        assert_eq!(
            Compression::from_file_name("m-1.tar.zst"),
            Some(Compression::Zstd)
        );
        assert_eq!(Compression::from_file_name("m-1.zip"), None);
    }
}
