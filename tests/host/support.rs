//! Helpers of the host tests: the cgroup fixture trees, process values for container
//! identification, hostile runtime files, the packaging files under `deploy/`; and, from
//! `tests/shared`, root-free skips, drop guards, real OCI containers and the dashboard's test
//! frames.

#[path = "../shared/mod.rs"]
mod shared;

pub use shared::{block_io, bundle, common, containers, drive, fixture};

pub mod cgroup_fixture;
pub mod deploy;
pub mod follower;
pub mod hostile_files;
pub mod netns;
pub mod overlay_root;
pub mod procs;
pub mod psi;
pub mod recordings;
pub mod sampling;
pub mod scripted;
pub mod stores;
pub mod timing;
pub mod unshared;
