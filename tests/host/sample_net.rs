//! The sampler's network figures on real namespaces the tests make (root): a veth pair
//! between two named namespaces, an `unknown` container (`unshare --pid --mount sleep`) in
//! one, a Kubernetes-style pod of two (two processes sharing the other namespace, each in a
//! `kubepods/pod<uid>/<id>` cgroup of a test parent) in the other, and 8 MiB sent through a
//! TCP socket between them (threads of this test joined to the two namespaces: nothing leaves
//! the pair). Each container's counters equal `/sys/class/net/<if>/statistics` read inside
//! its namespace around the tick; the rates over the two ticks around the transfer are the
//! bytes moved over the time between the readings; the pod's namespace is one
//! `NetnsSample` with both ids, `sharing == 2`, and the pod's rate counts it once. With the
//! map asked for, every namespace is read (one with no container, held by a mount, on a test
//! bridge) and the map shows the pair and the bridge; asked no more, both are gone again; a
//! namespace deleted between ticks leaves no figures behind and no panic.

use crate::support::common::{self, CgroupGuard, ChildGuard};
use crate::support::netns::{HostLink, Netns, as_array, ifname, plug, tools_present, within};
use crate::support::sampling::eager_options;
use crate::support::unshared::{PidGuard, unshare};

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::time::Duration;

use isotop::host::HostRoot;
use isotop::sample::frame::{ContainerNet, NetnsSample};
use isotop::sample::{ContainerSample, Frame, Sampler, SamplerOptions};

/// 8 MiB through the socket.
const SENT: u64 = 8 << 20;
/// Long enough for an unshare, a regrouping and a few ticks on a loaded 2-core machine.
const WAIT: Duration = Duration::from_secs(30);

/// Every part as often as it is due, whatever it costs; the map read again only when the
/// namespaces change (or after 60 ticks).
fn eager_sampler() -> Sampler {
    Sampler::with_options(
        HostRoot::live(),
        SamplerOptions {
            net_map_every: 60,
            ..eager_options()
        },
    )
}

/// An `unknown` container (`unshare --pid --mount … nsenter --net=NETNS sleep`: the init
/// joins `netns` and becomes `sleep`): unshare and the init, both killed on drop.
fn unshared_in(netns: &Netns) -> (ChildGuard, PidGuard) {
    let net = format!("--net={}", netns.path().display());
    unshare(&["nsenter", &net, "sleep", "1000"], "sleep")
}

/// Runs `work` on a thread of this process joined to `netns` (the thread ends with it).
fn inside<T: Send>(netns: &Netns, work: impl FnOnce() -> T + Send) -> T {
    let file = std::fs::File::open(netns.path()).expect("open the namespace");
    std::thread::scope(|scope| {
        scope
            .spawn(move || {
                nix::sched::setns(file.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET)
                    .expect("join the namespace");
                work()
            })
            .join()
            .expect("the thread in the namespace")
    })
}

/// Sends [`SENT`] bytes from `from` to `address:port` in `to` over TCP; returns what the
/// receiver got.
fn send(from: &Netns, to: &Netns, address: &str) -> u64 {
    let (port_tx, port_rx) = std::sync::mpsc::channel();
    let to_file = std::fs::File::open(to.path()).unwrap();
    std::thread::scope(|scope| {
        let receiver = scope.spawn(move || {
            nix::sched::setns(to_file.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
            let listener = TcpListener::bind(format!("{address}:0")).unwrap();
            port_tx.send(listener.local_addr().unwrap().port()).unwrap();
            let (mut stream, _) = listener.accept().unwrap();
            let mut got = 0u64;
            let mut buffer = vec![0u8; 64 * 1024];
            loop {
                match stream.read(&mut buffer).unwrap() {
                    0 => break got,
                    n => got += n as u64,
                }
            }
        });
        let port = port_rx.recv_timeout(WAIT).expect("the receiver listens");
        inside(from, || {
            let mut stream = TcpStream::connect((address, port)).unwrap();
            let chunk = vec![7u8; 64 * 1024];
            for _ in 0..SENT / chunk.len() as u64 {
                stream.write_all(&chunk).unwrap();
            }
            stream.shutdown(std::net::Shutdown::Write).unwrap();
        });
        receiver.join().expect("the receiver")
    })
}

fn container<'a>(frame: &'a Frame, id: &str) -> Option<&'a ContainerSample> {
    frame.containers.iter().find(|c| c.view.container.id == id)
}

fn network(frame: &Frame, inode: u64) -> Option<&NetnsSample> {
    frame.networks.iter().find(|n| n.inode == inode)
}

/// Ticks until `ready` holds for a frame; returns that frame.
fn tick_until(sampler: &mut Sampler, ready: impl Fn(&Frame) -> bool) -> Frame {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let frame = sampler.tick().unwrap();
        if ready(&frame) {
            return frame;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not ready after {WAIT:?}: containers {:?}, networks {:?}, warnings {:?}",
            frame
                .containers
                .iter()
                .map(|c| (&c.view.container.id, c.net.as_ref().map(|n| n.netns)))
                .collect::<Vec<_>>(),
            frame.networks.iter().map(|n| n.inode).collect::<Vec<_>>(),
            frame.warnings
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// 64 hex digits: a container id in a `kubepods` cgroup path.
fn hex_id(digit: char) -> String {
    std::iter::repeat_n(digit, 64).collect()
}

#[test]
#[ignore = "needs root"]
fn container_and_pod_traffic_matches_the_kernels_counters_and_rates() {
    if !tools_present() || !common::require_program("unshare") {
        return;
    }
    let a = Netns::add("snet-a");
    let mut b = Netns::add("snet-b");
    a.ip(&[
        "link", "add", "va", "type", "veth", "peer", "name", "vb", "netns", &b.name,
    ]);
    a.ip(&["address", "add", "10.217.0.1/30", "dev", "va"]);
    b.ip(&["address", "add", "10.217.0.2/30", "dev", "vb"]);
    a.ip(&["link", "set", "va", "up"]);
    b.ip(&["link", "set", "vb", "up"]);

    // The lone container in a; the pod's two members in b, each in a cgroup of the pod.
    let (_unshare, alone) = unshared_in(&a);
    let alone_init = alone.0;
    let guard = CgroupGuard::new("sample-net");
    let uid = format!("{}-4c3d-9e8f", std::process::id());
    let (one, two) = (hex_id('a'), hex_id('b'));
    for (id, pid) in [
        (&one, b.hold(&["sleep", "1000"])),
        (&two, b.hold(&["sleep", "1000"])),
    ] {
        let path = format!("kubepods/pod{uid}/{id}");
        guard.child(&path);
        guard.add_pid(&path, pid);
    }

    let mut sampler = eager_sampler();
    let (a_inode, b_inode) = (a.inode(), b.inode());
    let is_ready = |frame: &Frame| {
        let alone = frame
            .containers
            .iter()
            .any(|c| c.view.container.init_pid == Some(alone_init) && c.net.is_some());
        let pod = [&one, &two]
            .iter()
            .all(|id| container(frame, id).is_some_and(|c| c.net.is_some()));
        alone && pod
    };
    tick_until(&mut sampler, is_ready);
    // Let the regrouping settle, then the tick before the transfer.
    let va_before = a.statistics("va");
    let first = sampler.tick().unwrap();
    let va_after = a.statistics("va");
    let alone_id = first
        .containers
        .iter()
        .find(|c| c.view.container.init_pid == Some(alone_init))
        .map(|c| c.view.container.id.clone())
        .expect("the lone container");
    let alone = container(&first, &alone_id).unwrap().net.clone().unwrap();
    assert_eq!((alone.netns, alone.sharing), (a_inode, 1));
    // Only lo and va in a: the total but loopback is va's.
    within(
        "va, first tick",
        va_before,
        as_array(&alone.counters),
        va_after,
    );

    std::thread::sleep(Duration::from_millis(500));
    let received = send(&a, &b, "10.217.0.2");
    assert_eq!(received, SENT);
    std::thread::sleep(Duration::from_millis(1500));

    let (va_before, vb_before) = (a.statistics("va"), b.statistics("vb"));
    let second = sampler.tick().unwrap();
    let (va_after, vb_after) = (a.statistics("va"), b.statistics("vb"));
    let alone_now = container(&second, &alone_id).unwrap().net.clone().unwrap();
    within(
        "va, second tick",
        va_before,
        as_array(&alone_now.counters),
        va_after,
    );
    let members: Vec<ContainerNet> = [&one, &two]
        .iter()
        .map(|id| container(&second, id).unwrap().net.clone().unwrap())
        .collect();
    assert_eq!(
        members[0], members[1],
        "the pod's members show one namespace"
    );
    assert_eq!((members[0].netns, members[0].sharing), (b_inode, 2));
    within(
        "vb, second tick",
        vb_before,
        as_array(&members[0].counters),
        vb_after,
    );

    // Rates: what moved between the two readings over the time between them (ms apart as
    // the readings say; ≥ 2 s, so a ms is < 0.1 %).
    let (a_first, a_second) = (
        network(&first, a_inode).unwrap(),
        network(&second, a_inode).unwrap(),
    );
    let seconds = (a_second.read_at_ms - a_first.read_at_ms) as f64 / 1000.0;
    assert!(seconds >= 2.0, "{seconds} s between the readings");
    let moved = alone_now.counters.tx_bytes - alone.counters.tx_bytes;
    let tx = alone_now.rates.tx_bytes_per_second.expect("a send rate");
    eprintln!(
        "sent {SENT} bytes, {moved} on the wire, in {seconds:.3} s: {tx:.0} B/s (expected {:.0})",
        SENT as f64 / seconds
    );
    let off = |got: f64, expected: f64| (got - expected).abs() / expected;
    assert!(
        off(tx, moved as f64 / seconds) < 0.01,
        "tx {tx} vs {moved} bytes in {seconds} s"
    );
    // The wire carries the payload and the TCP/IP headers (a few % at most, less with GSO).
    let payload_rate = SENT as f64 / seconds;
    assert!(
        tx >= payload_rate * 0.99 && tx <= payload_rate * 1.06,
        "tx {tx} B/s vs {payload_rate} B/s of payload"
    );
    let interface = a_second.interfaces.iter().find(|i| i.name == "va").unwrap();
    assert_eq!(interface.rates.tx_bytes_per_second, Some(tx));
    // b received it: the same bytes, on the pod's namespace, counted once.
    let rx = members[0]
        .rates
        .rx_bytes_per_second
        .expect("a receive rate");
    assert!(off(rx, tx) < 0.02, "rx {rx} vs tx {tx}");
    let b_sample = network(&second, b_inode).unwrap();
    let mut ids = b_sample.containers.clone();
    ids.sort();
    assert_eq!(ids, vec![one.clone(), two.clone()]);
    assert!(!b_sample.host);
    let key = format!("pod:{uid}");
    let pod = second
        .pods
        .iter()
        .find(|p| p.key == key)
        .unwrap_or_else(|| panic!("no pod {key} in {:?}", second.pods));
    assert_eq!(pod.members.len(), 2);
    assert_eq!(
        pod.net_rx_bytes_per_second,
        Some(rx),
        "the pod counts it once"
    );
    // Each namespace once in the frame.
    let mut inodes: Vec<u64> = second.networks.iter().map(|n| n.inode).collect();
    let sorted = inodes.clone();
    inodes.dedup();
    assert_eq!(inodes, sorted);
    assert!(second.networks.is_sorted_by_key(|n| n.inode));
    assert!(sampler.costs().net.is_some());
    drop(guard);
}

#[test]
#[ignore = "needs root"]
fn the_map_and_every_namespace_while_asked_and_a_namespace_deleted_between_ticks() {
    if !tools_present() || !common::require_program("unshare") {
        return;
    }
    // A container on a test bridge (its namespace held by its processes), and a namespace
    // with no container on the same bridge (held by its mount only).
    let bridge = HostLink::bridge("sbr");
    let boxed = Netns::add("snet-box");
    let bare = Netns::add("snet-bare");
    let (boxed_end, bare_end) = (ifname("sbx"), ifname("sbb"));
    plug(&bridge, &boxed_end, &boxed, "10.217.1.2/24");
    plug(&bridge, &bare_end, &bare, "10.217.1.3/24");
    let (unshare_guard, init_guard) = unshared_in(&boxed);
    let init = init_guard.0;
    let (boxed_inode, bare_inode) = (boxed.inode(), bare.inode());
    let own = std::fs::metadata("/proc/self/ns/net")
        .map(|m| std::os::unix::fs::MetadataExt::ino(&m))
        .unwrap();

    let mut sampler = eager_sampler();
    let frame = tick_until(&mut sampler, |f| {
        f.containers
            .iter()
            .any(|c| c.view.container.init_pid == Some(init) && c.net.is_some())
    });
    assert!(frame.net_map.is_none(), "no map unless asked");
    assert!(
        network(&frame, bare_inode).is_none(),
        "no container's: not read"
    );
    assert!(
        network(&frame, own).is_none(),
        "the host's is no container's"
    );
    assert_eq!(sampler.costs().net_map, None);

    assert!(sampler.set_net_map(true));
    let frame = sampler.tick().unwrap();
    let map = frame
        .net_map
        .clone()
        .expect("the map on the tick it is asked");
    assert!(sampler.costs().net_map.is_some());
    let bare_sample = network(&frame, bare_inode).expect("a namespace with no container");
    assert!(bare_sample.containers.is_empty());
    assert!(bare_sample.interfaces.iter().any(|i| i.name == "eth0"));
    let host = network(&frame, own).expect("the host's namespace");
    assert!(host.host);
    let boxed_sample = network(&frame, boxed_inode).unwrap();
    assert_eq!(boxed_sample.containers.len(), 1);
    // The map: the test bridge with both ports, each port's far end in its namespace, the
    // container's behind one.
    let shown = map
        .bridges
        .iter()
        .find(|b| b.name == bridge.0)
        .unwrap_or_else(|| panic!("no bridge {} in {:#?}", bridge.0, map.bridges));
    let far = |port: &str| {
        shown
            .ports
            .iter()
            .find(|p| p.name == port)
            .and_then(|p| p.peer.clone())
            .unwrap_or_else(|| panic!("no far end of {port}: {:#?}", shown.ports))
    };
    assert_eq!(far(&bare_end).netns, bare_inode);
    let boxed_far = far(&boxed_end);
    assert_eq!(boxed_far.netns, boxed_inode);
    assert_eq!(boxed_far.name, "eth0");
    assert_eq!(boxed_far.containers.len(), 1, "{boxed_far:#?}");
    assert!(map.namespaces.iter().any(|n| n.inode == bare_inode));

    // Kept between reads: the same map unless the host's namespaces changed meanwhile (other
    // tests run beside this one).
    assert!(!sampler.set_net_map(true), "already asked");
    let second = sampler.tick().unwrap();
    let kept = second.net_map.clone().expect("still asked");
    assert_eq!(
        std::sync::Arc::ptr_eq(&map, &kept),
        sampler.costs().net_map.is_none(),
        "a map not read again is the same map"
    );

    // The bare namespace deleted between ticks: gone from the next frame, no panic.
    drop(bare);
    let frame = sampler.tick().unwrap();
    assert!(network(&frame, bare_inode).is_none());
    assert!(network(&frame, boxed_inode).is_some());
    let map = frame.net_map.clone().unwrap();
    assert!(!map.namespaces.iter().any(|n| n.inode == bare_inode));

    // The container's namespace deleted with its processes between ticks: its container and
    // figures are gone, the tick goes on.
    drop((init_guard, unshare_guard));
    drop(boxed);
    let gone = common::wait_until(WAIT, || {
        let frame = sampler.tick().unwrap();
        network(&frame, boxed_inode).is_none()
            && !frame
                .containers
                .iter()
                .any(|c| c.view.container.init_pid == Some(init))
    });
    assert!(gone, "the deleted namespace is still sampled");

    // Asked no more: no map, only containers' namespaces.
    assert!(sampler.set_net_map(false));
    let frame = sampler.tick().unwrap();
    assert!(frame.net_map.is_none());
    assert!(network(&frame, own).is_none());
    assert_eq!(sampler.costs().net_map, None);
}
