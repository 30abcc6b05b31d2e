//! A store directory's writer: [`Recorder`] appends frames to it ([`Recording`] reads them
//! back).
//!
//! Files: `lock` (the writer's `flock`), segments named `<first t_ms, 16 digits>.isorec`
//! (sorted by name = by time) and their indexes (`.isoidx`, see `segment`). A recorder starts
//! a new segment when it starts, and at the first keyframe after [`RecordOptions::segment_span`]
//! (or after an eighth of [`RecordOptions::retain_bytes`]); it never appends to a segment it
//! did not create, and writes a segment's index when it closes it (on rotation, [`Drop`] or
//! [`Recorder::finish`]). Taking a directory, it indexes the segments a crashed recorder left
//! without one and removes indexes whose segment is gone.
//!
//! **Durability**: every record is one `write_all` then `fdatasync`, so a power loss takes at
//! most the record being written (a torn tail, skipped when read); a new segment's header is
//! synced and then the directory, and so is the directory after an index is renamed in place
//! or retention removed a segment.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use super::recording::{FrameEntry, Recording};

use super::RecordError;
use super::codec::{Encoded, Encoder, Kind};
use super::format::{self, Header};
use super::recording::segment_paths;
use super::retention;
use super::segment::{self, RecordInfo, Scanned};
use crate::sample::Frame;

/// How a recorder writes and keeps its store.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordOptions {
    /// Segments whose newest frame is older than this are removed (`None`: kept).
    pub retain_age: Option<Duration>,
    /// The oldest segments are removed while the store is larger than this, bytes.
    pub retain_bytes: Option<u64>,
    /// A new segment after this long.
    pub segment_span: Duration,
}

impl Default for RecordOptions {
    fn default() -> Self {
        RecordOptions {
            retain_age: Some(Duration::from_secs(24 * 3600)),
            retain_bytes: None,
            segment_span: Duration::from_secs(3600),
        }
    }
}

/// The one writer of a store directory.
#[derive(Debug)]
pub struct Recorder {
    dir: PathBuf,
    _lock: File,
    options: RecordOptions,
    encoder: Encoder,
    segment: Option<OpenSegment>,
    /// Bytes of the store's segments and indexes.
    store_bytes: u64,
}

#[derive(Debug)]
struct OpenSegment {
    path: PathBuf,
    file: File,
    first_ms: u64,
    /// Bytes written, header included.
    len: u64,
    records: Vec<RecordInfo>,
    /// The offset of its last keyframe.
    keyframe: Option<u64>,
}

impl Recorder {
    /// Takes `dir` (made 0700 if missing) for recording; refused while another recorder holds it.
    pub fn create(dir: &Path, options: RecordOptions) -> Result<Recorder, RecordError> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(write_err(dir))?;
        let lock_path = dir.join("lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
            .open(&lock_path)
            .map_err(write_err(&lock_path))?;
        match rustix::fs::flock(&lock, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => {}
            Err(rustix::io::Errno::WOULDBLOCK) => {
                return Err(RecordError::Locked {
                    dir: dir.to_path_buf(),
                });
            }
            Err(e) => return Err(write_err(&lock_path)(e.into())),
        }
        let store_bytes = tidy(dir)?;
        Ok(Recorder {
            dir: dir.to_path_buf(),
            _lock: lock,
            options,
            encoder: Encoder::default(),
            segment: None,
            store_bytes,
        })
    }

    /// The directory recorded into.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Appends `frame` as one record (a keyframe when a new segment is due) and syncs it.
    pub fn append(&mut self, frame: &Frame) -> Result<(), RecordError> {
        if self.new_segment_due(frame.taken_at_ms) {
            self.encoder.force_keyframe();
        }
        let encoded = self.encoder.encode(frame).map_err(RecordError::Encode)?;
        self.append_encoded(&encoded)
    }

    /// Appends a record another [`Encoder`] made (the trouble ring's), synced to disk. The
    /// records of one encoder are appended in the order it made them, from a keyframe on: a
    /// new segment starts only at a keyframe (a delta while one is due goes to the current
    /// segment), and a delta with no segment open is refused.
    pub(crate) fn append_encoded(&mut self, encoded: &Encoded) -> Result<(), RecordError> {
        if encoded.kind == Kind::Keyframe && self.new_segment_due(encoded.t_ms) {
            self.close_segment()?;
            self.segment = Some(self.new_segment(encoded.t_ms)?);
            self.keep(encoded.t_ms)?;
        }
        let Some(segment) = self.segment.as_mut() else {
            return Err(RecordError::DeltaFirst {
                dir: self.dir.clone(),
            });
        };
        let err = write_err(&segment.path);
        let written = format::write_record(
            &mut segment.file,
            encoded.t_ms,
            encoded.kind as u8,
            encoded.flags,
            &encoded.payload,
        )
        .map_err(&err)?;
        segment.file.sync_data().map_err(&err)?;
        let offset = segment.len;
        if encoded.kind == Kind::Keyframe {
            segment.keyframe = Some(offset);
        }
        segment.records.push(RecordInfo {
            t_ms: encoded.t_ms,
            flags: encoded.flags,
            kind: encoded.kind,
            offset,
            len: encoded.payload.len() as u32,
            keyframe: segment.keyframe.unwrap_or(offset),
        });
        segment.len += written as u64;
        self.store_bytes += written as u64;
        if self
            .options
            .retain_bytes
            .is_some_and(|limit| self.store_bytes > limit)
        {
            self.keep(encoded.t_ms)?;
        }
        Ok(())
    }

    /// Closes the open segment (its index written), reporting what [`Drop`] would swallow.
    pub fn finish(mut self) -> Result<(), RecordError> {
        self.close_segment()
    }

    fn new_segment_due(&self, t_ms: u64) -> bool {
        let span_ms = u64::try_from(self.options.segment_span.as_millis()).unwrap_or(u64::MAX);
        let segment_bytes = self.options.retain_bytes.map(|b| b / 8);
        self.segment.as_ref().is_none_or(|s| {
            t_ms.saturating_sub(s.first_ms) >= span_ms
                || segment_bytes.is_some_and(|most| s.len >= most)
        })
    }

    /// Removes what the options do not keep.
    fn keep(&mut self, now_ms: u64) -> Result<(), RecordError> {
        let open = self.segment.as_ref().map(|s| s.path.as_path());
        let kept = retention::enforce(
            &self.dir,
            open,
            now_ms,
            self.options.retain_age,
            self.options.retain_bytes,
        )?;
        self.store_bytes = kept.bytes;
        Ok(())
    }

    fn close_segment(&mut self) -> Result<(), RecordError> {
        let Some(segment) = self.segment.take() else {
            return Ok(());
        };
        let index = segment::index_path(&segment.path);
        segment::write_index(&segment.path, segment.len, &segment.records)
            .map_err(write_err(&index))?;
        self.store_bytes += std::fs::metadata(&index).map(|m| m.len()).unwrap_or(0);
        sync_dir(&self.dir)
    }

    fn new_segment(&self, first_ms: u64) -> Result<OpenSegment, RecordError> {
        let mut name_ms = first_ms;
        loop {
            let path = segment::segment_path(&self.dir, name_ms);
            let opened = OpenOptions::new()
                .create_new(true)
                .write(true)
                .mode(0o600)
                .open(&path);
            match opened {
                Ok(mut file) => {
                    let err = write_err(&path);
                    file.write_all(&format::header()).map_err(&err)?;
                    file.sync_data().map_err(&err)?;
                    sync_dir(&self.dir)?;
                    return Ok(OpenSegment {
                        path,
                        file,
                        first_ms,
                        len: format::HEADER as u64,
                        records: Vec::new(),
                        keyframe: None,
                    });
                }
                // A segment of that name exists (a clock that went back): the next name.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => name_ms += 1,
                Err(source) => return Err(RecordError::Write { path, source }),
            }
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        // Without its index the segment is scanned when read, and indexed by the next
        // recorder: nothing is lost, so a failure here is not worth a panic.
        let _ = self.close_segment();
    }
}

/// Readies a directory just locked: indexes the segments of this format a crashed recorder
/// left without one, removes indexes (and their temporary files) whose segment is gone.
/// Returns the store's bytes.
fn tidy(dir: &Path) -> Result<u64, RecordError> {
    let segments = segment_paths(dir)?;
    for path in &segments {
        let read_err = |source| RecordError::Read {
            path: path.clone(),
            source,
        };
        let mut file = File::open(path).map_err(read_err)?;
        let size = file.metadata().map_err(read_err)?.len();
        let readable = matches!(
            format::read_header(&mut file).map_err(read_err)?,
            Header::Segment { version } if format::READABLE.contains(&version)
        );
        if !readable || segment::read_index(path, size).is_some() {
            continue;
        }
        let mut scanned = Scanned::default();
        segment::scan(path, &mut file, size, &mut scanned).map_err(read_err)?;
        let index = segment::index_path(path);
        segment::write_index(path, size, &scanned.records).map_err(write_err(&index))?;
    }
    let entries = std::fs::read_dir(dir).map_err(|source| RecordError::Read {
        path: dir.to_path_buf(),
        source,
    })?;
    for entry in entries.filter_map(|e| e.ok()) {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let orphan = name.ends_with(".isoidx.tmp")
            || (path
                .extension()
                .is_some_and(|e| e == segment::INDEX_EXTENSION)
                && !path.with_extension(segment::SEGMENT_EXTENSION).exists());
        if orphan {
            std::fs::remove_file(&path).map_err(write_err(&path))?;
        }
    }
    sync_dir(dir)?;
    Ok(segments.iter().map(|p| retention::stored_bytes(p)).sum())
}

/// Syncs `dir` itself, so the names created, renamed or removed in it survive a power loss.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), RecordError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(write_err(dir))
}

fn write_err(path: &Path) -> impl Fn(std::io::Error) -> RecordError + use<> {
    let path = path.to_path_buf();
    move |source| RecordError::Write {
        path: path.clone(),
        source,
    }
}
