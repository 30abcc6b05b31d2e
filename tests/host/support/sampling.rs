//! Samplers for the live `sample_*` tests.

use isotop::host::HostRoot;
use isotop::sample::{Sampler, SamplerOptions};

/// Options under which every part runs as often as it is due, whatever it costs: a test must
/// not depend on how busy the machine is. The budget is unbounded, not 100 % of a CPU: the
/// cost rule measures a part against the time between ticks, and a test that ticks in a quick
/// loop (waiting for something to appear) then spaces its ticks seconds apart would otherwise
/// have the cgroup tree skipped on the later tick and read stale rates (sample_io failed so).
pub fn eager_options() -> SamplerOptions {
    SamplerOptions {
        part_budget: f64::INFINITY,
        ..SamplerOptions::default()
    }
}

/// A sampler of the live host with [`eager_options`].
pub fn eager_sampler() -> Sampler {
    Sampler::with_options(HostRoot::live(), eager_options())
}
