//! The shared vocabulary every consumer uses the same way: human formatting of figures
//! ([`format`](mod@format): bytes, durations, CPUs) and container ids as people see them ([`short_id()`]).
//! A leaf of the crate's reading side: the CLI and the dashboard both import from here, so the
//! UI never imports from `cli` (DESIGN.md's layout; issue 10 grows this module).

pub mod format;
pub mod short_id;

pub use short_id::{ShortIds, short_id};
