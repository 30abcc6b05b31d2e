//! Traffic counters against the kernel's own files: a veth pair between two test namespaces,
//! a ping and a few hundred KB between them (nothing leaves the pair), then every way isotop
//! reads counters — the full netlink read, and the per-tick path from each source — compared
//! with `/sys/class/net/<if>/statistics/*` and `ip -s -j link` inside the namespace. IPv6 is
//! off in the test namespaces, so nothing moves a counter once the ping ends; the kernel's
//! files are still read before and after isotop, and isotop's figure must lie between.

use crate::support::netns::{Netns, as_array, handles_where, tools_present, within};

use std::os::unix::fs::MetadataExt;

use isotop::host::HostRoot;
use isotop::host::net::{self, CounterSource};

/// `ip -s -j link show <name>` inside `netns`: its stats64.
fn ip_stats(netns: &Netns, name: &str) -> [u64; 8] {
    let text = netns.exec(&["ip", "-s", "-j", "link", "show", name]);
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let stats = &doc[0]["stats64"];
    let get = |dir: &str, key: &str| stats[dir][key].as_u64().unwrap();
    [
        get("rx", "bytes"),
        get("rx", "packets"),
        get("rx", "errors"),
        get("rx", "dropped"),
        get("tx", "bytes"),
        get("tx", "packets"),
        get("tx", "errors"),
        get("tx", "dropped"),
    ]
}

#[test]
#[ignore = "needs root"]
fn counters_match_sysfs_and_ip_in_every_source() {
    if !tools_present() || !crate::support::common::require_program("ping") {
        return;
    }
    let mut a = Netns::add("net-count-a");
    let b = Netns::add("net-count-b");
    a.ip(&[
        "link", "add", "va", "type", "veth", "peer", "name", "vb", "netns", &b.name,
    ]);
    a.ip(&["address", "add", "10.215.0.1/30", "dev", "va"]);
    b.ip(&["address", "add", "10.215.0.2/30", "dev", "vb"]);
    a.ip(&["link", "set", "va", "up"]);
    b.ip(&["link", "set", "vb", "up"]);
    // 300 echo requests of 1200 bytes and their replies: ~370 KB each way, inside the pair.
    let ping = a.exec(&[
        "ping",
        "-q",
        "-c",
        "300",
        "-i",
        "0.002",
        "-s",
        "1200",
        "-W",
        "2",
        "10.215.0.2",
    ]);
    assert!(ping.contains(" 0% packet loss"), "{ping}");
    // a has a process (the per-tick path reads its /proc/<pid>/net/dev); b only its mount
    // (read by netlink from inside).
    a.hold(&["sleep", "1000"]);
    let handles = handles_where(|h| [a.inode(), b.inode()].contains(&h.inode));
    assert_eq!(handles.len(), 2);
    let root = HostRoot::live();

    let before = (a.statistics("va"), b.statistics("vb"));
    let ip_before = (ip_stats(&a, "va"), ip_stats(&b, "vb"));
    let full = net::read_full(&root, &handles);
    let ticks: Vec<_> = [
        CounterSource::ProcNetDev,
        CounterSource::NetlinkStats,
        CounterSource::NetlinkLinks,
    ]
    .into_iter()
    .map(|source| (source, net::read_counters_from(&root, &handles, source)))
    .collect();
    let after = (a.statistics("va"), b.statistics("vb"));
    let ip_after = (ip_stats(&a, "va"), ip_stats(&b, "vb"));

    assert!(full.notes.is_empty(), "{:?}", full.notes);
    for (netns, name, before, ip_before, after, ip_after) in [
        (&a, "va", before.0, ip_before.0, after.0, ip_after.0),
        (&b, "vb", before.1, ip_before.1, after.1, ip_after.1),
    ] {
        let inode = netns.inode();
        let reading = full.namespaces.iter().find(|r| r.inode == inode).unwrap();
        let interface = reading.interfaces.iter().find(|i| i.name == name).unwrap();
        let seen = as_array(&interface.counters.unwrap());
        assert!(seen[0] > 300 * 1200, "{name} received the pings: {seen:?}");
        within(&format!("{name} full read vs sysfs"), before, seen, after);
        within(
            &format!("{name} full read vs ip -s"),
            ip_before,
            seen,
            ip_after,
        );
        for (source, read) in &ticks {
            assert!(read.notes.is_empty(), "{source:?}: {:?}", read.notes);
            let namespace = read.namespaces.iter().find(|n| n.inode == inode).unwrap();
            // /proc/net/dev and the link dump name interfaces; the stats dump gives indexes.
            let counters = namespace
                .interfaces
                .iter()
                .find(|i| i.name == name || i.ifindex == Some(interface.ifindex))
                .unwrap_or_else(|| panic!("{source:?}: no {name}"));
            within(
                &format!("{name} {source:?} vs sysfs"),
                before,
                as_array(&counters.counters),
                after,
            );
        }
    }
    // The per-tick path read a through its process and b (mount only) from inside.
    let proc_read = &ticks[0].1;
    let source_of = |inode: u64| {
        proc_read
            .namespaces
            .iter()
            .find(|n| n.inode == inode)
            .map(|n| n.source)
    };
    assert_eq!(source_of(a.inode()), Some(CounterSource::ProcNetDev));
    assert_ne!(source_of(b.inode()), Some(CounterSource::ProcNetDev));
    a.release();
}

#[test]
#[ignore = "needs root"]
fn two_processes_in_one_namespace_are_read_once() {
    if !tools_present() {
        return;
    }
    let mut pod = Netns::add("net-pod");
    let first = pod.hold(&["sleep", "1000"]);
    let second = pod.hold(&["sleep", "1000"]);
    let handles = handles_where(|h| h.inode == pod.inode());
    assert_eq!(handles.len(), 1, "one handle for the shared namespace");
    assert_eq!(handles[0].pids, {
        let mut pids = vec![first, second];
        pids.sort();
        pids
    });
    let root = HostRoot::live();
    let ticks = net::read_counters(&root, &handles);
    assert_eq!(ticks.namespaces.len(), 1, "{:?}", ticks.notes);
    let full = net::read_full(&root, &handles);
    assert_eq!(full.namespaces.len(), 1, "{:?}", full.notes);
    assert_eq!(full.namespaces[0].inode, pod.inode());
    assert!(
        std::fs::metadata(format!("/proc/{first}/ns/net"))
            .map(|m| m.ino())
            .is_ok_and(|ino| ino == pod.inode())
    );
}
