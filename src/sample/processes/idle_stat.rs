//! When an idle process's `stat` is read on its turn (every [`IDLE_STAT_EVERY`] ticks, spread
//! by pid): only while the kernel has reclaimed or swapped out pages within that many ticks
//! (`host::reclaim`), the way a sleeping process's RSS shrinks without it running. On a host
//! that reclaims nothing this spares a `stat` read per sleeping process per 16 ticks (~730 a
//! tick on an 11,700-process host: 16 % of the dashboard's samples).

use super::IDLE_STAT_EVERY;

/// True when the kernel reclaimed at a tick after this one's turn came last
/// (`reclaimed_at` within the last [`IDLE_STAT_EVERY`] ticks, `tick` included), or has not
/// been looked at yet. Reclaim seen at tick `r` (it happened after the counters were read at
/// `r - 1`) took pages after a turn at `r - 1` or before, and the next turn, at most
/// `IDLE_STAT_EVERY` ticks after that one, comes within the window.
pub(super) fn idle_stat_turns(reclaimed_at: Option<u32>, tick: u32) -> bool {
    reclaimed_at.is_none_or(|at| u64::from(tick.wrapping_sub(at)) < IDLE_STAT_EVERY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_turn_after_a_reclaim_comes_in_the_window() {
        assert!(idle_stat_turns(None, 0));
        // Reclaim seen at tick 100: each process's next turn is within 100..=115.
        for tick in 100..116 {
            assert!(idle_stat_turns(Some(100), tick), "{tick}");
        }
        assert!(!idle_stat_turns(Some(100), 116));
        assert!(!idle_stat_turns(Some(100), 5_000));
        // Around the wrap of the tick counter.
        assert!(idle_stat_turns(Some(u32::MAX), 3));
        assert!(!idle_stat_turns(Some(u32::MAX - 20), 3));
    }
}
