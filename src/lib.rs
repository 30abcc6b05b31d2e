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
// A `pub` no one outside the crate can reach says `pub(crate)`, so the compiler shows dead code
// (binary-only modules such as `cli` are private). Its fix is machine-applicable:
// `cargo fix --lib --allow-dirty`.
#![warn(unreachable_pub)]

mod cli;
#[allow(unsafe_code)]
pub mod control;
pub mod host;
#[allow(unsafe_code)]
pub mod launch;
pub mod sample;
pub mod ui;
pub mod units;

/// The `isotop` binary: parses the command line, runs the subcommand (without one, the
/// dashboard), and on failure prints the error and exits with its code (1 the host could not be
/// read, 2 the user's own mistake). `cli` itself is private: nothing outside the crate uses it.
pub fn cli_main() {
    cli::main();
}
