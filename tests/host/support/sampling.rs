//! Samplers for the live `sample_*` tests.

use isotop::host::HostRoot;
use isotop::sample::{Sampler, SamplerOptions};

/// Options under which every part runs as often as it is due, whatever it costs: a test must
/// not depend on how busy the machine is.
pub fn eager_options() -> SamplerOptions {
    SamplerOptions {
        part_budget: 1.0,
        ..SamplerOptions::default()
    }
}

/// A sampler of the live host with [`eager_options`].
pub fn eager_sampler() -> Sampler {
    Sampler::with_options(HostRoot::live(), eager_options())
}
