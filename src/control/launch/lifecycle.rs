//! STUB (helper C replaces): run, stop, rm, logs.
#![allow(unused_variables)]
use std::path::Path;
use std::time::Duration;

use super::fail::LaunchError;
use super::spec::RunSpec;
use crate::host::HostRoot;

/// A container that has started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Started {
    pub id: String,
    pub name: String,
    /// Its init, as a host pid.
    pub pid: i32,
}

/// Prepares the image, records the container and starts its supervisor (`exe supervise`);
/// returns once the command runs, or with the setup error and nothing left behind.
pub fn run_detached(host: &HostRoot, spec: RunSpec, exe: &Path) -> Result<Started, LaunchError> {
    unimplemented!("helper C")
}

/// How a stop went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stopped {
    pub id: String,
    pub name: String,
    /// True when TERM was not enough and KILL was sent.
    pub killed: bool,
    pub exit_code: Option<i32>,
}

/// TERM to the container's init, KILL after `timeout`; waits for the supervisor to record it.
pub fn stop(host: &HostRoot, target: &str, timeout: Duration) -> Result<Stopped, LaunchError> {
    unimplemented!("helper C")
}

/// Removes a stopped container (a running one only with `force`, which kills it first):
/// unmounts, deletes the writable layer, the cgroups, the veth, the record and the name.
pub fn remove(host: &HostRoot, target: &str, force: bool) -> Result<String, LaunchError> {
    unimplemented!("helper C")
}
