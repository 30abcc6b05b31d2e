//! A series' open run: its newest points, at most [`CHUNK`](super::chunk::CHUNK), which the
//! next ticks append to until it is closed into a chunk. Consecutive points whose 16 figures
//! are the same bit for bit share one [`Packed`]; each point keeps only its time. An idle
//! container's figures repeat tick after tick: its open run was up to 32 × 136 B = 4.3 KiB
//! (~1.7 MB for 400 containers, always held), and is now its times and one figure set,
//! ~0.4 KiB. A series whose figures change every tick costs 9 bytes a point more than before.

use super::packed::Packed;

#[derive(Debug, Clone, Default)]
pub(super) struct OpenRun {
    /// Each point's time, ms, oldest first.
    times: Vec<u64>,
    /// The distinct consecutive figure sets, oldest first (their `t_ms` is not read).
    figures: Vec<Packed>,
    /// How many consecutive points each of `figures` stands for: each ≥ 1, their sum
    /// `times.len()`.
    repeats: Vec<u8>,
}

impl OpenRun {
    pub(super) fn len(&self) -> usize {
        self.times.len()
    }

    pub(super) fn push(&mut self, point: Packed) {
        match (self.figures.last(), self.repeats.last_mut()) {
            (Some(last), Some(count)) if *count < u8::MAX && last.same_figures(&point) => {
                *count += 1;
            }
            _ => {
                if self.figures.len() == self.figures.capacity() {
                    // Doubling from one, not from Vec's four: an idle run holds one set.
                    self.figures.reserve_exact(self.figures.len().max(1));
                }
                self.figures.push(point);
                self.repeats.push(1);
            }
        }
        self.times.push(point.t_ms);
    }

    /// Its points, oldest first.
    pub(super) fn points(&self) -> impl Iterator<Item = Packed> + '_ {
        self.figures
            .iter()
            .zip(&self.repeats)
            .flat_map(|(figures, &count)| std::iter::repeat_n(*figures, usize::from(count)))
            .zip(&self.times)
            .map(|(mut point, &t_ms)| {
                point.t_ms = t_ms;
                point
            })
    }

    /// The times of its points, oldest first.
    pub(super) fn times(&self) -> &[u64] {
        &self.times
    }

    /// Drops its `n` oldest points (all of them when it has fewer).
    pub(super) fn drop_front(&mut self, n: usize) {
        let n = n.min(self.times.len());
        self.times.drain(..n);
        let (mut whole, mut left) = (0, n);
        for count in &mut self.repeats {
            let c = usize::from(*count);
            if c > left {
                // Fewer than `c` (≤ 255) points left to drop: fits.
                *count -= left as u8;
                break;
            }
            left -= c;
            whole += 1;
        }
        self.repeats.drain(..whole);
        self.figures.drain(..whole);
    }

    /// Its points, oldest first, leaving it empty (its memory freed).
    pub(super) fn take(&mut self) -> Vec<Packed> {
        let points = self.points().collect();
        *self = OpenRun::default();
        points
    }

    /// Heap bytes it holds (capacities).
    pub(super) fn heap_bytes(&self) -> usize {
        self.times.capacity() * std::mem::size_of::<u64>()
            + self.figures.capacity() * std::mem::size_of::<Packed>()
            + self.repeats.capacity()
    }
}
