//! isotop: containers the way the kernel sees them.
//!
//! The crate is split by verb (see DESIGN.md): `host` reads (pure functions of files under an
//! injected [`host::HostRoot`], never writes), `control` holds the few raw syscalls the readers
//! and, later, the acts need (the only module allowed `unsafe`), and `cli` renders the
//! scriptable subcommands as tables or JSON from the same values the dashboard will use.
#![deny(unsafe_code)]

pub mod cli;
#[allow(unsafe_code)]
pub mod control;
pub mod host;
pub mod sample;
pub mod ui;
