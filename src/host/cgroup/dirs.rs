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
//! - The counters read every tick (`EVERY_TICK`: the CPU usage, the memory usage, the process
//!   count) are kept open too, in a kept directory on a cgroup file system (`fstatfs` says
//!   so when the directory is opened: a fixture's plain file outlives its directory, a cgroup
//!   file does not), and read with one `pread` a tick (the kernel regenerates a `seq_file` at
//!   offset 0, and a short read is a single-record file's end). A kept counter of a removed
//!   cgroup fails (ENODEV): it is dropped and the read goes through the directory, as above.
//!   At most [`CgroupDirs::file_budget`] are kept; each holds the kernel's page-sized
//!   `seq_file` buffer (~4.5 KiB of kernel memory, `bench/profiles/round13.md`), which is why
//!   only these few, not every file a reading opens; one not read in a tick is closed at its
//!   end.
//! - A file read through a kept directory is read to its first short read, a pid list
//!   (`MULTI_RECORD`) to a read of nothing.
//! - [`CgroupDirs::default`] keeps nothing (every read by path): the one-shot readers'.

use foldhash::HashMap;
use std::fs::File;
use std::io;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use rustix::fs::{Access, AtFlags, Mode, OFlags};

use super::session::is_gone;
use crate::host::whole_file::{pread_record, pread_whole, read_whole};

/// The most directories kept, whatever the descriptor limit (a few per container).
const MOST_KEPT: usize = 16_384;

/// The descriptors are a shared resource (the network's kept files take a quarter of the soft
/// limit): keep at most a quarter of it.
const SHARE_OF_LIMIT: u64 = 4;

/// The most counter files kept open: ~9 MiB of kernel memory at ~4.5 KiB each.
const MOST_KEPT_FILES: usize = 2_048;

/// The counters a sampler reads in every container's own cgroup every tick, whatever its
/// state: single-record files (never `cgroup.procs`, whose kept descriptor would re-read the
/// kernel's pid list cached at open).
const EVERY_TICK: [&str; 5] = [
    "cpuacct.usage",
    "cpu.stat",
    "pids.current",
    "memory.usage_in_bytes",
    "memory.current",
];

/// The cgroup files whose `seq_file` shows a record per line (pid lists): a read of them may
/// stop short of the end. Every other cgroup file shows one record, whole in a read that has
/// room for it (`whole_file::pread_record`: one `pread` instead of two).
const MULTI_RECORD: [&str; 3] = ["cgroup.procs", "tasks", "cgroup.threads"];

/// `statfs` `f_type` of cgroup v1 and v2 file systems (`linux/magic.h`).
const CGROUP_SUPER_MAGIC: u64 = 0x0027_e0eb;
const CGROUP2_SUPER_MAGIC: u64 = 0x6367_7270;

/// A file every cgroup directory has, v1 and v2: looked up through a kept descriptor to learn
/// whether its cgroup still exists.
const ALWAYS_THERE: &str = "cgroup.procs";

/// Kept-open cgroup directories, by path (see the module).
#[derive(Debug, Default)]
pub struct CgroupDirs {
    kept: HashMap<PathBuf, Kept>,
    budget: usize,
    /// Counter files kept open, over every directory, and the most that may be.
    files: usize,
    file_budget: usize,
    tick: u64,
    /// The read buffer of the readings made through these directories, handed from one to
    /// the next (`cgroup::session`): one made per reading grew to a page by reallocation, 400
    /// readings a tick on a host of 400 containers.
    pub(super) spare_buf: Vec<u8>,
}

#[derive(Debug)]
struct Kept {
    fd: OwnedFd,
    /// The tick it was last asked for in.
    used: u64,
    /// On a cgroup file system: its counters may be kept open.
    cgroupfs: bool,
    /// Its kept-open counters: a name of `EVERY_TICK`, the file, the tick it was last read.
    files: Vec<(&'static str, File, u64)>,
}

impl CgroupDirs {
    /// Keeps at most a quarter of this process's soft descriptor limit.
    pub fn new() -> CgroupDirs {
        CgroupDirs::with_budget(crate::sys::fd::descriptor_budget(SHARE_OF_LIMIT, MOST_KEPT))
    }

    /// Keeps at most `budget` directories, and as many counter files.
    pub fn with_budget(budget: usize) -> CgroupDirs {
        CgroupDirs {
            budget,
            file_budget: budget.min(MOST_KEPT_FILES),
            ..CgroupDirs::default()
        }
    }

    /// How many directories it may keep.
    pub fn budget(&self) -> usize {
        self.budget
    }

    /// How many counter files it may keep open.
    pub fn file_budget(&self) -> usize {
        self.file_budget
    }

    /// How many counter files it keeps open now.
    pub fn files_len(&self) -> usize {
        self.files
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
        let tick = self.tick;
        if let Some(kept) = self.kept.get_mut(dir) {
            kept.used = tick;
            if let Some(at) = kept.files.iter().position(|(kept, ..)| name == *kept) {
                let (_, file, used) = &mut kept.files[at];
                *used = tick;
                if pread_record(file, buf).is_ok() {
                    return Ok(());
                }
                // Its cgroup removed (ENODEV), or any other failure: dropped, and the read
                // goes through the directory, which tells which.
                kept.files.swap_remove(at);
                self.files -= 1;
            }
            let room = self.files < self.file_budget;
            match read_keeping(kept, name, room, tick, buf) {
                // A file absent from a live cgroup (a controller's it does not have) is just
                // absent; a removed cgroup's directory is dropped and the path opened afresh.
                Err(e) if is_gone(&e) && !alive(&kept.fd) => {
                    self.drop_dir(dir);
                }
                done => return self.counted(done),
            }
        }
        let room = self.files < self.file_budget;
        match self.open_dir(dir) {
            Some(kept) => {
                let done = read_keeping(kept, name, room, tick, buf);
                self.counted(done)
            }
            None => read_whole(path, buf),
        }
    }

    /// A read's outcome, counting the counter file it kept open, if any.
    fn counted(&mut self, done: io::Result<bool>) -> io::Result<()> {
        if let Ok(true) = done {
            self.files += 1;
        }
        done.map(drop)
    }

    /// Whether the cgroup directory `dir` exists (and is a directory).
    pub fn exists(&mut self, dir: &Path) -> bool {
        if let Some(kept) = self.kept.get_mut(dir) {
            kept.used = self.tick;
            if alive(&kept.fd) {
                return true;
            }
            // Removed, or a directory without that file (not a cgroup's): ask the path.
            self.drop_dir(dir);
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
        let mut files = 0;
        for kept in self.kept.values_mut() {
            kept.files.retain(|(_, _, used)| *used == tick);
            files += kept.files.len();
        }
        self.files = files;
        self.tick += 1;
    }

    /// Drops a kept directory and its kept counters.
    fn drop_dir(&mut self, dir: &Path) {
        if let Some(kept) = self.kept.remove(dir) {
            self.files -= kept.files.len();
        }
    }

    /// The kept descriptor of `dir`, opened now if the budget allows; `None` when it does not
    /// or the directory cannot be opened (the caller reads by path: same answer, same error).
    fn open_dir(&mut self, dir: &Path) -> Option<&mut Kept> {
        if self.kept.len() >= self.budget {
            return None;
        }
        let fd = rustix::fs::open(
            dir,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .ok()?;
        let cgroupfs = rustix::fs::fstatfs(&fd).is_ok_and(|fs| {
            // `f_type`'s width differs by architecture; the magic numbers fit 32 bits.
            let kind = fs.f_type as u64;
            kind == CGROUP_SUPER_MAGIC || kind == CGROUP2_SUPER_MAGIC
        });
        let kept = self.kept.entry(dir.to_path_buf()).or_insert(Kept {
            fd,
            used: self.tick,
            cgroupfs,
            files: Vec::new(),
        });
        Some(kept)
    }
}

/// Reads the whole of `name` in the kept directory into `buf`; keeps the file open when it is
/// one of `EVERY_TICK`, the directory is a cgroup's and there is `room`, and says whether it
/// did.
fn read_keeping(
    kept: &mut Kept,
    name: &std::ffi::OsStr,
    room: bool,
    tick: u64,
    buf: &mut Vec<u8>,
) -> io::Result<bool> {
    let fd = rustix::fs::openat(
        &kept.fd,
        name,
        OFlags::RDONLY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let file = File::from(fd);
    let every_tick = EVERY_TICK
        .iter()
        .find(|n| name == **n)
        .filter(|_| room && kept.cgroupfs);
    match every_tick {
        Some(&name) => {
            pread_record(&file, buf)?;
            kept.files.push((name, file, tick));
            Ok(true)
        }
        // A pid list shows a record a pid: read to its end.
        None if MULTI_RECORD.iter().any(|n| name == *n) => pread_whole(&file, buf).map(|()| false),
        None => pread_record(&file, buf).map(|()| false),
    }
}

/// Whether the cgroup whose directory `dir` is still exists.
fn alive(dir: &OwnedFd) -> bool {
    rustix::fs::accessat(dir, ALWAYS_THERE, Access::EXISTS, AtFlags::empty()).is_ok()
}

#[cfg(test)]
mod tests;
