//! How an unpack fails, as [`ImageError`] values (the unpacker has no error type of its own):
//! a refused entry names the entry and why, a file system error the path inside the layer, and
//! a read that failed because a bound was crossed becomes that bound's error, naming the limit
//! and how to raise it.

use std::io;

use super::entry::{Shown, Unpack};
use super::meter::{self, Crossed};
use super::names;
use super::tree::PlaceError;
use super::{MAX_BYTES_ENV, MAX_ENTRIES_ENV, shown_bytes};
use crate::launch::image::archive;
use crate::launch::image::error::ImageError;

impl Unpack<'_> {
    pub(super) fn require_root(&self, what: &str) -> Result<(), ImageError> {
        if self.privileges.root {
            Ok(())
        } else {
            Err(ImageError::NeedsRoot {
                what: format!("unpacking {what} in {}", self.layer),
            })
        }
    }

    pub(super) fn refuse(&self, shown: &Shown<'_>, why: &str) -> ImageError {
        ImageError::UnsafeEntry {
            layer: self.layer.to_string(),
            entry: shown.0.to_string(),
            why: why.to_string(),
        }
    }

    pub(super) fn place_error(&self, shown: &Shown<'_>, error: PlaceError) -> ImageError {
        match error {
            PlaceError::Refused(why) => self.refuse(shown, &format!("its parent {why}")),
            PlaceError::Missing(at) => self.refuse(shown, &format!("{at} does not exist")),
            PlaceError::Io { at, source } => ImageError::io(&self.dest.join(at), source),
        }
    }

    pub(super) fn io_error(&self, parts: &[Vec<u8>], error: impl Into<io::Error>) -> ImageError {
        ImageError::io(&self.dest.join(names::shown_parts(parts)), error.into())
    }

    /// A failed read of the tar stream: a crossed bound if that is why, else corruption in
    /// isotop's words — the tar reader's own messages quote header bytes (a name, a number
    /// field), which may be another file's content.
    pub(super) fn stream_error(&self, error: io::Error) -> ImageError {
        self.fail(ImageError::corrupt(
            self.layer,
            archive::not_a_tar_reason(&error),
        ))
    }

    /// `otherwise`, unless the failure came from a crossed bound: then that bound's error.
    pub(super) fn fail(&self, otherwise: ImageError) -> ImageError {
        match self.meter.crossed() {
            Some(Crossed::StreamSize) => self.size_limit(&format!(
                "decompresses to more than {}",
                shown_bytes(self.limits.max_bytes)
            )),
            Some(Crossed::EntryMetadata) => ImageError::corrupt(
                self.layer,
                meter::headers_too_large(self.meter.bytes_read()),
            ),
            None => otherwise,
        }
    }

    pub(super) fn size_limit(&self, what: &str) -> ImageError {
        size_limit_error(self.layer, what, self.limits.max_bytes)
    }

    pub(super) fn entry_limit(&self) -> ImageError {
        ImageError::LimitExceeded {
            layer: self.layer.to_string(),
            what: format!("holds more than {} entries", self.limits.max_entries),
            limit: format!("layer entry limit of {}", self.limits.max_entries),
            raise: format!("{MAX_ENTRIES_ENV}=<count>"),
        }
    }
}

/// The refusal of a layer (or an archive) past the size bound: one message wherever the bound
/// is crossed (in the tar stream, in file content, in a gzip spool).
pub fn size_limit_error(layer: &str, what: &str, max_bytes: u64) -> ImageError {
    ImageError::LimitExceeded {
        layer: layer.to_string(),
        what: what.to_string(),
        limit: format!(
            "layer size limit of {} ({max_bytes} bytes)",
            shown_bytes(max_bytes)
        ),
        raise: format!("{MAX_BYTES_ENV}=<bytes>"),
    }
}
