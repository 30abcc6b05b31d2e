//! Bounded history per container and cgroup, owned by the app loop and fed one [`Frame`] per
//! tick. Each series holds the [`Point`]s covering at most `window` (default 10
//! minutes) — CPU, its quota, throttling, memory, its limit, pids, CPU/memory/I/O pressure,
//! the writable layer's size, network traffic and block I/O with its limits;
//! a container that vanished keeps its series until its points age out, so its charts
//! can still be read after it is gone.
//!
//! Memory: a series keeps its newest points packed ([`packed`], 136 bytes each, at most
//! [`chunk::CHUNK`] of them, repeats sharing one: [`open`]) and the older ones in closed
//! chunks compressed losslessly ([`chunk`]: per figure, only the values that changed). An idle
//! series' 10 minutes at 1 s cost ~2 KiB of chunks plus its open run (~0.4 KiB); a series
//! whose every figure changes every tick costs at most about what packed points did
//! (~100-130 B a point, was 136).
//! Readers get back exactly the figures recorded, and decode only the series they read.
//! Each tick looks a series up by the container's id or cgroup's path without copying it (a
//! key is allocated only for a new series). A stored figure that was NaN or `u64::MAX`
//! reads back as `None`.

mod chunk;
mod open;
mod packed;
mod series;

use foldhash::HashMap;
use std::time::Duration;

use serde::Serialize;

use super::frame::Frame;
use crate::host::cgroup::Limit;
use crate::host::container::measure::KernelFigures;
use packed::Packed;
use series::Series;

/// Which series: a container by id, or a cgroup by path.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum SeriesKey {
    Container(String),
    Cgroup(String),
}

/// One tick's figures of one container or cgroup.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Point {
    /// ms since the Unix epoch.
    pub t_ms: u64,
    pub cpu_percent: Option<f64>,
    /// The CPU quota as percent of one CPU (quota / period × 100), `None` when unlimited.
    pub cpu_limit_percent: Option<f64>,
    pub throttled_percent: Option<f64>,
    pub memory_bytes: Option<u64>,
    /// `None` when unlimited.
    pub memory_limit_bytes: Option<u64>,
    pub pids: Option<u64>,
    /// Pressure `some avg10`, percent: CPU, memory, I/O (`None` without the PSI file).
    pub cpu_pressure_percent: Option<f64>,
    pub memory_pressure_percent: Option<f64>,
    pub io_pressure_percent: Option<f64>,
    /// The writable layer's size on disk, bytes ([`Frame::writable_bytes`]); `None` for a
    /// cgroup, a root that is not overlay, or one not sized yet.
    pub writable_bytes: Option<u64>,
    /// Network traffic, bytes per second (a container's own namespace; `None` for a cgroup).
    pub net_rx_bytes_per_second: Option<f64>,
    pub net_tx_bytes_per_second: Option<f64>,
    /// Block I/O, bytes per second.
    pub io_read_bytes_per_second: Option<f64>,
    pub io_write_bytes_per_second: Option<f64>,
    /// The I/O limit lines, bytes per second (`IoLimits::read_bps_total`/`write_bps_total`);
    /// `None` when unlimited.
    pub io_read_limit_bps: Option<u64>,
    pub io_write_limit_bps: Option<u64>,
}

/// The points of each series, compressed once a run of them closes.
#[derive(Debug, Clone)]
pub struct History {
    window: Duration,
    /// By container id.
    containers: HashMap<String, Series>,
    /// By cgroup path.
    cgroups: HashMap<String, Series>,
}

/// Appends `point` to `key`'s series, allocating the key only for a new series.
fn push(series: &mut HashMap<String, Series>, key: &str, point: &Point) {
    let one = match series.get_mut(key) {
        Some(one) => one,
        None => series.entry(key.to_string()).or_default(),
    };
    one.push(Packed::of(point));
}

impl History {
    /// Keeps `window` of history per series (e.g. 10 minutes).
    pub fn new(window: Duration) -> Self {
        History {
            window,
            containers: HashMap::default(),
            cgroups: HashMap::default(),
        }
    }

    pub fn window(&self) -> Duration {
        self.window
    }

    /// Appends the frame's figures (every container's and cgroup's) and drops points older
    /// than the window (and series left with none).
    pub fn record(&mut self, frame: &Frame) {
        self.record_only(frame, |_| true);
    }

    /// As [`record`](Self::record), but a cgroup gets a point only when `cgroup_wanted(path)`:
    /// the dashboard's way, with the cgroups a view can show (a host of thousands of cgroups
    /// would otherwise keep ~8 KiB of history for each, ~40 MiB at 5,000). A cgroup no longer
    /// wanted keeps the points it has until they age out; one wanted again continues its series.
    /// Containers always get theirs.
    pub fn record_only(&mut self, frame: &Frame, cgroup_wanted: impl Fn(&str) -> bool) {
        let now = frame.taken_at_ms;
        for c in &frame.containers {
            let point = Point {
                t_ms: now,
                cpu_percent: c.cpu_percent,
                cpu_limit_percent: c.cpu_limit_cpus.and_then(|l| match l {
                    Limit::Value(cpus) => Some(cpus * 100.0),
                    Limit::Max => None,
                }),
                throttled_percent: c.throttled_percent,
                memory_bytes: c.memory_bytes,
                memory_limit_bytes: c.memory_limit_bytes.and_then(|l| l.value().copied()),
                pids: Some(c.pids as u64),
                cpu_pressure_percent: c.kernel.cpu_pressure_percent,
                memory_pressure_percent: c.kernel.memory_pressure_percent,
                io_pressure_percent: c.kernel.io_pressure_percent,
                writable_bytes: frame.writable_bytes(c),
                net_rx_bytes_per_second: c.net.as_ref().and_then(|n| n.rates.rx_bytes_per_second),
                net_tx_bytes_per_second: c.net.as_ref().and_then(|n| n.rates.tx_bytes_per_second),
                io_read_bytes_per_second: c.io_rates.read_bytes_per_second,
                io_write_bytes_per_second: c.io_rates.write_bytes_per_second,
                io_read_limit_bps: c.io_limits.as_ref().and_then(|l| l.read_bps_total()),
                io_write_limit_bps: c.io_limits.as_ref().and_then(|l| l.write_bps_total()),
            };
            push(&mut self.containers, &c.view.container.id, &point);
        }
        for g in frame.cgroups.iter().filter(|g| cgroup_wanted(&g.path)) {
            let limits = &g.reading.limits;
            // A cgroup's stall shares, read as a container's are (one derivation).
            let pressure = KernelFigures::of(Some(&g.reading));
            let point = Point {
                t_ms: now,
                cpu_percent: g.cpu_percent,
                cpu_limit_percent: limits.cpu_limit_cpus().and_then(|l| match l {
                    Limit::Value(cpus) => Some(cpus * 100.0),
                    Limit::Max => None,
                }),
                throttled_percent: g.throttled_percent,
                memory_bytes: g.reading.memory.as_ref().and_then(|m| m.usage_bytes),
                memory_limit_bytes: limits.memory_max_bytes.and_then(|l| l.value().copied()),
                pids: g.reading.pids.as_ref().and_then(|p| p.current),
                cpu_pressure_percent: pressure.cpu_pressure_percent,
                memory_pressure_percent: pressure.memory_pressure_percent,
                io_pressure_percent: pressure.io_pressure_percent,
                writable_bytes: None,
                net_rx_bytes_per_second: None,
                net_tx_bytes_per_second: None,
                io_read_bytes_per_second: g.io_rates.read_bytes_per_second,
                io_write_bytes_per_second: g.io_rates.write_bytes_per_second,
                io_read_limit_bps: limits.io.as_ref().and_then(|l| l.read_bps_total()),
                io_write_limit_bps: limits.io.as_ref().and_then(|l| l.write_bps_total()),
            };
            push(&mut self.cgroups, &g.path, &point);
        }
        let oldest = now.saturating_sub(self.window.as_millis() as u64);
        for series in [&mut self.containers, &mut self.cgroups] {
            series.retain(|_, one| one.age_out(oldest));
        }
    }

    /// The points of one series, oldest first (empty when unknown).
    pub fn points(&self, key: &SeriesKey) -> impl Iterator<Item = Point> + '_ {
        let series = match key {
            SeriesKey::Container(id) => self.containers.get(id),
            SeriesKey::Cgroup(path) => self.cgroups.get(path),
        };
        series
            .into_iter()
            .flat_map(Series::points)
            .map(|p| p.point())
    }

    /// How many series it keeps.
    pub fn len(&self) -> usize {
        self.containers.len() + self.cgroups.len()
    }

    pub fn is_empty(&self) -> bool {
        self.containers.is_empty() && self.cgroups.is_empty()
    }

    /// Heap bytes its series hold (chunks, their slots, open runs; keys and the maps aside):
    /// the figure the memory benchmark and the bound tests read.
    pub fn ring_bytes(&self) -> usize {
        self.containers
            .values()
            .chain(self.cgroups.values())
            .map(Series::heap_bytes)
            .sum()
    }
}

#[cfg(test)]
mod tests;
