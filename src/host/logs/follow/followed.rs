//! One log file being followed: the open file (its inode, whatever its name becomes), how far
//! it was read, the record being read, and the last bytes read, to tell it was truncated.
//!
//! Contract: [`Followed::drain`] reads everything appended since the last call and gives the
//! pieces of the records completed; a file shorter than what was read, or whose bytes just
//! before that point changed (truncated and written past the old length again between two
//! looks, as `copytruncate` rotation does), is read again from its start and says so.

use std::fs::File;
use std::ops::ControlFlow;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::host::logs::decode::Decoder;
use crate::host::logs::join::Piece;
use crate::host::logs::source::{self, after_last_newline, bytes_before, each_block};
use crate::host::logs::{LogError, LogFormat};

/// How many of the last bytes read are kept to notice a truncation the size does not show.
const GUARD_BYTES: usize = 64;

/// Where reading a newly opened file starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Start {
    Beginning,
    /// At its end, or rather at the start of the record being written there.
    End,
}

/// A file being followed.
#[derive(Debug)]
pub(crate) struct Followed {
    pub file: File,
    /// The path it was opened at (its name may have changed since).
    pub path: PathBuf,
    pub dev: u64,
    pub ino: u64,
    /// Bytes read and fed to the decoder.
    pub offset: u64,
    /// Where following began (the backlog ends there).
    pub started_at: u64,
    decoder: Decoder,
    guard: Vec<u8>,
    /// Its inotify watch.
    pub wd: Option<i32>,
}

impl Followed {
    /// Opens the log at `path`; `None` when it does not exist.
    pub(crate) fn open(
        path: &Path,
        format: LogFormat,
        start: Start,
    ) -> Result<Option<Followed>, LogError> {
        let Some(file) = source::open(path)? else {
            return Ok(None);
        };
        let meta = file.metadata().map_err(|e| LogError::io(path, e))?;
        let offset = match (start, format) {
            (Start::Beginning, _) => 0,
            // A frame is one write: the end is a frame's end but while one is written.
            (Start::End, LogFormat::DockerLocal) => meta.len(),
            (Start::End, _) => after_last_newline(&file, path, meta.len())?,
        };
        let guard = bytes_before(&file, path, offset, GUARD_BYTES)?;
        Ok(Some(Followed {
            file,
            path: path.to_path_buf(),
            dev: meta.dev(),
            ino: meta.ino(),
            offset,
            started_at: offset,
            decoder: Decoder::new(format),
            guard,
            wd: None,
        }))
    }

    /// Records that were not log records, so far.
    pub(crate) fn skipped(&self) -> u64 {
        self.decoder.skipped
    }

    /// Reads what was appended since the last call, adding pieces to `out`; a note when the
    /// file was truncated under the reader.
    pub(crate) fn drain(&mut self, out: &mut Vec<Piece>) -> Result<Option<String>, LogError> {
        let len = self
            .file
            .metadata()
            .map_err(|e| LogError::io(&self.path, e))?
            .len();
        let mut note = None;
        let regrown = len >= self.offset
            && !self.guard.is_empty()
            && bytes_before(&self.file, &self.path, self.offset, self.guard.len())? != self.guard;
        if len < self.offset || regrown {
            note = Some(format!(
                "{} was truncated (copytruncate rotation?): read again from its start",
                self.path.display()
            ));
            self.offset = 0;
            self.guard.clear();
            self.decoder.reset();
        }
        let (decoder, guard, offset) = (&mut self.decoder, &mut self.guard, &mut self.offset);
        // The closure never stops the reading.
        let _ = each_block(
            &self.file,
            &self.path,
            false,
            *offset,
            Some(len),
            &mut |block| {
                decoder.feed(block, out);
                *offset += block.len() as u64;
                guard.extend_from_slice(&block[block.len().saturating_sub(GUARD_BYTES)..]);
                let extra = guard.len().saturating_sub(GUARD_BYTES);
                guard.drain(..extra);
                ControlFlow::Continue(())
            },
        )?;
        Ok(note)
    }
}
