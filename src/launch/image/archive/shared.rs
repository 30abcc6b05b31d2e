//! An image file opened once and read by position, so its path is never resolved again.
//!
//! Contract: [`ImageFile::open`] opens the operator's `--image` file once (a regular file,
//! without blocking: see [`super::open`]); detection, the outer tar's index, every member and
//! both passes over a layer then read that one descriptor with `pread` ([`At`]), each reader
//! at its own position. A user who owns the image path and swaps it for a symlink to
//! `/etc/shadow` after detection changes nothing isotop reads.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::super::error::ImageError;
use super::open::{Base, open_regular};

/// One opened image file (or a gzipped archive's decompressed spool), shared by its readers.
#[derive(Clone)]
pub struct ImageFile {
    /// The path it was opened at, for messages only.
    path: PathBuf,
    file: Arc<File>,
}

impl std::fmt::Debug for ImageFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("ImageFile").field(&self.path).finish()
    }
}

impl ImageFile {
    /// Opens the regular file the operator named (symlinks followed, once), without blocking.
    pub fn open(path: &Path) -> Result<Self, ImageError> {
        Ok(Self::from_file(
            path,
            open_regular(Base::Anywhere, path, path)?,
        ))
    }

    /// A file isotop opened itself (a spool).
    pub fn from_file(path: &Path, file: File) -> Self {
        ImageFile {
            path: path.to_path_buf(),
            file: Arc::new(file),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A reader from the start.
    pub fn reader(&self) -> At {
        self.reader_at(0)
    }

    /// A reader from byte `offset`.
    pub fn reader_at(&self, offset: u64) -> At {
        At {
            file: Arc::clone(&self.file),
            position: offset,
        }
    }

    /// Up to the first 4 bytes, to tell compressions apart.
    pub fn head(&self) -> Result<Vec<u8>, ImageError> {
        let mut head = Vec::with_capacity(4);
        self.reader()
            .take(4)
            .read_to_end(&mut head)
            .map_err(|e| ImageError::io(&self.path, e))?;
        Ok(head)
    }
}

/// A reader of an [`ImageFile`] at a position of its own (`pread`, never the shared offset).
pub struct At {
    file: Arc<File>,
    position: u64,
}

impl Read for At {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let read = self.file.read_at(buf, self.position)?;
        self.position += read as u64;
        Ok(read)
    }
}

impl Seek for At {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let (base, delta) = match to {
            SeekFrom::Start(offset) => {
                self.position = offset;
                return Ok(offset);
            }
            SeekFrom::Current(delta) => (self.position, delta),
            SeekFrom::End(delta) => (self.file.metadata()?.len(), delta),
        };
        self.position = base
            .checked_add_signed(delta)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek out of range"))?;
        Ok(self.position)
    }
}
