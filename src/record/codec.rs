//! A frame as a record's payload, and back: keyframes, and deltas against their segment's last
//! keyframe.
//!
//! A frame is cut into four sections ([`sections`]: the head, cgroups, namespaces, processes),
//! each MessagePack with named fields. A **keyframe**'s payload is each section compressed with
//! zstd on its own; a **delta**'s is the base keyframe's id (the CRC-32 of its payload, 4 bytes
//! big-endian), then each section as one mode byte and its zstd frame: mode 1, compressed
//! with the same section of the base keyframe, raw, as a prefix (zstd's `refPrefix` with
//! long-distance matching, what `zstd --patch-from` does: the unchanged bytes become
//! back-references into the base), or mode 0, compressed alone — the first delta after a
//! keyframe tries both for each section and the deltas after it keep the smaller way. Every
//! section's frame is `u32` big-endian length + one zstd frame that records its decompressed
//! size and a content checksum (a wrong base fails to decode rather than giving another
//! frame). Decoding a frame is its keyframe + at most one delta, never a chain;
//! a light frame decodes only the head and the cgroups.
//!
//! The [`Encoder`] writes a keyframe first, then deltas, and a keyframe again after
//! [`KEYFRAME_EVERY`] frames, when asked ([`Encoder::force_keyframe`]), or when the last delta
//! grew past three quarters of its keyframe (the host moved so far that a new base is about as
//! cheap).
//!
//! Measured on bench/ns-population.sh's host (11,700 processes, 400 containers), two frames
//! 20 s apart: a frame's MessagePack is 14 MB — processes 8.7 MB, head 4.2 MB (400
//! containers with their stacks), namespaces 1.1 MB, cgroups 31 KB. Alone at zstd level 3 the
//! sections take 68.5 KB, 93 KB, 60 KB and 4 KB (a keyframe: ~226 KB). Against the earlier
//! frame (`zstd --patch-from`, level 3): head 25 KB, namespaces 9.5 KB, cgroups 28 bytes when
//! unchanged — but processes 72 KB, no better than alone: nearly every process's CPU times,
//! memory and rates change between two frames, and those numbers are what is left once zstd
//! has squeezed the repeated field names; a semantic delta (only the fields that changed)
//! would keep the same numbers, so it is not worth a second, hand-written format. Hence
//! per-section modes: a delta is ~105 KB, under half a keyframe. The README's "Flight
//! recorder" section has the resulting bytes per hour, CPU and seek time.

mod sections;

pub(crate) use sections::{SECTIONS, Section, join};

use crate::sample::Frame;

/// zstd level: 3 (zstd's default) is within 10 % of level 1's speed on these frames and
/// ~15 % smaller.
const ZSTD_LEVEL: i32 = 3;

/// The largest window a delta's back-references may span, log2 bytes (128 MiB, zstd's default
/// decoding limit): a prefix longer than this is only partly used, never misread.
const WINDOW_LOG_MAX: u32 = 27;

/// zstd's smallest window, log2 bytes.
const WINDOW_LOG_MIN: u32 = 10;

/// The longest section accepted once decompressed, bytes (1 GiB, as `remote::wire`).
const MAX_DECODED: u64 = 1024 * 1024 * 1024;

/// A keyframe at least every this many frames (10 minutes at 10 s, a minute at 1 s): a delta
/// grows as the host drifts from its base, and a keyframe bounds what a damaged record takes
/// with it.
pub(crate) const KEYFRAME_EVERY: u32 = 60;

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

/// The keyframe deltas are made against.
#[derive(Debug)]
struct Base {
    /// [`base_id`] of its payload.
    id: u32,
    /// Its sections, raw (MessagePack).
    sections: [Vec<u8>; SECTIONS],
    /// Its payload's length, bytes.
    payload_len: usize,
    /// Per section, whether deltas compress it against this keyframe's (`Some(true)`) or alone;
    /// `None` until the first delta after the keyframe tried both and kept the smaller.
    against: [Option<bool>; SECTIONS],
}

/// Encodes frames one after another: the records of one encoder go, in order, to one store.
#[derive(Debug)]
pub(crate) struct Encoder {
    keyframe_every: u32,
    /// Deltas since the last keyframe.
    since_keyframe: u32,
    force: bool,
    base: Option<Base>,
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
            base: None,
        }
    }

    /// Makes the next record a keyframe (a new segment starts only at one).
    pub(crate) fn force_keyframe(&mut self) {
        self.force = true;
    }

    /// `frame` as the next record: a keyframe or a delta against the last keyframe.
    pub(crate) fn encode(&mut self, frame: &Frame) -> Result<Encoded, String> {
        let raw = sections::split(frame)?;
        let flags = if frame.events.is_empty() {
            0
        } else {
            super::format::FLAG_EVENTS
        };
        let keyframe_due = self.force || self.since_keyframe + 1 >= self.keyframe_every;
        let (kind, payload) = match &self.base {
            Some(_) if !keyframe_due => {
                let Some(base) = self.base.as_mut() else {
                    return Err("no keyframe".to_string());
                };
                let payload = delta_payload(base, &raw)?;
                self.since_keyframe += 1;
                // A delta three quarters of a keyframe: the host moved away from its base.
                self.force = payload.len() > base.payload_len / 4 * 3;
                (Kind::Delta, payload)
            }
            _ => {
                let payload = keyframe_payload(&raw)?;
                self.base = Some(Base {
                    id: base_id(&payload),
                    sections: raw,
                    payload_len: payload.len(),
                    against: [None; SECTIONS],
                });
                self.since_keyframe = 0;
                self.force = false;
                (Kind::Keyframe, payload)
            }
        };
        Ok(Encoded {
            t_ms: frame.taken_at_ms,
            kind,
            flags,
            payload,
        })
    }
}

/// The id a delta names its keyframe by: the CRC-32 of the keyframe's payload.
pub(crate) fn base_id(keyframe_payload: &[u8]) -> u32 {
    crc32fast::hash(keyframe_payload)
}

fn keyframe_payload(raw: &[Vec<u8>; SECTIONS]) -> Result<Vec<u8>, String> {
    let mut payload = Vec::new();
    for section in raw {
        push_section(&mut payload, &compress(section, None)?)?;
    }
    Ok(payload)
}

fn delta_payload(base: &mut Base, raw: &[Vec<u8>; SECTIONS]) -> Result<Vec<u8>, String> {
    let mut payload = base.id.to_be_bytes().to_vec();
    for (index, section) in raw.iter().enumerate() {
        let prefix = &base.sections[index];
        let (against, compressed) = match base.against[index] {
            Some(true) => (true, compress(section, Some(prefix))?),
            Some(false) => (false, compress(section, None)?),
            None => {
                let with = compress(section, Some(prefix))?;
                let alone = compress(section, None)?;
                let against = with.len() < alone.len();
                base.against[index] = Some(against);
                if against {
                    (true, with)
                } else {
                    (false, alone)
                }
            }
        };
        payload.push(u8::from(against));
        push_section(&mut payload, &compressed)?;
    }
    Ok(payload)
}

fn push_section(payload: &mut Vec<u8>, compressed: &[u8]) -> Result<(), String> {
    let len = u32::try_from(compressed.len())
        .map_err(|_| format!("a section of {} bytes is too long", compressed.len()))?;
    payload.extend_from_slice(&len.to_be_bytes());
    payload.extend_from_slice(compressed);
    Ok(())
}

/// One zstd frame of `data` (its size and checksum recorded), against `prefix` if given.
fn compress(data: &[u8], prefix: Option<&[u8]>) -> Result<Vec<u8>, String> {
    use zstd::zstd_safe::CParameter;
    let mut compressor = zstd::bulk::Compressor::new(ZSTD_LEVEL).map_err(|e| e.to_string())?;
    compressor
        .set_parameter(CParameter::ChecksumFlag(true))
        .map_err(|e| e.to_string())?;
    match prefix {
        None => compressor.compress(data),
        Some(prefix) => {
            // The window spans the prefix and the data, so the whole base can be referenced.
            let span = (prefix.len() + data.len()).max(1);
            let window_log = usize::BITS - (span - 1).leading_zeros();
            compressor
                .set_parameter(CParameter::WindowLog(
                    window_log.clamp(WINDOW_LOG_MIN, WINDOW_LOG_MAX),
                ))
                .map_err(|e| e.to_string())?;
            // Long-distance matching finds the base's bytes megabytes back (the head's
            // 4 MB of 400 containers: 93 KB alone, 25 KB against the base), as
            // `zstd --patch-from` turns it on.
            compressor
                .set_parameter(CParameter::EnableLongDistanceMatching(true))
                .map_err(|e| e.to_string())?;
            compressor.compress_with_prefix(data, prefix)
        }
    }
    .map_err(|e| e.to_string())
}

/// A record's payload cut into its compressed sections.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Parts<'a> {
    /// A delta's keyframe ([`base_id`]); `None` for a keyframe.
    pub(crate) base: Option<u32>,
    /// Each section, and whether it is compressed against the keyframe's.
    sections: [(bool, &'a [u8]); SECTIONS],
}

impl<'a> Parts<'a> {
    /// Cuts a payload of `kind`.
    pub(crate) fn of(kind: Kind, payload: &'a [u8]) -> Result<Parts<'a>, String> {
        let (base, mut rest) = match kind {
            Kind::Keyframe => (None, payload),
            Kind::Delta => {
                let (id, rest) = payload
                    .split_first_chunk::<4>()
                    .ok_or("a delta shorter than its base's id")?;
                (Some(u32::from_be_bytes(*id)), rest)
            }
        };
        let mut sections: [(bool, &[u8]); SECTIONS] = [(false, &[]); SECTIONS];
        for (index, slot) in sections.iter_mut().enumerate() {
            let against = match base {
                None => false,
                Some(_) => {
                    let (mode, after) = rest
                        .split_first()
                        .ok_or_else(|| format!("section {index} has no mode"))?;
                    rest = after;
                    match mode {
                        0 => false,
                        1 => true,
                        other => return Err(format!("section {index} has mode {other}")),
                    }
                }
            };
            let (len, after) = rest
                .split_first_chunk::<4>()
                .ok_or_else(|| format!("section {index} has no length"))?;
            let len = u32::from_be_bytes(*len) as usize;
            if len > after.len() {
                return Err(format!(
                    "section {index} says {len} bytes, {} are left",
                    after.len()
                ));
            }
            let (section, after) = after.split_at(len);
            *slot = (against, section);
            rest = after;
        }
        if !rest.is_empty() {
            return Err(format!("{} bytes after the last section", rest.len()));
        }
        Ok(Parts { base, sections })
    }

    /// `section`, decompressed; a delta's against `base`, the same section of its keyframe raw.
    pub(crate) fn unpack(&self, section: Section, base: Option<&[u8]>) -> Result<Vec<u8>, String> {
        let (against, data) = self.sections[section as usize];
        match (against, base) {
            (true, None) => Err("a delta decoded without its keyframe".to_string()),
            (false, _) => decompress(data, None),
            (true, Some(prefix)) => decompress(data, Some(prefix)),
        }
        .map_err(|e| format!("section {section:?}: {e}"))
    }
}

fn decompress(data: &[u8], prefix: Option<&[u8]>) -> Result<Vec<u8>, String> {
    use zstd::zstd_safe::{DCtx, DParameter, get_frame_content_size};
    let size = match get_frame_content_size(data) {
        Ok(Some(size)) if size <= MAX_DECODED => size,
        Ok(Some(size)) => {
            return Err(format!(
                "{size} bytes once decompressed, over the limit of {MAX_DECODED}"
            ));
        }
        Ok(None) => return Err("a zstd frame without its size".to_string()),
        Err(_) => return Err("not a zstd frame".to_string()),
    };
    let size = usize::try_from(size).map_err(|e| e.to_string())?;
    let mut context = DCtx::try_create().ok_or("zstd could not make a context")?;
    let zstd_err = |code| zstd::zstd_safe::get_error_name(code).to_string();
    context
        .set_parameter(DParameter::WindowLogMax(WINDOW_LOG_MAX))
        .map_err(zstd_err)?;
    if let Some(prefix) = prefix {
        context.ref_prefix(prefix).map_err(zstd_err)?;
    }
    let mut out = Vec::new();
    out.try_reserve_exact(size).map_err(|e| e.to_string())?;
    context.decompress(&mut out, data).map_err(zstd_err)?;
    if out.len() != size {
        return Err(format!("{} bytes decompressed, {size} recorded", out.len()));
    }
    Ok(out)
}
