//! Owners, modes and mtimes from tar headers, set on what the unpack itself created and never
//! through a symlink: on a file descriptor of the node (`fchown`, `fchmod`, `futimens`) for
//! regular files, directories and FIFOs; with `AT_SYMLINK_NOFOLLOW` for a symlink (owner and
//! mtime only: a symlink's mode means nothing and is never set); and for a device node, which
//! must not be opened (opening runs the driver), by name in its parent's fd after checking it is
//! still the node this unpack made (see [`apply_to_device`]).
//!
//! Directory metadata is deferred to the end ([`DeferredDirs`]): entries written into a
//! directory change its mtime, and a read-only mode would stop them when not root. Each
//! directory is re-opened beneath the layer root without symlinks and must still be the
//! directory this unpack created (device and inode); a later entry that replaces or removes a
//! directory drops its deferred metadata and that of everything it held.

use std::collections::BTreeMap;
use std::io;
use std::os::fd::{AsFd, BorrowedFd};

use rustix::fs::{AtFlags, FileType, Gid, Mode, Timespec, Timestamps, Uid};

use super::Privileges;
use super::names::LayerPath;
use super::tree::{LayerTree, NodeId, PlaceError};

/// What a header says about an entry's owner, permissions and modification time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Metadata {
    /// Permission bits with set-id and sticky (`& 0o7777`).
    pub(super) mode: u32,
    /// Seconds since the epoch (tar keeps whole seconds outside PAX records).
    pub(super) mtime_secs: i64,
    pub(super) uid: u32,
    pub(super) gid: u32,
}

impl Metadata {
    /// Reads the header's fields; owner ids past 32 bits are refused (they would wrap, and
    /// `u32::MAX` means "leave unchanged" to `chown`).
    pub(super) fn of(header: &tar::Header) -> Result<Self, String> {
        // Not the tar reader's message: it quotes the field's bytes.
        let mode = header
            .mode()
            .map_err(|_| "its mode field is not an octal number".to_string())?
            & 0o7777;
        let id = |value: io::Result<u64>, what: &str| -> Result<u32, String> {
            let value = value.unwrap_or(0);
            u32::try_from(value)
                .ok()
                .filter(|id| *id != u32::MAX)
                .ok_or_else(|| format!("its {what} {value} is not a valid id"))
        };
        Ok(Metadata {
            mode,
            mtime_secs: i64::try_from(header.mtime().unwrap_or(0)).unwrap_or(i64::MAX),
            uid: id(header.uid(), "uid")?,
            gid: id(header.gid(), "gid")?,
        })
    }

    fn times(&self) -> Timestamps {
        let when = Timespec {
            tv_sec: self.mtime_secs,
            tv_nsec: 0,
        };
        Timestamps {
            last_access: when,
            last_modification: when,
        }
    }

    fn owner(&self) -> (Option<Uid>, Option<Gid>) {
        (Some(Uid::from_raw(self.uid)), Some(Gid::from_raw(self.gid)))
    }
}

/// Owner (as root; first, since `chown` clears set-id bits), mode and mtime on an open fd of a
/// regular file, directory or FIFO this unpack created.
pub(super) fn apply_to_fd(
    fd: BorrowedFd<'_>,
    meta: &Metadata,
    privileges: Privileges,
) -> io::Result<()> {
    if privileges.root {
        let (uid, gid) = meta.owner();
        rustix::fs::fchown(fd, uid, gid)?;
    }
    rustix::fs::fchmod(fd, Mode::from_raw_mode(meta.mode))?;
    rustix::fs::futimens(fd, &meta.times())?;
    Ok(())
}

/// Owner (as root) and mtime of the symlink `name` in `parent` itself; its mode is left alone.
pub(super) fn apply_to_symlink(
    parent: BorrowedFd<'_>,
    name: &[u8],
    meta: &Metadata,
    privileges: Privileges,
) -> io::Result<()> {
    if privileges.root {
        let (uid, gid) = meta.owner();
        rustix::fs::chownat(parent, name, uid, gid, AtFlags::SYMLINK_NOFOLLOW)?;
    }
    rustix::fs::utimensat(parent, name, &meta.times(), AtFlags::SYMLINK_NOFOLLOW)?;
    Ok(())
}

/// Owner, mode and mtime of the device node `name` in `parent`, which this unpack just made
/// as `made`. Opening a device would run its driver, and Linux before 6.6 (`fchmodat2`) cannot
/// `chmod` without following, so the mode is set by name — only after checking that the name
/// still is that very device node, not a symlink: the layer directory is isotop's own, and
/// nothing but this unpack writes to it.
pub(super) fn apply_to_device(
    parent: BorrowedFd<'_>,
    name: &[u8],
    made: NodeId,
    meta: &Metadata,
    privileges: Privileges,
) -> io::Result<()> {
    if privileges.root {
        let (uid, gid) = meta.owner();
        rustix::fs::chownat(parent, name, uid, gid, AtFlags::SYMLINK_NOFOLLOW)?;
    }
    let now = rustix::fs::statat(parent, name, AtFlags::SYMLINK_NOFOLLOW)?;
    let kind = FileType::from_raw_mode(now.st_mode);
    if NodeId::of(&now) != made
        || !matches!(kind, FileType::CharacterDevice | FileType::BlockDevice)
    {
        return Err(io::Error::other(
            "the device node changed while it was being unpacked",
        ));
    }
    rustix::fs::chmodat(
        parent,
        name,
        Mode::from_raw_mode(meta.mode),
        AtFlags::empty(),
    )?;
    rustix::fs::utimensat(parent, name, &meta.times(), AtFlags::SYMLINK_NOFOLLOW)?;
    Ok(())
}

/// A directory's header metadata, kept until every entry is written.
#[derive(Debug, Clone, Copy)]
struct DeferredDir {
    made: NodeId,
    meta: Metadata,
}

/// Directory metadata to apply at the end of the unpack, by path inside the layer.
#[derive(Debug, Default)]
pub(super) struct DeferredDirs {
    by_path: BTreeMap<LayerPath, DeferredDir>,
}

impl DeferredDirs {
    /// Remembers the metadata of the directory at `path` (a later entry for the same directory
    /// wins, as it would when extracting in order).
    pub(super) fn record(&mut self, path: LayerPath, made: NodeId, meta: Metadata) {
        self.by_path.insert(path, DeferredDir { made, meta });
    }

    /// Drops what was recorded for `path` and everything inside it: a later entry replaced or
    /// removed that directory.
    pub(super) fn forget_tree(&mut self, path: &LayerPath) {
        // Component-wise order puts a directory's contents right after it.
        let doomed: Vec<LayerPath> = self
            .by_path
            .range(path.clone()..)
            .map(|(key, _)| key)
            .take_while(|key| key.is_within(path))
            .cloned()
            .collect();
        for key in doomed {
            self.by_path.remove(&key);
        }
    }

    /// Applies every recorded directory's metadata through its own fd, deepest first (a
    /// read-only parent must not stop its children being re-opened when not root). A
    /// directory that is no longer the one recorded fails the unpack: it cannot happen
    /// unless something else writes into the layer.
    pub(super) fn apply(self, tree: &LayerTree, privileges: Privileges) -> Result<(), PlaceError> {
        let mut dirs: Vec<(LayerPath, DeferredDir)> = self.by_path.into_iter().collect();
        dirs.sort_by_key(|(path, _)| std::cmp::Reverse(path.depth()));
        for (path, dir) in dirs {
            let changed = || {
                PlaceError::io(
                    path.shown(),
                    io::Error::other("the directory changed while the layer was unpacked"),
                )
            };
            let fd = tree.reopen_dir(&path)?.ok_or_else(changed)?;
            let now = rustix::fs::fstat(&fd).map_err(|e| PlaceError::io(path.shown(), e))?;
            if NodeId::of(&now) != dir.made {
                return Err(changed());
            }
            apply_to_fd(fd.as_fd(), &dir.meta, privileges)
                .map_err(|e| PlaceError::io(path.shown(), e))?;
        }
        Ok(())
    }
}
