//! The shared vocabulary every consumer uses the same way: human formatting of figures
//! ([`mod@format`]: bytes, durations, percentages), limits as shown ([`limit`]: `max`, the value,
//! or `-`), container ids ([`ContainerId`] and its one validity check; [`short_id()`], the form
//! people see), the wall clock ([`clock`]), the kernel's units ([`kernel`]: page size,
//! clock ticks) and the capacity a list refilled every tick keeps ([`room`]).
//! A leaf of the crate's reading side: `host`, `control`, `launch`, the CLI and the dashboard
//! all import from here, so nothing outside `cli` imports from `cli` (ARCHITECTURE.md).
//! Nothing here draws, writes or touches a file.

pub mod clock;
pub mod container_id;
pub mod format;
pub mod kernel;
pub mod limit;
pub mod room;
pub mod short_id;

pub use clock::now_ms;
pub use container_id::ContainerId;
pub use limit::{bound_text, limit_text};
pub use short_id::{ShortIds, short_id};
