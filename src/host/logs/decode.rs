//! From a log file's bytes to pieces of lines: a [`Framer`] of the format splits records, the
//! format's parser (`decode::json` for Docker's `json-file` and isotop's records, `decode::cri`,
//! `decode::local`) reads each.
//!
//! Contract: a record the parser does not recognise (garbage, a line of another format, a
//! record cut short by [`frame::RECORD_CAP`](super::frame::RECORD_CAP) where the format cannot
//! be read from a prefix) is counted in [`Decoder::skipped`], never an error or a panic.

mod cri;
mod json;
mod local;

#[cfg(test)]
pub(crate) use local::encode_frame as local_frame;

use super::LogFormat;
use super::frame::{Framer, Raw};
use super::join::Piece;

/// The framer a format's files are split with.
pub(crate) fn framer(format: LogFormat) -> Framer {
    match format {
        LogFormat::DockerLocal => Framer::frames(),
        LogFormat::DockerJsonFile | LogFormat::Cri | LogFormat::Isotop => Framer::lines(),
    }
}

/// The piece a record holds; `None` when it is not a record of `format`.
pub(crate) fn parse(format: LogFormat, raw: &Raw) -> Option<Piece> {
    let Raw::Record { bytes, dropped } = raw else {
        return None;
    };
    match format {
        LogFormat::DockerJsonFile => json::docker(bytes, *dropped),
        LogFormat::Isotop => json::isotop(bytes, *dropped),
        LogFormat::Cri => cri::parse(bytes, *dropped),
        LogFormat::DockerLocal => local::parse(bytes),
    }
}

/// A format's framer and parser over one file's bytes.
#[derive(Debug, Clone)]
pub(crate) struct Decoder {
    format: LogFormat,
    framer: Framer,
    raws: Vec<Raw>,
    /// Records that were not log records, so far.
    pub skipped: u64,
}

impl Decoder {
    pub(crate) fn new(format: LogFormat) -> Decoder {
        Decoder {
            format,
            framer: framer(format),
            raws: Vec::new(),
            skipped: 0,
        }
    }

    /// Feeds the file's next bytes; adds the pieces of the records completed to `out`.
    pub(crate) fn feed(&mut self, data: &[u8], out: &mut Vec<Piece>) {
        self.framer.feed(data, &mut self.raws);
        for raw in self.raws.drain(..) {
            match parse(self.format, &raw) {
                Some(piece) => out.push(piece),
                None => self.skipped += 1,
            }
        }
    }

    /// Forgets the record being read (the file was truncated).
    pub(crate) fn reset(&mut self) {
        self.framer.reset();
    }
}
