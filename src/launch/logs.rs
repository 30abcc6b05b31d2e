//! A container's output log, `container.log` in its data dir: one JSON object per line,
//! `{"t": <ms since the epoch>, "stream": "stdout"|"stderr", "data": "<text>"}`.
//!
//! Contract: the supervisor is the only writer ([`LogWriter`]); each record is one `write` on an
//! `O_APPEND` file, so a reader never sees half a line except the one being written. `data`
//! is the container's bytes as lossy UTF-8: a multi-byte character split across two reads is
//! held back until it is whole, and a chunk is cut after each `\n`, so concatenating the
//! records of a stream gives back its text. Readers (`host::logs`, by this layout) skip lines
//! that are not records (a torn last line is picked up once it is complete). The data came
//! from the container: `host::text::clean_lines` makes it safe to print.
//!
//! Size: when the log passes [`MAX_LOG_BYTES`] the writer renames it to `container.log.1`
//! (replacing an older one) and starts a new file, so a chatty container holds at most about
//! twice that on disk. Readers read `.1` first; a following reader that was inside the file
//! when it was rotated finishes it under its new name (same inode) before the new one.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::LaunchError;
use crate::units::now_ms;

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

/// The size (bytes) past which the log is rotated: 32 MiB, so at most about 64 MiB per
/// container with the one rotated file.
pub const MAX_LOG_BYTES: u64 = 32 << 20;

/// The rotated log beside `path` (`container.log.1`).
pub fn rotated_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".1");
    PathBuf::from(name)
}

/// Appends records for the supervisor.
#[derive(Debug)]
pub struct LogWriter {
    file: File,
    path: PathBuf,
    /// Per stream (stdout, stderr): the first bytes of a UTF-8 character not yet complete.
    held: [Vec<u8>; 2],
    /// Bytes in the current file, and the size that triggers a rotation.
    size: u64,
    limit: u64,
}

fn open_append(path: &Path) -> Result<File, LaunchError> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| LaunchError::io("open log", path, e))
}

impl LogWriter {
    /// Opens (creating) the log for appending, rotated at [`MAX_LOG_BYTES`].
    pub fn open(path: &Path) -> Result<LogWriter, LaunchError> {
        LogWriter::open_with_limit(path, MAX_LOG_BYTES)
    }

    /// [`LogWriter::open`] with another rotation size (tests use a small one).
    pub fn open_with_limit(path: &Path, limit: u64) -> Result<LogWriter, LaunchError> {
        let file = open_append(path)?;
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        Ok(LogWriter {
            file,
            path: path.to_path_buf(),
            held: [Vec::new(), Vec::new()],
            size,
            limit,
        })
    }

    /// Moves the full log to `.1` and starts a new one.
    fn rotate(&mut self) -> Result<(), LaunchError> {
        let old = rotated_path(&self.path);
        std::fs::rename(&self.path, &old).map_err(|e| LaunchError::io("rotate log", &old, e))?;
        self.file = open_append(&self.path)?;
        self.size = 0;
        Ok(())
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
            if self.size > 0 && self.size + line.len() as u64 > self.limit {
                self.rotate()?;
            }
            self.file
                .write_all(&line)
                .map_err(|e| LaunchError::io("write log", &self.path, e))?;
            self.size += line.len() as u64;
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Seek, SeekFrom};
    use std::os::unix::fs::MetadataExt;

    // The writer's tests read its records back with this minimal reader; isotop itself reads
    // every container's log, its own included, through `host::logs` (by this file's layout).
    /// Reads records from a log, remembering where it stopped (for `logs -f`).
    #[derive(Debug)]
    struct LogReader {
        path: PathBuf,
        offset: u64,
        /// The inode read so far (`None` before the first read): a different one at `path` means
        /// the writer rotated.
        inode: Option<u64>,
    }

    /// Opens a log file; `Ok(None)` when it does not exist.
    fn open_log(path: &Path) -> Result<Option<File>, LaunchError> {
        match File::open(path) {
            Ok(file) => Ok(Some(file)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            // The data dir is root's alone (it holds the container's files).
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                Err(LaunchError::NeedsRoot {
                    what: format!("reading {}", path.display()),
                })
            }
            Err(e) => Err(LaunchError::io("open log", path, e)),
        }
    }

    /// The complete records in `file` from `offset`, and the offset after the last whole line.
    fn records_from(
        file: &mut File,
        offset: u64,
        path: &Path,
    ) -> Result<(Vec<LogRecord>, u64), LaunchError> {
        file.seek(SeekFrom::Start(offset))
            .map_err(|e| LaunchError::io("read log", path, e))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)
            .map_err(|e| LaunchError::io("read log", path, e))?;
        // Only whole lines: the last one may still be being written.
        let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let records = bytes[..complete]
            .split(|&b| b == b'\n')
            .filter(|line| !line.is_empty())
            .filter_map(|line| serde_json::from_slice(line).ok())
            .collect();
        Ok((records, offset + complete as u64))
    }

    fn inode(file: &File) -> Option<u64> {
        file.metadata().ok().map(|m| m.ino())
    }

    impl LogReader {
        fn new(path: &Path) -> LogReader {
            LogReader {
                path: path.to_path_buf(),
                offset: 0,
                inode: None,
            }
        }

        /// Every complete record written since the last call (all of them the first time, the
        /// rotated file's first). A missing log has no records yet.
        fn read_new(&mut self) -> Result<Vec<LogRecord>, LaunchError> {
            let rotated = rotated_path(&self.path);
            let mut out = Vec::new();
            let current = open_log(&self.path)?;
            let current_inode = current.as_ref().and_then(inode);
            if self.inode != current_inode {
                // First read, or the writer rotated since: what is left of the file read so far
                // (all of `.1` on a first read) is in `.1` now.
                if let Some(mut old) = open_log(&rotated)? {
                    let start = match self.inode {
                        None => Some(0),
                        Some(seen) => (inode(&old) == Some(seen)).then_some(self.offset),
                    };
                    if let Some(start) = start {
                        out.extend(records_from(&mut old, start, &rotated)?.0);
                    }
                }
                self.offset = 0;
                self.inode = current_inode;
            }
            if let Some(mut file) = current {
                let (records, offset) = records_from(&mut file, self.offset, &self.path)?;
                out.extend(records);
                self.offset = offset;
            }
            Ok(out)
        }
    }

    /// Reads every record of the log at `path`.
    fn read_all(path: &Path) -> Result<Vec<LogRecord>, LaunchError> {
        LogReader::new(path).read_new()
    }

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
    fn a_full_log_is_rotated_once_and_readers_lose_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("container.log");
        // Each record is about 60 bytes: a 1000-byte limit rotates every ~16 records.
        let mut log = LogWriter::open_with_limit(&path, 1000).unwrap();
        let mut follower = LogReader::new(&path);
        let mut followed = Vec::new();
        for i in 0..100 {
            log.write(Stream::Stdout, format!("line {i}\n").as_bytes())
                .unwrap();
            if i % 7 == 0 {
                followed.extend(follower.read_new().unwrap());
            }
        }
        followed.extend(follower.read_new().unwrap());
        // Only the current file and one rotated file, each within the limit.
        let rotated = rotated_path(&path);
        assert!(std::fs::metadata(&path).unwrap().len() <= 1000);
        assert!(std::fs::metadata(&rotated).unwrap().len() <= 1000);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
        // A reader following along saw every record once, in order (it never fell more
        // than one rotation behind).
        let lines: Vec<String> = followed.iter().map(|r| r.data.clone()).collect();
        let expected: Vec<String> = (0..100).map(|i| format!("line {i}\n")).collect();
        assert_eq!(lines, expected);
        // A fresh reader gets what is kept: the rotated file, then the current one, ending
        // with the last line.
        let kept = read_all(&path).unwrap();
        assert_eq!(kept.last().unwrap().data, "line 99\n");
        let first: usize = kept[0].data["line ".len()..].trim().parse().unwrap();
        let tail: Vec<String> = kept.iter().map(|r| r.data.clone()).collect();
        assert_eq!(tail, expected[first..]);
    }
}
