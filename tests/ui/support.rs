//! Helpers of the UI tests, all from `tests/shared`: fixed frames and the app driver (also
//! used by the host tests' hostile-file cases), tmux sessions (also the act tests'), skips,
//! drop guards and real OCI containers.

#[path = "../shared/mod.rs"]
mod shared;

pub use shared::{block_io, bundle, common, containers, drive, fixture, tmux};
