//! The live host's pid listing kept up to date from the kernel's process events (the
//! connector, [`crate::sys::proc_events`]) between full listings of `/proc`: on a host of
//! ~11,700 processes a `getdents64` pass costs ~3.4 ms of kernel time a tick
//! (`proc_pid_readdir`: `next_tgid`, `proc_fill_cache` per pid), draining a quiet host's
//! events next to nothing.
//!
//! Contract (what [`super::proc_dir::ProcDir::list`] gives with a watch is what a full listing
//! would give at the same moment):
//! - A fork of a new thread group (`child_pid == child_tgid`) adds its pid, with the inode
//!   number of its `/proc/PID` (the dentry the listing would show); threads' events are
//!   ignored. The kernel sends the fork event after the pid is attached, so the lookup finds it.
//! - An exit of a thread group leader does not remove the pid: the process stays listed as a
//!   zombie until reaped, or while other threads live on, and the kernel sends no event when it
//!   is reaped. Such pids are checked every listing (a lookup of `/proc/PID`: gone, or the same
//!   inode, or another one whose `status` says whether it is a thread group) until they go.
//! - A full listing is made on the first call, every [`FULL_EVERY`] calls, and after the
//!   socket's buffer overflowed (`ENOBUFS`: events were lost). After the first and after a
//!   loss, the listed processes' `stat` is read once to find the zombies whose exit event
//!   came before the socket listened (or was lost): they join the checked pids. A second
//!   loss before the next periodic full listing gives the events up for good (a host forking
//!   faster than the buffer holds between two listings: full listings are cheaper there).
//! - Only for the live host's `/proc` of isotop's own pid namespace, and only where the kernel
//!   acknowledged the subscription (root, initial user and pid namespaces); elsewhere, or when
//!   the socket fails later, every listing is a full one.

use std::io;
use std::os::fd::{AsFd, OwnedFd};

use rustix::fs::{AtFlags, statat};

use super::proc_dir::PidEntry;
use super::proc_path::ProcPath;
use crate::sys::proc_events::{self, HEADERS};

/// A full listing every this many listings, whatever the events said (a safety net: ~3.4 ms
/// on 11,700 processes, once a minute at a 2 s refresh).
pub const FULL_EVERY: u32 = 30;

/// The receive buffer asked for, bytes: ~830 bytes of kernel memory per queued event, so room
/// for ~5,000 events (2,500 short-lived processes) between two listings; taken only while
/// events wait.
pub const DEFAULT_BUFFER: usize = 4 << 20;

/// `PROC_EVENT_FORK` and `PROC_EVENT_EXIT` (linux/cn_proc.h).
const EVENT_FORK: u32 = 0x1;
const EVENT_EXIT: u32 = 0x8000_0000;

/// What one event means for the listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Change {
    /// A new thread group: its pid is listed from now on.
    Forked(i32),
    /// A thread group leader exited: its pid may still be listed (zombie, other threads).
    LeaderExited(i32),
}

/// Parses the connector messages of one datagram into `changes` (other events, threads'
/// events and malformed messages are skipped).
pub(crate) fn parse_events(datagram: &[u8], changes: &mut Vec<Change>) {
    let word = |bytes: &[u8], at: usize| -> Option<u32> {
        bytes
            .get(at..at + 4)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_ne_bytes)
    };
    let mut rest = datagram;
    while let Some(length) = word(rest, 0).map(|l| l as usize) {
        if length < HEADERS || length > rest.len() {
            return;
        }
        let message = &rest[..length];
        // cn_msg.id: the process events' index and value (1, 1).
        if word(message, 16) == Some(1) && word(message, 20) == Some(1) {
            // proc_event: what @0, cpu @4, timestamp @8, event data @16.
            let data = HEADERS + 16;
            let pid = |at: usize| word(message, data + at).map(|v| v as i32);
            match word(message, HEADERS) {
                // fork: parent_pid, parent_tgid, child_pid, child_tgid.
                Some(EVENT_FORK) => {
                    if let (Some(child), Some(group)) = (pid(8), pid(12))
                        && child == group
                    {
                        changes.push(Change::Forked(child));
                    }
                }
                // exit: process_pid, process_tgid, ...
                Some(EVENT_EXIT) => {
                    if let (Some(task), Some(group)) = (pid(0), pid(4))
                        && task == group
                    {
                        changes.push(Change::LeaderExited(task));
                    }
                }
                _ => {}
            }
        }
        // Messages are 4-byte aligned (NLMSG_ALIGN).
        let next = (length + 3) & !3;
        rest = rest.get(next..).unwrap_or(&[]);
    }
}

/// Why the events could not be drained.
#[derive(Debug)]
pub(crate) enum Drained {
    /// The buffer overflowed: some events were dropped (the socket goes on).
    Lost,
    /// The socket failed otherwise: give the watch up.
    Broken,
}

/// A subscribed connector socket and what it told so far.
#[derive(Debug)]
pub(crate) struct PidWatch {
    socket: OwnedFd,
    buf: Vec<u8>,
    /// The listing as of the last call, ascending pid.
    pub(crate) listed: Vec<PidEntry>,
    /// Leaders that exited and may still be listed: looked up every call until gone.
    pub(crate) exited: Vec<i32>,
    /// Listings since the last full one (`None`: a full listing and a zombie scan are due).
    pub(crate) since_full: Option<u32>,
    /// Events were lost since the last periodic full listing (a second loss gives up).
    pub(crate) lost_since_full: bool,
    pub(crate) changes: Vec<Change>,
}

impl PidWatch {
    /// Subscribes with a receive buffer of `buffer` bytes.
    pub(crate) fn subscribe(buffer: usize) -> io::Result<PidWatch> {
        Ok(PidWatch {
            socket: proc_events::subscribe(buffer)?,
            buf: vec![0; 8192],
            listed: Vec::new(),
            exited: Vec::new(),
            since_full: None,
            lost_since_full: false,
            changes: Vec::new(),
        })
    }

    /// Receives every queued event into `self.changes` (appended).
    pub(crate) fn drain(&mut self) -> Result<(), Drained> {
        let mut lost = false;
        loop {
            match proc_events::receive(self.socket.as_fd(), &mut self.buf) {
                Ok(n) => parse_events(&self.buf[..n], &mut self.changes),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // Reported once per overflow; what is still queued is read on.
                Err(e) if e.raw_os_error() == Some(nix::libc::ENOBUFS) => lost = true,
                Err(_) => return Err(Drained::Broken),
            }
        }
        if lost { Err(Drained::Lost) } else { Ok(()) }
    }

    /// Applies this call's changes to `self.listed` (forks added with their inode from
    /// `proc`, exits queued for checking); a full listing made this call goes in before.
    pub(crate) fn apply(&mut self, proc: &OwnedFd, file: &mut [u8]) {
        for change in std::mem::take(&mut self.changes) {
            match change {
                Change::Forked(pid) => {
                    // An exit queued before this fork was the pid's previous owner.
                    self.exited.retain(|p| *p != pid);
                    match inode_of(proc, pid) {
                        Ok(Some(ino)) => self.upsert(PidEntry { pid, ino }),
                        // Gone already (its exit event follows), or unreadable: not listed.
                        Ok(None) | Err(_) => self.remove(pid),
                    }
                }
                Change::LeaderExited(pid) => {
                    if !self.exited.contains(&pid) {
                        self.exited.push(pid);
                    }
                }
            }
        }
        let mut exited = std::mem::take(&mut self.exited);
        exited.retain(|&pid| self.still_listed(proc, pid, file));
        self.exited = exited;
    }

    /// Whether an exited leader's pid is still a listed process (updating its inode).
    fn still_listed(&mut self, proc: &OwnedFd, pid: i32, file: &mut [u8]) -> bool {
        let at = self.listed.binary_search_by_key(&pid, |e| e.pid);
        let ino = match inode_of(proc, pid) {
            Ok(Some(ino)) => ino,
            Ok(None) => {
                self.remove(pid);
                return false;
            }
            // Unreadable now: kept, asked again next call.
            Err(_) => return true,
        };
        if at.is_ok_and(|i| self.listed[i].ino == ino) {
            return true;
        }
        // Another dentry: the pid may now name a thread (`/proc/TID` is looked up, not
        // listed) or the dentry was rebuilt. `status` says which.
        if is_thread_group(proc, pid, file) {
            self.upsert(PidEntry { pid, ino });
            true
        } else {
            self.remove(pid);
            false
        }
    }

    fn upsert(&mut self, entry: PidEntry) {
        match self.listed.binary_search_by_key(&entry.pid, |e| e.pid) {
            Ok(i) => self.listed[i] = entry,
            Err(i) => self.listed.insert(i, entry),
        }
    }

    fn remove(&mut self, pid: i32) {
        if let Ok(i) = self.listed.binary_search_by_key(&pid, |e| e.pid) {
            self.listed.remove(i);
        }
    }
}

impl Drop for PidWatch {
    fn drop(&mut self) {
        // Nothing to do about a failure: closing the socket stops the events on new kernels.
        let _ = proc_events::unsubscribe(self.socket.as_fd());
    }
}

/// The inode number of `/proc/PID` (what a listing shows as `d_ino`); `None` when gone.
pub(crate) fn inode_of(proc: &OwnedFd, pid: i32) -> io::Result<Option<u64>> {
    let name = ProcPath::new(pid, "");
    // "PID/" names the directory itself.
    match statat(proc, name.as_c_str(), AtFlags::SYMLINK_NOFOLLOW) {
        Ok(stat) => Ok(Some(stat.st_ino)),
        Err(e) if e == rustix::io::Errno::NOENT || e == rustix::io::Errno::SRCH => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// True when `/proc/PID/status` says `Tgid: PID` (a process, not a thread of another).
fn is_thread_group(proc: &OwnedFd, pid: i32, file: &mut [u8]) -> bool {
    let Some(text) = read_at(proc, pid, "status", file) else {
        return false;
    };
    let mut line = [0u8; 24];
    let wanted = {
        use std::io::Write;
        let mut cursor = io::Cursor::new(&mut line[..]);
        let _ = write!(cursor, "\nTgid:\t{pid}\n");
        cursor.position() as usize
    };
    text.windows(wanted).any(|w| w == &line[..wanted])
}

/// The state letter of `/proc/PID/stat` (after the last `)`); `None` when gone or odd.
pub(crate) fn state_of(proc: &OwnedFd, pid: i32, file: &mut [u8]) -> Option<u8> {
    let text = read_at(proc, pid, "stat", file)?;
    let close = text.iter().rposition(|b| *b == b')')?;
    text.get(close + 2).copied()
}

/// One open + read + close of `PID/FILE` relative to `proc`; `None` on any failure.
fn read_at<'a>(proc: &OwnedFd, pid: i32, file: &str, buf: &'a mut [u8]) -> Option<&'a [u8]> {
    use rustix::fs::{Mode, OFlags};
    let name = ProcPath::new(pid, file);
    let fd = rustix::fs::openat(
        proc,
        name.as_c_str(),
        OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOFOLLOW,
        Mode::empty(),
    )
    .ok()?;
    let n = rustix::io::read(&fd, &mut *buf).ok()?;
    buf.get(..n)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One connector message as the kernel sends it: nlmsghdr, cn_msg, proc_event.
    fn message(what: u32, data: [u32; 4]) -> Vec<u8> {
        let mut m = vec![0u8; HEADERS + 16 + 24];
        let len = m.len() as u32;
        m[0..4].copy_from_slice(&len.to_ne_bytes());
        m[16..20].copy_from_slice(&1u32.to_ne_bytes());
        m[20..24].copy_from_slice(&1u32.to_ne_bytes());
        m[HEADERS..HEADERS + 4].copy_from_slice(&what.to_ne_bytes());
        for (i, v) in data.iter().enumerate() {
            let at = HEADERS + 16 + 4 * i;
            m[at..at + 4].copy_from_slice(&v.to_ne_bytes());
        }
        m
    }

    #[test]
    fn forks_and_exits_of_thread_groups_only() {
        let mut datagram = message(EVENT_FORK, [1, 1, 200, 200]);
        datagram.extend(message(EVENT_FORK, [200, 200, 201, 200])); // a thread
        datagram.extend(message(0x2, [200, 200, 0, 0])); // exec
        datagram.extend(message(EVENT_EXIT, [201, 200, 0, 0])); // a thread exits
        datagram.extend(message(EVENT_EXIT, [200, 200, 0, 17]));
        let mut changes = Vec::new();
        parse_events(&datagram, &mut changes);
        assert_eq!(
            changes,
            vec![Change::Forked(200), Change::LeaderExited(200)]
        );
        // Another connector index, a truncated message: skipped.
        let mut other = message(EVENT_FORK, [1, 1, 300, 300]);
        other[16..20].copy_from_slice(&2u32.to_ne_bytes());
        let truncated = message(EVENT_FORK, [1, 1, 400, 400]);
        other.extend_from_slice(&truncated[..40]);
        changes.clear();
        parse_events(&other, &mut changes);
        assert!(changes.is_empty());
    }
}
