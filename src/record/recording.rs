//! A store read back: [`Recording`] lists every complete frame of a store directory by time
//! and decodes any of them (its keyframe and, for a delta, the delta: never a chain).
//!
//! A segment with a valid index file (`segment`) is listed from it without reading the
//! segment; the others (the one a recorder is writing, one a crashed recorder left) are
//! scanned, checksums checked, torn tails and damaged records skipped with a warning. So
//! opening a 24-hour store reads 24 small index files and scans at most the open hour.
//! [`Recording::refresh`] picks up what a live recorder appended (it resumes the scan where the
//! last one stopped) and drops the segments retention removed since; reading a frame of a
//! segment removed meanwhile is [`RecordError::Rotated`], never a crash.
//!
//! A segment of another format version is skipped with a warning when the store holds frames
//! of this version too (a recorder upgraded in place keeps recording, and retention removes
//! the old segments in time); a store with none of this version is refused
//! ([`RecordError::Version`], naming both versions).

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::RecordError;
use super::codec::{self, Kind, Parts, SECTIONS, Section};
use super::format::{self, Header, RecordHead};
use super::segment::{self, RecordInfo, SEGMENT_EXTENSION, Scanned};
use crate::sample::Frame;

/// One frame of a recording, as its index knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameEntry {
    /// The frame's `taken_at_ms`.
    pub t_ms: u64,
    /// It carries events.
    pub has_events: bool,
    segment: usize,
    record: RecordInfo,
}

impl FrameEntry {
    /// It is a keyframe (a whole frame); otherwise a delta against its segment's last keyframe.
    pub fn is_keyframe(&self) -> bool {
        self.record.kind == Kind::Keyframe
    }
}

/// What is known of one segment file.
#[derive(Debug)]
struct SegmentState {
    path: PathBuf,
    /// Listed from its index: complete, never read again.
    indexed: bool,
    scanned: Scanned,
    /// Its format version once its header was read (`format::READABLE`).
    version: u32,
    /// A format version this build does not read (then no records).
    other_version: Option<u32>,
}

/// The last keyframe decoded, kept for the frames after it (stepping through a replay decodes
/// each keyframe once).
#[derive(Debug)]
struct CachedKeyframe {
    path: PathBuf,
    offset: u64,
    id: u32,
    payload: Vec<u8>,
    raw: [Option<Vec<u8>>; SECTIONS],
}

/// A store opened for reading: every complete frame, in the order recorded (by time).
#[derive(Debug)]
pub struct Recording {
    dir: PathBuf,
    segments: Vec<SegmentState>,
    entries: Vec<FrameEntry>,
    warnings: Vec<String>,
    keyframe: Mutex<Option<CachedKeyframe>>,
}

impl Recording {
    /// Opens the store in `dir`: every segment's complete records (torn tails and damaged
    /// records skipped, with a warning). A store whose segments are all of another format
    /// version is refused.
    pub fn open(dir: &Path) -> Result<Recording, RecordError> {
        let mut recording = Recording {
            dir: dir.to_path_buf(),
            segments: Vec::new(),
            entries: Vec::new(),
            warnings: Vec::new(),
            keyframe: Mutex::new(None),
        };
        recording.refresh()?;
        Ok(recording)
    }

    /// Reads what was appended since the store was read (a recorder still writing): the rest
    /// of the segments not indexed, new segments; segments removed since are dropped (the
    /// entries' indices then shift: read [`Recording::entries`] again).
    pub fn refresh(&mut self) -> Result<(), RecordError> {
        let paths = segment_paths(&self.dir)?;
        let mut known: Vec<SegmentState> = std::mem::take(&mut self.segments);
        known.retain(|s| paths.contains(&s.path));
        let mut segments = Vec::with_capacity(paths.len());
        for path in paths {
            let state = match known.iter().position(|s| s.path == path) {
                Some(i) => known.swap_remove(i),
                None => SegmentState {
                    path,
                    indexed: false,
                    scanned: Scanned::default(),
                    version: format::VERSION,
                    other_version: None,
                },
            };
            segments.push(state);
        }
        let mut gone = Vec::new();
        for state in &mut segments {
            if !state.indexed && state.other_version.is_none() {
                match read_segment(state) {
                    Ok(()) => {}
                    // Removed between the listing and the read: as if not listed.
                    Err(RecordError::Rotated { path }) => gone.push(path),
                    Err(e) => return Err(e),
                }
            }
        }
        segments.retain(|s| !gone.contains(&s.path));
        self.segments = segments;
        self.entries = self
            .segments
            .iter()
            .enumerate()
            .flat_map(|(index, s)| {
                s.scanned.records.iter().map(move |r| FrameEntry {
                    t_ms: r.t_ms,
                    has_events: r.flags & format::FLAG_EVENTS != 0,
                    segment: index,
                    record: *r,
                })
            })
            .collect();
        self.warnings = self
            .segments
            .iter()
            .flat_map(|s| s.scanned.warnings.iter().chain(&s.scanned.tail))
            .cloned()
            .collect();
        if self.entries.is_empty()
            && let Some(s) = self.segments.iter().find(|s| s.other_version.is_some())
        {
            return Err(RecordError::Version {
                path: s.path.clone(),
                found: s.other_version.unwrap_or_default(),
                supported: format::VERSION,
            });
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

    /// What was skipped on the way (torn tails, damaged records, segments of another format
    /// version), for the status line or stderr.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The first and last frames' times, ms since the Unix epoch (`None`: no frame).
    pub fn span(&self) -> Option<(u64, u64)> {
        Some((self.entries.first()?.t_ms, self.entries.last()?.t_ms))
    }

    /// The index of the newest frame taken at or before `t_ms`; `None` when every frame is later.
    pub fn index_at_or_before(&self, t_ms: u64) -> Option<usize> {
        self.entries
            .partition_point(|e| e.t_ms <= t_ms)
            .checked_sub(1)
    }

    /// The frame at `index` of [`Recording::entries`].
    pub fn frame(&self, index: usize) -> Result<Frame, RecordError> {
        self.decode(index, &Section::ALL)
    }

    /// The frame at `index` without its processes and namespaces (empty lists): what the
    /// charts' history needs; only its head and cgroups are decompressed and decoded.
    pub fn frame_light(&self, index: usize) -> Result<Frame, RecordError> {
        self.decode(index, &Section::LIGHT)
    }

    fn decode(&self, index: usize, wanted: &[Section]) -> Result<Frame, RecordError> {
        let entry = self.entries.get(index).ok_or_else(|| RecordError::Decode {
            path: self.dir.clone(),
            why: format!(
                "no frame {index}: the recording holds {}",
                self.entries.len()
            ),
        })?;
        let path = &self.segments[entry.segment].path;
        let version = self.segments[entry.segment].version;
        let decode_err = |why: String| RecordError::Decode {
            path: path.clone(),
            why: format!("the record at byte {}: {why}", entry.record.offset),
        };
        let mut cache = self.keyframe.lock().unwrap_or_else(|p| p.into_inner());
        let cached = cache
            .as_ref()
            .is_some_and(|c| &c.path == path && c.offset == entry.record.keyframe);
        if !cached {
            let payload = read_payload(path, entry.record.keyframe)?;
            *cache = Some(CachedKeyframe {
                path: path.clone(),
                offset: entry.record.keyframe,
                id: codec::base_id(&payload),
                payload,
                raw: Default::default(),
            });
        }
        let Some(keyframe) = cache.as_mut() else {
            return Err(decode_err("its keyframe was not read".to_string()));
        };
        let base = Parts::of(version, Kind::Keyframe, &keyframe.payload).map_err(&decode_err)?;
        for &section in wanted {
            if keyframe.raw[section as usize].is_none() {
                keyframe.raw[section as usize] = base.unpack(section, None).map_err(&decode_err)?;
            }
        }
        let delta_payload;
        let mut own: [Option<Vec<u8>>; SECTIONS] = Default::default();
        let raw: &[Option<Vec<u8>>; SECTIONS] = match entry.record.kind {
            Kind::Keyframe => &keyframe.raw,
            Kind::Delta => {
                delta_payload = read_payload(path, entry.record.offset)?;
                let parts = Parts::of(version, Kind::Delta, &delta_payload).map_err(&decode_err)?;
                if parts.base != Some(keyframe.id) {
                    return Err(decode_err(
                        "a delta against another keyframe than its segment's".to_string(),
                    ));
                }
                for &section in wanted {
                    let prefix = keyframe.raw[section as usize].as_deref();
                    own[section as usize] = parts.unpack(section, prefix).map_err(&decode_err)?;
                }
                &own
            }
        };
        let section = |s: Section| raw[s as usize].as_deref();
        let head = section(Section::Head).ok_or_else(|| decode_err("no head".to_string()))?;
        codec::join(
            head,
            section(Section::Cgroups),
            wanted
                .contains(&Section::Namespaces)
                .then(|| section(Section::Namespaces))
                .flatten(),
            wanted
                .contains(&Section::Processes)
                .then(|| section(Section::Processes))
                .flatten(),
            section(Section::Containers),
            section(Section::Networks),
        )
        .map_err(decode_err)
    }
}

/// Lists `state`'s records: from its index when it holds, else by scanning on from where the
/// last scan stopped.
fn read_segment(state: &mut SegmentState) -> Result<(), RecordError> {
    let path = state.path.clone();
    let read_err = |source: std::io::Error| match source.kind() {
        std::io::ErrorKind::NotFound => RecordError::Rotated { path: path.clone() },
        _ => RecordError::Read {
            path: path.clone(),
            source,
        },
    };
    let mut file = File::open(&path).map_err(read_err)?;
    let size = file.metadata().map_err(read_err)?.len();
    if state.scanned.resume_at == 0 {
        match format::read_header(&mut file).map_err(read_err)? {
            // A segment cut short before its header was whole: a crash as it was created.
            Header::Foreign if size < format::HEADER as u64 => {
                state.scanned.tail = Some(format!(
                    "{}: {size} bytes, shorter than a segment's header (a write cut short), \
                     skipped",
                    path.display()
                ));
                return Ok(());
            }
            Header::Foreign => {
                return Err(RecordError::NotAStore {
                    path,
                    why: "no isotop segment header".to_string(),
                });
            }
            Header::Segment { version } if !format::READABLE.contains(&version) => {
                state.other_version = Some(version);
                state.scanned.warnings.push(format!(
                    "{} was recorded in store format {version}; this isotop reads format {}: \
                     skipped",
                    path.display(),
                    format::VERSION
                ));
                return Ok(());
            }
            Header::Segment { version } => state.version = version,
        }
        if let Some(records) = segment::read_index(&path, size) {
            state.scanned.warnings = segment::gaps(&path, size, &records);
            state.scanned.records = records;
            state.scanned.resume_at = size;
            state.indexed = true;
            return Ok(());
        }
    }
    if size == state.scanned.resume_at && state.scanned.tail.is_none() {
        return Ok(());
    }
    segment::scan(&path, &mut file, size, &mut state.scanned).map_err(read_err)
}

/// The payload of the record at `offset` of segment `path`, its checksum checked.
fn read_payload(path: &Path, offset: u64) -> Result<Vec<u8>, RecordError> {
    let read_err = |source: std::io::Error| match source.kind() {
        std::io::ErrorKind::NotFound => RecordError::Rotated {
            path: path.to_path_buf(),
        },
        _ => RecordError::Read {
            path: path.to_path_buf(),
            source,
        },
    };
    let mut file = File::open(path).map_err(read_err)?;
    file.seek(SeekFrom::Start(offset)).map_err(read_err)?;
    let mut head = [0u8; format::RECORD_HEADER];
    file.read_exact(&mut head).map_err(read_err)?;
    let head = RecordHead::parse(&head);
    if head.len > format::MAX_PAYLOAD {
        return Err(RecordError::Decode {
            path: path.to_path_buf(),
            why: format!(
                "the record at byte {offset} is damaged (length {})",
                head.len
            ),
        });
    }
    let mut payload = vec![0u8; head.len as usize];
    file.read_exact(&mut payload).map_err(read_err)?;
    if !head.checks(&payload) {
        return Err(RecordError::Decode {
            path: path.to_path_buf(),
            why: format!("the record at byte {offset} is damaged (its checksum fails)"),
        });
    }
    Ok(payload)
}

/// The segment files of `dir`, by name (= by time).
pub(crate) fn segment_paths(dir: &Path) -> Result<Vec<PathBuf>, RecordError> {
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
