//! The image side's error type: what was expected, which file or tar entry broke it, and why.
//! Every message is shown to the operator as is.

use std::path::{Path, PathBuf};

use crate::control::ControlError;

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("cannot access {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The path exists but holds nothing isotop can run.
    #[error(
        "{path} is not an image: {why} (expected a root-filesystem directory, a .tar/.tar.gz \
         rootfs, a `docker save` archive or an OCI image layout)"
    )]
    NotAnImage { path: PathBuf, why: String },
    /// An archive, manifest or layer is damaged (truncated, bad gzip, bad JSON, missing blob).
    #[error("{what} is corrupt: {why}")]
    Corrupt { what: String, why: String },
    /// A blob's content does not hash to the digest its manifest names.
    #[error("{what}: digest mismatch: manifest says sha256:{expected}, content is sha256:{actual}")]
    DigestMismatch {
        what: String,
        expected: String,
        actual: String,
    },
    /// A tar entry that would write outside its layer, or that cannot be placed safely.
    #[error("refused tar entry {entry:?} in {layer}: {why}")]
    UnsafeEntry {
        layer: String,
        entry: String,
        why: String,
    },
    #[error("{what} is not supported: {hint}")]
    Unsupported { what: String, hint: String },
    #[error("{what} needs root: run isotop as root (with sudo)")]
    NeedsRoot { what: String },
    /// A layer unpacks past a bound (its size, its entry count): refused, the operator may
    /// raise the bound for an image they trust.
    #[error(
        "{layer} {what}: refused at the {limit}; for an image you trust, raise it with {raise}"
    )]
    LimitExceeded {
        layer: String,
        what: String,
        limit: String,
        raise: String,
    },
    /// A file an image is read from is a device, a FIFO, a socket or a directory: refused
    /// before a byte of it is read (a FIFO would block, `/dev/zero` never ends).
    #[error(
        "{path} is {kind}, not a regular file: refused without reading it (image files, \
         manifests and layer blobs must be regular files)"
    )]
    NotRegular { path: PathBuf, kind: String },
    /// A layer's uncompressed content does not hash to its `rootfs.diff_ids` entry.
    #[error(
        "{what}: its uncompressed content is sha256:{actual}, but the image config's \
         rootfs.diff_ids says sha256:{expected}: the image is damaged or was altered; refused, \
         nothing was cached"
    )]
    DiffIdMismatch {
        what: String,
        expected: String,
        actual: String,
    },
    /// SIGINT, SIGTERM or SIGHUP arrived while the image was being prepared.
    #[error("interrupted by {signal} while preparing the image: nothing was left behind")]
    Interrupted { signal: String },
}

impl ImageError {
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        ImageError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    pub fn corrupt(what: impl Into<String>, why: impl ToString) -> Self {
        ImageError::Corrupt {
            what: what.into(),
            why: why.to_string(),
        }
    }

    pub fn not_an_image(path: &Path, why: impl Into<String>) -> Self {
        ImageError::NotAnImage {
            path: path.to_path_buf(),
            why: why.into(),
        }
    }
}

impl From<ImageError> for ControlError {
    fn from(error: ImageError) -> Self {
        ControlError::Other(error.to_string())
    }
}
