//! Where the ring keeps its records' bytes: unnamed files in the dumps' directory, so a window
//! of minutes (~15 KB a second on 11,700 processes: ~9 MB at 10 minutes) lives in the page
//! cache — the kernel's to write back and reclaim — and not in isotop's resident memory.
//!
//! Contract: a [`SpillFile`] is opened with `O_TMPFILE` (mode 0600, never through a link): it
//! has no name, so nobody else can open, replace or fill it, and the kernel frees its blocks
//! when the last [`Piece`] in it is dropped (the ring opens one per keyframe group, so a group
//! leaving the window takes its file along). A [`Piece`] is a run of a record's bytes either in
//! memory or at an offset in such a file; [`Piece::bytes_into`] gives them back, a read from the page
//! cache while the window is recent. Writes come from the ring's one thread; reads (a dump's)
//! from the writer's, positioned (`pread`), so neither moves a shared offset. [`Store`] is the
//! ring's side: a file per keyframe group, or memory where none can be made or written.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustix::fs::{Mode, OFlags};

/// One unnamed file of spilled pieces.
#[derive(Debug)]
pub(crate) struct SpillFile {
    file: File,
}

impl SpillFile {
    /// A new unnamed file in `dir` (which the caller made private: `trouble::place::prepare`).
    pub(crate) fn create(dir: &Path) -> io::Result<SpillFile> {
        let fd = rustix::fs::open(
            dir,
            OFlags::TMPFILE | OFlags::RDWR | OFlags::CLOEXEC | OFlags::NOFOLLOW,
            Mode::from_raw_mode(0o600),
        )?;
        Ok(SpillFile {
            file: File::from(fd),
        })
    }
}

/// A run of a record's bytes (see the module).
#[derive(Debug, Clone)]
pub(crate) enum Piece {
    Memory(Arc<[u8]>),
    Spilled {
        file: Arc<SpillFile>,
        /// Offset in the file, bytes.
        at: u64,
        len: usize,
    },
}

impl Piece {
    /// `bytes` appended to `file` at `at` (the caller's end of what it wrote there).
    pub(crate) fn spill(file: &Arc<SpillFile>, at: u64, bytes: &[u8]) -> io::Result<Piece> {
        file.file.write_all_at(bytes, at)?;
        Ok(Piece::Spilled {
            file: Arc::clone(file),
            at,
            len: bytes.len(),
        })
    }

    /// Appends the piece's bytes to `out`.
    pub(crate) fn bytes_into(&self, out: &mut Vec<u8>) -> io::Result<()> {
        match self {
            Piece::Memory(bytes) => {
                out.extend_from_slice(bytes);
                Ok(())
            }
            Piece::Spilled { file, at, len } => {
                let start = out.len();
                out.resize(start + len, 0);
                file.file.read_exact_at(&mut out[start..], *at)
            }
        }
    }

    /// True when both are the same stored bytes (one held twice), not merely equal ones.
    #[cfg(test)]
    pub(crate) fn is(&self, other: &Piece) -> bool {
        match (self, other) {
            (Piece::Memory(a), Piece::Memory(b)) => Arc::ptr_eq(a, b),
            (Piece::Spilled { file: a, at: x, .. }, Piece::Spilled { file: b, at: y, .. }) => {
                Arc::ptr_eq(a, b) && x == y
            }
            _ => false,
        }
    }
}

/// Where new pieces go: memory, or the current keyframe group's unnamed file.
#[derive(Debug, Default)]
pub(super) struct Store {
    pub(super) dir: Option<PathBuf>,
    /// The group's file and the end of what was written to it, bytes.
    file: Option<(Arc<SpillFile>, u64)>,
    /// The first problem with the files, not yet taken.
    pub(super) problem: Option<String>,
    told: bool,
}

impl Store {
    /// A keyframe begins a group: a new file (the old one goes with its group's records).
    pub(super) fn begin_group(&mut self) {
        self.file = None;
        if let Some(dir) = &self.dir {
            match SpillFile::create(dir) {
                Ok(file) => self.file = Some((Arc::new(file), 0)),
                Err(e) => self.tell(format!(
                    "cannot keep the trouble ring in an unnamed file in {} ({e}); it is kept in \
                     memory",
                    dir.display()
                )),
            }
        }
    }

    pub(super) fn keep(&mut self, bytes: &[u8]) -> Piece {
        if let Some((file, end)) = &mut self.file {
            match Piece::spill(file, *end, bytes) {
                Ok(piece) => {
                    *end += bytes.len() as u64;
                    return piece;
                }
                Err(e) => {
                    self.file = None;
                    self.tell(format!(
                        "cannot write the trouble ring's file ({e}); this group of frames is \
                         kept in memory"
                    ));
                }
            }
        }
        Piece::Memory(Arc::from(bytes))
    }

    fn tell(&mut self, problem: String) {
        if !std::mem::replace(&mut self.told, true) {
            self.problem = Some(problem);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spilled_piece_reads_back_and_its_file_has_no_name() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = Arc::new(SpillFile::create(dir.path()).expect("O_TMPFILE"));
        let first = Piece::spill(&file, 0, b"keyframe").expect("write");
        let second = Piece::spill(&file, 8, b"delta").expect("write");
        let mut out = Vec::new();
        second.bytes_into(&mut out).expect("read");
        first.bytes_into(&mut out).expect("read");
        assert_eq!(out, b"deltakeyframe");
        assert!(first.is(&first.clone()) && !first.is(&second));
        let names: Vec<_> = std::fs::read_dir(dir.path()).expect("list").collect();
        assert!(names.is_empty(), "an unnamed file shows in no listing");
    }
}
