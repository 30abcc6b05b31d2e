//! Kept-open cgroup directories: the files of a cgroup read every tick are opened relative to
//! a descriptor of its directory, so the kernel resolves one name instead of the whole path
//! (`/sys/fs/cgroup/pids/docker/<id>/pids.current`: seven components, two of them mount
//! crossings, each a dentry lookup and a kernfs revalidation).
//!
//! Contract:
//! - [`CgroupDirs::read`] gives exactly what reading the path would: the same bytes, and an
//!   error of the same kind (ENOENT for a file or cgroup that is not there).
//! - A kept descriptor is an `O_PATH` one: it opens nothing in the kernel's cgroup code and
//!   costs a `struct file` (~0.25 KiB), not the ~4.5 KiB of a kept-open cgroup file. It pins
//!   the directory's dentry, never the cgroup: a cgroup removed under it reads ENOENT through
//!   it; the descriptor is then dropped and the path opened afresh, so a cgroup made again at
//!   the same path is read, never the removed one.
//! - [`CgroupDirs::kept_or_exists`] takes a kept directory as there without a syscall (the
//!   sampler's placing of each container's cgroups every tick); a removed one is found by
//!   the next read through it, as above, and is not kept after it.
//! - [`CgroupDirs::end_tick`] closes every directory not asked for since the previous call:
//!   no removed cgroup's directory is held past the tick after its container went.
//! - At most [`CgroupDirs::budget`] directories are kept (a share of `RLIMIT_NOFILE`, at most
//!   `MOST_KEPT`); beyond it files are read by their path, as without this.
//! - [`CgroupDirs::default`] keeps nothing (every read by path): the one-shot readers'.

use foldhash::HashMap;
use std::fs::File;
use std::io;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use rustix::fs::{Access, AtFlags, Mode, OFlags};

use super::session::is_gone;
use crate::host::whole_file::{pread_whole, read_whole};

/// The most directories kept, whatever the descriptor limit (a few per container).
const MOST_KEPT: usize = 16_384;

/// The descriptors are a shared resource (the network's kept files take a quarter of the soft
/// limit): keep at most a quarter of it.
const SHARE_OF_LIMIT: u64 = 4;

/// A file every cgroup directory has, v1 and v2: looked up through a kept descriptor to learn
/// whether its cgroup still exists.
const ALWAYS_THERE: &str = "cgroup.procs";

/// Kept-open cgroup directories, by path (see the module).
#[derive(Debug, Default)]
pub struct CgroupDirs {
    kept: HashMap<PathBuf, Kept>,
    budget: usize,
    tick: u64,
}

#[derive(Debug)]
struct Kept {
    fd: OwnedFd,
    /// The tick it was last asked for in.
    used: u64,
}

impl CgroupDirs {
    /// Keeps at most a quarter of this process's soft descriptor limit.
    pub fn new() -> CgroupDirs {
        CgroupDirs::with_budget(crate::sys::fd::descriptor_budget(SHARE_OF_LIMIT, MOST_KEPT))
    }

    /// Keeps at most `budget` directories.
    pub fn with_budget(budget: usize) -> CgroupDirs {
        CgroupDirs {
            budget,
            ..CgroupDirs::default()
        }
    }

    /// How many directories it may keep.
    pub fn budget(&self) -> usize {
        self.budget
    }

    /// How many it keeps now.
    pub fn len(&self) -> usize {
        self.kept.len()
    }

    pub fn is_empty(&self) -> bool {
        self.kept.is_empty()
    }

    /// Reads the whole file at `path` (a file in a cgroup directory) into `buf`.
    pub fn read(&mut self, path: &Path, buf: &mut Vec<u8>) -> io::Result<()> {
        let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
            return read_whole(path, buf);
        };
        if let Some(kept) = self.kept.get_mut(dir) {
            kept.used = self.tick;
            match read_at(&kept.fd, name, buf) {
                // A file absent from a live cgroup (a controller's it does not have) is just
                // absent; a removed cgroup's directory is dropped and the path opened afresh.
                Err(e) if is_gone(&e) && !alive(&kept.fd) => {
                    self.kept.remove(dir);
                }
                done => return done,
            }
        }
        match self.open_dir(dir) {
            Some(fd) => read_at(fd, name, buf),
            None => read_whole(path, buf),
        }
    }

    /// Whether the cgroup directory `dir` exists (and is a directory).
    pub fn exists(&mut self, dir: &Path) -> bool {
        if let Some(kept) = self.kept.get_mut(dir) {
            kept.used = self.tick;
            if alive(&kept.fd) {
                return true;
            }
            // Removed, or a directory without that file (not a cgroup's): ask the path.
            self.kept.remove(dir);
        }
        dir.is_dir()
    }

    /// Whether the cgroup directory `dir` is to be read: a kept one is, without a syscall
    /// (were its cgroup removed, a read through it finds it gone, drops it and reads the path
    /// afresh, [`CgroupDirs::read`]); another one when it exists ([`CgroupDirs::exists`]).
    pub fn kept_or_exists(&mut self, dir: &Path) -> bool {
        match self.kept.get_mut(dir) {
            Some(kept) => {
                kept.used = self.tick;
                true
            }
            None => dir.is_dir(),
        }
    }

    /// Closes every directory not asked for since the last call, and starts the next tick.
    pub fn end_tick(&mut self) {
        let tick = self.tick;
        self.kept.retain(|_, kept| kept.used == tick);
        self.tick += 1;
    }

    /// The kept descriptor of `dir`, opened now if the budget allows; `None` when it does not
    /// or the directory cannot be opened (the caller reads by path: same answer, same error).
    fn open_dir(&mut self, dir: &Path) -> Option<&OwnedFd> {
        if self.kept.len() >= self.budget {
            return None;
        }
        let fd = rustix::fs::open(
            dir,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .ok()?;
        let kept = self.kept.entry(dir.to_path_buf()).or_insert(Kept {
            fd,
            used: self.tick,
        });
        Some(&kept.fd)
    }
}

/// Reads the whole of `name` in the directory `dir` into `buf`.
fn read_at(dir: &OwnedFd, name: &std::ffi::OsStr, buf: &mut Vec<u8>) -> io::Result<()> {
    let fd = rustix::fs::openat(dir, name, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())?;
    pread_whole(&File::from(fd), buf)
}

/// Whether the cgroup whose directory `dir` is still exists.
fn alive(dir: &OwnedFd) -> bool {
    rustix::fs::accessat(dir, ALWAYS_THERE, Access::EXISTS, AtFlags::empty()).is_ok()
}

#[cfg(test)]
mod tests;
