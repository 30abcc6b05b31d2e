//! The host's network map, what `isotop net` prints: each bridge (or Open vSwitch datapath,
//! bond, …) with its ports, each port's other end — the namespace there, its interface and
//! addresses, the containers in it or the process holding it —, the veth pairs on no bridge,
//! and every namespace with its interfaces and routes.
//!
//! Contract: [`build`] is a pure function of one resolved full read ([`super::peers::resolve`]),
//! the handles it was read through, the containers and the processes: no I/O. A namespace
//! appears once whatever number of containers share it (a pod's containers are listed together
//! under it); containers are attributed by their init's network namespace. Namespaces with no
//! container are shown by their holder, the lowest pid in them, or by their mounts.

use foldhash::HashMap;

use serde::{Deserialize, Serialize};

use super::address::Address;
use super::link::{Interface, InterfaceKind};
use super::namespaces::NetnsHandle;
use super::read::{NetRead, NetnsReading};
use super::route::Route;
use crate::host::container::Container;
use crate::host::namespace::NsKind;
use crate::host::process::Records;
use crate::host::runtime::Runtime;

/// The process shown for a namespace: the lowest pid in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    pub pid: i32,
    /// Its command (comm), cleaned.
    pub command: String,
}

/// A container whose init is in a namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerRef {
    pub id: String,
    pub name: String,
    pub runtime: Runtime,
    /// `namespace/name` of its Kubernetes or Podman pod.
    pub pod: Option<String>,
}

/// One network namespace with what holds it and what it holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NamespaceView {
    pub inode: u64,
    /// The host's own network namespace (the host reference's).
    pub host: bool,
    pub holder: Option<Holder>,
    pub nprocs: usize,
    pub mounts: Vec<String>,
    pub containers: Vec<ContainerRef>,
    /// When it was read; `None` when it could not be (see the notes).
    pub read_at_ms: Option<u64>,
    pub interfaces: Vec<Interface>,
    pub routes: Vec<Route>,
}

/// An interface at the far end of a link, with who is behind it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct End {
    pub netns: u64,
    pub host: bool,
    pub ifindex: u32,
    pub name: String,
    pub kind: InterfaceKind,
    pub state: String,
    pub addresses: Vec<Address>,
    pub containers: Vec<ContainerRef>,
    pub holder: Option<Holder>,
    /// The namespace's nsfs mounts (`/run/netns/NAME`), cleaned.
    pub mounts: Vec<String>,
}

/// One port of a bridge: the interface on it and, for a veth, its other end.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Port {
    pub ifindex: u32,
    pub name: String,
    pub kind: InterfaceKind,
    pub driver: Option<String>,
    pub state: String,
    pub peer: Option<End>,
}

/// An interface other interfaces are ports of: a bridge, an Open vSwitch datapath
/// (`driver: openvswitch`), a bond.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Bridge {
    pub netns: u64,
    pub host: bool,
    pub ifindex: u32,
    pub name: String,
    pub kind: InterfaceKind,
    pub driver: Option<String>,
    pub state: String,
    pub addresses: Vec<Address>,
    /// Ordered by name.
    pub ports: Vec<Port>,
}

/// A veth pair neither end of which is on a bridge (wired straight between two namespaces).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VethPair {
    pub ends: [End; 2],
}

/// The whole map.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NetMap {
    /// The host's network namespace, when known.
    pub host_netns: Option<u64>,
    pub bridges: Vec<Bridge>,
    pub pairs: Vec<VethPair>,
    pub namespaces: Vec<NamespaceView>,
    /// What could not be read or resolved, one line each.
    pub notes: Vec<String>,
}

/// Builds the map from a resolved full read.
pub fn build<'p>(
    read: &NetRead<NetnsReading>,
    handles: &[NetnsHandle],
    containers: &[Container],
    processes: impl Into<Records<'p>>,
    host_netns: Option<u64>,
) -> NetMap {
    let processes = processes.into();
    let people = People::new(handles, containers, processes);
    let mounts: HashMap<u64, Vec<String>> = handles
        .iter()
        .map(|h| (h.inode, h.mounts_shown.clone()))
        .collect();
    let readings: HashMap<u64, &NetnsReading> =
        read.namespaces.iter().map(|r| (r.inode, r)).collect();
    let end_of = |people: &People, netns: u64, ifindex: u32| -> Option<End> {
        let interface = readings.get(&netns)?.interface(ifindex)?;
        Some(End {
            netns,
            host: Some(netns) == host_netns,
            ifindex,
            name: interface.name.clone(),
            kind: interface.kind,
            state: interface.state.clone(),
            addresses: interface.addresses.clone(),
            containers: people.containers(netns),
            holder: people.holder(netns),
            mounts: mounts.get(&netns).cloned().unwrap_or_default(),
        })
    };
    let mut bridges = Vec::new();
    let mut pairs = Vec::new();
    for reading in &read.namespaces {
        for master in &reading.interfaces {
            let mut ports: Vec<Port> = reading
                .interfaces
                .iter()
                .filter(|i| i.master == Some(master.ifindex))
                .map(|port| Port {
                    ifindex: port.ifindex,
                    name: port.name.clone(),
                    kind: port.kind,
                    driver: port.driver.clone(),
                    state: port.state.clone(),
                    peer: port
                        .peer
                        .as_ref()
                        .and_then(|p| end_of(&people, p.netns, p.ifindex)),
                })
                .collect();
            if ports.is_empty() && master.kind != InterfaceKind::Bridge {
                continue;
            }
            ports.sort_by(|a, b| a.name.cmp(&b.name));
            bridges.push(Bridge {
                netns: reading.inode,
                host: Some(reading.inode) == host_netns,
                ifindex: master.ifindex,
                name: master.name.clone(),
                kind: master.kind,
                driver: master.driver.clone(),
                state: master.state.clone(),
                addresses: master.addresses.clone(),
                ports,
            });
        }
        for veth in &reading.interfaces {
            let Some(peer) = &veth.peer else { continue };
            let here = (reading.inode, veth.ifindex);
            let there = (peer.netns, peer.ifindex);
            let peer_master = readings
                .get(&peer.netns)
                .and_then(|r| r.interface(peer.ifindex))
                .and_then(|i| i.master);
            // Each pair once, from its lower (namespace, index) end.
            if veth.master.is_some() || peer_master.is_some() || there < here {
                continue;
            }
            if let (Some(a), Some(b)) = (
                end_of(&people, here.0, here.1),
                end_of(&people, there.0, there.1),
            ) {
                pairs.push(VethPair { ends: [a, b] });
            }
        }
    }
    bridges.sort_by(|a, b| (!a.host, a.netns, &a.name).cmp(&(!b.host, b.netns, &b.name)));
    let namespaces = handles
        .iter()
        .map(|handle| {
            let reading = readings.get(&handle.inode);
            NamespaceView {
                inode: handle.inode,
                host: Some(handle.inode) == host_netns,
                holder: people.holder(handle.inode),
                nprocs: handle.pids.len(),
                mounts: handle.mounts_shown.clone(),
                containers: people.containers(handle.inode),
                read_at_ms: reading.map(|r| r.read_at_ms),
                interfaces: reading.map(|r| r.interfaces.clone()).unwrap_or_default(),
                routes: reading.map(|r| r.routes.clone()).unwrap_or_default(),
            }
        })
        .collect();
    NetMap {
        host_netns,
        bridges,
        pairs,
        namespaces,
        notes: read.notes.clone(),
    }
}

/// Who is in each namespace: containers by their init's, the lowest pid of each.
struct People {
    containers: HashMap<u64, Vec<ContainerRef>>,
    holders: HashMap<u64, Holder>,
}

impl People {
    fn new(handles: &[NetnsHandle], containers: &[Container], processes: Records<'_>) -> People {
        let mut by_netns: HashMap<u64, Vec<ContainerRef>> = HashMap::default();
        for container in containers.iter().filter(|c| c.init_pid.is_some()) {
            let Some(netns) = container.namespaces.get(NsKind::Net) else {
                continue;
            };
            by_netns.entry(netns).or_default().push(ContainerRef {
                id: container.id.clone(),
                name: container.name.clone(),
                runtime: container.runtime,
                pod: container.pod.as_ref().map(|pod| {
                    if pod.namespace.is_empty() {
                        pod.name.clone()
                    } else {
                        format!("{}/{}", pod.namespace, pod.name)
                    }
                }),
            });
        }
        for list in by_netns.values_mut() {
            list.sort_by(|a, b| (&a.pod, &a.name, &a.id).cmp(&(&b.pod, &b.name, &b.id)));
        }
        let comm: HashMap<i32, &str> = processes.iter().map(|p| (p.pid, p.comm.as_str())).collect();
        let holders = handles
            .iter()
            .filter_map(|h| {
                let pid = *h.pids.first()?;
                Some((
                    h.inode,
                    Holder {
                        pid,
                        command: comm.get(&pid).copied().unwrap_or("?").to_string(),
                    },
                ))
            })
            .collect();
        People {
            containers: by_netns,
            holders,
        }
    }

    fn containers(&self, netns: u64) -> Vec<ContainerRef> {
        self.containers.get(&netns).cloned().unwrap_or_default()
    }

    fn holder(&self, netns: u64) -> Option<Holder> {
        self.holders.get(&netns).cloned()
    }
}

#[cfg(test)]
mod tests;
