//! Docker's `local` driver entry: the payload of one frame, a protobuf `LogEntry` (moby's
//! `api/types/plugins/logdriver/entry.proto`): `source` = 1 (string: `stdout`/`stderr`),
//! `time_nano` = 2 (int64), `line` = 3 (bytes, without its `\n`), `partial` = 4 (bool),
//! `partial_log_metadata` = 5 (message: `last` = 1 bool, `id` = 2, `ordinal` = 3), `attrs` = 6.
//!
//! Contract: a small decoder of the protobuf wire format (varints, length-delimited fields,
//! fixed 32/64-bit fields skipped; unknown fields skipped as protobuf says), bounded by the
//! payload: a truncated varint, a length past the end or a group wire type is no record. An
//! entry is partial unless `partial` is false or its metadata says `last`.

use super::Piece;
use crate::host::logs::LogStream;

/// Reads a varint at `*at`, moving past it.
fn varint(bytes: &[u8], at: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *bytes.get(*at)?;
        *at += 1;
        value |= u64::from(byte & 0x7F) << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

/// One field: its number and value.
enum Field<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    Fixed,
}

/// The fields of a message, in order; `None` (through [`fields`]) on a malformed one.
fn fields(bytes: &[u8]) -> Option<Vec<(u64, Field<'_>)>> {
    let mut at = 0;
    let mut out = Vec::new();
    while at < bytes.len() {
        let key = varint(bytes, &mut at)?;
        let (number, wire) = (key >> 3, key & 7);
        let field = match wire {
            0 => Field::Varint(varint(bytes, &mut at)?),
            1 | 5 => {
                at = at.checked_add(if wire == 1 { 8 } else { 4 })?;
                (at <= bytes.len()).then_some(Field::Fixed)?
            }
            2 => {
                let len = usize::try_from(varint(bytes, &mut at)?).ok()?;
                let end = at.checked_add(len)?;
                let value = bytes.get(at..end)?;
                at = end;
                Field::Bytes(value)
            }
            // Groups (3, 4) are not in this schema; 6 and 7 do not exist.
            _ => return None,
        };
        out.push((number, field));
    }
    Some(out)
}

/// A `LogEntry`; `None` when `payload` is not one.
pub(super) fn parse(payload: &[u8]) -> Option<Piece> {
    let mut stream = None;
    let mut at_ns = None;
    let mut line: &[u8] = &[];
    let mut partial = false;
    let mut last = false;
    for (number, field) in fields(payload)? {
        match (number, field) {
            (1, Field::Bytes(source)) => stream = LogStream::from_name(source),
            // int64 as a varint: a negative time (before 1970) is no time.
            (2, Field::Varint(ns)) => at_ns = (ns <= i64::MAX as u64).then_some(ns),
            (3, Field::Bytes(bytes)) => line = bytes,
            (4, Field::Varint(flag)) => partial = flag != 0,
            (5, Field::Bytes(meta)) => {
                last = fields(meta)?
                    .iter()
                    .any(|(n, f)| *n == 1 && matches!(f, Field::Varint(v) if *v != 0));
            }
            _ => {}
        }
    }
    Some(Piece {
        at_ns,
        stream: Some(stream?),
        bytes: line.to_vec(),
        dropped: 0,
        ends_line: !partial || last,
    })
}

/// Encodes a `LogEntry` as the `local` driver frames it (tests and fixtures).
#[cfg(test)]
pub(crate) fn encode_frame(
    source: &str,
    time_nano: u64,
    line: &[u8],
    partial: Option<bool>,
) -> Vec<u8> {
    fn put_varint(out: &mut Vec<u8>, mut v: u64) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }
    fn put_bytes(out: &mut Vec<u8>, number: u64, bytes: &[u8]) {
        put_varint(out, number << 3 | 2);
        put_varint(out, bytes.len() as u64);
        out.extend_from_slice(bytes);
    }
    let mut entry = Vec::new();
    put_bytes(&mut entry, 1, source.as_bytes());
    put_varint(&mut entry, 2 << 3);
    put_varint(&mut entry, time_nano);
    put_bytes(&mut entry, 3, line);
    if let Some(last) = partial {
        put_varint(&mut entry, 4 << 3);
        put_varint(&mut entry, 1);
        let mut meta = Vec::new();
        put_varint(&mut meta, 1 << 3);
        put_varint(&mut meta, u64::from(last));
        put_bytes(&mut meta, 2, b"id");
        put_bytes(&mut entry, 5, &meta);
    }
    // An attribute (field 6) the reader skips.
    put_bytes(&mut entry, 6, b"\x0a\x01k\x12\x01v");
    let len = (entry.len() as u32).to_be_bytes();
    [&len[..], &entry, &len[..]].concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(frame: &[u8]) -> &[u8] {
        &frame[4..frame.len() - 4]
    }

    #[test]
    fn entries_whole_and_partial() {
        let whole = encode_frame("stdout", 1_765_015_200_123_456_789, b"hello \xff", None);
        let p = parse(payload(&whole)).unwrap();
        assert_eq!(p.bytes, b"hello \xff");
        assert_eq!(p.at_ns, Some(1_765_015_200_123_456_789));
        assert!(p.ends_line);
        let first = encode_frame("stderr", 1, b"par", Some(false));
        let p = parse(payload(&first)).unwrap();
        assert_eq!((p.stream, p.ends_line), (Some(LogStream::Stderr), false));
        let last = encode_frame("stderr", 2, b"tial", Some(true));
        assert!(parse(payload(&last)).unwrap().ends_line);
    }

    #[test]
    fn malformed_entries_are_no_records() {
        let good = encode_frame("stdout", 5, b"x", None);
        let body = payload(&good);
        for cut in 1..body.len() {
            // Every prefix that ends inside a field is refused (or, ending between fields,
            // still a valid entry): never a panic.
            let _ = parse(&body[..cut]);
        }
        assert_eq!(parse(b"\x0b"), None, "a group wire type");
        assert_eq!(
            parse(b"\x1a\xff\xff\xff\xff\x0f"),
            None,
            "a length past the end"
        );
        assert_eq!(parse(b"\x10\xff\xff\xff"), None, "a truncated varint");
        assert_eq!(parse(b"\x0a\x05stdin\x1a\x01x"), None, "no stream");
    }
}
