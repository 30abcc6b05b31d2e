//! The map from a made-up resolved read: a host bridge with two ports (one to a lone
//! container, one to a pod of two sharing a namespace), a veth pair on no bridge, a
//! namespace that could not be read.

use std::collections::BTreeMap;

use super::*;
use crate::host::container::claim::Trust;
use crate::host::namespace::NsSet;
use crate::host::net::link::Endpoint;
use crate::host::process::Process;
use crate::host::runtime::Pod;

const HOST: u64 = 1;

fn iface(ifindex: u32, name: &str, kind: InterfaceKind) -> Interface {
    Interface::for_test(ifindex, name, kind, None)
}

fn wire(from: &mut Interface, netns: u64, to: &Interface) {
    from.peer = Some(Endpoint {
        netns,
        ifindex: to.ifindex,
        name: to.name.clone(),
    });
}

fn container(id: &str, name: &str, netns: u64, pod: Option<&str>) -> Container {
    let mut namespaces = NsSet::default();
    namespaces.set(NsKind::Net, Some(netns));
    Container {
        id: id.to_string(),
        name: name.to_string(),
        runtime: Runtime::Containerd,
        image: None,
        init_pid: Some(100),
        pids: vec![100],
        cgroups: std::sync::Arc::from([]),
        cgroup_path: None,
        namespaces,
        shared_with_host: Vec::new(),
        pod: pod.map(|p| Pod {
            name: p.to_string(),
            namespace: "default".to_string(),
            uid: None,
        }),
        labels: BTreeMap::new(),
        metadata: None,
        start_ticks: None,
        running: true,
        trust: Trust::root(),
    }
}

fn handle(inode: u64, pids: &[i32], mount: Option<&str>) -> NetnsHandle {
    NetnsHandle {
        inode,
        pids: pids.to_vec(),
        mounts: mount.iter().map(std::path::PathBuf::from).collect(),
        mounts_shown: mount.iter().map(|m| m.to_string()).collect(),
    }
}

fn sample() -> NetMap {
    let mut bridge = iface(3, "br0", InterfaceKind::Bridge);
    bridge.driver = Some("bridge".to_string());
    let mut to_web = iface(10, "veth-web", InterfaceKind::Veth);
    let mut to_pod = iface(11, "veth-pod", InterfaceKind::Veth);
    let mut web_eth0 = iface(2, "eth0", InterfaceKind::Veth);
    let mut pod_eth0 = iface(2, "eth0", InterfaceKind::Veth);
    let mut left = iface(2, "l", InterfaceKind::Veth);
    let mut right = iface(2, "r", InterfaceKind::Veth);
    to_web.master = Some(3);
    to_pod.master = Some(3);
    wire(&mut to_web, 20, &web_eth0);
    wire(&mut web_eth0, HOST, &to_web);
    wire(&mut to_pod, 30, &pod_eth0);
    wire(&mut pod_eth0, HOST, &to_pod);
    wire(&mut left, 41, &right);
    wire(&mut right, 40, &left);
    web_eth0.addresses = vec![Address {
        family: "inet".to_string(),
        address: "10.0.0.2".parse().unwrap(),
        prefix: 24,
        scope: "global".to_string(),
    }];
    let read = NetRead {
        namespaces: vec![
            NetnsReading::for_test(HOST, vec![bridge, to_web, to_pod]),
            NetnsReading::for_test(20, vec![web_eth0]),
            NetnsReading::for_test(30, vec![pod_eth0]),
            NetnsReading::for_test(40, vec![left]),
            NetnsReading::for_test(41, vec![right]),
        ],
        notes: vec!["network namespace 50 is gone".to_string()],
    };
    let handles = [
        handle(HOST, &[2, 3], None),
        handle(20, &[100], None),
        handle(30, &[200, 300], None),
        handle(40, &[], Some("/run/netns/left")),
        handle(41, &[400], None),
        handle(50, &[500], None),
    ];
    let containers = [
        container("b2", "sidecar", 30, Some("api")),
        container("a1", "web", 20, None),
        container("c3", "app", 30, Some("api")),
    ];
    let mut comm = Process::new(400, 0, NsSet::default());
    comm.comm = "sleep".into();
    build(&read, &handles, &containers, &[comm], Some(HOST))
}

#[test]
fn bridges_list_their_ports_and_who_is_at_the_other_end() {
    let map = sample();
    assert_eq!(map.bridges.len(), 1);
    let br0 = &map.bridges[0];
    assert!(br0.host);
    let ports: Vec<&str> = br0.ports.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(ports, ["veth-pod", "veth-web"]);
    let web = br0.ports[1].peer.as_ref().unwrap();
    assert_eq!((web.netns, web.name.as_str()), (20, "eth0"));
    assert_eq!(web.addresses[0].to_string(), "10.0.0.2/24");
    assert_eq!(web.containers[0].name, "web");
    let pod = br0.ports[0].peer.as_ref().unwrap();
    let names: Vec<&str> = pod.containers.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["app", "sidecar"]);
    assert!(
        pod.containers
            .iter()
            .all(|c| c.pod.as_deref() == Some("default/api"))
    );
}

#[test]
fn a_pair_on_no_bridge_once_and_namespaces_once_each() {
    let map = sample();
    assert_eq!(map.pairs.len(), 1);
    let [a, b] = &map.pairs[0].ends;
    assert_eq!((a.netns, a.name.as_str()), (40, "l"));
    assert_eq!(a.mounts, ["/run/netns/left"]);
    assert!(a.holder.is_none());
    assert_eq!((b.netns, b.name.as_str()), (41, "r"));
    assert_eq!(
        b.holder.as_ref().map(|h| (h.pid, h.command.as_str())),
        Some((400, "sleep"))
    );
    let inodes: Vec<u64> = map.namespaces.iter().map(|n| n.inode).collect();
    assert_eq!(inodes, [HOST, 20, 30, 40, 41, 50]);
    let pod = &map.namespaces[2];
    assert_eq!((pod.nprocs, pod.containers.len()), (2, 2));
    let unread = &map.namespaces[5];
    assert!(unread.read_at_ms.is_none() && unread.interfaces.is_empty());
    assert_eq!(map.notes, ["network namespace 50 is gone"]);
    assert_eq!(map.host_netns, Some(HOST));
}
