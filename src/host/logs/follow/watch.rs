//! The inotify side of following: one inotify instance per follower watching the log's
//! directory (a file created, renamed in or out, removed: rotation) and each file being read
//! (written, truncated, renamed, removed), through rustix's safe inotify calls.
//!
//! Contract: [`Watch::wait`] returns when anything watched happened or the time is up; the
//! events themselves are only wake-ups (the follower re-reads what it follows after each, so an
//! event lost to a queue overflow costs nothing). A file is watched by its open descriptor
//! (`/proc/self/fd/N`), so the inode being read is the one watched, whatever its name is now.
//! Without inotify (no instance left, a directory that does not exist yet) the caller waits in
//! short steps instead ([`FALLBACK_STEP`]).

use std::fs::File;
use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;
use std::time::Duration;

use rustix::event::{PollFd, PollFlags, Timespec, poll};
use rustix::fs::inotify::{self, CreateFlags, WatchFlags};

/// How long a follower without a directory watch waits before it looks again.
pub(crate) const FALLBACK_STEP: Duration = Duration::from_millis(250);

/// A follower's inotify instance.
#[derive(Debug)]
pub(crate) struct Watch {
    fd: OwnedFd,
    /// The log's directory is watched (rotation and creation are seen as they happen).
    pub dir_watched: bool,
}

impl Watch {
    /// An instance watching `dir`; `None` when the kernel gives none.
    pub(crate) fn new(dir: &Path) -> Option<Watch> {
        let fd = inotify::init(CreateFlags::NONBLOCK | CreateFlags::CLOEXEC).ok()?;
        let flags = WatchFlags::CREATE
            | WatchFlags::MOVED_TO
            | WatchFlags::MOVED_FROM
            | WatchFlags::DELETE
            | WatchFlags::ONLYDIR;
        let dir_watched = inotify::add_watch(&fd, dir, flags).is_ok();
        Some(Watch { fd, dir_watched })
    }

    /// Watches the file `file` is open on; its watch descriptor, `None` when refused.
    pub(crate) fn add_file(&self, file: &File) -> Option<i32> {
        let flags = WatchFlags::MODIFY
            | WatchFlags::ATTRIB
            | WatchFlags::CLOSE_WRITE
            | WatchFlags::MOVE_SELF
            | WatchFlags::DELETE_SELF;
        let link = format!("/proc/self/fd/{}", file.as_raw_fd());
        inotify::add_watch(&self.fd, link.as_str(), flags).ok()
    }

    /// Stops watching a file (it is no longer read).
    pub(crate) fn remove(&self, wd: i32) {
        // The watch is gone already when its file was removed: nothing to undo then.
        let _ = inotify::remove_watch(&self.fd, wd);
    }

    /// Waits until something watched happened or `timeout` passed; true when something did.
    pub(crate) fn wait(&self, timeout: Duration) -> bool {
        let mut fds = [PollFd::new(&self.fd, PollFlags::IN)];
        let timespec = Timespec {
            tv_sec: timeout.as_secs().try_into().unwrap_or(i64::MAX),
            tv_nsec: timeout.subsec_nanos().into(),
        };
        let ready = matches!(poll(&mut fds, Some(&timespec)), Ok(n) if n > 0);
        if ready {
            self.drain();
        }
        ready
    }

    /// Reads every queued event away (they only wake the follower).
    fn drain(&self) {
        let mut buf = [MaybeUninit::<u8>::uninit(); 4096];
        let mut reader = inotify::Reader::new(&self.fd, &mut buf);
        // Stops at EAGAIN (nothing more queued) or any other error.
        while reader.next().is_ok() {}
    }
}
