//! The last minutes of frames, kept encoded: the trouble recorder's window
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
//!
//! Given a directory ([`Ring::spill_into`]: the dumps' own), the pieces are written to unnamed
//! files there, one per keyframe group ([`spill`]), and only the newest record's big sections
//! stay in memory (what the next delta is compared with): the window's bytes are then page
//! cache, not isotop's memory. A file that cannot be made or written to leaves that group's
//! pieces in memory, the first such problem told by [`Ring::take_problem`].

mod spill;

use std::collections::VecDeque;
use std::io;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use self::spill::{Piece, Store};
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
    pieces: Vec<Piece>,
    /// The payload's length, bytes.
    len: usize,
}

/// One big section of the newest record: its bytes (in memory, for the next record to compare
/// with) and the piece that holds them.
type Section = (Arc<[u8]>, Piece);

impl Held {
    /// `record` in pieces, each big section of a delta the piece of `newest`'s (the record
    /// before's big sections) of the same bytes when there is one, new pieces kept by `store`.
    /// Returns the record and its own big sections.
    fn new(record: &Encoded, newest: &[Section], store: &mut Store) -> (Held, Vec<Section>) {
        let payload = &record.payload[..];
        let ends = match record.kind {
            Kind::Delta => shareable_ends(payload),
            Kind::Keyframe => Vec::new(),
        };
        let mut pieces: Vec<Piece> = Vec::with_capacity(ends.len() * 2 + 1);
        let mut sections: Vec<Section> = Vec::with_capacity(ends.len());
        let mut start = 0;
        for (section_start, end) in ends {
            if section_start > start {
                pieces.push(store.keep(&payload[start..section_start]));
            }
            let bytes = &payload[section_start..end];
            let section = match newest.iter().find(|(held, _)| **held == *bytes) {
                Some(same) => same.clone(),
                None => {
                    let piece = store.keep(bytes);
                    let copy = match &piece {
                        Piece::Memory(held) => Arc::clone(held),
                        Piece::Spilled { .. } => Arc::from(bytes),
                    };
                    (copy, piece)
                }
            };
            pieces.push(section.1.clone());
            sections.push(section);
            start = end;
        }
        if start < payload.len() || pieces.is_empty() {
            pieces.push(store.keep(&payload[start..]));
        }
        let held = Held {
            t_ms: record.t_ms,
            kind: record.kind,
            flags: record.flags,
            pieces,
            len: payload.len(),
        };
        (held, sections)
    }

    /// The record, its payload whole again (spilled pieces read back).
    pub(crate) fn encoded(&self) -> io::Result<Encoded> {
        let mut payload = Vec::with_capacity(self.len);
        for piece in &self.pieces {
            piece.bytes_into(&mut payload)?;
        }
        Ok(Encoded {
            t_ms: self.t_ms,
            kind: self.kind,
            flags: self.flags,
            payload,
        })
    }

    /// Pieces held by this record and the one before (tests).
    #[cfg(test)]
    fn shared_with(&self, before: &Held) -> usize {
        self.pieces
            .iter()
            .filter(|p| before.pieces.iter().any(|b| p.is(b)))
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
    /// The newest record's big sections (see [`Held::new`]).
    newest: Vec<Section>,
    store: Store,
}

fn cost(record: &Held) -> u64 {
    record.len as u64 + RECORD_OVERHEAD
}

fn is_keyframe(record: &Held) -> bool {
    record.kind == Kind::Keyframe
}

impl Ring {
    /// An empty ring keeping at most `span` of time and `max_bytes`, in memory.
    pub(crate) fn new(span: Duration, max_bytes: u64) -> Ring {
        Ring {
            span,
            max_bytes,
            records: VecDeque::new(),
            bytes: 0,
            refused: 0,
            newest: Vec::new(),
            store: Store::default(),
        }
    }

    /// Keeps the pieces from the next keyframe on in unnamed files in `dir`, a directory only
    /// this user may write (see the module).
    pub(crate) fn spill_into(&mut self, dir: &Path) {
        self.store.dir = Some(dir.to_path_buf());
    }

    /// The first problem with the ring's files, once.
    pub(crate) fn take_problem(&mut self) -> Option<String> {
        self.store.problem.take()
    }

    /// Adds `record` (the encoder's next), then drops the oldest records the bounds no longer
    /// allow. Returns the record as kept, `None` when it was not kept.
    pub(crate) fn push(&mut self, record: Encoded) -> Option<Arc<Held>> {
        if record.kind == Kind::Keyframe {
            self.store.begin_group();
        }
        let (record, sections) = Held::new(&record, &self.newest, &mut self.store);
        self.newest = sections;
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
        self.newest.clear();
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
            held[3].pieces[2].is(&held[2].pieces[2]),
            "the processes piece is the one before's"
        );
        let window = ring.window();
        assert_eq!(window.len(), pushed.len());
        for (kept, original) in window.iter().zip(&pushed) {
            let whole = kept.encoded().expect("in memory");
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
        assert_eq!(delta.encoded().expect("in memory").payload, payload);
    }

    #[test]
    fn a_spilled_ring_holds_only_the_newest_sections_in_memory_and_gives_every_record_back() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut ring = Ring::new(Duration::from_secs(600), 64 << 20);
        ring.spill_into(dir.path());
        let namespaces = bytes(1, 26_000);
        let small = bytes(3, 40);
        let pushed: Vec<Encoded> = std::iter::once(record(0, Kind::Keyframe, bytes(9, 50_000)))
            .chain((1..=3u8).map(|n| {
                let processes = bytes(10 + n, 3000);
                let sections = [&small[..], &small, &namespaces, &processes, &small, &small];
                record(u64::from(n) * 1000, Kind::Delta, delta_payload(sections))
            }))
            .collect();
        let held: Vec<Arc<Held>> = pushed
            .iter()
            .map(|r| ring.push(r.clone()).expect("kept"))
            .collect();
        assert!(ring.take_problem().is_none());
        for record in &held {
            assert!(
                record
                    .pieces
                    .iter()
                    .all(|p| matches!(p, Piece::Spilled { .. })),
                "every piece in the file"
            );
        }
        assert_eq!(held[2].shared_with(&held[1]), 1, "the namespaces, once");
        // In memory: the newest record's big sections only (namespaces, processes).
        let in_memory: usize = ring.newest.iter().map(|(bytes, _)| bytes.len()).sum();
        assert!(in_memory < 30_000, "{in_memory} bytes in memory");
        for (kept, original) in ring.window().iter().zip(&pushed) {
            assert_eq!(kept.encoded().expect("read back").payload, original.payload);
        }
    }

    #[test]
    fn a_directory_that_takes_no_file_leaves_the_ring_in_memory_and_says_so() {
        let mut ring = Ring::new(Duration::from_secs(600), 64 << 20);
        ring.spill_into(Path::new("/nonexistent/isotop-trouble"));
        let kept = ring
            .push(record(0, Kind::Keyframe, bytes(9, 5000)))
            .expect("kept in memory");
        assert!(matches!(kept.pieces[0], Piece::Memory(_)));
        let problem = ring.take_problem().expect("told");
        assert!(problem.contains("/nonexistent/isotop-trouble"), "{problem}");
        ring.push(record(1000, Kind::Keyframe, bytes(8, 5000)));
        assert!(ring.take_problem().is_none(), "told once");
    }
}
