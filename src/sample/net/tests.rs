//! The network part on a fixture root: `/proc/PID/net/dev` files and `ns/net` links the test
//! writes, so every rule (attribution, sharing, rates per inode, interfaces made, deleted or
//! reset, a namespace gone between ticks) is checked without a host.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use super::*;
use crate::host::container::claim::Trust;
use crate::host::container::measure::{ContainerState, ContainerView};
use crate::host::container::{Container, Runtime};
use crate::host::namespace::NsSet;
use crate::host::process::Process;
use crate::sample::rates::NetRates;

const HOST: u64 = 1;
const ALONE: u64 = 4026532100;
const POD: u64 = 4026532200;

/// `/proc/<pid>/net/dev` with these (name, rx bytes, tx bytes) rows, and `ns/net` → `inode`.
fn write_proc(root: &Path, pid: i32, inode: u64, rows: &[(&str, u64, u64)]) {
    let dir = root.join("proc").join(pid.to_string());
    std::fs::create_dir_all(dir.join("net")).unwrap();
    std::fs::create_dir_all(dir.join("ns")).unwrap();
    let mut text = String::from(
        "Inter-|   Receive                                                |  Transmit\n \
         face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs \
         drop fifo colls carrier compressed\n",
    );
    for (name, rx, tx) in rows {
        text.push_str(&format!(
            "{name:>6}: {rx} {} 0 0 0 0 0 0 {tx} {} 0 0 0 0 0 0\n",
            rx / 1000,
            tx / 1000
        ));
    }
    std::fs::write(dir.join("net/dev"), text).unwrap();
    let link = dir.join("ns/net");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(format!("net:[{inode}]"), link).unwrap();
}

fn process(pid: i32, netns: u64) -> Process {
    let mut ns = NsSet::default();
    ns.set(NsKind::Net, Some(netns));
    Process::new(pid, 0, ns)
}

/// A running container sample with one process, `pid`, in network namespace `netns` (the
/// host's when `host_net`), no figures.
pub(crate) fn container(id: &str, pid: i32, netns: u64, host_net: bool) -> ContainerSample {
    let mut namespaces = NsSet::default();
    namespaces.set(NsKind::Net, Some(netns));
    let container = Container {
        id: id.to_string(),
        name: id.to_string(),
        runtime: Runtime::Unknown,
        image: None,
        init_pid: Some(pid),
        pids: vec![pid],
        cgroups: std::sync::Arc::from([]),
        cgroup_path: None,
        namespaces,
        shared_with_host: if host_net {
            vec![NsKind::Net]
        } else {
            Vec::new()
        },
        pod: None,
        labels: BTreeMap::new(),
        metadata: None,
        start_ticks: None,
        running: true,
        trust: Trust::root(),
    };
    ContainerSample {
        view: ContainerView {
            container: container.into(),
            state: ContainerState::Running,
            uptime_seconds: None,
            cgroup: None,
            ownership: std::sync::Arc::from([]),
            inherited_limits: Default::default(),
            sources: Default::default(),
        },
        cpu_percent: None,
        throttled_percent: None,
        memory_bytes: None,
        memory_limit_bytes: None,
        cpu_limit_cpus: None,
        pids: 1,
        pids_limit: None,
        kernel: Default::default(),
        oom_kills_since_start: None,
        stack: None,
        io: None,
        io_rates: Default::default(),
        io_limits: None,
        net: None,
        runtime_state: None,
    }
}

/// A lone container, a pod of two sharing one namespace, one on the host's network, and the
/// host's own process.
struct Host {
    dir: tempfile::TempDir,
    root: HostRoot,
    processes: Vec<Process>,
    containers: Vec<ContainerSample>,
}

impl Host {
    fn new() -> Host {
        let dir = tempfile::tempdir().unwrap();
        let root = HostRoot::under(dir.path());
        let host = Host {
            processes: vec![
                process(1, HOST),
                process(10, ALONE),
                process(20, POD),
                process(21, POD),
                process(30, HOST),
            ],
            containers: vec![
                container("alone", 10, ALONE, false),
                container("pod-a", 20, POD, false),
                container("pod-b", 21, POD, false),
                container("hostnet", 30, HOST, true),
            ],
            dir,
            root,
        };
        host.write(1, HOST, &[("lo", 5, 5), ("eth0", 900_000, 800_000)]);
        host.write(10, ALONE, &[("lo", 1, 1), ("eth0", 1_000, 2_000)]);
        host.write(20, POD, &[("lo", 0, 0), ("eth0", 10_000, 20_000)]);
        host.write(21, POD, &[("lo", 0, 0), ("eth0", 10_000, 20_000)]);
        host.write(30, HOST, &[("lo", 5, 5), ("eth0", 900_000, 800_000)]);
        host
    }

    fn write(&self, pid: i32, inode: u64, rows: &[(&str, u64, u64)]) {
        write_proc(self.dir.path(), pid, inode, rows);
    }

    /// One tick; returns it with the earliest and latest moment its readings can have.
    fn tick(
        &mut self,
        sampler: &mut NetSampler,
        seq: u64,
        map_wanted: bool,
    ) -> (NetTick, Vec<String>, Instant, Instant) {
        let mut warnings = Vec::new();
        let before = Instant::now();
        let tick = sampler.sample(
            &NetContext {
                root: &self.root,
                processes: (&self.processes).into(),
                host_netns: Some(HOST),
                map_wanted,
                seq,
                interval: Duration::from_secs(1),
            },
            &mut self.containers,
            &mut warnings,
        );
        (tick, warnings, before, Instant::now())
    }

    fn net(&self, id: &str) -> Option<&ContainerNet> {
        self.containers
            .iter()
            .find(|c| c.view.container.id == id)
            .and_then(|c| c.net.as_ref())
    }
}

fn sampler() -> NetSampler {
    NetSampler::new(5, 0.01, 60)
}

#[test]
fn each_own_namespace_is_read_once_and_attributed_to_its_containers() {
    let mut host = Host::new();
    let mut sampler = sampler();
    let (tick, warnings, _, _) = host.tick(&mut sampler, 0, false);
    assert!(warnings.is_empty(), "{warnings:?}");
    let inodes: Vec<u64> = tick.networks.iter().map(|n| n.inode).collect();
    assert_eq!(
        inodes,
        vec![ALONE, POD],
        "the host's namespace is no container's own"
    );
    assert_eq!(tick.networks[0].containers, vec!["alone".to_string()]);
    assert_eq!(
        tick.networks[1].containers,
        vec!["pod-a".to_string(), "pod-b".to_string()]
    );
    assert!(tick.networks.iter().all(|n| !n.host));
    // Totals leave loopback out; interfaces keep it, in the order read.
    assert_eq!(tick.networks[0].total.rx_bytes, 1_000);
    assert_eq!(tick.networks[0].total.tx_bytes, 2_000);
    let names: Vec<&str> = tick.networks[0]
        .interfaces
        .iter()
        .map(|i| i.name.as_str())
        .collect();
    assert_eq!(names, vec!["lo", "eth0"]);

    let alone = host.net("alone").expect("the lone container's network");
    assert_eq!((alone.netns, alone.sharing), (ALONE, 1));
    assert_eq!(alone.counters.tx_bytes, 2_000);
    assert_eq!(
        alone.rates,
        NetRates::default(),
        "no rate on the first tick"
    );
    let (a, b) = (host.net("pod-a").unwrap(), host.net("pod-b").unwrap());
    assert_eq!((a.netns, a.sharing), (POD, 2));
    assert_eq!(a, b, "a pod's members show the same figures");
    assert_eq!(
        host.net("hostnet"),
        None,
        "the host's traffic is not its own"
    );
    assert!(tick.cost.is_some());
    assert!(tick.net_map.is_none() && tick.map_cost.is_none());
}

#[test]
fn rates_compare_the_same_namespace_over_the_time_between_its_readings() {
    let mut host = Host::new();
    let mut sampler = sampler();
    let (_, _, first_start, first_end) = host.tick(&mut sampler, 0, false);
    std::thread::sleep(Duration::from_millis(30));
    host.write(10, ALONE, &[("lo", 1, 1), ("eth0", 61_000, 2_000)]);
    let (tick, warnings, second_start, second_end) = host.tick(&mut sampler, 1, false);
    assert!(warnings.is_empty(), "{warnings:?}");
    // 60,000 bytes received between two readings at most (second_end - first_start) and at
    // least (second_start - first_end) apart.
    let rx = host
        .net("alone")
        .unwrap()
        .rates
        .rx_bytes_per_second
        .unwrap();
    let slowest = 60_000.0 / (second_end - first_start).as_secs_f64();
    let fastest = 60_000.0 / (second_start - first_end).as_secs_f64();
    assert!(
        slowest <= rx && rx <= fastest,
        "{slowest} <= {rx} <= {fastest}"
    );
    let alone = &tick.networks[0];
    assert_eq!(alone.rates.tx_bytes_per_second, Some(0.0));
    let eth0 = alone.interfaces.iter().find(|i| i.name == "eth0").unwrap();
    assert_eq!(
        eth0.rates.rx_bytes_per_second,
        alone.rates.rx_bytes_per_second
    );
    assert_eq!(
        alone.rates.rx_packets_per_second.map(|r| r > 0.0),
        Some(true)
    );
    // The pod's namespace did not move.
    assert_eq!(
        host.net("pod-a").unwrap().rates.rx_bytes_per_second,
        Some(0.0)
    );
}

#[test]
fn interfaces_made_deleted_or_reset_give_no_namespace_rate_and_never_a_negative_one() {
    let mut host = Host::new();
    let mut sampler = sampler();
    host.write(
        10,
        ALONE,
        &[("lo", 1, 1), ("eth0", 1_000, 2_000), ("eth1", 500, 500)],
    );
    host.tick(&mut sampler, 0, false);

    // eth1 deleted while eth0 received more than eth1 ever had: the total grew, yet what eth1
    // moved before it went is unknown, so the namespace's rate is too for this tick.
    host.write(10, ALONE, &[("lo", 1, 1), ("eth0", 5_000, 2_000)]);
    let (tick, _, _, _) = host.tick(&mut sampler, 1, false);
    let alone = &tick.networks[0];
    assert_eq!(alone.rates, NetRates::default());
    let eth0 = alone.interfaces.iter().find(|i| i.name == "eth0").unwrap();
    assert!(eth0.rates.rx_bytes_per_second.is_some_and(|r| r > 0.0));
    assert!(alone.interfaces.iter().all(|i| i.name != "eth1"));

    // Same interfaces again: known.
    host.write(10, ALONE, &[("lo", 1, 1), ("eth0", 5_200, 2_000)]);
    let (tick, _, _, _) = host.tick(&mut sampler, 2, false);
    assert!(tick.networks[0].rates.rx_bytes_per_second.is_some());

    // eth0 made again under the same name (counters back near zero) and eth2 new.
    host.write(10, ALONE, &[("lo", 1, 1), ("eth0", 10, 10), ("eth2", 5, 5)]);
    let (tick, _, _, _) = host.tick(&mut sampler, 3, false);
    let alone = &tick.networks[0];
    assert_eq!(alone.rates, NetRates::default());
    for interface in &alone.interfaces {
        if interface.name != "lo" {
            assert_eq!(interface.rates.rx_bytes_per_second, None, "{interface:?}");
        }
    }

    // Loopback alone changing does not count, and is not a change of interfaces.
    host.write(
        10,
        ALONE,
        &[("lo", 9_000, 9_000), ("eth0", 10, 10), ("eth2", 5, 5)],
    );
    let (tick, _, _, _) = host.tick(&mut sampler, 4, false);
    assert_eq!(tick.networks[0].rates.rx_bytes_per_second, Some(0.0));
}

#[test]
fn a_namespace_gone_between_ticks_is_a_warning_and_no_figures() {
    let mut host = Host::new();
    let mut sampler = sampler();
    host.tick(&mut sampler, 0, false);
    // The lone container's only process exited after the table was read.
    std::fs::remove_dir_all(host.dir.path().join("proc/10")).unwrap();
    let (tick, warnings, _, _) = host.tick(&mut sampler, 1, false);
    assert_eq!(host.net("alone"), None);
    assert!(
        warnings.iter().any(|w| w.contains(&ALONE.to_string())),
        "{warnings:?}"
    );
    let inodes: Vec<u64> = tick.networks.iter().map(|n| n.inode).collect();
    assert_eq!(inodes, vec![POD]);
    assert!(host.net("pod-a").is_some());

    // A pid reused by a process in another namespace is not read as this one.
    host.write(10, 4026539999, &[("eth0", 7, 7)]);
    let (_, warnings, _, _) = host.tick(&mut sampler, 2, false);
    assert_eq!(host.net("alone"), None);
    assert!(!warnings.is_empty());
}

#[test]
fn a_namespace_no_process_holds_is_said_and_not_read() {
    let mut host = Host::new();
    // The table no longer has the lone container's process (its namespace unknown there).
    host.processes.retain(|p| p.pid != 10);
    let mut sampler = sampler();
    let (tick, warnings, _, _) = host.tick(&mut sampler, 0, false);
    assert_eq!(host.net("alone"), None);
    assert!(
        warnings
            .iter()
            .any(|w| w.contains(&ALONE.to_string()) && w.contains("alone")),
        "{warnings:?}"
    );
    assert_eq!(tick.networks.len(), 1);
}

#[test]
fn with_the_map_wanted_every_namespace_is_read_and_the_map_kept_between_reads() {
    let mut host = Host::new();
    let mut sampler = sampler();
    let (tick, _, _, _) = host.tick(&mut sampler, 0, true);
    let inodes: Vec<u64> = tick.networks.iter().map(|n| n.inode).collect();
    assert_eq!(inodes, vec![HOST, ALONE, POD]);
    assert!(tick.networks[0].host && tick.networks[0].containers.is_empty());
    assert_eq!(tick.networks[0].total.rx_bytes, 900_000);
    let first = tick
        .net_map
        .expect("the map on the first tick it is wanted");
    assert!(tick.map_cost.is_some());
    assert_eq!(first.host_netns, Some(HOST));
    // An injected root is not entered: the map says so for each namespace.
    assert_eq!(first.namespaces.len(), 3);
    assert!(!first.notes.is_empty());

    let (tick, _, _, _) = host.tick(&mut sampler, 1, true);
    let again = tick.net_map.expect("kept");
    assert!(
        std::sync::Arc::ptr_eq(&first, &again),
        "the same map, not read again"
    );
    assert!(tick.map_cost.is_none());

    // A new namespace: read again at once.
    host.processes.push(process(40, 4026532300));
    host.write(40, 4026532300, &[("lo", 0, 0)]);
    let (tick, _, _, _) = host.tick(&mut sampler, 2, true);
    assert!(tick.map_cost.is_some());
    assert_eq!(tick.net_map.unwrap().namespaces.len(), 4);

    // Not wanted: gone, and only containers' namespaces are read.
    let (tick, _, _, _) = host.tick(&mut sampler, 3, false);
    assert!(tick.net_map.is_none());
    assert_eq!(tick.networks.len(), 2);
    // Wanted again: read at once.
    let (tick, _, _, _) = host.tick(&mut sampler, 4, true);
    assert!(tick.net_map.is_some() && tick.map_cost.is_some());
}

#[test]
fn no_container_network_no_read() {
    let mut host = Host::new();
    host.containers.retain(|c| c.view.container.id == "hostnet");
    let mut sampler = sampler();
    let (tick, warnings, _, _) = host.tick(&mut sampler, 0, false);
    assert!(tick.networks.is_empty() && warnings.is_empty());
    assert_eq!(tick.cost, None);
}
