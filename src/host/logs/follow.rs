//! Following a container's log as it is written: [`follow`] opens its current file, and
//! [`LogFollower::poll`] gives the lines completed since, waiting up to a timeout for more.
//!
//! Contract: no line is lost or given twice across rotation or truncation. The current file is
//! followed by its open descriptor; when its path names another file (the runtime renamed it
//! to `.1` or `N.log.<time>` and made a new one), the renamed file is read to its end before
//! the new one's lines are given, and read again on later polls until the writer is seen
//! writing to the new file (a runtime keeps writing the old one until it reopens). A file
//! truncated in place (`copytruncate`) is read again from its start. Waiting is inotify's
//! (directory and file watches, `follow::watch`): every poll re-reads what it follows after a
//! wake-up, and looks at least every [`FALLBACK_STEP`] where the directory cannot be watched,
//! so an event missed costs a delay, never a line. `poll(Duration::ZERO)` never waits: a
//! dashboard's thread can drive it. Lines unfinished when the container stops are given by
//! [`LogFollower::finish`].

mod followed;
mod watch;

use std::ops::ControlFlow;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use self::followed::{Followed, Start};
use self::watch::{FALLBACK_STEP, Watch};
use super::join::{Joiner, Piece};
use super::read::{Input, ReadSummary, forward, read_inputs};
use super::{LogError, LogFiles, LogFormat, LogLine, LogQuery};

/// A log being followed (see the module).
#[derive(Debug)]
pub struct LogFollower {
    format: LogFormat,
    path: PathBuf,
    rotated: Vec<PathBuf>,
    /// The file at `path` when last looked at.
    current: Option<Followed>,
    /// The file that was at `path` before, still read until the writer has moved on.
    old: Option<Followed>,
    joiner: Joiner,
    watch: Option<Watch>,
    /// The rotated files, not read yet (following from the start).
    unread_rotated: bool,
    skipped: u64,
    notes: Vec<String>,
}

/// Starts following `files`: from the current file's end (the last whole record) when
/// `from_end`, else from the start of the log, rotated files first (the first poll gives
/// every line already written).
pub fn follow(files: &LogFiles, from_end: bool) -> Result<LogFollower, LogError> {
    let dir = files.current.parent().unwrap_or(Path::new("/"));
    // Watch first, then open: a rotation between the two is seen either way.
    let watch = Watch::new(dir);
    let start = if from_end {
        Start::End
    } else {
        Start::Beginning
    };
    let mut follower = LogFollower {
        format: files.format,
        path: files.current.clone(),
        rotated: files.rotated.clone(),
        current: None,
        old: None,
        joiner: Joiner::default(),
        watch,
        unread_rotated: !from_end,
        skipped: 0,
        notes: Vec::new(),
    };
    follower.current = follower.open(start)?;
    Ok(follower)
}

/// The device and inode at `path` now (`None`: nothing there).
fn identity(path: &Path) -> Option<(u64, u64)> {
    std::fs::symlink_metadata(path)
        .ok()
        .map(|m| (m.dev(), m.ino()))
}

impl LogFollower {
    fn open(&mut self, start: Start) -> Result<Option<Followed>, LogError> {
        let mut opened = Followed::open(&self.path, self.format, start)?;
        if let (Some(watch), Some(file)) = (&self.watch, opened.as_mut()) {
            file.wd = watch.add_file(&file.file);
        }
        Ok(opened)
    }

    fn close(&mut self, file: Followed) {
        self.skipped += file.skipped();
        if let (Some(watch), Some(wd)) = (&self.watch, file.wd) {
            watch.remove(wd);
        }
    }

    /// The lines before where following began, as `query` asks (its `tail` the last N of
    /// them), given to `sink`: the rotated files (those still there) and the current file up
    /// to that point. Call it before the first poll; a line the current file had only begun
    /// there is finished by the polls (without `tail`) or given as it was (with it). A
    /// follower started from the log's start has no backlog: its first poll gives it all.
    pub fn backlog(
        &mut self,
        query: &LogQuery,
        mut sink: impl FnMut(LogLine) -> ControlFlow<()>,
    ) -> Result<ReadSummary, LogError> {
        if self.unread_rotated {
            return Ok(ReadSummary::default());
        }
        // A rotated file that is the one followed (renamed since `locate`) is not read twice.
        let followed: Vec<(u64, u64)> = [&self.current, &self.old]
            .into_iter()
            .flatten()
            .map(|f| (f.dev, f.ino))
            .collect();
        let rotated: Vec<&PathBuf> = self
            .rotated
            .iter()
            .filter(|p| identity(p).is_none_or(|id| !followed.contains(&id)))
            .collect();
        let mut inputs: Vec<Input<'_>> = rotated
            .into_iter()
            .map(|path| Input::Path {
                path,
                current: false,
            })
            .collect();
        if let Some(current) = &self.current {
            inputs.push(Input::Open {
                file: &current.file,
                path: &current.path,
                end: current.started_at,
            });
        }
        if query.tail.is_some() {
            return read_inputs(self.format, &inputs, query, &mut sink);
        }
        // Lines unfinished at the backlog's end stay in the follower's joiner: the polls
        // read on from exactly there and finish them.
        forward(self.format, &inputs, query, &mut self.joiner, &mut sink).map(|(s, _)| s)
    }

    /// The lines completed since the last poll, waiting up to `timeout` for some.
    pub fn poll(&mut self, timeout: Duration) -> Result<Vec<LogLine>, LogError> {
        let deadline = Instant::now() + timeout;
        loop {
            let lines = self.check()?;
            let now = Instant::now();
            if !lines.is_empty() || now >= deadline {
                return Ok(lines);
            }
            let wait = deadline - now;
            match &self.watch {
                Some(watch) if watch.dir_watched => {
                    watch.wait(wait);
                }
                Some(watch) => {
                    watch.wait(wait.min(FALLBACK_STEP));
                }
                None => std::thread::sleep(wait.min(FALLBACK_STEP)),
            }
        }
    }

    /// The lines still unfinished (the container stopped inside them), as they are.
    pub fn finish(&mut self) -> Vec<LogLine> {
        self.joiner.flush()
    }

    /// Records that were not log records, so far.
    pub fn skipped(&self) -> u64 {
        self.skipped
            + [&self.current, &self.old]
                .into_iter()
                .flatten()
                .map(Followed::skipped)
                .sum::<u64>()
    }

    /// What happened besides lines (a truncation, a file not read whole) since last asked.
    pub fn take_notes(&mut self) -> Vec<String> {
        std::mem::take(&mut self.notes)
    }

    fn join(&mut self, pieces: &[Piece], lines: &mut Vec<LogLine>) {
        lines.extend(pieces.iter().filter_map(|p| self.joiner.push(p)));
    }

    /// Reads whatever is new, minding rotation (see the module).
    fn check(&mut self) -> Result<Vec<LogLine>, LogError> {
        let mut lines = Vec::new();
        if std::mem::take(&mut self.unread_rotated) {
            let inputs: Vec<Input<'_>> = self
                .rotated
                .iter()
                .map(|path| Input::Path {
                    path,
                    current: false,
                })
                .collect();
            let (summary, _) = forward(
                self.format,
                &inputs,
                &LogQuery::default(),
                &mut self.joiner,
                &mut |line| {
                    lines.push(line);
                    ControlFlow::Continue(())
                },
            )?;
            self.skipped += summary.skipped;
            self.notes.extend(summary.notes);
        }
        let now = identity(&self.path);
        let moved = match &self.current {
            Some(current) => now != Some((current.dev, current.ino)),
            None => now.is_some(),
        };
        if moved {
            if let Some(current) = self.current.take() {
                // Two rotations since the last look: the older one is finished first.
                if let Some(mut older) = self.old.take() {
                    let mut pieces = Vec::new();
                    self.notes.extend(older.drain(&mut pieces)?);
                    self.join(&pieces, &mut lines);
                    self.close(older);
                }
                self.old = Some(current);
            }
            self.current = self.open(Start::Beginning)?;
        }
        // The new file is read before the old one is drained: whatever the new one holds was
        // written after the writer left the old one, so the old one is complete by now.
        let mut fresh = Vec::new();
        let mut writer_moved_on = false;
        if let Some(current) = self.current.as_mut() {
            self.notes.extend(current.drain(&mut fresh)?);
            writer_moved_on = current.offset > 0;
        }
        if let Some(mut old) = self.old.take() {
            let mut pieces = Vec::new();
            self.notes.extend(old.drain(&mut pieces)?);
            self.join(&pieces, &mut lines);
            if writer_moved_on {
                self.close(old);
            } else {
                self.old = Some(old);
            }
        }
        self.join(&fresh, &mut lines);
        Ok(lines)
    }
}

#[cfg(test)]
mod tests;
