//! GNU sparse members, written back with their holes. GNU tar stores a sparse file (`tar
//! --sparse`) in one of two ways:
//! - the old GNU format (type `S`): the `tar` crate reads the map and hands out the file's full
//!   content, holes as zeros; [`copy_with_holes`] skips every all-zero 4 KiB block instead of
//!   writing it, so the holes come back (and a run of zeros the original held as data becomes
//!   a hole too — same content, less disk);
//! - PAX records (`--format=posix`): versions 0.0 (`GNU.sparse.offset`/`numbytes` pairs), 0.1
//!   (`GNU.sparse.map`) and 1.0 (the map at the start of the data), with the real name in
//!   `GNU.sparse.name` and the real size in `GNU.sparse.size`/`realsize`. [`PaxSparse::of`]
//!   reads those and [`PaxSparse::write`] puts each data segment at its offset.
//!
//! Maps are checked like Go's `archive/tar` does: segments in order, not overlapping, inside
//! the real size, covering exactly the stored data. A 1.0 map is bounded by the same
//! per-entry metadata bound as headers.

use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;

use super::meter::MAX_ENTRY_METADATA;

/// Granularity of hole detection: the usual file system block.
const BLOCK: usize = 4096;

/// Copies `data` (the file's whole content, holes as zeros) into `file`, leaving a hole for
/// every aligned 4 KiB block of zeros. Returns the bytes the content spans.
pub(super) fn copy_with_holes(data: &mut impl Read, file: &File) -> io::Result<u64> {
    let mut buf = vec![0u8; 64 * BLOCK];
    let mut offset = 0u64;
    loop {
        let filled = read_full(data, &mut buf)?;
        write_non_zero_runs(file, &buf[..filled], offset)?;
        offset += filled as u64;
        if filled < buf.len() {
            break;
        }
    }
    file.set_len(offset)?;
    Ok(offset)
}

/// Writes the runs of `chunk` (which starts at file offset `at`, a multiple of [`BLOCK`])
/// that hold a non-zero byte, one `pwrite` per run.
fn write_non_zero_runs(file: &File, chunk: &[u8], at: u64) -> io::Result<()> {
    let mut run_start: Option<usize> = None;
    for (index, block) in chunk.chunks(BLOCK).enumerate() {
        let start = index * BLOCK;
        let zero = block.iter().all(|&byte| byte == 0);
        match (zero, run_start) {
            (false, None) => run_start = Some(start),
            (true, Some(from)) => {
                file.write_all_at(&chunk[from..start], at + from as u64)?;
                run_start = None;
            }
            _ => {}
        }
    }
    if let Some(from) = run_start {
        file.write_all_at(&chunk[from..], at + from as u64)?;
    }
    Ok(())
}

/// Reads until `buf` is full or the data ends; returns how much was read.
fn read_full(data: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match data.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(read) => filled += read,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// One stretch of real data in a sparse file: `length` bytes at `offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Segment {
    offset: u64,
    length: u64,
}

/// A regular entry that PAX records describe as a GNU sparse file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct PaxSparse {
    /// The file's real name (`GNU.sparse.name`), when the entry's own is a placeholder.
    pub(super) name: Option<Vec<u8>>,
    /// The file's size, holes included.
    pub(super) real_size: u64,
    /// The map from the PAX records (0.0, 0.1); `None` when it starts the data (1.0).
    map: Option<Vec<Segment>>,
}

impl PaxSparse {
    /// The sparse description in `records` (the entry's PAX key/value pairs), if any.
    pub(super) fn of<'a>(
        records: impl Iterator<Item = (&'a str, &'a [u8])>,
    ) -> Result<Option<PaxSparse>, String> {
        let mut major = None;
        let mut minor = None;
        let mut name = None;
        let mut size = None;
        let mut real_size = None;
        let mut map_text = None;
        let mut pairs = Vec::new();
        for (key, value) in records {
            match key {
                "GNU.sparse.major" => major = Some(value),
                "GNU.sparse.minor" => minor = Some(value),
                "GNU.sparse.name" => name = Some(value.to_vec()),
                "GNU.sparse.size" => size = Some(value),
                "GNU.sparse.realsize" => real_size = Some(value),
                "GNU.sparse.map" => map_text = Some(value),
                // 0.0 repeats these two in order, one pair per segment.
                "GNU.sparse.offset" | "GNU.sparse.numbytes" => {
                    let expected = if pairs.len() % 2 == 0 {
                        "GNU.sparse.offset"
                    } else {
                        "GNU.sparse.numbytes"
                    };
                    if key != expected {
                        return Err("its sparse offsets and sizes are out of order".into());
                    }
                    pairs.push(value)
                }
                _ => {}
            }
        }
        let in_data = match (major, minor) {
            (Some(b"1"), Some(b"0")) => true,
            (Some(b"0"), Some(b"0" | b"1")) => false,
            (Some(_), _) | (_, Some(_)) => {
                return Err("its GNU sparse format version is not one tar writes".into());
            }
            (None, None) if map_text.is_some() || !pairs.is_empty() => false,
            (None, None) => return Ok(None),
        };
        let real_size = size
            .or(real_size)
            .ok_or("its sparse records give no real size")
            .and_then(|text| number(text).ok_or("its sparse real size is not a number"))?;
        let map = if in_data {
            None
        } else {
            let numbers: Vec<&[u8]> = match map_text {
                Some(text) if !text.is_empty() => text.split(|&byte| byte == b',').collect(),
                Some(_) => Vec::new(),
                None => pairs,
            };
            Some(segments(&numbers)?)
        };
        Ok(Some(PaxSparse {
            name,
            real_size,
            map,
        }))
    }

    /// Writes the entry's `data` (`stored` bytes in the archive) into `file`: each segment at
    /// its offset, holes left unwritten, the length set to the real size.
    pub(super) fn write(
        &self,
        data: &mut impl Read,
        stored: u64,
        file: &File,
    ) -> Result<(), String> {
        let (map, map_bytes) = match &self.map {
            Some(map) => (map.clone(), 0),
            None => read_map_1_0(data)?,
        };
        check_map(&map, self.real_size, stored.saturating_sub(map_bytes))?;
        let mut buf = vec![0u8; 64 * BLOCK];
        for segment in map {
            let mut left = segment.length;
            let mut at = segment.offset;
            while left > 0 {
                let want = usize::try_from(left.min(buf.len() as u64)).unwrap_or(buf.len());
                data.read_exact(&mut buf[..want])
                    .map_err(|e| format!("its sparse data ends early: {e}"))?;
                file.write_all_at(&buf[..want], at)
                    .map_err(|e| format!("cannot write it: {e}"))?;
                left -= want as u64;
                at += want as u64;
            }
        }
        file.set_len(self.real_size)
            .map_err(|e| format!("cannot size it: {e}"))?;
        Ok(())
    }
}

/// Reads a 1.0 map: decimal numbers one per line (the count, then offset and length per
/// segment), padded to a 512-byte block. Returns the segments and the bytes the map took.
fn read_map_1_0(data: &mut impl Read) -> Result<(Vec<Segment>, u64), String> {
    let mut consumed = 0u64;
    let mut line = Vec::new();
    let mut next_number = |consumed: &mut u64| -> Result<u64, String> {
        line.clear();
        let mut byte = [0u8; 1];
        loop {
            if *consumed >= MAX_ENTRY_METADATA {
                return Err(format!(
                    "its sparse map is larger than {} MiB",
                    MAX_ENTRY_METADATA >> 20
                ));
            }
            data.read_exact(&mut byte)
                .map_err(|e| format!("its sparse map ends early: {e}"))?;
            *consumed += 1;
            if byte[0] == b'\n' {
                break;
            }
            line.push(byte[0]);
        }
        number(&line).ok_or_else(|| "its sparse map holds a non-number".to_string())
    };
    let count = next_number(&mut consumed)?;
    let mut map = Vec::new();
    for _ in 0..count {
        let offset = next_number(&mut consumed)?;
        let length = next_number(&mut consumed)?;
        map.push(Segment { offset, length });
    }
    let padding = (512 - consumed % 512) % 512;
    io::copy(&mut data.take(padding), &mut io::sink())
        .map_err(|e| format!("its sparse map ends early: {e}"))?;
    Ok((map, consumed + padding))
}

/// Pairs of numbers (offset, length) as segments.
fn segments(numbers: &[&[u8]]) -> Result<Vec<Segment>, String> {
    if !numbers.len().is_multiple_of(2) {
        return Err("its sparse map has an odd count of numbers".into());
    }
    numbers
        .chunks(2)
        .map(|pair| match (number(pair[0]), number(pair[1])) {
            (Some(offset), Some(length)) => Ok(Segment { offset, length }),
            _ => Err("its sparse map holds a non-number".to_string()),
        })
        .collect()
}

/// Segments in order, not overlapping, inside `real_size`, adding up to `data_bytes`.
fn check_map(map: &[Segment], real_size: u64, data_bytes: u64) -> Result<(), String> {
    let mut end_of_last = 0u64;
    let mut total = 0u64;
    for segment in map {
        let end = segment
            .offset
            .checked_add(segment.length)
            .filter(|end| *end <= real_size)
            .ok_or("its sparse map reaches past the file's size")?;
        if segment.offset < end_of_last {
            return Err("its sparse map is out of order or overlaps".into());
        }
        end_of_last = end;
        total = total.saturating_add(segment.length);
    }
    if total != data_bytes {
        return Err(format!(
            "its sparse map covers {total} bytes but the archive stores {data_bytes}"
        ));
    }
    Ok(())
}

fn number(text: &[u8]) -> Option<u64> {
    std::str::from_utf8(text).ok()?.parse().ok()
}

/// Entry types that carry headers for another entry (PAX records, GNU long names), not
/// content of their own.
pub(super) fn is_metadata_entry(kind: tar::EntryType) -> bool {
    kind.is_pax_global_extensions()
        || kind.is_pax_local_extensions()
        || kind.is_gnu_longname()
        || kind.is_gnu_longlink()
}

pub(super) fn metadata_kind(kind: tar::EntryType) -> &'static str {
    if kind.is_pax_global_extensions() {
        "PAX global header"
    } else if kind.is_pax_local_extensions() {
        "PAX header"
    } else if kind.is_gnu_longname() {
        "GNU long name"
    } else {
        "GNU long link name"
    }
}

/// The PAX sparse description of `entry`, if it has one (its merged PAX records: called only
/// on content entries, see [`is_metadata_entry`], so it never reads an entry's data).
pub(super) fn pax_sparse<E: Read>(
    entry: &mut tar::Entry<'_, E>,
) -> Result<Option<PaxSparse>, String> {
    let Ok(Some(extensions)) = entry.pax_extensions() else {
        return Ok(None);
    };
    let records: Vec<(String, Vec<u8>)> = extensions
        .filter_map(Result::ok)
        .filter_map(|record| {
            let key = record.key().ok()?;
            key.starts_with("GNU.sparse.")
                .then(|| (key.to_string(), record.value_bytes().to_vec()))
        })
        .collect();
    PaxSparse::of(
        records
            .iter()
            .map(|(key, value)| (key.as_str(), value.as_slice())),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(pairs: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static [u8])> {
        pairs.iter().map(|(k, v)| (*k, v.as_bytes())).collect()
    }

    #[test]
    fn no_sparse_records_is_not_sparse() {
        let plain = records(&[("path", "a"), ("mtime", "1")]);
        assert_eq!(PaxSparse::of(plain.into_iter()).unwrap(), None);
    }

    #[test]
    fn version_0_1_map_is_read_and_checked() {
        let sparse = PaxSparse::of(
            records(&[
                ("GNU.sparse.major", "0"),
                ("GNU.sparse.minor", "1"),
                ("GNU.sparse.name", "real"),
                ("GNU.sparse.size", "100"),
                ("GNU.sparse.map", "10,5,50,5"),
            ])
            .into_iter(),
        )
        .unwrap()
        .unwrap();
        assert_eq!(sparse.name.as_deref(), Some(&b"real"[..]));
        let map = sparse.map.clone().unwrap();
        assert_eq!(map.len(), 2);
        check_map(&map, 100, 10).unwrap();
        assert!(check_map(&map, 52, 10).is_err(), "past the real size");
        assert!(check_map(&map, 100, 11).is_err(), "data not covered");
        let overlapping = [
            Segment {
                offset: 10,
                length: 20,
            },
            Segment {
                offset: 15,
                length: 1,
            },
        ];
        assert!(check_map(&overlapping, 100, 21).is_err());
    }

    #[test]
    fn unknown_versions_and_bad_numbers_are_refused() {
        let future = records(&[("GNU.sparse.major", "2"), ("GNU.sparse.minor", "0")]);
        assert!(PaxSparse::of(future.into_iter()).is_err());
        let odd = records(&[("GNU.sparse.size", "9"), ("GNU.sparse.map", "1,2,3")]);
        assert!(PaxSparse::of(odd.into_iter()).is_err());
    }

    #[test]
    fn a_1_0_map_is_read_from_the_data_and_its_padding_skipped() {
        let mut data = b"2\n0\n3\n8\n2\n".to_vec();
        data.resize(512, 0);
        data.extend_from_slice(b"abcde");
        let mut reader = &data[..];
        let (map, used) = read_map_1_0(&mut reader).unwrap();
        assert_eq!(used, 512);
        assert_eq!(
            map,
            [
                Segment {
                    offset: 0,
                    length: 3
                },
                Segment {
                    offset: 8,
                    length: 2
                }
            ]
        );
        assert_eq!(reader, b"abcde");
    }

    #[test]
    fn zero_blocks_become_holes_and_the_content_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let file = File::create(&path).unwrap();
        let mut content = vec![0u8; 40 * BLOCK + 100];
        content[5 * BLOCK + 7] = 1;
        content[40 * BLOCK + 99] = 2;
        let size = copy_with_holes(&mut &content[..], &file).unwrap();
        assert_eq!(size, content.len() as u64);
        assert_eq!(std::fs::read(&path).unwrap(), content);
        let blocks = std::os::unix::fs::MetadataExt::blocks(&file.metadata().unwrap());
        assert!(blocks * 512 < 8 * BLOCK as u64, "{blocks} blocks allocated");
    }
}
