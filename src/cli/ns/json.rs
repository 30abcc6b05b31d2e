//! `isotop ns --json` written as it is serialized: no copy of the table, no document built in
//! memory. The bytes are those [`crate::cli::print_json`] would print (pretty JSON, a line
//! break, every character [`must_escape`] names written as `\uXXXX`), streamed through
//! [`Escaping`] into a buffered stdout.

use std::io::{self, Write};

use serde::Serialize;

use super::super::CliError;
use crate::host::namespace::{HostReference, Namespace, NamespaceTable};
use crate::host::text::must_escape;

/// The rows chosen of a table, borrowed: serialized as [`NamespaceTable`] is (same keys, same
/// order).
#[derive(Serialize)]
pub(super) struct Shown<'a> {
    host_reference: &'a HostReference,
    namespaces: &'a [&'a Namespace],
    warnings: &'a [String],
}

impl<'a> Shown<'a> {
    pub(super) fn new(table: &'a NamespaceTable, rows: &'a [&'a Namespace]) -> Shown<'a> {
        Shown {
            host_reference: &table.host,
            namespaces: rows,
            warnings: &table.warnings,
        }
    }
}

/// Serializes `value` to stdout as [`crate::cli::print_json`] would; a closed pipe is not an
/// error.
pub(super) fn stream_json<T: Serialize>(value: &T) -> Result<(), CliError> {
    let stdout = io::stdout().lock();
    let mut out = Escaping::new(io::BufWriter::with_capacity(1 << 20, stdout));
    let written = serde_json::to_writer_pretty(&mut out, value)
        .map_err(io::Error::from)
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush());
    match written {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(CliError::Output(e.to_string())),
    }
}

/// A writer that passes UTF-8 text through, writing each character [`must_escape`] names
/// (line breaks excepted) as JSON `\uXXXX` escapes. A character split between two writes is
/// held until its last byte arrives.
pub(super) struct Escaping<W: Write> {
    inner: W,
    carry: [u8; 4],
    carried: usize,
}

impl<W: Write> Escaping<W> {
    pub(super) fn new(inner: W) -> Escaping<W> {
        Escaping {
            inner,
            carry: [0; 4],
            carried: 0,
        }
    }

    fn escape(&mut self, c: char) -> io::Result<()> {
        let mut units = [0u16; 2];
        for unit in c.encode_utf16(&mut units) {
            write!(self.inner, "\\u{unit:04x}")?;
        }
        Ok(())
    }

    /// One whole character's bytes (from the carry or the input).
    fn character(&mut self, bytes: &[u8]) -> io::Result<()> {
        match std::str::from_utf8(bytes)
            .ok()
            .and_then(|s| s.chars().next())
        {
            Some(c) if must_escape(c) && c != '\n' => self.escape(c),
            _ => self.inner.write_all(bytes),
        }
    }
}

/// How many bytes the UTF-8 sequence led by `lead` has (1 for a stray byte).
fn sequence_len(lead: u8) -> usize {
    match lead {
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF7 => 4,
        _ => 1,
    }
}

impl<W: Write> Write for Escaping<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut at = 0;
        // Finish a character begun in the last write.
        while self.carried > 0 && at < buf.len() {
            self.carry[self.carried] = buf[at];
            self.carried += 1;
            at += 1;
            if self.carried == sequence_len(self.carry[0]) {
                let whole = self.carry;
                let len = self.carried;
                self.carried = 0;
                self.character(&whole[..len])?;
            }
        }
        let mut run = at;
        while at < buf.len() {
            let b = buf[at];
            if b < 0x80 {
                // ASCII: only controls (and DEL) other than the line break need escaping.
                if (b < 0x20 && b != b'\n') || b == 0x7f {
                    self.inner.write_all(&buf[run..at])?;
                    self.escape(char::from(b))?;
                    run = at + 1;
                }
                at += 1;
                continue;
            }
            let len = sequence_len(b);
            if at + len > buf.len() {
                self.inner.write_all(&buf[run..at])?;
                let rest = &buf[at..];
                self.carry[..rest.len()].copy_from_slice(rest);
                self.carried = rest.len();
                return Ok(buf.len());
            }
            let bytes = &buf[at..at + len];
            let escape = std::str::from_utf8(bytes)
                .ok()
                .and_then(|s| s.chars().next())
                .is_some_and(must_escape);
            if escape {
                self.inner.write_all(&buf[run..at])?;
                self.character(bytes)?;
                run = at + len;
            }
            at += len;
        }
        self.inner.write_all(&buf[run..])?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.carried > 0 {
            let whole = self.carry;
            let len = self.carried;
            self.carried = 0;
            self.inner.write_all(&whole[..len])?;
        }
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn through(pieces: &[&[u8]]) -> String {
        let mut out = Escaping::new(Vec::new());
        for piece in pieces {
            out.write_all(piece).unwrap();
        }
        out.flush().unwrap();
        String::from_utf8(out.inner).unwrap()
    }

    #[test]
    fn same_bytes_as_escape_json_whole_or_split_anywhere() {
        let value = serde_json::json!({"name": "a\u{202e}b\u{9b}c\u{7f}\x1b é 😀 \u{2028}"});
        let pretty = format!("{}\n", serde_json::to_string_pretty(&value).unwrap());
        let expected = crate::host::text::escape_json(&pretty);
        assert_eq!(through(&[pretty.as_bytes()]), expected);
        let bytes = pretty.as_bytes();
        for split in 0..bytes.len() {
            assert_eq!(
                through(&[&bytes[..split], &bytes[split..]]),
                expected,
                "split at {split}"
            );
        }
        let singles: Vec<&[u8]> = bytes.chunks(1).collect();
        assert_eq!(through(&singles), expected);
    }
}
