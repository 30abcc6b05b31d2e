//! isotop: containers the way the kernel sees them.
//!
//! The crate is split by verb (see DESIGN.md): `host` reads (pure functions of files under an
//! injected [`host::HostRoot`], never writes), `sample` turns reads into rates and history,
//! `control` acts on what exists (limits, freeze, kill, enter), `launch` is isotop's own
//! runtime (images and layers, the isolated container process, its cgroups and network, the
//! supervisor; `isotop run`), `control` and `launch` hold the raw syscalls (the only modules
//! allowed `unsafe`), `ui` draws the dashboard from sampled frames, and `cli` renders the
//! scriptable subcommands as tables or JSON from the same values the dashboard uses.
#![deny(unsafe_code)]

pub mod cli;
#[allow(unsafe_code)]
pub mod control;
pub mod host;
#[allow(unsafe_code)]
pub mod launch;
pub mod sample;
pub mod ui;
pub mod units;
