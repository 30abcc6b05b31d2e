//! The content-addressed layer cache: `<cache>/sha256/<hex>/` holds one unpacked layer, keyed
//! by the sha256 of the layer blob as stored (compressed or not).
//!
//! A layer is unpacked into `<cache>/tmp/<hex>-<pid>-<n>/` while its blob is hashed in the
//! same pass and its decompressed tar stream too (the `diff_id`), both checked against what
//! the manifest and the image config name (if they do), its facts written to
//! `<cache>/meta/<hex>.json` ([`meta`]), and only then renamed into place. `rename(2)` is
//! atomic, so readers see either no layer or a whole one; a failed unpack removes its
//! temporary directory; a concurrent unpack that loses the rename race drops its copy and
//! uses the winner's. A second request for the same digest is a cache hit (no unpack), still
//! checked against the `diff_id` the image names.
//!
//! Bounds: a layer whose decompressed tar stream passes [`UnpackLimits::max_bytes`] or whose
//! entries pass [`UnpackLimits::max_entries`] is refused and nothing of it stays; the operator
//! raises them with `ISOTOP_MAX_LAYER_BYTES` / `ISOTOP_MAX_LAYER_FILES` ([`crate::launch::lifecycle::bounds`]).
//! Every file is opened as a regular file without blocking (see `archive::open`). The cache
//! directories are root-only, made so before anything lands in them (`store::dirs`); the
//! lock and the sweep of left-over temporary entries are in [`lock`]; `isotop image ls` and
//! `prune` in [`crate::launch::inventory`].

pub mod interrupt;
pub mod lock;
pub mod meta;
pub mod stream;

use std::fs;
use std::io::{self, BufRead, BufReader, Read};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use super::archive::{is_gzip, is_zstd};
use super::digest::{Digest, HashingReader};
use super::error::ImageError;
use super::source::{Image, ImageSource};
use super::unpack::{Privileges, UnpackLimits, UnpackReport, size_limit_error, unpack_layer};
use crate::host::HostRoot;
use crate::launch::store::dirs::{PRIVATE_MODE, TRAVERSE_MODE, private_dir, unique_suffix};
pub use interrupt::interrupted_or;
use lock::CacheLock;
use meta::LayerMeta;
use stream::{Bounded, Watched};

/// The settings that raise the bounds, read by [`crate::launch::lifecycle::bounds`].
pub use super::unpack::{MAX_BYTES_ENV, MAX_ENTRIES_ENV as MAX_FILES_ENV};

/// A layer cache rooted at a directory (created on first use).
#[derive(Debug, Clone)]
pub struct LayerCache {
    root: PathBuf,
    limits: UnpackLimits,
    /// `/var/lib/isotop` for the host's cache: made 0711 before the cache inside it.
    data_root: Option<PathBuf>,
    /// All layers of one image together (see `manifest::stack`); `None`: twice `limits`.
    image_max_bytes: Option<u64>,
}

/// How a layer blob is compressed, from its media type or its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Look at the first bytes (gzip magic or plain tar).
    Sniff,
    Gzip,
    None,
}

/// A layer blob to unpack: how to open it (it may be read twice: once to learn its digest
/// when the manifest does not say it) and what it should hash to.
pub struct LayerBlob<'a> {
    /// For messages: the member name and the image path.
    pub name: String,
    pub expected: Option<Digest>,
    /// The sha256 of its uncompressed tar, from the image config's `rootfs.diff_ids`.
    pub diff_id: Option<Digest>,
    pub compression: Compression,
    pub open: &'a dyn Fn() -> Result<Box<dyn Read + 'a>, ImageError>,
}

/// Removes a temporary layer directory unless it was renamed into the cache.
struct TempLayer {
    path: PathBuf,
    kept: bool,
}

impl Drop for TempLayer {
    fn drop(&mut self) {
        if !self.kept {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

/// What one pass over a blob found.
struct Unpacked {
    digest: Digest,
    diff_id: Digest,
    tar_bytes: u64,
    report: UnpackReport,
}

impl LayerCache {
    /// A cache rooted at `root` (tests pass a temporary directory), with the default limits.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        LayerCache {
            root: root.into(),
            limits: UnpackLimits::default(),
            data_root: None,
            image_max_bytes: None,
        }
    }

    /// The host's cache: `/var/lib/isotop/layers` under the host root.
    pub fn for_host(host: &HostRoot) -> Self {
        let data_root = crate::launch::store::data_root(host);
        LayerCache {
            root: data_root.join("layers"),
            limits: UnpackLimits::default(),
            data_root: Some(data_root),
            image_max_bytes: None,
        }
    }

    /// The same cache with other bounds.
    pub fn with_limits(mut self, limits: UnpackLimits) -> Self {
        self.limits = limits;
        self
    }

    pub fn limits(&self) -> UnpackLimits {
        self.limits
    }

    /// The same cache with another image-wide bound (`None`: twice the per-layer bound).
    pub fn with_image_max_bytes(mut self, max: Option<u64>) -> Self {
        self.image_max_bytes = max;
        self
    }

    /// Most decompressed tar bytes all layers of one image may hold together.
    pub fn image_max_bytes(&self) -> u64 {
        self.image_max_bytes
            .unwrap_or_else(|| self.limits.max_bytes.saturating_mul(2))
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where a layer with this digest lives (whether or not it is there yet).
    pub fn layer_dir(&self, digest: &Digest) -> PathBuf {
        self.root.join("sha256").join(digest.hex())
    }

    /// Temporary work space (unpacking layers, decompressed archives); same file system as the
    /// layers so the final rename is atomic.
    pub fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    /// The layers' facts ([`meta`]).
    pub fn meta_dir(&self) -> PathBuf {
        self.root.join("meta")
    }

    /// The layer directory if this digest is already unpacked.
    pub fn lookup(&self, digest: &Digest) -> Option<PathBuf> {
        let dir = self.layer_dir(digest);
        fs::symlink_metadata(&dir)
            .is_ok_and(|m| m.is_dir())
            .then_some(dir)
    }

    /// Makes (or repairs) the cache's directories root-only before anything lands in them.
    pub fn ensure_dirs(&self) -> Result<(), ImageError> {
        let make = |path: &Path, mode| private_dir(path, mode).map_err(|e| ImageError::io(path, e));
        // The parent of `/var/lib/isotop` (the host's /var/lib), or of a test's cache, is not
        // isotop's to restrict: only made when missing.
        let top = self.data_root.as_ref().unwrap_or(&self.root);
        if let Some(parent) = top.parent()
            && !parent.exists()
        {
            fs::create_dir_all(parent).map_err(|e| ImageError::io(parent, e))?;
        }
        if let Some(data_root) = &self.data_root {
            make(data_root, TRAVERSE_MODE)?;
        }
        make(&self.root, PRIVATE_MODE)?;
        for sub in ["sha256", "tmp", "meta"] {
            make(&self.root.join(sub), PRIVATE_MODE)?;
        }
        Ok(())
    }

    /// Removes temporary entries left by unpacks that were killed (see [`lock::sweep`]).
    pub fn sweep_temp(&self) -> Vec<PathBuf> {
        lock::sweep(&self.tmp_dir(), "")
    }

    /// The shared lock a launch holds while it looks up layers and records them.
    pub fn lock_shared(&self) -> Result<CacheLock, ImageError> {
        let path = self.root.join("lock");
        lock::take(&path, false).map_err(|e| interrupted_or(ImageError::io(&path, e)))
    }

    /// The exclusive lock `isotop image prune` holds.
    pub fn lock_exclusive(&self) -> Result<CacheLock, ImageError> {
        let path = self.root.join("lock");
        lock::take(&path, true).map_err(|e| ImageError::io(&path, e))
    }

    /// Detects the image at `path` and prepares it (see [`LayerCache::prepare`]).
    pub fn prepare_path(&self, path: &Path) -> Result<Image, ImageError> {
        self.prepare(&ImageSource::detect_within(path, self.limits.max_bytes)?)
    }

    /// Unpacks every layer of `source` not yet cached and returns the layer directories,
    /// lowest first, with the image's run config. A directory source is used as is.
    pub fn prepare(&self, source: &ImageSource) -> Result<Image, ImageError> {
        if !matches!(source, ImageSource::RootfsDir(_)) {
            self.ensure_dirs()?;
        }
        super::manifest::prepare(self, source)
    }

    /// Returns the cached directory for `blob`, unpacking it first when missing.
    pub fn ensure_layer(&self, blob: &LayerBlob<'_>) -> Result<PathBuf, ImageError> {
        let digest = match &blob.expected {
            Some(digest) => digest.clone(),
            None => {
                HashingReader::new(Watched::new((blob.open)()?))
                    .finish()
                    .map_err(|e| interrupted_or(ImageError::corrupt(&blob.name, e)))?
                    .0
            }
        };
        if let Some(hit) = self.lookup(&digest) {
            if blob.diff_id.is_some() {
                self.check_cached_diff_id(blob, &digest)?;
            }
            return Ok(hit);
        }
        self.ensure_dirs()?;
        let mut temp = TempLayer {
            path: self.tmp_dir().join(format!(
                "{}-{}-{}",
                digest.hex(),
                std::process::id(),
                unique_suffix()
            )),
            kept: false,
        };
        fs::DirBuilder::new()
            .mode(PRIVATE_MODE)
            .create(&temp.path)
            .map_err(|e| ImageError::io(&temp.path, e))?;
        let unpacked = self.unpack_hashed(blob, &temp.path)?;
        if unpacked.digest != digest {
            return Err(ImageError::DigestMismatch {
                what: blob.name.clone(),
                expected: digest.hex().to_string(),
                actual: unpacked.digest.hex().to_string(),
            });
        }
        check_diff_id(blob, &unpacked.diff_id)?;
        let measured = meta::measure(&temp.path);
        let facts = LayerMeta {
            digest: digest.to_string(),
            diff_id: unpacked.diff_id.to_string(),
            tar_bytes: unpacked.tar_bytes,
            disk_bytes: measured.disk_bytes,
            entries: unpacked.report.entries,
            whiteouts: measured.whiteouts,
            created_ms: crate::units::now_ms(),
            source: crate::host::text::clean_str(&blob.name),
        };
        let meta_dir = self.meta_dir();
        meta::write(&meta_dir, &digest, &facts).map_err(|e| ImageError::io(&meta_dir, e))?;
        let final_dir = self.layer_dir(&digest);
        match fs::rename(&temp.path, &final_dir) {
            Ok(()) => temp.kept = true,
            // Another unpack of the same layer won the race: its copy is as good as ours.
            Err(_) if self.lookup(&digest).is_some() => {}
            Err(e) => return Err(ImageError::io(&final_dir, e)),
        }
        Ok(final_dir)
    }

    /// A cached layer against the `diff_id` an image names: from its meta, else (a layer of
    /// an older isotop) by decompressing the blob once more, without unpacking it.
    fn check_cached_diff_id(
        &self,
        blob: &LayerBlob<'_>,
        digest: &Digest,
    ) -> Result<(), ImageError> {
        if let Some(known) = meta::read(&self.meta_dir(), digest)
            && let Some(diff_id) = Digest::parse(&known.diff_id)
        {
            return check_diff_id(blob, &diff_id);
        }
        let unpacked = self.hash_only(blob)?;
        // The blob must be the one the cache holds: a cache hit on a name is not a proof.
        if unpacked.digest != *digest {
            return Err(ImageError::DigestMismatch {
                what: blob.name.clone(),
                expected: digest.hex().to_string(),
                actual: unpacked.digest.hex().to_string(),
            });
        }
        check_diff_id(blob, &unpacked.diff_id)?;
        // Learned once: the next image naming this blob is checked from the meta.
        let measured = meta::measure(&self.layer_dir(digest));
        let facts = LayerMeta {
            digest: digest.to_string(),
            diff_id: unpacked.diff_id.to_string(),
            tar_bytes: unpacked.tar_bytes,
            disk_bytes: measured.disk_bytes,
            entries: measured.paths,
            whiteouts: measured.whiteouts,
            created_ms: crate::units::now_ms(),
            source: crate::host::text::clean_str(&blob.name),
        };
        let meta_dir = self.meta_dir();
        meta::write(&meta_dir, digest, &facts).map_err(|e| ImageError::io(&meta_dir, e))
    }

    /// The blob's digest and diff_id, reading it once (no unpack).
    fn hash_only(&self, blob: &LayerBlob<'_>) -> Result<Unpacked, ImageError> {
        self.pass(blob, |tar, _| {
            io::copy(tar, &mut io::sink())
                .map(|_| UnpackReport::default())
                .map_err(|e| ImageError::corrupt(&blob.name, e))
        })
    }

    /// Unpacks the blob into `dest`, hashing the stored bytes and the tar stream on the way.
    fn unpack_hashed(&self, blob: &LayerBlob<'_>, dest: &Path) -> Result<Unpacked, ImageError> {
        let privileges = Privileges::current();
        // The unpack bounds entries and file content itself; the stream bound here also
        // covers bytes the tar reader skips (padding, data after the end).
        let limits = self.limits;
        self.pass(blob, |tar, name| {
            unpack_layer(tar, dest, name, privileges, limits)
        })
    }

    /// One pass over a blob: decompresses it (gzip sniffed or named), bounds and hashes the
    /// tar stream, hands it to `consume`, then reads both streams to their ends so the
    /// digests cover all of them and a gzip trailer (CRC) is checked.
    fn pass(
        &self,
        blob: &LayerBlob<'_>,
        consume: impl FnOnce(&mut dyn Read, &str) -> Result<UnpackReport, ImageError>,
    ) -> Result<Unpacked, ImageError> {
        let corrupt = |e: io::Error| ImageError::corrupt(&blob.name, e);
        let mut buffered = BufReader::new(HashingReader::new(Watched::new((blob.open)()?)));
        let head = buffered.fill_buf().map_err(corrupt)?.to_vec();
        if is_zstd(&head) {
            return Err(ImageError::Unsupported {
                what: format!("zstd-compressed layer {}", blob.name),
                hint: "use gzip or uncompressed layers".into(),
            });
        }
        let gzip = match blob.compression {
            Compression::Gzip => true,
            Compression::None => false,
            Compression::Sniff => is_gzip(&head),
        };
        let max = self.limits.max_bytes;
        let (report, diff_id, tar_bytes) = if gzip {
            let decoder = flate2::bufread::MultiGzDecoder::new(&mut buffered);
            self.tar_pass(
                blob,
                HashingReader::new(Bounded::new(decoder, max)),
                consume,
            )?
        } else {
            self.tar_pass(
                blob,
                HashingReader::new(Bounded::new(&mut buffered, max)),
                consume,
            )?
        };
        // Whatever the decoder left (bytes after the last gzip member) still belongs to the blob.
        io::copy(&mut buffered, &mut io::sink()).map_err(|e| interrupted_or(corrupt(e)))?;
        let (digest, _bytes) = buffered
            .into_inner()
            .finish()
            .map_err(|e| interrupted_or(corrupt(e)))?;
        Ok(Unpacked {
            digest,
            diff_id,
            tar_bytes,
            report,
        })
    }

    fn tar_pass<R: Read>(
        &self,
        blob: &LayerBlob<'_>,
        mut tar: HashingReader<Bounded<R>>,
        consume: impl FnOnce(&mut dyn Read, &str) -> Result<UnpackReport, ImageError>,
    ) -> Result<(UnpackReport, Digest, u64), ImageError> {
        let explain = |tar: &HashingReader<Bounded<R>>, error: ImageError| {
            if tar.get_ref().exceeded() {
                self.over_bytes(&blob.name)
            } else {
                interrupted_or(error)
            }
        };
        let report = match consume(&mut tar, &blob.name) {
            Ok(report) => report,
            Err(e) => return Err(explain(&tar, e)),
        };
        // The end-of-archive padding after the tar's last entry is part of the diff_id.
        if let Err(e) = io::copy(&mut tar, &mut io::sink()) {
            return Err(explain(&tar, ImageError::corrupt(&blob.name, e)));
        }
        let (diff_id, tar_bytes) = tar
            .finish()
            .map_err(|e| interrupted_or(ImageError::corrupt(&blob.name, e)))?;
        Ok((report, diff_id, tar_bytes))
    }

    fn over_bytes(&self, what: &str) -> ImageError {
        over_bytes(what, self.limits.max_bytes)
    }
}

/// The refusal of a stream that decompresses past `max_bytes` (a layer, an archive).
pub fn over_bytes(what: &str, max_bytes: u64) -> ImageError {
    size_limit_error(what, "decompresses past the bound", max_bytes)
}

fn check_diff_id(blob: &LayerBlob<'_>, actual: &Digest) -> Result<(), ImageError> {
    match &blob.diff_id {
        Some(expected) if expected != actual => Err(ImageError::DiffIdMismatch {
            what: blob.name.clone(),
            expected: expected.hex().to_string(),
            actual: actual.hex().to_string(),
        }),
        _ => Ok(()),
    }
}
