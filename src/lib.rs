//! isotop: containers the way the kernel sees them.
//!
//! The crate is split by verb (see DESIGN.md): `host` reads (pure functions of files under an
//! injected [`host::HostRoot`], never writes), `sample` turns reads into rates and history,
//! `control` acts on what exists (limits, freeze, kill, enter), `launch` is isotop's own
//! runtime, `sys` holds every raw system call (the one module whose code the compiler cannot
//! check for memory safety, each such block with a `// SAFETY:` line; the `[lints]` table of
//! Cargo.toml refuses them everywhere else), `ui` draws the dashboard from sampled frames,
//! and `cli` renders the scriptable subcommands as tables or JSON from the same values the
//! dashboard uses.

pub mod cli;
pub mod control;
pub mod host;
pub mod launch;
pub mod sample;
pub mod sys;
pub mod ui;
pub mod units;
