//! Where dumps go on disk, made safely, and how many are kept.
//!
//! Contract: the dumps' directory (default `<state dir>/trouble`, `/var/lib/isotop/trouble` for
//! root) is made 0700 and checked through a descriptor opened without following links — a real
//! directory owned by isotop's user, its mode repaired to 0700 (`launch::store::dirs::
//! private_dir`) — and its parent must be a real directory (not a link) of the same owner that
//! neither its group nor others may write: nobody else can plant or swap anything below it. A
//! dump directory is made with `mkdir` 0700 under a fresh name: a name taken — by an earlier dump
//! or by a planted link — is never reused or followed, the next suffix (`-2`, `-3`, …) is tried.
//! [`prune`] removes the oldest dumps (by name = by time; only real directories named as dumps)
//! while more than `keep` or more than `keep_bytes` are on disk, never the one being written.

use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};

use super::trigger::is_dump_name;

/// Names tried for one dump before giving up (`NAME`, `NAME-2`, … `NAME-100`).
const NAME_TRIES: u32 = 100;

/// Makes or checks `dir`, the dumps' directory (see the module); the error says what to do.
pub(super) fn prepare(dir: &Path) -> Result<(), String> {
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .ok_or_else(|| format!("{}: give a directory with a parent", dir.display()))?;
    if std::fs::symlink_metadata(parent).is_err() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(parent)
            .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    let meta = std::fs::symlink_metadata(parent)
        .map_err(|e| format!("cannot read {}: {e}", parent.display()))?;
    let me = rustix::process::geteuid().as_raw();
    if !meta.file_type().is_dir() {
        return Err(format!(
            "{} is a symlink or not a directory: dumps go only below a real directory; move it \
             away or give another --trouble-dir",
            parent.display()
        ));
    }
    if meta.uid() != me || meta.mode() & 0o022 != 0 {
        return Err(format!(
            "{} is owned by uid {} with mode {:o}: dumps go only below a directory of uid {me} \
             that no one else may write (`chmod go-w` it, or give another --trouble-dir)",
            parent.display(),
            meta.uid(),
            meta.mode() & 0o7777
        ));
    }
    crate::launch::store::dirs::private_dir(dir, 0o700)
        .map_err(|e| format!("cannot use {} for dumps: {e}", dir.display()))
}

/// Makes a new directory for a dump named `name` in `dir` (prepared), 0700; returns its path.
pub(super) fn new_dump_dir(dir: &Path, name: &str) -> Result<PathBuf, String> {
    for n in 1..=NAME_TRIES {
        let path = if n == 1 {
            dir.join(name)
        } else {
            dir.join(format!("{name}-{n}"))
        };
        match rustix::fs::mkdir(&path, rustix::fs::Mode::from_raw_mode(0o700)) {
            Ok(()) => return Ok(path),
            // Taken, by a dump or by anything planted there: another name, nothing followed.
            Err(rustix::io::Errno::EXIST) => continue,
            Err(e) => return Err(format!("cannot create {}: {e}", path.display())),
        }
    }
    Err(format!(
        "{}: {NAME_TRIES} dumps named {name} already; remove some",
        dir.display()
    ))
}

/// A dump on disk.
struct OnDisk {
    path: PathBuf,
    bytes: u64,
}

/// Removes the oldest dumps in `dir` while more than `keep` or more than `keep_bytes` are there,
/// sparing `open`; returns what could not be removed, for a report.
pub(super) fn prune(dir: &Path, keep: usize, keep_bytes: u64, open: Option<&Path>) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut dumps: Vec<OnDisk> = entries
        .filter_map(Result::ok)
        // `file_type` does not follow links: a link named as a dump is not one.
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter(|e| e.file_name().to_str().is_some_and(is_dump_name))
        .map(|e| OnDisk {
            bytes: dir_bytes(&e.path()),
            path: e.path(),
        })
        .collect();
    dumps.sort_by(|a, b| a.path.cmp(&b.path));
    let mut total: u64 = dumps.iter().map(|d| d.bytes).sum();
    let mut count = dumps.len();
    let mut problems = Vec::new();
    for dump in &dumps {
        if count <= keep && total <= keep_bytes {
            break;
        }
        if open.is_some_and(|o| o == dump.path) {
            continue;
        }
        // std's remove_dir_all never follows a link out of the tree.
        match std::fs::remove_dir_all(&dump.path) {
            Ok(()) => {
                count -= 1;
                total = total.saturating_sub(dump.bytes);
            }
            Err(e) => problems.push(format!("cannot remove {}: {e}", dump.path.display())),
        }
    }
    problems
}

/// The bytes of the files directly in `dir` (a dump holds segments and its lock only).
pub(super) fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|e| e.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}
