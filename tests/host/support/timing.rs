//! Tests that load every CPU (PSI bursts: more busy processes than the 2-CPU emulated VM has
//! CPUs) and tests with deadlines on a sampler's ticks must not overlap: in the VM a burst
//! beside `isotop events --follow` left the follower without a tick for seconds, and the
//! burst test's own sampler missed its event (CI). They run one at a time.

use std::sync::{Mutex, MutexGuard};

static TIMED: Mutex<()> = Mutex::new(());

/// Held for the whole test: no other test that holds it runs meanwhile.
pub fn one_at_a_time() -> MutexGuard<'static, ()> {
    TIMED.lock().unwrap_or_else(|e| e.into_inner())
}
