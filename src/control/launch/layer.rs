//! The content-addressed layer cache: `<cache>/sha256/<hex>/` holds one unpacked layer, keyed
//! by the sha256 of the layer blob as stored (compressed or not).
//!
//! A layer is unpacked into `<cache>/tmp/<unique>/` while its blob is hashed in the same pass,
//! checked against the digest its manifest names (if any), and only then renamed into place.
//! `rename(2)` is atomic, so readers see either no layer or a whole one; a failed unpack removes
//! its temporary directory; a concurrent unpack that loses the rename race drops its copy and
//! uses the winner's. A second request for the same digest is a cache hit (no unpack).

use std::fs;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::archive::{is_gzip, is_zstd};
use super::digest::{Digest, HashingReader};
use super::error::ImageError;
use super::image::{Image, ImageSource};
use super::unpack::{Privileges, UnpackLimits, UnpackReport, unpack_layer};
use crate::host::HostRoot;

/// A layer cache rooted at a directory (created on first use).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerCache {
    root: PathBuf,
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
    pub compression: Compression,
    pub open: &'a dyn Fn() -> Result<Box<dyn Read + 'a>, ImageError>,
}

/// A unique suffix for temporary names within this process (the pid makes it unique across).
pub fn unique_suffix() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
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

impl LayerCache {
    /// A cache rooted at `root` (tests pass a temporary directory).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        LayerCache { root: root.into() }
    }

    /// The host's cache: `/var/lib/isotop/layers` under the host root.
    pub fn for_host(host: &HostRoot) -> Self {
        LayerCache::new(host.var_lib.join("isotop").join("layers"))
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

    /// The layer directory if this digest is already unpacked.
    pub fn lookup(&self, digest: &Digest) -> Option<PathBuf> {
        let dir = self.layer_dir(digest);
        fs::symlink_metadata(&dir)
            .is_ok_and(|m| m.is_dir())
            .then_some(dir)
    }

    /// Detects the image at `path` and prepares it (see [`LayerCache::prepare`]).
    pub fn prepare_path(&self, path: &Path) -> Result<Image, ImageError> {
        self.prepare(&ImageSource::detect(path)?)
    }

    /// Unpacks every layer of `source` not yet cached and returns the layer directories,
    /// lowest first, with the image's run config. A directory source is used as is.
    pub fn prepare(&self, source: &ImageSource) -> Result<Image, ImageError> {
        super::manifest::prepare(self, source)
    }

    /// Returns the cached directory for `blob`, unpacking it first when missing.
    pub fn ensure_layer(&self, blob: &LayerBlob<'_>) -> Result<PathBuf, ImageError> {
        let digest = match &blob.expected {
            Some(digest) => digest.clone(),
            None => {
                HashingReader::new((blob.open)()?)
                    .finish()
                    .map_err(|e| ImageError::corrupt(&blob.name, e))?
                    .0
            }
        };
        if let Some(hit) = self.lookup(&digest) {
            return Ok(hit);
        }
        let tmp_root = self.tmp_dir();
        fs::create_dir_all(&tmp_root).map_err(|e| ImageError::io(&tmp_root, e))?;
        fs::create_dir_all(self.root.join("sha256")).map_err(|e| ImageError::io(&self.root, e))?;
        let mut temp = TempLayer {
            path: tmp_root.join(format!(
                "{}-{}-{}",
                digest.hex(),
                std::process::id(),
                unique_suffix()
            )),
            kept: false,
        };
        fs::create_dir(&temp.path).map_err(|e| ImageError::io(&temp.path, e))?;
        let (actual, _report) = unpack_hashed(blob, &temp.path)?;
        if actual != digest {
            return Err(ImageError::DigestMismatch {
                what: blob.name.clone(),
                expected: digest.hex().to_string(),
                actual: actual.hex().to_string(),
            });
        }
        let final_dir = self.layer_dir(&digest);
        match fs::rename(&temp.path, &final_dir) {
            Ok(()) => temp.kept = true,
            // Another unpack of the same layer won the race: its copy is as good as ours.
            Err(_) if self.lookup(&digest).is_some() => {}
            Err(e) => return Err(ImageError::io(&final_dir, e)),
        }
        Ok(final_dir)
    }
}

/// Unpacks the blob into `dest`, hashing the stored bytes on the way; reads the blob to its
/// end so the digest covers all of it and a gzip trailer (CRC) is checked.
fn unpack_hashed(blob: &LayerBlob<'_>, dest: &Path) -> Result<(Digest, UnpackReport), ImageError> {
    let corrupt = |e: io::Error| ImageError::corrupt(&blob.name, e);
    let mut buffered = BufReader::new(HashingReader::new((blob.open)()?));
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
    let privileges = Privileges::current();
    let limits = UnpackLimits::default();
    let report = if gzip {
        let mut decoder = flate2::bufread::MultiGzDecoder::new(&mut buffered);
        let report = unpack_layer(&mut decoder, dest, &blob.name, privileges, limits)?;
        io::copy(&mut decoder, &mut io::sink()).map_err(corrupt)?;
        report
    } else {
        unpack_layer(&mut buffered, dest, &blob.name, privileges, limits)?
    };
    // Whatever the tar reader left (end-of-archive padding) still belongs to the blob.
    io::copy(&mut buffered, &mut io::sink()).map_err(corrupt)?;
    let (digest, _bytes) = buffered.into_inner().finish().map_err(corrupt)?;
    Ok((digest, report))
}
