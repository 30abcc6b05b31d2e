//! The namespace table: every namespace on the host once, with lsns' columns (lsns 2.38,
//! `lsns -J`) plus parent, owner and bind mounts.
//!
//! Semantics kept from lsns: a namespace is listed when some process (a `/proc/<pid>` entry,
//! i.e. a thread-group leader, never a thread) is in it; NPROCS counts those processes; PID is
//! the lowest of them, USER the owner of that pid's `/proc` directory and COMMAND its cmdline
//! joined by spaces, else its `comm`; processes whose `ns` links are unreadable are not counted
//! (lsns skips them silently, we say so in `warnings`). Rows are sorted by inode. Additions:
//! namespaces held only by an nsfs bind mount (`ip netns add`) are listed with `nprocs` 0, and
//! so are user/pid namespaces reached only as the parent or owner of a listed one (lsns shows
//! these only in its `-T owner`/`-T parent` trees).
//!
//! Cost: `isotop ns` reads at the syscall floor ([`super::listing`]). [`build_table`] is given
//! processes whose links were read already and reads no link: the command of a namespace's
//! lowest pid comes from its record when that record is a full one, and the parent/owner
//! ioctls ([`super::relations`]) open one namespace file per namespace, not per process (lsns
//! opens every link of every process) — with a [`RelationCache`], only for namespaces that
//! are new or whose lowest process changed since the last build.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::listing::read_mounts;
use super::mounts::NsfsMount;
use super::reference::{HostReference, host_reference};
use super::relations::{RelationCache, resolve_relations};
use super::{NsKind, NsSet};
use crate::host::HostRoot;
use crate::host::process::{Records, read_command};
use crate::host::users::UserNames;

/// One namespace, as a row of `isotop ns`. JSON keys follow lsns' (`ns`, `type`, `nprocs`,
/// `pid`, `uid`, `user`, `command`, `nsfs`) where lsns has the column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Namespace {
    /// The namespace's identity: the inode of its nsfs file.
    #[serde(rename = "ns")]
    pub inode: u64,
    #[serde(rename = "type")]
    pub kind: NsKind,
    /// Processes (not threads) in it; 0 when only a bind mount or a child keeps it alive.
    pub nprocs: usize,
    /// Lowest pid in it.
    pub pid: Option<i32>,
    /// Owner of the lowest pid (uid of its `/proc/<pid>` directory).
    pub uid: Option<u32>,
    pub user: Option<String>,
    /// Command of the lowest pid, cleaned; shared by the namespaces whose lowest pid it is (a
    /// container's 7 hold one).
    pub command: Option<Arc<str>>,
    /// Parent namespace (user and pid kinds), when visible from isotop's user namespace.
    pub parent: Option<u64>,
    /// Owning user namespace (`NS_GET_USERNS`), when visible from isotop's user namespace.
    pub owner: Option<u64>,
    /// For a user namespace: the uid that created it.
    pub owner_uid: Option<u32>,
    /// nsfs bind mounts of it (display text: control characters replaced).
    pub nsfs: Vec<PathBuf>,
    /// Every pid in it, ascending.
    pub pids: Vec<i32>,
}

impl Namespace {
    pub(super) fn empty(inode: u64, kind: NsKind) -> Self {
        Namespace {
            inode,
            kind,
            nprocs: 0,
            pid: None,
            uid: None,
            user: None,
            command: None,
            parent: None,
            owner: None,
            owner_uid: None,
            nsfs: Vec::new(),
            pids: Vec::new(),
        }
    }

    /// True when `pid` is one of this namespace's processes.
    pub fn contains(&self, pid: i32) -> bool {
        self.pids.binary_search(&pid).is_ok()
    }
}

/// The whole listing: namespaces by inode, which of them are the host's, and what could not be
/// seen.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NamespaceTable {
    #[serde(rename = "host_reference")]
    pub host: HostReference,
    pub namespaces: Vec<Namespace>,
    /// What is missing or approximate, said in words (permission, vanished processes).
    pub warnings: Vec<String>,
}

impl NamespaceTable {
    pub fn get(&self, inode: u64) -> Option<&Namespace> {
        self.namespaces
            .binary_search_by_key(&inode, |ns| ns.inode)
            .ok()
            .map(|i| &self.namespaces[i])
    }
}

/// Groups processes by namespace and completes each row (user, command, bind mounts, parent
/// and owner). Never fails: what cannot be read is left `None` and said in `warnings`.
pub fn build_table<'p>(
    root: &HostRoot,
    processes: impl Into<Records<'p>>,
    users: &UserNames,
) -> NamespaceTable {
    build_table_cached(root, processes, users, &mut RelationCache::default())
}

/// [`build_table`] keeping the parent/owner answers in `cache` between builds (the sampler's
/// way): a namespace whose lowest process is the same process as at the last build reuses
/// them; see [`RelationCache`] for when they are read again.
pub fn build_table_cached<'p>(
    root: &HostRoot,
    processes: impl Into<Records<'p>>,
    users: &UserNames,
    cache: &mut RelationCache,
) -> NamespaceTable {
    let processes = processes.into();
    let mut warnings = Vec::new();
    let mut rows = Rows::default();
    for (at, process) in processes.iter().enumerate() {
        rows.add_process(process.pid, &process.ns, Some((process.uid, at)));
    }
    let mounts = read_mounts(root, &mut warnings);
    rows.add_mounts(&mounts);

    // One command per distinct lowest process, shared by its namespaces.
    let mut commands: HashMap<usize, Option<Arc<str>>> = HashMap::new();
    for (ns, lowest) in rows.namespaces.iter_mut().zip(&rows.lowest) {
        let (Some(pid), Some(uid), Some(at)) = (ns.pid, ns.uid, *lowest) else {
            continue;
        };
        let Some(process) = processes.get(at) else {
            continue;
        };
        ns.user = Some(users.name(uid));
        // A full record (its `comm` read from `stat`) already holds the command; one read
        // with namespaces only does not.
        ns.command = commands
            .entry(at)
            .or_insert_with(|| {
                if process.comm.is_empty() {
                    read_command(root, pid).map(Arc::from)
                } else {
                    Some(Arc::from(process.command()))
                }
            })
            .clone();
    }
    let witnesses: Vec<Option<u64>> = rows
        .lowest
        .iter()
        .map(|at| {
            at.and_then(|at| processes.get(at))
                .map(|p| p.start_ticks)
                .filter(|start| *start > 0)
        })
        .collect();
    rows.finish(
        root,
        None,
        &mounts,
        Some((cache, &witnesses)),
        &mut warnings,
    );
    NamespaceTable {
        host: host_reference(root, processes),
        namespaces: rows.namespaces,
        warnings,
    }
}

/// A map keyed by namespace inode, hashed with [`InodeHasher`].
pub(super) type InodeMap<V> = HashMap<u64, V, BuildHasherDefault<InodeHasher>>;

/// Hashes an inode number with one multiply: the kernel hands these numbers out in sequence
/// (nobody chooses them), so SipHash's defence against chosen keys buys nothing, and a build
/// hashes one for each of ~93,000 links on a 11,700-process host.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct InodeHasher(u64);

impl Hasher for InodeHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.write_u64(u64::from(*byte));
        }
    }

    fn write_u64(&mut self, n: u64) {
        // Fibonacci hashing: the golden ratio's odd constant spreads sequential inputs over
        // the high bits (the table's tag) while the low bits (its bucket) still differ.
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// The rows being built: namespaces in the order first seen, where each inode is, and which
/// processes hide their links.
#[derive(Default)]
pub(super) struct Rows {
    pub(super) namespaces: Vec<Namespace>,
    /// inode → position in `namespaces`; nsfs inodes are unique across kinds (one superblock).
    index: InodeMap<usize>,
    /// Per row: the caller's tag (position in its process slice) of the lowest pid.
    lowest: Vec<Option<usize>>,
    hidden: Vec<i32>,
}

impl Rows {
    /// Counts `pid` in each of its namespaces; `owner` is its uid and the caller's tag for it,
    /// when known now.
    pub(super) fn add_process(&mut self, pid: i32, ns: &NsSet, owner: Option<(u32, usize)>) {
        if ns.denied {
            self.hidden.push(pid);
        }
        for (kind, inode) in ns.iter() {
            let at = self.row(inode, kind);
            let row = &mut self.namespaces[at];
            row.nprocs += 1;
            row.pids.push(pid);
            if row.pid.is_none_or(|lowest| pid < lowest) {
                row.pid = Some(pid);
                row.uid = owner.map(|(uid, _)| uid);
                self.lowest[at] = owner.map(|(_, tag)| tag);
            }
        }
    }

    /// Lists bind-mounted namespaces, adding those no process holds.
    pub(super) fn add_mounts(&mut self, mounts: &[NsfsMount]) {
        for mount in mounts {
            let at = self.row(mount.inode, mount.kind);
            let path = PathBuf::from(&mount.display);
            if !self.namespaces[at].nsfs.contains(&path) {
                self.namespaces[at].nsfs.push(path);
            }
        }
    }

    fn row(&mut self, inode: u64, kind: NsKind) -> usize {
        *self.index.entry(inode).or_insert_with(|| {
            self.namespaces.push(Namespace::empty(inode, kind));
            self.lowest.push(None);
            self.namespaces.len() - 1
        })
    }

    /// Sorts pids and rows, reads parents and owners (live host only, through `proc`, `/proc`
    /// opened as a directory, or else opened here; `cached` keeps their
    /// answers between builds, with each row's witness: its lowest process's start time), and
    /// says what is missing in `warnings`.
    pub(super) fn finish(
        &mut self,
        root: &HostRoot,
        proc: Option<&OwnedFd>,
        mounts: &[NsfsMount],
        cached: Option<(&mut RelationCache, &[Option<u64>])>,
        warnings: &mut Vec<String>,
    ) {
        for ns in &mut self.namespaces {
            ns.pids.sort_unstable();
            // Pushed one at a time, a list holds up to twice its pids; the table lives a
            // tick or more beside the next one's build (~93,000 pids on 11,700 processes).
            ns.pids.shrink_to_fit();
        }
        self.namespaces.shrink_to_fit();
        if root.live {
            let failures = resolve_relations(
                root,
                proc,
                &mut self.namespaces,
                &mut self.index,
                mounts,
                cached,
            );
            if failures > 0 {
                warnings.push(format!(
                    "parent/owner unknown for {failures} namespace(s): their files could not be \
                     opened (processes exited or permission denied)"
                ));
            }
        } else {
            warnings.push(
                "parent and owner are read only on the live host (--root /): they need the \
                 namespace files opened"
                    .to_string(),
            );
        }
        self.namespaces.sort_unstable_by_key(|ns| ns.inode);
        if !self.hidden.is_empty() {
            warnings.push(hidden_warning(&self.hidden));
        }
    }
}

pub(super) fn hidden_warning(pids: &[i32]) -> String {
    const SHOWN: usize = 5;
    let mut list: Vec<String> = pids.iter().take(SHOWN).map(i32::to_string).collect();
    if pids.len() > SHOWN {
        list.push("...".to_string());
    }
    format!(
        "{} process(es) hide their namespaces (permission denied reading /proc/<pid>/ns; pid \
         {}): not counted, as lsns does not count them",
        pids.len(),
        list.join(", ")
    )
}

#[cfg(test)]
mod tests;
