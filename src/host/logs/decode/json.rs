//! The JSON line formats: Docker's `json-file` (`{"log":"text\n","stream":"stdout",
//! "time":"2026-12-06T10:00:00.123456789Z"}`, a line longer than 16 KiB split into records
//! whose `log` lacks the `\n`) and isotop's own (`{"t": ms, "stream": "stdout", "data": "…"}`,
//! `launch::logs`' documented layout: a chunk ends with its `\n` or continues in the stream's
//! next record).
//!
//! Contract: a record is one JSON object with the text field a string; anything else (another
//! shape, a record cut short, an unknown stream) is no record. JSON escapes are undone by
//! serde (`\n`, `\u001b`, surrogate pairs); the text's final `\n` ends the line and is dropped.

use serde::Deserialize;

use super::Piece;
use crate::host::logs::LogStream;
use crate::host::logs::time::parse_rfc3339_ns;

#[derive(Deserialize)]
struct DockerRecord {
    log: String,
    stream: String,
    time: Option<String>,
}

#[derive(Deserialize)]
struct IsotopRecord {
    t: u64,
    stream: String,
    data: String,
}

fn piece(text: String, stream: &str, at_ns: Option<u64>) -> Option<Piece> {
    let stream = LogStream::from_name(stream.as_bytes())?;
    let mut bytes = text.into_bytes();
    let ends_line = bytes.last() == Some(&b'\n');
    if ends_line {
        bytes.pop();
    }
    Some(Piece {
        at_ns,
        stream: Some(stream),
        bytes,
        dropped: 0,
        ends_line,
    })
}

/// A `json-file` record; `None` when `bytes` is not one (or was not read whole).
pub(super) fn docker(bytes: &[u8], dropped: usize) -> Option<Piece> {
    if dropped > 0 {
        return None;
    }
    let record: DockerRecord = serde_json::from_slice(bytes).ok()?;
    let at_ns = record.time.as_deref().and_then(parse_rfc3339_ns);
    piece(record.log, &record.stream, at_ns)
}

/// An isotop record; `None` when `bytes` is not one (or was not read whole).
pub(super) fn isotop(bytes: &[u8], dropped: usize) -> Option<Piece> {
    if dropped > 0 {
        return None;
    }
    let record: IsotopRecord = serde_json::from_slice(bytes).ok()?;
    piece(record.data, &record.stream, record.t.checked_mul(1_000_000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_records_undo_escapes_and_mark_partial_lines() {
        let full = docker(
            br#"{"log":"tab\there \"q\" \u001b[31mred\u001b[0m \ud83d\ude00\n","stream":"stderr","time":"2026-12-06T10:00:00.123456789Z"}"#,
            0,
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(full.bytes).unwrap(),
            "tab\there \"q\" \u{1b}[31mred\u{1b}[0m 😀"
        );
        assert!(full.ends_line);
        assert_eq!(full.stream, Some(LogStream::Stderr));
        assert_eq!(full.at_ns.map(|n| n % 1_000_000_000), Some(123_456_789));
        let partial = docker(br#"{"log":"no end","stream":"stdout","time":"bad"}"#, 0).unwrap();
        assert!(!partial.ends_line);
        assert_eq!(partial.at_ns, None);
    }

    #[test]
    fn docker_garbage_is_no_record() {
        for bad in [
            &b"not json"[..],
            br#"{"log":1,"stream":"stdout"}"#,
            br#"{"log":"x\n","stream":"stdin"}"#,
            br#"{"log":"x\n"}"#,
            br#"{"log":"x\n","stream":"stdout""#,
            b"\xff\xfe",
        ] {
            assert_eq!(docker(bad, 0), None, "{}", String::from_utf8_lossy(bad));
        }
        assert_eq!(
            docker(br#"{"log":"x\n","stream":"stdout"}"#, 5),
            None,
            "a record not read whole"
        );
    }

    #[test]
    fn isotop_records_carry_ms_times() {
        let p = isotop(br#"{"t":1700000000123,"stream":"stdout","data":"hi\n"}"#, 0).unwrap();
        assert_eq!(p.at_ns, Some(1_700_000_000_123_000_000));
        assert_eq!((p.bytes.as_slice(), p.ends_line), (&b"hi"[..], true));
        let chunk = isotop(br#"{"t":1,"stream":"stderr","data":"par"}"#, 0).unwrap();
        assert!(!chunk.ends_line);
        assert_eq!(isotop(br#"{"t":-1,"stream":"stdout","data":""}"#, 0), None);
    }
}
