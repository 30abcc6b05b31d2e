//! The cache's lock and its left-overs.
//!
//! Contract: `<cache>/lock` is `flock`ed SHARED by every launch from before it looks a layer up
//! until its container record names the layer, and EXCLUSIVE by `isotop image prune` while it
//! decides and removes: a layer a launch is about to use is never pruned under it. The lock
//! goes with the process (a killed isotop holds nothing).
//!
//! Temporary entries (`tmp/<hex>-<pid>-<n>`, `tmp/spool-<pid>-<n>.tar`, `tmp/trash-<pid>-<n>`,
//! `default/tmp-<pid>-<n>`) name the process that made them; [`sweep`] removes those whose
//! process is gone (an unpack killed by SIGKILL or a crash) and leaves the ones of running
//! processes alone, so it is safe beside a concurrent unpack without taking the lock.

use std::fs::{self, File};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use rustix::fs::FlockOperation;

/// A held `flock` on the cache; released on drop.
#[derive(Debug)]
pub struct CacheLock {
    _file: File,
}

/// How often a launch waiting for the lock looks for a SIGINT/SIGTERM/SIGHUP, which it holds
/// back while it waits (see `interrupt`).
const WAIT_STEP: std::time::Duration = std::time::Duration::from_millis(50);

/// Takes the lock at `path` (created 0600 when missing), waiting for it; a watched signal
/// (see [`super::interrupt`]) ends the wait with an error.
pub fn take(path: &Path, exclusive: bool) -> io::Result<CacheLock> {
    let file = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_CLOEXEC)
        .open(path)?;
    let operation = if exclusive {
        FlockOperation::NonBlockingLockExclusive
    } else {
        FlockOperation::NonBlockingLockShared
    };
    loop {
        match rustix::fs::flock(&file, operation) {
            Ok(()) => return Ok(CacheLock { _file: file }),
            Err(rustix::io::Errno::INTR) => continue,
            Err(rustix::io::Errno::WOULDBLOCK) => {
                if let Some(signal) = super::interrupt::poll() {
                    return Err(io::Error::other(format!(
                        "interrupted by {signal} while waiting for the lock"
                    )));
                }
                std::thread::sleep(WAIT_STEP);
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// The pid a temporary entry's name carries: the second-to-last `-` field
/// (`<hex>-<pid>-<n>`, `spool-<pid>-<n>.tar`).
fn owner_pid(name: &str) -> Option<i32> {
    let mut fields = name.rsplit('-');
    fields.next()?;
    fields.next()?.parse().ok().filter(|pid| *pid > 0)
}

/// True when the process `pid` still exists (in isotop's own pid namespace, where the name was
/// made).
fn alive(pid: i32) -> bool {
    pid == std::process::id() as i32
        || Path::new("/proc").join(pid.to_string()).exists()
        || !Path::new("/proc/self").exists()
}

/// Removes every entry of `dir` whose name starts with `prefix` (empty: any) and names a
/// process that is gone; returns what it removed. A missing `dir` is nothing to sweep.
pub fn sweep(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with(prefix) {
            continue;
        }
        let Some(pid) = owner_pid(&name) else {
            continue;
        };
        if alive(pid) {
            continue;
        }
        let path = entry.path();
        let gone = match entry.file_type() {
            Ok(kind) if kind.is_dir() => fs::remove_dir_all(&path),
            _ => fs::remove_file(&path),
        };
        if gone.is_ok() {
            removed.push(path);
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_pids_are_read_from_every_temporary_name() {
        let hex = "a".repeat(64);
        assert_eq!(owner_pid(&format!("{hex}-123-4")), Some(123));
        assert_eq!(owner_pid("spool-77-0.tar"), Some(77));
        assert_eq!(owner_pid("tmp-9-1"), Some(9));
        assert_eq!(owner_pid("lock"), None);
        assert_eq!(owner_pid("x-0-1"), None);
    }

    #[test]
    fn only_entries_of_gone_processes_are_swept() {
        let tmp = tempfile::tempdir().unwrap();
        // pid_max is at most 2^22: this pid cannot exist.
        let dead = tmp.path().join("spool-4194399-0.tar");
        let mine = tmp
            .path()
            .join(format!("{}-{}-0", "b".repeat(64), std::process::id()));
        let dead_dir = tmp.path().join(format!("{}-4194399-1", "c".repeat(64)));
        fs::write(&dead, "x").unwrap();
        fs::create_dir(&mine).unwrap();
        fs::create_dir_all(dead_dir.join("usr/bin")).unwrap();
        let removed = sweep(tmp.path(), "");
        assert_eq!(removed.len(), 2, "{removed:?}");
        assert!(!dead.exists() && !dead_dir.exists() && mine.exists());
    }
}
