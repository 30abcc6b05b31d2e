//! Bounded history per container and cgroup, owned by the app loop and fed one [`Frame`] per
//! tick. Each series is a ring buffer of [`Point`]s covering at most `window` (default 10
//! minutes) — CPU, its quota, throttling, memory, its limit, pids, CPU/memory/I/O pressure,
//! the writable layer's size, network traffic and block I/O with its limits;
//! a container that vanished keeps its series until its points age out, so its charts
//! can still be read after it is gone.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use serde::Serialize;

use super::frame::Frame;
use crate::host::cgroup::Limit;
use crate::host::container::measure::KernelFigures;

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

/// Ring buffers of points per series.
#[derive(Debug, Clone)]
pub struct History {
    window: Duration,
    series: HashMap<SeriesKey, VecDeque<Point>>,
}

impl History {
    /// Keeps `window` of history per series (e.g. 10 minutes).
    pub fn new(window: Duration) -> Self {
        History {
            window,
            series: HashMap::new(),
        }
    }

    pub fn window(&self) -> Duration {
        self.window
    }

    /// Appends the frame's figures and drops points older than the window (and series left
    /// with none).
    pub fn record(&mut self, frame: &Frame) {
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
            self.push(SeriesKey::Container(c.view.container.id.clone()), point);
        }
        for g in &frame.cgroups {
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
            self.push(SeriesKey::Cgroup(g.path.clone()), point);
        }
        let oldest = now.saturating_sub(self.window.as_millis() as u64);
        self.series.retain(|_, points| {
            while points.front().is_some_and(|p| p.t_ms < oldest) {
                points.pop_front();
            }
            !points.is_empty()
        });
    }

    fn push(&mut self, key: SeriesKey, point: Point) {
        self.series.entry(key).or_default().push_back(point);
    }

    /// The points of one series, oldest first (empty when unknown).
    pub fn points(&self, key: &SeriesKey) -> impl Iterator<Item = &Point> {
        self.series.get(key).into_iter().flatten()
    }

    pub fn len(&self) -> usize {
        self.series.len()
    }

    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }
}
