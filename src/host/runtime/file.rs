//! The one way isotop reads a file a runtime (or a user pretending to be one) left on disk.
//!
//! Contract: [`read_beneath`] opens `base/rel` walking `rel` one component at a time from a
//! directory fd, never following a symlink below `base` (`O_NOFOLLOW` on every component, so a
//! user's `runc/x -> /root/...` is refused, not followed), opens the file itself with `O_PATH |
//! O_NOFOLLOW`, `fstat`s it and refuses anything but a regular file, then opens that same inode
//! `O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY` through `/proc/self/fd` (a FIFO is never opened,
//! so never waited on), and reads at most the [`Cap`] of its kind (a record symlinked to
//! `/dev/zero` or a 10 GiB file costs nothing). Nothing on FUSE is read, base and walked
//! directories included (`fstatfs` says `FUSE_SUPER_MAGIC`): a user can mount one over their own
//! directory, and its daemon may stall any read forever. `base` itself is opened following
//! symlinks: whoever chose it is trusted (root's `/run`, `/var/lib`, an entry of root's `/run/user`
//! or `/home`). [`list_dirs_beneath`] lists a directory the same way, keeping only real
//! subdirectories (never symlinks to elsewhere). [`read_link_beneath`] reads a symlink's own text
//! (Docker's `l/<short>` links) the same way, never following it.
//!
//! Every read also says who could have written the file ([`Writers`]): the owners of `base`, of
//! each directory walked and of the file, the members of the group of any of them that is
//! group-writable (`file::group`; a group other than root's whose members are not known here counts
//! as anyone), and whether one of them is writable by every user. Root and the user isotop runs as
//! are trusted; anyone else is a stranger whose claims (e.g. a state file naming a pid) are checked
//! before anything acts on them.

use std::ffi::OsStr;
use std::fs::File;
use std::io::Read;
use std::os::fd::OwnedFd;
use std::path::{Component, Path, PathBuf};

use rustix::fs::{CWD, Dir, FileType, Mode, OFlags, Stat, fstat, openat};

/// How much of one kind of file is read, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cap(pub u64);

impl Cap {
    /// A state or spec JSON (runc `state.json`, crun `status`, an OCI `config.json`, Docker's
    /// `config.v2.json`, isotop's records): a few KiB in practice, 4 MiB is generous.
    pub const STATE: Cap = Cap(4 * 1024 * 1024);
    /// A containers/storage index (`containers.json`): about 1 KiB per container, so 16 MiB
    /// holds more than ten thousand containers.
    pub const INDEX: Cap = Cap(16 * 1024 * 1024);
    /// A one-line file (`init.pid`, a name claim, machined's record): 64 KiB.
    pub const LINE: Cap = Cap(64 * 1024);
}

/// Who besides root could have written a file (see the module contract).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Writers {
    /// Only root or the user isotop runs as.
    Trusted,
    /// One other user (host uid): their claims are checked against what they own.
    User(u32),
    /// More than one other user, or every user: nothing it says can be checked. The reason.
    Anyone(String),
}

impl Writers {
    /// Adds one walked directory or file (its path, owner and mode) to what is known.
    fn add(&mut self, path: &Path, stat: &Stat, trusted_uid: u32) {
        if matches!(self, Writers::Anyone(_)) {
            return;
        }
        let mode = stat.st_mode;
        let is_dir = FileType::from_raw_mode(mode) == FileType::Directory;
        // A sticky world-writable dir (like /tmp) lets anyone add entries, but each entry is
        // then its owner's: the next component decides. Without the sticky bit anyone may
        // replace anything in it.
        let sticky = is_dir && mode & 0o1000 != 0;
        if mode & 0o002 != 0 && !sticky {
            *self = Writers::Anyone(format!("{} is writable by every user", path.display()));
            return;
        }
        self.add_uid(path, stat.st_uid, trusted_uid);
        // The group-write bit lets every member of the group write (a sticky dir: add only).
        if mode & 0o020 != 0 && !sticky {
            let gid = stat.st_gid;
            let strangers: Vec<u32> = group::members(gid)
                .into_iter()
                .filter(|u| *u != 0 && *u != trusted_uid)
                .collect();
            if strangers.contains(&u32::MAX) || (gid != 0 && strangers.is_empty()) {
                *self = Writers::Anyone(format!(
                    "{} is writable by group {gid}, whose members are not all known here",
                    path.display()
                ));
                return;
            }
            for uid in strangers {
                self.add_uid(path, uid, trusted_uid);
            }
        }
    }

    /// Adds one user (host uid) who could write `path`.
    fn add_uid(&mut self, path: &Path, uid: u32, trusted_uid: u32) {
        if uid == 0 || uid == trusted_uid {
            return;
        }
        *self = match self {
            Writers::Trusted => Writers::User(uid),
            Writers::User(owner) if *owner == uid => Writers::User(uid),
            Writers::User(owner) => Writers::Anyone(format!(
                "{} belongs to uid {uid}, inside a directory of uid {owner}",
                path.display()
            )),
            Writers::Anyone(reason) => Writers::Anyone(std::mem::take(reason)),
        };
    }
}

/// A file read whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeFile {
    pub bytes: Vec<u8>,
    pub writers: Writers,
    /// When the file was last written (its `st_mtime`), ms since the Unix epoch; `None`
    /// before 1970. Podman's exit file is dated by it (nothing inside says when).
    pub modified_ms: Option<u64>,
}

/// The uid whose files are as trusted as isotop itself.
fn own_uid() -> u32 {
    rustix::process::geteuid().as_raw()
}

/// An open directory on the walk, with what is known of its writers so far.
struct Walk {
    fd: OwnedFd,
    path: PathBuf,
    writers: Writers,
}

/// The plain names of `rel`; `None` when it holds `..`, `/` or `.` (never joined below a base).
fn plain_names(rel: &Path) -> Option<Vec<&OsStr>> {
    rel.components()
        .map(|c| match c {
            Component::Normal(name) => Some(name),
            _ => None,
        })
        .collect()
}

/// Opens `base` (following symlinks: its position is trusted) and every directory of `dirs`
/// below it without following any, as `O_PATH` fds (no read permission needed to pass).
fn walk(base: &Path, dirs: &[&OsStr]) -> Result<Walk, FileError> {
    let trusted_uid = own_uid();
    let fd = openat(
        CWD,
        base,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| io_error(base, e))?;
    refuse_fuse(&fd, base)?;
    let mut writers = Writers::Trusted;
    writers.add(
        base,
        &fstat(&fd).map_err(|e| io_error(base, e))?,
        trusted_uid,
    );
    let mut current = Walk {
        fd,
        path: base.to_path_buf(),
        writers,
    };
    for name in dirs {
        let path = current.path.join(name);
        let fd = openat(
            &current.fd,
            *name,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| refine(&current.fd, name, &path, e))?;
        refuse_fuse(&fd, &path)?;
        let stat = fstat(&fd).map_err(|e| io_error(&path, e))?;
        current.writers.add(&path, &stat, trusted_uid);
        current.fd = fd;
        current.path = path;
    }
    Ok(current)
}

/// `f_type` of FUSE file systems (`linux/magic.h`).
const FUSE_SUPER_MAGIC: i64 = 0x6573_5546;

/// Refuses a file or directory on FUSE: a user may mount one over a directory they own, and
/// its daemon answers (or never answers) every open and read; O_NONBLOCK does not bound it.
/// `fstatfs` on an `O_PATH` fd: for root on a user's mount (no `allow_other`) the kernel
/// answers it without asking the daemon.
fn refuse_fuse(fd: &OwnedFd, path: &Path) -> Result<(), FileError> {
    let stat = rustix::fs::fstatfs(fd).map_err(|e| io_error(path, e))?;
    #[allow(clippy::unnecessary_cast)] // f_type's type differs between architectures
    if stat.f_type as i64 == FUSE_SUPER_MAGIC {
        return Err(FileError::Fuse {
            path: path.to_path_buf(),
        });
    }
    Ok(())
}

/// Opens the file an `O_PATH` fd holds, with `flags`, through `/proc/self/fd` (the same inode,
/// whatever was renamed or mounted meanwhile).
fn reopen(path_fd: &OwnedFd, flags: OFlags) -> Result<OwnedFd, rustix::io::Errno> {
    use std::os::fd::AsRawFd;
    let link = format!("/proc/self/fd/{}", path_fd.as_raw_fd());
    openat(CWD, link.as_str(), flags, Mode::empty())
}

/// Turns a failed `O_NOFOLLOW` open into the reason: a symlink or another kind of file where a
/// directory (or regular file) was expected, else the error itself.
fn refine(dir: &OwnedFd, name: &OsStr, path: &Path, errno: rustix::io::Errno) -> FileError {
    if matches!(
        errno,
        rustix::io::Errno::LOOP | rustix::io::Errno::NOTDIR | rustix::io::Errno::NXIO
    ) && let Ok(stat) = rustix::fs::statat(dir, name, rustix::fs::AtFlags::SYMLINK_NOFOLLOW)
    {
        return match FileType::from_raw_mode(stat.st_mode) {
            FileType::Symlink => FileError::Symlink {
                path: path.to_path_buf(),
            },
            other => FileError::NotRegular {
                path: path.to_path_buf(),
                kind: kind_name(other),
            },
        };
    }
    io_error(path, errno)
}

/// Reads `base/rel` (see the module contract): a regular file of at most `cap` bytes, reached
/// without following a symlink below `base`.
pub fn read_beneath(base: &Path, rel: &Path, cap: Cap) -> Result<RuntimeFile, FileError> {
    let opened = open_regular(base, rel)?;
    let full = opened.path;
    let Cap(cap) = cap;
    if u64::try_from(opened.stat.st_size).unwrap_or(u64::MAX) > cap {
        return Err(FileError::TooBig { path: full, cap });
    }
    // The size can grow between fstat and read: read one byte past the cap to notice.
    let mut bytes = Vec::new();
    opened
        .file
        .take(cap + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| FileError::Io {
            path: full.clone(),
            source,
        })?;
    if bytes.len() as u64 > cap {
        return Err(FileError::TooBig { path: full, cap });
    }
    let stat = &opened.stat;
    let modified_ms = u64::try_from(stat.st_mtime)
        .ok()
        .map(|s| s.saturating_mul(1_000) + stat.st_mtime_nsec / 1_000_000);
    Ok(RuntimeFile {
        bytes,
        writers: opened.writers,
        modified_ms,
    })
}

/// Opens `base/rel` for reading the way [`read_beneath`] reads it (no symlink followed below
/// `base`, a regular file off FUSE only, never a FIFO's open) without reading it: for a file
/// read in pieces and followed as it grows (a container's log), which no cap fits.
pub fn open_beneath(base: &Path, rel: &Path) -> Result<File, FileError> {
    open_regular(base, rel).map(|opened| opened.file)
}

/// A regular file opened for reading below a base, with what is known of it.
struct Opened {
    file: File,
    path: PathBuf,
    stat: Stat,
    writers: Writers,
}

fn open_regular(base: &Path, rel: &Path) -> Result<Opened, FileError> {
    let full = base.join(rel);
    let names = plain_names(rel)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| FileError::BadPath {
            path: full.clone(),
            base: base.to_path_buf(),
        })?;
    let (file_name, dirs) = names.split_last().ok_or_else(|| FileError::BadPath {
        path: full.clone(),
        base: base.to_path_buf(),
    })?;
    let dir = walk(base, dirs)?;
    // An O_PATH handle first (no open reaches a file system's driver, a FUSE daemon or a
    // FIFO's writer); the file is opened for reading only once known to be a regular file
    // off FUSE, through that same handle.
    let path_fd = openat(
        &dir.fd,
        *file_name,
        OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| refine(&dir.fd, file_name, &full, e))?;
    refuse_fuse(&path_fd, &full)?;
    let stat = fstat(&path_fd).map_err(|e| io_error(&full, e))?;
    let file_type = FileType::from_raw_mode(stat.st_mode);
    match file_type {
        FileType::RegularFile => {}
        FileType::Symlink => return Err(FileError::Symlink { path: full }),
        other => {
            return Err(FileError::NotRegular {
                path: full,
                kind: kind_name(other),
            });
        }
    }
    let fd = reopen(
        &path_fd,
        OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOCTTY,
    )
    .map_err(|e| io_error(&full, e))?;
    let mut writers = dir.writers;
    writers.add(&full, &stat, own_uid());
    Ok(Opened {
        file: File::from(fd),
        path: full,
        stat,
        writers,
    })
}

/// Reads the file `path` whose directories are all trusted (root's own trees, e.g.
/// `/run/isotop/<id>/state.json`): only the last component is refused as a symlink.
pub fn read_capped(path: &Path, cap: Cap) -> Result<Vec<u8>, FileError> {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return Err(FileError::BadPath {
            path: path.to_path_buf(),
            base: PathBuf::from("/"),
        });
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    read_beneath(dir, Path::new(name), cap).map(|f| f.bytes)
}

/// A directory's subdirectory names and who could have written it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    /// Names of real subdirectories (not symlinks), UTF-8 only (no runtime makes others),
    /// sorted.
    pub names: Vec<String>,
    pub writers: Writers,
}

/// Lists the subdirectories of `base/rel` without following a symlink below `base` (`rel`
/// may be empty: `base` itself).
pub fn list_dirs_beneath(base: &Path, rel: &Path) -> Result<Listing, FileError> {
    let full = base.join(rel);
    let names = plain_names(rel).ok_or_else(|| FileError::BadPath {
        path: full.clone(),
        base: base.to_path_buf(),
    })?;
    let (fd, writers) = match names.split_last() {
        None => {
            let path_fd = openat(
                CWD,
                base,
                OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .map_err(|e| io_error(base, e))?;
            refuse_fuse(&path_fd, base)?;
            let fd = reopen(
                &path_fd,
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            )
            .map_err(|e| io_error(base, e))?;
            let mut writers = Writers::Trusted;
            writers.add(base, &fstat(&fd).map_err(|e| io_error(base, e))?, own_uid());
            (fd, writers)
        }
        Some((last, dirs)) => {
            let dir = walk(base, dirs)?;
            let path_fd = openat(
                &dir.fd,
                *last,
                OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .map_err(|e| refine(&dir.fd, last, &full, e))?;
            refuse_fuse(&path_fd, &full)?;
            let mut writers = dir.writers;
            writers.add(
                &full,
                &fstat(&path_fd).map_err(|e| io_error(&full, e))?,
                own_uid(),
            );
            let fd = reopen(
                &path_fd,
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            )
            .map_err(|e| io_error(&full, e))?;
            (fd, writers)
        }
    };
    let mut dir = Dir::new(fd).map_err(|e| io_error(&full, e))?;
    let mut out = Vec::new();
    while let Some(entry) = dir.read() {
        let entry = entry.map_err(|e| io_error(&full, e))?;
        let Ok(name) = entry.file_name().to_str() else {
            continue;
        };
        if name == "." || name == ".." {
            continue;
        }
        let is_dir = match entry.file_type() {
            FileType::Directory => true,
            // Some file systems do not fill d_type: ask without following.
            FileType::Unknown => dir.fd().ok().is_some_and(|fd| {
                rustix::fs::statat(fd, name, rustix::fs::AtFlags::SYMLINK_NOFOLLOW)
                    .is_ok_and(|s| FileType::from_raw_mode(s.st_mode) == FileType::Directory)
            }),
            _ => false,
        };
        if is_dir {
            out.push(name.to_string());
        }
    }
    out.sort();
    Ok(Listing {
        names: out,
        writers,
    })
}

mod error;
mod group;
mod link;

pub use error::FileError;
use error::{io_error, kind_name};

pub use link::{LinkText, read_link_beneath};

#[cfg(test)]
mod tests;
