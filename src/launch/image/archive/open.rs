//! Opening an image's files: only regular files, never blocking, never leaving a bundle.
//!
//! Contract: a file is first opened `O_PATH` (opening nothing: a device's or FIFO's `open` is
//! never run) and `fstat`ed; anything but a regular file is refused with what it is. Then it is
//! opened for reading with `O_NONBLOCK` the same way and checked to be the same inode, so a
//! swap between the two opens is refused too. Files of a directory bundle (an OCI layout, an
//! unpacked `docker save`) are resolved with `openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS)`
//! below the bundle's directory: a symlink inside may point to another member (old `docker
//! save` links repeated layers), never out of the bundle (`/dev/zero`, `/etc/shadow`). A lookup
//! that renames keep racing (`EAGAIN`) is tried 16 times, then refused with why.

use std::fs::File;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use rustix::fs::{CWD, FileType, Mode, OFlags, ResolveFlags, Stat};

use super::super::error::ImageError;
use super::super::layer::interrupt;

/// Where a path is resolved.
#[derive(Clone, Copy)]
pub enum Base<'a> {
    /// As given (the operator's `--image` path; symlinks followed).
    Anywhere,
    /// Below this directory, never out of it.
    Beneath(BorrowedFd<'a>),
}

/// What a file type is called in messages.
pub fn kind_name(kind: FileType) -> &'static str {
    match kind {
        FileType::RegularFile => "a regular file",
        FileType::Directory => "a directory",
        FileType::Symlink => "a symlink",
        FileType::Fifo => "a FIFO (named pipe)",
        FileType::Socket => "a socket",
        FileType::CharacterDevice => "a character device",
        FileType::BlockDevice => "a block device",
        FileType::Unknown => "not a file",
    }
}

fn open_at(base: Base<'_>, path: &Path, flags: OFlags) -> rustix::io::Result<OwnedFd> {
    // openat2 refuses O_PATH with any flag but O_CLOEXEC, O_DIRECTORY and O_NOFOLLOW.
    let flags = if flags.contains(OFlags::PATH) {
        flags | OFlags::CLOEXEC
    } else {
        flags | OFlags::CLOEXEC | OFlags::NOCTTY
    };
    match base {
        Base::Anywhere => rustix::fs::openat(CWD, path, flags, Mode::empty()),
        Base::Beneath(dir) => retried(|| {
            rustix::fs::openat2(
                dir,
                path,
                flags,
                Mode::empty(),
                ResolveFlags::BENEATH | ResolveFlags::NO_MAGICLINKS,
            )
        }),
    }
}

/// How many times an `openat2` lookup is tried while renames keep racing it.
const OPENAT2_TRIES: u32 = 16;

/// `attempt`, tried again while it fails with `EAGAIN` (openat2's "a rename raced the
/// lookup"), at most [`OPENAT2_TRIES`] times and never past a watched signal: someone who
/// renames in the bundle without pause must not spin isotop for ever. Still `EAGAIN` after
/// that; `EINTR` when a signal arrived.
fn retried(
    mut attempt: impl FnMut() -> rustix::io::Result<OwnedFd>,
) -> rustix::io::Result<OwnedFd> {
    for _ in 0..OPENAT2_TRIES {
        match attempt() {
            Err(rustix::io::Errno::AGAIN) => {
                if interrupt::poll().is_some() {
                    return Err(rustix::io::Errno::INTR);
                }
            }
            other => return other,
        }
    }
    Err(rustix::io::Errno::AGAIN)
}

/// The file at `path` (below `base`), without opening it: its type and identity.
pub fn stat_at(base: Base<'_>, path: &Path) -> rustix::io::Result<Stat> {
    let fd = open_at(base, path, OFlags::PATH)?;
    rustix::fs::fstat(&fd)
}

/// Opens the regular file at `path` (below `base`) for reading; `shown` names it in errors.
pub fn open_regular(base: Base<'_>, path: &Path, shown: &Path) -> Result<File, ImageError> {
    let io_err = |e: rustix::io::Errno| match (base, e) {
        (Base::Beneath(_), rustix::io::Errno::XDEV) => ImageError::corrupt(
            shown.display().to_string(),
            "a symlink points out of the image; refused",
        ),
        (Base::Beneath(_), rustix::io::Errno::AGAIN) => ImageError::corrupt(
            shown.display().to_string(),
            format!(
                "files in the image kept being renamed while isotop looked this one up \
                 ({OPENAT2_TRIES} tries); refused — stop whatever renames them and retry"
            ),
        ),
        (_, rustix::io::Errno::INTR) => super::super::layer::interrupted_or(ImageError::io(
            shown,
            std::io::Error::from(rustix::io::Errno::INTR),
        )),
        _ => ImageError::io(shown, e.into()),
    };
    let first = stat_at(base, path).map_err(io_err)?;
    let kind = FileType::from_raw_mode(first.st_mode);
    if kind != FileType::RegularFile {
        return Err(ImageError::NotRegular {
            path: shown.to_path_buf(),
            kind: kind_name(kind).into(),
        });
    }
    let fd = open_at(base, path, OFlags::RDONLY | OFlags::NONBLOCK).map_err(io_err)?;
    let second = rustix::fs::fstat(&fd).map_err(io_err)?;
    if (second.st_dev, second.st_ino) != (first.st_dev, first.st_ino) {
        return Err(ImageError::corrupt(
            shown.display().to_string(),
            "it was replaced while isotop opened it; refused",
        ));
    }
    // O_NONBLOCK means nothing for a regular file; clear it anyway for plain reads.
    let _ = rustix::fs::fcntl_setfl(&fd, OFlags::RDONLY);
    Ok(File::from(fd))
}

/// Opens a directory to resolve a bundle's members below it.
pub fn open_dir(path: &Path) -> Result<OwnedFd, ImageError> {
    open_at(Base::Anywhere, path, OFlags::PATH | OFlags::DIRECTORY)
        .map_err(|e| ImageError::io(path, e.into()))
}

/// True when `path` below `dir` is a regular file.
pub fn is_regular_beneath(dir: &OwnedFd, path: &Path) -> bool {
    stat_at(Base::Beneath(dir.as_fd()), path)
        .is_ok_and(|s| FileType::from_raw_mode(s.st_mode) == FileType::RegularFile)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_regular_files_open() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("f");
        std::fs::write(&file, "x").unwrap();
        assert!(open_regular(Base::Anywhere, &file, &file).is_ok());
        let fifo = tmp.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        let error = open_regular(Base::Anywhere, &fifo, &fifo).unwrap_err();
        assert!(error.to_string().contains("FIFO"), "{error}");
        let zero = Path::new("/dev/zero");
        let error = open_regular(Base::Anywhere, zero, zero).unwrap_err();
        assert!(error.to_string().contains("character device"), "{error}");
    }

    #[test]
    fn a_lookup_raced_by_renames_without_end_gives_up() {
        let mut tries = 0;
        let result = retried(|| {
            tries += 1;
            Err(rustix::io::Errno::AGAIN)
        });
        assert_eq!(result.err(), Some(rustix::io::Errno::AGAIN));
        assert_eq!(tries, OPENAT2_TRIES);
        let mut tries = 0;
        let opened = retried(|| {
            tries += 1;
            if tries < 3 {
                Err(rustix::io::Errno::AGAIN)
            } else {
                rustix::fs::open(".", OFlags::PATH, Mode::empty())
            }
        });
        assert!(opened.is_ok() && tries == 3);
    }

    #[test]
    fn members_stay_beneath_their_bundle() {
        let tmp = tempfile::tempdir().unwrap();
        let bundle = tmp.path().join("b");
        std::fs::create_dir(&bundle).unwrap();
        std::fs::write(bundle.join("real"), "x").unwrap();
        std::os::unix::fs::symlink("real", bundle.join("inside")).unwrap();
        std::os::unix::fs::symlink("/dev/zero", bundle.join("zero")).unwrap();
        std::fs::write(tmp.path().join("secret"), "s").unwrap();
        std::os::unix::fs::symlink("../secret", bundle.join("up")).unwrap();
        let dir = open_dir(&bundle).unwrap();
        let base = Base::Beneath(dir.as_fd());
        let open = |name: &str| open_regular(base, Path::new(name), Path::new(name));
        assert!(open("real").is_ok() && open("inside").is_ok());
        assert!(open("zero").is_err() && open("up").is_err());
        assert!(is_regular_beneath(&dir, Path::new("inside")));
        assert!(!is_regular_beneath(&dir, Path::new("zero")));
    }
}
