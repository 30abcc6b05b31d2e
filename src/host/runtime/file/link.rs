//! Reading where a symlink in a stranger's tree points, without following it.
//!
//! Contract: [`read_link_beneath`] walks to `base/rel`'s directory the way
//! [`read_beneath`](super::read_beneath) does (no symlink followed below `base`, nothing on
//! FUSE), then `readlinkat`s the last component: the link's own text, never what it points at.
//! What the caller makes of that text (e.g. only `../<id>/diff` inside the same store) is the
//! caller's rule; this reader only guarantees the text came from that link and says who could
//! have written it. The kernel bounds a link's text at `PATH_MAX` (4096 bytes).

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, FileType, readlinkat, statat};

use super::{FileError, Writers, io_error, own_uid, plain_names, walk};

/// A symlink's text and who could have written it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkText {
    pub target: PathBuf,
    pub writers: Writers,
}

/// Reads the text of the symlink `base/rel` (see the module contract). Anything but a symlink
/// there is [`FileError::NotRegular`] naming its kind.
pub fn read_link_beneath(base: &Path, rel: &Path) -> Result<LinkText, FileError> {
    let full = base.join(rel);
    let bad_path = || FileError::BadPath {
        path: full.clone(),
        base: base.to_path_buf(),
    };
    let names = plain_names(rel)
        .filter(|n| !n.is_empty())
        .ok_or_else(bad_path)?;
    let (name, dirs) = names.split_last().ok_or_else(bad_path)?;
    let dir = walk(base, dirs)?;
    let stat = statat(&dir.fd, *name, AtFlags::SYMLINK_NOFOLLOW).map_err(|e| io_error(&full, e))?;
    let kind = FileType::from_raw_mode(stat.st_mode);
    if kind != FileType::Symlink {
        return Err(FileError::NotRegular {
            path: full,
            kind: super::kind_name(kind),
        });
    }
    let text = readlinkat(&dir.fd, *name, Vec::new()).map_err(|e| io_error(&full, e))?;
    let mut writers = dir.writers;
    // A symlink's mode bits mean nothing (always 0777): only its owner counts.
    writers.add_uid(&full, stat.st_uid, own_uid());
    Ok(LinkText {
        target: PathBuf::from(OsString::from_vec(text.into_bytes())),
        writers,
    })
}
