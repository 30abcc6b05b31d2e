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

use foldhash::HashMap;
use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::ffi::OsStrExt;

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

/// The owner of `name` in `parent` itself (never through a symlink), as root only: a
/// non-root unpack keeps its own.
fn chown_nofollow(
    parent: BorrowedFd<'_>,
    name: &[u8],
    meta: &Metadata,
    privileges: Privileges,
) -> io::Result<()> {
    if privileges.root {
        let (uid, gid) = meta.owner();
        rustix::fs::chownat(parent, name, uid, gid, AtFlags::SYMLINK_NOFOLLOW)?;
    }
    Ok(())
}

/// Owner (as root) and mtime of the symlink `name` in `parent` itself; its mode is left alone.
pub(super) fn apply_to_symlink(
    parent: BorrowedFd<'_>,
    name: &[u8],
    meta: &Metadata,
    privileges: Privileges,
) -> io::Result<()> {
    chown_nofollow(parent, name, meta, privileges)?;
    rustix::fs::utimensat(parent, name, &meta.times(), AtFlags::SYMLINK_NOFOLLOW)?;
    Ok(())
}

/// Owner, mode and mtime of the device node `name` in `parent`, which this unpack just made
/// as `made`. Opening a device would run its driver, so the mode is set by name without
/// following a symlink ([`chmod_nofollow`]), after checking that the name still is that very
/// device node: the layer directory is isotop's own, and nothing but this unpack writes to it.
pub(super) fn apply_to_device(
    parent: BorrowedFd<'_>,
    name: &[u8],
    made: NodeId,
    meta: &Metadata,
    privileges: Privileges,
) -> io::Result<()> {
    chown_nofollow(parent, name, meta, privileges)?;
    let now = rustix::fs::statat(parent, name, AtFlags::SYMLINK_NOFOLLOW)?;
    let kind = FileType::from_raw_mode(now.st_mode);
    if NodeId::of(&now) != made
        || !matches!(kind, FileType::CharacterDevice | FileType::BlockDevice)
    {
        return Err(io::Error::other(
            "the device node changed while it was being unpacked",
        ));
    }
    chmod_nofollow(parent, name, meta.mode)?;
    rustix::fs::utimensat(parent, name, &meta.times(), AtFlags::SYMLINK_NOFOLLOW)?;
    Ok(())
}

/// `fchmodat(AT_SYMLINK_NOFOLLOW)` through the C library, which uses `fchmodat2` (Linux
/// 6.6+) or changes the node through an `O_PATH` descriptor (glibc 2.32+): never through a
/// symlink. Only where neither exists (`EOPNOTSUPP`, `ENOSYS`) the plain `fchmodat` is used,
/// which the caller's identity check above guards.
fn chmod_nofollow(parent: BorrowedFd<'_>, name: &[u8], mode: u32) -> io::Result<()> {
    use nix::sys::stat::{FchmodatFlags, Mode as NixMode, fchmodat};
    let path = std::ffi::OsStr::from_bytes(name);
    let nix_mode = NixMode::from_bits_truncate(mode as nix::libc::mode_t);
    match fchmodat(parent, path, nix_mode, FchmodatFlags::NoFollowSymlink) {
        Ok(()) => Ok(()),
        Err(nix::errno::Errno::EOPNOTSUPP | nix::errno::Errno::ENOSYS) => {
            // EOPNOTSUPP is also the answer for a symlink: that is never followed.
            let now = rustix::fs::statat(parent, name, AtFlags::SYMLINK_NOFOLLOW)?;
            if FileType::from_raw_mode(now.st_mode) == FileType::Symlink {
                return Err(io::Error::other(
                    "a symlink replaced the node; its mode was not set",
                ));
            }
            Ok(rustix::fs::chmodat(
                parent,
                name,
                Mode::from_raw_mode(mode),
                AtFlags::empty(),
            )?)
        }
        Err(e) => Err(e.into()),
    }
}

/// A directory's header metadata, kept until every entry is written.
#[derive(Debug, Clone, Copy)]
struct DeferredDir {
    made: NodeId,
    meta: Metadata,
}

/// No parent: a directory at the layer root.
const ROOT: u32 = u32::MAX;

/// One directory the unpack made or passed through, by its name in its parent.
#[derive(Debug)]
struct DirNode {
    parent: u32,
    name: Box<[u8]>,
    deferred: Option<DeferredDir>,
    /// False once a later entry replaced or removed it (and with it everything inside).
    attached: bool,
}

/// Directory metadata to apply at the end of the unpack. Stored as a tree of names (each
/// directory's own name and its parent's index), so memory grows with the directories the
/// layer really makes (a name is at most `NAME_MAX`), never with their full paths: a layer of
/// deeply nested directories must not cost its depth times its count.
#[derive(Debug, Default)]
pub(super) struct DeferredDirs {
    nodes: Vec<DirNode>,
    /// Attached children by (parent index, name).
    children: HashMap<(u32, Box<[u8]>), u32>,
}

impl DeferredDirs {
    /// The attached node of `parts`; made (without metadata) when `create` is set.
    fn node(&mut self, parts: &[Vec<u8>], create: bool) -> Option<u32> {
        let mut at = ROOT;
        for part in parts {
            let key = (at, part.clone().into_boxed_slice());
            at = match self.children.get(&key) {
                Some(&child) => child,
                None if create => {
                    let index = u32::try_from(self.nodes.len()).ok()?;
                    self.nodes.push(DirNode {
                        parent: at,
                        name: key.1.clone(),
                        deferred: None,
                        attached: true,
                    });
                    self.children.insert(key, index);
                    index
                }
                None => return None,
            };
        }
        (at != ROOT).then_some(at)
    }

    /// Remembers the metadata of the directory at `path` (a later entry for the same directory
    /// wins, as it would when extracting in order).
    pub(super) fn record(&mut self, path: LayerPath, made: NodeId, meta: Metadata) {
        // More than 4 billion directories cannot pass the entry limit; if it were raised that
        // far the directory keeps its unpack-time mode.
        if let Some(index) = self.node(path.parts(), true) {
            self.nodes[index as usize].deferred = Some(DeferredDir { made, meta });
        }
    }

    /// Drops what was recorded for `path` and everything inside it: a later entry replaced or
    /// removed that directory.
    pub(super) fn forget_tree(&mut self, path: &LayerPath) {
        if let Some(index) = self.node(path.parts(), false) {
            let node = &mut self.nodes[index as usize];
            node.attached = false;
            node.deferred = None;
            let key = (node.parent, node.name.clone());
            self.children.remove(&key);
        }
    }

    /// The path of an attached node, `None` when it or an ancestor was detached.
    fn path_of(&self, mut index: u32) -> Option<LayerPath> {
        let mut parts = Vec::new();
        while index != ROOT {
            let node = &self.nodes[index as usize];
            if !node.attached {
                return None;
            }
            parts.push(node.name.to_vec());
            index = node.parent;
        }
        parts.reverse();
        Some(LayerPath::from_parts(parts))
    }

    fn depth_of(&self, mut index: u32) -> usize {
        let mut depth = 0;
        while index != ROOT {
            depth += 1;
            index = self.nodes[index as usize].parent;
        }
        depth
    }

    /// Applies every recorded directory's metadata through its own fd, deepest first (a
    /// read-only parent must not stop its children being re-opened when not root). A
    /// directory that is no longer the one recorded fails the unpack: it cannot happen
    /// unless something else writes into the layer.
    pub(super) fn apply(self, tree: &LayerTree, privileges: Privileges) -> Result<(), PlaceError> {
        let mut order: Vec<(usize, u32)> = (0..self.nodes.len())
            .filter(|&i| self.nodes[i].deferred.is_some())
            .filter_map(|i| u32::try_from(i).ok())
            .map(|i| (self.depth_of(i), i))
            .collect();
        order.sort_by_key(|&(depth, _)| std::cmp::Reverse(depth));
        for (_, index) in order {
            let (Some(dir), Some(path)) =
                (self.nodes[index as usize].deferred, self.path_of(index))
            else {
                continue;
            };
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

    /// Bytes of names held, for the bound's test: the sum of each directory's own name.
    #[cfg(test)]
    fn name_bytes(&self) -> usize {
        self.nodes.iter().map(|node| node.name.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> Metadata {
        Metadata {
            mode: 0o755,
            mtime_secs: 0,
            uid: 0,
            gid: 0,
        }
    }

    #[test]
    fn a_device_mode_never_passes_through_a_symlink() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("host-file");
        std::fs::write(&target, "x").unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o644)).unwrap();
        std::os::unix::fs::symlink(&target, tmp.path().join("node")).unwrap();
        let dir = std::fs::File::open(tmp.path()).unwrap();
        assert!(chmod_nofollow(dir.as_fd(), b"node", 0o6777).is_err());
        let mode = std::fs::metadata(&target).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o644);
        // A node that is no symlink gets its mode.
        let fifo = tmp.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        chmod_nofollow(dir.as_fd(), b"fifo", 0o640).unwrap();
        let mode = std::fs::symlink_metadata(&fifo)
            .unwrap()
            .permissions()
            .mode()
            & 0o7777;
        assert_eq!(mode, 0o640);
    }

    #[test]
    fn deep_directories_cost_their_own_names_not_their_paths() {
        let mut dirs = DeferredDirs::default();
        let made = NodeId::default();
        // 256 levels of 200-byte names: 51 KiB of paths for the deepest alone, 6.5 MiB for all.
        let mut parts = Vec::new();
        for level in 0..256u32 {
            let mut name = vec![b'd'; 200];
            name.extend_from_slice(level.to_string().as_bytes());
            parts.push(name);
            dirs.record(LayerPath::from_parts(parts.clone()), made, meta());
        }
        let own: usize = parts.iter().map(Vec::len).sum();
        assert_eq!(dirs.name_bytes(), own);
        // Forgetting a directory forgets everything under it; a new one there is fresh.
        dirs.forget_tree(&LayerPath::from_parts(parts[..10].to_vec()));
        assert_eq!(dirs.path_of(255), None);
        assert!(dirs.path_of(8).is_some());
        // Recorded again below a fresh (metadata-less) node for the forgotten directory.
        dirs.record(LayerPath::from_parts(parts[..11].to_vec()), made, meta());
        assert_eq!(dirs.nodes.len(), 258);
        assert_eq!(
            dirs.path_of(257),
            Some(LayerPath::from_parts(parts[..11].to_vec()))
        );
        assert!(dirs.nodes[257].deferred.is_some() && dirs.nodes[256].deferred.is_none());
    }
}
