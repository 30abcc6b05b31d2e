//! Safe extraction of one layer tar into an empty directory.
//!
//! Tar entries come from strangers, so nothing an entry says may read, write or change
//! anything outside the layer directory, whatever order the entries come in:
//! - names (`names`): a `..` component is refused; an absolute name is taken relative to
//!   the layer root (as docker does), never the host's root; NUL bytes, names past `PATH_MAX`,
//!   components past `NAME_MAX` and more than 256 levels are refused;
//! - every file system call acts on file descriptors beneath the layer root (`tree`): the
//!   root is opened once, a parent directory is reached with `openat2(RESOLVE_BENEATH |
//!   RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)` (a parent that is a symlink is refused, a
//!   missing one created as a plain directory), and entries are made with `*at` calls on the
//!   parent's fd: files with `O_CREAT | O_EXCL | O_NOFOLLOW` after unlinking whatever sat at
//!   the name (a symlink there is removed, never written through);
//! - owners, modes and mtimes are set on what the unpack made, never through a symlink
//!   (`meta`): `fchown`/`fchmod`/`futimens` on the file's own fd, `AT_SYMLINK_NOFOLLOW` for
//!   a symlink (whose mode is never set); directory metadata waits for the end and is applied
//!   through the directory's re-opened fd, checked to be the same inode, and a later entry
//!   that replaces or removes a directory drops that directory's (and its contents') metadata;
//! - a hard link must name an existing non-directory inside the layer, reached the same way
//!   (a hard link to a symlink links the symlink itself).
//!
//! AUFS whiteouts become overlay ones so layers stack as overlay lower dirs: `.wh.NAME` → a
//! character device 0:0 named NAME (needs root), `.wh..wh..opq` → the `trusted.overlay.opaque`
//! xattr = "y" on its directory, set through the directory's fd (needs root). PAX xattrs are
//! not applied. Modes, mtimes (seconds) and, as root, owners are kept; device nodes are created
//! only as root and skipped otherwise (counted in the result, the first few named). GNU sparse files (old GNU and PAX
//! 0.0/0.1/1.0 formats) are written with their holes (`sparse`).
//!
//! Bounds ([`UnpackLimits`], defaults an operator can raise through [`MAX_BYTES_ENV`] and
//! [`MAX_ENTRIES_ENV`], which the caller reads): at most 32 GiB of decompressed
//! tar and of file content (a sparse file counts at its full size), at most 2,000,000
//! entries, and at most 16 MiB of headers per entry (long names, PAX records, sparse maps).
//! Crossing one stops the unpack with an error naming the limit; the caller removes the
//! half-made layer. The stream is read to its end (still bounded), so a caller hashing it sees
//! every byte.

mod entry;
mod error;
mod meta;
pub(crate) mod meter;
mod names;
mod sparse;
mod tree;

pub use error::size_limit_error;

use std::io::{self, Read};
use std::path::Path;

use super::error::ImageError;
use entry::Unpack;
use meter::{Meter, Metered};

/// The AUFS marker prefix docker layers use for deletions.
const WHITEOUT_PREFIX: &[u8] = b".wh.";
/// The AUFS marker that makes its directory opaque (hides every lower entry).
const OPAQUE_MARKER: &[u8] = b".wh..wh..opq";
/// What overlayfs reads to treat a directory as opaque.
pub(crate) const OVERLAY_OPAQUE_XATTR: &str = "trusted.overlay.opaque";
/// Mode of a directory while entries are written into it (its own is set at the end).
const DIR_MODE_WHILE_UNPACKING: u32 = 0o700;

/// The environment variable an operator sets to raise [`UnpackLimits::max_bytes`].
pub const MAX_BYTES_ENV: &str = "ISOTOP_MAX_LAYER_BYTES";
/// The environment variable an operator sets to raise [`UnpackLimits::max_entries`].
pub const MAX_ENTRIES_ENV: &str = "ISOTOP_MAX_LAYER_FILES";

/// How much one layer may unpack to: a hostile layer (a gzip bomb, a sparse file of
/// exabytes, millions of empty files) is refused instead of filling the disk or the inode
/// table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnpackLimits {
    /// Most bytes of decompressed tar stream, and most bytes of file content (a sparse file
    /// counts at its full size, holes included). Default 32 GiB.
    pub max_bytes: u64,
    /// Most tar entries (files, directories, links, whiteouts, skipped ones). Default
    /// 2,000,000.
    pub max_entries: u64,
}

impl UnpackLimits {
    pub const DEFAULT_MAX_BYTES: u64 = 32 << 30;
    pub const DEFAULT_MAX_ENTRIES: u64 = 2_000_000;
}

impl Default for UnpackLimits {
    fn default() -> Self {
        UnpackLimits {
            max_bytes: Self::DEFAULT_MAX_BYTES,
            max_entries: Self::DEFAULT_MAX_ENTRIES,
        }
    }
}

/// What an extraction did besides writing entries.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct UnpackReport {
    /// Entries written (files, dirs, links, whiteouts).
    pub entries: u64,
    /// Entries left out (device nodes when not root, unknown types, PAX global headers).
    pub skipped_total: u64,
    /// The first [`SKIPPED_SHOWN`] of them, each with why (names cut to 256 characters):
    /// a layer of millions of skipped entries must not keep them all.
    pub skipped: Vec<String>,
}

/// How many skipped entries an [`UnpackReport`] names.
pub const SKIPPED_SHOWN: usize = 20;

/// Who is extracting: ownership, device nodes and whiteouts need root.
#[derive(Debug, Clone, Copy)]
pub struct Privileges {
    pub root: bool,
}

impl Privileges {
    pub fn current() -> Self {
        Privileges {
            root: nix::unistd::geteuid().is_root(),
        }
    }
}

/// Unpacks the tar stream `reader` into `dest` (an existing, empty directory made by the
/// caller) within `limits`, and reads the stream to its end. `layer` names the layer in
/// messages. On error `dest` may hold part of the layer: the caller removes it.
pub fn unpack_layer<R: Read>(
    reader: R,
    dest: &Path,
    layer: &str,
    privileges: Privileges,
    limits: UnpackLimits,
) -> Result<UnpackReport, ImageError> {
    let meter = Meter::new(limits.max_bytes);
    let mut unpack = Unpack::new(layer, dest, privileges, limits, &meter)?;
    let mut archive = tar::Archive::new(Metered::new(reader, &meter));
    {
        let mut entries = archive.entries().map_err(|e| unpack.stream_error(e))?;
        loop {
            meter.seeking_entry();
            let next = entries.next();
            meter.entry_found();
            let Some(entry) = next else { break };
            let mut entry = entry.map_err(|e| unpack.stream_error(e))?;
            unpack.entry(&mut entry)?;
            // Whatever the entry's data held that was not used (a directory with a size, a
            // skipped entry): read here so only headers are read between entries.
            io::copy(&mut entry, &mut io::sink()).map_err(|e| unpack.stream_error(e))?;
        }
    }
    // Past the end-of-archive blocks the stream still belongs to the blob (and is still
    // bounded: a gzip bomb after the tar's end is one too).
    io::copy(&mut archive.into_inner(), &mut io::sink()).map_err(|e| unpack.stream_error(e))?;
    unpack.finish()
}

/// `32 GiB`, `512 MiB`, or exact bytes when not a whole binary unit.
pub(crate) fn shown_bytes(bytes: u64) -> String {
    for (shift, unit) in [(40, "TiB"), (30, "GiB"), (20, "MiB"), (10, "KiB")] {
        if bytes >= 1 << shift && bytes.is_multiple_of(1 << shift) {
            return format!("{} {unit}", bytes >> shift);
        }
    }
    format!("{bytes} bytes")
}
