//! The Network view's rows, from the frame's network map: each bridge followed by its ports,
//! then a heading and the veth pairs on no bridge, then a heading and the namespaces: the
//! host's (always, first) and those no bridge port or pair reaches (a namespace with only
//! `lo`, one wired some other way). A namespace at a port's or pair's far end is its row
//! there, once, whatever number of containers share it (a pod). No map yet (the sampler reads
//! it only while the view asks), no rows.
//!
//! Sorting orders siblings — bridges, each bridge's ports, pairs, namespaces (the host's stays
//! first) — by a column of [`NETWORK_COLUMNS`]; the natural order is the map's (bridges of the
//! host first, ports by name). A filter keeps the rows whose texts ([`Facts`]) match, a bridge
//! with its matching ports (all of them when the bridge matches itself), a heading while any
//! row under it is kept.

pub mod facts;

use foldhash::HashSet;
use std::cmp::Ordering;

use self::facts::{Facts, Traffic, facts, pair_ends};
use super::{Filter, Sort, apply, by_f64};
use crate::host::net::map::NetMap;
use crate::sample::Frame;

/// The Network view's columns by sort index.
pub const NETWORK_COLUMNS: [&str; 8] = [
    "INTERFACE",
    "KIND",
    "STATE",
    "PEER",
    "AT THE OTHER END",
    "ADDRESS",
    "RX/s",
    "TX/s",
];

/// A row of the Network view: indices into the frame's `net_map`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetRow {
    Bridge(usize),
    /// A port of bridge `bridge`; `last` when it is the last one shown under it.
    Port {
        bridge: usize,
        port: usize,
        last: bool,
    },
    PairsHeading,
    Pair(usize),
    NamespacesHeading,
    Namespace(usize),
}

/// What the detail pane of a row shows: a namespace, and the interface to show first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetTarget {
    pub netns: u64,
    pub interface: Option<String>,
}

/// The rows of the Network view for `frame` (none while it carries no map).
pub fn build(frame: &Frame, filter: &Filter, sort: Sort) -> Vec<NetRow> {
    let Some(map) = frame.net_map.as_deref() else {
        return Vec::new();
    };
    let traffic = Traffic::new(&frame.networks);
    let facts_of = |row: NetRow| facts(map, &traffic, row);
    let keep = |f: &Facts, extra: &str| {
        filter.is_empty() || f.matches(|t| filter.text(t)) || filter.text(extra)
    };
    let order = |rows: &mut Vec<(NetRow, Facts)>| {
        if let Some(column) = sort.column {
            rows.sort_by(|a, b| apply(compare(&a.1, &b.1, column), sort));
        } else if sort.reversed {
            rows.reverse();
        }
    };
    let mut out = Vec::new();

    let mut bridges: Vec<(NetRow, Facts)> = (0..map.bridges.len())
        .map(|b| (NetRow::Bridge(b), facts_of(NetRow::Bridge(b))))
        .collect();
    order(&mut bridges);
    for (row, bridge_facts) in bridges {
        let NetRow::Bridge(b) = row else { continue };
        let bridge = &map.bridges[b];
        let itself = keep(&bridge_facts, &bridge.netns.to_string());
        let mut ports: Vec<(NetRow, Facts)> = (0..bridge.ports.len())
            .map(|port| {
                let row = NetRow::Port {
                    bridge: b,
                    port,
                    last: false,
                };
                (row, facts_of(row))
            })
            .filter(|(row, f)| itself || keep(f, &peer_netns(map, *row)))
            .collect();
        if !itself && ports.is_empty() {
            continue;
        }
        order(&mut ports);
        out.push(row);
        let count = ports.len();
        out.extend(
            ports
                .into_iter()
                .enumerate()
                .map(|(at, (row, _))| match row {
                    NetRow::Port { bridge, port, .. } => NetRow::Port {
                        bridge,
                        port,
                        last: at + 1 == count,
                    },
                    other => other,
                }),
        );
    }

    let mut pairs: Vec<(NetRow, Facts)> = (0..map.pairs.len())
        .map(|i| (NetRow::Pair(i), facts_of(NetRow::Pair(i))))
        .filter(|(row, f)| keep(f, &peer_netns(map, *row)))
        .collect();
    if !pairs.is_empty() {
        order(&mut pairs);
        out.push(NetRow::PairsHeading);
        out.extend(pairs.into_iter().map(|(row, _)| row));
    }

    let linked = linked_namespaces(map);
    let mut namespaces: Vec<(NetRow, Facts)> = map
        .namespaces
        .iter()
        .enumerate()
        .filter(|(_, ns)| !ns.host && !linked.contains(&ns.inode))
        .map(|(i, _)| (NetRow::Namespace(i), facts_of(NetRow::Namespace(i))))
        .filter(|(_, f)| keep(f, ""))
        .collect();
    order(&mut namespaces);
    // The host's namespace heads the list whatever the order: where the host's own
    // interfaces and routes are.
    if let Some(host) = map.namespaces.iter().position(|ns| ns.host) {
        let row = NetRow::Namespace(host);
        if keep(&facts_of(row), "") {
            namespaces.insert(0, (row, Facts::default()));
        }
    }
    if !namespaces.is_empty() {
        out.push(NetRow::NamespacesHeading);
        out.extend(namespaces.into_iter().map(|(row, _)| row));
    }
    out
}

/// The namespaces a bridge is in or a port or pair reaches: shown with those rows.
fn linked_namespaces(map: &NetMap) -> HashSet<u64> {
    let mut linked = HashSet::default();
    for bridge in &map.bridges {
        linked.insert(bridge.netns);
        linked.extend(
            bridge
                .ports
                .iter()
                .filter_map(|p| Some(p.peer.as_ref()?.netns)),
        );
    }
    for pair in &map.pairs {
        linked.extend(pair.ends.iter().map(|e| e.netns));
    }
    linked
}

/// The inode of the namespace at a port's or pair's far end, as text (the filter finds a
/// namespace's row by its inode).
fn peer_netns(map: &NetMap, row: NetRow) -> String {
    match row {
        NetRow::Port { bridge, port, .. } => map
            .bridges
            .get(bridge)
            .and_then(|b| b.ports.get(port)?.peer.as_ref())
            .map(|end| end.netns.to_string())
            .unwrap_or_default(),
        NetRow::Pair(i) => map
            .pairs
            .get(i)
            .map(|pair| pair_ends(pair).1.netns.to_string())
            .unwrap_or_default(),
        _ => String::new(),
    }
}

fn compare(a: &Facts, b: &Facts, column: usize) -> Ordering {
    match column {
        0 => a.name.cmp(&b.name),
        1 => a.kind.cmp(&b.kind),
        2 => a.state.cmp(&b.state),
        3 => a.peer.cmp(&b.peer),
        4 => a.who.cmp(&b.who),
        5 => a.address.cmp(&b.address),
        6 => by_f64(a.rx_bytes_per_second, b.rx_bytes_per_second),
        _ => by_f64(a.tx_bytes_per_second, b.tx_bytes_per_second),
    }
    .then_with(|| a.name.cmp(&b.name))
}

/// A row's identity, stable across reads of the map (indices are not: a new bridge shifts
/// them): the namespace and names it is about.
pub fn key(map: &NetMap, row: NetRow) -> Option<String> {
    Some(match row {
        NetRow::Bridge(b) => {
            let bridge = map.bridges.get(b)?;
            format!("bridge:{}:{}", bridge.netns, bridge.name)
        }
        NetRow::Port { bridge, port, .. } => {
            let bridge = map.bridges.get(bridge)?;
            let port = bridge.ports.get(port)?;
            format!("port:{}:{}:{}", bridge.netns, bridge.name, port.name)
        }
        NetRow::Pair(i) => {
            let (near, _) = pair_ends(map.pairs.get(i)?);
            format!("pair:{}:{}", near.netns, near.name)
        }
        NetRow::Namespace(i) => format!("netns:{}", map.namespaces.get(i)?.inode),
        NetRow::PairsHeading => "heading:pairs".to_string(),
        NetRow::NamespacesHeading => "heading:namespaces".to_string(),
    })
}

/// The namespace (and interface) a row's detail pane shows; `None` for a heading.
pub fn target(map: &NetMap, row: NetRow) -> Option<NetTarget> {
    match row {
        NetRow::Bridge(b) => {
            let bridge = map.bridges.get(b)?;
            Some(NetTarget {
                netns: bridge.netns,
                interface: Some(bridge.name.clone()),
            })
        }
        NetRow::Port { bridge, port, .. } => {
            let bridge = map.bridges.get(bridge)?;
            let port = bridge.ports.get(port)?;
            Some(match &port.peer {
                Some(end) => NetTarget {
                    netns: end.netns,
                    interface: Some(end.name.clone()),
                },
                None => NetTarget {
                    netns: bridge.netns,
                    interface: Some(port.name.clone()),
                },
            })
        }
        NetRow::Pair(i) => {
            let (_, far) = pair_ends(map.pairs.get(i)?);
            Some(NetTarget {
                netns: far.netns,
                interface: Some(far.name.clone()),
            })
        }
        NetRow::Namespace(i) => Some(NetTarget {
            netns: map.namespaces.get(i)?.inode,
            interface: None,
        }),
        NetRow::PairsHeading | NetRow::NamespacesHeading => None,
    }
}
