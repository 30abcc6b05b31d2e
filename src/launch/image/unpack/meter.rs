//! Counts what a layer's tar stream costs while it is read, so a hostile layer cannot fill the
//! disk, the memory or the CPU: every decompressed byte counts against the size limit, and
//! the bytes read while the tar reader looks for the next entry (its headers, GNU long names,
//! PAX records and sparse maps, which the `tar` crate keeps in memory whole) count against a
//! fixed per-entry bound. Crossing either makes the next read fail; the unpack then asks the
//! meter which bound it was. The outer tar of an image (a `docker save` or OCI archive) is
//! read through the same meter (`archive`).

use std::cell::Cell;
use std::io::{self, Read, Seek, SeekFrom};

/// Most bytes of headers and extensions one entry may carry: far above any real one (a long
/// name is at most `PATH_MAX`, a sparse map of a million holes about 16 MiB), and what the
/// `tar` crate may hold in memory for it.
pub(crate) const MAX_ENTRY_METADATA: u64 = 16 << 20;

/// Why an entry was refused for its headers, `after` bytes of the stream.
pub(crate) fn headers_too_large(after: u64) -> String {
    format!(
        "an entry carries more than {} MiB of headers (long names, PAX records, sparse maps) \
         after {after} bytes",
        MAX_ENTRY_METADATA >> 20
    )
}

/// Which bound a read crossed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Crossed {
    /// More decompressed bytes than the size limit allows.
    StreamSize,
    /// One entry's headers and extensions past [`MAX_ENTRY_METADATA`].
    EntryMetadata,
}

/// The counters one unpack shares with its [`Metered`] reader.
#[derive(Debug)]
pub(crate) struct Meter {
    max_bytes: u64,
    read: Cell<u64>,
    between_entries: Cell<bool>,
    metadata: Cell<u64>,
    crossed: Cell<Option<Crossed>>,
}

impl Meter {
    pub(crate) fn new(max_bytes: u64) -> Self {
        Meter {
            max_bytes,
            read: Cell::new(0),
            between_entries: Cell::new(false),
            metadata: Cell::new(0),
            crossed: Cell::new(None),
        }
    }

    /// The reader is about to look for the next entry: what it reads until
    /// [`Meter::entry_found`] is headers and extensions.
    pub(crate) fn seeking_entry(&self) {
        self.between_entries.set(true);
        self.metadata.set(0);
    }

    pub(crate) fn entry_found(&self) {
        self.between_entries.set(false);
    }

    /// The bound crossed, if a read failed because of one.
    pub(crate) fn crossed(&self) -> Option<Crossed> {
        self.crossed.get()
    }

    /// Decompressed bytes read so far.
    pub(crate) fn bytes_read(&self) -> u64 {
        self.read.get()
    }

    fn count(&self, bytes: usize) -> io::Result<()> {
        let bytes = bytes as u64;
        self.read.set(self.read.get().saturating_add(bytes));
        if self.read.get() > self.max_bytes {
            return Err(self.cross(Crossed::StreamSize));
        }
        if self.between_entries.get() {
            self.metadata.set(self.metadata.get().saturating_add(bytes));
            if self.metadata.get() > MAX_ENTRY_METADATA {
                return Err(self.cross(Crossed::EntryMetadata));
            }
        }
        Ok(())
    }

    fn cross(&self, which: Crossed) -> io::Error {
        self.crossed.set(Some(which));
        io::Error::other(match which {
            Crossed::StreamSize => "the layer size limit was reached",
            Crossed::EntryMetadata => "one entry's headers are too large",
        })
    }
}

/// A reader that counts every byte against a [`Meter`] and fails once a bound is crossed
/// (also on every later read).
pub(crate) struct Metered<'m, R> {
    inner: R,
    meter: &'m Meter,
}

impl<'m, R: Read> Metered<'m, R> {
    pub(crate) fn new(inner: R, meter: &'m Meter) -> Self {
        Metered { inner, meter }
    }
}

impl<R: Read> Read for Metered<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(which) = self.meter.crossed() {
            return Err(self.meter.cross(which));
        }
        let read = self.inner.read(buf)?;
        self.meter.count(read)?;
        Ok(read)
    }
}

/// Seeking reads nothing, so it counts nothing: a seekable outer tar skips member data this
/// way, and only the headers it reads are counted.
impl<R: Seek> Seek for Metered<'_, R> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        self.inner.seek(to)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stream_bound_fails_the_read_that_crosses_it_and_every_later_one() {
        let meter = Meter::new(10);
        let mut reader = Metered::new(&[7u8; 64][..], &meter);
        let mut buf = [0u8; 8];
        assert_eq!(reader.read(&mut buf).unwrap(), 8);
        assert!(reader.read(&mut buf).is_err());
        assert_eq!(meter.crossed(), Some(Crossed::StreamSize));
        assert!(reader.read(&mut buf).is_err());
    }

    #[test]
    fn only_reads_between_entries_count_as_metadata() {
        let meter = Meter::new(u64::MAX);
        let data = vec![0u8; (MAX_ENTRY_METADATA + 4096) as usize];
        let mut reader = Metered::new(&data[..], &meter);
        // Entry data: no metadata bound.
        io::copy(
            &mut (&mut reader).take(MAX_ENTRY_METADATA + 1),
            &mut io::sink(),
        )
        .unwrap();
        meter.seeking_entry();
        let mut buf = vec![0u8; 2048];
        reader.read_exact(&mut buf).unwrap();
        meter.entry_found();
        assert_eq!(meter.crossed(), None);
        let mut reader = Metered::new(&data[..], &meter);
        meter.seeking_entry();
        let error = io::copy(&mut reader, &mut io::sink()).unwrap_err();
        assert_eq!(meter.crossed(), Some(Crossed::EntryMetadata), "{error}");
    }
}
