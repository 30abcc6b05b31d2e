//! The per-tick counters path with each namespace's `/proc/<pid>/net/dev` kept open: a tick
//! costs one `pread` per namespace instead of an open (a path walk through `/proc/<pid>`),
//! a read, a close and a `readlink` of `ns/net` (the check that the pid was not reused).
//!
//! Contract:
//! - [`KeptNetDev::read`] reads the same namespaces and gives the same figures as
//!   [`super::read_counters`] (it falls back to it for a namespace it holds no file of and
//!   cannot open one for: one held only by a mount, or one whose processes all went).
//! - A file under `/proc/<pid>/net/` is bound to the network namespace the process was in
//!   when the file was opened (the kernel takes a reference on it at open): a pid reused or a
//!   process that moved to another namespace later does not change what the kept file shows.
//!   So the namespace is checked once, at open (`ns/net` before and after the open must both
//!   name the wanted inode), and a kept file is keyed by that inode: a container whose
//!   namespace changes is read from the new namespace's file at once.
//! - The reference pins the namespace: a file is closed as soon as its namespace is not
//!   asked for in a read (its containers went, or moved to another namespace), so no
//!   namespace outlives its last container because of isotop.
//! - At most [`KeptNetDev::budget`] files are kept (a share of `RLIMIT_NOFILE`); the rest are
//!   opened and closed each read, as before. A kept file that fails a read is closed and the
//!   namespace read afresh.

use foldhash::{HashMap, HashSet};
use std::fs::File;
use std::time::Instant;

use super::error::NetError;
use super::namespaces::NetnsHandle;
use super::read::{NetRead, NetnsCounters, counters_of_text, read_counters};
use crate::host::HostRoot;
use crate::host::error::is_vanished;
use crate::host::whole_file::pread_whole;

/// The most files kept, whatever the descriptor limit (one per container network; the Network
/// view reads every namespace of the host, which may be many more).
const MOST_KEPT: usize = 4096;

/// Each kept file's kernel memory is ~4.5 KiB (a `struct file`, its `seq_file` and buffer);
/// the descriptors are a shared resource: keep at most a quarter of the soft limit.
const SHARE_OF_LIMIT: u64 = 4;

/// Kept-open `/proc/<pid>/net/dev` files, one per network namespace (by inode).
#[derive(Debug)]
pub struct KeptNetDev {
    files: HashMap<u64, File>,
    budget: usize,
    /// The read buffer, reused (a namespace's file is a few hundred bytes per interface).
    buf: Vec<u8>,
}

impl Default for KeptNetDev {
    fn default() -> Self {
        KeptNetDev::new()
    }
}

impl KeptNetDev {
    /// A reader keeping at most a quarter of this process's descriptor limit open.
    pub fn new() -> KeptNetDev {
        KeptNetDev::with_budget(crate::sys::fd::descriptor_budget(SHARE_OF_LIMIT, MOST_KEPT))
    }

    /// A reader keeping at most `budget` files open (0: none, every read opens afresh).
    pub fn with_budget(budget: usize) -> KeptNetDev {
        KeptNetDev {
            files: HashMap::default(),
            budget,
            buf: Vec::with_capacity(4096),
        }
    }

    /// How many files are kept open now.
    pub fn kept(&self) -> usize {
        self.files.len()
    }

    /// The most files kept open.
    pub fn budget(&self) -> usize {
        self.budget
    }

    /// Reads the counters of each namespace of `handles` (see the module's contract) and
    /// closes the files of namespaces not among them.
    pub fn read(&mut self, root: &HostRoot, handles: &[NetnsHandle]) -> NetRead<NetnsCounters> {
        let wanted: HashSet<u64> = handles.iter().map(|h| h.inode).collect();
        self.files.retain(|inode, _| wanted.contains(inode));
        let mut read = NetRead::default();
        let mut rest = Vec::new();
        for handle in handles {
            match self.read_one(root, handle) {
                Some(counters) => read.namespaces.push(counters),
                None => rest.push(handle.clone()),
            }
        }
        if !rest.is_empty() {
            let fallback = read_counters(root, &rest);
            read.namespaces.extend(fallback.namespaces);
            read.notes.extend(fallback.notes);
            read.namespaces.sort_by_key(|n| n.inode);
        }
        read
    }

    /// The namespace's counters through its kept file, or a file opened now (kept within the
    /// budget); `None` when neither works (the caller falls back).
    fn read_one(&mut self, root: &HostRoot, handle: &NetnsHandle) -> Option<NetnsCounters> {
        if let Some(file) = self.files.get(&handle.inode) {
            let at = Instant::now();
            let read_at_ms = crate::units::now_ms();
            match pread_whole(file, &mut self.buf) {
                Ok(()) => return Some(counters_of_text(handle.inode, at, read_at_ms, &self.buf)),
                Err(_) => {
                    self.files.remove(&handle.inode);
                }
            }
        }
        if self.files.len() >= self.budget {
            return None;
        }
        let file = open_checked(root, handle).ok()??;
        let at = Instant::now();
        let read_at_ms = crate::units::now_ms();
        pread_whole(&file, &mut self.buf).ok()?;
        let counters = counters_of_text(handle.inode, at, read_at_ms, &self.buf);
        self.files.insert(handle.inode, file);
        Some(counters)
    }
}

/// `/proc/<pid>/net/dev` of the first of the namespace's processes whose `ns/net` names its
/// inode both before and after the open (so the file is bound to that namespace);
/// `Ok(None)` when none does.
fn open_checked(root: &HostRoot, handle: &NetnsHandle) -> Result<Option<File>, NetError> {
    let expected = format!("net:[{}]", handle.inode);
    let in_namespace = |dir: &std::path::Path| {
        std::fs::read_link(dir.join("ns/net"))
            .is_ok_and(|target| target.as_os_str() == expected.as_str())
    };
    for &pid in &handle.pids {
        let dir = root.pid_dir(pid);
        if !in_namespace(&dir) {
            continue;
        }
        let path = dir.join("net/dev");
        let file = match File::open(&path) {
            Ok(file) => file,
            Err(e) if is_vanished(&e) => continue,
            Err(source) => return Err(NetError::Read { path, source }),
        };
        if in_namespace(&dir) {
            return Ok(Some(file));
        }
    }
    Ok(None)
}
