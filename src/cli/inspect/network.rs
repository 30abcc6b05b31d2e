//! `inspect`'s network section: the container's own network namespace — its inode, the other
//! containers in it (a pod's), each interface (name, kind, state, MTU, MAC, addresses,
//! counters) with, for a veth, the other end (its namespace, interface, addresses and who is
//! there) and the bridge that end, or the interface itself, is a port of — and its routes.
//!
//! Contract: the namespace is the one `host::net::own_netns` attributes to the container; a
//! container sharing the host's (or not running) has no section (`null`). It is read with
//! `host::net::read_full`, its veths resolved by `host::net::peers::resolve` and the people at
//! each end found by `host::net::map::build` — the functions `isotop net` maps the host with.
//! How much is read: the container's namespace alone first (one netlink walk, ~80 µs); only
//! when one of its links has its other end in another namespace (a veth's `IFLA_LINK_NETNSID`)
//! is every other namespace read too, because which namespace holds that end is known only by
//! an id the container's namespace gave it, confirmed by asking (see `host::net::peers`): the
//! candidates are every namespace with a veth of the right index. bench/net-bench.sh measured
//! that full read at 64–84 µs per namespace — about 80 ms at 1,000 namespaces, once per
//! `inspect` — so no cheaper, guessing path is worth its risk. What could not be read or
//! resolved is in `notes`; nothing here fails `inspect`.

use serde::Serialize;

use crate::cli::net::{addresses, end_text};
use crate::host::HostRoot;
use crate::host::container::Container;
use crate::host::namespace::NsKind;
use crate::host::namespace::mounts::read_nsfs_mounts;
use crate::host::net::map::{self, End, NamespaceView, NetMap};
use crate::host::net::route::Route;
use crate::host::net::{self, Interface, InterfaceKind, NetnsHandle, own_netns, peers};
use crate::host::scan::{ContainerView, Snapshot};
use crate::units::format::bytes;

/// The container's network, as `inspect --json` carries it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct NetworkSection {
    /// Its network namespace (nsfs inode).
    pub netns: u64,
    /// Ids of the other containers whose init is in it (the containers of a pod), sorted.
    pub shared_with: Vec<String>,
    /// When it was read; null when it could not be (see `notes`).
    pub read_at_ms: Option<u64>,
    pub interfaces: Vec<NetInterface>,
    /// The main table.
    pub routes: Vec<Route>,
    /// What could not be read or resolved, one line each.
    pub notes: Vec<String>,
}

/// One interface of the container's namespace and what is wired to it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct NetInterface {
    #[serde(flatten)]
    pub interface: Interface,
    /// A veth's other end with who is there (`null` for other kinds, or when not resolved).
    pub peer_end: Option<End>,
    /// The bridge (or bond, Open vSwitch datapath) the veth's other end — or else this
    /// interface itself — is a port of.
    pub bridge: Option<BridgeRef>,
}

/// A bridge by its namespace and name.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct BridgeRef {
    pub netns: u64,
    /// In the host's network namespace.
    pub host: bool,
    pub ifindex: u32,
    pub name: String,
    pub kind: InterfaceKind,
    pub driver: Option<String>,
}

/// The network section of `view` (see the module); `None` when it has no network of its own.
pub(crate) fn network(
    root: &HostRoot,
    snapshot: &Snapshot,
    view: &ContainerView,
) -> Option<NetworkSection> {
    let c = &view.container;
    let init = c.init_pid?;
    let netns = own_netns(c)?;
    let mut notes = Vec::new();
    let mounts = read_nsfs_mounts(root).unwrap_or_else(|e| {
        notes.push(format!("namespaces held by mounts not read: {e}"));
        Vec::new()
    });
    let mut handles = net::discover(&snapshot.processes, &mounts);
    if !handles.iter().any(|h| h.inode == netns) {
        // The scan saw the init, the process table may not hold it: reach it through it.
        handles.extend(net::namespaces::from_members([(init, netns)], &[]));
    }
    let (own, others): (Vec<NetnsHandle>, Vec<NetnsHandle>) =
        handles.into_iter().partition(|h| h.inode == netns);
    let mut read = net::read_full(root, &own);
    let crosses = read
        .namespaces
        .iter()
        .flat_map(|n| &n.interfaces)
        .any(|i| i.link.is_some_and(|l| l.netnsid.is_some()));
    let handles = if crosses {
        let more = net::read_full(root, &others);
        read.namespaces.extend(more.namespaces);
        read.notes.extend(more.notes);
        read.namespaces.sort_by_key(|n| n.inode);
        [own, others].concat()
    } else {
        own
    };
    peers::resolve(root, &handles, &mut read);
    let containers: Vec<Container> = snapshot
        .containers
        .iter()
        .map(|v| Container::clone(&v.container))
        .collect();
    let host_netns = snapshot.host.ns.get(NsKind::Net);
    let map = map::build(
        &read,
        &handles,
        &containers,
        &snapshot.processes,
        host_netns,
    );
    notes.extend(map.notes.iter().cloned());
    let own = map.namespaces.iter().find(|n| n.inode == netns)?;
    let mut shared_with: Vec<String> = own
        .containers
        .iter()
        .filter(|other| other.id != c.id)
        .map(|other| other.id.clone())
        .collect();
    shared_with.sort();
    Some(NetworkSection {
        netns,
        shared_with,
        read_at_ms: own.read_at_ms,
        interfaces: own.interfaces.iter().map(|i| wired(&map, own, i)).collect(),
        routes: own.routes.clone(),
        notes,
    })
}

/// `interface` of namespace `own` with its veth's other end and bridge, from the map.
fn wired(map: &NetMap, own: &NamespaceView, interface: &Interface) -> NetInterface {
    let namespace = |inode: u64| map.namespaces.iter().find(|n| n.inode == inode);
    let peer = interface
        .peer
        .as_ref()
        .and_then(|p| Some((namespace(p.netns)?, p.ifindex)))
        .and_then(|(ns, ifindex)| Some((ns, ns.interfaces.iter().find(|i| i.ifindex == ifindex)?)));
    let peer_end = peer.map(|(ns, far)| End {
        netns: ns.inode,
        host: ns.host,
        ifindex: far.ifindex,
        name: far.name.clone(),
        kind: far.kind,
        state: far.state.clone(),
        addresses: far.addresses.clone(),
        containers: ns.containers.clone(),
        holder: ns.holder.clone(),
        mounts: ns.mounts.clone(),
    });
    let master_of = |ns: &NamespaceView, port: &Interface| {
        let master = ns
            .interfaces
            .iter()
            .find(|m| Some(m.ifindex) == port.master)?;
        Some(BridgeRef {
            netns: ns.inode,
            host: ns.host,
            ifindex: master.ifindex,
            name: master.name.clone(),
            kind: master.kind,
            driver: master.driver.clone(),
        })
    };
    let bridge = peer
        .and_then(|(ns, far)| master_of(ns, far))
        .or_else(|| master_of(own, interface));
    NetInterface {
        interface: interface.clone(),
        peer_end,
        bridge,
    }
}

/// The text form: a header line, then per interface one line and, when wired, a second.
pub(crate) fn render(section: Option<&NetworkSection>, shown: &crate::cli::ShortIds) -> String {
    let Some(n) = section else {
        return String::new();
    };
    let sharing = if n.shared_with.is_empty() {
        "own".to_string()
    } else {
        let ids: Vec<String> = n.shared_with.iter().map(|id| shown.get(id)).collect();
        format!("shared with {}", ids.join(", "))
    };
    let mut out = format!("Network        netns {} ({sharing})\n", n.netns);
    if n.read_at_ms.is_none() {
        out.push_str("  not read (see the notes)\n");
    }
    for i in &n.interfaces {
        let it = &i.interface;
        let counters = it
            .counters
            .map(|c| format!("  rx {} tx {}", bytes(c.rx_bytes), bytes(c.tx_bytes)))
            .unwrap_or_default();
        let mtu = it.mtu.map(|m| format!("  mtu {m}")).unwrap_or_default();
        let mac = it
            .mac
            .as_deref()
            .map(|m| format!("  {m}"))
            .unwrap_or_default();
        let shown_addresses = addresses(&it.addresses);
        let shown_addresses = if shown_addresses.is_empty() {
            String::new()
        } else {
            format!("  {shown_addresses}")
        };
        out.push_str(&format!(
            "  {:<10} {:<8} {}{mtu}{mac}{shown_addresses}{counters}\n",
            it.name,
            it.kind.name(),
            it.state,
        ));
        let mut wired = Vec::new();
        if let Some(end) = &i.peer_end {
            wired.push(format!("peer {}", end_text(end)));
        }
        if let Some(b) = &i.bridge {
            let host = if b.host { " (host)" } else { "" };
            wired.push(format!(
                "on {} {} in netns {}{host}",
                b.kind.name(),
                b.name,
                b.netns
            ));
        }
        if !wired.is_empty() {
            out.push_str(&format!("  {:<10} └─ {}\n", "", wired.join("; ")));
        }
    }
    for note in &n.notes {
        out.push_str(&format!("  note: {note}\n"));
    }
    out
}
