//! The table's one copy of each distinct cgroup membership list and `comm`.
//!
//! `Process::cgroups` is shared (`Arc`): most processes of a host have one membership list, so the
//! table keeps one copy of each distinct list and hands it to every process that has it: with
//! a shared type (`Arc<[CgroupMembership]>`) that makes a frame's copy of 11,700 processes cost
//! ~25 MiB less (measured); with a `Vec` it only costs an equality check per newly read process.
//! `Process::comm` likewise ([`crate::host::process::Comm`]): thousands of processes share a
//! handful of names, one string each.

use std::collections::{HashMap, HashSet};
use std::hash::{DefaultHasher, Hash, Hasher};

use crate::host::process::{Comm, Process};

type Memberships = std::sync::Arc<[crate::host::process::CgroupMembership]>;

/// Distinct membership lists by hash, and distinct names.
#[derive(Debug, Default)]
pub(super) struct Interned {
    memberships: HashMap<u64, Vec<Memberships>>,
    comms: HashSet<Comm>,
}

impl Interned {
    /// Gives `process` the table's copy of its membership list and of its `comm`.
    pub(super) fn share(&mut self, process: &mut Process) {
        match self.comms.get(&process.comm) {
            Some(known) => process.comm = known.clone(),
            None => {
                self.comms.insert(process.comm.clone());
            }
        }
        let mut hasher = DefaultHasher::new();
        for m in process.cgroups.iter() {
            m.hierarchy.hash(&mut hasher);
            m.controllers.hash(&mut hasher);
            m.path.hash(&mut hasher);
        }
        let bucket = self.memberships.entry(hasher.finish()).or_default();
        match bucket.iter().find(|known| **known == process.cgroups) {
            Some(known) => process.cgroups = known.clone(),
            None => bucket.push(process.cgroups.clone()),
        }
    }

    /// How many lists and names are kept (bounded by the caller: those no process has any more
    /// pile up).
    pub(super) fn len(&self) -> usize {
        self.memberships.values().map(Vec::len).sum::<usize>() + self.comms.len()
    }

    pub(super) fn clear(&mut self) {
        self.memberships.clear();
        self.comms.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::namespace::NsSet;

    #[test]
    fn equal_names_and_lists_become_one_copy() {
        let mut interned = Interned::default();
        let mut records: Vec<Process> = (1..=3)
            .map(|pid| {
                let mut p = Process::new(pid, 0, NsSet::default());
                p.comm = if pid == 3 { "sh" } else { "sleep" }.into();
                p
            })
            .collect();
        for p in &mut records {
            interned.share(p);
        }
        assert!(records[0].comm.shares(&records[1].comm));
        assert!(!records[0].comm.shares(&records[2].comm));
        assert!(std::sync::Arc::ptr_eq(
            &records[0].cgroups,
            &records[2].cgroups
        ));
        assert_eq!(interned.len(), 3, "one list, two names");
        interned.clear();
        assert_eq!(interned.len(), 0);
    }
}
