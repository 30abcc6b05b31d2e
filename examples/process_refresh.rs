//! The per-tick cost of the sampler's process table alone: refreshes a
//! [`ProcessTable`] on the live `/proc` every INTERVAL seconds for TICKS ticks and prints, per
//! tick, the processes seen and the calling thread's CPU time (utime + stime from
//! `/proc/thread-self/stat`, clock ticks turned into ms) and wall time spent in `refresh`, then
//! the mean of every tick after the first (the first reads every process in full).
//!
//! Usage: `process_refresh [INTERVAL_SECONDS] [TICKS]` (default 1 s, 20 ticks).

use std::time::{Duration, Instant};

use isotop::host::HostRoot;
use isotop::host::process::clock_ticks_per_second;
use isotop::sample::ProcessTable;

/// This thread's user + system CPU time, clock ticks (`/proc/thread-self/stat` fields 14+15).
fn thread_cpu_ticks() -> anyhow::Result<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/stat")?;
    let after_comm = text
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .ok_or_else(|| anyhow::anyhow!("no comm in thread stat"))?;
    let fields: Vec<&str> = after_comm.split_whitespace().collect();
    // After the comm, field 3 (state) is index 0: utime (14) is index 11, stime (15) index 12.
    let utime: u64 = fields
        .get(11)
        .ok_or_else(|| anyhow::anyhow!("short"))?
        .parse()?;
    let stime: u64 = fields
        .get(12)
        .ok_or_else(|| anyhow::anyhow!("short"))?
        .parse()?;
    Ok(utime + stime)
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let interval: f64 = args.next().map(|a| a.parse()).transpose()?.unwrap_or(1.0);
    let ticks: u64 = args.next().map(|a| a.parse()).transpose()?.unwrap_or(20);
    let hz = clock_ticks_per_second();
    let ms_per_tick = 1000.0 / hz as f64;
    let root = HostRoot::live();
    let mut table = ProcessTable::new(300);
    let (mut cpu_sum, mut wall_sum, mut counted) = (0.0, 0.0, 0u64);
    let mut last: Option<Instant> = None;
    for n in 0..ticks {
        let started = Instant::now();
        let wall_usec = last.map(|l| l.elapsed().as_micros() as u64);
        last = Some(started);
        let cpu_before = thread_cpu_ticks()?;
        let summary = table.refresh(&root, wall_usec, hz)?;
        let wall = started.elapsed().as_secs_f64() * 1000.0;
        let cpu = (thread_cpu_ticks()? - cpu_before) as f64 * ms_per_tick;
        eprintln!(
            "tick {n}: {} processes (+{} -{}, {} re-read, {} schedstat, {} stat, {} ns); \
             cpu {cpu:.0} ms wall {wall:.1} ms",
            table.processes().len(),
            summary.added,
            summary.gone,
            summary.reread,
            summary.schedstat_reads,
            summary.stat_reads,
            summary.namespace_reads,
        );
        if n > 0 {
            cpu_sum += cpu;
            wall_sum += wall;
            counted += 1;
        }
        std::thread::sleep(Duration::from_secs_f64(interval).saturating_sub(started.elapsed()));
    }
    if counted > 0 {
        eprintln!(
            "mean of {counted} ticks after the first: cpu {:.1} ms wall {:.1} ms",
            cpu_sum / counted as f64,
            wall_sum / counted as f64
        );
    }
    Ok(())
}
