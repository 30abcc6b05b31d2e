//! How long to wait before the next try to reconnect: exponential from [`FIRST`] (1 s) to
//! [`LAST`] (30 s), each wait jittered by up to ±20 % so that dashboards that lost the same
//! host at once do not all knock again in the same second. Back to the first after a success.

use std::time::Duration;

/// The first wait.
pub const FIRST: Duration = Duration::from_secs(1);
/// The longest wait.
pub const LAST: Duration = Duration::from_secs(30);

/// The waits between tries.
#[derive(Debug, Clone)]
pub struct Backoff {
    next: Duration,
    /// A small xorshift state for the jitter (no need for a random-number crate).
    seed: u64,
}

impl Default for Backoff {
    fn default() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        Backoff {
            next: FIRST,
            seed: (u64::from(nanos) << 16) ^ u64::from(std::process::id()) | 1,
        }
    }
}

impl Backoff {
    /// The wait before the next try; the one after is twice as long (up to [`LAST`]).
    pub fn next_wait(&mut self) -> Duration {
        let base = self.next;
        self.next = (self.next * 2).min(LAST);
        // xorshift64: a jitter factor in [0.8, 1.2].
        self.seed ^= self.seed << 13;
        self.seed ^= self.seed >> 7;
        self.seed ^= self.seed << 17;
        let unit = (self.seed % 10_001) as f64 / 10_000.0;
        base.mul_f64(0.8 + 0.4 * unit).min(LAST)
    }

    /// A try succeeded: the next loss waits [`FIRST`] again.
    pub fn reset(&mut self) {
        self.next = FIRST;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_up_to_thirty_seconds_with_jitter() {
        let mut backoff = Backoff::default();
        let waits: Vec<f64> = (0..8).map(|_| backoff.next_wait().as_secs_f64()).collect();
        let bases = [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0];
        for (wait, base) in waits.iter().zip(bases) {
            assert!(
                *wait >= base * 0.8 - 1e-9 && *wait <= (base * 1.2).min(30.0) + 1e-9,
                "{waits:?}"
            );
        }
        backoff.reset();
        assert!(backoff.next_wait() <= Duration::from_millis(1200));
    }
}
