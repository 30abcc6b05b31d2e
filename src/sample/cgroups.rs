//! The cgroup side of a tick: the cgroup tree flattened depth-first with CPU and throttling
//! rates, block I/O per second, and the counters those rates come from.
//!
//! Rates of a cgroup compare its own previous reading (same path), over the wall-clock time
//! between the two reads (µs, measured with a monotonic clock), so a tree read less often than
//! every tick still gets true rates. A cgroup seen for the first time, or whose counters went
//! back (removed and recreated under the same path), has `None` rates.
//!
//! Process counts: given the host's process count (the sampler's table, when it read every
//! process), the most crowded cgroup of each hierarchy at the previous read — at least
//! [`DERIVE_FROM`] processes — has its count derived by `host::cgroup::read_tree_counted` (the
//! host's processes less every other cgroup's count there, read now) instead of read from its
//! `cgroup.procs`, where that spares more than the extra reads it takes ([`READ_RATIO`]);
//! every other cgroup's count is read, so each count is as fresh as the read.
//!
//! A cgroup a container measured this tick as its own, from the very directories the tree
//! reads there, is not read again ([`CgroupSampler::read_reusing`] with [`own_readings`]):
//! its node is the container's reading — its usage and counters read this tick, its limits
//! and process count carried as `host::container::measure::Carry` states (limits every few
//! ticks, the count while `pids.current` stays the same).

use foldhash::HashMap;
use std::sync::Arc;
use std::time::Instant;

use super::frame::{CgroupSample, ContainerSample};
use super::rates::{IoRates, Throttling, cpu_percent_from_usec, io_rates, throttled_percent};
use crate::host::HostRoot;
use crate::host::cgroup::{
    CgroupLayout, CgroupNode, CgroupReading, ChildListings, CountPlan, IoCounters, OwnReadings,
    read_tree_reusing,
};

/// A cgroup with at least this many processes has its count derived rather than read: below
/// it `cgroup.procs` costs about what the reads of the others' it needs cost (an own count
/// read once more in another hierarchy, now and then).
pub const DERIVE_FROM: usize = 256;

/// Deriving a count reads `cgroup.procs` once more for each cgroup of that hierarchy counted in
/// another one; one such small read costs about what 40 pids of a long `cgroup.procs` do (~25
/// µs against ~0.7 µs a pid, measured), so a count is derived only when it is at least this
/// many times those reads (1,000 cgroups in both the pids and the memory hierarchy would
/// otherwise cost 1,000 reads to spare one).
const READ_RATIO: usize = 40;

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
    /// Shared with the frames until the next read.
    last: Arc<[CgroupSample]>,
    /// Per hierarchy, the cgroup whose count the next read derives.
    derive: Vec<Option<String>>,
    /// The cgroups' child directories, kept from read to read (`host::cgroup::ChildListings`).
    listings: ChildListings,
}

impl CgroupSampler {
    /// Reads the whole tree now. `owners` maps a container's own cgroup path to its id;
    /// `processes` is the host's process count when every process was just read (it lets the
    /// crowded cgroups' counts be derived, see the module's contract), else `None`.
    pub fn read(
        &mut self,
        root: &HostRoot,
        layout: &CgroupLayout,
        owners: &HashMap<String, String>,
        processes: Option<usize>,
        warnings: &mut Vec<String>,
    ) -> &[CgroupSample] {
        let known = OwnReadings::default();
        self.read_reusing(root, layout, owners, processes, &known, warnings)
    }

    /// [`CgroupSampler::read`], taking the readings the tick's containers made of their own
    /// cgroups where they read the same directories (see the module's contract; built by
    /// [`own_readings`]).
    pub fn read_reusing(
        &mut self,
        root: &HostRoot,
        layout: &CgroupLayout,
        owners: &HashMap<String, String>,
        processes: Option<usize>,
        known: &OwnReadings<'_>,
        warnings: &mut Vec<String>,
    ) -> &[CgroupSample] {
        let plan = processes.map(|processes| CountPlan {
            processes,
            derive: std::mem::take(&mut self.derive),
        });
        let tree = match read_tree_reusing(root, layout, plan.as_ref(), known, &mut self.listings) {
            Ok(counted) => {
                self.derive = counted
                    .largest
                    .into_iter()
                    .zip(counted.counted_elsewhere)
                    .map(|(largest, elsewhere)| {
                        largest
                            .filter(|(_, n)| *n >= DERIVE_FROM && elsewhere * READ_RATIO <= *n)
                            .map(|(path, _)| path)
                    })
                    .collect();
                counted.tree
            }
            Err(e) => {
                warnings.push(format!("cgroup tree not read: {e}"));
                None
            }
        };
        let at = Instant::now();
        let mut samples = Vec::with_capacity(self.last.len());
        let mut counters =
            HashMap::with_capacity_and_hasher(self.previous.len(), Default::default());
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
        self.last = samples.into();
        &self.last
    }

    /// The cgroups whose process counts the next read derives rather than reads (the most
    /// crowded of each hierarchy at the last read, when at least [`DERIVE_FROM`]).
    pub fn derived(&self) -> impl Iterator<Item = &str> {
        self.derive.iter().flatten().map(String::as_str)
    }

    /// The samples of the last read (empty before the first), shared.
    pub fn last(&self) -> &Arc<[CgroupSample]> {
        &self.last
    }
}

/// The readings `containers` made this tick of their own cgroups, for the tree to take
/// (`host::cgroup::read_tree_reusing`).
pub fn own_readings(containers: &[ContainerSample]) -> OwnReadings<'_> {
    let mut known = OwnReadings::default();
    for c in containers {
        if let Some(reading) = &c.view.cgroup {
            let own = c.view.ownership.iter().filter(|o| o.own);
            known.add(reading, own.map(|o| &o.membership).collect());
        }
    }
    known
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
