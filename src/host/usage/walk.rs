//! The descriptor-based walk behind [`dir_usage`](super::dir_usage): one open directory per
//! level on an explicit stack (no recursion), every entry examined relative to its parent's
//! descriptor.
//!
//! Contract: see the parent module; in short, no symlink followed, no other file system
//! entered, hard links once, at most `max_depth` levels, vanished entries skipped and counted.

use foldhash::HashSet;
use std::ffi::{CStr, OsStr};
use std::os::fd::{BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rustix::fs::{self, AtFlags, Dir, FileType, Mode, OFlags, Stat};
use rustix::io::Errno;

use super::pace::Pacer;
use super::{Budget, Observer, PROGRESS_EVERY, Usage, UsageError};

/// How every directory is opened: read-only, and only if it is a directory itself (not a
/// symlink to one, not a FIFO that would block).
const DIR_FLAGS: OFlags = OFlags::RDONLY
    .union(OFlags::DIRECTORY)
    .union(OFlags::NOFOLLOW)
    .union(OFlags::CLOEXEC);

struct Walk<'a> {
    root: &'a Path,
    budget: &'a Budget,
    observer: &'a mut dyn Observer,
    pacer: Pacer,
    usage: Usage,
    /// (device, inode) of every inode with more than one name seen so far.
    linked: HashSet<(u64, u64)>,
    /// The root's device: entries on another one are mount points, not crossed.
    dev: u64,
    /// The directory being read, relative to the root.
    rel: PathBuf,
}

pub(super) fn walk(
    root: &Path,
    budget: &Budget,
    observer: &mut dyn Observer,
) -> Result<Usage, UsageError> {
    let fd =
        fs::open(root, DIR_FLAGS, Mode::empty()).map_err(|e| UsageError::from_errno(root, e))?;
    let stat = fs::fstat(&fd).map_err(|e| UsageError::from_errno(root, e))?;
    let pacer = Pacer::new(budget.files_per_second, observer);
    let mut walk = Walk {
        root,
        budget,
        observer,
        pacer,
        usage: Usage::default(),
        linked: HashSet::default(),
        dev: stat.st_dev as u64,
        rel: PathBuf::new(),
    };
    walk.count_dir(&stat);
    let mut stack = vec![Dir::new(fd).map_err(|e| UsageError::from_errno(root, e))?];
    walk.observer.entering(Path::new(""));
    loop {
        // Level of the directory being read, which is also the level of its subdirectories
        // below the root.
        let depth = stack.len();
        let Some(top) = stack.last_mut() else {
            break;
        };
        match top.read() {
            None => {
                // The end, or a directory removed while it was listed (getdents fails with
                // ENOENT on a dead directory, which rustix reads as the end): a removed
                // directory has no links left. What was counted from it stays counted.
                let removed = stack
                    .pop()
                    .and_then(|done| done.stat().ok())
                    .is_some_and(|s| s.st_nlink == 0);
                if depth == 1 {
                    if removed {
                        return Err(UsageError::Gone {
                            path: root.to_path_buf(),
                        });
                    }
                } else {
                    walk.usage.skipped.vanished += u64::from(removed);
                    walk.rel.pop();
                }
            }
            Some(Err(errno)) => {
                // It cannot be listed (EACCES on a directory opened without read permission
                // for this user, EIO).
                if depth == 1 {
                    return Err(UsageError::from_errno(root, errno));
                }
                walk.usage.skipped.unreadable += 1;
                stack.pop();
                walk.rel.pop();
            }
            Some(Ok(entry)) => {
                let name = entry.file_name();
                if name == c"." || name == c".." {
                    continue;
                }
                let parent = top.fd().map_err(|e| walk.error_at(name, e))?;
                if let Some(child) = walk.visit(parent, name, depth)? {
                    stack.push(child);
                    walk.rel.push(OsStr::from_bytes(name.to_bytes()));
                    walk.observer.entering(&walk.rel);
                }
            }
        }
    }
    Ok(walk.usage)
}

impl Walk<'_> {
    /// Counts one entry of the directory `parent`; returns the entry opened as a directory when
    /// the walk is to enter it (`depth`: its level below the root).
    fn visit(
        &mut self,
        parent: BorrowedFd<'_>,
        name: &CStr,
        depth: usize,
    ) -> Result<Option<Dir>, UsageError> {
        self.admit()?;
        let stat = match fs::statat(parent, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(stat) => stat,
            Err(Errno::NOENT) => {
                self.usage.skipped.vanished += 1;
                return Ok(None);
            }
            Err(e) => return Err(self.error_at(name, e)),
        };
        if stat.st_dev as u64 != self.dev {
            // A mount point: stat saw the root of what is mounted there.
            self.usage.skipped.other_fs += 1;
            return Ok(None);
        }
        if FileType::from_raw_mode(stat.st_mode) != FileType::Directory {
            self.count_file(&stat);
            return Ok(None);
        }
        if depth > self.budget.max_depth {
            self.count_dir(&stat);
            self.usage.skipped.too_deep += 1;
            return Ok(None);
        }
        let fd: OwnedFd = match fs::openat(parent, name, DIR_FLAGS, Mode::empty()) {
            Ok(fd) => fd,
            // Gone, or replaced by a symlink or a file since the stat: not followed.
            Err(Errno::NOENT | Errno::LOOP | Errno::NOTDIR) => {
                self.usage.skipped.vanished += 1;
                return Ok(None);
            }
            Err(Errno::ACCESS | Errno::PERM) => {
                self.count_dir(&stat);
                self.usage.skipped.unreadable += 1;
                return Ok(None);
            }
            Err(e) => return Err(self.error_at(name, e)),
        };
        let opened = fs::fstat(&fd).map_err(|e| self.error_at(name, e))?;
        if (opened.st_dev, opened.st_ino) != (stat.st_dev, stat.st_ino) {
            // Renamed over or mounted on between the stat and the open: not what was listed.
            self.usage.skipped.vanished += 1;
            return Ok(None);
        }
        self.count_dir(&opened);
        Dir::new(fd).map(Some).map_err(|e| self.error_at(name, e))
    }

    /// One more entry examined: reports progress, honours the cap and the cancel flag.
    fn admit(&mut self) -> Result<(), UsageError> {
        if !self.budget.cancel.is_cancelled() {
            self.usage.entries += 1;
            if self.usage.entries.is_multiple_of(PROGRESS_EVERY) {
                self.observer.progress(&self.usage);
            }
            let paced = self
                .pacer
                .admit(self.usage.entries, self.observer, &self.budget.cancel);
            if paced.is_ok() {
                return Ok(());
            }
        }
        Err(UsageError::Cancelled {
            path: self.root.to_path_buf(),
            entries: self.usage.entries,
        })
    }

    fn count_dir(&mut self, stat: &Stat) {
        self.usage.dirs += 1;
        self.add_bytes(stat);
    }

    fn count_file(&mut self, stat: &Stat) {
        if stat.st_nlink > 1 && !self.linked.insert((stat.st_dev, stat.st_ino)) {
            return;
        }
        self.usage.files += 1;
        self.add_bytes(stat);
    }

    fn add_bytes(&mut self, stat: &Stat) {
        // 512-byte units whatever the file system's block size (stat(2)).
        let allocated = (stat.st_blocks as u64).saturating_mul(512);
        self.usage.allocated_bytes = self.usage.allocated_bytes.saturating_add(allocated);
        let apparent = u64::try_from(stat.st_size).unwrap_or(0);
        self.usage.apparent_bytes = self.usage.apparent_bytes.saturating_add(apparent);
    }

    /// An unexpected failure on entry `name` of the directory being read.
    fn error_at(&self, name: &CStr, errno: Errno) -> UsageError {
        let path = self
            .root
            .join(&self.rel)
            .join(OsStr::from_bytes(name.to_bytes()));
        UsageError::from_errno(&path, errno)
    }
}
