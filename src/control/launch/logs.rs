//! A container's output log, `container.log` in its data dir: one JSON object per line,
//! `{"t": <ms since the epoch>, "stream": "stdout"|"stderr", "data": "<text>"}`.
//!
//! Contract: the supervisor is the only writer ([`LogWriter`]); each record is one `write` on an
//! `O_APPEND` file, so a reader never sees half a line except the one being written. `data`
//! is the container's bytes as lossy UTF-8: a multi-byte character split across two reads is
//! held back until it is whole, and a chunk is cut after each `\n`, so concatenating the
//! records of a stream gives back its text. Readers ([`LogReader`]) skip lines that are not
//! records (a torn last line is picked up once it is complete). The data came from the
//! container: [`clean_for_terminal`] makes it safe to print.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::fail::LaunchError;
use super::store::{ContainerPaths, Status, now_ms, read_record, resolve};
use crate::host::HostRoot;

/// Which of the container's outputs a record came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stream {
    Stdout,
    Stderr,
}

/// One log record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogRecord {
    /// Milliseconds since the Unix epoch when the supervisor read it.
    pub t: u64,
    pub stream: Stream,
    pub data: String,
}

/// Appends records for the supervisor.
#[derive(Debug)]
pub struct LogWriter {
    file: File,
    path: PathBuf,
    /// Per stream (stdout, stderr): the first bytes of a UTF-8 character not yet complete.
    held: [Vec<u8>; 2],
}

impl LogWriter {
    /// Opens (creating) the log for appending.
    pub fn open(path: &Path) -> Result<LogWriter, LaunchError> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| LaunchError::io("open log", path, e))?;
        Ok(LogWriter {
            file,
            path: path.to_path_buf(),
            held: [Vec::new(), Vec::new()],
        })
    }

    /// Logs `bytes` read from `stream`.
    pub fn write(&mut self, stream: Stream, bytes: &[u8]) -> Result<(), LaunchError> {
        let held = &mut self.held[stream as usize];
        held.extend_from_slice(bytes);
        let whole = complete_utf8_len(held);
        let chunk: Vec<u8> = held.drain(..whole).collect();
        self.emit(stream, &chunk)
    }

    /// Logs whatever is held back (the stream ended inside a character).
    pub fn finish(&mut self) -> Result<(), LaunchError> {
        for stream in [Stream::Stdout, Stream::Stderr] {
            let rest = std::mem::take(&mut self.held[stream as usize]);
            self.emit(stream, &rest)?;
        }
        Ok(())
    }

    fn emit(&mut self, stream: Stream, bytes: &[u8]) -> Result<(), LaunchError> {
        let t = now_ms();
        for piece in bytes.split_inclusive(|&b| b == b'\n') {
            let record = LogRecord {
                t,
                stream,
                data: String::from_utf8_lossy(piece).into_owned(),
            };
            let mut line = serde_json::to_vec(&record)
                .map_err(|e| LaunchError::io("encode log", &self.path, std::io::Error::other(e)))?;
            line.push(b'\n');
            self.file
                .write_all(&line)
                .map_err(|e| LaunchError::io("write log", &self.path, e))?;
        }
        Ok(())
    }
}

/// How many leading bytes of `bytes` can be decoded now: all of them, except the start of a
/// UTF-8 character at the very end whose continuation bytes have not arrived yet (invalid
/// bytes elsewhere are left to the lossy decode).
fn complete_utf8_len(bytes: &[u8]) -> usize {
    let len = bytes.len();
    // A character is at most 4 bytes: an incomplete one starts within the last 3.
    for start in (len.saturating_sub(3)..len).rev() {
        let lead = bytes[start];
        let width = match lead {
            0xC0..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF7 => 4,
            0x80..=0xBF => continue,
            _ => return len,
        };
        let rest = &bytes[start + 1..];
        let incomplete = rest.len() + 1 < width && rest.iter().all(|b| (0x80..=0xBF).contains(b));
        return if incomplete { start } else { len };
    }
    len
}

/// Reads records from a log, remembering where it stopped (for `logs -f`).
#[derive(Debug)]
pub struct LogReader {
    path: PathBuf,
    offset: u64,
}

impl LogReader {
    pub fn new(path: &Path) -> LogReader {
        LogReader {
            path: path.to_path_buf(),
            offset: 0,
        }
    }

    /// Every complete record written since the last call (all of them the first time). A
    /// missing log has no records yet.
    pub fn read_new(&mut self) -> Result<Vec<LogRecord>, LaunchError> {
        let mut file = match File::open(&self.path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            // The data dir is root's alone (it holds the container's files).
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                return Err(LaunchError::NeedsRoot {
                    what: format!("reading {}", self.path.display()),
                });
            }
            Err(e) => return Err(LaunchError::io("open log", &self.path, e)),
        };
        file.seek(SeekFrom::Start(self.offset))
            .map_err(|e| LaunchError::io("read log", &self.path, e))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)
            .map_err(|e| LaunchError::io("read log", &self.path, e))?;
        // Only whole lines: the last one may still be being written.
        let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        self.offset += complete as u64;
        Ok(bytes[..complete]
            .split(|&b| b == b'\n')
            .filter(|line| !line.is_empty())
            .filter_map(|line| serde_json::from_slice(line).ok())
            .collect())
    }
}

/// Reads every record of the log at `path`.
pub fn read_all(path: &Path) -> Result<Vec<LogRecord>, LaunchError> {
    LogReader::new(path).read_new()
}

/// The container's text made safe for a terminal: control characters other than `\n` and
/// `\t` (escape sequences, carriage returns, bells) become `?`.
pub fn clean_for_terminal(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() && c != '\n' && c != '\t' {
                '?'
            } else {
                c
            }
        })
        .collect()
}

/// What `logs` prints.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LogOptions {
    /// Keep reading until the container exits (`-f`).
    pub follow: bool,
    /// Only records from this time on (ms since the epoch).
    pub since_ms: Option<u64>,
    /// Only the last N records already written (`-n`).
    pub tail: Option<usize>,
}

/// How often `-f` looks for new records and for the container's exit (ms).
const FOLLOW_POLL: Duration = Duration::from_millis(100);

/// Gives `sink` the log records of container `target` (a name, id or id prefix); with
/// `follow`, also every new one until the container's record says it ended (or is removed).
/// A sink error (the reader closed its pipe) ends the stream quietly.
pub fn stream(
    host: &HostRoot,
    target: &str,
    options: LogOptions,
    mut sink: impl FnMut(&LogRecord) -> std::io::Result<()>,
) -> Result<(), LaunchError> {
    let record = resolve(host, target)?;
    let mut reader = LogReader::new(&ContainerPaths::new(host, &record.id).log);
    let wanted = |r: &LogRecord| options.since_ms.is_none_or(|since| r.t >= since);
    let mut first: Vec<LogRecord> = reader.read_new()?.into_iter().filter(wanted).collect();
    if let Some(n) = options.tail {
        first.drain(..first.len().saturating_sub(n));
    }
    for r in &first {
        if sink(r).is_err() {
            return Ok(());
        }
    }
    if !options.follow {
        return Ok(());
    }
    loop {
        // Read the status before the log: the supervisor logs everything before it records
        // the exit, so after an "ended" status one more read has it all.
        let ended = read_record(host, &record.id)?
            .is_none_or(|r| matches!(r.status, Status::Exited | Status::Failed));
        for r in reader.read_new()?.iter().filter(|r| wanted(r)) {
            if sink(r).is_err() {
                return Ok(());
            }
        }
        if ended {
            return Ok(());
        }
        std::thread::sleep(FOLLOW_POLL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_split_at_newlines_and_keep_characters_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("container.log");
        let mut log = LogWriter::open(&path).unwrap();
        log.write(Stream::Stdout, b"one\ntwo\nthr").unwrap();
        // "é" is 0xC3 0xA9: split across two reads.
        log.write(Stream::Stderr, b"caf\xC3").unwrap();
        log.write(Stream::Stderr, b"\xA9\n").unwrap();
        log.write(Stream::Stdout, b"ee\n").unwrap();
        log.write(Stream::Stdout, b"bad \xFF byte\n").unwrap();
        log.write(Stream::Stdout, b"end\xE2\x82").unwrap();
        log.finish().unwrap();
        let records = read_all(&path).unwrap();
        let text = |s: Stream| -> String {
            records
                .iter()
                .filter(|r| r.stream == s)
                .map(|r| r.data.as_str())
                .collect()
        };
        assert_eq!(
            text(Stream::Stdout),
            "one\ntwo\nthree\nbad \u{fffd} byte\nend\u{fffd}"
        );
        assert_eq!(text(Stream::Stderr), "café\n");
        assert_eq!(records[0].data, "one\n");
        assert_eq!(records[1].data, "two\n");
    }

    #[test]
    fn the_reader_picks_up_only_new_whole_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("container.log");
        let mut reader = LogReader::new(&path);
        assert!(reader.read_new().unwrap().is_empty());
        let mut log = LogWriter::open(&path).unwrap();
        log.write(Stream::Stdout, b"a\n").unwrap();
        assert_eq!(reader.read_new().unwrap().len(), 1);
        // A torn line (a writer caught mid-record) is not read until it is complete.
        let mut raw = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        raw.write_all(br#"{"t":1,"stream":"stdout","#).unwrap();
        assert!(reader.read_new().unwrap().is_empty());
        raw.write_all(b"\"data\":\"b\"}\ngarbage\n").unwrap();
        let next = reader.read_new().unwrap();
        assert_eq!(next.len(), 1);
        assert_eq!(next[0].data, "b");
    }

    #[test]
    fn terminal_cleaning_keeps_newlines_and_tabs() {
        assert_eq!(clean_for_terminal("a\tb\n\x1b[2Jc\r\x07"), "a\tb\n?[2Jc??");
    }
}
