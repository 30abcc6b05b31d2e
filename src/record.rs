//! RECORD: the flight recorder's store. `isotop record` appends the sampler's frames to a
//! directory ([`Recorder`]); `isotop replay`, `isotop ls --at` and the other `--at` answers
//! read them back ([`Recording`]; `isotop replay` shows them in the dashboard through
//! [`replay::ReplaySource`]); the dashboard and `isotop serve` keep the last minutes
//! encoded in memory (`ring`) and write them out as a store when trouble fires ([`trouble`]).
//!
//! The store is a directory of segment files (`format` holds their layout: a versioned header,
//! then length-prefixed, checksummed records, one frame each). A record is only read back whole
//! and with its checksum right: a torn tail after a crash or power loss is skipped and reported,
//! never taken for a frame. One writer at a time: a [`Recorder`] holds an exclusive `flock` on
//! `lock` in the directory for as long as it lives.
//!
//! **Must not**: read the host (every figure is a frame's); compute a figure; be imported by
//! `host`, `sample` or `control`.

mod codec;
mod error;
mod format;
mod recording;
pub mod replay;
mod retention;
mod ring;
mod segment;
mod store;
pub mod trouble;

pub use error::RecordError;
pub use store::{FrameEntry, RecordOptions, Recorder, Recording};
