//! [`ProcessRates`]: what the table keeps per process beside its shared record, packed (64
//! bytes; 11,700 processes hold ~730 KiB of them): ticks of the table as `u32` (wraps after
//! 2^32 refreshes, 136 years at 1 s), the `/proc/PID` inode as `u32` (procfs numbers them
//! from the kernel's 32-bit `get_next_ino`), `schedstat`'s pair as its runtime and the low
//! 32 bits of its count (compared for equality only), and the booleans as bits.

use crate::host::process::proc_dir::SchedStat;
use crate::sample::rates::cpu_percent_from_ticks;

/// It ran between its last two checks: checked again every tick.
/// How many ticks after it was first seen a process is re-read in full (namespaces, cgroups,
/// owner) whether it ran or not: a runtime moves a fresh init into its cgroups, or a launcher
/// its child, while it waits; later moves are seen by a namespace change of a process that
/// ran, or the periodic re-read.
pub(super) const YOUNG_TICKS: u32 = 3;

const HOT: u8 = 1;
/// `schedstat` was usable at the last read (the pair below means something).
const SCHED_READ: u8 = 2;
/// ... and counted schedules (`pcount` > 0: the kernel keeps sched_info).
const SCHED_COUNTS: u8 = 4;
/// A slot of the table with no process yet (opened for a new pid, or left by a gone one).
const VACANT: u8 = 8;
/// It ran (or may have: no check could tell) since its last full read: its namespaces, command
/// line and owner may have changed (only the process itself changes those).
const RAN_SINCE_FULL_READ: u8 = 16;

/// Per-process figures the table keeps beside the [`crate::host::process::Process`] record.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProcessRates {
    /// Share of one CPU over the last interval, percent (`None` on the first tick seen).
    pub cpu_percent: Option<f64>,
    /// `sum_exec_runtime` of the last `schedstat` read, ns.
    sched_runtime_ns: u64,
    /// CPU ticks used since the previous `stat` read (`None` for a process first seen this
    /// tick, or one whose count went backwards).
    pub cpu_delta_ticks: Option<u32>,
    /// Inode number of `/proc/PID` in the listing that last saw it (procfs: 32 bits).
    ino: u32,
    /// Tick on which the process was first seen.
    first_tick: u32,
    /// Tick on which `stat` was last read.
    stat_tick: u32,
    /// How many times its `schedstat` was read (saturating).
    sched_reads: u32,
    /// Wall time since the `stat` read that `cpu_delta_ticks` counts from, before this tick,
    /// µs (saturating at ~71 minutes: an idle process's `stat` may go unread until its
    /// periodic re-read, 300 ticks by default, longer than that at intervals above 14 s; the
    /// tick it runs then divides its CPU time by 71 minutes, not the whole unread stretch).
    unread_usec: u32,
    /// `pcount` of the last `schedstat` read, low 32 bits.
    sched_pcount: u32,
    /// [`HOT`], [`SCHED_READ`], [`SCHED_COUNTS`], [`VACANT`], [`RAN_SINCE_FULL_READ`].
    flags: u8,
}

impl ProcessRates {
    /// A slot with no process (see [`ProcessRates::is_vacant`]).
    pub(super) const VACANT: ProcessRates = ProcessRates {
        cpu_percent: None,
        sched_runtime_ns: 0,
        cpu_delta_ticks: None,
        ino: 0,
        first_tick: 0,
        stat_tick: 0,
        sched_reads: 0,
        unread_usec: 0,
        sched_pcount: 0,
        flags: VACANT,
    };

    /// A process first seen on `tick`, listed with inode `ino`, its `schedstat` just read.
    pub(super) fn first(tick: u32, ino: u64, sched: Option<SchedStat>) -> ProcessRates {
        let mut rates = ProcessRates {
            first_tick: tick,
            stat_tick: tick,
            sched_reads: u32::from(sched.is_some()),
            flags: HOT,
            ..ProcessRates::VACANT
        };
        rates.set_ino(ino);
        rates.set_sched(sched);
        rates
    }

    /// How many times this process's run check was read since it was first seen.
    pub fn schedstat_reads(&self) -> u64 {
        u64::from(self.sched_reads)
    }

    /// The slot holds no process: it is dropped at the end of the refresh.
    pub(super) fn is_vacant(&self) -> bool {
        self.flags & VACANT != 0
    }

    pub(super) fn vacate(&mut self) {
        *self = ProcessRates::VACANT;
    }

    /// The last `schedstat` read counted schedules: an unchanged pair means "did not run".
    pub(super) fn counts_schedules(&self) -> bool {
        self.flags & SCHED_COUNTS != 0
    }

    /// `schedstat` was unusable at the last read (stat is read every tick then).
    pub(super) fn lacks_sched(&self) -> bool {
        self.flags & SCHED_READ == 0
    }

    pub(super) fn is_hot(&self) -> bool {
        self.flags & HOT != 0
    }

    /// True when `sched` is the pair kept from the last read.
    pub(super) fn sched_is(&self, sched: Option<SchedStat>) -> bool {
        match sched {
            None => self.lacks_sched(),
            Some(s) => {
                !self.lacks_sched()
                    && self.sched_runtime_ns == s.runtime_ns
                    && self.sched_pcount == s.pcount as u32
            }
        }
    }

    pub(super) fn set_sched(&mut self, sched: Option<SchedStat>) {
        self.flags &= !(SCHED_READ | SCHED_COUNTS);
        let Some(s) = sched else {
            self.sched_runtime_ns = 0;
            self.sched_pcount = 0;
            return;
        };
        self.flags |= SCHED_READ;
        if s.pcount > 0 {
            self.flags |= SCHED_COUNTS;
        }
        self.sched_runtime_ns = s.runtime_ns;
        // Low bits: the count is only compared with the next read's.
        self.sched_pcount = s.pcount as u32;
    }

    /// Records a run check; `ran` whether the pair moved.
    pub(super) fn checked(&mut self, ran: bool, counted: bool) {
        self.flags = if ran {
            self.flags | HOT
        } else {
            self.flags & !HOT
        };
        self.sched_reads = self.sched_reads.saturating_add(u32::from(counted));
    }

    /// Notes that the process ran (or may have) since its last full read.
    pub(super) fn note_ran(&mut self) {
        self.flags |= RAN_SINCE_FULL_READ;
    }

    /// Its namespaces, command line and owner were read afresh.
    pub(super) fn full_read(&mut self) {
        self.flags &= !RAN_SINCE_FULL_READ;
    }

    /// It ran (or may have) since its last full read ([`ProcessRates::note_ran`]).
    pub fn ran_since_full_read(&self) -> bool {
        self.flags & RAN_SINCE_FULL_READ != 0
    }

    /// Same inode as the listing's `ino` (meaningful on procfs only).
    pub(super) fn same_ino(&self, ino: u64) -> bool {
        u64::from(self.ino) == ino
    }

    pub(super) fn set_ino(&mut self, ino: u64) {
        // procfs inode numbers come from a 32-bit counter: nothing is lost there.
        self.ino = ino as u32;
    }

    /// Seen first within the [`YOUNG_TICKS`] ticks before `tick` (runtimes settle a fresh
    /// process — its cgroups, its namespaces — in its first moments, often while it sleeps).
    pub(super) fn young(&self, tick: u32) -> bool {
        self.first_tick > 0 && (1..=YOUNG_TICKS).contains(&tick.wrapping_sub(self.first_tick))
    }

    pub(super) fn first_tick(&self) -> u32 {
        self.first_tick
    }

    pub(super) fn stat_tick(&self) -> u32 {
        self.stat_tick
    }

    /// `stat` was read on `tick`; the CPU time moved by `delta` ticks since the previous read.
    pub(super) fn stat_read(&mut self, tick: u32, delta: Option<u64>) {
        self.stat_tick = tick;
        self.set_delta(delta);
    }

    /// The CPU time moved by `delta` ticks since the previous `stat` read.
    pub(super) fn set_delta(&mut self, delta: Option<u64>) {
        self.cpu_delta_ticks = delta.map(|d| u32::try_from(d).unwrap_or(u32::MAX));
    }

    /// Wall time not yet covered by a `stat` read, µs.
    pub(super) fn unread_usec(&self) -> u64 {
        u64::from(self.unread_usec)
    }

    pub(super) fn set_unread_usec(&mut self, usec: u64) {
        self.unread_usec = u32::try_from(usec).unwrap_or(u32::MAX);
    }
}

/// CPU percent of every process (`None` on its first tick): a process whose `stat` was read
/// this tick over the wall time since its previous `stat` read (so one checked late is not
/// shown at twice its share); one not read has not been seen running: 0.
pub(super) fn rate_all(
    rates: &mut [ProcessRates],
    wall_usec: Option<u64>,
    ticks_per_second: u64,
    tick: u32,
) {
    for rate in rates.iter_mut() {
        let Some(wall) = wall_usec.filter(|_| rate.first_tick() != tick) else {
            rate.cpu_percent = None;
            continue;
        };
        if rate.stat_tick() == tick {
            let since = wall.saturating_add(rate.unread_usec());
            rate.cpu_percent = rate.cpu_delta_ticks.and_then(|delta| {
                cpu_percent_from_ticks(Some(0), u64::from(delta), ticks_per_second, since)
            });
            rate.set_unread_usec(0);
        } else {
            rate.cpu_percent = cpu_percent_from_ticks(Some(0), 0, ticks_per_second, wall);
            rate.set_unread_usec(rate.unread_usec().saturating_add(wall));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_fit_their_budget() {
        // 64 bytes a process (was 112 before packing): one cache line.
        assert!(
            std::mem::size_of::<ProcessRates>() <= 64,
            "{} bytes",
            std::mem::size_of::<ProcessRates>()
        );
    }

    #[test]
    fn schedstat_pair_round_trips() {
        let pair = SchedStat {
            runtime_ns: 5_000_000_123,
            pcount: (1 << 32) + 7,
        };
        let mut rates = ProcessRates::first(3, 99, Some(pair));
        assert!(rates.sched_is(Some(pair)));
        assert!(rates.counts_schedules() && !rates.lacks_sched() && rates.is_hot());
        assert!(!rates.sched_is(None));
        let moved = SchedStat {
            pcount: pair.pcount + 1,
            ..pair
        };
        assert!(!rates.sched_is(Some(moved)));
        // A kernel without sched_info prints `0 0 0`: read, but it counts nothing.
        rates.set_sched(Some(SchedStat {
            runtime_ns: 0,
            pcount: 0,
        }));
        assert!(!rates.counts_schedules() && !rates.lacks_sched());
        rates.set_sched(None);
        assert!(rates.lacks_sched() && rates.sched_is(None));
        assert!(rates.same_ino(99) && !rates.same_ino(100));
        assert!(!rates.is_vacant() && ProcessRates::VACANT.is_vacant());
        assert!(!rates.young(3) && rates.young(4) && rates.young(3 + YOUNG_TICKS));
        assert!(!rates.young(4 + YOUNG_TICKS));
        rates.set_delta(Some(u64::MAX));
        assert_eq!(rates.cpu_delta_ticks, Some(u32::MAX));
        rates.set_unread_usec(u64::MAX);
        assert_eq!(rates.unread_usec(), u64::from(u32::MAX));
    }
}
