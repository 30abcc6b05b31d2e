//! `isotop net`: the host's network map — bridges with their ports and what is at each port's
//! other end (the container or holder process, its interface and addresses), veth pairs on
//! no bridge, and every network namespace once, however many containers share it.
//!
//! Output modes: text (the bridges as trees, the pairs, then a table of namespaces:
//! `NETNS NPROCS IFACES RX TX WHO`) or `--json` (the [`NetMap`] serialized, schema in the
//! README). What could not be read (a namespace gone mid-read, not root) goes to stderr in
//! text mode and into `notes` in JSON; neither fails the command.

use std::fmt::Write as _;

use super::table::Table;
use super::{CliError, JsonArgs, print_json, print_text};
use crate::host::HostRoot;
use crate::host::container::find_containers;
use crate::host::namespace::mounts::read_nsfs_mounts;
use crate::host::namespace::{NsKind, host_reference};
use crate::host::net::map::{self, ContainerRef, End, Holder, NamespaceView, NetMap};
use crate::host::net::{self, Counters, InterfaceKind};
use crate::host::process::ReadDepth;
use crate::host::scan::read_processes;
use crate::units::format::bytes;
use crate::units::short_id;

pub(crate) fn run(root: &HostRoot, args: &JsonArgs) -> Result<(), CliError> {
    let map = read_map(root)?;
    if args.json {
        return print_json(&map);
    }
    print_text(&render(&map))?;
    for note in &map.notes {
        super::warn(&format!("note: {note}"));
    }
    Ok(())
}

/// One full read of the host's networks, resolved and mapped.
pub(crate) fn read_map(root: &HostRoot) -> Result<NetMap, CliError> {
    let mut notes = Vec::new();
    let processes = read_processes(root, ReadDepth::Full, &mut notes)?;
    let host = host_reference(root, &processes);
    let containers = find_containers(root, &processes, &host.ns);
    let mounts = read_nsfs_mounts(root).unwrap_or_else(|e| {
        notes.push(format!("namespaces held by mounts not shown: {e}"));
        Vec::new()
    });
    let handles = net::discover(&processes, &mounts);
    let mut read = net::read_full(root, &handles);
    net::peers::resolve(root, &handles, &mut read);
    let mut map = map::build(
        &read,
        &handles,
        &containers,
        &processes,
        host.ns.get(NsKind::Net),
    );
    notes.append(&mut map.notes);
    map.notes = notes;
    Ok(map)
}

/// The text form: bridges, pairs, namespaces.
pub(crate) fn render(map: &NetMap) -> String {
    let mut out = String::new();
    for bridge in &map.bridges {
        let _ = writeln!(
            out,
            "{} {} ({}) {} in netns {}{}  {}",
            if bridge.kind == InterfaceKind::Bridge {
                "bridge"
            } else {
                "master"
            },
            bridge.name,
            bridge.driver.as_deref().unwrap_or(bridge.kind.name()),
            bridge.state,
            bridge.netns,
            if bridge.host { " (host)" } else { "" },
            addresses(&bridge.addresses),
        );
        let last = bridge.ports.len().saturating_sub(1);
        for (i, port) in bridge.ports.iter().enumerate() {
            let branch = if i == last { "└─" } else { "├─" };
            let far = port
                .peer
                .as_ref()
                .map(end_text)
                .unwrap_or_else(|| "(other end not found)".to_string());
            let kind = if port.kind == InterfaceKind::Other {
                port.driver.as_deref().unwrap_or("other")
            } else {
                port.kind.name()
            };
            let _ = writeln!(
                out,
                "  {branch} {} ({kind}, {}) ── {far}",
                port.name, port.state
            );
        }
        if bridge.ports.is_empty() {
            let _ = writeln!(out, "  (no ports)");
        }
    }
    if !map.pairs.is_empty() {
        let _ = writeln!(out, "veth pairs on no bridge");
        for pair in &map.pairs {
            let _ = writeln!(
                out,
                "  {} ── {}",
                end_text(&pair.ends[0]),
                end_text(&pair.ends[1])
            );
        }
    }
    if !out.is_empty() {
        out.push('\n');
    }
    let mut table = Table::new(&[">NETNS", ">NPROCS", ">IFACES", ">RX", ">TX", "WHO"]);
    for ns in &map.namespaces {
        let total = Counters::sum(
            ns.interfaces
                .iter()
                .filter(|i| i.kind != InterfaceKind::Loopback)
                .filter_map(|i| i.counters.as_ref()),
        );
        let read = ns.read_at_ms.is_some();
        table.push(vec![
            ns.inode.to_string(),
            ns.nprocs.to_string(),
            if read {
                ns.interfaces.len().to_string()
            } else {
                "-".to_string()
            },
            if read {
                bytes(total.rx_bytes)
            } else {
                "-".to_string()
            },
            if read {
                bytes(total.tx_bytes)
            } else {
                "-".to_string()
            },
            who(ns),
        ]);
    }
    out.push_str(&table.render());
    out
}

/// `eth0 in netns N 10.0.0.2/24: web (docker 3f2a9c1b2d4e)`.
pub(crate) fn end_text(end: &End) -> String {
    let mut text = format!("{} in netns {}", end.name, end.netns);
    if end.host {
        text.push_str(" (host)");
    }
    let shown = addresses(&end.addresses);
    if !shown.is_empty() {
        text.push(' ');
        text.push_str(&shown);
    }
    let mut owner = owner_text(&end.containers, end.holder.as_ref(), end.host);
    if owner.is_empty() {
        owner = end.mounts.join(", ");
    }
    if !owner.is_empty() {
        text.push_str(": ");
        text.push_str(&owner);
    }
    text
}

fn who(ns: &NamespaceView) -> String {
    let mut text = owner_text(&ns.containers, ns.holder.as_ref(), ns.host);
    if !ns.mounts.is_empty() {
        if !text.is_empty() {
            text.push_str("; ");
        }
        text.push_str(&ns.mounts.join(", "));
    }
    text
}

/// The containers in a namespace (a pod once, with its containers), else its holder.
fn owner_text(containers: &[ContainerRef], holder: Option<&Holder>, host: bool) -> String {
    if host {
        return "host".to_string();
    }
    if containers.is_empty() {
        return holder
            .map(|h| format!("pid {} {}", h.pid, h.command))
            .unwrap_or_default();
    }
    let named = |c: &ContainerRef| format!("{} ({} {})", c.name, c.runtime, short_id(&c.id));
    match containers.first().and_then(|c| c.pod.clone()) {
        Some(pod)
            if containers
                .iter()
                .all(|c| c.pod.as_deref() == Some(pod.as_str())) =>
        {
            let members: Vec<String> = containers.iter().map(named).collect();
            format!("pod {pod}: {}", members.join(", "))
        }
        _ => containers.iter().map(named).collect::<Vec<_>>().join(", "),
    }
}

/// Addresses but link-local IPv6 ones (every interface has one; they say nothing here).
pub(crate) fn addresses(list: &[net::address::Address]) -> String {
    list.iter()
        .filter(|a| a.scope != "link")
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}
