//! ACT side and raw syscalls: the only module allowed `unsafe`, each use with a `// SAFETY:` line.
//!
//! It holds the nsfs ioctls the namespace reader needs (`NS_GET_PARENT`, `NS_GET_USERNS`,
//! `NS_GET_NSTYPE`, `NS_GET_OWNER_UID`), the audit log every act appends to, the refusals every
//! act checks first (`guard`), and the acts themselves: limits, freeze, signals, kill, enter,
//! and isotop's own runtime (`launch`: images, the container process, overlay, cgroups, network,
//! the supervisor, run/stop/rm/logs).

pub mod audit;
pub mod enter;
pub mod error;
pub mod freeze;
pub mod guard;
pub mod kill;
pub mod limits;
pub mod nsfs;
pub mod owned;
pub mod signal;

pub use error::ControlError;
