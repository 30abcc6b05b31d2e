//! isotop: containers the way the kernel sees them.
//!
//! The crate is split by verb (ARCHITECTURE.md at the top of the repository is the map):
//! `host` reads (pure functions of files under an injected [`host::HostRoot`], never writes),
//! `sample` turns reads into rates and history, `control` acts on what exists (limits, freeze,
//! kill, enter), `launch` is isotop's own runtime, `sys` holds every raw system call (the one
//! module whose code the compiler cannot check for memory safety, each such block with a
//! `// SAFETY:` line; the `[lints]` table of Cargo.toml refuses them everywhere else), `units`
//! is the vocabulary all of them share, `ui` draws the dashboard from sampled frames, and
//! `cli` renders the scriptable subcommands as tables or JSON from the same values the
//! dashboard uses, and `remote` carries frames and acts between a dashboard and `isotop agent`
//! on another host over ssh.

// A `pub` no one outside the crate can reach says `pub(crate)`, so the compiler shows dead code
// (binary-only modules such as `cli` are private). Its fix is machine-applicable:
// `cargo fix --lib --allow-dirty`.
#![warn(unreachable_pub)]

mod cli;
pub mod control;
pub mod host;
pub mod launch;
pub mod record;
pub mod remote;
pub mod sample;
pub mod serve;
pub mod sys;
pub mod ui;
pub mod units;

/// The `isotop` binary: parses the command line, runs the subcommand (without one, the
/// dashboard), and on failure prints the error and exits with its code (1 the host could not be
/// read, 2 the user's own mistake). `cli` itself is private: nothing outside the crate uses it.
pub fn cli_main() {
    cli::main();
}

/// The text `isotop ls --json --at T --from DIR` prints when `frame` is the recording's frame
/// at or before T, made by the subcommand's own builder: the recorder's scenario test
/// (tests/host/record_scenario.rs) holds the binary's answer to it for the live frames.
#[doc(hidden)]
pub fn ls_json_of_frame(frame: &sample::Frame) -> Result<String, String> {
    cli::ls_json_of_frame(frame)
}
