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
//!
//! A record is held as its payload's pieces ([`Held`]): a delta's section of at least
//! [`SHARED_MIN`] bytes is a piece of its own, and when the record before holds a piece of the
//! same bytes it is that piece, shared (`Arc`), not a copy. A delta's namespaces section is the
//! same bytes while the sampler shares its namespace table and the keyframe stays (`codec`):
//! on 11,700 processes ~26 KB a frame, the host's namespaces' pid lists — 600 of them in a
//! 10-minute window. [`Held::encoded`] gives the record's payload back byte for byte, and the
//! bounds count each record's whole payload as before, so the ring keeps, and a dump writes,
//! the same records whatever is shared.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use super::codec::{Encoded, Kind, Parts};
use super::format::VERSION;

/// A delta's section of at least this many bytes is a piece of its own, shareable with the
/// record before (smaller ones stay with their neighbours: a piece costs an allocation and
/// ~40 bytes of bookkeeping).
pub(crate) const SHARED_MIN: usize = 1024;

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

/// A record as the ring holds it: its payload in pieces, some shared with the record before
/// (see the module).
#[derive(Debug)]
pub(crate) struct Held {
    pub(crate) t_ms: u64,
    pub(crate) kind: Kind,
    pub(crate) flags: u8,
    /// The payload, piece after piece.
    pieces: Vec<Arc<[u8]>>,
    /// The payload's length, bytes.
    len: usize,
}

impl Held {
    /// `record` in pieces, each big section of a delta shared with `before`'s piece of the same
    /// bytes when it has one.
    fn new(record: &Encoded, before: Option<&Held>) -> Held {
        let payload = &record.payload[..];
        let ends = match record.kind {
            Kind::Delta => shareable_ends(payload),
            Kind::Keyframe => Vec::new(),
        };
        let mut pieces: Vec<Arc<[u8]>> = Vec::with_capacity(ends.len() * 2 + 1);
        let mut start = 0;
        for (section_start, end) in ends {
            if section_start > start {
                pieces.push(Arc::from(&payload[start..section_start]));
            }
            let bytes = &payload[section_start..end];
            let same = before.and_then(|b| b.pieces.iter().find(|p| ***p == *bytes));
            pieces.push(same.map_or_else(|| Arc::from(bytes), Arc::clone));
            start = end;
        }
        if start < payload.len() || pieces.is_empty() {
            pieces.push(Arc::from(&payload[start..]));
        }
        Held {
            t_ms: record.t_ms,
            kind: record.kind,
            flags: record.flags,
            pieces,
            len: payload.len(),
        }
    }

    /// The record, its payload whole again.
    pub(crate) fn encoded(&self) -> Encoded {
        let mut payload = Vec::with_capacity(self.len);
        for piece in &self.pieces {
            payload.extend_from_slice(piece);
        }
        Encoded {
            t_ms: self.t_ms,
            kind: self.kind,
            flags: self.flags,
            payload,
        }
    }

    /// Pieces held by this record and the one before (tests).
    #[cfg(test)]
    fn shared_with(&self, before: &Held) -> usize {
        self.pieces
            .iter()
            .filter(|p| before.pieces.iter().any(|b| Arc::ptr_eq(p, b)))
            .count()
    }
}

/// Where each section of a delta's `payload` of at least [`SHARED_MIN`] bytes begins and ends
/// (its mode byte and length included); none when the payload does not cut (it is then held
/// whole, as it came).
fn shareable_ends(payload: &[u8]) -> Vec<(usize, usize)> {
    let Ok(parts) = Parts::of(VERSION, Kind::Delta, payload) else {
        return Vec::new();
    };
    let base = payload.as_ptr() as usize;
    parts
        .compressed()
        .filter(|section| section.len() >= SHARED_MIN)
        .filter_map(|section| {
            let start = (section.as_ptr() as usize).checked_sub(base)?;
            // The mode byte and the u32 length before the section's zstd frame.
            Some((start.checked_sub(5)?, start + section.len()))
        })
        .collect()
}

/// A bounded window of encoded records (see the module).
#[derive(Debug)]
pub(crate) struct Ring {
    span: Duration,
    max_bytes: u64,
    records: VecDeque<Arc<Held>>,
    bytes: u64,
    refused: u64,
}

fn cost(record: &Held) -> u64 {
    record.len as u64 + RECORD_OVERHEAD
}

fn is_keyframe(record: &Held) -> bool {
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
    pub(crate) fn push(&mut self, record: Encoded) -> Option<Arc<Held>> {
        let record = Held::new(&record, self.records.back().map(|r| &**r));
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
    pub(crate) fn window(&self) -> Vec<Arc<Held>> {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A delta's payload of six sections (mode 2, as format 3 writes them), section `n` being
    /// `sections[n]`'s bytes (the ring never decompresses them).
    fn delta_payload(sections: [&[u8]; 6]) -> Vec<u8> {
        let mut payload = 7u32.to_be_bytes().to_vec();
        for bytes in sections {
            payload.push(2);
            payload.extend_from_slice(&u32::try_from(bytes.len()).expect("fits").to_be_bytes());
            payload.extend_from_slice(bytes);
        }
        payload
    }

    fn record(t_ms: u64, kind: Kind, payload: Vec<u8>) -> Encoded {
        Encoded {
            t_ms,
            kind,
            flags: 0,
            payload,
        }
    }

    /// `len` bytes that differ with `seed`.
    fn bytes(seed: u8, len: usize) -> Vec<u8> {
        (0..len)
            .map(|i| (i as u8).wrapping_mul(31) ^ seed)
            .collect()
    }

    #[test]
    fn a_big_section_equal_to_the_last_records_is_held_once_and_every_record_comes_back_whole() {
        let mut ring = Ring::new(Duration::from_secs(600), 64 << 20);
        let namespaces = bytes(1, 26_000);
        let other_namespaces = bytes(2, 26_000);
        let small = bytes(3, 40);
        let processes = |n: u8| bytes(n, 3000);
        let pushed = [
            record(0, Kind::Keyframe, bytes(9, 50_000)),
            record(
                1000,
                Kind::Delta,
                delta_payload([&small, &small, &namespaces, &processes(10), &small, &small]),
            ),
            record(
                2000,
                Kind::Delta,
                delta_payload([&small, &small, &namespaces, &processes(11), &small, &small]),
            ),
            record(
                3000,
                Kind::Delta,
                delta_payload([
                    &small,
                    &small,
                    &other_namespaces,
                    &processes(11),
                    &small,
                    &small,
                ]),
            ),
            // Not a payload that cuts: held whole.
            record(4000, Kind::Delta, vec![1, 2, 3]),
        ];
        let mut held = Vec::new();
        for r in &pushed {
            held.push(ring.push(r.clone()).expect("kept"));
        }
        assert_eq!(
            held[1].shared_with(&held[0]),
            0,
            "a keyframe shares nothing"
        );
        assert_eq!(
            held[2].shared_with(&held[1]),
            1,
            "the same namespaces section"
        );
        // The namespaces changed; the processes section is the last record's bytes: shared.
        assert_eq!(held[3].shared_with(&held[2]), 1);
        // Pieces: the id and the two small sections, the namespaces, the processes, the rest.
        assert_eq!(held[3].pieces.len(), 4);
        assert!(
            Arc::ptr_eq(&held[3].pieces[2], &held[2].pieces[2]),
            "the processes piece is the one before's"
        );
        let window = ring.window();
        assert_eq!(window.len(), pushed.len());
        for (kept, original) in window.iter().zip(&pushed) {
            let whole = kept.encoded();
            assert_eq!(whole.payload, original.payload);
            assert_eq!(
                (whole.t_ms, whole.kind, whole.flags),
                (original.t_ms, original.kind, 0)
            );
        }
        // The bound counts every record's whole payload, shared or not.
        let counted: u64 = pushed
            .iter()
            .map(|r| r.payload.len() as u64 + RECORD_OVERHEAD)
            .sum();
        assert_eq!(ring.stats().bytes, counted);
    }

    #[test]
    fn small_sections_stay_together_in_one_piece() {
        let mut ring = Ring::new(Duration::from_secs(600), 64 << 20);
        let small = bytes(3, 100);
        ring.push(record(0, Kind::Keyframe, bytes(9, 5000)))
            .expect("kept");
        let payload = delta_payload([&small, &small, &small, &small, &small, &small]);
        let delta = ring
            .push(record(1000, Kind::Delta, payload.clone()))
            .expect("kept");
        assert_eq!(delta.pieces.len(), 1);
        assert_eq!(delta.encoded().payload, payload);
    }
}
