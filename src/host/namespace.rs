//! Namespaces (lsns semantics) — the eight kinds and each process's set of them.
//!
//! A process's namespaces are the links `/proc/<pid>/ns/<kind>` whose text is `kind:[inode]`.
//! Only `readlink` is needed to learn the inode (no open, no stat), which keeps a scan of
//! thousands of processes cheap. An unreadable link (EACCES, as for PID 1 on some hosts) leaves
//! that kind unknown and sets `denied`.
//!
//! The listing built from these sets lives in [`table`] (lsns semantics), the bind-mounted
//! namespaces in [`mounts`], and the choice of which namespaces are the host's in [`reference`](mod@reference).

pub mod mounts;
pub mod reference;
pub mod table;

pub use reference::{HostReference, host_reference};
pub use table::{Namespace, NamespaceTable, build_table, read_table};

use std::fs;

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
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct NsSet {
    inodes: [Option<u64>; 8],
    /// Some link could not be read (permission), as opposed to absent from this kernel.
    pub denied: bool,
}

impl NsSet {
    pub fn get(&self, kind: NsKind) -> Option<u64> {
        self.inodes[kind.index()]
    }

    pub fn set(&mut self, kind: NsKind, inode: Option<u64>) {
        self.inodes[kind.index()] = inode;
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
pub fn parse_ns_link(text: &str) -> Option<(NsKind, u64)> {
    let (kind, rest) = text.split_once(":[")?;
    let inode = rest.strip_suffix(']')?.parse().ok()?;
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
        assert_eq!(parse_ns_link("pid_for_children:[1]"), None);
        assert_eq!(parse_ns_link("net:[abc]"), None);
        assert_eq!(parse_ns_link("garbage"), None);
    }
}
