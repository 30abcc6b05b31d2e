//! The bytes of a segment file. A segment is a header — [`MAGIC`] (8 bytes), the format
//! version (u32 big-endian, [`VERSION`]), 4 reserved bytes (zero) — then records, each a
//! [`RECORD_HEADER`]-byte head and its payload:
//!
//! | bytes | field |
//! |---|---|
//! | 4 | payload length, u32 big-endian (at most [`MAX_PAYLOAD`]) |
//! | 4 | CRC-32 (IEEE) of the 10 bytes that follow it and the payload |
//! | 8 | the frame's `taken_at_ms`, u64 big-endian |
//! | 1 | kind ([`codec::Kind`]: a keyframe, or a delta against its segment's last keyframe) |
//! | 1 | flags ([`FLAG_EVENTS`]: the frame carries events) |
//! | n | payload ([`codec`]) |
//!
//! A record whose length runs past the end of the file, or whose checksum does not match, is a
//! torn write: it and everything after it in that segment are skipped. A writer never appends
//! to a segment it did not create, so a torn tail stays where the crash left it.
//!
//! [`codec`]: super::codec
//! [`codec::Kind`]: super::codec::Kind

use std::io::{Read, Write};

/// A segment's first bytes.
pub(crate) const MAGIC: &[u8; 8] = b"ISOTOPRC";

/// This build's store format, the one it writes. A change to the header, the records or the
/// payload's encoding is a new version; a segment of one not [`READABLE`] is refused with a
/// message naming both. 3: a delta's sections are patches of its keyframe's items (`codec`),
/// the containers a section of their own.
pub(crate) const VERSION: u32 = 3;

/// The formats this build reads: 2 (deltas compressed against their keyframe's bytes) and 3.
pub(crate) const READABLE: [u32; 2] = [2, VERSION];

/// The segment header's length, bytes.
pub(crate) const HEADER: usize = 16;

/// A record's head before its payload, bytes.
pub(crate) const RECORD_HEADER: usize = 18;

/// The longest payload accepted, bytes (256 MiB: a keyframe of 11,700 processes is ~0.3 MB).
pub(crate) const MAX_PAYLOAD: u32 = 256 * 1024 * 1024;

/// Record flag: the frame carries events (`{` `}` in the replay jump between these).
pub(crate) const FLAG_EVENTS: u8 = 1;

/// A segment's header bytes.
pub(crate) fn header() -> [u8; HEADER] {
    let mut bytes = [0u8; HEADER];
    bytes[..8].copy_from_slice(MAGIC);
    bytes[8..12].copy_from_slice(&VERSION.to_be_bytes());
    bytes
}

/// What a segment's header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Header {
    /// An isotop segment of format `version`.
    Segment { version: u32 },
    /// Not an isotop segment (other magic, or shorter than a header).
    Foreign,
}

/// Reads a segment's header.
pub(crate) fn read_header(input: &mut impl Read) -> std::io::Result<Header> {
    let mut bytes = [0u8; HEADER];
    match input.read_exact(&mut bytes) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(Header::Foreign),
        Err(e) => return Err(e),
    }
    if &bytes[..8] != MAGIC {
        return Ok(Header::Foreign);
    }
    let version = u32::from_be_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
    Ok(Header::Segment { version })
}

/// One record's head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RecordHead {
    pub(crate) len: u32,
    pub(crate) crc: u32,
    pub(crate) t_ms: u64,
    pub(crate) kind: u8,
    pub(crate) flags: u8,
}

impl RecordHead {
    /// Parses a head from its bytes.
    pub(crate) fn parse(bytes: &[u8; RECORD_HEADER]) -> RecordHead {
        let u32_at =
            |i: usize| u32::from_be_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
        let mut t = [0u8; 8];
        t.copy_from_slice(&bytes[8..16]);
        RecordHead {
            len: u32_at(0),
            crc: u32_at(4),
            t_ms: u64::from_be_bytes(t),
            kind: bytes[16],
            flags: bytes[17],
        }
    }

    /// Whether `payload` is this record's (its checksum matches).
    pub(crate) fn checks(&self, payload: &[u8]) -> bool {
        checksum(self.t_ms, self.kind, self.flags, payload) == self.crc
    }
}

fn checksum(t_ms: u64, kind: u8, flags: u8, payload: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&t_ms.to_be_bytes());
    hasher.update(&[kind, flags]);
    hasher.update(payload);
    hasher.finalize()
}

/// Writes one record (head and payload) with a single `write_all` of one buffer, so a crash
/// leaves at most one torn record at the end.
pub(crate) fn write_record(
    out: &mut impl Write,
    t_ms: u64,
    kind: u8,
    flags: u8,
    payload: &[u8],
) -> std::io::Result<usize> {
    let len = u32::try_from(payload.len())
        .ok()
        .filter(|len| *len <= MAX_PAYLOAD)
        .ok_or_else(|| {
            std::io::Error::other(format!("a record of {} bytes is too long", payload.len()))
        })?;
    let mut bytes = Vec::with_capacity(RECORD_HEADER + payload.len());
    bytes.extend_from_slice(&len.to_be_bytes());
    bytes.extend_from_slice(&checksum(t_ms, kind, flags, payload).to_be_bytes());
    bytes.extend_from_slice(&t_ms.to_be_bytes());
    bytes.extend_from_slice(&[kind, flags]);
    bytes.extend_from_slice(payload);
    out.write_all(&bytes)?;
    Ok(bytes.len())
}
