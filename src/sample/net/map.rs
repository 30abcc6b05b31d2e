//! The host's network map while the Network view asks for it: read in full
//! (`host::net::read_full`), every veth's peer resolved (`host::net::peers::resolve`) and
//! mapped (`host::net::map::build`) — what `isotop net` prints — on a budgeted cadence
//! ([`Cadence`]).
//!
//! Contract: the first read happens on the first tick it is wanted; then at least every
//! `map_every` ticks, and as soon as the set of namespaces changed, but never more often than
//! its measured cost allows within its share of one CPU. Between reads every frame carries the
//! same map (the same `Arc`). When no longer wanted the map is dropped and the cadence
//! forgotten, so the next time it is wanted it is read at once.

use std::sync::Arc;
use std::time::Duration;

use super::NetContext;
use crate::host::container::Container;
use crate::host::net::map::{self, NetMap};
use crate::host::net::{self, NetnsHandle};
use crate::sample::cadence::{Cadence, PartTimer};
use crate::sample::frame::ContainerSample;

/// The map and when to read it again.
#[derive(Debug)]
pub struct MapReader {
    map_every: u64,
    budget: f64,
    max_every: u64,
    cadence: Cadence,
    map: Option<Arc<NetMap>>,
    /// The namespaces the held map was read from, ascending.
    inodes: Vec<u64>,
}

impl MapReader {
    pub fn new(map_every: u64, budget: f64, max_every: u64) -> MapReader {
        MapReader {
            map_every,
            budget,
            max_every,
            cadence: Cadence::new(map_every, budget, max_every),
            map: None,
            inodes: Vec::new(),
        }
    }

    /// The map for this tick: read again when due, else the held one. `handles` are every
    /// namespace of the host (processes' and mounts'). Returns the map and, when read, what
    /// it cost.
    pub fn read(
        &mut self,
        cx: &NetContext<'_>,
        handles: &[NetnsHandle],
        containers: &[ContainerSample],
    ) -> (Option<Arc<NetMap>>, Option<Duration>) {
        let inodes: Vec<u64> = handles.iter().map(|h| h.inode).collect();
        let changed = inodes != self.inodes;
        if self.map.is_some() && !self.cadence.due(cx.seq, changed) {
            return (self.map.clone(), None);
        }
        let started = PartTimer::start();
        let mut read = net::read_full(cx.root, handles);
        net::peers::resolve(cx.root, handles, &mut read);
        let containers: Vec<Container> = containers
            .iter()
            .map(|c| Container::clone(&c.view.container))
            .collect();
        let built = map::build(&read, handles, &containers, cx.processes, cx.host_netns);
        self.cadence.ran(cx.seq, started.cpu(), cx.interval);
        self.inodes = inodes;
        self.map = Some(Arc::new(built));
        (self.map.clone(), Some(started.wall()))
    }

    /// Not wanted any more: forgets the map and when it was read.
    pub fn drop_map(&mut self) {
        if self.map.is_some() {
            self.map = None;
            self.inodes.clear();
            self.cadence = Cadence::new(self.map_every, self.budget, self.max_every);
        }
    }
}
