//! A store directory: [`Recorder`] appends frames to it, [`Recording`] reads them back.
//!
//! Files: `lock` (the writer's `flock`), and segments named `<first t_ms, 16 digits>.isorec`,
//! sorted by name = by time. A recorder starts a new segment when it starts, and every
//! [`RecordOptions::segment_span`]; it never appends to a segment it did not create.

use std::fs::{File, OpenOptions};
use std::io::{BufReader, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::RecordError;
use super::codec::{self, Encoded, Encoder, Kind};
use super::format::{self, Header, RecordHead};
use crate::sample::Frame;

/// A segment file's extension.
const SEGMENT_EXTENSION: &str = "isorec";

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
}

#[derive(Debug)]
struct OpenSegment {
    path: PathBuf,
    file: File,
    first_ms: u64,
}

impl Recorder {
    /// Takes `dir` (made 0700 if missing) for recording; refused while another recorder holds it.
    pub fn create(dir: &Path, options: RecordOptions) -> Result<Recorder, RecordError> {
        let write_err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| RecordError::Write { path, source }
        };
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
            .custom_flags(libc_nofollow())
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
        Ok(Recorder {
            dir: dir.to_path_buf(),
            _lock: lock,
            options,
            encoder: Encoder::default(),
            segment: None,
        })
    }

    /// The directory recorded into.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Appends `frame` as one record and syncs it to disk.
    pub fn append(&mut self, frame: &Frame) -> Result<(), RecordError> {
        let encoded = self.encoder.encode(frame).map_err(RecordError::Encode)?;
        self.append_encoded(&encoded)
    }

    /// Appends a record another [`Encoder`] made (the trouble ring's), synced to disk. The
    /// records of one encoder are appended in the order it made them.
    pub(crate) fn append_encoded(&mut self, encoded: &Encoded) -> Result<(), RecordError> {
        let span_ms = u64::try_from(self.options.segment_span.as_millis()).unwrap_or(u64::MAX);
        let stale = self
            .segment
            .as_ref()
            .is_none_or(|s| encoded.t_ms.saturating_sub(s.first_ms) >= span_ms);
        if stale {
            self.segment = Some(self.new_segment(encoded.t_ms)?);
        }
        let Some(segment) = self.segment.as_mut() else {
            return Ok(());
        };
        let err = |source| RecordError::Write {
            path: segment.path.clone(),
            source,
        };
        format::write_record(
            &mut segment.file,
            encoded.t_ms,
            encoded.kind as u8,
            encoded.flags,
            &encoded.payload,
        )
        .map_err(err)?;
        segment.file.sync_data().map_err(err)?;
        Ok(())
    }

    fn new_segment(&self, first_ms: u64) -> Result<OpenSegment, RecordError> {
        let mut name_ms = first_ms;
        loop {
            let path = self.dir.join(format!("{name_ms:016}.{SEGMENT_EXTENSION}"));
            let opened = OpenOptions::new()
                .create_new(true)
                .write(true)
                .mode(0o600)
                .open(&path);
            match opened {
                Ok(mut file) => {
                    let err = |source| RecordError::Write {
                        path: path.clone(),
                        source,
                    };
                    file.write_all(&format::header()).map_err(err)?;
                    file.sync_data().map_err(err)?;
                    return Ok(OpenSegment {
                        path,
                        file,
                        first_ms,
                    });
                }
                // A segment of that name exists (a clock that went back): the next name.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => name_ms += 1,
                Err(source) => return Err(RecordError::Write { path, source }),
            }
        }
    }
}

fn libc_nofollow() -> i32 {
    rustix::fs::OFlags::NOFOLLOW.bits() as i32
}

/// One frame of a recording, as its index knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameEntry {
    /// The frame's `taken_at_ms`.
    pub t_ms: u64,
    /// It carries events.
    pub has_events: bool,
    segment: usize,
    offset: u64,
    len: u32,
    kind: u8,
}

/// A store opened for reading: every complete frame, by time.
#[derive(Debug)]
pub struct Recording {
    dir: PathBuf,
    segments: Vec<PathBuf>,
    entries: Vec<FrameEntry>,
    warnings: Vec<String>,
}

impl Recording {
    /// Opens the store in `dir`: every segment's complete records (a torn tail skipped, with a
    /// warning). A segment of another format version is refused.
    pub fn open(dir: &Path) -> Result<Recording, RecordError> {
        let mut recording = Recording {
            dir: dir.to_path_buf(),
            segments: Vec::new(),
            entries: Vec::new(),
            warnings: Vec::new(),
        };
        recording.refresh()?;
        Ok(recording)
    }

    /// Reads what was appended since the store was opened (a recorder still writing): new
    /// segments and the records they hold. The newest segment is read again from its start.
    pub fn refresh(&mut self) -> Result<(), RecordError> {
        let names = segment_paths(&self.dir)?;
        // Read again: the last known segment (it may have grown) and every new one.
        let keep = self.segments.len().saturating_sub(1);
        if let Some(last) = self.segments.get(keep).cloned() {
            self.entries.retain(|e| e.segment < keep);
            self.warnings
                .retain(|w| !w.contains(&last.display().to_string()));
        }
        self.segments.truncate(keep);
        let newer: Vec<PathBuf> = names
            .into_iter()
            .filter(|p| {
                self.segments
                    .last()
                    .is_none_or(|last| p.file_name() > last.file_name())
            })
            .collect();
        for path in newer {
            let index = self.segments.len();
            self.segments.push(path.clone());
            self.scan(index, &path)?;
        }
        Ok(())
    }

    fn scan(&mut self, segment: usize, path: &Path) -> Result<(), RecordError> {
        let read_err = |source| RecordError::Read {
            path: path.to_path_buf(),
            source,
        };
        let file = File::open(path).map_err(read_err)?;
        let size = file.metadata().map_err(read_err)?.len();
        let mut input = BufReader::new(file);
        match format::read_header(&mut input).map_err(read_err)? {
            Header::Foreign => {
                return Err(RecordError::NotAStore {
                    path: path.to_path_buf(),
                    why: "no isotop segment header".to_string(),
                });
            }
            Header::Segment { version } if version != format::VERSION => {
                return Err(RecordError::Version {
                    path: path.to_path_buf(),
                    found: version,
                    supported: format::VERSION,
                });
            }
            Header::Segment { .. } => {}
        }
        let mut offset = format::HEADER as u64;
        let mut payload = Vec::new();
        while offset < size {
            let mut head = [0u8; format::RECORD_HEADER];
            let torn = |offset: u64, warnings: &mut Vec<String>| {
                warnings.push(format!(
                    "{}: the last {} bytes are an incomplete record (a write cut short), skipped",
                    path.display(),
                    size - offset
                ));
            };
            if size - offset < format::RECORD_HEADER as u64 {
                torn(offset, &mut self.warnings);
                break;
            }
            input.read_exact(&mut head).map_err(read_err)?;
            let head = RecordHead::parse(&head);
            let end = offset + format::RECORD_HEADER as u64 + u64::from(head.len);
            if head.len > format::MAX_PAYLOAD || end > size {
                torn(offset, &mut self.warnings);
                break;
            }
            payload.resize(head.len as usize, 0);
            input.read_exact(&mut payload).map_err(read_err)?;
            if !head.checks(&payload) {
                torn(offset, &mut self.warnings);
                break;
            }
            self.entries.push(FrameEntry {
                t_ms: head.t_ms,
                has_events: head.flags & format::FLAG_EVENTS != 0,
                segment,
                offset,
                len: head.len,
                kind: head.kind,
            });
            offset = end;
        }
        Ok(())
    }

    /// The directory read.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Every complete frame, in the order recorded (by time).
    pub fn entries(&self) -> &[FrameEntry] {
        &self.entries
    }

    /// What was skipped on the way (torn tails), for the status line or stderr.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The index of the newest frame taken at or before `t_ms`; `None` when every frame is later.
    pub fn index_at_or_before(&self, t_ms: u64) -> Option<usize> {
        self.entries
            .partition_point(|e| e.t_ms <= t_ms)
            .checked_sub(1)
    }

    /// The frame at `index` of [`Recording::entries`].
    pub fn frame(&self, index: usize) -> Result<Frame, RecordError> {
        let entry = self.entries.get(index).ok_or_else(|| RecordError::Decode {
            path: self.dir.clone(),
            why: format!("no frame {index}"),
        })?;
        let path = &self.segments[entry.segment];
        let payload = self.payload(entry)?;
        let decode_err = |why| RecordError::Decode {
            path: path.clone(),
            why,
        };
        match Kind::from_byte(entry.kind) {
            Some(Kind::Keyframe) => codec::decode(&payload).map_err(decode_err),
            None => Err(decode_err(format!("unknown record kind {}", entry.kind))),
        }
    }

    /// The frame at `index` without its processes and namespaces: what the charts' history
    /// needs, cheaper to read in bulk.
    pub fn frame_light(&self, index: usize) -> Result<Frame, RecordError> {
        let mut frame = self.frame(index)?;
        frame.processes = Vec::new();
        frame.namespaces.namespaces = Vec::new();
        Ok(frame)
    }

    fn payload(&self, entry: &FrameEntry) -> Result<Vec<u8>, RecordError> {
        let path = &self.segments[entry.segment];
        let read_err = |source| RecordError::Read {
            path: path.clone(),
            source,
        };
        let mut file = File::open(path).map_err(read_err)?;
        file.seek(SeekFrom::Start(entry.offset + format::RECORD_HEADER as u64))
            .map_err(read_err)?;
        let mut payload = vec![0u8; entry.len as usize];
        file.read_exact(&mut payload).map_err(read_err)?;
        Ok(payload)
    }
}

/// The segment files of `dir`, by name (= by time).
fn segment_paths(dir: &Path) -> Result<Vec<PathBuf>, RecordError> {
    let read_err = |source| RecordError::Read {
        path: dir.to_path_buf(),
        source,
    };
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(read_err)?
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.file_type().is_ok_and(|t| t.is_file()))
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|e| e == SEGMENT_EXTENSION))
        .collect();
    paths.sort();
    Ok(paths)
}
