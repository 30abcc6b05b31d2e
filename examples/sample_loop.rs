//! The dashboard's sampling cost without a terminal: runs the sampler task at an interval and
//! feeds each frame into a 10-minute [`History`], exactly as the dashboard's app loop does
//! (layer sizing on, as the dashboard's default config has it), but draws nothing. bench/dashboard-bench.sh measures this process's CPU and memory.
//!
//! Usage: `sample_loop [INTERVAL_SECONDS] [TICKS] [--costs] [--net-map]` (default 1 s,
//! forever). Each frame prints one line to stderr (frame number, counts). With `--costs` the
//! sampler runs on the main thread instead of the task, and each line also says where the
//! tick's time went (ms: `stacks` the stacks read that tick, `sizes` asking the sizer and
//! taking its answers, `net` the network namespaces' counters and rates, `map` the network
//! map, `events` comparing the tick with the previous one for events, `measure` measuring
//! every container, `frame` building the frame from what was read, `history` recording it;
//! then the history's rings in KiB). With `--net-map` the sampler is asked for the network map and every namespace, as
//! the dashboard's Network view asks. Ends on SIGTERM, SIGINT or after TICKS frames.

use std::time::Duration;

use isotop::host::HostRoot;
use isotop::sample::{History, Sampler, spawn_sampler};
use isotop::ui::config::Config;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let interval: f64 = args.next().map(|a| a.parse()).transpose()?.unwrap_or(1.0);
    let ticks: Option<u64> = args.next().map(|a| a.parse()).transpose()?;
    let (mut with_costs, mut net_map) = (false, false);
    for flag in args {
        match flag.as_str() {
            "--costs" => with_costs = true,
            "--net-map" => net_map = true,
            other => anyhow::bail!("unknown argument {other}"),
        }
    }
    if with_costs {
        let ticks = ticks.unwrap_or(u64::MAX);
        return costs(Duration::from_secs_f64(interval), ticks, net_map);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(Duration::from_secs_f64(interval), ticks, net_map))
}

async fn run(interval: Duration, ticks: Option<u64>, net_map: bool) -> anyhow::Result<()> {
    let mut handle = spawn_sampler(dashboard_sampler(), interval);
    handle.control.set_net_map(net_map);
    let mut history = History::new(Duration::from_secs(600));
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut seen = 0u64;
    loop {
        tokio::select! {
            frame = handle.frames.recv() => {
                let Some(frame) = frame else {
                    let reason = handle.frames.closed_reason().unwrap_or_default();
                    anyhow::bail!("sampler closed: {reason}");
                };
                history.record(&frame);
                let busiest = frame
                    .processes
                    .iter()
                    .filter_map(|p| p.cpu_percent.map(|c| (c, p.process.pid)))
                    .fold(None, |best: Option<(f64, i32)>, x| match best {
                        Some(b) if b.0 >= x.0 => Some(b),
                        _ => Some(x),
                    });
                eprintln!(
                    "frame {} interval {:?} ms: {} processes, {} containers, {} namespaces, \
                     {} cgroups, {} series; host cpu {:?}%; busiest {:?}; {} warnings",
                    frame.seq,
                    frame.interval_ms,
                    frame.host.processes,
                    frame.host.containers,
                    frame.host.namespaces,
                    frame.host.cgroups,
                    history.len(),
                    frame.host.cpu_percent_total.map(|c| c.round()),
                    busiest,
                    frame.warnings.len(),
                );
                seen += 1;
                if ticks.is_some_and(|t| seen >= t) {
                    break;
                }
            }
            _ = tokio::signal::ctrl_c() => break,
            _ = term.recv() => break,
        }
    }
    handle.control.stop();
    Ok(())
}

/// A sampler with the options the dashboard's default config gives it.
fn dashboard_sampler() -> Sampler {
    Sampler::with_options(HostRoot::live(), Config::default().sampler_options())
}

/// The sampler without the task, printing each tick's cost breakdown.
fn costs(interval: Duration, ticks: u64, net_map: bool) -> anyhow::Result<()> {
    let mut sampler = dashboard_sampler();
    sampler.set_net_map(net_map);
    let mut history = History::new(Duration::from_secs(600));
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let part = |d: Option<Duration>| d.map_or("-".to_string(), |d| format!("{:.2}", ms(d)));
    for _ in 0..ticks {
        let started = std::time::Instant::now();
        let frame = sampler.tick()?;
        let recorded = std::time::Instant::now();
        history.record(&frame);
        let history_cost = recorded.elapsed();
        let c = sampler.costs();
        eprintln!(
            "frame {}: {} processes, {} containers, {} namespaces, {} cgroups, {} networks; ms: \
             total {:.1} processes {:.1} containers {} cgroups {} namespaces {} stacks {} sizes \
             {} net {} map {} events {} measure {:.2} frame {:.2} history {:.2}; {} layers sized, \
             {} events, history {} KiB",
            frame.seq,
            frame.host.processes,
            frame.host.containers,
            frame.host.namespaces,
            frame.host.cgroups,
            frame.networks.len(),
            ms(c.total),
            ms(c.processes),
            part(c.containers),
            part(c.cgroups),
            part(c.namespaces),
            part(c.stacks),
            part(c.layer_sizes),
            part(c.net),
            part(c.net_map),
            part(c.events),
            ms(c.container_samples),
            ms(c.frame),
            ms(history_cost),
            frame.layer_sizes.len(),
            frame.events.len(),
            history.ring_bytes() / 1024,
        );
        drop(frame);
        std::thread::sleep(interval.saturating_sub(started.elapsed()));
    }
    Ok(())
}
