//! Helpers shared by more than one test crate (`host`, `act`, `launch`, `ui`): each crate's
//! `support.rs` includes this folder once and re-exports the modules it uses. Helpers used by
//! one crate only live in that crate's `support/` folder instead.
// Each crate compiles all of this folder but calls only its own subset, so a helper another
// crate needs is dead code in this one: the allowance covers this folder alone (each crate's
// own `support/` modules keep the lint).
#![allow(dead_code)]

pub mod block_io;
pub mod bundle;
pub mod common;
pub mod containers;
pub mod drive;
pub mod fixture;
pub mod tmux;
