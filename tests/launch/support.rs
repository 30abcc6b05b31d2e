//! Helpers of the launch tests: image archives built in memory, the container-process
//! harness of `isolate`, the static probe of `confine` (`support/probe.c`); and, from
//! `tests/shared`, skips, drop guards and isotop's own containers run through the binary.

#[path = "../shared/mod.rs"]
mod shared;

pub use shared::{common, containers};

pub mod archives;
pub mod isolate_harness;
