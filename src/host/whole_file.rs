//! Reading a whole kernel file (procfs, cgroupfs) into a buffer the caller reuses, with no
//! syscall but the reads: `std::fs::read` and `File::read_to_end` also ask the size and the
//! position (`statx`, `lseek`; such files say 0 or 4096 whatever they hold) and probe with a
//! 32-byte read, three more syscalls per file on paths that read thousands of files a tick.
//!
//! Contract: [`pread_whole`] reads from offset 0 to the end, so a file kept open is read
//! afresh each time (a `seq_file` regenerates its text at offset 0); [`read_whole`] opens,
//! reads and closes. Both leave exactly the file's bytes in the buffer, or fail.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;

/// The whole file from offset 0 into `buf` (cleared first).
pub fn pread_whole(file: &File, buf: &mut Vec<u8>) -> io::Result<()> {
    buf.clear();
    loop {
        if buf.capacity() - buf.len() < 1024 {
            buf.reserve(4096);
        }
        let start = buf.len();
        buf.resize(buf.capacity(), 0);
        match file.read_at(&mut buf[start..], start as u64) {
            Ok(0) => {
                buf.truncate(start);
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
}
