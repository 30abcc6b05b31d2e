//! The CRI log format (Kubernetes' kubelet reads it; containerd, CRI-O and Podman's `k8s-file`
//! write it): `TIME STREAM TAGS TEXT` per line, `TIME` RFC 3339 with nanoseconds, `STREAM`
//! `stdout` or `stderr`, `TAGS` `F` (the line ends here) or `P` (it continues in the stream's
//! next record), possibly more tags after a `:`; an old writer without tags wrote whole lines.
//!
//! Contract: the text is the container's bytes as they were (not necessarily UTF-8); a record
//! too long to keep whole still gives its time, stream, tag and the start of its text (the
//! rest is counted, the line ends up cut). A line without a valid time or stream is no record.

use super::Piece;
use crate::host::logs::LogStream;
use crate::host::logs::time::parse_rfc3339_ns;

/// Splits the first space-delimited field off `bytes`.
fn field(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let space = bytes.iter().position(|&b| b == b' ')?;
    Some((&bytes[..space], &bytes[space + 1..]))
}

/// A CRI record; `None` when `bytes` is not one.
pub(super) fn parse(bytes: &[u8], dropped: usize) -> Option<Piece> {
    let (time, rest) = field(bytes)?;
    let at_ns = parse_rfc3339_ns(std::str::from_utf8(time).ok()?)?;
    // `stdout F` with an empty text may end without its separating space.
    let (stream, rest) = field(rest).unwrap_or((rest, &[]));
    let stream = LogStream::from_name(stream)?;
    let (tags, text) = field(rest).unwrap_or((rest, &[]));
    let is_tags = !tags.is_empty()
        && tags
            .split(|&b| b == b':')
            .all(|t| !t.is_empty() && t.iter().all(u8::is_ascii_uppercase));
    let (ends_line, text) = if is_tags {
        (!tags.split(|&b| b == b':').any(|t| t == b"P"), text)
    } else {
        // A writer that predates tags: the rest is a whole line.
        (true, rest)
    };
    Some(Piece {
        at_ns: Some(at_ns),
        stream: Some(stream),
        bytes: text.to_vec(),
        dropped,
        ends_line,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_and_partial_records() {
        let p = parse(b"2026-12-06T10:00:00.123456789Z stdout F hello  world", 0).unwrap();
        assert_eq!(p.bytes, b"hello  world");
        assert!(p.ends_line);
        assert_eq!(p.at_ns.map(|n| n % 1_000_000_000), Some(123_456_789));
        let p = parse(b"2026-12-06T10:00:00Z stderr P part", 0).unwrap();
        assert_eq!(
            (p.stream, p.ends_line, p.bytes.as_slice()),
            (Some(LogStream::Stderr), false, &b"part"[..])
        );
        let empty = parse(b"2026-12-06T10:00:00Z stdout F", 0).unwrap();
        assert!(empty.bytes.is_empty() && empty.ends_line);
        let old = parse(b"2026-12-06T10:00:00+01:00 stdout no tags here", 0).unwrap();
        assert_eq!(old.bytes, b"no tags here");
        assert!(old.ends_line);
        let raw = parse(b"2026-12-06T10:00:00Z stdout F \xff\x1b[2J", 3).unwrap();
        assert_eq!(
            (raw.bytes.as_slice(), raw.dropped),
            (&b"\xff\x1b[2J"[..], 3)
        );
    }

    #[test]
    fn garbage_is_no_record() {
        for bad in [
            &b""[..],
            b"hello world",
            b"2026-12-06T10:00:00Z",
            b"2026-12-06T10:00:00Z stdin F x",
            b"yesterday stdout F x",
            b"\xff\xff stdout F x",
        ] {
            assert_eq!(parse(bad, 0), None, "{}", String::from_utf8_lossy(bad));
        }
    }
}
