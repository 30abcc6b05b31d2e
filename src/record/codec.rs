//! A frame as a record's payload, and back: keyframes, and deltas against their segment's last
//! keyframe.
//!
//! A frame is cut into six sections ([`sections`]: the head, cgroups, namespaces, processes,
//! containers, networks), each MessagePack with named fields, each a container of items (the
//! head's fields, the lists' elements). A **keyframe**'s payload is each section compressed
//! with zstd on its own (streamed item by item, a 1 MiB window: no whole section is ever held
//! raw). A **delta**'s is the base keyframe's id (the CRC-32 of its payload, 4 bytes
//! big-endian), then each section as one mode byte and its zstd frame: a patch of the
//! keyframe's section (`patch`: the items unchanged since the keyframe copied by index, a
//! changed one written as only its changed fields, a map's value patched under its key),
//! compressed alone (mode 2) or — when the keyframe is small, at most [`SMALL_KEYFRAME_RAW`]
//! bytes of MessagePack, kept raw — with the keyframe's section as zstd's prefix (mode 3).
//! Format 2's deltas (still read) used mode 1, the section compressed with the keyframe's raw
//! bytes as zstd's prefix with long-distance matching, or mode 0, alone. Every section's frame
//! is `u32` big-endian length + one zstd frame with a content checksum. Decoding a frame is
//! its keyframe + at most one delta, never a chain; a light frame decodes only the head, the
//! cgroups, the containers and the networks.
//!
//! The encoder keeps no copy of its keyframe: only each item's and each field's fingerprint
//! (`fingerprint`, a keyed 64-bit hash of what it serializes) and its index; a part the sampler
//! shares unchanged with the previous frame (same `Arc`: a process record, a container's stack,
//! the namespace table) is not walked again (`shared_prints`), and a process written by the
//! last delta and unchanged since is written as it was. A tick walks every item once
//! to fingerprint it and writes MessagePack only for those whose fingerprint the keyframe does
//! not hold — on a host of mostly idle processes, a few hundred of 11,700 — so a delta costs
//! what changed, not the frame (format 2 wrote the whole frame's 14 MB of MessagePack each
//! tick and had zstd find the repeats again).
//!
//! The [`Encoder`] writes a keyframe first, then deltas, and a keyframe again after
//! [`KEYFRAME_EVERY`] frames, when asked ([`Encoder::force_keyframe`]), when the last delta
//! grew past three quarters of its keyframe (the host moved so far that a new base is about as
//! cheap), or — for an encoder told so ([`Encoder::replace_a_first_base_without_rates`], the
//! trouble ring's) — once after its first keyframe when its first delta changed more than half
//! of its processes (a sampler's first frame has no rates yet: every process differs from it in
//! its cpu percent, and every delta against it would write them all until the next keyframe). The README's "Flight recorder" section has the resulting bytes per hour, CPU and
//! seek time (bench/record-bench.sh), bench/profiles/record.md the profiles.

mod delta;
mod fields;
mod fingerprint;
mod keyframe;
mod parts;
mod patch;
mod sections;
mod shared_prints;

use delta::{DeltaSink, FieldScratch, PatchCompressor, WrittenProcesses};
use fields::FieldTable;
use keyframe::KeyframeSink;
pub(crate) use parts::Parts;
pub(crate) use sections::{SECTIONS, Section, join};
use shared_prints::{LastSection, PartPrints, ProcessPrints, cgroup_print, container_print};

use fingerprint::Keys as RandomState;
use foldhash::HashMap;

use serde::Serialize;

use self::patch::{Entry, Patch, Shape};
use self::sections::Sink;
use crate::host::process::Process;
use crate::sample::{CgroupSample, ContainerSample, Frame, ProcessSample};
use std::sync::{Arc, Weak};

/// zstd level: 3 (zstd's default) is within 10 % of level 1's speed on these frames and
/// ~15 % smaller.
const ZSTD_LEVEL: i32 = 3;

/// A keyframe's sections are compressed with this window, log2 bytes (128 KiB): neighbouring
/// processes are alike, the repeats a larger window finds are few and cost the encoder its
/// memory (the trouble ring's budget is a few MiB). On 11,700 processes a 1 MiB window made
/// keyframes ~6 % smaller and the ring thread's process ~1.5 MiB larger (`record_store ring`,
/// bench/profiles/record.md).
const KEYFRAME_WINDOW_LOG: u32 = 17;

/// A keyframe at least every this many frames (10 minutes at 10 s, a minute at 1 s): a delta
/// grows as the host drifts from its base, and a keyframe bounds what a damaged record takes
/// with it.
pub(crate) const KEYFRAME_EVERY: u32 = 60;

/// A delta's section mode: compressed alone.
const MODE_ALONE: u8 = 0;
/// Format 2: compressed with the keyframe's section as zstd's prefix.
const MODE_PREFIX: u8 = 1;
/// Format 3: a patch of the keyframe's section (`patch`), compressed alone.
const MODE_PATCH: u8 = 2;
/// Format 3: a patch of the keyframe's section, compressed with that section as zstd's prefix
/// (a keyframe of at most [`SMALL_KEYFRAME_RAW`] bytes of MessagePack).
const MODE_PATCH_PREFIX: u8 = 3;

/// A keyframe whose sections hold at most this many bytes of MessagePack (256 KiB: a host of a
/// few hundred processes) is kept raw, and its deltas' patches are compressed with its section
/// as zstd's prefix: a small host's changed items and fields (a fixture's net map, a
/// container's reading) are most of its delta, and alone they compress 4:1 where against their
/// old selves they are a few bytes. A large host's keyframe is not kept (11,700 processes are
/// 14 MB of MessagePack): its deltas' few changed fields are a small share of its keyframe
/// anyway.
const SMALL_KEYFRAME_RAW: usize = 256 * 1024;

/// What a record holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Kind {
    /// A whole frame.
    Keyframe = 1,
    /// A frame against its segment's last keyframe.
    Delta = 2,
}

impl Kind {
    /// The kind a record's byte names, if known.
    pub(crate) fn from_byte(byte: u8) -> Option<Kind> {
        match byte {
            1 => Some(Kind::Keyframe),
            2 => Some(Kind::Delta),
            _ => None,
        }
    }
}

/// A frame made a record's payload.
#[derive(Debug, Clone)]
pub(crate) struct Encoded {
    pub(crate) t_ms: u64,
    pub(crate) kind: Kind,
    /// `format::FLAG_*`.
    pub(crate) flags: u8,
    pub(crate) payload: Vec<u8>,
}

/// The keyframe deltas are made against: no copy of it, only its items' fingerprints.
#[derive(Debug)]
struct Base {
    /// [`base_id`] of its payload.
    id: u32,
    /// Its payload's length, bytes.
    payload_len: usize,
    /// Per section, each item's fingerprint and its index (the first of equal ones).
    items: [HashMap<u64, u32>; SECTIONS],
    /// Per section: each item's fields' fingerprints (none for an item that is not a map), and
    /// the item of each identity ([`identity`]).
    fields: [FieldTable; SECTIONS],
    identity: [HashMap<u64, u32>; SECTIONS],
    /// Each section's MessagePack, kept for a small keyframe ([`SMALL_KEYFRAME_RAW`]).
    raw: Option<[Vec<u8>; SECTIONS]>,
}

/// Encodes frames one after another: the records of one encoder go, in order, to one store.
pub(crate) struct Encoder {
    keyframe_every: u32,
    /// Deltas since the last keyframe.
    since_keyframe: u32,
    force: bool,
    /// The base is the first keyframe this encoder made, no delta was made against it yet, and
    /// it is to be replaced when that delta rewrote most processes
    /// ([`Encoder::replace_a_first_base_without_rates`]).
    first_base: bool,
    base: Option<Base>,
    /// The fingerprints' keys (random: see `fingerprint`).
    keys: RandomState,
    /// Kept from frame to frame so a tick allocates nearly nothing: one item's MessagePack,
    /// the patch being made, its bytes.
    item: Vec<u8>,
    patch: Patch,
    patch_bytes: Vec<u8>,
    scratch: FieldScratch,
    /// A zstd context kept for the deltas' patches (small: sized to the largest patch).
    compressor: Option<PatchCompressor>,
    prints: ProcessPrints,
    part_prints: PartPrints,
    /// The last delta's namespaces section (none since the last keyframe: none).
    namespaces: Option<LastSection>,
    written: WrittenProcesses,
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encoder")
            .field("since_keyframe", &self.since_keyframe)
            .field("base", &self.base.as_ref().map(|b| b.id))
            .finish_non_exhaustive()
    }
}

impl Default for Encoder {
    fn default() -> Self {
        Encoder::with_keyframe_every(KEYFRAME_EVERY)
    }
}

impl Encoder {
    /// An encoder writing a keyframe at least every `frames` frames (1: keyframes only).
    pub(crate) fn with_keyframe_every(frames: u32) -> Encoder {
        Encoder {
            keyframe_every: frames.max(1),
            since_keyframe: 0,
            force: false,
            first_base: false,
            base: None,
            keys: RandomState::default(),
            item: Vec::new(),
            patch: Patch::default(),
            patch_bytes: Vec::new(),
            scratch: FieldScratch::default(),
            compressor: None,
            prints: ProcessPrints::default(),
            part_prints: PartPrints::default(),
            namespaces: None,
            written: WrittenProcesses::default(),
        }
    }

    /// Replaces the first keyframe by the next frame when the first delta rewrote more than
    /// half of its processes (see the module): the trouble ring's encoder, whose window is
    /// minutes, not hours, starts with the dashboard's first frame, which has no rates.
    pub(crate) fn replace_a_first_base_without_rates(&mut self) {
        self.first_base = self.base.is_none();
    }

    /// Makes the next record a keyframe (a new segment starts only at one).
    pub(crate) fn force_keyframe(&mut self) {
        self.force = true;
    }

    /// `frame` as the next record: a keyframe or a delta against the last keyframe.
    pub(crate) fn encode(&mut self, frame: &Frame) -> Result<Encoded, String> {
        let flags = if frame.events.is_empty() {
            0
        } else {
            super::format::FLAG_EVENTS
        };
        let keyframe_due = self.force || self.since_keyframe + 1 >= self.keyframe_every;
        let base = self.base.take();
        let (kind, payload) = match base {
            Some(base) if !keyframe_due => {
                let mut delta = DeltaSink {
                    payload: base.id.to_be_bytes().to_vec(),
                    base: &base,
                    section: Section::Head,
                    keys: &self.keys,
                    item: &mut self.item,
                    patch: &mut self.patch,
                    patch_bytes: &mut self.patch_bytes,
                    scratch: &mut self.scratch,
                    compressor: &mut self.compressor,
                    prints: &mut self.prints,
                    part_prints: &mut self.part_prints,
                    namespaces: &mut self.namespaces,
                    written: &mut self.written,
                    processes_written: 0,
                };
                let made = sections::visit(frame, &mut delta);
                let payload = delta.payload;
                let processes_written = delta.processes_written;
                self.base = Some(base);
                made?;
                self.since_keyframe += 1;
                // A delta three quarters of a keyframe: the host moved away from its base. Not
                // for tiny frames, whose sections' fixed costs make any delta about as long.
                // The encoder's first keyframe, most of whose processes the first delta wrote:
                // a sampler's first frame, without rates (see the module).
                let first_unlike = std::mem::replace(&mut self.first_base, false)
                    && self.base.as_ref().is_some_and(|b| {
                        processes_written * 2 > b.fields[Section::Processes as usize].starts.len()
                    });
                self.force = first_unlike
                    || self
                        .base
                        .as_ref()
                        .is_some_and(|b| payload.len() > b.payload_len / 4 * 3);
                (Kind::Delta, payload)
            }
            stale => {
                // The old keyframe's tables (~2.5 MB on 11,700 processes) go before the new
                // one's are built, not after.
                drop(stale);
                let mut keyframe = KeyframeSink {
                    payload: Vec::new(),
                    items: Default::default(),
                    fields: Default::default(),
                    identity: Default::default(),
                    raw: Some(Default::default()),
                    scratch: Vec::new(),
                    section: Section::Head,
                    stream: None,
                    keys: &self.keys,
                    item: &mut self.item,
                    prints: &mut self.prints,
                    part_prints: &mut self.part_prints,
                };
                // A section of the last segment's deltas is no section of the next's.
                self.namespaces = None;
                self.written.clear();
                sections::visit(frame, &mut keyframe)?;
                let payload = keyframe.payload;
                self.base = Some(Base {
                    id: base_id(&payload),
                    payload_len: payload.len(),
                    items: keyframe.items,
                    fields: keyframe.fields,
                    identity: keyframe.identity,
                    raw: keyframe.raw,
                });
                self.since_keyframe = 0;
                self.force = false;
                (Kind::Keyframe, payload)
            }
        };
        self.prints.tick_done();
        self.part_prints.tick_done();
        // Large buffers of a busy tick are not kept for the quiet ones (400 networks' patch is
        // ~250 KB of operations a tick, 1.2 KB compressed: its buffers are made again each
        // tick rather than held).
        for buffer in [&mut self.item, &mut self.patch_bytes] {
            buffer.clear();
            buffer.shrink_to(1 << 16);
        }
        self.patch.clear();
        self.patch.shrink_to(1 << 16);
        Ok(Encoded {
            t_ms: frame.taken_at_ms,
            kind,
            flags,
            payload,
        })
    }
}

/// An item's MessagePack (a map's key, then the value) into `out`, emptied first.
fn item_bytes<T: Serialize + ?Sized>(
    out: &mut Vec<u8>,
    key: Option<&str>,
    value: &T,
) -> Result<(), String> {
    out.clear();
    if let Some(key) = key {
        patch::write_str(out, key);
    }
    value
        .serialize(&mut rmp_serde::Serializer::new(&mut *out).with_struct_map())
        .map_err(|e| e.to_string())
}

/// An item's fingerprint, its fields' fingerprints into `fields` (emptied: it has none): one
/// walk of the item, not one for the item and one for its fields (400 containers are 3.9 MB of
/// MessagePack, all changed every tick: their uptime). An item with fields is fingerprinted
/// as its key with its fields' fingerprints, one without as its key with its value.
fn item_print<T: Serialize + ?Sized>(
    keys: &RandomState,
    key: Option<&str>,
    value: &T,
    fields: &mut Vec<u64>,
) -> Result<u64, String> {
    if fields::fingerprints(keys, value, fields) {
        fingerprint::fingerprint(keys, &(key, &fields[..]))
    } else {
        fields.clear();
        item_fingerprint(keys, key, value)
    }
}

/// An item's fingerprint: a map's key with its value (two fields may hold equal values).
fn item_fingerprint<T: Serialize + ?Sized>(
    keys: &RandomState,
    key: Option<&str>,
    value: &T,
) -> Result<u64, String> {
    match key {
        Some(key) => fingerprint::fingerprint(keys, &(key, value)),
        None => fingerprint::fingerprint(keys, value),
    }
}

/// What matches an item with its keyframe's: a map's key (the head's fields), else its first
/// field's fingerprint (a process's pid, a container's id, a cgroup's path); `None`: an item
/// without fields.
fn identity(keys: &RandomState, key: Option<&str>, fields: &[u64]) -> Result<Option<u64>, String> {
    match key {
        Some(key) => fingerprint::fingerprint(keys, key).map(Some),
        None => Ok(fields.first().copied()),
    }
}

/// The id a delta names its keyframe by: the CRC-32 of the keyframe's payload.
pub(crate) fn base_id(keyframe_payload: &[u8]) -> u32 {
    crc32fast::hash(keyframe_payload)
}

fn push_section(payload: &mut Vec<u8>, compressed: &[u8]) -> Result<(), String> {
    let len = u32::try_from(compressed.len())
        .map_err(|_| format!("a section of {} bytes is too long", compressed.len()))?;
    payload.extend_from_slice(&len.to_be_bytes());
    payload.extend_from_slice(compressed);
    Ok(())
}

#[cfg(test)]
mod tests;
