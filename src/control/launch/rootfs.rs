//! STUB (helper A replaces): the container's root file system on the host.
#![allow(unused_variables)]
use std::path::{Path, PathBuf};

use super::fail::LaunchError;
use super::spec::Volume;
use crate::host::HostRoot;

/// The default image: a generated skeleton layer plus read-only binds of the host's programs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefaultImage {
    /// The skeleton layer directory (lowest overlay layer).
    pub layer: PathBuf,
    /// Read-only host directories bound into the container (e.g. /usr).
    pub binds: Vec<Volume>,
    /// Shown as the container's image.
    pub label: String,
}

pub fn default_image(host: &HostRoot) -> Result<DefaultImage, LaunchError> {
    unimplemented!("helper A")
}

/// Mounts overlay `lower` (lowest first) + `upper`/`work` at `target` in the caller's mount
/// namespace.
pub fn mount_overlay(
    lower: &[PathBuf],
    upper: &Path,
    work: &Path,
    target: &Path,
) -> Result<(), LaunchError> {
    unimplemented!("helper A")
}

/// Unmounts `target` if mounted (detaching), idempotent.
pub fn unmount_rootfs(target: &Path) -> Result<(), LaunchError> {
    unimplemented!("helper A")
}
