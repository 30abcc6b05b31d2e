//! Opening a log file and reading its bytes: forward in blocks (a gzip-compressed rotated file
//! decompressed on the way), or backward from the end record by record, so the last lines of a
//! huge log cost what they hold, not what the log holds.
//!
//! Contract: a file is opened through [`runtime::file::open_beneath`](open_beneath) below the
//! deepest directory only root (or isotop's own user) could have arranged — every directory
//! above it owned by them and writable by no one else — so a user's `~/.local/share/…/ctr.log`
//! is reached without following any symlink the user could have planted, a FIFO is never
//! opened, nothing on FUSE is read. A missing file is `Ok(None)`. Reads are positioned
//! (`pread`), so a follower's offsets stay its own; a decompressed stream stops at
//! [`GZIP_CAP`] bytes (a note says so). Backward reading gives whole records only: the bytes
//! after the last line end (a record being written) are left out.

use std::collections::VecDeque;
use std::ffi::OsStr;
use std::fs::File;
use std::io::Read;
use std::ops::ControlFlow;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Component, Path, PathBuf};

use super::LogError;
use super::frame::{FRAME_CAP, Framer, RECORD_CAP, Raw};
use crate::host::runtime::file::open_beneath;

/// Bytes read at once.
pub(crate) const BLOCK: usize = 64 * 1024;

/// The most a compressed rotated file is decompressed to, bytes: Docker and kubelet rotate at
/// tens of MiB, so this is far past any real one (and bounds a gzip bomb).
pub(crate) const GZIP_CAP: u64 = 1 << 30;

/// The most of a file's records held in memory when it must be read forward to be given
/// backward (a compressed file, a damaged `local` file), bytes: the latest are kept.
pub(crate) const COLLECT_CAP: usize = 64 << 20;

/// True for a gzip-compressed rotated file (`.gz`).
pub(crate) fn is_gzip(path: &Path) -> bool {
    path.extension() == Some(OsStr::new("gz"))
}

/// True when only root or isotop's own user could have put anything in `dir`.
fn only_trusted_arrange(dir: &Path, own_uid: u32) -> bool {
    std::fs::metadata(dir)
        .is_ok_and(|m| (m.uid() == 0 || m.uid() == own_uid) && m.mode() & 0o022 == 0)
}

/// Splits an absolute `path` into the deepest directory reached through directories only
/// root could have arranged, and the rest below it (walked without following symlinks).
fn trusted_split(path: &Path) -> (PathBuf, PathBuf) {
    let own_uid = rustix::process::geteuid().as_raw();
    let mut base = PathBuf::from("/");
    let mut rest = PathBuf::new();
    let components: Vec<Component<'_>> = path.components().collect();
    let (dirs, file) = match components.split_last() {
        Some((file, dirs)) => (dirs, file),
        None => return (base, rest),
    };
    let mut trusted = true;
    for component in dirs {
        match component {
            Component::RootDir | Component::Prefix(_) => continue,
            // A `..` or `.` is never walked: the file reader refuses it below the base.
            Component::Normal(_) if trusted && only_trusted_arrange(&base, own_uid) => {
                base.push(component);
            }
            _ => {
                trusted = false;
                rest.push(component);
            }
        }
    }
    rest.push(file);
    (base, rest)
}

/// Opens the log file `path`; `Ok(None)` when it does not exist.
pub(crate) fn open(path: &Path) -> Result<Option<File>, LogError> {
    let absolute = std::path::absolute(path).map_err(|e| LogError::io(path, e))?;
    let (base, rel) = trusted_split(&absolute);
    match open_beneath(&base, &rel) {
        Ok(file) => Ok(Some(file)),
        Err(e) if e.is_missing() => Ok(None),
        Err(e) => Err(LogError::from_file(path, e)),
    }
}

/// Reads up to `buf.len()` bytes at `at`; fewer at the end of the file.
fn read_at(file: &File, path: &Path, at: u64, buf: &mut [u8]) -> Result<usize, LogError> {
    let mut done = 0;
    while done < buf.len() {
        match file.read_at(&mut buf[done..], at + done as u64) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(LogError::io(path, e)),
        }
    }
    Ok(done)
}

/// Gives `each` the bytes of `file` in blocks: a plain file from `start` to `end` (its end
/// when `None`), a gzip file decompressed from its start. Returns whether `each` stopped the
/// reading, and a note when the file could not be read to its end (a damaged or oversized
/// gzip stream).
pub(crate) fn each_block(
    file: &File,
    path: &Path,
    gzip: bool,
    start: u64,
    end: Option<u64>,
    each: &mut dyn FnMut(&[u8]) -> ControlFlow<()>,
) -> Result<(ControlFlow<()>, Option<String>), LogError> {
    let mut buf = vec![0u8; BLOCK];
    if gzip {
        let mut stream = flate2::read::MultiGzDecoder::new(file).take(GZIP_CAP + 1);
        let mut total = 0u64;
        loop {
            let n = match stream.read(&mut buf) {
                Ok(0) => return Ok((ControlFlow::Continue(()), None)),
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                // A damaged stream: what came before it was read.
                Err(e) => {
                    let note = format!("{}: not read past byte {total}: {e}", path.display());
                    return Ok((ControlFlow::Continue(()), Some(note)));
                }
            };
            total += n as u64;
            if total > GZIP_CAP {
                let note = format!(
                    "{}: only its first {GZIP_CAP} bytes decompressed were read",
                    path.display()
                );
                return Ok((ControlFlow::Continue(()), Some(note)));
            }
            if each(&buf[..n]).is_break() {
                return Ok((ControlFlow::Break(()), None));
            }
        }
    }
    let mut at = start;
    loop {
        let want = match end {
            Some(end) => usize::try_from(end.saturating_sub(at)).map_or(BLOCK, |r| r.min(BLOCK)),
            None => BLOCK,
        };
        if want == 0 {
            return Ok((ControlFlow::Continue(()), None));
        }
        let n = read_at(file, path, at, &mut buf[..want])?;
        if n == 0 {
            return Ok((ControlFlow::Continue(()), None));
        }
        at += n as u64;
        if each(&buf[..n]).is_break() {
            return Ok((ControlFlow::Break(()), None));
        }
    }
}

/// The records of a whole file read forward (up to `end` of a plain file), the latest
/// [`COLLECT_CAP`] bytes of them kept; a note when some were not.
pub(crate) fn collect(
    file: &File,
    path: &Path,
    gzip: bool,
    end: Option<u64>,
    mut framer: Framer,
) -> Result<(VecDeque<Raw>, Option<String>), LogError> {
    let mut kept: VecDeque<Raw> = VecDeque::new();
    let mut bytes = 0usize;
    let mut dropped = false;
    let mut fresh = Vec::new();
    let size = |raw: &Raw| match raw {
        Raw::Record { bytes, .. } => bytes.len(),
        Raw::Garbage => 0,
    };
    let (_, mut note) = each_block(file, path, gzip, 0, end, &mut |block| {
        framer.feed(block, &mut fresh);
        for raw in fresh.drain(..) {
            bytes += size(&raw);
            kept.push_back(raw);
        }
        while bytes > COLLECT_CAP {
            let Some(old) = kept.pop_front() else { break };
            bytes -= size(&old);
            dropped = true;
        }
        ControlFlow::Continue(())
    })?;
    if dropped {
        note.get_or_insert_with(|| {
            format!(
                "{}: only its last {COLLECT_CAP} bytes of records were searched",
                path.display()
            )
        });
    }
    Ok((kept, note))
}

/// A window of a file read backward, block by block.
struct Window<'f> {
    file: &'f File,
    path: &'f Path,
    start: u64,
    bytes: Vec<u8>,
}

impl<'f> Window<'f> {
    fn new(file: &'f File, path: &'f Path) -> Window<'f> {
        Window {
            file,
            path,
            start: 0,
            bytes: Vec::new(),
        }
    }

    /// The position of the last `\n` before `before`.
    fn rfind_newline(&mut self, before: u64) -> Result<Option<u64>, LogError> {
        let mut high = before;
        while high > 0 {
            let end = self.start + self.bytes.len() as u64;
            if !(self.start < high && high <= end) {
                let start = high.saturating_sub(BLOCK as u64);
                self.bytes.resize((high - start) as usize, 0);
                let n = read_at(self.file, self.path, start, &mut self.bytes)?;
                self.bytes.truncate(n);
                self.start = start;
                if n == 0 {
                    return Ok(None); // the file shrank under us
                }
            }
            let local = ((high - self.start) as usize).min(self.bytes.len());
            if let Some(i) = self.bytes[..local].iter().rposition(|&b| b == b'\n') {
                return Ok(Some(self.start + i as u64));
            }
            high = self.start;
        }
        Ok(None)
    }

    /// `len` bytes at `at`: from the window when it holds them, else read.
    fn bytes(&self, at: u64, len: usize) -> Result<Vec<u8>, LogError> {
        let end = self.start + self.bytes.len() as u64;
        if at >= self.start && at + len as u64 <= end {
            let from = (at - self.start) as usize;
            return Ok(self.bytes[from..from + len].to_vec());
        }
        let mut out = vec![0u8; len];
        let n = read_at(self.file, self.path, at, &mut out)?;
        out.truncate(n);
        Ok(out)
    }
}

/// Gives `each` the lines of a plain file's first `end` bytes, last first (the bytes after
/// the last `\n` are a line being written: left out). Returns whether `each` stopped it.
pub(crate) fn lines_backward(
    file: &File,
    path: &Path,
    end: u64,
    each: &mut dyn FnMut(Raw) -> ControlFlow<()>,
) -> Result<ControlFlow<()>, LogError> {
    let mut window = Window::new(file, path);
    let Some(mut line_end) = window.rfind_newline(end)? else {
        return Ok(ControlFlow::Continue(()));
    };
    loop {
        let before = window.rfind_newline(line_end)?;
        let start = before.map_or(0, |p| p + 1);
        let len = usize::try_from(line_end - start).unwrap_or(usize::MAX);
        if len > 0 {
            let keep = len.min(RECORD_CAP);
            let bytes = window.bytes(start, keep)?;
            let dropped = len - bytes.len();
            if each(Raw::Record { bytes, dropped }).is_break() {
                return Ok(ControlFlow::Break(()));
            }
        }
        match before {
            Some(p) => line_end = p,
            None => return Ok(ControlFlow::Continue(())),
        }
    }
}

/// Where the last whole line of a plain file's first `end` bytes ends: just past its `\n`
/// (0 when there is none), so following starts at a record's start.
pub(crate) fn after_last_newline(file: &File, path: &Path, end: u64) -> Result<u64, LogError> {
    Ok(Window::new(file, path)
        .rfind_newline(end)?
        .map_or(0, |p| p + 1))
}

/// Up to `len` bytes of `file` ending at `end` (fewer at its start).
pub(crate) fn bytes_before(
    file: &File,
    path: &Path,
    end: u64,
    len: usize,
) -> Result<Vec<u8>, LogError> {
    let start = end.saturating_sub(len as u64);
    let mut out = vec![0u8; (end - start) as usize];
    let n = read_at(file, path, start, &mut out)?;
    out.truncate(n);
    Ok(out)
}

/// How reading `local` frames backward ended.
pub(crate) enum FramesBack {
    Done(ControlFlow<()>),
    /// The frames before this offset do not line up (a frame being written at the end, damage):
    /// the frames after it were given.
    Damaged(u64),
}

/// Gives `each` the `local` frames of a plain file's first `end` bytes, last first, by their
/// trailing lengths.
pub(crate) fn frames_backward(
    file: &File,
    path: &Path,
    mut end: u64,
    each: &mut dyn FnMut(Raw) -> ControlFlow<()>,
) -> Result<FramesBack, LogError> {
    let mut word = [0u8; 4];
    let read_len = |at: u64, word: &mut [u8; 4]| -> Result<Option<u64>, LogError> {
        Ok((read_at(file, path, at, word)? == 4).then(|| u64::from(u32::from_be_bytes(*word))))
    };
    while end > 0 {
        let Some(len) = end
            .checked_sub(4)
            .map(|at| read_len(at, &mut word))
            .transpose()?
        else {
            return Ok(FramesBack::Damaged(end));
        };
        let Some(len) = len.filter(|l| *l <= FRAME_CAP as u64 && l + 8 <= end) else {
            return Ok(FramesBack::Damaged(end));
        };
        let start = end - 8 - len;
        if read_len(start, &mut word)? != Some(len) {
            return Ok(FramesBack::Damaged(end));
        }
        let mut payload = vec![0u8; len as usize];
        if read_at(file, path, start + 4, &mut payload)? != payload.len() {
            return Ok(FramesBack::Damaged(end));
        }
        if each(Raw::Record {
            bytes: payload,
            dropped: 0,
        })
        .is_break()
        {
            return Ok(FramesBack::Done(ControlFlow::Break(())));
        }
        end = start;
    }
    Ok(FramesBack::Done(ControlFlow::Continue(())))
}

#[cfg(test)]
mod tests;
