//! Who is wired to whom, on real veth pairs and bridges in namespaces the tests make: each
//! veth's peer found in the right namespace even when interface indexes repeat across
//! namespaces (two separate pairs made alike have the same indexes at both ends: only the
//! namespace ids tell them apart), the bridge each host end hangs on, and a bridge with 50
//! veths. Traffic stays inside the test's namespaces.

use crate::support::netns::{
    HostLink, Netns, handles_where, ifname, ip_batch, plug, tools_present,
};

use std::os::unix::fs::MetadataExt;

use isotop::host::HostRoot;
use isotop::host::net::{self, Endpoint, NetRead, NetnsHandle, NetnsReading};

/// The handles of these namespaces (and, with `host`, the test's own), as the CLI finds them.
fn handles(inodes: &[u64], host: bool) -> Vec<NetnsHandle> {
    let own = std::fs::metadata("/proc/self/ns/net").unwrap().ino();
    handles_where(|h| inodes.contains(&h.inode) || (host && h.inode == own))
}

fn resolved(handles: &[NetnsHandle]) -> NetRead<NetnsReading> {
    let root = HostRoot::live();
    let mut read = net::read_full(&root, handles);
    net::peers::resolve(&root, handles, &mut read);
    assert_eq!(
        read.namespaces.len(),
        handles.len(),
        "every namespace read: {:?}",
        read.notes
    );
    read
}

fn reading(read: &NetRead<NetnsReading>, inode: u64) -> &NetnsReading {
    read.namespaces
        .iter()
        .find(|r| r.inode == inode)
        .unwrap_or_else(|| panic!("netns {inode} not read"))
}

fn by_name<'a>(reading: &'a NetnsReading, name: &str) -> &'a net::Interface {
    reading
        .interfaces
        .iter()
        .find(|i| i.name == name)
        .unwrap_or_else(|| panic!("no {name} in netns {}", reading.inode))
}

#[test]
#[ignore = "needs root"]
fn veth_peers_are_found_when_indexes_repeat_across_namespaces() {
    if !tools_present() {
        return;
    }
    // Two pairs made the same way in fresh namespaces: x (index 2 in c) ↔ y (index 2 in f)
    // and x (index 2 in d) ↔ y (index 2 in e). Index and peer index match across all four,
    // and namespaces are made in order (their inodes grow), so the first candidate by inode of
    // c's x is d's x: only the namespace ids tell the true peer.
    let spaces: Vec<Netns> = ["c", "d", "e", "f"]
        .iter()
        .map(|w| Netns::add(&format!("net-peer-{w}")))
        .collect();
    let pairs = [(0, 3), (1, 2)];
    for (a, b) in pairs {
        spaces[a].ip(&[
            "link",
            "add",
            "x",
            "type",
            "veth",
            "peer",
            "name",
            "y",
            "netns",
            &spaces[b].name,
        ]);
        spaces[a].ip(&["link", "set", "x", "up"]);
        spaces[b].ip(&["link", "set", "y", "up"]);
    }
    let inodes: Vec<u64> = spaces.iter().map(Netns::inode).collect();
    let read = resolved(&handles(&inodes, false));
    let x_c = by_name(reading(&read, inodes[0]), "x");
    let x_d = by_name(reading(&read, inodes[1]), "x");
    assert_eq!(
        (x_c.ifindex, x_c.link.map(|l| l.ifindex)),
        (x_d.ifindex, x_d.link.map(|l| l.ifindex)),
        "the two pairs have the same indexes (else this test proves nothing)"
    );
    for (a, b) in pairs {
        let x = by_name(reading(&read, inodes[a]), "x");
        let y = by_name(reading(&read, inodes[b]), "y");
        assert_eq!(
            x.peer,
            Some(Endpoint {
                netns: inodes[b],
                ifindex: y.ifindex,
                name: "y".to_string()
            })
        );
        assert_eq!(
            y.peer,
            Some(Endpoint {
                netns: inodes[a],
                ifindex: x.ifindex,
                name: "x".to_string()
            })
        );
    }
    assert!(
        read.notes.is_empty(),
        "nothing left unresolved: {:?}",
        read.notes
    );
}

#[test]
#[ignore = "needs root"]
fn host_ends_hang_on_the_bridge_and_reach_each_container_side() {
    if !tools_present() {
        return;
    }
    let bridge = HostLink::bridge("itb");
    let spaces: Vec<Netns> = (0..3).map(|i| Netns::add(&format!("net-br-{i}"))).collect();
    let ends: Vec<String> = (0..3).map(|_| ifname("itv")).collect();
    for (i, (space, end)) in spaces.iter().zip(&ends).enumerate() {
        plug(&bridge, end, space, &format!("10.213.{i}.2/24"));
    }
    let inodes: Vec<u64> = spaces.iter().map(Netns::inode).collect();
    let read = resolved(&handles(&inodes, true));
    let own = std::fs::metadata("/proc/self/ns/net").unwrap().ino();
    let host = reading(&read, own);
    let bridge_index = by_name(host, &bridge.0).ifindex;
    for (i, end) in ends.iter().enumerate() {
        let host_end = by_name(host, end);
        let eth0 = by_name(reading(&read, inodes[i]), "eth0");
        assert_eq!(host_end.master, Some(bridge_index), "{end} on the bridge");
        assert_eq!(
            host_end.peer,
            Some(Endpoint {
                netns: inodes[i],
                ifindex: eth0.ifindex,
                name: "eth0".to_string()
            })
        );
        assert_eq!(
            eth0.peer.as_ref().map(|p| (p.netns, p.name.as_str())),
            Some((own, end.as_str()))
        );
        assert_eq!(
            eth0.addresses
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            vec![format!("10.213.{i}.2/24")]
        );
        // The kernel's own view of the host end agrees on the index it links to.
        let shown: serde_json::Value = serde_json::from_str(
            &String::from_utf8(
                std::process::Command::new("ip")
                    .args(["-j", "link", "show", end])
                    .output()
                    .unwrap()
                    .stdout,
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!(
            shown[0]["link_index"].as_u64(),
            Some(u64::from(eth0.ifindex))
        );
    }
}

#[test]
#[ignore = "needs root"]
fn a_bridge_with_fifty_veths_maps_every_port_to_its_namespace() {
    if !tools_present() {
        return;
    }
    // The bridge lives in a test namespace of its own (hub); each of 50 namespaces has eth0
    // on it. Ping between two of them through the bridge: traffic stays in the test's spaces.
    let hub = Netns::add("net-hub");
    hub.ip(&["link", "add", "br0", "type", "bridge"]);
    hub.ip(&["link", "set", "br0", "up"]);
    let spaces: Vec<Netns> = (0..50)
        .map(|i| Netns::add(&format!("net-50-{i}")))
        .collect();
    let mut lines = Vec::new();
    for (i, space) in spaces.iter().enumerate() {
        lines.push(format!(
            "link add p{i} type veth peer name eth0 netns {}",
            space.name
        ));
        lines.push(format!("link set p{i} master br0 up"));
    }
    ip_batch(Some(&hub.name), &lines);
    for (i, space) in spaces.iter().enumerate() {
        ip_batch(
            Some(&space.name),
            &[
                "link set eth0 up".to_string(),
                format!("address add 10.214.0.{}/24 dev eth0", i + 2),
            ],
        );
    }
    let ping = spaces[0].exec(&["ping", "-c", "5", "-i", "0.05", "-W", "2", "10.214.0.3"]);
    assert!(ping.contains(" 0% packet loss"), "{ping}");

    let mut inodes: Vec<u64> = spaces.iter().map(Netns::inode).collect();
    inodes.push(hub.inode());
    let handles = handles(&inodes, false);
    let root = HostRoot::live();
    let mut read = net::read_full(&root, &handles);
    net::peers::resolve(&root, &handles, &mut read);
    let map = net::map::build(&read, &handles, &[], &[], None);
    assert!(map.notes.is_empty(), "{:?}", map.notes);
    let br0 = map
        .bridges
        .iter()
        .find(|b| b.netns == hub.inode() && b.name == "br0")
        .expect("br0 mapped");
    assert_eq!(br0.ports.len(), 50);
    for (i, space) in spaces.iter().enumerate() {
        let port = br0
            .ports
            .iter()
            .find(|p| p.name == format!("p{i}"))
            .unwrap_or_else(|| panic!("p{i} on br0"));
        let peer = port.peer.as_ref().expect("every port's other end found");
        assert_eq!(peer.netns, space.inode());
        assert_eq!(peer.name, "eth0");
        assert_eq!(
            peer.addresses[0].to_string(),
            format!("10.214.0.{}/24", i + 2)
        );
        assert_eq!(peer.mounts, vec![space.path().display().to_string()]);
    }
    // A veth counts on one end what the other sent: the ping's packets, both ways.
    let hub_reading = reading(&read, hub.inode());
    for (i, space) in spaces.iter().enumerate().take(2) {
        let port = by_name(hub_reading, &format!("p{i}")).counters.unwrap();
        let eth0 = by_name(reading(&read, space.inode()), "eth0")
            .counters
            .unwrap();
        assert!(eth0.tx_packets >= 5, "{eth0:?}");
        assert_eq!(port.rx_packets, eth0.tx_packets);
        assert_eq!(port.rx_bytes, eth0.tx_bytes);
        assert_eq!(port.tx_packets, eth0.rx_packets);
    }
}
