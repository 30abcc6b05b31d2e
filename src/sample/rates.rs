//! Rates from two consecutive readings of a monotonic counter: pure functions, so every rule
//! (first reading, counter reset, zero interval) is tested without a host.
//!
//! A rate that cannot be computed is `None`, never negative: no previous reading (first tick,
//! new container), a counter that went backwards (cgroup recreated under the same path, pid
//! reused), or no time elapsed.
//!
//! Every rate isotop shows is computed here: a container's CPU share from two of its
//! [`CpuCounter`]s (the sampler between ticks, `isotop ls` between its two reads), a cgroup's
//! CPU and throttling shares, a process's and a CPU's busy share, block I/O per second
//! ([`io_rates`], from the `_total` counters of a cgroup's or a container's I/O) — and the
//! counts since isotop started ([`count_since`]: a container's OOM kills since the sampler
//! first saw it).

use serde::{Deserialize, Serialize};

use crate::host::cgroup::{CgroupReading, IoCounters};
use crate::host::container::measure::{CpuCounter, KernelFigures, ProcessTicks};

mod net;

pub use net::{NetRates, NetnsRates, net_rates, netns_rates};

/// CPU share in percent of one CPU (200 = two CPUs busy) from a usage counter in µs read at two
/// moments `wall_usec` µs apart.
pub fn cpu_percent_from_usec(
    previous: Option<u64>,
    current: Option<u64>,
    wall_usec: u64,
) -> Option<f64> {
    let used = current?.checked_sub(previous?)?;
    (wall_usec > 0).then(|| used as f64 / wall_usec as f64 * 100.0)
}

/// CPU share in percent of one CPU from `stat` times in clock ticks (`ticks_per_second`, usually
/// 100) read `wall_usec` µs apart.
pub fn cpu_percent_from_ticks(
    previous: Option<u64>,
    current: u64,
    ticks_per_second: u64,
    wall_usec: u64,
) -> Option<f64> {
    let used = current.checked_sub(previous?)?;
    (wall_usec > 0 && ticks_per_second > 0).then(|| {
        let used_usec = used as f64 * 1_000_000.0 / ticks_per_second as f64;
        used_usec / wall_usec as f64 * 100.0
    })
}

/// CPU share of a container in percent of one CPU between two readings of its counter
/// `wall_usec` µs apart. Its own cgroup's counter compares directly; its processes' compare
/// per process (same pid and start time), so a process that started or ended in between
/// counts only for the time both readings saw it. `None` when the counters are of different
/// sources, no process was seen in both, or on a reset.
pub fn container_cpu_percent(
    previous: &CpuCounter,
    current: &CpuCounter,
    ticks_per_second: u64,
    wall_usec: u64,
) -> Option<f64> {
    match (previous, current) {
        (CpuCounter::Cgroup { usage_usec: a }, CpuCounter::Cgroup { usage_usec: b }) => {
            cpu_percent_from_usec(Some(*a), Some(*b), wall_usec)
        }
        (CpuCounter::Processes(a), CpuCounter::Processes(b)) => {
            let used = processes_ticks_used(a, b)?;
            cpu_percent_from_ticks(Some(0), used, ticks_per_second, wall_usec)
        }
        _ => None,
    }
}

/// Clock ticks used between two readings by the processes present in both (both ascending
/// pid); `None` when no process is in both.
fn processes_ticks_used(previous: &[ProcessTicks], current: &[ProcessTicks]) -> Option<u64> {
    let mut used: Option<u64> = None;
    for now in current {
        let Some(before) = previous
            .binary_search_by_key(&now.pid, |p| p.pid)
            .ok()
            .and_then(|at| previous.get(at))
        else {
            continue;
        };
        if before.start_ticks != now.start_ticks {
            continue; // the pid was reused: another process
        }
        if let Some(delta) = now.cpu_ticks.checked_sub(before.cpu_ticks) {
            used = Some(used.unwrap_or(0).saturating_add(delta));
        }
    }
    used
}

/// Throttling counters of one cgroup (`cpu.stat` `nr_periods`, `nr_throttled`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Throttling {
    pub nr_periods: u64,
    pub nr_throttled: u64,
}

impl Throttling {
    /// The counters of `reading` (`None` when its `cpu.stat` lacks either).
    pub fn of(reading: &CgroupReading) -> Option<Throttling> {
        let cpu = reading.cpu.as_ref()?;
        Some(Throttling {
            nr_periods: cpu.nr_periods?,
            nr_throttled: cpu.nr_throttled?,
        })
    }

    /// The counters among a container's kernel figures (`None` when either is missing).
    pub fn of_kernel(figures: &KernelFigures) -> Option<Throttling> {
        Some(Throttling {
            nr_periods: figures.cpu_periods?,
            nr_throttled: figures.cpu_throttled_periods?,
        })
    }
}

/// How much a monotonic count (e.g. OOM kills) grew since `baseline`, the value it had when
/// counting started. A count below its baseline was reset (the cgroup was made again under
/// the same path): everything it counts happened since, so the count itself. `None` without
/// a current count.
pub fn count_since(baseline: u64, current: Option<u64>) -> Option<u64> {
    let current = current?;
    Some(current.checked_sub(baseline).unwrap_or(current))
}

/// Share of the enforcement periods since the previous reading in which the cgroup ran out of
/// quota, percent (Δnr_throttled / Δnr_periods × 100). `Some(0.0)` when no period elapsed with
/// runnable tasks (an idle cgroup is not throttled); `None` on a reset or without a previous
/// reading.
pub fn throttled_percent(previous: Option<Throttling>, current: Option<Throttling>) -> Option<f64> {
    let (previous, current) = (previous?, current?);
    let periods = current.nr_periods.checked_sub(previous.nr_periods)?;
    let throttled = current.nr_throttled.checked_sub(previous.nr_throttled)?;
    if periods == 0 {
        return (throttled == 0).then_some(0.0);
    }
    Some((throttled as f64 / periods as f64 * 100.0).min(100.0))
}

/// Jiffies of one CPU line of `<proc>/stat`, reduced to what a busy share needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CpuJiffies {
    /// Every state summed (user, nice, system, idle, iowait, irq, softirq, steal).
    pub total: u64,
    /// idle + iowait: the CPU had nothing to run.
    pub idle: u64,
}

impl CpuJiffies {
    /// From procfs-core's parsed line. guest and guest_nice are already counted in user and
    /// nice by the kernel, so they are not added again.
    pub fn from_cpu_time(t: &procfs_core::CpuTime) -> CpuJiffies {
        let idle = t.idle.saturating_add(t.iowait.unwrap_or(0));
        let total = [
            t.user,
            t.nice,
            t.system,
            t.idle,
            t.iowait.unwrap_or(0),
            t.irq.unwrap_or(0),
            t.softirq.unwrap_or(0),
            t.steal.unwrap_or(0),
        ]
        .iter()
        .fold(0u64, |sum, v| sum.saturating_add(*v));
        CpuJiffies { total, idle }
    }
}

/// Busy share of a CPU between two readings, percent (0–100). `None` without a previous
/// reading, when no time elapsed, or on a reset (CPU hot-plugged back in).
pub fn cpu_busy_percent(previous: Option<CpuJiffies>, current: CpuJiffies) -> Option<f64> {
    let previous = previous?;
    let total = current.total.checked_sub(previous.total)?;
    // iowait may go backwards (see proc(5)); clamp instead of refusing the whole figure.
    let idle = current.idle.saturating_sub(previous.idle).min(total);
    (total > 0).then(|| (total - idle) as f64 / total as f64 * 100.0)
}

/// Per second from a monotonic counter read at two moments `wall_usec` µs apart. `None`
/// without a previous reading, on a reset (the counter went back) or with no time elapsed.
pub fn per_second(previous: Option<u64>, current: Option<u64>, wall_usec: u64) -> Option<f64> {
    let grown = current?.checked_sub(previous?)?;
    (wall_usec > 0).then(|| grown as f64 * 1_000_000.0 / wall_usec as f64)
}

/// Block I/O per second between two readings of [`IoCounters`] (a container's
/// `Figures::io`, a cgroup's `io.total`). Each rate is `None` on its own terms (see
/// [`per_second`]): a first tick, a counter the kernel does not give, or a reset — the cgroup
/// made again, or a device gone from the sums.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct IoRates {
    pub read_bytes_per_second: Option<f64>,
    pub write_bytes_per_second: Option<f64>,
    pub read_ios_per_second: Option<f64>,
    pub write_ios_per_second: Option<f64>,
    pub discard_bytes_per_second: Option<f64>,
}

/// The I/O rates between `previous` and `current` read `wall_usec` µs apart (all `None`
/// without either).
pub fn io_rates(
    previous: Option<&IoCounters>,
    current: Option<&IoCounters>,
    wall_usec: u64,
) -> IoRates {
    let (Some(a), Some(b)) = (previous, current) else {
        return IoRates::default();
    };
    let rate = |field: fn(&IoCounters) -> Option<u64>| per_second(field(a), field(b), wall_usec);
    IoRates {
        read_bytes_per_second: rate(|c| c.read_bytes_total),
        write_bytes_per_second: rate(|c| c.write_bytes_total),
        read_ios_per_second: rate(|c| c.read_ios_total),
        write_ios_per_second: rate(|c| c.write_ios_total),
        discard_bytes_per_second: rate(|c| c.discard_bytes_total),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cgroup_cpu_from_usage_delta() {
        // 200 ms of CPU over 1 s of wall clock: 20 % of one CPU.
        assert_eq!(
            cpu_percent_from_usec(Some(1_000_000), Some(1_200_000), 1_000_000),
            Some(20.0)
        );
        // Two CPUs busy: 200 %.
        assert_eq!(
            cpu_percent_from_usec(Some(0), Some(1_000_000), 500_000),
            Some(200.0)
        );
    }

    #[test]
    fn first_reading_reset_and_zero_interval_give_none() {
        assert_eq!(cpu_percent_from_usec(None, Some(5), 1_000), None);
        assert_eq!(cpu_percent_from_usec(Some(5), None, 1_000), None);
        assert_eq!(cpu_percent_from_usec(Some(900), Some(100), 1_000), None);
        assert_eq!(cpu_percent_from_usec(Some(1), Some(2), 0), None);
        assert_eq!(cpu_percent_from_ticks(None, 10, 100, 1_000_000), None);
        assert_eq!(cpu_percent_from_ticks(Some(11), 10, 100, 1_000_000), None);
        assert_eq!(cpu_percent_from_ticks(Some(1), 2, 100, 0), None);
        assert_eq!(cpu_percent_from_ticks(Some(1), 2, 0, 1_000), None);
    }

    #[test]
    fn process_cpu_from_tick_delta() {
        // 50 ticks at 100 Hz = 0.5 s over 1 s: 50 %.
        assert_eq!(
            cpu_percent_from_ticks(Some(100), 150, 100, 1_000_000),
            Some(50.0)
        );
        assert_eq!(
            cpu_percent_from_ticks(Some(7), 7, 100, 1_000_000),
            Some(0.0)
        );
    }

    fn ticks(pid: i32, start_ticks: u64, cpu_ticks: u64) -> ProcessTicks {
        ProcessTicks {
            pid,
            start_ticks,
            cpu_ticks,
        }
    }

    #[test]
    fn container_cpu_from_its_cgroup_counter() {
        let at = |usage_usec| CpuCounter::Cgroup { usage_usec };
        // 250 ms over 500 ms: half a CPU.
        assert_eq!(
            container_cpu_percent(&at(1_000_000), &at(1_250_000), 100, 500_000),
            Some(50.0)
        );
        // The cgroup was recreated: no figure, not a negative one.
        assert_eq!(container_cpu_percent(&at(9), &at(1), 100, 500_000), None);
        // A counter of another source (the cgroup vanished): no figure.
        let processes = CpuCounter::Processes(vec![ticks(1, 5, 10)]);
        assert_eq!(container_cpu_percent(&at(9), &processes, 100, 1), None);
    }

    #[test]
    fn container_cpu_from_its_processes_counts_each_process_once() {
        let before =
            CpuCounter::Processes(vec![ticks(5, 50, 100), ticks(6, 60, 10), ticks(7, 70, 3)]);
        // 5 used 30 ticks, 6 used 20; 7 exited; 8 started (its lifetime before is not counted).
        let after =
            CpuCounter::Processes(vec![ticks(5, 50, 130), ticks(6, 60, 30), ticks(8, 80, 500)]);
        // 50 ticks at 100 Hz = 0.5 s over 1 s.
        assert_eq!(
            container_cpu_percent(&before, &after, 100, 1_000_000),
            Some(50.0)
        );
        // The pid was reused by another process: nothing in common.
        let reused = CpuCounter::Processes(vec![ticks(5, 51, 900)]);
        assert_eq!(
            container_cpu_percent(&before, &reused, 100, 1_000_000),
            None
        );
        let none = CpuCounter::Processes(Vec::new());
        assert_eq!(container_cpu_percent(&before, &none, 100, 1_000_000), None);
        assert_eq!(container_cpu_percent(&before, &before, 100, 0), None);
    }

    #[test]
    fn throttled_share_of_periods() {
        let periods = |nr_periods, nr_throttled| Throttling {
            nr_periods,
            nr_throttled,
        };
        let (a, b) = (periods(100, 10), periods(110, 19));
        assert_eq!(throttled_percent(Some(a), Some(b)), Some(90.0));
        // Idle: no periods elapsed, nothing throttled.
        assert_eq!(throttled_percent(Some(a), Some(a)), Some(0.0));
        // Reset: the cgroup was recreated.
        let reset = periods(3, 1);
        assert_eq!(throttled_percent(Some(a), Some(reset)), None);
        // Throttled count went back while periods advanced: also a reset.
        let odd = periods(120, 5);
        assert_eq!(throttled_percent(Some(a), Some(odd)), None);
        assert_eq!(throttled_percent(None, Some(a)), None);
        assert_eq!(throttled_percent(Some(a), None), None);
    }

    #[test]
    fn counts_since_a_baseline() {
        assert_eq!(count_since(3, Some(5)), Some(2));
        assert_eq!(count_since(3, Some(3)), Some(0));
        // Reset: the cgroup was made again and has counted 1 since.
        assert_eq!(count_since(3, Some(1)), Some(1));
        assert_eq!(count_since(0, None), None);
    }

    #[test]
    fn throttling_from_kernel_figures_needs_both_counters() {
        let mut k = KernelFigures {
            cpu_periods: Some(31),
            cpu_throttled_periods: Some(30),
            ..KernelFigures::default()
        };
        assert_eq!(
            Throttling::of_kernel(&k),
            Some(Throttling {
                nr_periods: 31,
                nr_throttled: 30
            })
        );
        k.cpu_throttled_periods = None;
        assert_eq!(Throttling::of_kernel(&k), None);
    }

    #[test]
    fn cpu_busy_from_jiffies() {
        let jiffies = |total, idle| CpuJiffies { total, idle };
        let (a, b) = (jiffies(1_000, 800), jiffies(1_100, 850));
        assert_eq!(cpu_busy_percent(Some(a), b), Some(50.0));
        assert_eq!(cpu_busy_percent(None, b), None);
        assert_eq!(cpu_busy_percent(Some(b), a), None);
        assert_eq!(cpu_busy_percent(Some(a), a), None);
        // iowait going backwards clamps to fully busy rather than a negative idle.
        let c = jiffies(1_100, 700);
        assert_eq!(cpu_busy_percent(Some(a), c), Some(100.0));
    }

    #[test]
    fn jiffies_from_a_stat_line() {
        use procfs_core::FromReadSI;
        let info = procfs_core::ExplicitSystemInfo {
            boot_time_secs: 0,
            ticks_per_second: 100,
            page_size: 4096,
            is_little_endian: true,
        };
        let text = "cpu  10 2 30 400 5 6 7 8 9 1\ncpu0 10 2 30 400 5 6 7 8 9 1\nctxt 1\nbtime 1\nprocesses 1\n";
        let stats = procfs_core::KernelStats::from_read(text.as_bytes(), &info).unwrap();
        let j = CpuJiffies::from_cpu_time(&stats.cpu_time[0]);
        assert_eq!(
            j,
            CpuJiffies {
                total: 10 + 2 + 30 + 400 + 5 + 6 + 7 + 8,
                idle: 405
            }
        );
    }

    #[test]
    fn io_per_second_from_total_counters() {
        let at = |read, write, rios, wios| IoCounters {
            read_bytes_total: Some(read),
            write_bytes_total: Some(write),
            read_ios_total: Some(rios),
            write_ios_total: Some(wios),
            discard_bytes_total: None,
            discard_ios_total: None,
        };
        // 2 MiB written and 1 MiB read over 500 ms; 8 and 4 operations.
        let rates = io_rates(
            Some(&at(0, 0, 0, 0)),
            Some(&at(1 << 20, 2 << 20, 4, 8)),
            500_000,
        );
        assert_eq!(rates.read_bytes_per_second, Some(2_097_152.0));
        assert_eq!(rates.write_bytes_per_second, Some(4_194_304.0));
        assert_eq!(rates.read_ios_per_second, Some(8.0));
        assert_eq!(rates.write_ios_per_second, Some(16.0));
        // A counter the kernel does not give has no rate, not 0.
        assert_eq!(rates.discard_bytes_per_second, None);
        // Idle: 0, a figure.
        let idle = io_rates(Some(&at(5, 5, 1, 1)), Some(&at(5, 5, 1, 1)), 1_000_000);
        assert_eq!(idle.write_bytes_per_second, Some(0.0));
    }

    #[test]
    fn io_rates_first_tick_reset_and_zero_interval_give_none() {
        let at = |write| IoCounters {
            write_bytes_total: Some(write),
            ..IoCounters::default()
        };
        assert_eq!(io_rates(None, Some(&at(5)), 1_000), IoRates::default());
        assert_eq!(io_rates(Some(&at(5)), None, 1_000), IoRates::default());
        // The cgroup was made again (or a device left the sum): no rate, never negative.
        assert_eq!(
            io_rates(Some(&at(900)), Some(&at(100)), 1_000).write_bytes_per_second,
            None
        );
        assert_eq!(
            io_rates(Some(&at(1)), Some(&at(2)), 0).write_bytes_per_second,
            None
        );
        assert_eq!(per_second(Some(1), Some(3), 2_000_000), Some(1.0));
        assert_eq!(per_second(None, Some(3), 2_000_000), None);
    }
}
