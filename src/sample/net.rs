//! The network side of a tick: every tick the counters of each network namespace that is a
//! container's own (`host::net::own_netns`), with rates per namespace and per interface, and
//! each container's [`ContainerNet`]; while the Network view asks (`Sampler::set_net_map`),
//! the counters of every namespace on the host and, on a budgeted cadence, the host's map
//! ([`map`]).
//!
//! Contract:
//! - A namespace is read once a tick, however many containers share it (`host::net::
//!   read_counters`: `/proc/PID/net/dev` of a process in it, netlink from inside for one held
//!   only by a mount; on a live host each namespace's `net/dev` is kept open between ticks and
//!   re-read with one `pread`, `host::net::KeptNetDev`, closed the tick its namespace is no
//!   longer read), and attributed afterwards: [`NetnsSample::containers`] are the ids
//!   whose own namespace it is, and each of them gets the same figures with
//!   [`ContainerNet::sharing`] saying how many share them (a pod counts them once).
//! - The namespaces read are found in the sampler's own process table (each process's
//!   `ns/net`, read when the process was first seen); nsfs mounts (`/run/netns/NAME`) are read
//!   only when needed: while the map is wanted, or when no process in the table holds a
//!   container's namespace any more.
//! - Rates compare a namespace's previous reading (same inode, the last tick it was read),
//!   over the time between the two readings' moments (µs); an interface is matched by name.
//!   A namespace's rate is the sum of its interfaces' but loopback, and is known only when the
//!   same interfaces are in both readings: an interface made, deleted or reset (made again
//!   under the same name) in between makes that tick's namespace rate `None` (its traffic in
//!   that interval is not known), never a wrong or negative figure; the interface itself has
//!   `None` rates when new or reset, and is simply absent once deleted.
//! - Nothing fails a tick: a namespace that vanished or could not be read is a warning, and
//!   the containers whose namespace it is have `net: None`.

pub mod map;

use foldhash::{HashMap, HashSet};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use self::map::MapReader;
use super::frame::{ContainerNet, ContainerSample, InterfaceSample, NetnsSample};
use super::rates::netns_rates;
use crate::host::HostRoot;
use crate::host::namespace::NsKind;
use crate::host::namespace::mounts::{NsfsMount, read_nsfs_mounts};
use crate::host::net::map::NetMap;
use crate::host::net::namespaces::from_members;
use crate::host::net::{KeptNetDev, NetnsCounters, NetnsHandle, own_netns, read_counters};
use crate::host::process::Records;

/// What the network part needs from the rest of the tick.
pub struct NetContext<'a> {
    pub root: &'a HostRoot,
    /// The sampler's process table.
    pub processes: Records<'a>,
    /// The host's own network namespace (the host reference's).
    pub host_netns: Option<u64>,
    /// The Network view is shown: every namespace, and the map.
    pub map_wanted: bool,
    pub seq: u64,
    /// Time between ticks, for the map's cost rule.
    pub interval: Duration,
}

/// One tick's network figures and what they cost.
#[derive(Debug, Default)]
pub struct NetTick {
    /// Ordered by inode.
    pub networks: Vec<NetnsSample>,
    pub net_map: Option<std::sync::Arc<NetMap>>,
    /// Reading the counters and making the rates (`None` when there was nothing to read).
    pub cost: Option<Duration>,
    /// Reading the map (`None` when it was not read this tick).
    pub map_cost: Option<Duration>,
}

/// The sampler's network reader: the previous readings and the map.
#[derive(Debug)]
pub struct NetSampler {
    /// Each namespace's last reading: what its rates compare against.
    previous: HashMap<u64, NetnsCounters>,
    map: MapReader,
    /// Each read namespace's `/proc/<pid>/net/dev`, kept open between ticks (live hosts).
    kept: KeptNetDev,
}

impl NetSampler {
    /// The map is read at least every `map_every` ticks while wanted (and when the set of
    /// namespaces changed), never using more than `budget` of one CPU on average, never
    /// waiting more than `max_every` ticks.
    pub fn new(map_every: u64, budget: f64, max_every: u64) -> NetSampler {
        NetSampler {
            previous: HashMap::default(),
            map: MapReader::new(map_every, budget, max_every),
            kept: KeptNetDev::new(),
        }
    }

    /// Reads this tick's namespaces, fills each container's `net` and returns the frame's
    /// networks (and map, while wanted).
    pub fn sample(
        &mut self,
        cx: &NetContext<'_>,
        containers: &mut [ContainerSample],
        warnings: &mut Vec<String>,
    ) -> NetTick {
        let started = Instant::now();
        let owners = owners(containers);
        let handles = if cx.map_wanted {
            every_namespace(cx, warnings)
        } else {
            container_namespaces(cx, &owners, warnings)
        };
        // A kept file would go on showing a fixture file that was replaced: only live hosts.
        let read = if cx.root.live {
            self.kept.read(cx.root, &handles)
        } else {
            read_counters(cx.root, &handles)
        };
        warnings.extend(read.notes);
        let networks = self.samples(read.namespaces, &owners, cx.host_netns);
        attribute(containers, &networks, &owners);
        let cost = (!handles.is_empty()).then(|| started.elapsed());
        let (net_map, map_cost) = if cx.map_wanted {
            self.map.read(cx, &handles, containers)
        } else {
            self.map.drop_map();
            (None, None)
        };
        NetTick {
            networks,
            net_map,
            cost,
            map_cost,
        }
    }

    /// The frame's samples of this tick's readings, with rates against each namespace's
    /// previous reading; keeps the readings for the next tick (and forgets namespaces not
    /// read this tick).
    fn samples(
        &mut self,
        mut readings: Vec<NetnsCounters>,
        owners: &BTreeMap<u64, Vec<String>>,
        host_netns: Option<u64>,
    ) -> Vec<NetnsSample> {
        readings.sort_by_key(|r| r.inode);
        readings.dedup_by_key(|r| r.inode);
        let mut kept = HashMap::with_capacity_and_hasher(readings.len(), Default::default());
        let samples = readings
            .into_iter()
            .map(|reading| {
                let sample = sample_of(
                    &reading,
                    self.previous.get(&reading.inode),
                    owners,
                    host_netns,
                );
                kept.insert(reading.inode, reading);
                sample
            })
            .collect();
        self.previous = kept;
        samples
    }
}

/// The containers whose own namespace each is, by inode (ids in the frame's order).
fn owners(containers: &[ContainerSample]) -> BTreeMap<u64, Vec<String>> {
    let mut owners: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    for c in containers {
        if let Some(inode) = own_netns(&c.view.container) {
            owners
                .entry(inode)
                .or_default()
                .push(c.view.container.id.clone());
        }
    }
    owners
}

/// The containers' own namespaces, held by every process of the table in them; the nsfs
/// mounts are read only when some namespace has no such process left.
fn container_namespaces(
    cx: &NetContext<'_>,
    owners: &BTreeMap<u64, Vec<String>>,
    warnings: &mut Vec<String>,
) -> Vec<NetnsHandle> {
    let members: Vec<(i32, u64)> = cx
        .processes
        .iter()
        .filter_map(|p| Some((p.pid, p.ns.get(NsKind::Net)?)))
        .filter(|(_, inode)| owners.contains_key(inode))
        .collect();
    let held: HashSet<u64> = members.iter().map(|&(_, inode)| inode).collect();
    let unheld: Vec<u64> = owners
        .keys()
        .copied()
        .filter(|inode| !held.contains(inode))
        .collect();
    if unheld.is_empty() {
        return from_members(members, &[]);
    }
    let mounts = nsfs_mounts(cx.root, warnings);
    let needed: Vec<NsfsMount> = mounts
        .into_iter()
        .filter(|m| m.kind == NsKind::Net && unheld.contains(&m.inode))
        .collect();
    let handles = from_members(members, &needed);
    for inode in unheld {
        if !handles.iter().any(|h| h.inode == inode) {
            let ids = owners
                .get(&inode)
                .map(|ids| ids.join(", "))
                .unwrap_or_default();
            warnings.push(format!(
                "network namespace {inode} (of {ids}) is held by no process or mount any more: \
                 its traffic is not shown"
            ));
        }
    }
    handles
}

/// Every network namespace of the host: each process's and each nsfs mount's.
fn every_namespace(cx: &NetContext<'_>, warnings: &mut Vec<String>) -> Vec<NetnsHandle> {
    let mounts = nsfs_mounts(cx.root, warnings);
    let members = cx
        .processes
        .iter()
        .filter_map(|p| Some((p.pid, p.ns.get(NsKind::Net)?)));
    from_members(members, &mounts)
}

fn nsfs_mounts(root: &HostRoot, warnings: &mut Vec<String>) -> Vec<NsfsMount> {
    read_nsfs_mounts(root).unwrap_or_else(|e| {
        warnings.push(format!("network namespaces held by mounts not shown: {e}"));
        Vec::new()
    })
}

/// One namespace's sample: its interfaces with their rates, its total and rates
/// (`sample::rates::netns_rates`, the one rule).
fn sample_of(
    reading: &NetnsCounters,
    previous: Option<&NetnsCounters>,
    owners: &BTreeMap<u64, Vec<String>>,
    host_netns: Option<u64>,
) -> NetnsSample {
    let rates = netns_rates(previous, reading);
    let interfaces: Vec<InterfaceSample> = reading
        .interfaces
        .iter()
        .zip(rates.interfaces)
        .map(|(i, rates)| InterfaceSample {
            name: i.name.clone(),
            counters: i.counters,
            rates,
        })
        .collect();
    NetnsSample {
        inode: reading.inode,
        host: Some(reading.inode) == host_netns,
        containers: owners.get(&reading.inode).cloned().unwrap_or_default(),
        read_at_ms: reading.read_at_ms,
        total: reading.total(),
        interfaces,
        rates: rates.total,
    }
}

/// Gives each container its own namespace's figures (`None` when it has none of its own or
/// it was not read this tick).
fn attribute(
    containers: &mut [ContainerSample],
    networks: &[NetnsSample],
    owners: &BTreeMap<u64, Vec<String>>,
) {
    for c in containers {
        c.net = own_netns(&c.view.container).and_then(|inode| {
            let at = networks.binary_search_by_key(&inode, |n| n.inode).ok()?;
            let sample = &networks[at];
            Some(ContainerNet {
                netns: inode,
                sharing: owners.get(&inode).map_or(1, Vec::len),
                counters: sample.total,
                rates: sample.rates,
            })
        });
    }
}

/// Its unit tests, and the container samples `pods`' tests build on.
#[cfg(test)]
pub(crate) mod tests;
