//! STUB (helper C replaces): one cgroup per container under `isotop`.
#![allow(unused_variables)]
use std::path::PathBuf;

use super::fail::LaunchError;
use crate::control::limits::LimitRequest;
use crate::host::HostRoot;

/// The directories of `/isotop/<id>` (each v1 hierarchy, or the one v2 dir).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerCgroups {
    pub path: String,
    pub dirs: Vec<PathBuf>,
}

/// Creates `/isotop/<id>` everywhere and applies `limits`; on failure nothing is left.
pub fn create(
    host: &HostRoot,
    id: &str,
    limits: &LimitRequest,
) -> Result<ContainerCgroups, LaunchError> {
    unimplemented!("helper C")
}

impl ContainerCgroups {
    /// Moves `pid` into every directory.
    pub fn add(&self, pid: i32) -> Result<(), LaunchError> {
        unimplemented!("helper C")
    }
}

/// Removes `/isotop/<id>` everywhere (killing what is left inside). Idempotent.
pub fn remove(host: &HostRoot, id: &str) -> Result<(), LaunchError> {
    unimplemented!("helper C")
}
