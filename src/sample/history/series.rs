//! One container's or cgroup's points: closed [`Chunk`]s, oldest first, then the open run of
//! up to [`CHUNK`] points ([`OpenRun`]: repeats share their figures) that the next ticks
//! append to. Ageing out is exact to the
//! point, as a ring's `pop_front` was: whole chunks are dropped once every point in them is
//! older than the window, and the points of the front chunk already aged out are skipped
//! (counted in `skip`) until the rest of it ages out too.

use std::collections::VecDeque;

use super::chunk::{CHUNK, Chunk};
use super::open::OpenRun;
use super::packed::Packed;

#[derive(Debug, Clone, Default)]
pub(super) struct Series {
    closed: VecDeque<Chunk>,
    /// The newest points, at most [`CHUNK`]; encoded into a chunk when full.
    open: OpenRun,
    /// How many of the front closed chunk's points have aged out.
    skip: usize,
}

impl Series {
    pub(super) fn push(&mut self, point: Packed) {
        self.open.push(point);
        if self.open.len() >= CHUNK
            && let Some(chunk) = Chunk::encode(&self.open.take())
        {
            if self.closed.len() == self.closed.capacity() {
                // A quarter more, not double: ~19 chunks make 10 minutes at 1 s.
                self.closed.reserve_exact((self.closed.len() / 4).max(4));
            }
            self.closed.push_back(chunk);
        }
    }

    /// Drops the points older than `oldest_ms` from the front, stopping at the first that is
    /// not (as a ring did); false when none are left.
    pub(super) fn age_out(&mut self, oldest_ms: u64) -> bool {
        while let Some(front) = self.closed.front() {
            let aged = front
                .times()
                .skip(self.skip)
                .take_while(|&t| t < oldest_ms)
                .count();
            self.skip += aged;
            if self.skip < front.len() {
                return true;
            }
            self.closed.pop_front();
            self.skip = 0;
        }
        let aged = self
            .open
            .times()
            .iter()
            .take_while(|&&t| t < oldest_ms)
            .count();
        self.open.drop_front(aged);
        self.open.len() > 0
    }

    /// Its points, oldest first, decoding one chunk at a time as the iterator reaches it.
    pub(super) fn points(&self) -> impl Iterator<Item = Packed> + '_ {
        let skip = self.skip;
        self.closed
            .iter()
            .enumerate()
            .flat_map(move |(i, chunk)| {
                let aged = if i == 0 { skip } else { 0 };
                chunk.decode().into_iter().skip(aged)
            })
            .chain(self.open.points())
    }

    /// Heap bytes it holds: its chunks' bytes and slots, the open run's.
    pub(super) fn heap_bytes(&self) -> usize {
        self.closed.capacity() * std::mem::size_of::<Chunk>()
            + self.closed.iter().map(Chunk::heap_bytes).sum::<usize>()
            + self.open.heap_bytes()
    }
}
