//! The table's one copy of each distinct cgroup membership list and `comm`.
//!
//! `Process::cgroups` is shared (`Arc`): most processes of a host have one membership list, so the
//! table keeps one copy of each distinct list and hands it to every process that has it: with
//! a shared type (`Arc<[CgroupMembership]>`) that makes a frame's copy of 11,700 processes cost
//! ~25 MiB less (measured); with a `Vec` it only costs an equality check per newly read process.
//! `Process::comm` likewise ([`crate::host::process::Comm`]): thousands of processes share a
//! handful of names, one string each; and `Process::cmdline` ([`crate::host::process::Cmdline`]):
//! identical workers, shells and sleeps run the same command line (on the benchmark's 11,700
//! processes the lines were 1.4 MB of the table's memory, one copy each).

use foldhash::{HashMap, HashSet};
use std::hash::{BuildHasher, Hash, Hasher};

use crate::host::process::{Cmdline, Comm, Process};

type Memberships = std::sync::Arc<[crate::host::process::CgroupMembership]>;

/// Distinct membership lists by hash, and distinct names.
#[derive(Debug, Default)]
pub(super) struct Interned {
    memberships: HashMap<u64, Vec<Memberships>>,
    comms: HashSet<Comm>,
    cmdlines: HashSet<Cmdline>,
    /// How many were kept after the last [`Interned::prune`].
    kept: usize,
    /// Seeds the membership lists' hash (cgroup paths are strangers' names: seeded, like
    /// every map's).
    keys: foldhash::fast::RandomState,
}

impl Interned {
    /// Gives `process` the table's copy of its membership list, `comm` and command line.
    pub(super) fn share(&mut self, process: &mut Process) {
        share_one(&mut self.comms, &mut process.comm);
        share_one(&mut self.cmdlines, &mut process.cmdline);
        let mut hasher = self.keys.build_hasher();
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

    /// How many lists, names and command lines are kept (bounded by the caller, [`prune`]:
    /// those no process has any more pile up).
    ///
    /// [`prune`]: Interned::prune
    pub(super) fn len(&self) -> usize {
        self.memberships.values().map(Vec::len).sum::<usize>()
            + self.comms.len()
            + self.cmdlines.len()
    }

    /// Forgets the copies no process holds any more (only this table has them): a host that
    /// runs ever new command lines keeps no more than it has processes, plus the copies the
    /// frames still hold.
    pub(super) fn prune(&mut self) {
        self.memberships.retain(|_, bucket| {
            bucket.retain(|list| std::sync::Arc::strong_count(list) > 1);
            !bucket.is_empty()
        });
        self.comms.retain(|comm| !comm.is_unshared());
        self.cmdlines.retain(|line| !line.is_unshared());
        self.kept = self.len();
    }

    /// [`Interned::prune`] once the copies kept have grown past twice what a table of
    /// `processes` holds (or what the last pass kept, when that was more): a pass over them is
    /// rare on a steady host, and never every tick.
    pub(super) fn prune_when_grown(&mut self, processes: usize) {
        if self.len() > 2 * processes.max(self.kept) + 64 {
            self.prune();
        }
    }
}

/// `value` becomes the copy `known` keeps of it, or is kept there as the first.
fn share_one<T: Clone + Eq + Hash>(known: &mut HashSet<T>, value: &mut T) {
    match known.get(value) {
        Some(kept) => *value = kept.clone(),
        None => {
            known.insert(value.clone());
        }
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
                p.cmdline = Cmdline::from_args([if pid == 3 { "sh" } else { "sleep" }, "1"]);
                p
            })
            .collect();
        for p in &mut records {
            interned.share(p);
        }
        assert!(records[0].comm.shares(&records[1].comm));
        assert!(!records[0].comm.shares(&records[2].comm));
        assert!(records[0].cmdline.shares(&records[1].cmdline));
        assert!(!records[0].cmdline.shares(&records[2].cmdline));
        assert!(std::sync::Arc::ptr_eq(
            &records[0].cgroups,
            &records[2].cgroups
        ));
        assert_eq!(interned.len(), 5, "one list, two names, two command lines");
        interned.prune();
        assert_eq!(interned.len(), 5, "all held by a process");
        records.pop();
        interned.prune();
        assert_eq!(interned.len(), 3, "sh's name and line went with it");
        records.clear();
        interned.prune();
        assert_eq!(interned.len(), 0);
    }
}
