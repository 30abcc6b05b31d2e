//! The layer directory as file descriptors: every lookup starts at the layer root's own fd and
//! goes through `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)` with
//! `O_DIRECTORY | O_NOFOLLOW`, so no symlink (one the image made or any other) and no `..` is
//! ever followed, and nothing outside the layer can be reached. Entries are then created and
//! removed with `*at` calls relative to the parent directory's fd. A kernel without `openat2`
//! (before 5.6) gets `openat(O_NOFOLLOW)` one component at a time, which is as tight for single
//! names.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;
use std::rc::Rc;

use rustix::fs::{AtFlags, Dir, FileType, Mode, OFlags, ResolveFlags, Stat};
use rustix::io::Errno;

use super::names::{LayerPath, joined, shown_parts};

/// Mode of a parent directory an entry implies but the archive never lists.
const IMPLIED_DIR_MODE: u32 = 0o755;

/// Why an entry could not be placed.
#[derive(Debug)]
pub(super) enum PlaceError {
    /// The archive asks for something hazardous or impossible: the entry is refused.
    Refused(String),
    /// A directory that must already exist (a hard link's source's) does not; its path.
    Missing(String),
    /// The file system failed at `at` (a path relative to the layer root).
    Io { at: String, source: io::Error },
}

impl PlaceError {
    pub(super) fn io(at: impl Into<String>, source: impl Into<io::Error>) -> Self {
        PlaceError::Io {
            at: at.into(),
            source: source.into(),
        }
    }
}

/// The device and inode of a file: what a re-opened directory must still be.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct NodeId {
    dev: u64,
    ino: u64,
}

impl NodeId {
    // The field widths differ across architectures (`c_ulong` or `u64`).
    #[allow(clippy::unnecessary_cast)]
    pub(super) fn of(stat: &Stat) -> Self {
        NodeId {
            dev: stat.st_dev as u64,
            ino: stat.st_ino as u64,
        }
    }
}

/// What [`LayerTree::clear`] found at a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Cleared {
    /// Nothing was there.
    Empty,
    /// A directory was there and was kept (`replace_dir` unset); here is its identity.
    KeptDir(NodeId),
    /// A non-directory was unlinked.
    RemovedFile,
    /// A directory and everything in it were removed.
    RemovedDir,
}

/// The layer root's fd, with the last parent directory looked up (consecutive entries mostly
/// share one).
pub(super) struct LayerTree {
    root: Rc<OwnedFd>,
    last_parent: Option<(Vec<Vec<u8>>, Rc<OwnedFd>)>,
}

impl LayerTree {
    /// Opens `dest` (made by isotop, so trusted) as the root everything else is relative to.
    pub(super) fn open(dest: &Path) -> io::Result<Self> {
        let root = rustix::fs::open(
            dest,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        Ok(LayerTree {
            root: Rc::new(root),
            last_parent: None,
        })
    }

    /// The directory `path` will be created in, making missing parents as plain directories.
    pub(super) fn parent_of(&mut self, path: &LayerPath) -> Result<Rc<OwnedFd>, PlaceError> {
        let parts = path.parent_parts();
        if let Some((cached, fd)) = &self.last_parent
            && cached.as_slice() == parts
        {
            return Ok(Rc::clone(fd));
        }
        let fd = Rc::new(self.open_dir(parts, true)?);
        self.last_parent = Some((parts.to_vec(), Rc::clone(&fd)));
        Ok(fd)
    }

    /// The directory at `parts` if it exists beneath the root, without following symlinks.
    pub(super) fn existing_dir(&self, parts: &[Vec<u8>]) -> Result<OwnedFd, PlaceError> {
        self.open_dir(parts, false)
    }

    /// Opens the directory at `parts`: in one call when every component is already a real
    /// directory, else one component at a time, creating missing ones when `create` is set,
    /// so that a refusal names the component at fault.
    fn open_dir(&self, parts: &[Vec<u8>], create: bool) -> Result<OwnedFd, PlaceError> {
        if parts.is_empty() {
            return self.root.try_clone().map_err(|e| PlaceError::io(".", e));
        }
        if let Ok(fd) = open_beneath(self.root.as_fd(), &joined(parts)) {
            return Ok(fd);
        }
        let mut current = self.root.try_clone().map_err(|e| PlaceError::io(".", e))?;
        for (index, part) in parts.iter().enumerate() {
            let shown = || shown_parts(&parts[..=index]);
            let next = match open_beneath(current.as_fd(), part) {
                Err(Errno::NOENT) if create => {
                    match rustix::fs::mkdirat(
                        &current,
                        part.as_slice(),
                        Mode::from_raw_mode(IMPLIED_DIR_MODE),
                    ) {
                        Ok(()) | Err(Errno::EXIST) => {}
                        Err(e) => return Err(PlaceError::io(shown(), e)),
                    }
                    open_beneath(current.as_fd(), part)
                }
                other => other,
            };
            current = match next {
                Ok(fd) => fd,
                Err(Errno::NOENT) => return Err(PlaceError::Missing(shown())),
                Err(Errno::LOOP | Errno::NOTDIR) => {
                    let symlink =
                        rustix::fs::statat(&current, part.as_slice(), AtFlags::SYMLINK_NOFOLLOW)
                            .is_ok_and(|st| {
                                FileType::from_raw_mode(st.st_mode) == FileType::Symlink
                            });
                    return Err(PlaceError::Refused(if symlink {
                        format!("{} is a symlink, which extraction never follows", shown())
                    } else {
                        format!("{} is not a directory", shown())
                    }));
                }
                Err(e) => return Err(PlaceError::io(shown(), e)),
            };
        }
        Ok(current)
    }

    /// Re-opens the directory at `path` for its deferred metadata: `None` when it is gone or
    /// no longer a directory reached without symlinks.
    pub(super) fn reopen_dir(&self, path: &LayerPath) -> Result<Option<OwnedFd>, PlaceError> {
        match self.open_dir(path.parts(), false) {
            Ok(fd) => Ok(Some(fd)),
            Err(PlaceError::Refused(_) | PlaceError::Missing(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Makes room for an entry at `name` in `parent`: a non-directory is unlinked, a directory
    /// is removed with everything in it when `replace_dir` is set and kept otherwise. Never
    /// follows a symlink (one at `name` is unlinked itself).
    pub(super) fn clear(
        &mut self,
        parent: BorrowedFd<'_>,
        path: &LayerPath,
        replace_dir: bool,
    ) -> Result<Cleared, PlaceError> {
        let name = path.name();
        let stat = match rustix::fs::statat(parent, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(stat) => stat,
            Err(Errno::NOENT) => return Ok(Cleared::Empty),
            Err(e) => return Err(PlaceError::io(path.shown(), e)),
        };
        if FileType::from_raw_mode(stat.st_mode) != FileType::Directory {
            rustix::fs::unlinkat(parent, name, AtFlags::empty())
                .map_err(|e| PlaceError::io(path.shown(), e))?;
            return Ok(Cleared::RemovedFile);
        }
        if !replace_dir {
            return Ok(Cleared::KeptDir(NodeId::of(&stat)));
        }
        // The cached parent may be inside the tree that goes.
        self.last_parent = None;
        remove_tree(parent, name).map_err(|e| PlaceError::io(path.shown(), e))?;
        Ok(Cleared::RemovedDir)
    }

    /// Identity of what now sits at `name` in `parent` (not following a symlink).
    pub(super) fn node_at(parent: BorrowedFd<'_>, path: &LayerPath) -> Result<Stat, PlaceError> {
        rustix::fs::statat(parent, path.name(), AtFlags::SYMLINK_NOFOLLOW)
            .map_err(|e| PlaceError::io(path.shown(), e))
    }
}

/// One `openat2` beneath `dir` that follows no symlink at all: the result is a directory
/// inside `dir`, or an error.
fn open_beneath(dir: BorrowedFd<'_>, relative: &[u8]) -> Result<OwnedFd, Errno> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    match rustix::fs::openat2(
        dir,
        relative,
        flags,
        Mode::empty(),
        ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS,
    ) {
        Err(Errno::NOSYS) => {}
        other => return other,
    }
    // Before Linux 5.6: only single names come here (see `open_dir`), and `O_NOFOLLOW`
    // refuses a symlink in the one place a single name has.
    if relative.contains(&b'/') {
        return Err(Errno::NOTSUP);
    }
    rustix::fs::openat(dir, relative, flags, Mode::empty())
}

/// Removes the directory `name` in `parent` and everything in it, through fds only: each level
/// is opened beneath its parent without following symlinks (a symlink inside is unlinked, not
/// entered). Depth is bounded by `names::MAX_DEPTH`, so the recursion is too.
fn remove_tree(parent: BorrowedFd<'_>, name: &[u8]) -> io::Result<()> {
    let here = open_beneath(parent, name)?;
    // Names first, then removal: a directory is not changed while it is being read.
    let mut children = Vec::new();
    for entry in Dir::read_from(&here)? {
        let entry = entry?;
        let child = entry.file_name().to_bytes();
        if child == b"." || child == b".." {
            continue;
        }
        children.push((child.to_vec(), entry.file_type()));
    }
    for (child, kind) in children {
        let kind = match kind {
            FileType::Unknown => FileType::from_raw_mode(
                rustix::fs::statat(&here, child.as_slice(), AtFlags::SYMLINK_NOFOLLOW)?.st_mode,
            ),
            known => known,
        };
        if kind == FileType::Directory {
            remove_tree(here.as_fd(), &child)?;
        } else {
            rustix::fs::unlinkat(&here, child.as_slice(), AtFlags::empty())?;
        }
    }
    rustix::fs::unlinkat(parent, name, AtFlags::REMOVEDIR)?;
    Ok(())
}
