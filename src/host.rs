//! READ side: turns files under a [`HostRoot`] into plain values, never writes to the host.
//!
//! Every reader takes `&HostRoot`, so the same code runs on the live host, on a host whose
//! `/proc` is mounted elsewhere (isotop inside a container: `--root /host`), and on fixture trees
//! in tests. This file is the only place the host paths `/proc`, `/sys`, `/run`, `/var/lib` and
//! `/etc` are spelled. Vanishing is normal: a process or cgroup that disappears mid-read is
//! skipped (`Ok(None)`), never an error.

pub mod cgroup;
pub mod container;
pub mod diff;
pub mod error;
pub mod events;
pub mod layers;
pub mod logs;
pub mod mounts;
pub mod namespace;
pub mod net;
pub mod process;
pub mod reclaim;
pub mod runtime;
pub mod scan;
pub mod stack;
pub mod text;
pub mod usage;
pub mod users;
pub mod whole_file;

use std::path::{Path, PathBuf};

pub use error::HostError;
pub use scan::{Snapshot, scan};

/// Where the host's pseudo and state file systems are found.
///
/// `HostRoot::live()` is the running host; `HostRoot::under("/host")` a host mounted elsewhere or
/// a fixture tree laid out like a root file system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostRoot {
    /// The prefix every absolute host path is resolved under (`/` on the live host).
    pub prefix: PathBuf,
    /// procfs (`/proc`).
    pub proc: PathBuf,
    /// sysfs (`/sys`); cgroup mounts found in mountinfo resolve under `prefix`.
    pub sys: PathBuf,
    /// Runtime state (`/run`): runc, crun, containerd, docker netns, `ip netns`.
    pub run: PathBuf,
    /// Persistent runtime state (`/var/lib`): docker, containers/storage, lxc.
    pub var_lib: PathBuf,
    /// Configuration (`/etc`): user names.
    pub etc: PathBuf,
    /// True when this is the live host, so namespace files may be opened for ioctls and pids
    /// refer to real processes. Fixture roots set it false.
    pub live: bool,
}

impl HostRoot {
    /// The running host, as seen from isotop's own mount namespace.
    pub fn live() -> Self {
        let mut root = Self::under(Path::new("/"));
        root.live = true;
        root
    }

    /// A host (or fixture) laid out as a root file system under `prefix`.
    pub fn under(prefix: &Path) -> Self {
        HostRoot {
            prefix: prefix.to_path_buf(),
            proc: prefix.join("proc"),
            sys: prefix.join("sys"),
            run: prefix.join("run"),
            var_lib: prefix.join("var/lib"),
            etc: prefix.join("etc"),
            live: false,
        }
    }

    /// Maps an absolute path as the host names it (a mount point from mountinfo, a path in a
    /// runtime's state file) to where this process can read it.
    ///
    /// A path already under the prefix is taken as is: isotop in a container reads its own
    /// mountinfo, where the host's bind-mounted trees already appear under `/host`.
    pub fn host_path(&self, absolute: &Path) -> PathBuf {
        if self.prefix != Path::new("/") && absolute.starts_with(&self.prefix) {
            return absolute.to_path_buf();
        }
        let relative = absolute.strip_prefix("/").unwrap_or(absolute);
        if let Ok(rest) = relative.strip_prefix("proc") {
            return self.proc.join(rest);
        }
        self.prefix.join(relative)
    }

    /// `/proc/<pid>` on this host.
    pub fn pid_dir(&self, pid: i32) -> PathBuf {
        self.proc.join(pid.to_string())
    }

    /// `/proc/self`: isotop's own process (only meaningful on the live host).
    pub fn self_dir(&self) -> PathBuf {
        self.proc.join("self")
    }
}

/// Reads a whole small file as text; `Ok(None)` when it does not exist (vanished or absent).
pub fn read_optional(path: &Path) -> Result<Option<String>, HostError> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
        Err(e) if error::is_vanished(&e) => Ok(None),
        Err(e) => Err(HostError::io(path, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_paths_resolve_under_the_prefix_once() {
        let root = HostRoot::under(Path::new("/host"));
        assert_eq!(
            root.host_path(Path::new("/sys/fs/cgroup/cpu")),
            PathBuf::from("/host/sys/fs/cgroup/cpu")
        );
        assert_eq!(
            root.host_path(Path::new("/host/sys/fs/cgroup")),
            PathBuf::from("/host/sys/fs/cgroup")
        );
        assert_eq!(
            root.host_path(Path::new("/proc/12/ns/net")),
            PathBuf::from("/host/proc/12/ns/net")
        );
        let live = HostRoot::live();
        assert_eq!(
            live.host_path(Path::new("/run/netns/x")),
            PathBuf::from("/run/netns/x")
        );
        assert!(live.live && !root.live);
    }
}
