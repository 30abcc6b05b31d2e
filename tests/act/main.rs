//! Tests of isotop's acts on containers: limits (and their timed reverts), freeze, kill,
//! enter, the audit log, refusals on cgroups a container does not own, and targets named by
//! strangers.
//!
//! Nearly all need root (`#[ignore = "needs root"]`): run them as root with
//! `cargo test --locked -- --include-ignored`.

mod support;

mod cgroup_targets;
mod enter;
mod enter_confined;
mod freeze;
mod kill;
mod limits;
mod limits_cli;
mod limits_io;
mod log;
mod owned_cgroups;
mod read_only;
mod revert_crash;
mod target_hostile;
