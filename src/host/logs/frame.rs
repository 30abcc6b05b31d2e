//! Splitting a log file's bytes into records: lines for the line formats (`json-file`, CRI,
//! isotop's), length frames for Docker's `local` driver (a big-endian `u32` length, the
//! protobuf entry, the same length again).
//!
//! Contract: bytes are fed in any pieces (a file read in blocks, a follower's new bytes); a
//! record is given out once complete. Memory is bounded: a line longer than [`RECORD_CAP`]
//! keeps its first `RECORD_CAP` bytes and counts the rest; a frame whose length is impossible
//! or whose trailer does not match is garbage, skipped a byte at a time until frames line up
//! again (reported once per run of garbage). Bytes of a record not yet complete are held
//! until the rest of it is fed (a record being written when a follower looked).

use std::collections::VecDeque;

/// The most of one record kept in memory, bytes: a Docker line is at most 16 KiB of text
/// (JSON-escaped, up to six times that), a CRI line that long is cut anyway.
pub(crate) const RECORD_CAP: usize = 1 << 20;

/// The largest `local` frame payload Docker writes (its `maxMsgLen`, 1 MB) plus room for
/// its attributes.
pub(crate) const FRAME_CAP: usize = 1 << 20;

/// One record of a log file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Raw {
    /// A record: its bytes (a line without its `\n`, a frame's payload) and how many bytes
    /// of it were not kept.
    Record { bytes: Vec<u8>, dropped: usize },
    /// Bytes that are no record (a corrupt frame): skipped.
    Garbage,
}

/// A record splitter of one format.
#[derive(Debug, Clone)]
pub(crate) enum Framer {
    Lines { line: Vec<u8>, dropped: usize },
    Frames { buf: VecDeque<u8>, in_garbage: bool },
}

impl Framer {
    pub(crate) fn lines() -> Framer {
        Framer::Lines {
            line: Vec::new(),
            dropped: 0,
        }
    }

    pub(crate) fn frames() -> Framer {
        Framer::Frames {
            buf: VecDeque::new(),
            in_garbage: false,
        }
    }

    /// Bytes fed but not yet given out as a record (the start of one being written).
    #[cfg(test)]
    pub(crate) fn held(&self) -> usize {
        match self {
            Framer::Lines { line, dropped } => line.len().saturating_add(*dropped),
            Framer::Frames { buf, .. } => buf.len(),
        }
    }

    /// Forgets held bytes (the file was truncated under them).
    pub(crate) fn reset(&mut self) {
        *self = match self {
            Framer::Lines { .. } => Framer::lines(),
            Framer::Frames { .. } => Framer::frames(),
        };
    }

    /// Splits `data` (the bytes following what was fed before), adding complete records to
    /// `out`.
    pub(crate) fn feed(&mut self, data: &[u8], out: &mut Vec<Raw>) {
        match self {
            Framer::Lines { line, dropped } => feed_lines(line, dropped, data, out),
            Framer::Frames { buf, in_garbage } => {
                buf.extend(data);
                feed_frames(buf, in_garbage, out);
            }
        }
    }
}

fn feed_lines(line: &mut Vec<u8>, dropped: &mut usize, mut data: &[u8], out: &mut Vec<Raw>) {
    let keep = |line: &mut Vec<u8>, dropped: &mut usize, part: &[u8]| {
        let room = RECORD_CAP.saturating_sub(line.len()).min(part.len());
        line.extend_from_slice(&part[..room]);
        *dropped = dropped.saturating_add(part.len() - room);
    };
    while let Some(end) = data.iter().position(|&b| b == b'\n') {
        keep(line, dropped, &data[..end]);
        let bytes = std::mem::take(line);
        let extra = std::mem::take(dropped);
        // Blank lines are no records of any format (and no output: every format keeps
        // a line's end inside its record).
        if !bytes.is_empty() || extra > 0 {
            out.push(Raw::Record {
                bytes,
                dropped: extra,
            });
        }
        data = &data[end + 1..];
    }
    keep(line, dropped, data);
}

/// The length a 4-byte big-endian prefix says.
fn frame_len(bytes: [u8; 4]) -> usize {
    u32::from_be_bytes(bytes) as usize
}

fn feed_frames(buf: &mut VecDeque<u8>, in_garbage: &mut bool, out: &mut Vec<Raw>) {
    let at =
        |buf: &VecDeque<u8>, i: usize| -> [u8; 4] { [buf[i], buf[i + 1], buf[i + 2], buf[i + 3]] };
    while buf.len() >= 4 {
        let len = frame_len(at(buf, 0));
        let valid_len = len <= FRAME_CAP;
        if valid_len && buf.len() < len + 8 {
            return; // the rest of the frame has not been written yet
        }
        if valid_len && frame_len(at(buf, len + 4)) == len {
            buf.pop_front_n(4);
            let payload: Vec<u8> = buf.drain(..len).collect();
            buf.pop_front_n(4);
            *in_garbage = false;
            out.push(Raw::Record {
                bytes: payload,
                dropped: 0,
            });
            continue;
        }
        // Not a frame here: skip a byte and look again.
        if !*in_garbage {
            *in_garbage = true;
            out.push(Raw::Garbage);
        }
        buf.pop_front();
    }
}

/// Dropping the first bytes of a deque.
trait PopFrontN {
    fn pop_front_n(&mut self, n: usize);
}

impl PopFrontN for VecDeque<u8> {
    fn pop_front_n(&mut self, n: usize) {
        self.drain(..n.min(self.len()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(out: &[Raw]) -> Vec<Vec<u8>> {
        out.iter()
            .filter_map(|r| match r {
                Raw::Record { bytes, .. } => Some(bytes.clone()),
                Raw::Garbage => None,
            })
            .collect()
    }

    #[test]
    fn lines_split_across_feeds_and_hold_the_unfinished_one() {
        let mut f = Framer::lines();
        let mut out = Vec::new();
        f.feed(b"one\ntw", &mut out);
        assert_eq!(f.held(), 2);
        f.feed(b"o\n\nthree", &mut out);
        assert_eq!(records(&out), [b"one".to_vec(), b"two".to_vec()]);
        assert_eq!(f.held(), 5);
        f.reset();
        assert_eq!(f.held(), 0);
    }

    #[test]
    fn a_huge_line_keeps_its_start_and_counts_the_rest() {
        let mut f = Framer::lines();
        let mut out = Vec::new();
        let big = vec![b'x'; RECORD_CAP + 10];
        f.feed(&big[..100], &mut out);
        f.feed(&big[100..], &mut out);
        f.feed(b"\n", &mut out);
        match &out[..] {
            [Raw::Record { bytes, dropped }] => {
                assert_eq!((bytes.len(), *dropped), (RECORD_CAP, 10));
            }
            other => panic!("{other:?}"),
        }
    }

    fn frame(payload: &[u8]) -> Vec<u8> {
        let len = (payload.len() as u32).to_be_bytes();
        [&len[..], payload, &len[..]].concat()
    }

    #[test]
    fn frames_split_anywhere_and_garbage_is_skipped_until_they_line_up() {
        let mut stream = frame(b"first");
        stream.extend_from_slice(b"\xff\xff\xff\xffjunk");
        stream.extend(frame(b"second"));
        let mut f = Framer::frames();
        let mut out = Vec::new();
        for byte in &stream {
            f.feed(std::slice::from_ref(byte), &mut out);
        }
        assert_eq!(records(&out), [b"first".to_vec(), b"second".to_vec()]);
        assert_eq!(out.iter().filter(|r| **r == Raw::Garbage).count(), 1);
        assert_eq!(f.held(), 0);
        // A frame whose end is not written yet is held, not garbage.
        let mut out = Vec::new();
        let third = frame(b"third");
        f.feed(&third[..6], &mut out);
        assert!(out.is_empty());
        assert_eq!(f.held(), 6);
    }
}
