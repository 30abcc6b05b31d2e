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
//! Cost: the process scan is `readlink` only (no open, no stat of ns files); the command is read
//! once per namespace, for its lowest pid; the ioctls for parent and owner open one namespace
//! file per namespace, not per process (lsns opens every link of every process).

use std::collections::HashMap;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::NsKind;
use super::mounts::{NsfsMount, read_nsfs_mounts};
use super::reference::{HostReference, host_reference};
use crate::host::process::{Process, ReadDepth, read_command};
use crate::host::scan::read_processes;
use crate::host::users::UserNames;
use crate::host::{HostError, HostRoot};
use crate::sys::nsfs;

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
    /// Command of the lowest pid, cleaned.
    pub command: Option<String>,
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
    fn empty(inode: u64, kind: NsKind) -> Self {
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

/// Scans the host (namespaces and owner of each process only) and builds the table: the one
/// call `isotop ns` needs.
pub fn read_table(root: &HostRoot) -> Result<NamespaceTable, HostError> {
    let mut warnings = Vec::new();
    let processes = read_processes(root, ReadDepth::Namespaces, &mut warnings)?;
    let users = UserNames::read(root);
    let mut table = build_table(root, &processes, &users);
    table.warnings.extend(warnings);
    Ok(table)
}

/// Groups processes by namespace and completes each row (user, command, bind mounts, parent
/// and owner). Never fails: what cannot be read is left `None` and said in `warnings`.
pub fn build_table(root: &HostRoot, processes: &[Process], users: &UserNames) -> NamespaceTable {
    let mut warnings = Vec::new();
    let mut namespaces: Vec<Namespace> = Vec::new();
    // inode → position in `namespaces`; nsfs inodes are unique across kinds (one superblock).
    let mut index: HashMap<u64, usize> = HashMap::new();
    let mut hidden: Vec<i32> = Vec::new();

    for process in processes {
        if process.ns.denied {
            hidden.push(process.pid);
        }
        for (kind, inode) in process.ns.iter() {
            let at = *index.entry(inode).or_insert_with(|| {
                namespaces.push(Namespace::empty(inode, kind));
                namespaces.len() - 1
            });
            let ns = &mut namespaces[at];
            ns.nprocs += 1;
            ns.pids.push(process.pid);
            if ns.pid.is_none_or(|lowest| process.pid < lowest) {
                ns.pid = Some(process.pid);
                ns.uid = Some(process.uid);
            }
        }
    }

    let mounts = match read_nsfs_mounts(root) {
        Ok(mounts) => mounts,
        Err(e) => {
            warnings.push(format!("bind-mounted namespaces not shown: {e}"));
            Vec::new()
        }
    };
    for mount in &mounts {
        let at = *index.entry(mount.inode).or_insert_with(|| {
            namespaces.push(Namespace::empty(mount.inode, mount.kind));
            namespaces.len() - 1
        });
        let path = PathBuf::from(&mount.display);
        if !namespaces[at].nsfs.contains(&path) {
            namespaces[at].nsfs.push(path);
        }
    }

    for ns in &mut namespaces {
        ns.pids.sort_unstable();
        if let (Some(pid), Some(uid)) = (ns.pid, ns.uid) {
            ns.user = Some(users.name(uid));
            ns.command = read_command(root, pid);
        }
    }

    if root.live {
        let failures = resolve_relations(root, &mut namespaces, &mut index, &mounts);
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

    namespaces.sort_unstable_by_key(|ns| ns.inode);
    if !hidden.is_empty() {
        warnings.push(hidden_warning(&hidden));
    }
    NamespaceTable {
        host: host_reference(root, processes),
        namespaces,
        warnings,
    }
}

fn hidden_warning(pids: &[i32]) -> String {
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

/// Parent, owner and owner uid of one open namespace; descriptors of relatives not yet in the
/// table are kept in `pending` so they can be listed too.
struct Relations {
    parent: Option<u64>,
    owner: Option<u64>,
    owner_uid: Option<u32>,
}

fn relations_of(
    fd: BorrowedFd<'_>,
    kind: NsKind,
    known: &HashMap<u64, usize>,
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
    let owner = nsfs::owning_userns(fd)?.map(&mut keep).transpose()?;
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

/// Fills parent/owner of every namespace and appends the relatives no process holds. Returns
/// how many namespaces could not be opened.
fn resolve_relations(
    root: &HostRoot,
    namespaces: &mut Vec<Namespace>,
    index: &mut HashMap<u64, usize>,
    mounts: &[NsfsMount],
) -> usize {
    let mut failures = 0;
    let mut pending: Vec<OwnedFd> = Vec::new();
    for ns in namespaces.iter_mut() {
        let Some(fd) = open_namespace(root, ns, mounts) else {
            failures += 1;
            continue;
        };
        match relations_of(fd.as_fd(), ns.kind, index, &mut pending) {
            Ok(rel) => apply(ns, rel),
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
            Ok(rel) => apply(&mut ns, rel),
            Err(_) => failures += 1,
        }
        namespaces.push(ns);
    }
    failures
}

fn apply(ns: &mut Namespace, rel: Relations) {
    ns.parent = rel.parent;
    ns.owner = rel.owner;
    ns.owner_uid = rel.owner_uid;
}

/// Opens the namespace through one of its processes (lowest pids first; a pid may have exited
/// or been reused, so the inode is checked) or else through a bind mount.
fn open_namespace(root: &HostRoot, ns: &Namespace, mounts: &[NsfsMount]) -> Option<OwnedFd> {
    const TRIES: usize = 3;
    let via_pids = ns
        .pids
        .iter()
        .take(TRIES)
        .map(|pid| root.pid_dir(*pid).join("ns").join(ns.kind.name()));
    let via_mounts = mounts
        .iter()
        .filter(|m| m.inode == ns.inode)
        .map(|m| root.host_path(&m.mount_point));
    via_pids
        .chain(via_mounts)
        .find_map(|path| open_checked(&path, ns.inode))
}

fn open_checked(path: &Path, inode: u64) -> Option<OwnedFd> {
    let fd = nsfs::open(path).ok()?;
    (nsfs::inode(fd.as_fd()).ok()? == inode).then_some(fd)
}

#[cfg(test)]
mod tests;
