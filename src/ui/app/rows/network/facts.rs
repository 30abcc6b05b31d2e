//! What the Network view shows of each row, as text and rates: made once per row from the
//! frame's map (`Frame::net_map`) and traffic (`Frame::networks`), for sorting, filtering and
//! drawing alike, so a sorted column is the column drawn.
//!
//! Who is at an end: a namespace's containers (a pod once, `pod NS/NAME: a, b`), else the
//! nsfs mount that holds it (`/run/netns/NAME`), else its holder (`pid N comm`, the lowest
//! pid); the host's own namespace is `host`. Addresses leave out link-local ones (every
//! interface has one; they tell ends apart no better than the name). Every text here comes
//! from the read side already cleaned of control characters.

use foldhash::HashMap;

use super::NetRow;
use crate::host::net::address::Address;
use crate::host::net::map::{ContainerRef, End, Holder, NamespaceView, NetMap, VethPair};
use crate::host::net::{Interface, InterfaceKind};
use crate::sample::frame::{InterfaceSample, NetnsSample};
use crate::sample::rates::NetRates;

/// The frame's per-namespace traffic, by namespace inode.
pub struct Traffic<'a> {
    by_netns: HashMap<u64, &'a NetnsSample>,
}

impl<'a> Traffic<'a> {
    pub fn new(networks: &'a [NetnsSample]) -> Traffic<'a> {
        Traffic {
            by_netns: networks.iter().map(|n| (n.inode, n)).collect(),
        }
    }

    /// A namespace's sample (its totals but loopback, its interfaces).
    pub fn namespace(&self, netns: u64) -> Option<&'a NetnsSample> {
        self.by_netns.get(&netns).copied()
    }

    /// One interface's sample, by its name in its namespace.
    pub fn interface(&self, netns: u64, name: &str) -> Option<&'a InterfaceSample> {
        self.namespace(netns)?
            .interfaces
            .iter()
            .find(|i| i.name == name)
    }
}

/// One row as shown: the cells of the Network view's columns and its rates (bytes/s).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Facts {
    /// The interface (a bridge, a port, a pair's near end), a namespace, or a heading.
    pub name: String,
    pub kind: String,
    pub state: String,
    /// The interface at the other end (a bridge: how many ports; a namespace: its interfaces).
    pub peer: String,
    /// Who is at the other end (see the module's paragraph).
    pub who: String,
    /// The other end's first address but link-local ones, `+N` when it has more.
    pub address: String,
    pub rx_bytes_per_second: Option<f64>,
    pub tx_bytes_per_second: Option<f64>,
}

/// The facts of `row`.
pub fn facts(map: &NetMap, traffic: &Traffic<'_>, row: NetRow) -> Facts {
    match row {
        NetRow::Bridge(b) => {
            let Some(bridge) = map.bridges.get(b) else {
                return Facts::default();
            };
            let ports = bridge.ports.len();
            Facts {
                name: bridge.name.clone(),
                kind: kind_text(bridge.kind, bridge.driver.as_deref()),
                state: bridge.state.clone(),
                peer: format!("{ports} port{}", if ports == 1 { "" } else { "s" }),
                who: match namespace(map, bridge.netns) {
                    Some(ns) => who_in(ns),
                    None if bridge.host => "host".to_string(),
                    None => format!("netns {}", bridge.netns),
                },
                address: address_text(&bridge.addresses),
                ..Facts::default()
            }
            .with_rates(
                traffic
                    .interface(bridge.netns, &bridge.name)
                    .map(|i| &i.rates),
            )
        }
        NetRow::Port { bridge, port, .. } => {
            let Some((bridge, port)) = map
                .bridges
                .get(bridge)
                .and_then(|b| Some((b, b.ports.get(port)?)))
            else {
                return Facts::default();
            };
            let base = Facts {
                name: port.name.clone(),
                kind: kind_text(port.kind, port.driver.as_deref()),
                state: port.state.clone(),
                ..Facts::default()
            };
            match &port.peer {
                Some(end) => Facts {
                    peer: end.name.clone(),
                    who: who_at(end),
                    address: address_text(&end.addresses),
                    ..base
                }
                .with_rates(traffic.interface(end.netns, &end.name).map(|i| &i.rates)),
                // A device of the bridge's own namespace (a NIC, a tap), or a veth whose
                // other end was not found: its own traffic.
                None => Facts {
                    peer: "-".to_string(),
                    who: if port.kind == InterfaceKind::Veth {
                        "other end not found".to_string()
                    } else {
                        String::new()
                    },
                    ..base
                }
                .with_rates(
                    traffic
                        .interface(bridge.netns, &port.name)
                        .map(|i| &i.rates),
                ),
            }
        }
        NetRow::Pair(i) => {
            let Some(pair) = map.pairs.get(i) else {
                return Facts::default();
            };
            let (near, far) = pair_ends(pair);
            let mut who = who_at(far);
            if !near.host {
                who = format!("{who} (from {})", who_at(near));
            }
            Facts {
                name: near.name.clone(),
                kind: kind_text(near.kind, None),
                state: near.state.clone(),
                peer: far.name.clone(),
                who,
                address: address_text(&far.addresses),
                ..Facts::default()
            }
            .with_rates(traffic.interface(far.netns, &far.name).map(|i| &i.rates))
        }
        NetRow::Namespace(i) => {
            let Some(ns) = map.namespaces.get(i) else {
                return Facts::default();
            };
            let addresses: Vec<Address> = ns
                .interfaces
                .iter()
                .filter(|i| i.kind != InterfaceKind::Loopback)
                .flat_map(|i| i.addresses.iter().cloned())
                .collect();
            Facts {
                name: format!("netns {}", ns.inode),
                kind: "netns".to_string(),
                state: if ns.read_at_ms.is_some() {
                    String::new()
                } else {
                    "unread".to_string()
                },
                peer: interfaces_text(&ns.interfaces, ns.read_at_ms.is_some()),
                who: who_in(ns),
                address: address_text(&addresses),
                ..Facts::default()
            }
            .with_rates(traffic.namespace(ns.inode).map(|n| &n.rates))
        }
        NetRow::PairsHeading => Facts {
            name: format!("veth pairs on no bridge ({})", map.pairs.len()),
            ..Facts::default()
        },
        NetRow::NamespacesHeading => Facts {
            name: "namespaces: the host's, and those on no bridge or pair".to_string(),
            ..Facts::default()
        },
    }
}

impl Facts {
    fn with_rates(mut self, rates: Option<&NetRates>) -> Facts {
        if let Some(rates) = rates {
            self.rx_bytes_per_second = rates.rx_bytes_per_second;
            self.tx_bytes_per_second = rates.tx_bytes_per_second;
        }
        self
    }

    /// Whether the filter (already lowercased) finds this row by any of its texts.
    pub fn matches(&self, text: impl Fn(&str) -> bool) -> bool {
        [&self.name, &self.kind, &self.peer, &self.who, &self.address]
            .into_iter()
            .any(|t| text(t))
    }
}

/// A veth pair as a row shows it: (the near end, the far end). The far end is the one that
/// says more: not the host's, else one with containers (containers sharing the host's
/// namespace are listed at its ends too, but it is not theirs).
pub fn pair_ends(pair: &VethPair) -> (&End, &End) {
    let [a, b] = &pair.ends;
    let rank = |e: &End| (!e.host, !e.containers.is_empty());
    if rank(a) > rank(b) { (b, a) } else { (a, b) }
}

/// The namespace `inode` of the map.
pub fn namespace(map: &NetMap, inode: u64) -> Option<&NamespaceView> {
    map.namespaces.iter().find(|n| n.inode == inode)
}

/// Who is at the end of a link.
pub fn who_at(end: &End) -> String {
    who(end.host, &end.containers, end.holder.as_ref(), &end.mounts)
}

/// Who is in a namespace.
pub fn who_in(ns: &NamespaceView) -> String {
    who(ns.host, &ns.containers, ns.holder.as_ref(), &ns.mounts)
}

fn who(
    host: bool,
    containers: &[ContainerRef],
    holder: Option<&Holder>,
    mounts: &[String],
) -> String {
    if host {
        return "host".to_string();
    }
    if let Some(first) = containers.first() {
        let names: Vec<&str> = containers.iter().map(|c| c.name.as_str()).collect();
        return match &first.pod {
            Some(pod) if containers.iter().all(|c| c.pod.as_ref() == Some(pod)) => {
                format!("pod {pod}: {}", names.join(", "))
            }
            _ => names.join(", "),
        };
    }
    if let Some(mount) = mounts.first() {
        return match mounts.len() {
            1 => mount.clone(),
            n => format!("{mount} +{}", n - 1),
        };
    }
    holder
        .map(|h| format!("pid {} {}", h.pid, h.command))
        .unwrap_or_default()
}

/// An interface's kind as the view names it: the kernel's driver for the kinds isotop does
/// not name itself (`dummy`, `bond`, `openvswitch`).
pub fn kind_text(kind: InterfaceKind, driver: Option<&str>) -> String {
    match (kind, driver) {
        (InterfaceKind::Other, Some(driver)) => driver.to_string(),
        _ => kind.name().to_string(),
    }
}

/// Addresses but link-local ones: the first, `+N` for the rest.
pub fn address_text(addresses: &[Address]) -> String {
    let mut shown = addresses.iter().filter(|a| a.scope != "link");
    match (shown.next(), shown.count()) {
        (None, _) => String::new(),
        (Some(first), 0) => first.to_string(),
        (Some(first), more) => format!("{first} +{more}"),
    }
}

/// A namespace's interfaces in a few words: `lo only`, `3 ifaces`.
fn interfaces_text(interfaces: &[Interface], read: bool) -> String {
    if !read {
        return "-".to_string();
    }
    match interfaces.len() {
        0 => "none".to_string(),
        _ if interfaces.iter().all(|i| i.kind == InterfaceKind::Loopback) => "lo only".to_string(),
        1 => "1 iface".to_string(),
        n => format!("{n} ifaces"),
    }
}
