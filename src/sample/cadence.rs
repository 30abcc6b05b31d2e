//! How often an expensive part of the scan (the namespace table, the cgroup tree, the container
//! grouping) is redone: at most every `base` ticks when nothing forces it, as soon as something
//! forces it (processes came or went), but never more often than its measured cost allows.
//!
//! The cost rule keeps the sampler cheap on any host: a part whose last run took `cost` may run
//! only every ⌈cost / (interval × budget)⌉ ticks, so it uses at most `budget` (a fraction, e.g.
//! 0.03 = 3 %) of one CPU on average however large the host is. Between runs the previous
//! result is reused. A part's cost is the sampler thread's CPU time for the run ([`PartTimer`]):
//! the budget is a share of one CPU, and a host busy with other work stretches a run's wall
//! time (the thread waits for a CPU) without the part using more of one.

use std::time::{Duration, Instant};

/// One run of a part, timed two ways: wall time for the reports (`TickCosts`, the bench's
/// `--costs`), and the calling thread's CPU time (user and system, nanoseconds from
/// `CLOCK_THREAD_CPUTIME_ID`) for the cost rule.
#[derive(Debug, Clone, Copy)]
pub struct PartTimer {
    wall: Instant,
    cpu: Duration,
}

impl PartTimer {
    /// Starts timing on the calling thread (the one that will call [`PartTimer::cpu`]).
    pub fn start() -> PartTimer {
        PartTimer {
            wall: Instant::now(),
            cpu: thread_cpu_time(),
        }
    }

    /// Wall time since the start.
    pub fn wall(&self) -> Duration {
        self.wall.elapsed()
    }

    /// CPU time the calling thread used since the start.
    pub fn cpu(&self) -> Duration {
        thread_cpu_time().saturating_sub(self.cpu)
    }
}

/// The calling thread's CPU time since it began (zero if the clock cannot be read).
///
/// Through libc rather than rustix: rustix's first clock call looks for the vDSO at the
/// address the auxiliary vector names, which valgrind leaves unmapped — the sampler died at
/// its first tick under callgrind (`bench/symbol-order.sh` runs the dashboard there).
fn thread_cpu_time() -> Duration {
    nix::time::clock_gettime(nix::time::ClockId::CLOCK_THREAD_CPUTIME_ID)
        .map(Duration::from)
        .unwrap_or_default()
}

/// The refresh rule of one part.
#[derive(Debug, Clone)]
pub struct Cadence {
    /// Redo at least every `base` ticks (1 = every tick).
    base: u64,
    /// Share of one CPU this part may use on average (0.03 = 3 %).
    budget: f64,
    /// Never wait longer than this many ticks, whatever the cost.
    max_every: u64,
    last_tick: Option<u64>,
    /// Minimum ticks between runs from the last measured cost.
    cost_every: u64,
}

impl Cadence {
    pub fn new(base: u64, budget: f64, max_every: u64) -> Cadence {
        Cadence {
            base: base.max(1),
            budget: if budget > 0.0 { budget } else { 1.0 },
            max_every: max_every.max(1),
            last_tick: None,
            cost_every: 1,
        }
    }

    /// True when the part should run on `tick`: never run yet, forced, or `base` ticks passed,
    /// and in either of the last two cases the cost rule allows it.
    pub fn due(&self, tick: u64, forced: bool) -> bool {
        let Some(last) = self.last_tick else {
            return true;
        };
        let since = tick.saturating_sub(last);
        let allowed = since >= self.cost_every.min(self.max_every);
        allowed && (forced || since >= self.base.max(self.cost_every).min(self.max_every))
    }

    /// True when the part last ran `within` ticks or more before `tick` (or never): for a
    /// change that must not wait for the cost rule, yet may not make the part run every tick
    /// (a process could cause it every tick).
    pub fn due_within(&self, tick: u64, within: u64) -> bool {
        self.last_tick
            .is_none_or(|last| tick.saturating_sub(last) >= within.max(1))
    }

    /// Records a run on `tick` that used `cost` of CPU time ([`PartTimer::cpu`]), with ticks
    /// `interval` apart.
    pub fn ran(&mut self, tick: u64, cost: Duration, interval: Duration) {
        self.last_tick = Some(tick);
        let allowed = interval.as_secs_f64() * self.budget;
        self.cost_every = if allowed > 0.0 {
            (cost.as_secs_f64() / allowed).ceil().max(1.0) as u64
        } else {
            1
        };
    }

    /// Ticks the part currently waits at least between runs (for the bench's report).
    pub fn every(&self) -> u64 {
        self.cost_every.min(self.max_every)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn due_within_ignores_the_cost_rule_but_not_the_spacing() {
        let mut c = Cadence::new(5, 0.03, 30);
        assert!(c.due_within(0, 2));
        // A run that took a whole interval: the cost rule waits 30 ticks.
        c.ran(10, SECOND, SECOND);
        assert!(!c.due(11, true));
        assert!(!c.due_within(11, 2));
        assert!(c.due_within(12, 2));
        assert!(!c.due(12, true));
    }

    #[test]
    fn a_part_timer_counts_the_threads_cpu_not_its_sleep() {
        let timer = PartTimer::start();
        std::thread::sleep(Duration::from_millis(50));
        assert!(timer.wall() >= Duration::from_millis(50));
        assert!(timer.cpu() < Duration::from_millis(25), "{:?}", timer.cpu());
        // Spinning on this thread moves its CPU time (a loaded host only makes it take longer).
        let spin = Instant::now();
        while timer.cpu() < Duration::from_millis(10) && spin.elapsed() < Duration::from_secs(20) {
            std::hint::black_box(0u64);
        }
        assert!(
            timer.cpu() >= Duration::from_millis(10),
            "{:?}",
            timer.cpu()
        );
    }

    #[test]
    fn first_run_is_always_due() {
        assert!(Cadence::new(5, 0.03, 30).due(0, false));
    }

    #[test]
    fn cheap_part_runs_on_base_or_when_forced() {
        let mut c = Cadence::new(5, 0.03, 30);
        c.ran(0, Duration::from_millis(1), SECOND);
        assert!(!c.due(1, false));
        assert!(c.due(1, true));
        assert!(!c.due(4, false));
        assert!(c.due(5, false));
    }

    #[test]
    fn expensive_part_is_spaced_by_its_cost() {
        let mut c = Cadence::new(1, 0.03, 30);
        // 90 ms at a 3 % budget of 1 s: at most every 3 ticks, forced or not.
        c.ran(10, Duration::from_millis(90), SECOND);
        assert_eq!(c.every(), 3);
        assert!(!c.due(11, true));
        assert!(!c.due(12, true));
        assert!(c.due(13, true));
        assert!(c.due(13, false));
    }

    #[test]
    fn max_every_caps_the_wait() {
        let mut c = Cadence::new(5, 0.01, 8);
        c.ran(0, Duration::from_secs(10), SECOND);
        assert!(!c.due(7, false));
        assert!(c.due(8, false));
    }
}
