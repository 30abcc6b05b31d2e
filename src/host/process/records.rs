//! The processes of one moment, ascending pid, however the caller holds them: a scan's own
//! `[Process]` or the sampler's shared `[Arc<Process>]` (the table and every frame hold the
//! same allocations, so nothing is copied to hand them to the read side). Read-side functions
//! take [`Records`] (or `impl Into<Records>`) and see `&Process` either way; the view is two
//! words, `Copy`, and iterates, indexes and binary-searches as a slice does.

use std::iter::FusedIterator;
use std::slice;
use std::sync::Arc;

use super::Process;

/// A borrowed list of processes, ascending pid, owned or shared (see the module).
#[derive(Debug, Clone, Copy)]
pub enum Records<'p> {
    /// A scan's records (`isotop ls`, `ns`, tests).
    Owned(&'p [Process]),
    /// The sampler's records, shared with the frames.
    Shared(&'p [Arc<Process>]),
}

impl<'p> Records<'p> {
    pub fn len(self) -> usize {
        match self {
            Records::Owned(list) => list.len(),
            Records::Shared(list) => list.len(),
        }
    }

    pub fn is_empty(self) -> bool {
        self.len() == 0
    }

    /// The process at position `at`.
    pub fn get(self, at: usize) -> Option<&'p Process> {
        match self {
            Records::Owned(list) => list.get(at),
            Records::Shared(list) => list.get(at).map(|p| &**p),
        }
    }

    pub fn iter(self) -> RecordsIter<'p> {
        match self {
            Records::Owned(list) => RecordsIter::Owned(list.iter()),
            Records::Shared(list) => RecordsIter::Shared(list.iter()),
        }
    }

    /// As `<[T]>::binary_search_by_key`, over the records.
    pub fn binary_search_by_key<B: Ord>(
        self,
        key: &B,
        mut f: impl FnMut(&'p Process) -> B,
    ) -> Result<usize, usize> {
        match self {
            Records::Owned(list) => list.binary_search_by_key(key, f),
            Records::Shared(list) => list.binary_search_by_key(key, |p| f(p)),
        }
    }
}

/// Iterator over [`Records`], yielding `&Process`.
#[derive(Debug, Clone)]
pub enum RecordsIter<'p> {
    Owned(slice::Iter<'p, Process>),
    Shared(slice::Iter<'p, Arc<Process>>),
}

impl<'p> Iterator for RecordsIter<'p> {
    type Item = &'p Process;

    fn next(&mut self) -> Option<&'p Process> {
        match self {
            RecordsIter::Owned(it) => it.next(),
            RecordsIter::Shared(it) => it.next().map(|p| &**p),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match self {
            RecordsIter::Owned(it) => it.size_hint(),
            RecordsIter::Shared(it) => it.size_hint(),
        }
    }
}

impl DoubleEndedIterator for RecordsIter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        match self {
            RecordsIter::Owned(it) => it.next_back(),
            RecordsIter::Shared(it) => it.next_back().map(|p| &**p),
        }
    }
}

impl ExactSizeIterator for RecordsIter<'_> {}
impl FusedIterator for RecordsIter<'_> {}

impl<'p> IntoIterator for Records<'p> {
    type Item = &'p Process;
    type IntoIter = RecordsIter<'p>;

    fn into_iter(self) -> RecordsIter<'p> {
        self.iter()
    }
}

impl<'p> From<&'p [Process]> for Records<'p> {
    fn from(list: &'p [Process]) -> Records<'p> {
        Records::Owned(list)
    }
}

impl<'p> From<&'p Vec<Process>> for Records<'p> {
    fn from(list: &'p Vec<Process>) -> Records<'p> {
        Records::Owned(list)
    }
}

impl<'p, const N: usize> From<&'p [Process; N]> for Records<'p> {
    fn from(list: &'p [Process; N]) -> Records<'p> {
        Records::Owned(list)
    }
}

impl<'p> From<&'p [Arc<Process>]> for Records<'p> {
    fn from(list: &'p [Arc<Process>]) -> Records<'p> {
        Records::Shared(list)
    }
}

impl<'p> From<&'p Vec<Arc<Process>>> for Records<'p> {
    fn from(list: &'p Vec<Arc<Process>>) -> Records<'p> {
        Records::Shared(list)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::namespace::NsSet;

    fn list() -> Vec<Process> {
        [3, 7, 42]
            .into_iter()
            .map(|pid| Process::new(pid, 0, NsSet::default()))
            .collect()
    }

    #[test]
    fn records_fit_their_budget() {
        // The record every process of the host has once (the table's, shared with the frames):
        // 192 bytes + the Arc's 16 fills a 224-byte malloc chunk.
        let record = std::mem::size_of::<Process>();
        assert!(record <= 192, "{record} bytes");
        // The view handed to the read side: a tag and a slice.
        assert!(std::mem::size_of::<Records<'_>>() <= 24);
    }

    #[test]
    fn owned_and_shared_lists_read_alike() {
        let owned = list();
        let shared: Vec<Arc<Process>> = owned.iter().cloned().map(Arc::new).collect();
        for records in [Records::from(&owned), Records::from(&shared)] {
            assert_eq!(records.len(), 3);
            assert!(!records.is_empty());
            let pids: Vec<i32> = records.iter().map(|p| p.pid).collect();
            assert_eq!(pids, [3, 7, 42]);
            let back: Vec<i32> = records.iter().rev().map(|p| p.pid).collect();
            assert_eq!(back, [42, 7, 3]);
            assert_eq!(records.iter().len(), 3);
            assert_eq!(records.get(1).map(|p| p.pid), Some(7));
            assert!(records.get(3).is_none());
            assert_eq!(records.binary_search_by_key(&42, |p| p.pid), Ok(2));
            assert_eq!(records.binary_search_by_key(&8, |p| p.pid), Err(2));
        }
        // The shared view hands out the shared allocation itself, not a copy.
        let first = Records::from(&shared).get(0).map(|p| p as *const Process);
        assert_eq!(first, Some(Arc::as_ptr(&shared[0])));
    }
}
