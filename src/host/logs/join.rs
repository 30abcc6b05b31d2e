//! Pieces of lines and their joining: every format's record becomes a [`Piece`] — a line, or
//! part of one that continues in the stream's next record — and a [`Joiner`] puts the pieces of
//! each stream back together.
//!
//! Contract: pieces of one stream are joined in the order given, whatever the other stream
//! wrote in between (Docker and the CRI interleave stdout and stderr records); a line keeps at
//! most [`MAX_LINE_BYTES`] of its bytes however many pieces it had (memory is bounded by
//! that), and is marked `cut` when it had more; its time is its last piece's.

use crate::host::logs::{LogLine, LogStream, MAX_LINE_BYTES};

/// The bytes of a line kept while it is joined: the cut length plus the rest of a UTF-8
/// character that straddles the cut (so the cut never splits a character).
pub(crate) const KEEP_BYTES: usize = MAX_LINE_BYTES + 3;

/// One record of a log: a whole line or a piece of one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Piece {
    pub at_ns: Option<u64>,
    pub stream: Option<LogStream>,
    /// The bytes kept (without a line end).
    pub bytes: Vec<u8>,
    /// Bytes of the record beyond `bytes` (a record larger than a reader holds).
    pub dropped: usize,
    /// False when the line continues in the stream's next record.
    pub ends_line: bool,
}

impl Piece {
    /// The piece's length in the container's output, bytes.
    pub(crate) fn len(&self) -> usize {
        self.bytes.len().saturating_add(self.dropped)
    }
}

/// The slot of a stream in per-stream tables.
pub(crate) fn slot(stream: Option<LogStream>) -> usize {
    match stream {
        Some(LogStream::Stdout) => 0,
        Some(LogStream::Stderr) => 1,
        None => 2,
    }
}

/// A line being joined.
#[derive(Debug, Clone)]
struct Partial {
    /// Order in which partial lines began (flushed in that order).
    began: u64,
    at_ns: Option<u64>,
    stream: Option<LogStream>,
    bytes: Vec<u8>,
    total: usize,
}

impl Partial {
    fn append(&mut self, piece: &Piece) {
        let room = KEEP_BYTES.saturating_sub(self.bytes.len());
        self.bytes
            .extend_from_slice(&piece.bytes[..piece.bytes.len().min(room)]);
        self.total = self.total.saturating_add(piece.len());
        self.at_ns = piece.at_ns.or(self.at_ns);
    }

    fn into_line(self) -> LogLine {
        line_of(self.at_ns, self.stream, &self.bytes, self.total)
    }
}

/// Joins pieces into lines, per stream.
#[derive(Debug, Clone, Default)]
pub(crate) struct Joiner {
    pending: [Option<Partial>; 3],
    began: u64,
}

impl Joiner {
    /// Adds a piece; the line it ends, if it ends one.
    pub(crate) fn push(&mut self, piece: &Piece) -> Option<LogLine> {
        let slot = slot(piece.stream);
        let mut partial = self.pending[slot].take().unwrap_or_else(|| {
            self.began += 1;
            Partial {
                began: self.began,
                at_ns: None,
                stream: piece.stream,
                bytes: Vec::new(),
                total: 0,
            }
        });
        partial.append(piece);
        if piece.ends_line {
            Some(partial.into_line())
        } else {
            self.pending[slot] = Some(partial);
            None
        }
    }

    /// The lines still waiting for their end (the log stops inside them), in the order they
    /// began; the joiner is empty afterwards.
    pub(crate) fn flush(&mut self) -> Vec<LogLine> {
        let mut partials: Vec<Partial> = self.pending.iter_mut().filter_map(Option::take).collect();
        partials.sort_by_key(|p| p.began);
        partials.into_iter().map(Partial::into_line).collect()
    }

    /// True when no line waits for its end.
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.pending.iter().all(Option::is_none)
    }
}

/// A line from its kept bytes and its full length: cut at [`MAX_LINE_BYTES`] (never inside a
/// UTF-8 character), one trailing `\r` (a terminal's line end) dropped, lossy UTF-8.
pub(crate) fn line_of(
    at_ns: Option<u64>,
    stream: Option<LogStream>,
    bytes: &[u8],
    total: usize,
) -> LogLine {
    let cut = total > MAX_LINE_BYTES;
    let kept = if cut {
        let mut end = bytes.len().min(MAX_LINE_BYTES);
        // The first byte cut away continues a character begun before it: keep the character
        // out rather than show half of it (at most 3 bytes back: the longest UTF-8 sequence).
        while end > 0
            && MAX_LINE_BYTES - end < 3
            && bytes.get(end).is_some_and(|b| b & 0xC0 == 0x80)
        {
            end -= 1;
        }
        if bytes.get(end).is_some_and(|b| b & 0xC0 == 0x80) {
            end = bytes.len().min(MAX_LINE_BYTES);
        }
        &bytes[..end]
    } else {
        bytes.strip_suffix(b"\r").unwrap_or(bytes)
    };
    LogLine {
        at_ns,
        stream,
        text: String::from_utf8_lossy(kept).into_owned(),
        cut,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn piece(stream: LogStream, text: &str, ends_line: bool, at: u64) -> Piece {
        Piece {
            at_ns: Some(at),
            stream: Some(stream),
            bytes: text.as_bytes().to_vec(),
            dropped: 0,
            ends_line,
        }
    }

    #[test]
    fn pieces_join_per_stream_across_the_other_streams_lines() {
        let mut j = Joiner::default();
        assert_eq!(j.push(&piece(LogStream::Stdout, "hel", false, 1)), None);
        let err = j.push(&piece(LogStream::Stderr, "oops", true, 2)).unwrap();
        assert_eq!((err.text.as_str(), err.at_ns), ("oops", Some(2)));
        assert_eq!(j.push(&piece(LogStream::Stdout, "lo ", false, 3)), None);
        let out = j
            .push(&piece(LogStream::Stdout, "world\r", true, 4))
            .unwrap();
        assert_eq!(out.text, "hello world");
        assert_eq!(out.at_ns, Some(4), "the time of the line's end");
        assert!(!out.cut && j.is_empty());
        j.push(&piece(LogStream::Stderr, "half", false, 5));
        j.push(&piece(LogStream::Stdout, "other half", false, 6));
        let rest: Vec<String> = j.flush().into_iter().map(|l| l.text).collect();
        assert_eq!(rest, ["half", "other half"]);
        assert!(j.is_empty());
    }

    #[test]
    fn a_megabyte_line_is_cut_without_splitting_a_character() {
        let mut j = Joiner::default();
        // 16 KiB pieces (Docker's split size) of 'a', then 'é' straddling the cut.
        let chunk = "a".repeat(16 * 1024);
        for _ in 0..3 {
            j.push(&piece(LogStream::Stdout, &chunk, false, 1));
        }
        let mut tail = "a".repeat(16 * 1024 - 1);
        tail.push('é');
        tail.push_str(&"b".repeat(1 << 20));
        let line = j.push(&piece(LogStream::Stdout, &tail, true, 2)).unwrap();
        assert!(line.cut);
        assert_eq!(line.text.len(), MAX_LINE_BYTES - 1, "'é' left out whole");
        assert!(line.text.chars().all(|c| c == 'a'));
    }

    #[test]
    fn invalid_utf8_is_shown_not_dropped() {
        let line = line_of(None, None, b"caf\xC3 \xFF!", 7);
        assert_eq!(line.text, "caf\u{fffd} \u{fffd}!");
        // A record the reader did not keep whole still counts toward the cut.
        let mut j = Joiner::default();
        let big = Piece {
            at_ns: None,
            stream: None,
            bytes: b"start".to_vec(),
            dropped: MAX_LINE_BYTES,
            ends_line: true,
        };
        let line = j.push(&big).unwrap();
        assert!(line.cut);
        assert_eq!(line.text, "start");
    }
}
