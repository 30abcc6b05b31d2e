//! The rate cap of a walk: entry `n` is admitted only once `(n - burst) / cap` seconds have
//! passed since the walk began, by the [`Observer`]'s clock; until then the walk pauses in
//! slices of at most [`MAX_PAUSE`], checking the cancel flag between them.
//!
//! Contract: with a cap, at every admitted entry `entries <= burst + cap × elapsed` holds,
//! where the burst is a tenth of a second's worth (at least 1); without one, nothing waits.

use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use super::{Cancel, Observer};

/// The longest single pause: a cancel is noticed within it.
pub(crate) const MAX_PAUSE: Duration = Duration::from_millis(100);

/// Paces one walk.
pub(super) struct Pacer {
    cap: Option<NonZeroU32>,
    burst: u64,
    started: Instant,
}

/// The walk was cancelled while it waited.
pub(super) struct Cancelled;

impl Pacer {
    pub(super) fn new(cap: Option<NonZeroU32>, observer: &mut dyn Observer) -> Self {
        Pacer {
            cap,
            burst: cap.map_or(0, |c| u64::from(c.get() / 10).max(1)),
            started: observer.now(),
        }
    }

    /// Waits until `entries` may have been examined.
    pub(super) fn admit(
        &self,
        entries: u64,
        observer: &mut dyn Observer,
        cancel: &Cancel,
    ) -> Result<(), Cancelled> {
        let Some(cap) = self.cap else {
            return Ok(());
        };
        let Some(over) = entries.checked_sub(self.burst) else {
            return Ok(());
        };
        // The moment (since the start) entry number `entries` is due, in nanoseconds.
        let due_ns = u128::from(over) * 1_000_000_000 / u128::from(cap.get());
        loop {
            let elapsed = observer.now().saturating_duration_since(self.started);
            let Some(wait_ns) = due_ns.checked_sub(elapsed.as_nanos()).filter(|w| *w > 0) else {
                return Ok(());
            };
            if cancel.is_cancelled() {
                return Err(Cancelled);
            }
            let wait = Duration::from_nanos(u64::try_from(wait_ns).unwrap_or(u64::MAX));
            observer.pause(wait.min(MAX_PAUSE));
        }
    }
}
