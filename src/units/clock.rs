//! The wall clock, read the same way everywhere: time since the Unix epoch, in the unit the
//! caller's field names (`_ms`, `unix_seconds`). A clock set before 1970 reads as the epoch
//! (0), never an error or a panic: a stamp is information, not something to fail on.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Time since the Unix epoch, now (zero when the clock is set before it).
pub fn since_epoch() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> u64 {
    u64::try_from(since_epoch().as_millis()).unwrap_or(u64::MAX)
}

/// Whole seconds since the Unix epoch, now.
pub fn now_unix() -> u64 {
    since_epoch().as_secs()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_readings_agree() {
        let before = since_epoch();
        let ms = now_ms();
        let secs = now_unix();
        let after = since_epoch();
        assert!(before.as_millis() as u64 <= ms && ms <= after.as_millis() as u64);
        assert!(before.as_secs() <= secs && secs <= after.as_secs());
        // Past 2020-01-01 on any machine that runs the tests.
        assert!(ms > 1_577_836_800_000, "{ms}");
    }
}
