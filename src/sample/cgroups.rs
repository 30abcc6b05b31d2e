//! The cgroup side of a tick: the cgroup tree flattened depth-first with CPU and throttling
//! rates, block I/O per second, and the counters those rates come from.
//!
//! Rates of a cgroup compare its own previous reading (same path), over the wall-clock time
//! between the two reads (µs, measured with a monotonic clock), so a tree read less often than
//! every tick still gets true rates. A cgroup seen for the first time, or whose counters went
//! back (removed and recreated under the same path), has `None` rates.

use std::collections::HashMap;
use std::time::Instant;

use super::frame::CgroupSample;
use super::rates::{IoRates, Throttling, cpu_percent_from_usec, io_rates, throttled_percent};
use crate::host::HostRoot;
use crate::host::cgroup::{CgroupLayout, CgroupNode, CgroupReading, IoCounters, read_tree};

/// The counters of one cgroup that rates are computed from.
#[derive(Debug, Clone)]
pub struct CgroupCounters {
    /// CPU time used, µs.
    pub usage_usec: Option<u64>,
    pub throttling: Option<Throttling>,
    /// Block I/O totals (`io.stat`, the v1 rwstat files).
    pub io: Option<IoCounters>,
    /// When they were read.
    pub at: Instant,
}

impl CgroupCounters {
    pub fn of(reading: &CgroupReading, at: Instant) -> CgroupCounters {
        CgroupCounters {
            usage_usec: reading.cpu.as_ref().and_then(|c| c.usage_usec),
            throttling: Throttling::of(reading),
            io: reading.io.as_ref().map(|io| io.total.clone()),
            at,
        }
    }

    /// (CPU % of one CPU, throttled % of periods, I/O per second) since `previous`.
    pub fn rates(&self, previous: Option<&CgroupCounters>) -> (Option<f64>, Option<f64>, IoRates) {
        let Some(previous) = previous else {
            return (None, None, IoRates::default());
        };
        let wall_usec = self.at.saturating_duration_since(previous.at).as_micros() as u64;
        (
            cpu_percent_from_usec(previous.usage_usec, self.usage_usec, wall_usec),
            throttled_percent(previous.throttling, self.throttling),
            io_rates(previous.io.as_ref(), self.io.as_ref(), wall_usec),
        )
    }
}

/// Reads the cgroup tree and keeps each cgroup's previous counters.
#[derive(Debug, Default)]
pub struct CgroupSampler {
    previous: HashMap<String, CgroupCounters>,
    last: Vec<CgroupSample>,
}

impl CgroupSampler {
    /// Reads the whole tree now. `owners` maps a container's own cgroup path to its id.
    pub fn read(
        &mut self,
        root: &HostRoot,
        layout: &CgroupLayout,
        owners: &HashMap<String, String>,
        warnings: &mut Vec<String>,
    ) -> &[CgroupSample] {
        let tree = match read_tree(root, layout, "/", None) {
            Ok(tree) => tree,
            Err(e) => {
                warnings.push(format!("cgroup tree not read: {e}"));
                None
            }
        };
        let at = Instant::now();
        let mut samples = Vec::with_capacity(self.last.len());
        let mut counters = HashMap::with_capacity(self.previous.len());
        if let Some(tree) = tree {
            flatten(
                tree,
                0,
                at,
                &self.previous,
                &mut counters,
                owners,
                &mut samples,
            );
        }
        self.previous = counters;
        self.last = samples;
        &self.last
    }

    /// The samples of the last read (empty before the first).
    pub fn last(&self) -> &[CgroupSample] {
        &self.last
    }
}

/// Depth-first, parents before children (children are sorted by name by `read_tree`).
fn flatten(
    node: CgroupNode,
    depth: usize,
    at: Instant,
    previous: &HashMap<String, CgroupCounters>,
    counters: &mut HashMap<String, CgroupCounters>,
    owners: &HashMap<String, String>,
    out: &mut Vec<CgroupSample>,
) {
    let now = CgroupCounters::of(&node.reading, at);
    let (cpu_percent, throttled_percent, io_rates) = now.rates(previous.get(&node.path));
    counters.insert(node.path.clone(), now);
    out.push(CgroupSample {
        container_id: owners.get(&node.path).cloned(),
        path: node.path,
        name: node.name,
        depth,
        has_children: !node.children.is_empty(),
        reading: node.reading,
        cpu_percent,
        throttled_percent,
        io_rates,
    });
    for child in node.children {
        flatten(child, depth + 1, at, previous, counters, owners, out);
    }
}
