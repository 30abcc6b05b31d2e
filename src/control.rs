//! ACT side on what already exists: the audit log every act appends to, the refusals every act
//! checks first (`guard`), and the acts themselves: limits, freeze, signals, kill, enter.
//! Its raw system calls go through `crate::sys`; isotop's own runtime is `crate::launch`.

pub mod audit;
pub mod cgroup_target;
pub mod enter;
pub mod error;
pub mod freeze;
pub mod guard;
pub mod kill;
pub mod limits;
pub mod owned;
pub mod signal;

pub use error::ControlError;
