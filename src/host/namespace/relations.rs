//! Parent, owner and owner uid of each namespace: the nsfs ioctls on one open file per
//! namespace (through one of its processes, else a bind mount), and the relatives no process
//! holds, found through those ioctls and listed too.
//!
//! Per namespace: `openat` of `PID/ns/KIND` relative to `/proc` (the lowest pids first; the
//! inode is checked with `fstat`, since the pid may have been reused), `NS_GET_USERNS` and an
//! `fstat` of the descriptor it returns, `NS_GET_PARENT` likewise for pid namespaces; for a
//! user namespace its parent is its owner (the kernel answers both ioctls with the same
//! namespace), so only `NS_GET_PARENT` and `NS_GET_OWNER_UID` are asked.
//!
//! [`RelationCache`] keeps the answers between builds of the sampler's table, keyed by inode
//! with a witness: the lowest process (pid and start time) when they were read. A namespace
//! lives as long as a process is in it, so while the same process is its lowest member the
//! inode cannot have been freed and given to another namespace; an entry is dropped the first
//! build its inode is not listed, asked again when its witness changes or a relative of it is
//! not a listed row (so relatives no process holds are found again), and in any case every
//! [`REVERIFY_EVERY`] builds, spread over the builds by inode. That last bound covers the one
//! case the witness cannot see: its process leaving the namespace, which then dies, and
//! entering a new one given the same inode, all between two builds.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use super::NsKind;
use super::listing::{ns_link, open_proc};
use super::mounts::NsfsMount;
use super::table::{InodeMap, Namespace};
use crate::host::HostRoot;
use crate::sys::nsfs;

/// Every how many builds a cached answer is read again whatever its witness says (at the
/// sampler's 5 s cadence: five minutes). Each build re-reads this fraction of the namespaces:
/// 1/60 of a full read's ~30 ms on 2,800 namespaces is half a millisecond.
pub const REVERIFY_EVERY: u64 = 60;

/// The parent/owner answers of earlier builds, by inode (see the module's contract).
#[derive(Debug, Default)]
pub struct RelationCache {
    entries: InodeMap<Cached>,
    builds: u64,
    /// Inodes of the namespaces whose files the last build opened (the rest were answered
    /// from here).
    opened: Vec<u64>,
}

impl RelationCache {
    /// How many namespaces' answers are kept.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// True when answers for `inode` are kept.
    pub fn holds(&self, inode: u64) -> bool {
        self.entries.contains_key(&inode)
    }

    /// How many namespaces the last build opened for their ioctls (not answered from here).
    pub fn opened_last_build(&self) -> usize {
        self.opened.len()
    }

    /// True when the last build opened namespace `inode` (its answers were not taken from
    /// here).
    pub fn opened_in_last_build(&self, inode: u64) -> bool {
        self.opened.contains(&inode)
    }
}

#[derive(Debug, Clone, Copy)]
struct Cached {
    kind: NsKind,
    /// Lowest pid and its start time (clock ticks after boot) when the answers were read.
    witness: (i32, u64),
    relations: Relations,
}

/// Parent, owner and owner uid of one namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Relations {
    parent: Option<u64>,
    owner: Option<u64>,
    owner_uid: Option<u32>,
}

fn relations_of(
    fd: BorrowedFd<'_>,
    kind: NsKind,
    known: &InodeMap<usize>,
    pending: &mut Vec<OwnedFd>,
) -> io::Result<Relations> {
    let mut keep = |fd: OwnedFd| -> io::Result<u64> {
        let inode = nsfs::inode(fd.as_fd())?;
        if !known.contains_key(&inode) {
            pending.push(fd);
        }
        Ok(inode)
    };
    let parent = if matches!(kind, NsKind::User | NsKind::Pid) {
        nsfs::parent(fd)?.map(&mut keep).transpose()?
    } else {
        None
    };
    let owner = if kind == NsKind::User {
        parent
    } else {
        nsfs::owning_userns(fd)?.map(&mut keep).transpose()?
    };
    let owner_uid = if kind == NsKind::User {
        nsfs::owner_uid(fd)?
    } else {
        None
    };
    Ok(Relations {
        parent,
        owner,
        owner_uid,
    })
}

/// Fills parent/owner of every namespace and appends the relatives no process holds, opening
/// namespace files relative to `proc` (`/proc` as a directory; opened here when `None`). With
/// `cached`, each row's witness start time (`None`: not cacheable) and the cache. Returns how
/// many namespaces could not be opened.
pub(super) fn resolve_relations(
    root: &HostRoot,
    proc: Option<&OwnedFd>,
    namespaces: &mut Vec<Namespace>,
    index: &mut InodeMap<usize>,
    mounts: &[NsfsMount],
    mut cached: Option<(&mut RelationCache, &[Option<u64>])>,
) -> usize {
    let mut failures = 0;
    let mut opened = Vec::new();
    let mut pending: Vec<OwnedFd> = Vec::new();
    let own_proc = match proc {
        Some(_) => None,
        None => open_proc(root).ok(),
    };
    let proc = proc.or(own_proc.as_ref());
    let builds = cached.as_ref().map_or(0, |(cache, _)| cache.builds);
    for (at, ns) in namespaces.iter_mut().enumerate() {
        let witness = cached
            .as_ref()
            .and_then(|(_, starts)| Some((ns.pid?, (*starts.get(at)?)?)));
        if let (Some((cache, _)), Some(witness)) = (cached.as_ref(), witness)
            && let Some(hit) = cache.entries.get(&ns.inode)
            && hit.kind == ns.kind
            && hit.witness == witness
            && (builds.wrapping_add(ns.inode)) % REVERIFY_EVERY != 0
            && [hit.relations.parent, hit.relations.owner]
                .iter()
                .flatten()
                .all(|relative| index.contains_key(relative))
        {
            apply(ns, hit.relations);
            continue;
        }
        opened.push(ns.inode);
        let Some(fd) = open_namespace(root, proc, ns, mounts) else {
            failures += 1;
            continue;
        };
        match relations_of(fd.as_fd(), ns.kind, index, &mut pending) {
            Ok(relations) => {
                apply(ns, relations);
                if let (Some((cache, _)), Some(witness)) = (cached.as_mut(), witness) {
                    cache.entries.insert(
                        ns.inode,
                        Cached {
                            kind: ns.kind,
                            witness,
                            relations,
                        },
                    );
                }
            }
            Err(_) => failures += 1,
        }
    }
    // Relatives reached only through ioctls. The user-namespace tree is at most 32 deep and
    // pid namespaces likewise, and every inode is added once, so this ends; the cap is a guard.
    let mut budget = 4096;
    while let Some(fd) = pending.pop() {
        budget -= 1;
        if budget == 0 {
            break;
        }
        let (Ok(inode), Ok(Some(kind))) = (nsfs::inode(fd.as_fd()), nsfs::kind(fd.as_fd())) else {
            failures += 1;
            continue;
        };
        if index.contains_key(&inode) {
            continue;
        }
        let mut ns = Namespace::empty(inode, kind);
        index.insert(inode, namespaces.len());
        match relations_of(fd.as_fd(), kind, index, &mut pending) {
            Ok(relations) => apply(&mut ns, relations),
            Err(_) => failures += 1,
        }
        namespaces.push(ns);
    }
    if let Some((cache, _)) = cached {
        // A namespace not listed now has died: its inode may be given to a new one.
        cache.entries.retain(|inode, _| index.contains_key(inode));
        cache.builds = cache.builds.wrapping_add(1);
        cache.opened = opened;
    }
    failures
}

fn apply(ns: &mut Namespace, relations: Relations) {
    ns.parent = relations.parent;
    ns.owner = relations.owner;
    ns.owner_uid = relations.owner_uid;
}

/// Opens the namespace through one of its processes (lowest pids first; a pid may have exited
/// or been reused, so the inode is checked) or else through a bind mount.
fn open_namespace(
    root: &HostRoot,
    proc: Option<&OwnedFd>,
    ns: &Namespace,
    mounts: &[NsfsMount],
) -> Option<OwnedFd> {
    const TRIES: usize = 3;
    let via_pids = ns.pids.iter().take(TRIES).find_map(|pid| {
        let path = ns_link(*pid, ns.kind);
        let fd = rustix::fs::openat(
            proc?,
            path.as_c_str(),
            rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )
        .ok()?;
        checked(fd, ns.inode)
    });
    via_pids.or_else(|| {
        mounts
            .iter()
            .filter(|m| m.inode == ns.inode)
            .find_map(|m| checked(nsfs::open(&root.host_path(&m.mount_point)).ok()?, ns.inode))
    })
}

fn checked(fd: OwnedFd, inode: u64) -> Option<OwnedFd> {
    (nsfs::inode(fd.as_fd()).ok()? == inode).then_some(fd)
}
