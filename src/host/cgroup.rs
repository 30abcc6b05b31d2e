//! Cgroups on v1, v2 and hybrid hosts, read as typed values.
//!
//! Contract: [`detect_layout`] finds the mounted hierarchies in mountinfo; [`read_at`],
//! [`read_for_memberships`] ([`read_shared_for_limits`] without the count), [`read_own`], [`read_tree`],
//! [`read_tree_counted`] and [`read_tree_reusing`] (taking readings made this tick of the same
//! directories, [`OwnReadings`]) turn one cgroup (or a subtree) into
//! [`CgroupReading`]s whose fields carry their units in their names, whose limits are
//! [`Limit`]s (never `-1`), whose block I/O ([`IoStats`], module [`io`]) names its devices,
//! and whose every figure names the kernel file it came from
//! (`sources`). Reading never writes. A cgroup that does not exist or vanishes mid-read is
//! `Ok(None)` (skipped in trees); a missing, unreadable or garbled file leaves its field `None`
//! (with a note for the last two), never an error. Cgroup paths are absolute even when isotop
//! runs in a cgroup namespace of its own ([`namespace_root`]). [`CgroupDirs`] keeps cgroup
//! directories open for a caller reading the same cgroups tick after tick (the sampler).

mod controllers;
mod dirs;
pub mod io;
mod layout;
mod limit;
pub mod namespace_root;
pub mod parse;
mod placement;
mod read;
mod session;
mod stats;
mod tree;

pub use dirs::CgroupDirs;
pub use io::{IoCounters, IoDevice, IoStats};
pub use layout::{CgroupLayout, CgroupMode, Hierarchy, detect_layout};
pub use limit::{InheritedLimit, Limit};
pub use parse::cpu_limit_cpus;
pub use read::{
    CgroupReading, KeptLimits, normalize_path, read_at, read_for_memberships, read_own,
    read_own_keeping, read_shared_for_limits,
};
pub use stats::{
    CgroupLimits, CpuStats, FreezerState, MemoryEvents, MemoryStats, PidsStats, Pressure,
    PressureFile, PressureLine,
};
pub use tree::{
    CgroupNode, ChildListings, CountPlan, CountedTree, LIST_EVERY, OwnReadings, read_tree,
    read_tree_counted, read_tree_reusing,
};
