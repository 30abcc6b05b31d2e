//! One segment file's records as a list, found by scanning the file or from its index file.
//!
//! **Scanning** reads every record head and payload from a byte offset on, checking each
//! checksum. A record cut short (its length runs past the end of the file) ends the scan: a
//! torn tail. A record whose checksum fails is damaged: when the bytes after it parse as a
//! record with a good checksum, only it is skipped (a flipped bit in a payload); otherwise the
//! scan ends there, as for a torn tail. A delta whose keyframe was skipped (or is not the
//! segment's last keyframe before it) is skipped too: it cannot be decoded. Each skip is a
//! warning naming the segment.
//!
//! **Index** (`<segment>.isoidx`, written by the recorder when it closes a segment, through a
//! temporary file and a rename): magic `ISOTOPIX`, version (u32), segment length (u64), count
//! (u32), then per record its offset (u64), payload length (u32), `t_ms` (u64), kind, flags,
//! and the offset of its keyframe (u64, the record's own for a keyframe), the whole followed by
//! its CRC-32. It is used only when its checksum holds, its segment length is the segment's
//! size now, and every record it lists lies inside the segment, in order, not overlapping, each
//! delta's keyframe before it; otherwise the segment is scanned. Payload checksums are then
//! checked when a frame is read.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::codec::Kind;
use super::format::{self, RecordHead};

/// A segment file's extension.
pub(crate) const SEGMENT_EXTENSION: &str = "isorec";

/// An index file's extension.
pub(crate) const INDEX_EXTENSION: &str = "isoidx";

const INDEX_MAGIC: &[u8; 8] = b"ISOTOPIX";
const INDEX_VERSION: u32 = 1;
/// Magic, version, segment length, count.
const INDEX_HEAD: usize = 8 + 4 + 8 + 4;
/// Offset, length, t_ms, kind, flags, keyframe offset.
const INDEX_ENTRY: usize = 8 + 4 + 8 + 1 + 1 + 8;

/// One complete record of a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RecordInfo {
    pub(crate) t_ms: u64,
    pub(crate) flags: u8,
    pub(crate) kind: Kind,
    /// Where its head starts in the segment.
    pub(crate) offset: u64,
    /// Its payload's length.
    pub(crate) len: u32,
    /// Where its keyframe's head starts (its own offset for a keyframe).
    pub(crate) keyframe: u64,
}

impl RecordInfo {
    /// The offset just past it.
    pub(crate) fn end(&self) -> u64 {
        self.offset + format::RECORD_HEADER as u64 + u64::from(self.len)
    }
}

/// A segment read so far.
#[derive(Debug, Clone, Default)]
pub(crate) struct Scanned {
    pub(crate) records: Vec<RecordInfo>,
    /// Where the next scan resumes: past the last complete record (or past a damaged one
    /// skipped), at the start of a torn tail.
    pub(crate) resume_at: u64,
    /// The last keyframe's offset and its payload's id (`codec::base_id`).
    pub(crate) keyframe: Option<(u64, u32)>,
    /// What was skipped before `resume_at`, said in words.
    pub(crate) warnings: Vec<String>,
    /// What the last scan left at the end (a torn tail), said again until a scan gets past it.
    pub(crate) tail: Option<String>,
}

/// The index file of `segment`.
pub(crate) fn index_path(segment: &Path) -> PathBuf {
    segment.with_extension(INDEX_EXTENSION)
}

/// A segment file's path: `<first t_ms, 16 digits>.isorec` in `dir`.
pub(crate) fn segment_path(dir: &Path, first_ms: u64) -> PathBuf {
    dir.join(format!("{first_ms:016}.{SEGMENT_EXTENSION}"))
}

/// The first `t_ms` a segment's name says.
pub(crate) fn first_ms(segment: &Path) -> Option<u64> {
    segment.file_stem()?.to_str()?.parse().ok()
}

/// Reads `input` (a segment of `size` bytes, positioned anywhere) from `scanned.resume_at`
/// on, appending what it finds to `scanned`.
pub(crate) fn scan(
    path: &Path,
    input: &mut File,
    size: u64,
    scanned: &mut Scanned,
) -> std::io::Result<()> {
    let mut offset = scanned.resume_at.max(format::HEADER as u64);
    scanned.tail = None;
    input.seek(SeekFrom::Start(offset))?;
    let mut reader = BufReader::with_capacity(1 << 20, input);
    let mut payload = Vec::new();
    while offset < size {
        match read_record(&mut reader, offset, size, &mut payload)? {
            Outcome::Torn => {
                scanned.tail = Some(format!(
                    "{}: the last {} bytes are an incomplete record (a write cut short), skipped",
                    path.display(),
                    size - offset
                ));
                break;
            }
            Outcome::Damaged(end) => {
                // Only a damaged record followed by a good one is skipped alone.
                let next_good = end < size && {
                    let mut probe = File::open(path)?;
                    probe.seek(SeekFrom::Start(end))?;
                    let mut probe = BufReader::new(probe);
                    matches!(
                        read_record(&mut probe, end, size, &mut Vec::new())?,
                        Outcome::Good(_)
                    )
                };
                if !next_good {
                    scanned.tail = Some(format!(
                        "{}: the record at byte {offset} is damaged (its checksum fails) and \
                         nothing readable follows it: the last {} bytes skipped",
                        path.display(),
                        size - offset
                    ));
                    break;
                }
                scanned.warnings.push(format!(
                    "{}: the record at byte {offset} is damaged (its checksum fails), skipped",
                    path.display()
                ));
                offset = end;
            }
            Outcome::Good(head) => {
                let end = offset + format::RECORD_HEADER as u64 + u64::from(head.len);
                match accept(&head, &payload, offset, &mut scanned.keyframe) {
                    Ok(info) => scanned.records.push(info),
                    Err(why) => scanned.warnings.push(format!(
                        "{}: the record at byte {offset} {why}, skipped",
                        path.display()
                    )),
                }
                offset = end;
            }
        }
    }
    scanned.resume_at = offset;
    Ok(())
}

/// What one record read gave.
enum Outcome {
    Good(RecordHead),
    /// Complete but its checksum fails; the offset past it.
    Damaged(u64),
    /// Runs past the end of the file.
    Torn,
}

fn read_record(
    reader: &mut impl std::io::Read,
    offset: u64,
    size: u64,
    payload: &mut Vec<u8>,
) -> std::io::Result<Outcome> {
    if size - offset < format::RECORD_HEADER as u64 {
        return Ok(Outcome::Torn);
    }
    let mut head = [0u8; format::RECORD_HEADER];
    reader.read_exact(&mut head)?;
    let head = RecordHead::parse(&head);
    let end = offset + format::RECORD_HEADER as u64 + u64::from(head.len);
    if head.len > format::MAX_PAYLOAD || end > size {
        return Ok(Outcome::Torn);
    }
    payload.resize(head.len as usize, 0);
    reader.read_exact(payload)?;
    Ok(if head.checks(payload) {
        Outcome::Good(head)
    } else {
        Outcome::Damaged(end)
    })
}

/// A good record as an entry, or why it cannot be decoded.
fn accept(
    head: &RecordHead,
    payload: &[u8],
    offset: u64,
    keyframe: &mut Option<(u64, u32)>,
) -> Result<RecordInfo, String> {
    let kind =
        Kind::from_byte(head.kind).ok_or_else(|| format!("is of unknown kind {}", head.kind))?;
    let keyframe_offset = match kind {
        Kind::Keyframe => {
            *keyframe = Some((offset, super::codec::base_id(payload)));
            offset
        }
        Kind::Delta => {
            let names = payload.first_chunk::<4>().map(|id| u32::from_be_bytes(*id));
            match *keyframe {
                Some((at, id)) if names == Some(id) => at,
                _ => return Err("is a delta whose keyframe is missing".to_string()),
            }
        }
    };
    Ok(RecordInfo {
        t_ms: head.t_ms,
        flags: head.flags,
        kind,
        offset,
        len: head.len,
        keyframe: keyframe_offset,
    })
}

/// The index file's bytes for `records` of a segment of `segment_len` bytes.
fn index_bytes(segment_len: u64, records: &[RecordInfo]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(INDEX_HEAD + records.len() * INDEX_ENTRY + 4);
    bytes.extend_from_slice(INDEX_MAGIC);
    bytes.extend_from_slice(&INDEX_VERSION.to_be_bytes());
    bytes.extend_from_slice(&segment_len.to_be_bytes());
    bytes.extend_from_slice(&(records.len() as u32).to_be_bytes());
    for r in records {
        bytes.extend_from_slice(&r.offset.to_be_bytes());
        bytes.extend_from_slice(&r.len.to_be_bytes());
        bytes.extend_from_slice(&r.t_ms.to_be_bytes());
        bytes.extend_from_slice(&[r.kind as u8, r.flags]);
        bytes.extend_from_slice(&r.keyframe.to_be_bytes());
    }
    let crc = crc32fast::hash(&bytes);
    bytes.extend_from_slice(&crc.to_be_bytes());
    bytes
}

/// Writes `segment`'s index (a temporary file synced, then renamed over the old; the caller
/// syncs the directory).
pub(crate) fn write_index(
    segment: &Path,
    segment_len: u64,
    records: &[RecordInfo],
) -> std::io::Result<()> {
    let path = index_path(segment);
    let temporary = path.with_extension("isoidx.tmp");
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .mode(0o600)
        .open(&temporary)?;
    file.write_all(&index_bytes(segment_len, records))?;
    file.sync_data()?;
    std::fs::rename(&temporary, &path)
}

/// The records `segment`'s index lists, when it has one that holds for a segment of
/// `segment_len` bytes (see the module's rule); `None` otherwise.
pub(crate) fn read_index(segment: &Path, segment_len: u64) -> Option<Vec<RecordInfo>> {
    let mut bytes = Vec::new();
    File::open(index_path(segment))
        .ok()?
        .take(64 * 1024 * 1024)
        .read_to_end(&mut bytes)
        .ok()?;
    parse_index(&bytes, segment_len)
}

fn parse_index(bytes: &[u8], segment_len: u64) -> Option<Vec<RecordInfo>> {
    let (body, crc) = bytes.split_last_chunk::<4>()?;
    if crc32fast::hash(body) != u32::from_be_bytes(*crc) || body.len() < INDEX_HEAD {
        return None;
    }
    let u32_at = |i: usize| Some(u32::from_be_bytes(*body.get(i..)?.first_chunk::<4>()?));
    let u64_at = |i: usize| Some(u64::from_be_bytes(*body.get(i..)?.first_chunk::<8>()?));
    if &body[..8] != INDEX_MAGIC || u32_at(8)? != INDEX_VERSION || u64_at(12)? != segment_len {
        return None;
    }
    let count = u32_at(20)? as usize;
    if body.len() != INDEX_HEAD + count * INDEX_ENTRY {
        return None;
    }
    let mut records: Vec<RecordInfo> = Vec::with_capacity(count);
    let mut next_free = format::HEADER as u64;
    for i in 0..count {
        let at = INDEX_HEAD + i * INDEX_ENTRY;
        let info = RecordInfo {
            offset: u64_at(at)?,
            len: u32_at(at + 8)?,
            t_ms: u64_at(at + 12)?,
            kind: Kind::from_byte(body[at + 20])?,
            flags: body[at + 21],
            keyframe: u64_at(at + 22)?,
        };
        let keyframe_listed = match info.kind {
            Kind::Keyframe => info.keyframe == info.offset,
            Kind::Delta => records
                .iter()
                .rev()
                .find(|r| r.kind == Kind::Keyframe)
                .is_some_and(|k| k.offset == info.keyframe),
        };
        if info.offset < next_free || info.end() > segment_len || !keyframe_listed {
            return None;
        }
        next_free = info.end();
        records.push(info);
    }
    Some(records)
}

/// What a segment's records leave unread: the warnings a scan would have given for the gaps
/// between the records an index lists and for the tail after them.
pub(crate) fn gaps(path: &Path, segment_len: u64, records: &[RecordInfo]) -> Vec<String> {
    let mut warnings = Vec::new();
    let mut expected = format::HEADER as u64;
    for r in records {
        if r.offset > expected {
            warnings.push(format!(
                "{}: {} damaged bytes at byte {expected}, skipped",
                path.display(),
                r.offset - expected
            ));
        }
        expected = r.end();
    }
    if segment_len > expected {
        warnings.push(format!(
            "{}: the last {} bytes are an incomplete record (a write cut short), skipped",
            path.display(),
            segment_len - expected
        ));
    }
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(offset: u64, len: u32, kind: Kind, keyframe: u64) -> RecordInfo {
        RecordInfo {
            t_ms: offset * 10,
            flags: 0,
            kind,
            offset,
            len,
            keyframe,
        }
    }

    #[test]
    fn an_index_holds_only_for_its_segment() {
        let h = format::HEADER as u64;
        let r = format::RECORD_HEADER as u64;
        let records = vec![
            record(h, 100, Kind::Keyframe, h),
            record(h + r + 100, 10, Kind::Delta, h),
        ];
        let len = h + 2 * r + 110;
        let bytes = index_bytes(len, &records);
        assert_eq!(parse_index(&bytes, len), Some(records.clone()));
        // Another segment length: stale.
        assert_eq!(parse_index(&bytes, len + 1), None);
        assert_eq!(parse_index(&bytes, len - 1), None);
        // Any byte changed: the checksum fails.
        for i in 0..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[i] ^= 0x40;
            assert_eq!(parse_index(&damaged, len), None, "byte {i}");
        }
        // Cut short anywhere.
        for cut in 0..bytes.len() {
            assert_eq!(parse_index(&bytes[..cut], len), None, "cut at {cut}");
        }
        // A record past the segment's end, or a delta without its keyframe, even with a
        // good checksum.
        let past = vec![record(h, 100, Kind::Keyframe, h)];
        assert_eq!(
            parse_index(&index_bytes(h + r + 99, &past), h + r + 99),
            None
        );
        let orphan = vec![record(h, 10, Kind::Delta, 0)];
        assert_eq!(
            parse_index(&index_bytes(h + r + 10, &orphan), h + r + 10),
            None
        );
    }

    #[test]
    fn gaps_are_said() {
        let h = format::HEADER as u64;
        let r = format::RECORD_HEADER as u64;
        let records = vec![record(h + 5, 1, Kind::Keyframe, h + 5)];
        let warnings = gaps(Path::new("s"), h + 5 + r + 1 + 7, &records);
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(warnings[0].contains("5 damaged bytes"), "{warnings:?}");
        assert!(warnings[1].contains("last 7 bytes"), "{warnings:?}");
    }
}
