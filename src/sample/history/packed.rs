//! One point as the history keeps it between ticks: every figure a 64-bit word, a missing
//! figure a NaN (floats) or `u64::MAX` (counts and bytes), so a point is 136 bytes instead
//! of a [`Point`]'s 264 and its 16 figures can be stored as columns of words bit for bit.

use super::Point;

/// How many figures a point has (10 floats, then 6 counts): the columns of a chunk.
pub(super) const COLUMNS: usize = 16;

/// A [`Point`] as kept: floats with NaN for `None`, counts and bytes with `u64::MAX`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Packed {
    pub(super) t_ms: u64,
    /// cpu, cpu limit, throttled, cpu/memory/io pressure, net rx/tx, io read/write.
    floats: [f64; 10],
    /// memory, memory limit, pids, writable, io read/write limits.
    counts: [u64; 6],
}

fn pack_f(v: Option<f64>) -> f64 {
    v.unwrap_or(f64::NAN)
}

fn unpack_f(v: f64) -> Option<f64> {
    (!v.is_nan()).then_some(v)
}

fn pack_u(v: Option<u64>) -> u64 {
    v.unwrap_or(u64::MAX)
}

fn unpack_u(v: u64) -> Option<u64> {
    (v != u64::MAX).then_some(v)
}

impl Packed {
    pub(super) fn of(p: &Point) -> Packed {
        Packed {
            t_ms: p.t_ms,
            floats: [
                pack_f(p.cpu_percent),
                pack_f(p.cpu_limit_percent),
                pack_f(p.throttled_percent),
                pack_f(p.cpu_pressure_percent),
                pack_f(p.memory_pressure_percent),
                pack_f(p.io_pressure_percent),
                pack_f(p.net_rx_bytes_per_second),
                pack_f(p.net_tx_bytes_per_second),
                pack_f(p.io_read_bytes_per_second),
                pack_f(p.io_write_bytes_per_second),
            ],
            counts: [
                pack_u(p.memory_bytes),
                pack_u(p.memory_limit_bytes),
                pack_u(p.pids),
                pack_u(p.writable_bytes),
                pack_u(p.io_read_limit_bps),
                pack_u(p.io_write_limit_bps),
            ],
        }
    }

    /// The figures as words, floats by their bits: what a chunk stores.
    pub(super) fn columns(&self) -> [u64; COLUMNS] {
        let mut words = [0u64; COLUMNS];
        for (word, f) in words.iter_mut().zip(self.floats) {
            *word = f.to_bits();
        }
        for (word, c) in words[self.floats.len()..].iter_mut().zip(self.counts) {
            *word = c;
        }
        words
    }

    /// Whether its 16 figures are `other`'s bit for bit (times aside): `==` would call two
    /// missing floats (NaN) different.
    pub(super) fn same_figures(&self, other: &Packed) -> bool {
        self.counts == other.counts
            && self
                .floats
                .iter()
                .zip(&other.floats)
                .all(|(a, b)| a.to_bits() == b.to_bits())
    }

    /// The inverse of [`Packed::columns`], bit for bit.
    pub(super) fn from_columns(t_ms: u64, words: &[u64; COLUMNS]) -> Packed {
        let mut packed = Packed {
            t_ms,
            floats: [0.0; 10],
            counts: [0; 6],
        };
        for (f, word) in packed.floats.iter_mut().zip(words) {
            *f = f64::from_bits(*word);
        }
        for (c, word) in packed.counts.iter_mut().zip(&words[10..]) {
            *c = *word;
        }
        packed
    }

    pub(super) fn point(&self) -> Point {
        let [
            cpu,
            cpu_limit,
            throttled,
            cpu_p,
            mem_p,
            io_p,
            rx,
            tx,
            io_r,
            io_w,
        ] = self.floats.map(unpack_f);
        let [memory, memory_limit, pids, writable, io_r_limit, io_w_limit] =
            self.counts.map(unpack_u);
        Point {
            t_ms: self.t_ms,
            cpu_percent: cpu,
            cpu_limit_percent: cpu_limit,
            throttled_percent: throttled,
            memory_bytes: memory,
            memory_limit_bytes: memory_limit,
            pids,
            cpu_pressure_percent: cpu_p,
            memory_pressure_percent: mem_p,
            io_pressure_percent: io_p,
            writable_bytes: writable,
            net_rx_bytes_per_second: rx,
            net_tx_bytes_per_second: tx,
            io_read_bytes_per_second: io_r,
            io_write_bytes_per_second: io_w,
            io_read_limit_bps: io_r_limit,
            io_write_limit_bps: io_w_limit,
        }
    }
}
