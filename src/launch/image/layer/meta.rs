//! What the cache knows about each layer, beside it: `<cache>/meta/<hex>.json`.
//!
//! Contract: a [`LayerMeta`] is written (temporary file + rename) before its layer directory
//! is renamed into `sha256/`, so every layer unpacked by this isotop has one; a layer from an
//! older isotop has none and is measured when listed ([`measure`]). It records the layer's
//! `diff_id` (sha256 of the uncompressed tar), so a later image that names the same blob is
//! checked against it without unpacking again. The file is isotop's own (a root-only
//! directory), read with a size cap anyway.

use foldhash::HashSet;
use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::super::digest::Digest;

use super::super::unpack::OVERLAY_OPAQUE_XATTR as OPAQUE_XATTR;
use crate::host::runtime::file::{Cap, read_beneath};

/// A meta file is a few hundred bytes; anything past this is not one.
const META_LIMIT: Cap = Cap::LINE;

/// One cached layer's facts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerMeta {
    /// `sha256:<hex>` of the blob as stored (the cache key).
    pub digest: String,
    /// `sha256:<hex>` of the uncompressed tar stream.
    pub diff_id: String,
    /// Bytes of the uncompressed tar stream.
    pub tar_bytes: u64,
    /// Bytes the unpacked layer takes on disk (allocated blocks, hard links counted once).
    pub disk_bytes: u64,
    /// Tar entries written.
    pub entries: u64,
    /// Whiteouts (deleted paths) and opaque directories in the layer.
    pub whiteouts: u64,
    /// When it was unpacked, milliseconds since the Unix epoch.
    pub created_ms: u64,
    /// Where it was unpacked from (member and image path), for the operator.
    pub source: String,
}

/// Disk use and whiteouts of an unpacked layer directory.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Measure {
    pub disk_bytes: u64,
    pub whiteouts: u64,
    /// Every path below the layer root.
    pub paths: u64,
}

/// Walks `dir` (never following symlinks): allocated bytes (each inode once), whiteouts
/// (character devices 0:0) and opaque directories. Entries that vanish or cannot be read are
/// skipped: the figures are for display.
pub fn measure(dir: &Path) -> Measure {
    let mut out = Measure::default();
    let mut seen = HashSet::default();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        if let Ok(meta) = fs::symlink_metadata(&current)
            && seen.insert((meta.dev(), meta.ino()))
        {
            out.disk_bytes += meta.blocks() * 512;
        }
        if is_opaque(&current) {
            out.whiteouts += 1;
        }
        let Ok(entries) = fs::read_dir(&current) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(meta) = entry.metadata() else {
                continue;
            };
            out.paths += 1;
            let kind = meta.file_type();
            if kind.is_dir() {
                stack.push(entry.path());
                continue;
            }
            if kind.is_char_device() && meta.rdev() == 0 {
                out.whiteouts += 1;
            }
            if meta.nlink() <= 1 || seen.insert((meta.dev(), meta.ino())) {
                out.disk_bytes += meta.blocks() * 512;
            }
        }
    }
    out
}

fn is_opaque(dir: &Path) -> bool {
    let mut value = [0u8; 4];
    matches!(rustix::fs::lgetxattr(dir, OPAQUE_XATTR, &mut value[..]), Ok(n) if value[..n] == *b"y")
}

/// Where the meta of `digest` lives in `meta_dir`.
pub fn path(meta_dir: &Path, digest: &Digest) -> std::path::PathBuf {
    meta_dir.join(format!("{}.json", digest.hex()))
}

/// Reads a layer's meta; `None` when there is none or it is not one.
pub fn read(meta_dir: &Path, digest: &Digest) -> Option<LayerMeta> {
    // The one capped, non-blocking, regular-files-only reader isotop has for files on disk.
    let name = format!("{}.json", digest.hex());
    let file = read_beneath(meta_dir, Path::new(&name), META_LIMIT).ok()?;
    serde_json::from_slice(&file.bytes).ok()
}

/// Writes a layer's meta through a temporary file and a rename.
pub fn write(meta_dir: &Path, digest: &Digest, meta: &LayerMeta) -> std::io::Result<()> {
    let target = path(meta_dir, digest);
    let tmp = meta_dir.join(format!(
        ".{}.{}-{}.tmp",
        digest.hex(),
        std::process::id(),
        crate::launch::store::dirs::unique_suffix()
    ));
    let text = serde_json::to_vec_pretty(meta).map_err(std::io::Error::other)?;
    let written = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .and_then(|mut f| std::io::Write::write_all(&mut f, &text))
        .and_then(|()| fs::rename(&tmp, &target));
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_round_trips_and_junk_is_none() {
        let tmp = tempfile::tempdir().unwrap();
        let digest = Digest::of_bytes(b"layer");
        assert_eq!(read(tmp.path(), &digest), None);
        let meta = LayerMeta {
            digest: digest.to_string(),
            diff_id: Digest::of_bytes(b"tar").to_string(),
            tar_bytes: 10_240,
            disk_bytes: 8192,
            entries: 3,
            whiteouts: 1,
            created_ms: 1,
            source: "layer.tar in image.tar".into(),
        };
        write(tmp.path(), &digest, &meta).unwrap();
        assert_eq!(read(tmp.path(), &digest), Some(meta));
        fs::write(path(tmp.path(), &digest), "not json").unwrap();
        assert_eq!(read(tmp.path(), &digest), None);
    }

    #[test]
    fn measure_counts_hard_links_once() {
        let tmp = tempfile::tempdir().unwrap();
        fs::create_dir(tmp.path().join("d")).unwrap();
        fs::write(tmp.path().join("d/f"), vec![1u8; 64 * 1024]).unwrap();
        let once = measure(tmp.path());
        fs::hard_link(tmp.path().join("d/f"), tmp.path().join("g")).unwrap();
        let twice = measure(tmp.path());
        assert_eq!(once.disk_bytes, twice.disk_bytes);
        assert_eq!((once.paths, twice.paths), (2, 3));
        assert!(once.disk_bytes >= 64 * 1024);
    }
}
