//! One directory of an overlay layer, held by fd, and what overlayfs makes of its entries.
//!
//! Contract: every entry is looked at with `statat(AT_SYMLINK_NOFOLLOW)` relative to its
//! directory's fd and every directory is opened with `O_NOFOLLOW | O_DIRECTORY` relative to its
//! parent's fd, so nothing a container wrote (a symlink `etc -> /root`) is ever followed.
//! [`Classified`] is overlayfs' reading of an entry: a whiteout (a character device 0/0, or a
//! zero-size regular file carrying `<ns>.overlay.whiteout` in a directory marked
//! `<ns>.overlay.opaque=x`, as kernel 6.8 wants), a directory (opaque `y`, holding xattr
//! whiteouts `x`, renamed from its `<ns>.overlay.redirect`), or anything else. An entry that
//! vanished between the listing and the look (`ENOENT`, `ENOTDIR`) is `Ok(None)`.

use std::ffi::OsStr;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, CWD, Dir, FileType, Mode, OFlags, openat, statat};
use rustix::io::Errno;

use super::{DiffError, XattrNamespace};

/// An open directory of one layer (upper or lower) and where it is on the host (for errors).
#[derive(Debug)]
pub(super) struct LayerDir {
    fd: OwnedFd,
    pub(super) path: PathBuf,
    /// Marked `overlay.opaque=x`: its zero-size files may be xattr whiteouts.
    xwhiteouts: bool,
}

/// What overlayfs makes of one entry of a layer directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Classified {
    Whiteout,
    Dir(DirMarks),
    /// A regular file, symlink, device, FIFO or socket (a metacopy file included: its data is
    /// still the lower one's, its metadata changed, so it is a change like any copy-up).
    Other,
}

/// The overlay xattrs of a directory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct DirMarks {
    /// `overlay.opaque=y`: nothing below it comes from the lower layers.
    pub(super) opaque: bool,
    /// `overlay.redirect`: the lower directory its content comes from (a renamed directory):
    /// absolute from the layers' root (`/a/b`) or a name in the same parent (`b`).
    pub(super) redirect: Option<Vec<u8>>,
}

impl LayerDir {
    /// Opens a layer's root directory (a path the kernel reported for the mount: followed, it
    /// was resolved by whoever mounted the overlay).
    pub(super) fn open_root(path: &Path, ns: XattrNamespace) -> Result<LayerDir, DiffError> {
        let fd = openat(
            CWD,
            path,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| DiffError::open(path, e))?;
        let xwhiteouts = xattr(&fd, ns, "opaque")
            .map_err(|e| DiffError::read(path, e))?
            .is_some_and(|v| v == b"x");
        Ok(LayerDir {
            fd,
            path: path.to_path_buf(),
            xwhiteouts,
        })
    }

    /// Opens the subdirectory `name` (never through a symlink); `Ok(None)` if it vanished or is
    /// no longer a directory.
    pub(super) fn open_child(
        &self,
        name: &OsStr,
        ns: XattrNamespace,
    ) -> Result<Option<(LayerDir, DirMarks)>, DiffError> {
        let path = self.path.join(name);
        let fd = match openat(
            &self.fd,
            name,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        ) {
            Ok(fd) => fd,
            Err(e) if gone(e) => return Ok(None),
            Err(e) => return Err(DiffError::read(&path, e)),
        };
        let opaque = xattr(&fd, ns, "opaque").map_err(|e| DiffError::read(&path, e))?;
        let redirect = xattr(&fd, ns, "redirect").map_err(|e| DiffError::read(&path, e))?;
        let marks = DirMarks {
            opaque: opaque.as_deref() == Some(b"y"),
            redirect,
        };
        let xwhiteouts = opaque.as_deref() == Some(b"x");
        Ok(Some((
            LayerDir {
                fd,
                path,
                xwhiteouts,
            },
            marks,
        )))
    }

    /// The names in this directory but `.` and `..`, in the order the file system gives.
    pub(super) fn names(&self) -> Result<Vec<std::ffi::OsString>, DiffError> {
        let mut dir = Dir::read_from(&self.fd).map_err(|e| DiffError::read(&self.path, e))?;
        let mut out = Vec::new();
        while let Some(entry) = dir.read() {
            let entry = match entry {
                Ok(entry) => entry,
                // The directory itself was removed while being listed: nothing more in it.
                Err(e) if gone(e) => break,
                Err(e) => return Err(DiffError::read(&self.path, e)),
            };
            let name = entry.file_name().to_bytes();
            if name != b"." && name != b".." {
                out.push(OsStr::from_bytes(name).to_os_string());
            }
        }
        Ok(out)
    }

    /// What overlayfs makes of the entry `name`; `Ok(None)` when there is none.
    pub(super) fn classify(
        &self,
        name: &OsStr,
        ns: XattrNamespace,
    ) -> Result<Option<Classified>, DiffError> {
        let stat = match statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(stat) => stat,
            Err(e) if gone(e) => return Ok(None),
            Err(e) => return Err(DiffError::read(&self.path.join(name), e)),
        };
        Ok(Some(match FileType::from_raw_mode(stat.st_mode) {
            FileType::CharacterDevice if stat.st_rdev == 0 => Classified::Whiteout,
            FileType::Directory => Classified::Dir(DirMarks::default()),
            FileType::RegularFile if stat.st_size == 0 && self.xwhiteouts => {
                match self.xattr_of_entry(name, ns, "whiteout") {
                    Ok(Some(_)) => Classified::Whiteout,
                    Ok(None) => Classified::Other,
                    Err(e) if gone(e) => return Ok(None),
                    Err(e) => return Err(DiffError::read(&self.path.join(name), e)),
                }
            }
            _ => Classified::Other,
        }))
    }

    /// An xattr of an entry that is not opened (a regular file may be a FIFO by the time it
    /// is opened, a device must never be): `lgetxattr` through `/proc/self/fd/<dir>/<name>`,
    /// which resolves the directory by its fd and does not follow `name`.
    fn xattr_of_entry(
        &self,
        name: &OsStr,
        ns: XattrNamespace,
        key: &str,
    ) -> Result<Option<Vec<u8>>, Errno> {
        let mut link = PathBuf::from(format!("/proc/self/fd/{}", self.fd.as_raw_fd()));
        link.push(name);
        read_xattr(|buf| rustix::fs::lgetxattr(&link, ns.key(key).as_str(), buf))
    }
}

/// An overlay xattr of an open directory; `None` when it is not set.
fn xattr(fd: &OwnedFd, ns: XattrNamespace, key: &str) -> Result<Option<Vec<u8>>, Errno> {
    read_xattr(|buf| rustix::fs::fgetxattr(fd.as_fd(), ns.key(key).as_str(), buf))
}

/// Calls a getxattr with a buffer big enough for a redirect (a path: up to 4096 bytes, with
/// room to spare); ENODATA (not set) and ENOTSUP (a file system without xattrs) are `None`. A
/// longer value (ERANGE: a stranger's 64 KiB `user.` xattr) is set but means nothing overlay
/// reads: an empty value, neither `y` nor `x` nor a redirect.
fn read_xattr(get: impl Fn(&mut [u8]) -> Result<usize, Errno>) -> Result<Option<Vec<u8>>, Errno> {
    let mut buf = vec![0u8; 8192];
    match get(&mut buf) {
        Ok(len) => {
            buf.truncate(len);
            Ok(Some(buf))
        }
        Err(Errno::NODATA) | Err(Errno::NOTSUP) => Ok(None),
        Err(Errno::RANGE) => Ok(Some(Vec::new())),
        Err(e) => Err(e),
    }
}

/// The entry or one of the directories above it is gone (removed or replaced mid-walk).
pub(super) fn gone(e: Errno) -> bool {
    matches!(e, Errno::NOENT | Errno::NOTDIR | Errno::STALE)
}
