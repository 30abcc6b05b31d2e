//! STUB (helper A replaces): the container process, cloned into new namespaces.
#![allow(unused_variables, dead_code)]
use std::os::fd::OwnedFd;
use std::path::PathBuf;

use super::fail::LaunchError;
use super::spec::{NetMode, Volume};

/// A user-namespace mapping: container ids 0..count → host ids host_uid.., host_gid...
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdMap {
    pub host_uid: u32,
    pub host_gid: u32,
    pub count: u32,
}

/// Everything the container process needs; consumed by [`create`].
#[derive(Debug)]
pub struct ChildConfig {
    /// The mounted overlay (or any directory) to pivot_root into.
    pub rootfs: PathBuf,
    /// argv[0] is looked up in the container's PATH when it has no `/`.
    pub argv: Vec<String>,
    /// `KEY=VALUE`.
    pub env: Vec<String>,
    pub cwd: String,
    pub hostname: String,
    /// Bind mounts, applied in order (the default image's read-only binds first).
    pub volumes: Vec<Volume>,
    pub net: NetMode,
    pub userns: Option<IdMap>,
    pub stdin: OwnedFd,
    pub stdout: OwnedFd,
    pub stderr: OwnedFd,
    /// stdin is a pty slave: make it the controlling terminal (setsid + TIOCSCTTY).
    pub tty: bool,
}

/// A cloned container process, stopped before `exec` until [`Pending::start`].
#[derive(Debug)]
pub struct Pending {
    pid: i32,
}

/// Clones the container process into new pid, mnt, uts, ipc, net (unless host) and user
/// (when asked) namespaces; it waits for [`Pending::start`].
pub fn create(config: ChildConfig) -> Result<Pending, LaunchError> {
    unimplemented!("helper A")
}

impl Pending {
    /// The container's init as a host pid.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// Lets it run its setup and exec; returns once exec succeeded, or the error it reported
    /// (the process is then reaped).
    pub fn start(self) -> Result<i32, LaunchError> {
        unimplemented!("helper A")
    }

    /// Kills and reaps it (setup elsewhere failed).
    pub fn abort(self) {
        unimplemented!("helper A")
    }
}
