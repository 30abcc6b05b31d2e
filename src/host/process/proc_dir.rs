//! The per-tick reads of `/proc`, made cheap for the sampler: the pid listing with each pid
//! directory's inode number, and each process's `schedstat` and `stat`, read relative to one
//! kept-open `/proc` directory fd into caller-owned buffers, parsed without allocating.
//!
//! Contract: [`ProcDir::list`] gives the pids ascending with the `d_ino` of their directory;
//! the readers return `Ok(None)` for a process that is gone (ENOENT, ESRCH, or an empty read),
//! an error carrying the file's path otherwise. On procfs ([`ProcDir::is_procfs`]) an unchanged
//! `d_ino` for a pid means the same process: a `/proc/PID` dentry belongs to one `struct pid`
//! (its inode holds the reference), the kernel invalidates it when the process is reaped
//! (`proc_flush_pid`), and a reused pid gets a new dentry whose inode number comes from the
//! kernel's `get_next_ino` counter. A changed `d_ino` proves nothing (a dentry evicted from
//! the dcache is rebuilt with a new number), so callers check the start time then. On any
//! other file system (fixture trees) inode numbers say nothing about processes.
//!
//! On the live host, as root, the listing is kept up to date from the kernel's process
//! events between full listings ([`super::pid_watch`]'s contract: the same pids and inodes a
//! full listing would give); [`ProcDir::watching`] says whether it is.
//!
//! [`ProcDir::read_run_check`] is the sampler's "did it run" check: on the live host, in our
//! own pid namespace, from the process's CPU clock ([`super::cpu_clock`]: one system call,
//! all threads counted, no path walk, root or not); otherwise — or once the clock fails other
//! than for a gone process — from `schedstat` (the main thread).

use super::cpu_clock::process_cpu_ns;
use super::pid_watch::{self, Drained, PidWatch};
use super::proc_path::ProcPath;
use super::stat_line::number;
pub use super::stat_line::{SchedStat, StatLine, parse_schedstat};
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use rustix::fs::{Mode, OFlags, PROC_SUPER_MAGIC, RawDir};

use crate::host::error::is_vanished;
use crate::host::{HostError, HostRoot};

/// One pid of the listing and the inode number of its `/proc/PID` directory entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PidEntry {
    pub pid: i32,
    pub ino: u64,
}

/// Whether [`ProcDir::open_with`] keeps the listing from the kernel's process events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListingSource {
    /// A full `/proc` listing every time.
    FullEveryTime,
    /// The process events where the kernel grants them (live host, root), with a socket
    /// receive buffer of this many bytes; full listings otherwise.
    Events { buffer: usize },
}

/// The `/proc` directory of a [`HostRoot`], kept open, with the buffers of its readers.
#[derive(Debug)]
pub struct ProcDir {
    path: PathBuf,
    fd: OwnedFd,
    procfs: bool,
    dents: Vec<MaybeUninit<u8>>,
    file: Vec<u8>,
    watch: Option<PidWatch>,
    full_listings: u64,
    /// The run checks come from the processes' CPU clocks (see the module's contract).
    by_clock: bool,
}

impl ProcDir {
    /// Opens `root`'s `/proc` (with the process events where granted);
    /// [`HostError::NoProc`] when it does not exist.
    pub fn open(root: &HostRoot) -> Result<ProcDir, HostError> {
        ProcDir::open_with(
            root,
            ListingSource::Events {
                buffer: pid_watch::DEFAULT_BUFFER,
            },
        )
    }

    /// Opens `root`'s `/proc`, listing it as `source` says.
    pub fn open_with(root: &HostRoot, source: ListingSource) -> Result<ProcDir, HostError> {
        let path = root.proc.clone();
        let fd = rustix::fs::open(
            &path,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| match io::Error::from(e) {
            e if e.kind() == io::ErrorKind::NotFound => HostError::NoProc { path: path.clone() },
            e => HostError::io(&path, e),
        })?;
        let procfs = rustix::fs::fstatfs(&fd).is_ok_and(|fs| fs.f_type == PROC_SUPER_MAGIC);
        let own_namespace = root.live && procfs && own_pid_namespace(&fd);
        // The clock of our own process answers wherever the kernel has process CPU clocks.
        let me = i32::try_from(std::process::id()).unwrap_or(i32::MAX);
        let by_clock = own_namespace && matches!(process_cpu_ns(me), Ok(Some(_)));
        let watch = match source {
            // The events carry the initial pid namespace's pids: only a /proc of our own pid
            // namespace (`self` is our pid) may use them; the kernel acknowledges the
            // subscription only in the initial one.
            ListingSource::Events { buffer } if own_namespace => PidWatch::subscribe(buffer).ok(),
            _ => None,
        };
        Ok(ProcDir {
            path,
            fd,
            procfs,
            // getdents64 entries of /proc are ~24-32 bytes: 128 KiB take ~4,500 pids a call.
            // Measured on 11,700 pids: 32 KiB (13 calls) 3.5-4.2 ms, 64-512 KiB 3.35 ms.
            dents: vec![MaybeUninit::uninit(); 128 * 1024],
            file: vec![0; 4096],
            watch,
            full_listings: 0,
            by_clock,
        })
    }

    /// True while the listing is kept from the kernel's process events.
    pub fn watching(&self) -> bool {
        self.watch.is_some()
    }

    /// How many full `/proc` listings were made so far.
    pub fn full_listings(&self) -> u64 {
        self.full_listings
    }

    /// The directory this was opened on.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// True when the directory is a procfs mount (then inode numbers identify processes).
    pub fn is_procfs(&self) -> bool {
        self.procfs
    }

    /// Lists the pids present now into `out` (cleared first), ascending, with their inodes.
    /// [`HostError::NoProc`] when there are none (not a `/proc`).
    pub fn list(&mut self, out: &mut Vec<PidEntry>) -> Result<(), HostError> {
        let Some(mut watch) = self.watch.take() else {
            return self.list_full(out);
        };
        let mut due = match watch.drain() {
            Ok(()) => None,
            // Lost again before the next periodic full listing: the host forks faster than
            // the buffer holds between two listings, and each loss costs a zombie scan.
            Err(Drained::Lost) if watch.lost_since_full => return self.list_full(out),
            Err(Drained::Lost) => {
                watch.lost_since_full = true;
                Some(true)
            }
            // The socket failed: full listings from now on (the watch is dropped).
            Err(Drained::Broken) => return self.list_full(out),
        };
        if watch
            .since_full
            .is_none_or(|n| n + 1 >= pid_watch::FULL_EVERY)
        {
            due = Some(due.unwrap_or(watch.since_full.is_none()));
        }
        if let Some(scan_zombies) = due {
            if let Err(e) = self.list_full(out) {
                self.watch = Some(watch);
                return Err(e);
            }
            watch.listed.clone_from(out);
            watch.since_full = Some(0);
            watch.lost_since_full &= scan_zombies;
            if scan_zombies {
                // Exits before the socket listened (or lost): find today's zombies.
                for entry in out.iter() {
                    if pid_watch::state_of(&self.fd, entry.pid, &mut self.file) == Some(b'Z')
                        && !watch.exited.contains(&entry.pid)
                    {
                        watch.exited.push(entry.pid);
                    }
                }
            }
        } else {
            watch.since_full = watch.since_full.map(|n| n + 1);
        }
        watch.apply(&self.fd, &mut self.file);
        out.clone_from(&watch.listed);
        self.watch = Some(watch);
        if out.is_empty() {
            return Err(HostError::NoProc {
                path: self.path.clone(),
            });
        }
        Ok(())
    }

    /// One full `getdents64` pass over `/proc`.
    fn list_full(&mut self, out: &mut Vec<PidEntry>) -> Result<(), HostError> {
        self.full_listings += 1;
        out.clear();
        // A fresh open description per listing: procfs builds the listing as it is read.
        let dir = rustix::fs::openat(
            &self.fd,
            c".",
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| HostError::io(&self.path, e.into()))?;
        let mut entries = RawDir::new(&dir, &mut self.dents);
        while let Some(entry) = entries.next() {
            let entry = entry.map_err(|e| HostError::io(&self.path, e.into()))?;
            let name = entry.file_name().to_bytes();
            if name.first().is_some_and(u8::is_ascii_digit)
                && let Some(pid) = number::<i32>(name)
            {
                out.push(PidEntry {
                    pid,
                    ino: entry.ino(),
                });
            }
        }
        if out.is_empty() {
            return Err(HostError::NoProc {
                path: self.path.clone(),
            });
        }
        // procfs lists pids ascending already; fixture trees come in any order.
        if !out.is_sorted_by_key(|e| e.pid) {
            out.sort_unstable_by_key(|e| e.pid);
        }
        Ok(())
    }

    /// True while the run checks come from the CPU clocks (every thread counted).
    pub fn checks_all_threads(&self) -> bool {
        self.by_clock
    }

    /// Whether `pid` ran, as a pair that moves whenever it does (compare it with the same
    /// source's previous pair only): the CPU time of all its threads, ns, from its CPU clock
    /// where that is the source (the count then 1: it counts every run), else `schedstat`'s.
    /// `Ok(None)` when the process is gone.
    pub fn read_run_check(&mut self, pid: i32) -> Result<Option<SchedStat>, HostError> {
        if self.by_clock {
            match process_cpu_ns(pid) {
                Ok(Some(runtime_ns)) => {
                    return Ok(Some(SchedStat {
                        runtime_ns,
                        pcount: 1,
                    }));
                }
                Ok(None) => return Ok(None),
                // Refused (a kernel without process clocks would have failed at open):
                // schedstat from now on.
                Err(_) => self.by_clock = false,
            }
        }
        self.read_schedstat(pid)
    }

    /// `/proc/PID/schedstat`; `Ok(None)` when the process is gone.
    pub fn read_schedstat(&mut self, pid: i32) -> Result<Option<SchedStat>, HostError> {
        match self.read(pid, "schedstat")? {
            None => Ok(None),
            Some(text) => parse_schedstat(text)
                .map(Some)
                .ok_or_else(|| self.parse_error(pid, "schedstat")),
        }
    }

    /// `/proc/PID/stat`; `Ok(None)` when the process is gone.
    pub fn read_stat(&mut self, pid: i32) -> Result<Option<StatLine>, HostError> {
        match self.read(pid, "stat")? {
            None => Ok(None),
            Some(text) => StatLine::parse(text)
                .map(Some)
                .ok_or_else(|| self.parse_error(pid, "stat")),
        }
    }

    fn parse_error(&self, pid: i32, file: &str) -> HostError {
        HostError::parse(
            &self.path.join(pid.to_string()).join(file),
            "not the kernel's format",
        )
    }

    /// One `openat` + `read` + `close` of `PID/FILE` into the kept buffer; `None` when gone.
    fn read(&mut self, pid: i32, file: &str) -> Result<Option<&[u8]>, HostError> {
        let name = ProcPath::new(pid, file);
        let relative = name.as_c_str();
        let opened = rustix::fs::openat(
            &self.fd,
            relative,
            OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOFOLLOW,
            Mode::empty(),
        );
        // One read() of a buffer larger than the file (stat is well under 1 KiB, schedstat
        // ~40 bytes) returns all of it: procfs's seq_file fills it in one call.
        let read = opened.and_then(|fd| rustix::io::read(&fd, &mut self.file[..]));
        match read {
            Ok(0) => Ok(None),
            Ok(n) => Ok(self.file.get(..n)),
            Err(e) => {
                let e = io::Error::from(e);
                if is_vanished(&e) {
                    Ok(None)
                } else {
                    Err(HostError::io(
                        &self.path.join(pid.to_string()).join(file),
                        e,
                    ))
                }
            }
        }
    }
}

/// True when `/proc/self` in `proc` names this process (the mount belongs to our pid
/// namespace).
fn own_pid_namespace(proc: &OwnedFd) -> bool {
    rustix::fs::readlinkat(proc, c"self", Vec::new()).is_ok_and(|target| {
        target.to_bytes()
            == rustix::process::getpid()
                .as_raw_nonzero()
                .to_string()
                .as_bytes()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_listing_is_ascending_with_inodes() {
        let Ok(mut dir) = ProcDir::open(&HostRoot::live()) else {
            return;
        };
        assert!(dir.is_procfs());
        let mut pids = Vec::new();
        dir.list(&mut pids).expect("lists /proc");
        assert!(pids.windows(2).all(|w| w[0].pid < w[1].pid));
        let me = std::process::id() as i32;
        assert!(pids.iter().any(|e| e.pid == me && e.ino != 0));
        let stat = dir.read_stat(me).expect("reads").expect("alive");
        // The harness's main thread (what /proc/PID/stat shows) may sleep: no state asserted.
        assert!(stat.start_ticks > 0 && stat.threads >= 1);
        assert!(dir.read_schedstat(me).expect("reads").is_some());
    }
}
