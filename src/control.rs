//! ACT side and raw syscalls: the only module allowed `unsafe`, each use with a `// SAFETY:` line.
//!
//! For now it holds the nsfs ioctls the namespace reader needs (`NS_GET_PARENT`,
//! `NS_GET_USERNS`, `NS_GET_NSTYPE`, `NS_GET_OWNER_UID`); limits, signals, freeze, enter and
//! launch come with later issues.

pub mod nsfs;
