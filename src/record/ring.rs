//! The last minutes of frames, kept encoded in memory: the trouble recorder's window
//! (`record::trouble`).
//!
//! Contract: [`Ring`] holds records an `Encoder` made, oldest first, within two bounds that hold
//! whatever the host — a span of time (from the oldest record's `t_ms` to the newest's) and a
//! number of bytes (each record's payload plus its bookkeeping, [`RECORD_OVERHEAD`]). A record
//! larger than the byte bound is not kept. The ring always begins at a keyframe: a delta is
//! decodable only with its segment's last keyframe, so old records leave a keyframe and the
//! deltas after it at once (up to the next keyframe), and a delta that would begin the ring is
//! dropped. [`Ring::window`] is therefore always a store's valid beginning. Its owner asks the
//! encoder for a keyframe at least every quarter of both bounds (`trouble`'s worker), so the
//! window holds at least three quarters of them. Records are shared
//! (`Arc`) so a dump takes the window without copying it.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use super::codec::{Encoded, Kind};

/// Bytes counted for each record beside its payload: the record's struct, the ring's slot and
/// the `Arc`'s counts (rounded up).
pub(crate) const RECORD_OVERHEAD: u64 = 96;

/// What the ring holds now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RingStats {
    /// Records (= frames) held.
    pub frames: usize,
    /// Bytes counted against the bound (payloads and [`RECORD_OVERHEAD`] each).
    pub bytes: u64,
    /// The oldest record's `t_ms`, `None` when empty.
    pub oldest_ms: Option<u64>,
    /// The newest record's `t_ms`, `None` when empty.
    pub newest_ms: Option<u64>,
    /// Records not kept since the ring was made: larger than the byte bound, or deltas whose
    /// keyframe was gone.
    pub refused: u64,
}

/// A bounded window of encoded records (see the module).
#[derive(Debug)]
pub(crate) struct Ring {
    span: Duration,
    max_bytes: u64,
    records: VecDeque<Arc<Encoded>>,
    bytes: u64,
    refused: u64,
}

fn cost(record: &Encoded) -> u64 {
    record.payload.capacity() as u64 + RECORD_OVERHEAD
}

fn is_keyframe(record: &Encoded) -> bool {
    record.kind == Kind::Keyframe
}

impl Ring {
    /// An empty ring keeping at most `span` of time and `max_bytes`.
    pub(crate) fn new(span: Duration, max_bytes: u64) -> Ring {
        Ring {
            span,
            max_bytes,
            records: VecDeque::new(),
            bytes: 0,
            refused: 0,
        }
    }

    /// Adds `record` (the encoder's next), then drops the oldest records the bounds no longer
    /// allow. Returns the record as kept, `None` when it was not kept.
    pub(crate) fn push(&mut self, mut record: Encoded) -> Option<Arc<Encoded>> {
        record.payload.shrink_to_fit();
        let record_cost = cost(&record);
        if record_cost > self.max_bytes || (self.records.is_empty() && !is_keyframe(&record)) {
            self.refused += 1;
            // A delta after a refused keyframe would decode against the wrong one.
            if is_keyframe(&record) {
                self.clear();
            }
            return None;
        }
        let record = Arc::new(record);
        self.bytes += record_cost;
        self.records.push_back(Arc::clone(&record));
        let span_ms = u64::try_from(self.span.as_millis()).unwrap_or(u64::MAX);
        let newest_ms = record.t_ms;
        while self.bytes > self.max_bytes
            || self
                .records
                .front()
                .is_some_and(|oldest| newest_ms.saturating_sub(oldest.t_ms) > span_ms)
        {
            self.drop_oldest_group();
        }
        // The newest record may have left with its group (a delta whose keyframe's group was
        // over the bound): it is then not kept either.
        if self.records.is_empty() {
            self.refused += 1;
            return None;
        }
        Some(record)
    }

    /// Drops the oldest record and the deltas after it up to the next keyframe.
    fn drop_oldest_group(&mut self) {
        if let Some(first) = self.records.pop_front() {
            self.bytes -= cost(&first);
        }
        while let Some(next) = self.records.front() {
            if is_keyframe(next) {
                break;
            }
            self.bytes -= cost(next);
            self.records.pop_front();
        }
    }

    fn clear(&mut self) {
        self.records.clear();
        self.bytes = 0;
    }

    /// The records held, oldest first (a keyframe first).
    pub(crate) fn window(&self) -> Vec<Arc<Encoded>> {
        self.records.iter().cloned().collect()
    }

    /// What it holds now.
    pub(crate) fn stats(&self) -> RingStats {
        RingStats {
            frames: self.records.len(),
            bytes: self.bytes,
            oldest_ms: self.records.front().map(|r| r.t_ms),
            newest_ms: self.records.back().map(|r| r.t_ms),
            refused: self.refused,
        }
    }
}
