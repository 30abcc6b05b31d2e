//! `--size` of `inspect` and `ls`: layer directories sized by `sample::sizer`, the one walker
//! the dashboard uses too, waited for because the user asked.
//!
//! Contract: [`Sizing::start`] spawns one sizer with no rate cap (`files_per_second: None`:
//! the user asked; its thread still lowers itself to the idle I/O class and nice 19) and asks
//! for every given layer at once, so the caller may do other work (`ls` takes its CPU
//! interval) while the walks run. [`Sizing::finish`] waits until every layer has answered and
//! returns each one's [`SizeAnswer`], keyed by the layer's key (its host path,
//! `StackLayer::key`): a layer that could not be sized (gone before or while it was walked,
//! not a directory, unreadable, a path refused by `StackLayer::sizable`, the sizer ending) is
//! that layer's error text, never the command's failure. While it waits, [`Progress`] writes
//! one line to stderr at most once a second, and only when stderr is a terminal (a pipe or a
//! file gets nothing). Nothing is spawned or walked unless a command was given `--size`.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::super::format::bytes;
use crate::host::usage::{LayerKind, Skipped, Usage};
use crate::sample::sizer::{SizeEvent, SizerHandle, SizerOptions, spawn_sizer};

/// A layer's size as `--json` shows it (`size` of a layer, `writable_size` of a row).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) struct SizeFigures {
    /// Bytes of the blocks allocated (what `du -s --block-size=1` shows): the disk used.
    pub allocated_bytes: u64,
    /// Bytes by length (`du -s --apparent-size --block-size=1`).
    pub apparent_bytes: u64,
    /// Inodes that are not directories, each hard-linked inode once.
    pub files: u64,
    /// Directories, the layer's own included.
    pub dirs: u64,
    /// Entries left out, by reason (vanished, unreadable, other file systems, too deep).
    pub skipped: Skipped,
}

impl From<&Usage> for SizeFigures {
    fn from(u: &Usage) -> Self {
        SizeFigures {
            allocated_bytes: u.allocated_bytes,
            apparent_bytes: u.apparent_bytes,
            files: u.files,
            dirs: u.dirs,
            skipped: u.skipped,
        }
    }
}

impl SizeFigures {
    /// `12.0KiB, 3 files` (+ what was left out), for the text outputs.
    pub(crate) fn text(&self) -> String {
        let files = match self.files {
            1 => "1 file".to_string(),
            n => format!("{n} files"),
        };
        let mut out = format!("{}, {files}", bytes(self.allocated_bytes));
        let s = &self.skipped;
        let left_out = s.vanished + s.unreadable + s.other_fs + s.too_deep;
        if left_out > 0 {
            out.push_str(&format!(" (partial: {left_out} entries left out)"));
        }
        out
    }
}

/// What sizing one layer gave: its figures or why there are none.
pub(crate) type SizeAnswer = Result<SizeFigures, String>;

/// How long one wait for the sizer lasts before the progress line is looked at again.
const WAIT_SLICE: Duration = Duration::from_millis(200);

/// Layers being sized (see the module contract).
pub(crate) struct Sizing {
    handle: Option<SizerHandle>,
    /// Readable path → the keys waiting for it (two keys never share one in practice; kept
    /// general so none is lost).
    waiting: BTreeMap<PathBuf, Vec<PathBuf>>,
    answers: BTreeMap<PathBuf, SizeAnswer>,
    /// Layers asked for, to say "N of M" in the progress line.
    asked: usize,
}

/// One layer to size: its key (host path), where it is read, and its kind. `readable` is
/// `StackLayer::sizable`'s answer: a refusal becomes the layer's answer without a walk.
pub(crate) struct SizeRequest {
    pub key: PathBuf,
    pub readable: Result<PathBuf, String>,
    pub kind: LayerKind,
}

impl Sizing {
    /// Spawns the sizer and asks for each layer (once per key).
    pub(crate) fn start(requests: impl IntoIterator<Item = SizeRequest>) -> Sizing {
        let mut sizing = Sizing {
            handle: None,
            waiting: BTreeMap::new(),
            answers: BTreeMap::new(),
            asked: 0,
        };
        let mut to_ask: Vec<(PathBuf, LayerKind)> = Vec::new();
        for request in requests {
            if sizing.answers.contains_key(&request.key)
                || sizing
                    .waiting
                    .values()
                    .any(|keys| keys.contains(&request.key))
            {
                continue;
            }
            sizing.asked += 1;
            match request.readable {
                Ok(path) => {
                    let keys = sizing.waiting.entry(path.clone()).or_default();
                    if keys.is_empty() {
                        to_ask.push((path, request.kind));
                    }
                    keys.push(request.key);
                }
                Err(reason) => {
                    sizing.answers.insert(request.key, Err(reason));
                }
            }
        }
        if to_ask.is_empty() {
            return sizing;
        }
        let options = SizerOptions {
            files_per_second: None,
            ..SizerOptions::default()
        };
        match spawn_sizer(options) {
            Ok(handle) => {
                for (path, kind) in to_ask {
                    handle.measure(path, kind);
                }
                sizing.handle = Some(handle);
            }
            Err(e) => sizing.fail_waiting(&format!("the sizer thread could not start: {e}")),
        }
        sizing
    }

    /// Waits for every layer's answer, telling `progress` how far it is.
    pub(crate) fn finish<W: Write>(
        mut self,
        progress: &mut Progress<W>,
    ) -> BTreeMap<PathBuf, SizeAnswer> {
        let mut current = Usage::default();
        while !self.waiting.is_empty() {
            let Some(handle) = self.handle.as_ref() else {
                break;
            };
            let asked_at = Instant::now();
            match handle.wait_next(WAIT_SLICE) {
                Some(SizeEvent::Progress { so_far, .. }) => current = so_far,
                Some(SizeEvent::Sized { path, usage, .. }) => {
                    self.answer(&path, Ok(SizeFigures::from(&usage)));
                    current = Usage::default();
                }
                Some(SizeEvent::Failed { path, error, .. }) => {
                    self.answer(&path, Err(error.to_string()));
                    current = Usage::default();
                }
                // `wait_next` returns at once only when the worker ended (its channel closed):
                // a timeout takes the whole slice.
                None if asked_at.elapsed() < WAIT_SLICE / 2 => {
                    self.fail_waiting("the sizer stopped before sizing it");
                }
                None => {}
            }
            let done = self.asked - self.waiting.values().map(Vec::len).sum::<usize>();
            progress.show(Instant::now(), || {
                format!(
                    "sizing layers: {done} of {} done; this one {} files, {} so far",
                    self.asked,
                    current.files,
                    bytes(current.allocated_bytes)
                )
            });
        }
        progress.clear();
        if let Some(handle) = self.handle.take() {
            handle.stop();
        }
        self.answers
    }

    fn answer(&mut self, path: &std::path::Path, answer: SizeAnswer) {
        if let Some(keys) = self.waiting.remove(path) {
            for key in keys {
                self.answers.insert(key, answer.clone());
            }
        }
    }

    fn fail_waiting(&mut self, reason: &str) {
        for (_, keys) in std::mem::take(&mut self.waiting) {
            for key in keys {
                self.answers.insert(key, Err(reason.to_string()));
            }
        }
    }
}

/// A progress line on a terminal, rewritten in place at most once per `every`; nothing at all
/// when the output is not a terminal.
pub(crate) struct Progress<W: Write> {
    out: Option<W>,
    every: Duration,
    started: Instant,
    last: Option<Instant>,
    shown: bool,
}

impl Progress<std::io::Stderr> {
    /// On stderr when it is a terminal, once a second.
    pub(crate) fn stderr() -> Self {
        let stderr = std::io::stderr();
        let out = stderr.is_terminal().then_some(stderr);
        Progress::new(out, Duration::from_secs(1), Instant::now())
    }
}

impl<W: Write> Progress<W> {
    /// Writes to `out` (`None`: never writes) at most once per `every`, the first time
    /// `every` after `started` (a quick size shows no line at all).
    pub(crate) fn new(out: Option<W>, every: Duration, started: Instant) -> Self {
        Progress {
            out,
            every,
            started,
            last: None,
            shown: false,
        }
    }

    /// Rewrites the line with `line()` if one is due at `now` (the text is built only then).
    pub(crate) fn show(&mut self, now: Instant, line: impl FnOnce() -> String) {
        let Some(out) = self.out.as_mut() else {
            return;
        };
        let since = self.last.unwrap_or(self.started);
        if now.saturating_duration_since(since) < self.every {
            return;
        }
        self.last = Some(now);
        self.shown = true;
        // Carriage return and erase-line: the line is rewritten in place. Failures to write
        // progress are not worth failing the command for.
        let _ = write!(out, "\r\x1b[Kisotop: {}", line());
        let _ = out.flush();
    }

    /// Erases the line if one was written.
    pub(crate) fn clear(&mut self) {
        if let (Some(out), true) = (self.out.as_mut(), self.shown) {
            let _ = write!(out, "\r\x1b[K");
            let _ = out.flush();
            self.shown = false;
        }
    }

    /// The writer (tests read what was written).
    #[cfg(test)]
    pub(crate) fn into_inner(self) -> Option<W> {
        self.out
    }
}

#[cfg(test)]
mod tests;
