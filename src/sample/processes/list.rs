//! [`ProcessList`]: the table's one copy of each process record, ascending pid, shared by
//! `Arc` with every frame that shows it. A refresh brings the list in line with the tick's
//! `/proc` listing in place ([`ProcessList::align`]: no second list is kept between ticks)
//! and changes a record through `Arc::make_mut` only when a figure moved ([`stat_moves`]):
//! in place when no frame holds it any more, else copied once; an unchanged record stays the
//! very allocation the previous frames hold.

use std::ops::Index;
use std::sync::Arc;

use super::rates::ProcessRates;
use crate::host::process::proc_dir::{PidEntry, StatLine};
use crate::host::process::{Process, Records};
use crate::units::kernel::page_size;
use crate::units::room::keep_room;

/// The table's records, ascending pid (indexing yields the [`Process`]).
#[derive(Debug, Default)]
pub struct ProcessList(pub(super) Vec<Arc<Process>>);

impl ProcessList {
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Process> + ExactSizeIterator {
        self.0.iter().map(|p| &**p)
    }

    /// The shared records themselves (what a frame clones).
    pub fn shared(&self) -> &[Arc<Process>] {
        &self.0
    }

    /// The list as the read side takes it.
    pub fn records(&self) -> Records<'_> {
        Records::Shared(&self.0)
    }

    /// Position of `pid`.
    pub fn position(&self, pid: i32) -> Option<usize> {
        self.0.binary_search_by_key(&pid, |p| p.pid).ok()
    }

    /// Puts the list and its parallel `rates` in the order of `listing` (ascending pid), in
    /// place: records of pids no longer listed are dropped (`gone` hears each pid), and a
    /// vacant slot (`vacant`, [`ProcessRates::VACANT`]) opens for each listed pid the list did
    /// not hold. Afterwards slot `i` belongs to `listing[i]`. Capacity is reserved for the
    /// listing and a little growth (1/32) exactly, and given back when the host shrank.
    pub(super) fn align(
        &mut self,
        rates: &mut Vec<ProcessRates>,
        listing: &[PidEntry],
        vacant: &Arc<Process>,
        mut gone: impl FnMut(i32),
    ) {
        // Drop the unlisted, keeping order (both lists ascend: one walk).
        let mut kept = 0;
        let mut at = 0;
        for read in 0..self.0.len() {
            let pid = self.0[read].pid;
            while listing.get(at).is_some_and(|e| e.pid < pid) {
                at += 1;
            }
            if listing.get(at).is_some_and(|e| e.pid == pid) {
                self.0.swap(kept, read);
                rates.swap(kept, read);
                kept += 1;
            } else {
                gone(pid);
            }
        }
        self.0.truncate(kept);
        rates.truncate(kept);

        keep_room(&mut self.0, listing.len());
        keep_room(rates, listing.len());

        // Open the new pids' slots: walk back from the end, moving each kept record to its
        // listed position (slots between the unmoved records and the placed ones are vacant).
        self.0.resize(listing.len(), Arc::clone(vacant));
        rates.resize(listing.len(), ProcessRates::VACANT);
        let mut unmoved = kept;
        for slot in (0..listing.len()).rev() {
            if unmoved > 0 && self.0[unmoved - 1].pid == listing[slot].pid {
                unmoved -= 1;
                self.0.swap(unmoved, slot);
                rates.swap(unmoved, slot);
            }
        }
    }

    /// Drops the slots left vacant (processes gone mid-read), keeping order.
    pub(super) fn drop_vacant(&mut self, rates: &mut Vec<ProcessRates>) {
        let mut kept = 0;
        for read in 0..self.0.len() {
            if !rates[read].is_vacant() {
                self.0.swap(kept, read);
                rates.swap(kept, read);
                kept += 1;
            }
        }
        self.0.truncate(kept);
        rates.truncate(kept);
    }
}

impl Index<usize> for ProcessList {
    type Output = Process;

    fn index(&self, at: usize) -> &Process {
        &self.0[at]
    }
}

impl<'p> From<&'p ProcessList> for Records<'p> {
    fn from(list: &'p ProcessList) -> Records<'p> {
        list.records()
    }
}

/// True when `stat` differs from what `process` holds in a field `StatLine::apply_to` writes:
/// only then is the record changed (and, while a frame holds it, copied).
pub(super) fn stat_moves(stat: &StatLine, process: &Process) -> bool {
    // A comm that cleaning changes never equals its raw bytes: such a process is re-applied
    // (and copied) on each of its `stat` reads, a cost only hostile names pay.
    process.comm.as_bytes() != stat.raw_comm()
        || process.ppid != stat.ppid
        || process.state != stat.state
        || process.start_ticks != stat.start_ticks
        || process.cpu_ticks != stat.cpu_ticks
        || process.rss_bytes != stat.rss_pages.saturating_mul(page_size())
        || process.threads != stat.threads
        || process.kernel_thread != (stat.flags & 0x0020_0000 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::namespace::NsSet;

    fn list(pids: &[i32]) -> (ProcessList, Vec<ProcessRates>) {
        let records = pids
            .iter()
            .map(|&pid| Arc::new(Process::new(pid, 0, NsSet::default())))
            .collect();
        let rates = pids
            .iter()
            .map(|&pid| ProcessRates::first(1, pid as u64, None))
            .collect();
        (ProcessList(records), rates)
    }

    fn listing(pids: &[i32]) -> Vec<PidEntry> {
        pids.iter()
            .map(|&pid| PidEntry {
                pid,
                ino: pid as u64,
            })
            .collect()
    }

    #[test]
    fn align_drops_the_gone_and_opens_slots_for_the_new_in_place() {
        let (mut list, mut rates) = list(&[2, 5, 7, 9, 12]);
        let before: Vec<*const Process> = list.0.iter().map(Arc::as_ptr).collect();
        let vacant = Arc::new(Process::new(0, 0, NsSet::default()));
        let mut gone = Vec::new();
        list.align(
            &mut rates,
            &listing(&[1, 5, 6, 9, 13, 14]),
            &vacant,
            |pid| gone.push(pid),
        );
        assert_eq!(gone, [2, 7, 12]);
        let pids: Vec<i32> = list.iter().map(|p| p.pid).collect();
        assert_eq!(pids, [0, 5, 0, 9, 0, 0]);
        let vacancies: Vec<bool> = rates.iter().map(ProcessRates::is_vacant).collect();
        assert_eq!(vacancies, [true, false, true, false, true, true]);
        // The kept records are the same allocations, with their own rates.
        assert_eq!(Arc::as_ptr(&list.0[1]), before[1]);
        assert_eq!(Arc::as_ptr(&list.0[3]), before[3]);
        assert!(rates[1].same_ino(5) && rates[3].same_ino(9));

        rates[0] = ProcessRates::first(2, 1, None);
        list.0[0] = Arc::new(Process::new(1, 0, NsSet::default()));
        list.drop_vacant(&mut rates);
        let pids: Vec<i32> = list.iter().map(|p| p.pid).collect();
        assert_eq!(pids, [1, 5, 9]);
        assert_eq!(rates.len(), 3);
        assert_eq!(list.position(9), Some(2));
        assert_eq!(list[2].pid, 9);
    }

    #[test]
    fn align_gives_room_back_when_the_host_shrinks() {
        let pids: Vec<i32> = (1..=4_000).collect();
        let (mut list, mut rates) = list(&pids);
        let vacant = Arc::new(Process::new(0, 0, NsSet::default()));
        list.align(&mut rates, &listing(&[1, 2, 3]), &vacant, |_| {});
        assert_eq!(list.len(), 3);
        assert!(list.0.capacity() < 100 && rates.capacity() < 100);
        // Growing reserves the listing and 1/32 more, not the next power of two.
        list.align(&mut rates, &listing(&pids), &vacant, |_| {});
        assert!(rates.capacity() <= crate::units::room::room_for(4_000));
    }
}
