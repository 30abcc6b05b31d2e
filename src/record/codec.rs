//! A frame as a record's payload, and back. Today every record is a keyframe: the frame in
//! MessagePack with named fields (`rmp-serde`'s `to_vec_named`, self-describing, as
//! `remote::wire`), compressed with zstd.

use crate::sample::Frame;

/// zstd level for keyframes.
const ZSTD_LEVEL: i32 = 3;

/// The longest frame accepted once decompressed, bytes (1 GiB, as `remote::wire`).
const MAX_DECODED: usize = 1024 * 1024 * 1024;

/// What a record holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Kind {
    /// A whole frame.
    Keyframe = 1,
}

impl Kind {
    /// The kind a record's byte names, if known.
    pub(crate) fn from_byte(byte: u8) -> Option<Kind> {
        match byte {
            1 => Some(Kind::Keyframe),
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

/// Encodes frames one after another.
#[derive(Debug, Default)]
pub(crate) struct Encoder {}

impl Encoder {
    /// `frame` as the next record.
    pub(crate) fn encode(&mut self, frame: &Frame) -> Result<Encoded, String> {
        let plain = rmp_serde::to_vec_named(frame).map_err(|e| e.to_string())?;
        let payload = zstd::bulk::compress(&plain, ZSTD_LEVEL).map_err(|e| e.to_string())?;
        let flags = if frame.events.is_empty() {
            0
        } else {
            super::format::FLAG_EVENTS
        };
        Ok(Encoded {
            t_ms: frame.taken_at_ms,
            kind: Kind::Keyframe,
            flags,
            payload,
        })
    }
}

/// The frame a keyframe's payload holds.
pub(crate) fn decode(payload: &[u8]) -> Result<Frame, String> {
    use std::io::Read;
    let mut plain = Vec::new();
    zstd::stream::Decoder::new(payload)
        .map_err(|e| e.to_string())?
        .take(MAX_DECODED as u64 + 1)
        .read_to_end(&mut plain)
        .map_err(|e| e.to_string())?;
    if plain.len() > MAX_DECODED {
        return Err(format!("longer than {MAX_DECODED} bytes once decompressed"));
    }
    rmp_serde::from_slice(&plain).map_err(|e| e.to_string())
}
