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
//! [`ProcDir::read_run_check`] is the sampler's "did it run" check: on the live host, as
//! root, in our own pid namespace, from the kernel's taskstats ([`super::taskstats`]: one
//! netlink request, all threads counted, no path walk); otherwise — or once taskstats fails
//! other than for a gone process — from `schedstat` (the main thread).

use super::pid_watch::{self, Drained, PidWatch};
use super::proc_path::ProcPath;
use super::taskstats::TaskStats;
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use rustix::fs::{Mode, OFlags, PROC_SUPER_MAGIC, RawDir};

use super::Process;
use crate::host::error::is_vanished;
use crate::host::text::clean;
use crate::host::{HostError, HostRoot};
use crate::units::kernel::page_size;

/// One pid of the listing and the inode number of its `/proc/PID` directory entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PidEntry {
    pub pid: i32,
    pub ino: u64,
}

/// `/proc/PID/schedstat`: what the scheduler counted for the process's main thread. A task
/// that was not scheduled in between two reads shows the same pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchedStat {
    /// Time spent on a CPU, ns (`sum_exec_runtime`).
    pub runtime_ns: u64,
    /// Times scheduled in (`pcount`); 0 when the kernel keeps no sched_info (it prints `0 0 0`).
    pub pcount: u64,
}

/// The fields of one `/proc/PID/stat` line the sampler keeps, parsed in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatLine {
    comm: [u8; 64],
    comm_len: usize,
    pub state: char,
    pub ppid: i32,
    /// `flags` (field 9): PF_KTHREAD (0x00200000) marks kernel threads.
    pub flags: u64,
    /// utime + stime, clock ticks (fields 14 + 15).
    pub cpu_ticks: u64,
    pub threads: i64,
    /// Start time after boot, clock ticks (field 22).
    pub start_ticks: u64,
    /// Resident set, pages (field 24).
    pub rss_pages: u64,
}

impl StatLine {
    /// `comm` as the kernel printed it (at most 64 bytes kept), not cleaned.
    pub fn raw_comm(&self) -> &[u8] {
        &self.comm[..self.comm_len]
    }

    /// Parses a `stat` line; `None` when it does not have the kernel's shape.
    pub fn parse(line: &[u8]) -> Option<StatLine> {
        // comm may hold spaces and parentheses: it ends at the LAST ')'.
        let open = line.iter().position(|b| *b == b'(')?;
        let close = line.iter().rposition(|b| *b == b')')?;
        let raw = line.get(open + 1..close)?;
        let mut comm = [0u8; 64];
        let comm_len = raw.len().min(comm.len());
        comm[..comm_len].copy_from_slice(&raw[..comm_len]);
        let mut fields = line
            .get(close + 1..)?
            .split(|b| *b == b' ')
            .filter(|f| !f.is_empty());
        // After the comm: field 3 (state) is the 0th; see proc(5) for the numbering.
        let state = *fields.next()?.first()? as char;
        let ppid = number(fields.next()?)?;
        let mut fields = fields.skip(4); // pgrp, session, tty_nr, tpgid
        let flags = number(fields.next()?)?;
        let mut fields = fields.skip(4); // minflt, cminflt, majflt, cmajflt
        let utime: u64 = number(fields.next()?)?;
        let stime: u64 = number(fields.next()?)?;
        let mut fields = fields.skip(4); // cutime, cstime, priority, nice
        let threads = number(fields.next()?)?;
        let mut fields = fields.skip(1); // itrealvalue
        let start_ticks = number(fields.next()?)?;
        let mut fields = fields.skip(1); // vsize
        // Printed signed ("%ld"); a negative count is a kernel accounting blip, shown as 0.
        let rss: i64 = number(fields.next()?)?;
        Some(StatLine {
            comm,
            comm_len,
            state,
            ppid,
            flags,
            cpu_ticks: utime.saturating_add(stime),
            threads,
            start_ticks,
            rss_pages: u64::try_from(rss).unwrap_or(0),
        })
    }
}

impl StatLine {
    /// Copies the figures into a full record, cleaning `comm` only when it changed (the
    /// cleaned form of clean text is the text itself, so equal bytes mean an equal `comm`).
    /// True when `comm` changed (an exec, or a thread renaming itself).
    pub fn apply_to(&self, process: &mut Process) -> bool {
        let mut comm_changed = false;
        if process.comm.as_bytes() != self.raw_comm() {
            let cleaned = clean(self.raw_comm());
            comm_changed = cleaned != process.comm;
            process.comm = cleaned.into();
        }
        process.ppid = self.ppid;
        process.state = self.state;
        process.start_ticks = self.start_ticks;
        process.cpu_ticks = self.cpu_ticks;
        process.rss_bytes = self.rss_pages.saturating_mul(page_size());
        process.threads = self.threads;
        process.kernel_thread = self.flags & 0x0020_0000 != 0;
        comm_changed
    }
}

/// A decimal field of a proc file (ASCII digits, maybe a sign).
fn number<T: std::str::FromStr>(field: &[u8]) -> Option<T> {
    std::str::from_utf8(field).ok()?.trim_end().parse().ok()
}

/// Parses `schedstat`'s `runtime run_delay pcount`.
pub fn parse_schedstat(text: &[u8]) -> Option<SchedStat> {
    let mut fields = text
        .split(|b| b.is_ascii_whitespace())
        .filter(|f| !f.is_empty());
    let runtime_ns = number(fields.next()?)?;
    let _run_delay: u64 = number(fields.next()?)?;
    let pcount = number(fields.next()?)?;
    Some(SchedStat { runtime_ns, pcount })
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
    /// The run checks' source where the kernel grants it (see the module's contract).
    taskstats: Option<TaskStats>,
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
        let taskstats = own_namespace.then(|| TaskStats::open().ok()).flatten();
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
            taskstats,
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

    /// True while the run checks come from taskstats.
    pub fn checks_by_taskstats(&self) -> bool {
        self.taskstats.is_some()
    }

    /// Whether `pid` ran, as a pair that moves whenever it does (compare it with the same
    /// source's previous pair only): taskstats' context switches and CPU time of all its
    /// threads where open, else `schedstat`'s. `Ok(None)` when the process is gone.
    pub fn read_run_check(&mut self, pid: i32) -> Result<Option<SchedStat>, HostError> {
        if let Some(stats) = self.taskstats.as_mut() {
            match stats.run_counters(pid) {
                Ok(Some(counters)) => {
                    return Ok(Some(SchedStat {
                        runtime_ns: counters.cpu_usec,
                        pcount: counters.switches,
                    }));
                }
                Ok(None) => return Ok(None),
                // A signal: this once by schedstat.
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // Broken (or the reply never came): schedstat from now on.
                Err(_) => self.taskstats = None,
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
    fn stat_line_fields() {
        let line = b"42 (a) b) c) S 7 42 42 0 -1 4194560 10 0 0 0 15 5 0 0 20 0 3 0 9000 1000 25 \
                     18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
        let stat = StatLine::parse(line).expect("parses");
        assert_eq!(stat.raw_comm(), b"a) b) c");
        assert_eq!((stat.state, stat.ppid, stat.flags), ('S', 7, 4194560));
        assert_eq!((stat.cpu_ticks, stat.threads), (20, 3));
        assert_eq!((stat.start_ticks, stat.rss_pages), (9000, 25));
        assert_eq!(StatLine::parse(b"42 (x) S 7"), None);
        assert_eq!(StatLine::parse(b"garbage"), None);
    }

    #[test]
    fn schedstat_fields() {
        assert_eq!(
            parse_schedstat(b"123456 789 12\n"),
            Some(SchedStat {
                runtime_ns: 123456,
                pcount: 12
            })
        );
        assert_eq!(parse_schedstat(b"0 0 0\n").map(|s| s.pcount), Some(0));
        assert_eq!(parse_schedstat(b"12 x 3"), None);
        assert_eq!(parse_schedstat(b""), None);
    }

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
