//! Namespaces (lsns semantics) — the eight kinds and each process's set of them.
//!
//! A process's namespaces are the links `/proc/<pid>/ns/<kind>` whose text is `kind:[inode]`.
//! Only `readlink` is needed to learn the inode (no open, no stat), which keeps a scan of
//! thousands of processes cheap. An unreadable link (EACCES, as for PID 1 on some hosts) leaves
//! that kind unknown and sets `denied`.
//!
//! The listing built from these sets lives in [`table`] (lsns semantics; `isotop ns` reads it
//! at the syscall floor through [`read_table`]), parents and owners in [`relations`] (with the
//! sampler's cache), the bind-mounted namespaces in [`mounts`], and the choice of which
//! namespaces are the host's in [`reference`](mod@reference).

mod listing;
pub mod mounts;
pub mod reference;
pub mod relations;
pub mod table;

pub use listing::read_table;
pub use reference::{HostReference, host_reference};
pub use relations::RelationCache;
pub use table::{Namespace, NamespaceTable, build_table, build_table_cached};

use std::fs;
use std::num::NonZeroU32;

use serde::{Deserialize, Serialize};

use super::error::is_vanished;
use super::{HostError, HostRoot};

/// The eight namespace kinds, in lsns' alphabetical order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NsKind {
    Cgroup,
    Ipc,
    Mnt,
    Net,
    Pid,
    Time,
    User,
    Uts,
}

impl NsKind {
    pub const ALL: [NsKind; 8] = [
        NsKind::Cgroup,
        NsKind::Ipc,
        NsKind::Mnt,
        NsKind::Net,
        NsKind::Pid,
        NsKind::Time,
        NsKind::User,
        NsKind::Uts,
    ];

    /// The name used in `/proc/<pid>/ns/` and by lsns.
    pub fn name(self) -> &'static str {
        match self {
            NsKind::Cgroup => "cgroup",
            NsKind::Ipc => "ipc",
            NsKind::Mnt => "mnt",
            NsKind::Net => "net",
            NsKind::Pid => "pid",
            NsKind::Time => "time",
            NsKind::User => "user",
            NsKind::Uts => "uts",
        }
    }

    pub fn from_name(name: &str) -> Option<NsKind> {
        NsKind::ALL.into_iter().find(|k| k.name() == name)
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl std::fmt::Display for NsKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The inode of each of a process's namespaces; `None` where unreadable or unsupported.
///
/// Memory: 36 bytes (was 136 with `Option<u64>`, 72 with `Option<NonZeroU64>`: every process
/// record and its copies carry one). An nsfs inode is the kernel's `unsigned int`
/// (`ns_common.inum`, from `proc_alloc_inum`: 32 bits), never 0 (handed out from
/// `PROC_DYNAMIC_FIRST`, 0xF0000000, up), so 0 is free to mean unknown and
/// `Option<NonZeroU32>` holds any of them in 4 bytes. A number no kernel hands out (0, or past
/// 32 bits, as a snapshot's file could hold) is kept as unknown.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct NsSet {
    inodes: [Option<NonZeroU32>; 8],
    /// Some link could not be read (permission), as opposed to absent from this kernel.
    pub denied: bool,
}

impl NsSet {
    pub fn get(&self, kind: NsKind) -> Option<u64> {
        self.inodes[kind.index()].map(|inode| u64::from(inode.get()))
    }

    /// Sets `kind`'s inode; `Some(0)` or one past 32 bits, which no namespace has, is kept as
    /// unknown.
    pub fn set(&mut self, kind: NsKind, inode: Option<u64>) {
        self.inodes[kind.index()] = inode
            .and_then(|inode| u32::try_from(inode).ok())
            .and_then(NonZeroU32::new);
    }

    /// Pairs of (kind, inode) for every known namespace.
    pub fn iter(&self) -> impl Iterator<Item = (NsKind, u64)> + '_ {
        NsKind::ALL
            .into_iter()
            .filter_map(|k| self.get(k).map(|ino| (k, ino)))
    }

    /// True when no namespace could be read at all.
    pub fn is_empty(&self) -> bool {
        self.inodes.iter().all(Option::is_none)
    }
}

impl Serialize for NsSet {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(8))?;
        for kind in NsKind::ALL {
            map.serialize_entry(kind.name(), &self.get(kind))?;
        }
        map.end()
    }
}

/// The inverse of its [`Serialize`]: a map of kind names to inodes (unknown kinds refused).
impl<'de> Deserialize<'de> for NsSet {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let map = std::collections::BTreeMap::<String, Option<u64>>::deserialize(d)?;
        let mut set = NsSet::default();
        for (name, inode) in map {
            let kind = NsKind::from_name(&name).ok_or_else(|| {
                serde::de::Error::custom(format!("unknown namespace kind {name:?}"))
            })?;
            set.set(kind, inode);
        }
        Ok(set)
    }
}

/// Parses a namespace link text, `net:[4026531833]`, into its kind and inode.
/// Inode 0 is no namespace's (see [`NsSet`]): refused.
pub fn parse_ns_link(text: &str) -> Option<(NsKind, u64)> {
    let (kind, rest) = text.split_once(":[")?;
    let inode = rest
        .strip_suffix(']')?
        .parse()
        .ok()
        .filter(|&n: &u64| n != 0)?;
    Some((NsKind::from_name(kind)?, inode))
}

/// Reads the namespace set of one process; `Ok(None)` when the process has vanished.
pub fn read_ns_set(root: &HostRoot, pid: i32) -> Result<Option<NsSet>, HostError> {
    let dir = root.pid_dir(pid).join("ns");
    let mut set = NsSet::default();
    for kind in NsKind::ALL {
        let link = dir.join(kind.name());
        match fs::read_link(&link) {
            Ok(target) => {
                if let Some((k, ino)) = target.to_str().and_then(parse_ns_link)
                    && k == kind
                {
                    set.set(kind, Some(ino));
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => set.denied = true,
            // A missing link for one kind means the kernel lacks it (e.g. time before 5.6);
            // if the whole pid dir is gone the process vanished.
            Err(e) if is_vanished(&e) => {
                if !root.pid_dir(pid).exists() {
                    return Ok(None);
                }
            }
            Err(e) => return Err(HostError::io(&link, e)),
        }
    }
    Ok(Some(set))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_links() {
        assert_eq!(
            parse_ns_link("net:[4026531833]"),
            Some((NsKind::Net, 4026531833))
        );
        assert_eq!(parse_ns_link("net:[0]"), None, "no namespace has inode 0");
        assert_eq!(parse_ns_link("pid_for_children:[1]"), None);
        assert_eq!(parse_ns_link("net:[abc]"), None);
        assert_eq!(parse_ns_link("garbage"), None);
    }

    #[test]
    fn a_set_is_four_bytes_a_kind_and_keeps_every_inode_a_kernel_hands_out() {
        assert_eq!(std::mem::size_of::<NsSet>(), 36);
        let mut set = NsSet::default();
        assert!(set.is_empty());
        let max = u64::from(u32::MAX);
        for (n, kind) in NsKind::ALL.into_iter().enumerate() {
            set.set(kind, Some(max - n as u64));
        }
        for (n, kind) in NsKind::ALL.into_iter().enumerate() {
            assert_eq!(set.get(kind), Some(max - n as u64));
        }
        set.set(NsKind::Net, Some(0));
        assert_eq!(set.get(NsKind::Net), None, "0 is no inode: unknown");
        set.set(NsKind::Ipc, Some(max + 1));
        assert_eq!(
            set.get(NsKind::Ipc),
            None,
            "past 32 bits is no inode: unknown"
        );
        assert_eq!(set.iter().count(), 6);
        let json = serde_json::to_string(&set).unwrap();
        assert_eq!(serde_json::from_str::<NsSet>(&json).unwrap(), set);
    }
}
