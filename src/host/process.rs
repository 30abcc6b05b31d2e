//! Processes from `/proc/<pid>`: identity, parentage, owner, command, CPU and memory counters,
//! namespaces and cgroup memberships.
//!
//! Parsing of `stat` and `cgroup` is procfs-core's (a well-kept parser crate that takes any
//! reader, so it works on injected roots); file access and error policy are ours: a process that
//! exits mid-read yields `Ok(None)`, an unreadable file leaves that field empty and marks the
//! process `partial`, never an error for the whole scan. Text fields are cleaned
//! ([`crate::host::text`]) because processes choose their own names. Cgroup paths are made
//! absolute when isotop runs in a cgroup namespace of its own
//! ([`crate::host::cgroup::namespace_root`]). [`proc_dir`] holds the sampler's cheap per-tick
//! reads (listing with inode numbers, `schedstat`, `stat` parsed without allocating).

pub mod cmdline;
pub mod comm;
pub mod cpu_clock;
pub mod pid_watch;
pub mod proc_dir;
pub mod proc_path;
pub mod records;
mod stat_line;

pub use cmdline::Cmdline;
pub use comm::Comm;
pub use records::Records;

use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::sync::Arc;

use procfs_core::FromRead;
use serde::{Deserialize, Serialize};

use super::cgroup::namespace_root::namespace_roots;
use super::error::is_vanished;
use super::namespace::{NsSet, read_ns_set};
use super::text::clean;
use super::{HostError, HostRoot};
/// Clock ticks per second (`USER_HZ`), the unit of `stat` times (asked in [`crate::units`]).
pub use crate::units::kernel::clock_ticks_per_second;
use crate::units::kernel::page_size;

/// How much of each process to read. The namespace listing needs only namespaces and owner;
/// everything else needs the full record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadDepth {
    /// pid, uid, namespaces (what `isotop ns` needs; ~10 syscalls a process).
    Namespaces,
    /// Everything in [`Process`].
    Full,
}

/// One cgroup membership line of `/proc/<pid>/cgroup`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CgroupMembership {
    /// Hierarchy id (0 is the unified v2 hierarchy).
    pub hierarchy: u32,
    /// Controllers bound to the hierarchy (`cpu`, `name=systemd`; empty for v2).
    pub controllers: Vec<String>,
    /// Path inside the hierarchy, e.g. `/docker/<id>`: absolute, also when isotop runs in a
    /// cgroup namespace of its own (translated on reading; see `host::cgroup::namespace_root`).
    pub path: String,
}

/// A process as read from `/proc/<pid>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Process {
    pub pid: i32,
    /// Parent pid (0 for PID 1 and kthreadd; 0 also when `stat` was unreadable).
    pub ppid: i32,
    /// Real owner (the owner of `/proc/<pid>`).
    pub uid: u32,
    /// `comm` (kernel-truncated to 15 bytes), cleaned; shared (see [`Comm`]).
    pub comm: Comm,
    /// Arguments, cleaned; empty for kernel threads and zombies. Shared (see [`Cmdline`]).
    pub cmdline: Cmdline,
    /// State letter from `stat` (R, S, D, Z, T, ...); `?` when unknown.
    pub state: char,
    /// Start time after boot, in clock ticks (`stat` field 22).
    pub start_ticks: u64,
    /// User + system CPU time in clock ticks (`stat` fields 14+15).
    pub cpu_ticks: u64,
    /// Resident set size in bytes (`stat` field 24 × page size).
    pub rss_bytes: u64,
    pub threads: i64,
    /// Kernel threads have no mm and run in the initial namespaces.
    pub kernel_thread: bool,
    pub ns: NsSet,
    /// Shared: most processes of a host have identical lists, and the sampler keeps one copy
    /// of each distinct list for thousands of processes.
    pub cgroups: Arc<[CgroupMembership]>,
    /// True when some file of this process could not be read (EACCES): fields are incomplete.
    pub partial: bool,
}

impl Process {
    /// A process known only by pid, owner and namespaces; every other field empty or zero
    /// until read.
    pub fn new(pid: i32, uid: u32, ns: NsSet) -> Process {
        Process {
            pid,
            ppid: 0,
            uid,
            comm: Comm::default(),
            cmdline: Cmdline::default(),
            state: '?',
            start_ticks: 0,
            cpu_ticks: 0,
            rss_bytes: 0,
            threads: 0,
            kernel_thread: false,
            ns,
            cgroups: Arc::from(Vec::new()),
            partial: false,
        }
    }

    /// The command as lsns shows it: the cmdline joined by spaces, or `comm` when empty.
    pub fn command(&self) -> String {
        if self.cmdline.is_empty() {
            self.comm.to_string()
        } else {
            self.cmdline.joined(" ")
        }
    }

    /// Path of this process in the v2 hierarchy, or in the v1 hierarchy carrying `controller`.
    pub fn cgroup_path(&self, controller: Option<&str>) -> Option<&str> {
        self.cgroups
            .iter()
            .find(|m| match controller {
                None => m.hierarchy == 0 && m.controllers.is_empty(),
                Some(c) => m.controllers.iter().any(|x| x == c),
            })
            .map(|m| m.path.as_str())
    }
}

/// Lists the pids present in `/proc` right now, ascending.
pub fn list_pids(root: &HostRoot) -> Result<Vec<i32>, HostError> {
    let entries = fs::read_dir(&root.proc).map_err(|e| {
        if e.kind() == io::ErrorKind::NotFound {
            HostError::NoProc {
                path: root.proc.clone(),
            }
        } else {
            HostError::io(&root.proc, e)
        }
    })?;
    let mut pids: Vec<i32> = entries
        .filter_map(|entry| entry.ok())
        .filter_map(|entry| entry.file_name().to_str()?.parse::<i32>().ok())
        .collect();
    if pids.is_empty() {
        return Err(HostError::NoProc {
            path: root.proc.clone(),
        });
    }
    pids.sort_unstable();
    Ok(pids)
}

/// Reads one process; `Ok(None)` when it no longer exists.
pub fn read_process(
    root: &HostRoot,
    pid: i32,
    depth: ReadDepth,
) -> Result<Option<Process>, HostError> {
    let dir = root.pid_dir(pid);
    let uid = match fs::metadata(&dir) {
        Ok(meta) => meta.uid(),
        Err(e) if is_vanished(&e) => return Ok(None),
        Err(e) => return Err(HostError::io(&dir, e)),
    };
    let mut partial = false;
    let ns = match read_ns_set(root, pid)? {
        Some(ns) => ns,
        None => return Ok(None),
    };
    if ns.denied {
        partial = true;
    }
    let mut process = Process::new(pid, uid, ns);
    process.partial = partial;
    if depth == ReadDepth::Namespaces {
        return Ok(Some(process));
    }
    match read_file(&dir.join("stat")) {
        Ok(Some(bytes)) => match procfs_core::process::Stat::from_read(&bytes[..]) {
            Ok(stat) => {
                process.ppid = stat.ppid;
                process.comm = clean(stat.comm.as_bytes()).into();
                process.state = stat.state;
                process.start_ticks = stat.starttime;
                process.cpu_ticks = stat.utime.saturating_add(stat.stime);
                process.rss_bytes = stat.rss.saturating_mul(page_size());
                process.threads = stat.num_threads;
                // PF_KTHREAD (0x00200000) in the flags field marks kernel threads.
                process.kernel_thread = stat.flags & 0x0020_0000 != 0;
            }
            Err(_) => process.partial = true,
        },
        Ok(None) => return Ok(None),
        Err(_) => process.partial = true,
    }
    match read_file(&dir.join("cmdline")) {
        Ok(Some(bytes)) => process.cmdline = Cmdline::parse(&bytes),
        Ok(None) => return Ok(None),
        Err(_) => process.partial = true,
    }
    match read_file(&dir.join("cgroup")) {
        Ok(Some(bytes)) => match parse_memberships(root, &bytes) {
            Some(memberships) => process.cgroups = memberships.into(),
            None => process.partial = true,
        },
        Ok(None) => return Ok(None),
        Err(_) => process.partial = true,
    }
    Ok(Some(process))
}

/// The cgroups of `pid` alone (`/proc/PID/cgroup`, readable where the rest of `/proc/PID`
/// may not be: PID 1's on this project's hosts); `None` when gone or unreadable.
pub fn read_memberships(root: &HostRoot, pid: i32) -> Option<Vec<CgroupMembership>> {
    let bytes = read_file(&root.pid_dir(pid).join("cgroup")).ok()??;
    parse_memberships(root, &bytes)
}

/// `/proc/PID/cgroup`'s lines; relative to isotop's own cgroup namespace root when it has one,
/// made absolute here, the one place these paths enter. `None` when unparsable.
fn parse_memberships(root: &HostRoot, bytes: &[u8]) -> Option<Vec<CgroupMembership>> {
    let groups = procfs_core::ProcessCGroups::from_read(bytes).ok()?;
    let mut memberships: Vec<CgroupMembership> = groups
        .into_iter()
        .map(|g| CgroupMembership {
            hierarchy: g.hierarchy,
            controllers: g.controllers,
            path: g.pathname,
        })
        .collect();
    namespace_roots(root).translate_memberships(&mut memberships);
    Some(memberships)
}

/// Reads the cleaned command line of one process (lsns' COMMAND: cmdline, else comm).
/// `None` when the process is gone or nothing is readable.
pub fn read_command(root: &HostRoot, pid: i32) -> Option<String> {
    let dir = root.pid_dir(pid);
    if let Ok(Some(bytes)) = read_file(&dir.join("cmdline")) {
        let args = Cmdline::parse(&bytes);
        if !args.is_empty() {
            return Some(args.joined(" "));
        }
    }
    let comm = read_file(&dir.join("comm")).ok()??;
    Some(clean(comm.strip_suffix(b"\n").unwrap_or(&comm)))
}

/// Reads one process's environment variable (e.g. `container=podman`); `None` if absent or
/// unreadable. Environments are large, so only container candidates are asked.
pub fn read_environ_var(root: &HostRoot, pid: i32, name: &str) -> Option<String> {
    let bytes = read_file(&root.pid_dir(pid).join("environ")).ok()??;
    let prefix = format!("{name}=");
    bytes
        .split(|b| *b == 0)
        .find_map(|kv| kv.strip_prefix(prefix.as_bytes()))
        .map(clean)
}

/// The process's pid in each nested pid namespace, outermost first (`NSpid:` in `status`):
/// the last is its pid inside its container. `None` if gone or unreadable.
pub fn read_nspids(root: &HostRoot, pid: i32) -> Option<Vec<i32>> {
    let bytes = read_file(&root.pid_dir(pid).join("status")).ok()??;
    let text = String::from_utf8_lossy(&bytes);
    let line = text.lines().find_map(|l| l.strip_prefix("NSpid:"))?;
    line.split_whitespace().map(|p| p.parse().ok()).collect()
}

/// The figures of one process that change while it lives, from its `stat` file alone: what
/// the dashboard re-reads every tick (one open + read per process) while the rest of
/// [`Process`] is read once per process.
#[derive(Debug, Clone, PartialEq)]
pub struct StatSample {
    /// `comm`, cleaned (it changes on exec, a hint that the cmdline changed too).
    pub comm: String,
    pub ppid: i32,
    pub state: char,
    /// Start time after boot, in clock ticks: with the pid, the process's identity.
    pub start_ticks: u64,
    /// User + system CPU time, clock ticks.
    pub cpu_ticks: u64,
    /// Resident set size, bytes.
    pub rss_bytes: u64,
    pub threads: i64,
    pub kernel_thread: bool,
}

impl StatSample {
    /// Copies the figures into a full record.
    pub fn apply_to(&self, process: &mut Process) {
        if process.comm != self.comm {
            process.comm = self.comm.as_str().into();
        }
        process.ppid = self.ppid;
        process.state = self.state;
        process.start_ticks = self.start_ticks;
        process.cpu_ticks = self.cpu_ticks;
        process.rss_bytes = self.rss_bytes;
        process.threads = self.threads;
        process.kernel_thread = self.kernel_thread;
    }
}

/// Reads `/proc/<pid>/stat` only; `Ok(None)` when the process is gone. `buf` is reused between
/// calls so a scan of thousands of processes does not allocate a buffer per file.
pub fn read_stat(
    root: &HostRoot,
    pid: i32,
    buf: &mut Vec<u8>,
) -> Result<Option<StatSample>, HostError> {
    use std::io::Read;
    let path = root.pid_dir(pid).join("stat");
    // One read() of a buffer larger than any stat line (~52 numbers + a 16-byte comm, well
    // under 1 KiB) returns the whole file; read_to_end alone would need a second read() to see
    // EOF, a quarter more syscalls on a scan of thousands of processes.
    buf.clear();
    buf.resize(4096, 0);
    let read = fs::File::open(&path).and_then(|mut f| {
        let n = f.read(&mut buf[..])?;
        buf.truncate(n);
        if n == 4096 {
            f.read_to_end(buf)?;
        }
        Ok(())
    });
    match read {
        Ok(_) => {}
        Err(e) if is_vanished(&e) => return Ok(None),
        Err(e) => return Err(HostError::io(&path, e)),
    }
    // Nothing read: the process went away between open and read.
    if buf.is_empty() {
        return Ok(None);
    }
    let stat = procfs_core::process::Stat::from_read(&buf[..])
        .map_err(|e| HostError::parse(&path, e.to_string()))?;
    Ok(Some(StatSample {
        comm: clean(stat.comm.as_bytes()),
        ppid: stat.ppid,
        state: stat.state,
        start_ticks: stat.starttime,
        cpu_ticks: stat.utime.saturating_add(stat.stime),
        rss_bytes: stat.rss.saturating_mul(page_size()),
        threads: stat.num_threads,
        // PF_KTHREAD (0x00200000) in the flags field marks kernel threads.
        kernel_thread: stat.flags & 0x0020_0000 != 0,
    }))
}

/// Seconds since boot (`/proc/uptime` first field), to turn start ticks into ages.
pub fn read_uptime_seconds(root: &HostRoot) -> Option<f64> {
    let bytes = read_file(&root.proc.join("uptime")).ok()??;
    String::from_utf8_lossy(&bytes)
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Reads a proc file; `Ok(None)` if the process vanished.
fn read_file(path: &std::path::Path) -> io::Result<Option<Vec<u8>>> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if is_vanished(&e) => Ok(None),
        Err(e) => Err(e),
    }
}
