//! SAMPLE side: a task that reads the host every tick and turns consecutive reads into rates.
//!
//! The sampler owns its caches (per-pid data that does not change while a process lives is
//! read once per process, keyed by pid and start time; a tick lists `/proc` and reads a
//! process's `schedstat`, and its `stat` only when it ran: [`processes`]) and sends each
//! tick's [`Frame`] — owned, then shared by `Arc` past the channel — to the app
//! loop. The app loop feeds frames into a [`History`] it owns (bounded ring buffers per
//! container and cgroup), so history is never copied between tasks.
//!
//! The sampler does not call `host::scan`: it reads the host through the same read-side
//! parts (`find_containers`, `namespace::build_table`, `host::container::measure`) with its
//! own incremental process table, so each tick lists `/proc` once. Every rate is computed in
//! [`rates`]. Each running container's file-system stack ([`stacks`]) rides along in the
//! frames, shared by `Arc` between them, and, when the options ask, its layers' sizes
//! ([`stacks::sizes`], walked by the [`sizer`] thread). Pressure that a PSI trigger saw
//! comes from the [`pressure_triggers`] thread, drained each tick into the events.

pub mod cadence;
pub mod cgroups;
pub mod containers;
pub mod events;
pub mod frame;
pub mod history;
pub mod net;
pub mod pods;
pub mod pressure_triggers;
pub mod processes;
pub mod rates;
pub mod sampler;
pub mod sizer;
pub mod stacks;
pub mod summary;
pub mod task;

pub use events::{EventDetector, EventInputs, EventThresholds};
pub use frame::{CgroupSample, ContainerSample, Frame, HostSummary, LayerSize, ProcessSample};
pub use history::{History, Point, SeriesKey};
pub use pods::PodSample;
pub use processes::{Lifecycle, ProcessKey, ProcessTable};
pub use sampler::{Sampler, SamplerOptions, TickCosts};
pub use sizer::{SizeEvent, SizerHandle, SizerOptions, WorkerPriority, spawn_sizer};
pub use stacks::sizes::LayerSizing;
pub use task::{FrameReceiver, SamplerControl, SamplerHandle, spawn, spawn_sampler};
