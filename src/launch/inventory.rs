//! `isotop image ls` and `isotop image prune`: the host's cached layers and who uses them.
//!
//! Contract: a layer is USED when any isotop container names it among its lower layers — in
//! its record (`/run/isotop/<id>/state.json`, running or stopped) or in its `config.json`
//! (`/var/lib/isotop/containers/<id>/`, which outlives a reboot's loss of `/run`). [`list`]
//! reports every layer of the cache with its facts ([`meta`], measured when a layer of
//! an older isotop has none) and its users. [`prune`] holds the cache's EXCLUSIVE lock while
//! it decides and removes — a launch holds the shared lock from its lookup until its record
//! names the layer, so nothing a launch is about to use goes — and removes each unused layer
//! by renaming it out of `sha256/` first (it vanishes at once; a crash mid-delete leaves only
//! temporary files, swept later), its meta after it. Every removal is one audit-log line.
//! Both start like `isotop run` does: the directories' modes are repaired and dead unpacks'
//! temporary entries swept.

use foldhash::HashSet;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::control::audit::{self, AuditEntry};
use crate::host::HostRoot;
use crate::launch::LaunchError;
use crate::launch::data::ensure_data_dirs;
use crate::launch::image::digest::Digest;
use crate::launch::image::layer::{LayerCache, meta};
use crate::launch::lifecycle::config::LaunchConfig;
use crate::launch::store::{self, ContainerPaths, data_root, dirs::unique_suffix};

/// A container that uses a layer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UsedBy {
    pub id: String,
    pub name: String,
    /// Its record's status, or `files only` when only its data directory is left.
    pub status: String,
}

/// One cached layer, as `isotop image ls --json` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CachedLayer {
    /// `sha256:<hex>` of the blob as stored (the cache key).
    pub digest: String,
    pub path: PathBuf,
    /// `sha256:<hex>` of the uncompressed tar; `None` for a layer of an older isotop.
    pub diff_id: Option<String>,
    /// Allocated bytes on disk (hard links counted once).
    pub disk_bytes: u64,
    /// Tar entries (or, for a layer of an older isotop, paths counted now).
    pub entries: u64,
    /// Whiteouts and opaque directories.
    pub whiteouts: u64,
    /// When it was unpacked (ms since the Unix epoch; the directory's change time when the
    /// layer has no meta).
    pub created_ms: u64,
    /// Where it was unpacked from, when known.
    pub source: Option<String>,
    pub used_by: Vec<UsedBy>,
}

/// What `prune` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pruned {
    pub removed: Vec<CachedLayer>,
    pub kept: Vec<CachedLayer>,
    /// Disk bytes of the removed layers.
    pub freed_bytes: u64,
    /// Temporary entries of dead unpacks removed.
    pub swept: Vec<PathBuf>,
}

fn require_root(what: &str) -> Result<(), LaunchError> {
    if nix::unistd::geteuid().is_root() {
        Ok(())
    } else {
        Err(LaunchError::NeedsRoot { what: what.into() })
    }
}

/// Repairs the directories' modes and sweeps dead unpacks (the start of every command).
fn start(host: &HostRoot) -> Result<(LayerCache, Vec<PathBuf>), LaunchError> {
    ensure_data_dirs(host)?;
    let cache = LayerCache::for_host(host);
    let mut swept = cache.sweep_temp();
    swept.extend(crate::launch::image::layer::lock::sweep(
        &data_root(host).join("default"),
        "tmp-",
    ));
    Ok((cache, swept))
}

/// Every cached layer with its users, by digest.
pub fn list(host: &HostRoot) -> Result<Vec<CachedLayer>, LaunchError> {
    require_root("isotop image ls")?;
    let (cache, _) = start(host)?;
    Ok(layers(host, &cache))
}

/// Removes every layer no container uses (see the module contract).
pub fn prune(host: &HostRoot) -> Result<Pruned, LaunchError> {
    require_root("isotop image prune")?;
    let (cache, mut swept) = start(host)?;
    let _lock = cache.lock_exclusive()?;
    let mut pruned = Pruned {
        removed: Vec::new(),
        kept: Vec::new(),
        freed_bytes: 0,
        swept: Vec::new(),
    };
    for layer in layers(host, &cache) {
        if !layer.used_by.is_empty() {
            pruned.kept.push(layer);
            continue;
        }
        let result = remove_layer(&cache, &layer);
        let mut entry = AuditEntry::now(
            &layer.digest,
            "image.prune",
            Some(format!("{} bytes on disk", layer.disk_bytes)),
            None,
        );
        if let Err(e) = &result {
            entry.result = e.to_string();
        }
        // The removal happened (or failed) either way; an unwritable log does not undo it.
        let _ = audit::append(&entry);
        result?;
        pruned.freed_bytes += layer.disk_bytes;
        pruned.removed.push(layer);
    }
    swept.extend(cache.sweep_temp());
    pruned.swept = swept;
    Ok(pruned)
}

fn remove_layer(cache: &LayerCache, layer: &CachedLayer) -> Result<(), LaunchError> {
    let trash = cache
        .tmp_dir()
        .join(format!("trash-{}-{}", std::process::id(), unique_suffix()));
    fs::rename(&layer.path, &trash).map_err(|e| LaunchError::io("move", &layer.path, e))?;
    if let Some(digest) = Digest::parse(&layer.digest) {
        let _ = fs::remove_file(meta::path(&cache.meta_dir(), &digest));
    }
    fs::remove_dir_all(&trash).map_err(|e| LaunchError::io("remove", &trash, e))
}

/// The cache's layers (names that are digests, directories), oldest first.
fn layers(host: &HostRoot, cache: &LayerCache) -> Vec<CachedLayer> {
    let users = users(host);
    let Ok(entries) = fs::read_dir(cache.root().join("sha256")) else {
        return Vec::new();
    };
    let mut out: Vec<CachedLayer> = entries
        .flatten()
        .filter_map(|entry| {
            let digest = Digest::parse(entry.file_name().to_str()?)?;
            let path = cache.lookup(&digest)?;
            Some(describe(cache, &digest, path, &users))
        })
        .collect();
    out.sort_by(|a, b| (a.created_ms, &a.digest).cmp(&(b.created_ms, &b.digest)));
    out
}

fn describe(
    cache: &LayerCache,
    digest: &Digest,
    path: PathBuf,
    users: &[(UsedBy, Vec<PathBuf>)],
) -> CachedLayer {
    let used_by = users
        .iter()
        .filter(|(_, lowers)| lowers.iter().any(|l| names_layer(l, &path, digest)))
        .map(|(user, _)| user.clone())
        .collect();
    match meta::read(&cache.meta_dir(), digest) {
        Some(known) => CachedLayer {
            digest: digest.to_string(),
            path,
            diff_id: Some(known.diff_id),
            disk_bytes: known.disk_bytes,
            entries: known.entries,
            whiteouts: known.whiteouts,
            created_ms: known.created_ms,
            source: Some(known.source),
            used_by,
        },
        None => {
            let measured = meta::measure(&path);
            let changed = fs::symlink_metadata(&path)
                .map(|m| u64::try_from(m.ctime()).unwrap_or(0) * 1000)
                .unwrap_or(0);
            CachedLayer {
                digest: digest.to_string(),
                path,
                diff_id: None,
                disk_bytes: measured.disk_bytes,
                entries: measured.paths,
                whiteouts: measured.whiteouts,
                created_ms: changed,
                source: None,
                used_by,
            }
        }
    }
}

/// True when a container's lower layer is this cache layer: the same path, or a path to a
/// layer of the same digest (a record written under another host root).
fn names_layer(lower: &Path, path: &Path, digest: &Digest) -> bool {
    lower == path
        || (lower.file_name().is_some_and(|n| n == digest.hex())
            && lower
                .parent()
                .and_then(Path::file_name)
                .is_some_and(|n| n == "sha256"))
}

/// Every isotop container with the lower layers it names: records first, then data
/// directories without one.
fn users(host: &HostRoot) -> Vec<(UsedBy, Vec<PathBuf>)> {
    let mut out = Vec::new();
    let mut seen = HashSet::default();
    for record in store::list_records(host) {
        seen.insert(record.id.clone());
        let user = UsedBy {
            id: record.id.clone(),
            name: record.name.clone(),
            status: record.status.name().to_string(),
        };
        let mut lowers = record.lower_layers.clone();
        if let Ok(config) = LaunchConfig::read(&ContainerPaths::new(host, &record.id).config) {
            lowers.extend(config.lower_layers);
        }
        out.push((user, lowers));
    }
    let containers = data_root(host).join("containers");
    let Ok(entries) = fs::read_dir(&containers) else {
        return out;
    };
    for entry in entries.flatten() {
        let Some(id) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        if !crate::units::ContainerId::is_valid(&id) || seen.contains(&id) {
            continue;
        }
        let Ok(config) = LaunchConfig::read(&ContainerPaths::new(host, &id).config) else {
            continue;
        };
        let user = UsedBy {
            id,
            name: config.name.clone(),
            status: "files only".into(),
        };
        out.push((user, config.lower_layers));
    }
    out
}
