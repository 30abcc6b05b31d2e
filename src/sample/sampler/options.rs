//! What a [`super::Sampler`] is told ([`SamplerOptions`]: how often its slower parts are redone
//! and their share of a CPU) and what it reports of each tick ([`TickCosts`]: where the time
//! went, for the benchmark and the status line).

use std::time::Duration;

use crate::sample::events::EventThresholds;
use crate::sample::pressure_triggers::TriggerStatus;
use crate::sample::stacks::sizes::LayerSizing;

/// How often the slower parts of a tick are redone (in ticks) and how much CPU each may use.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SamplerOptions {
    /// Re-read each process's namespaces, cgroups, cmdline and owner every this many ticks.
    pub reread_every: u64,
    /// Regroup containers at least every this many ticks (and whenever processes change).
    pub containers_every: u64,
    /// Re-read the cgroup tree every this many ticks.
    pub cgroups_every: u64,
    /// Rebuild the namespace table at least every this many ticks (and when processes change).
    pub namespaces_every: u64,
    /// Share of one CPU each of those three parts may use on average (0.01 = 1 %).
    pub part_budget: f64,
    /// Re-read user names every this many ticks.
    pub users_every: u64,
    /// Re-read every container's stack at least every this many ticks (a new container's, or
    /// one whose init changed, at once). 60: a stack changes only when someone mounts in a
    /// running container, shown within a minute at the usual 1 s interval, while a batch read
    /// costs about a container's mountinfo and isotop's own each (see the cost list above).
    pub stacks_every: u64,
    /// Which layers to size in the background (default: none, no thread).
    pub layer_sizing: LayerSizing,
    /// How long a writable layer's size stays fresh before it is walked again.
    pub writable_every: Duration,
    /// While the network map is wanted, read it again at least every this many ticks (and
    /// whenever the set of network namespaces changed), within `part_budget`. 5: addresses,
    /// routes and bridge ports change rarely, and the view's traffic figures come from the
    /// every-tick counters, not from the map.
    pub net_map_every: u64,
    /// When throttling and pressure become events (`sample::events`).
    pub events: EventThresholds,
    /// Watch the containers' and cgroups' pressure with PSI triggers on a thread of their own
    /// (`sample::pressure_triggers`) where the kernel takes them; off: `some avg10` only.
    pub pressure_triggers: bool,
}

impl Default for SamplerOptions {
    fn default() -> Self {
        SamplerOptions {
            reread_every: 300,
            containers_every: 10,
            cgroups_every: 1,
            namespaces_every: 5,
            part_budget: 0.01,
            users_every: 60,
            stacks_every: 60,
            layer_sizing: LayerSizing::Off,
            writable_every: Duration::from_secs(60),
            net_map_every: 5,
            events: EventThresholds::default(),
            pressure_triggers: true,
        }
    }
}

/// Where the last tick's time went (for the benchmark and the status line).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TickCosts {
    pub total: Duration,
    pub processes: Duration,
    /// Measuring each container (`host::container::measure`, its cgroup files), every tick.
    pub container_samples: Duration,
    /// Building the frame's process list, pods and summary from what was read (no reads).
    pub frame: Duration,
    /// `None` when the part was not redone this tick.
    pub containers: Option<Duration>,
    pub cgroups: Option<Duration>,
    pub namespaces: Option<Duration>,
    /// Reading the stacks that were due (`None` when none was).
    pub stacks: Option<Duration>,
    /// Asking the sizer and taking its answers in (`None` with sizing off).
    pub layer_sizes: Option<Duration>,
    /// Reading the network namespaces' counters and making their rates (`None` when there was
    /// no namespace to read: no container with one of its own, map not wanted).
    pub net: Option<Duration>,
    /// Reading the network map (`None` when not read this tick).
    pub net_map: Option<Duration>,
    /// Comparing the tick with the previous one for events, the logs read on demand included
    /// (`sample::events`), and taking in the PSI triggers that fired.
    pub events: Option<Duration>,
    /// What the PSI triggers' thread has armed (`armed` 0: pressure is sampled only).
    pub pressure_triggers: TriggerStatus,
}
