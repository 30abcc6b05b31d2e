//! Reading a whole kernel file (procfs, cgroupfs) into a buffer the caller reuses, with no
//! syscall but the reads: `std::fs::read` and `File::read_to_end` also ask the size and the
//! position (`statx`, `lseek`; such files say 0 or 4096 whatever they hold) and probe with a
//! 32-byte read, three more syscalls per file on paths that read thousands of files a tick.
//!
//! Contract: [`pread_whole`] reads from offset 0 to the end, so a file kept open is read
//! afresh each time (a `seq_file` regenerates its text at offset 0); [`pread_record`] the same
//! for a single-record file, ending at its first short read; [`read_whole`] opens, reads and
//! closes. Each leaves exactly the file's bytes in the buffer, or fails.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use super::HostError;
use super::error::is_vanished;

/// The whole file from offset 0 into `buf` (cleared first).
pub fn pread_whole(file: &File, buf: &mut Vec<u8>) -> io::Result<()> {
    pread_until(file, buf, false)
}

/// The whole of a single-record kernel file from offset 0 into `buf` (cleared first): a
/// cgroup counter file, whose `seq_file` shows one record and fills a read with all of it
/// that fits, so a read returning less than asked is the end. One `pread` where
/// [`pread_whole`] needs a second one to see the end. Not for multi-record files
/// (`cgroup.procs`, `mountinfo`): their reads stop at the kernel's page-sized buffer.
pub fn pread_record(file: &File, buf: &mut Vec<u8>) -> io::Result<()> {
    pread_until(file, buf, true)
}

/// Reads from offset 0 until a read returns nothing or, with `short_ends`, less than asked.
fn pread_until(file: &File, buf: &mut Vec<u8>, short_ends: bool) -> io::Result<()> {
    buf.clear();
    loop {
        if buf.capacity() - buf.len() < 1024 {
            buf.reserve(4096);
        }
        let start = buf.len();
        buf.resize(buf.capacity(), 0);
        let asked = buf.len() - start;
        match file.read_at(&mut buf[start..], start as u64) {
            Ok(n) if n == 0 || (short_ends && n < asked) => {
                buf.truncate(start + n);
                return Ok(());
            }
            Ok(n) => buf.truncate(start + n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => buf.truncate(start),
            Err(e) => {
                buf.truncate(start);
                return Err(e);
            }
        }
    }
}

/// The whole of `path` into `buf`: open, read, close.
pub fn read_whole(path: &Path, buf: &mut Vec<u8>) -> io::Result<()> {
    pread_whole(&File::open(path)?, buf)
}

/// A host file read whole each tick, kept open between reads when asked (`keep`: the live
/// host; under another root, whose files may be replaced, it is opened every time). A read
/// that fails drops the kept file: the next read opens it afresh.
#[derive(Debug, Default)]
pub struct KeptFile {
    open: Option<(PathBuf, File)>,
}

impl KeptFile {
    /// True while a file is kept open.
    pub fn is_open(&self) -> bool {
        self.open.is_some()
    }

    /// `path`'s bytes into `buf`; `Ok(false)` when it does not exist. `keep`: the file stays
    /// open for the next read.
    pub fn read(&mut self, path: &Path, keep: bool, buf: &mut Vec<u8>) -> Result<bool, HostError> {
        let read = match &self.open {
            Some((kept, file)) if keep && kept == path => pread_whole(file, buf),
            _ if keep => File::open(path).and_then(|file| {
                pread_whole(&file, buf)?;
                self.open = Some((path.to_path_buf(), file));
                Ok(())
            }),
            _ => read_whole(path, buf),
        };
        match read {
            Ok(()) => Ok(true),
            Err(e) => {
                self.open = None;
                if is_vanished(&e) {
                    Ok(false)
                } else {
                    Err(HostError::io(path, e))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_small_large_and_empty_files_whole_and_again() {
        let dir = tempfile::tempdir().unwrap();
        let mut buf = Vec::new();
        for len in [0usize, 5, 4096, 10_000] {
            let path = dir.path().join(format!("f{len}"));
            let text: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
            std::fs::write(&path, &text).unwrap();
            read_whole(&path, &mut buf).unwrap();
            assert_eq!(buf, text);
            // Kept open and rewritten in place: read afresh from the start.
            let file = File::open(&path).unwrap();
            std::fs::write(&path, b"new").unwrap();
            pread_whole(&file, &mut buf).unwrap();
            assert_eq!(buf, b"new");
        }
        assert!(read_whole(&dir.path().join("absent"), &mut buf).is_err());
    }

    #[test]
    fn a_record_is_read_whole_whatever_its_length_against_the_buffer() {
        let dir = tempfile::tempdir().unwrap();
        let mut buf = Vec::new();
        // Around the buffer's growth steps: a read that fills what was asked reads on.
        for len in [0usize, 7, 3072, 4095, 4096, 4097, 9000] {
            let path = dir.path().join(format!("r{len}"));
            let text: Vec<u8> = (0..len).map(|i| b'0' + (i % 10) as u8).collect();
            std::fs::write(&path, &text).unwrap();
            pread_record(&File::open(&path).unwrap(), &mut buf).unwrap();
            assert_eq!(buf.len(), len);
            assert_eq!(buf, text);
        }
    }
}
