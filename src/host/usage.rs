//! Sizes of directory trees — a container's layers — without hurting the host.
//!
//! Contract: [`dir_usage`] counts a tree's bytes (allocated: `st_blocks` × 512, what `du -s`
//! shows; apparent: `st_size`, what `du -s --apparent-size` shows) and its files and
//! directories, every hard-linked inode once (by device and inode), symbolic links as
//! themselves (never followed), and never crosses into another file system (a mount point
//! inside the tree is skipped and counted in [`Skipped::other_fs`]; an overlay's upper and lower
//! dirs are plain directories of the host's file system, so nothing of a layer is lost). The
//! walk works on descriptors (`openat` with `O_NOFOLLOW | O_DIRECTORY`, `fstatat` with
//! `AT_SYMLINK_NOFOLLOW`, each opened directory checked to be the one stat saw), so a path
//! swapped for a symlink mid-walk is never followed. It holds one descriptor per level and
//! descends at most [`Budget::max_depth`] levels. Vanishing is normal: an entry or a
//! subdirectory deleted while it is sized is skipped and counted ([`Skipped::vanished`]); the
//! root itself deleted is [`UsageError::Gone`]. Nothing here panics on what the host holds.
//!
//! The [`Budget`] bounds the cost: a cap on entries examined per second (each is one `fstatat`)
//! and a [`Cancel`] flag checked at every entry. An [`Observer`] sees progress (every
//! [`PROGRESS_EVERY`] entries), each directory as it is entered, and supplies the clock and the
//! pause the cap waits with (so tests count the cap's waits on a virtual clock, and the
//! background worker waits on its request channel). [`cache`] remembers sizes per layer dir;
//! `sample::sizer` runs all of this on a thread of its own at idle I/O priority.

pub mod cache;
mod pace;
mod walk;

#[cfg(test)]
mod tests;

use std::io;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

pub use cache::{CachePolicy, LayerKey, LayerKind, Lookup, Measured, UsageCache};

/// How often (in entries examined) [`Observer::progress`] is called.
pub const PROGRESS_EVERY: u64 = 1000;

/// What a directory tree holds, as counted by [`dir_usage`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Bytes of the blocks allocated (`st_blocks` × 512): the disk space used (`du -s -B1`).
    pub allocated_bytes: u64,
    /// Bytes by length (`st_size`): what the files say they hold (`du -s -b`); larger than
    /// allocated for sparse files, smaller for many tiny files.
    pub apparent_bytes: u64,
    /// Inodes that are not directories (regular files, symlinks, devices, FIFOs, sockets,
    /// overlay whiteouts), each hard-linked inode once.
    pub files: u64,
    /// Directories, the root included.
    pub dirs: u64,
    /// Directory entries examined (one `fstatat` each, hard links' extra names included): what
    /// the [`Budget`]'s cap counts.
    pub entries: u64,
    /// What was left out, and why.
    pub skipped: Skipped,
}

impl Usage {
    /// True when nothing was left out: the figures are the whole tree's.
    pub fn is_complete(&self) -> bool {
        self.skipped == Skipped::default()
    }
}

/// Entries left out of a [`Usage`], by reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    /// Deleted (or replaced by something else) between being listed and being read.
    pub vanished: u64,
    /// Directories that could not be opened or listed (permission denied); their own inode is
    /// counted, their contents are not.
    pub unreadable: u64,
    /// Mount points of another file system inside the tree (not crossed, not counted).
    pub other_fs: u64,
    /// Directories deeper than [`Budget::max_depth`] (their own inode counted, not entered).
    pub too_deep: u64,
}

/// A flag that stops a walk at its next entry; clones share it (a CLI's Ctrl-C handler, the
/// worker's own shutdown).
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    /// A flag not yet raised.
    pub fn new() -> Self {
        Self::default()
    }

    /// Raises the flag: every walk holding a clone stops with [`UsageError::Cancelled`].
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// True once [`Cancel::cancel`] was called on any clone.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// The bounds of one walk.
#[derive(Debug, Clone)]
pub struct Budget {
    /// At most this many entries examined per second (after a burst of a tenth of a second's
    /// worth); `None`: as fast as the disk answers.
    pub files_per_second: Option<NonZeroU32>,
    /// Directory levels below the root that are entered (0: the root's entries only).
    pub max_depth: usize,
    /// Stops the walk when raised.
    pub cancel: Cancel,
}

impl Budget {
    /// Levels entered by default: deeper than any image layer, and one descriptor per level
    /// stays far below the usual 1,024-descriptor limit.
    pub const DEFAULT_MAX_DEPTH: usize = 256;

    /// No cap on the rate (a CLI the user asked to size, a benchmark).
    pub fn unlimited() -> Self {
        Budget {
            files_per_second: None,
            max_depth: Self::DEFAULT_MAX_DEPTH,
            cancel: Cancel::new(),
        }
    }

    /// At most `files_per_second` entries per second (0 is taken as 1).
    pub fn capped(files_per_second: u32) -> Self {
        Budget {
            files_per_second: Some(NonZeroU32::new(files_per_second).unwrap_or(NonZeroU32::MIN)),
            ..Self::unlimited()
        }
    }
}

/// What a walk tells its caller while it runs, and the clock it paces itself by. Every method
/// has a default: progress and directories ignored, the real clock, a sleeping pause.
pub trait Observer {
    /// Called every [`PROGRESS_EVERY`] entries with the figures so far.
    fn progress(&mut self, _so_far: &Usage) {}

    /// Called once a directory is open, before its entries are read; `dir` is relative to the
    /// root (the root itself is the empty path).
    fn entering(&mut self, _dir: &Path) {}

    /// The clock the rate cap measures elapsed time with.
    fn now(&mut self) -> Instant {
        Instant::now()
    }

    /// Waits `duration` (at most [`pace::MAX_PAUSE`]) because the cap is reached; may return
    /// early (the cap checks the clock again and the cancel flag).
    fn pause(&mut self, duration: Duration) {
        std::thread::sleep(duration);
    }
}

/// An observer that only keeps the real clock.
#[derive(Debug, Default)]
pub struct Unobserved;

impl Observer for Unobserved {}

/// Why a tree could not be sized.
#[derive(Debug, thiserror::Error)]
pub enum UsageError {
    #[error("{path} is gone: deleted before or while it was sized")]
    Gone { path: PathBuf },
    #[error("{path} is not a directory (a symlink or a file): only real directories are sized")]
    NotADirectory { path: PathBuf },
    #[error("cannot size {path}: permission denied (run isotop as root to size it)")]
    PermissionDenied { path: PathBuf },
    #[error("cannot size {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("sizing {path} was cancelled after {entries} entries")]
    Cancelled { path: PathBuf, entries: u64 },
}

impl UsageError {
    /// Maps a failed system call on `path` to its variant.
    fn from_errno(path: &Path, errno: rustix::io::Errno) -> Self {
        use rustix::io::Errno;
        let path = path.to_path_buf();
        match errno {
            Errno::NOENT => UsageError::Gone { path },
            Errno::NOTDIR | Errno::LOOP => UsageError::NotADirectory { path },
            Errno::ACCESS | Errno::PERM => UsageError::PermissionDenied { path },
            other => UsageError::Io {
                path,
                source: io::Error::from(other),
            },
        }
    }

    /// The tree this error is about.
    pub fn path(&self) -> &Path {
        match self {
            UsageError::Gone { path }
            | UsageError::NotADirectory { path }
            | UsageError::PermissionDenied { path }
            | UsageError::Io { path, .. }
            | UsageError::Cancelled { path, .. } => path,
        }
    }
}

/// Sizes the tree at `path` within `budget` (see the module's contract). `path` itself must be
/// a directory, not a symlink to one.
pub fn dir_usage(path: &Path, budget: &Budget) -> Result<Usage, UsageError> {
    dir_usage_observed(path, budget, &mut Unobserved)
}

/// [`dir_usage`], telling `observer` its progress and pacing by its clock.
pub fn dir_usage_observed(
    path: &Path,
    budget: &Budget,
    observer: &mut dyn Observer,
) -> Result<Usage, UsageError> {
    walk::walk(path, budget, observer)
}
