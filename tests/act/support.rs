//! Helpers of the act tests: containers made by hand (`unshare`) for the act and `enter`
//! tests; and, from `tests/shared`, skips, drop guards, real OCI containers, isotop's own
//! containers and tmux sessions.

#[path = "../shared/mod.rs"]
mod shared;

pub use shared::{block_io, bundle, common, containers, tmux};

pub mod container;
pub mod fake_container;
