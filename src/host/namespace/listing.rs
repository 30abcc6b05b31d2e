//! [`read_table`]: the one-shot listing `isotop ns` prints, read at the syscall floor.
//!
//! Contract: the syscalls are exactly those `examples/ns_floor.rs` makes (the benchmark's
//! floor, and a test keeps the two in step): `/proc` opened once as a directory and listed;
//! per process the eight `readlinkat(proc, "PID/ns/KIND")` and nothing else (no stat, no
//! allocation of a path or a link text); per distinct lowest pid of a namespace one `statat`
//! for its owner and one `cmdline` read (`open`, one `read` into a page-sized buffer — a short
//! read of `cmdline` is its end — `close`; `comm` likewise when the cmdline is empty); the
//! nsfs bind mounts from `<proc>/self/mountinfo` and user names from `etc/passwd` (`open`,
//! `read` to the end, `close`); kthreadd's `stat` when PID 1 hides its links; then per
//! namespace the parent/owner ioctls of [`super::relations`]. A process that vanishes
//! mid-read is skipped; an unreadable link marks the process as hiding its namespaces.

use foldhash::HashMap;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;
use std::sync::Arc;

use rustix::fs::{AtFlags, Mode, OFlags};

use super::mounts::{NsfsMount, parse_nsfs_mounts};
use super::reference::reference_from;
use super::table::{NamespaceTable, Rows};
use super::{NsKind, NsSet, parse_ns_link};
use crate::host::process::list_pids;
use crate::host::process::proc_path::ProcPath;
use crate::host::text::clean;
use crate::host::users::UserNames;
use crate::host::{HostError, HostRoot};

/// `PID/ns/KIND`, the link of one namespace.
pub(super) fn ns_link(pid: i32, kind: NsKind) -> ProcPath {
    let mut path = ProcPath::new(pid, "ns/");
    path.push(kind.name().as_bytes());
    path
}

/// `/proc` opened as a directory: every per-process path is resolved from it.
pub(super) fn open_proc(root: &HostRoot) -> Result<OwnedFd, HostError> {
    rustix::fs::open(
        &root.proc,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| HostError::io(&root.proc, e.into()))
}

/// What the eight links of one process said.
pub(super) enum Links {
    Read(NsSet),
    /// Every link was missing: the process exited.
    Vanished,
}

/// The eight `readlinkat`s of one process, relative to `/proc`.
pub(super) fn read_links(proc: &OwnedFd, pid: i32) -> io::Result<Links> {
    let mut set = NsSet::default();
    let mut missing = 0;
    let mut text = [0u8; 64];
    for kind in NsKind::ALL {
        let path = ns_link(pid, kind);
        match rustix::fs::readlinkat_raw(proc, path.as_c_str(), &mut text[..]) {
            Ok(len) => {
                let target = &text[..len.min(text.len())];
                if let Some((k, inode)) = std::str::from_utf8(target).ok().and_then(parse_ns_link)
                    && k == kind
                {
                    set.set(kind, Some(inode));
                }
            }
            Err(rustix::io::Errno::ACCESS) => set.denied = true,
            // A missing link is a kind this kernel lacks, or the process exiting.
            Err(rustix::io::Errno::NOENT) | Err(rustix::io::Errno::SRCH) => missing += 1,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(if missing == NsKind::ALL.len() {
        Links::Vanished
    } else {
        Links::Read(set)
    })
}

/// Reads a whole file with `open`, `read` until the end, `close` (no `stat` for a size hint:
/// procfs files report size 0 anyway). `Ok(None)` when it does not exist.
pub(super) fn read_whole(dir: Option<&OwnedFd>, path: &Path) -> io::Result<Option<Vec<u8>>> {
    let opened = match dir {
        Some(dir) => rustix::fs::openat(dir, path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()),
        None => rustix::fs::open(path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()),
    };
    let fd = match opened {
        Ok(fd) => fd,
        Err(rustix::io::Errno::NOENT) | Err(rustix::io::Errno::SRCH) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    Ok(Some(read_chunks(&fd, 64 * 1024, false)))
}

/// A per-process file read the way `cmdline` and `comm` need: one `read` of a page (`cmdline`
/// returns everything that fits in one call, so a short read is its end), more only when the
/// page was filled. Empty when the process is gone.
pub(super) fn read_small(proc: &OwnedFd, path: &ProcPath) -> Vec<u8> {
    let Ok(fd) = rustix::fs::openat(
        proc,
        path.as_c_str(),
        OFlags::RDONLY | OFlags::CLOEXEC,
        Mode::empty(),
    ) else {
        return Vec::new();
    };
    read_chunks(&fd, 4096, true)
}

/// Reads `fd` in chunks of `chunk` bytes until a read returns nothing or, with
/// `short_is_end`, returns less than a chunk (true of `cmdline` and `comm`, not of seq files
/// such as `mountinfo`, which stop short at a record that does not fit). A failed read ends
/// it with what was read.
fn read_chunks(fd: &OwnedFd, chunk: usize, short_is_end: bool) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut page = vec![0u8; chunk];
    while let Ok(n) = rustix::io::read(fd.as_fd(), &mut page[..]) {
        bytes.extend_from_slice(&page[..n]);
        if n == 0 || (short_is_end && n < chunk) {
            break;
        }
    }
    bytes
}

/// The command as lsns shows it, from the bytes of `cmdline` (NUL-separated, cleaned, joined
/// by spaces) or else `comm`; `None` when both are empty.
pub(super) fn read_command_at(proc: &OwnedFd, pid: i32) -> Option<String> {
    let cmdline = read_small(proc, &ProcPath::new(pid, "cmdline"));
    let trimmed = cmdline.strip_suffix(&[0]).unwrap_or(&cmdline);
    if !trimmed.is_empty() {
        let spaced: Vec<u8> = trimmed
            .iter()
            .map(|b| if *b == 0 { b' ' } else { *b })
            .collect();
        return Some(clean(&spaced));
    }
    let comm = read_small(proc, &ProcPath::new(pid, "comm"));
    let comm = comm.strip_suffix(b"\n").unwrap_or(&comm);
    (!comm.is_empty()).then(|| clean(comm))
}

/// Scans the host (the namespace links of each process) and builds the table: the one call
/// `isotop ns` needs. Fails only when `/proc` cannot be listed.
pub fn read_table(root: &HostRoot) -> Result<NamespaceTable, HostError> {
    let pids = list_pids(root)?;
    let proc = open_proc(root)?;
    let mut warnings = Vec::new();
    let mut rows = Rows::default();
    let (mut pid1, mut pid2) = (None, None);
    for pid in pids {
        match read_links(&proc, pid) {
            Ok(Links::Read(set)) => {
                rows.add_process(pid, &set, None);
                match pid {
                    1 => pid1 = Some(set),
                    2 => pid2 = Some(set),
                    _ => {}
                }
            }
            Ok(Links::Vanished) => {}
            Err(e) => warnings.push(HostError::io(&root.pid_dir(pid).join("ns"), e).to_string()),
        }
    }

    let mounts = read_mounts(root, &mut warnings);
    rows.add_mounts(&mounts);

    let users = match read_whole(None, &root.etc.join("passwd")) {
        Ok(Some(bytes)) => UserNames::parse(&String::from_utf8_lossy(&bytes)),
        _ => UserNames::default(),
    };
    // Owner and command once per distinct lowest pid (a container's namespaces share one).
    let mut seen: HashMap<i32, (Option<u32>, Option<Arc<str>>)> = HashMap::default();
    for ns in &mut rows.namespaces {
        let Some(pid) = ns.pid else { continue };
        let (uid, command) = seen
            .entry(pid)
            .or_insert_with(|| {
                let uid =
                    rustix::fs::statat(&proc, ProcPath::new(pid, "").as_c_str(), AtFlags::empty())
                        .ok()
                        .map(|st| st.st_uid);
                (
                    uid,
                    uid.and_then(|_| read_command_at(&proc, pid).map(Arc::from)),
                )
            })
            .clone();
        ns.uid = uid;
        ns.user = uid.map(|uid| users.name(uid));
        ns.command = command;
    }

    let host = reference_from(root, pid1, pid2.map(|ns| (ns, None)));
    rows.finish(root, Some(&proc), &mounts, None, &mut warnings);
    Ok(NamespaceTable {
        host,
        namespaces: rows.namespaces,
        warnings,
    })
}

/// The nsfs bind mounts of isotop's mount namespace; trouble becomes a warning.
pub(super) fn read_mounts(root: &HostRoot, warnings: &mut Vec<String>) -> Vec<NsfsMount> {
    let path = root.self_dir().join("mountinfo");
    match read_whole(None, &path) {
        Ok(Some(bytes)) => parse_nsfs_mounts(&String::from_utf8_lossy(&bytes)),
        Ok(None) => Vec::new(),
        Err(e) => {
            warnings.push(format!(
                "bind-mounted namespaces not shown: {}",
                HostError::io(&path, e)
            ));
            Vec::new()
        }
    }
}
