//! Bridge networking, for real: each test makes its OWN bridge (`isotb<pid><n>`) on its own
//! private subnet (`10.<200+n>.<pid mod 256>.0/24`), runs its "containers" as
//! `unshare --net --fork --kill-child sleep 1000` processes, attaches them with
//! `net::attach_bridge` and checks what the kernel shows inside and outside (`nsenter ... ip -j`,
//! sysfs, pings between the test's own namespaces and its own bridge only). Leases go to a
//! temporary run directory. A drop guard detaches, deletes the test's bridge and checks
//! nothing of the test is left.

use crate::support::common;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{ChildGuard, require_program, wait_until};
use isotop::host::HostRoot;
use isotop::launch::error::LaunchError;
use isotop::launch::net::{self, Attachment, BridgeConfig};
use isotop::launch::store::{self, ContainerRecord, Status};

fn ready() -> bool {
    ["ip", "unshare", "nsenter", "ping"]
        .iter()
        .all(|p| require_program(p))
}

/// A test's own bridge, subnet and lease directory; on drop, detaches what is left and deletes
/// the bridge.
struct NetTest {
    host: HostRoot,
    config: BridgeConfig,
    ids: Vec<String>,
    _run: tempfile::TempDir,
}

impl NetTest {
    /// `n` (0..=9) keeps the tests of one run apart; the pid keeps runs apart.
    fn new(n: u32) -> NetTest {
        let pid = std::process::id();
        let config = BridgeConfig::new(
            &format!("isotb{}{n}", pid % 100_000),
            &format!("10.{}.{}.0/24", 200 + n, pid % 256),
        )
        .unwrap();
        let run = tempfile::tempdir().unwrap();
        let mut host = HostRoot::live();
        host.run = run.path().to_path_buf();
        assert!(
            !net::bridge_exists(&host, &config),
            "{} exists before the test",
            config.bridge
        );
        NetTest {
            host,
            config,
            ids: Vec::new(),
            _run: run,
        }
    }

    /// A container id with a running record, as the supervisor writes one before it attaches.
    fn new_id(&mut self) -> String {
        let id = self.new_id_without_record();
        store::write_record(&self.host, &record(&id, Status::Running)).unwrap();
        id
    }

    /// An id whose container is gone (no record, no run directory).
    fn new_id_without_record(&mut self) -> String {
        let id = store::new_id().unwrap();
        self.ids.push(id.clone());
        id
    }

    fn attach(&self, id: &str, pid: i32) -> Result<Attachment, LaunchError> {
        net::attach_bridge(&self.host, &self.config, id, pid)
    }

    fn lease_dir(&self) -> PathBuf {
        self.host.run.join("isotop/net").join(&self.config.bridge)
    }

    /// The lease files (address, holder), sorted.
    fn leases(&self) -> Vec<(String, String)> {
        let Ok(entries) = std::fs::read_dir(self.lease_dir()) else {
            return Vec::new();
        };
        let mut out: Vec<(String, String)> = entries
            .flatten()
            .map(|e| (e.file_name().into_string().unwrap(), e.path()))
            .filter(|(name, _)| !name.starts_with('.'))
            .map(|(name, path)| (name, std::fs::read_to_string(path).unwrap()))
            .collect();
        out.sort();
        out
    }

    fn address(&self, last: u8) -> String {
        let prefix = self.config.subnet.strip_suffix("0/24").unwrap();
        format!("{prefix}{last}")
    }

    /// Detaches every id, waits for the killed namespaces' veths to go, deletes the bridge,
    /// and reports whether anything of the test was left.
    fn clean_up(&self) -> Vec<String> {
        for id in &self.ids {
            net::detach(&self.host, &self.config, id, None);
        }
        wait_until(Duration::from_secs(10), || {
            !net::bridge_exists(&self.host, &self.config)
                || net::remove_bridge_if_unused(&self.host, &self.config).unwrap_or(false)
        });
        let mut left = Vec::new();
        if net::bridge_exists(&self.host, &self.config) {
            left.push(format!("bridge {}", self.config.bridge));
        }
        for id in &self.ids {
            if iface_exists(&net::host_veth_name(id)) {
                left.push(net::host_veth_name(id));
            }
        }
        if self.lease_dir().exists() {
            left.push(format!("lease dir {}", self.lease_dir().display()));
        }
        left
    }
}

impl Drop for NetTest {
    fn drop(&mut self) {
        let left = self.clean_up();
        if left.iter().any(|l| l.starts_with("bridge")) {
            // The test's own bridge only: force it out so no run leaves one behind.
            let _ = Command::new("ip")
                .args(["link", "del", "dev", &self.config.bridge])
                .status();
        }
        if !left.is_empty() {
            eprintln!("warning: cleaned up after a failed test: {left:?}");
        }
    }
}

fn iface_exists(name: &str) -> bool {
    PathBuf::from("/sys/class/net").join(name).exists()
}

fn netns_of(pid: i32) -> Option<PathBuf> {
    std::fs::read_link(format!("/proc/{pid}/ns/net")).ok()
}

/// A "container": a process in a new network namespace, once it is really in it.
fn container() -> ChildGuard {
    let child = ChildGuard::spawn(Command::new("unshare").args([
        "--net",
        "--fork",
        "--kill-child",
        "sleep",
        "1000",
    ]));
    let own = netns_of(std::process::id() as i32);
    let pid = child.pid();
    assert!(
        wait_until(Duration::from_secs(5), || netns_of(pid)
            .is_some_and(|ns| Some(ns) != own)),
        "unshare {pid} never got its own network namespace"
    );
    child
}

/// Runs a command in `pid`'s network namespace.
fn in_ns(pid: i32, args: &[&str]) -> std::process::Output {
    Command::new("nsenter")
        .args(["-t", &pid.to_string(), "-n"])
        .args(args)
        .output()
        .unwrap()
}

fn ns_json(pid: i32, args: &[&str]) -> serde_json::Value {
    let mut full = vec!["ip", "-j"];
    full.extend_from_slice(args);
    let out = in_ns(pid, &full);
    assert!(
        out.status.success(),
        "{full:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// One echo request, 2 s to answer.
fn ping(pid: i32, address: &str) -> bool {
    in_ns(pid, &["ping", "-c1", "-W2", address])
        .status
        .success()
}

/// What the bridge and each container's namespace hold, for a failure message.
fn network_state(bridge: &str, containers: &[ChildGuard]) -> String {
    let run = |args: &[&str]| {
        let out = Command::new(args[0]).args(&args[1..]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let mut text = format!(
        "bridge {bridge}:\n{}{}",
        run(&["ip", "-br", "addr", "show", "dev", bridge]),
        run(&["bridge", "link", "show", "master", bridge])
    );
    for c in containers {
        let addr = in_ns(c.pid(), &["ip", "-br", "addr"]);
        let neigh = in_ns(c.pid(), &["ip", "neigh"]);
        text += &format!(
            "container {}:\n{}{}",
            c.pid(),
            String::from_utf8_lossy(&addr.stdout),
            String::from_utf8_lossy(&neigh.stdout)
        );
    }
    text
}

/// The items of a JSON array `ip -j` printed.
fn items(value: &serde_json::Value) -> &Vec<serde_json::Value> {
    value.as_array().unwrap()
}

/// The IPv4 addresses (`a.b.c.d/len`) of one interface in `ip -j addr` output.
fn inet(link: &serde_json::Value) -> Vec<String> {
    items(&link["addr_info"])
        .iter()
        .filter(|a| a["family"] == "inet")
        .map(|a| format!("{}/{}", a["local"].as_str().unwrap(), a["prefixlen"]))
        .collect()
}

/// Checks `eth0` in `pid`'s namespace: the only interface besides `lo`, up, with the address,
/// and the default route via the gateway.
fn assert_eth0(pid: i32, attachment: &Attachment) {
    let links = ns_json(pid, &["addr", "show"]);
    let mut names: Vec<&str> = items(&links)
        .iter()
        .map(|l| l["ifname"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["eth0", "lo"], "interfaces in {pid}: {links}");
    let eth0 = items(&links)
        .iter()
        .find(|l| l["ifname"] == "eth0")
        .unwrap();
    assert!(
        items(&eth0["flags"]).iter().any(|f| f == "UP"),
        "eth0 down: {eth0}"
    );
    assert_eq!(inet(eth0), vec![attachment.address.clone()]);
    let routes = ns_json(pid, &["route", "show"]);
    let default = items(&routes)
        .iter()
        .find(|r| r["dst"] == "default")
        .unwrap_or_else(|| panic!("no default route in {pid}: {routes}"));
    assert_eq!(default["gateway"], attachment.gateway.as_str());
    assert_eq!(default["dev"], "eth0");
}

/// True when `pid`'s namespace has an interface named `name`.
fn has_iface(pid: i32, name: &str) -> bool {
    items(&ns_json(pid, &["link", "show"]))
        .iter()
        .any(|l| l["ifname"] == name)
}

/// A container record as the supervisor writes one (the optional fields left out are `None`).
fn record(id: &str, status: Status) -> ContainerRecord {
    serde_json::from_value(serde_json::json!({
        "id": id, "name": format!("n{}", &id[..8]), "image": "default", "command": ["/bin/true"],
        "status": status, "created_ms": 1, "net": "bridge", "cgroup_path": format!("/isotop/{id}"),
        "rootfs": "/", "lower_layers": [], "upper": "/", "remove_on_exit": false, "hostname": "x",
    }))
    .unwrap()
}

#[test]
#[ignore = "needs root"]
fn two_containers_get_addresses_routes_and_reach_each_other_and_the_gateway() {
    if !ready() {
        return;
    }
    let mut t = NetTest::new(0);
    let (id_a, id_b) = (t.new_id(), t.new_id());
    let a = container();
    let b = container();

    let start = Instant::now();
    let at_a = t.attach(&id_a, a.pid()).unwrap();
    eprintln!("attach_bridge (bridge created): {:?}", start.elapsed());
    let start = Instant::now();
    let at_b = t.attach(&id_b, b.pid()).unwrap();
    eprintln!("attach_bridge (bridge existed): {:?}", start.elapsed());

    assert_eq!(at_a.address, format!("{}/24", t.address(2)));
    assert_eq!(at_b.address, format!("{}/24", t.address(3)));
    assert_eq!(at_a.gateway, t.address(1));
    assert_eq!(at_a.host_veth, net::host_veth_name(&id_a));
    assert_eq!(
        t.leases(),
        [(t.address(2), id_a.clone()), (t.address(3), id_b.clone())]
    );

    // Outside: the bridge holds the gateway, both host ends are up on it.
    assert!(net::bridge_exists(&t.host, &t.config));
    let bridge = Command::new("ip")
        .args(["-j", "addr", "show", "dev", &t.config.bridge])
        .output()
        .unwrap();
    let bridge: serde_json::Value = serde_json::from_slice(&bridge.stdout).unwrap();
    assert_eq!(inet(&bridge[0]), [format!("{}/24", t.address(1))]);
    for at in [&at_a, &at_b] {
        let master = std::fs::read_link(format!("/sys/class/net/{}/master", at.host_veth)).unwrap();
        assert_eq!(master.file_name().unwrap(), t.config.bridge.as_str());
        // The kernel's linkwatch sets operstate asynchronously (it may lag the carrier by ~1 s
        // on a loaded host), so the state is polled, not read once.
        let operstate = format!("/sys/class/net/{}/operstate", at.host_veth);
        let read_state = || std::fs::read_to_string(&operstate).unwrap_or_default();
        wait_until(Duration::from_secs(5), || read_state().trim() == "up");
        assert_eq!(read_state().trim(), "up", "{}", at.host_veth);
    }

    // Inside: eth0 with the address and the default route; the pings stay on the test bridge.
    assert_eth0(a.pid(), &at_a);
    assert_eth0(b.pid(), &at_b);
    assert!(ping(a.pid(), &at_a.gateway), "a -> gateway");
    assert!(ping(a.pid(), &t.address(3)), "a -> b");
    assert!(ping(b.pid(), &t.address(2)), "b -> a");

    // Detach a while its namespace lives: its veth and lease go, b is unaffected; twice is fine.
    net::try_detach(&t.host, &t.config, &id_a, Some(&at_a.host_veth)).unwrap();
    assert!(!iface_exists(&at_a.host_veth));
    assert!(!has_iface(a.pid(), "eth0"));
    assert_eq!(t.leases(), [(t.address(3), id_b.clone())]);
    net::try_detach(&t.host, &t.config, &id_a, Some(&at_a.host_veth)).unwrap();
    assert!(ping(b.pid(), &at_b.gateway), "b -> gateway after a left");
    assert!(!ping(b.pid(), &t.address(2)), "a is gone");

    // A bridge in use stays.
    assert!(!net::remove_bridge_if_unused(&t.host, &t.config).unwrap());
    drop(a);
    drop(b);
    assert_eq!(t.clean_up(), Vec::<String>::new());
}

#[test]
#[ignore = "needs root"]
fn stale_leases_are_reused_and_live_ones_kept() {
    if !ready() {
        return;
    }
    let mut t = NetTest::new(1);
    let (gone, running, exited) = (t.new_id_without_record(), t.new_id(), t.new_id());
    store::write_record(&t.host, &record(&exited, Status::Exited)).unwrap();
    std::fs::create_dir_all(t.lease_dir()).unwrap();
    for (last, holder) in [(2, &gone), (3, &running), (4, &exited)] {
        std::fs::write(t.lease_dir().join(t.address(last)), holder).unwrap();
    }
    let (id_a, id_b) = (t.new_id(), t.new_id());
    let a = container();
    let b = container();
    let at_a = t.attach(&id_a, a.pid()).unwrap();
    let at_b = t.attach(&id_b, b.pid()).unwrap();
    assert_eq!(
        at_a.address,
        format!("{}/24", t.address(2)),
        "gone holder's"
    );
    assert_eq!(
        at_b.address,
        format!("{}/24", t.address(4)),
        "exited holder's"
    );
    assert_eq!(
        t.leases(),
        [
            (t.address(2), id_a.clone()),
            (t.address(3), running.clone()),
            (t.address(4), id_b.clone())
        ]
    );
    assert_eth0(b.pid(), &at_b);
    assert!(ping(a.pid(), &t.address(4)), "a -> b on reused addresses");

    // The old holder's rm must not release the address it lost.
    net::try_detach(&t.host, &t.config, &exited, None).unwrap();
    assert!(t.leases().contains(&(t.address(4), id_b.clone())));
    // The running holder's lease goes only with its own detach.
    net::try_detach(&t.host, &t.config, &running, None).unwrap();
    assert!(!t.lease_dir().join(t.address(3)).exists());

    drop(a);
    drop(b);
    assert_eq!(t.clean_up(), Vec::<String>::new());
}

#[test]
#[ignore = "needs root"]
fn concurrent_attaches_get_distinct_addresses() {
    if !ready() {
        return;
    }
    let mut t = NetTest::new(4);
    let ids: Vec<String> = (0..4).map(|_| t.new_id()).collect();
    let containers: Vec<ChildGuard> = ids.iter().map(|_| container()).collect();
    let given: Vec<String> = std::thread::scope(|scope| {
        let t = &t;
        let workers: Vec<_> = ids
            .iter()
            .zip(&containers)
            .map(|(id, c)| scope.spawn(move || t.attach(id, c.pid()).unwrap().address))
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    let mut addresses = given.clone();
    addresses.sort();
    let wanted: Vec<String> = (2..6).map(|n| format!("{}/24", t.address(n))).collect();
    assert_eq!(addresses, wanted);
    assert_eq!(t.leases().len(), 4);
    // From the holder of the lowest address to the highest: two different containers (a
    // container pinging its own address would need its `lo`, which these bare namespaces
    // leave down; which thread got which address is up to the scheduler).
    let from = given.iter().position(|a| *a == wanted[0]).unwrap();
    let reached = ping(containers[from].pid(), &t.address(5));
    assert!(reached, "{}", network_state(&t.config.bridge, &containers));
    drop(containers);
    assert_eq!(t.clean_up(), Vec::<String>::new());
}

#[test]
#[ignore = "needs root"]
fn a_failed_attach_leaves_no_veth_and_no_lease() {
    if !ready() {
        return;
    }
    let mut t = NetTest::new(2);

    // Fails late: the namespace already has a default route, so adding ours fails after the
    // veth pair exists and is configured.
    let late = container();
    let setup = in_ns(
        late.pid(),
        &[
            "sh",
            "-c",
            "ip link add x0 type veth peer name x1 && ip link set x0 up && ip link set x1 up \
             && ip route add default dev x0",
        ],
    );
    assert!(
        setup.status.success(),
        "{}",
        String::from_utf8_lossy(&setup.stderr)
    );
    let id = t.new_id();
    match t.attach(&id, late.pid()) {
        Err(LaunchError::Tool { what, detail }) => {
            assert!(what.contains("configuring eth0"), "{what}");
            assert!(detail.contains("File exists"), "{detail}");
        }
        other => panic!("expected the route to fail: {other:?}"),
    }
    assert!(!iface_exists(&net::host_veth_name(&id)));
    assert!(
        !has_iface(late.pid(), "eth0"),
        "the pair went with the undo"
    );
    assert_eq!(t.leases(), []);

    // Fails early: the namespace already has an eth0, so the pair cannot be made.
    let early = container();
    let setup = in_ns(
        early.pid(),
        &[
            "ip", "link", "add", "eth0", "type", "veth", "peer", "name", "y0",
        ],
    );
    assert!(
        setup.status.success(),
        "{}",
        String::from_utf8_lossy(&setup.stderr)
    );
    let id = t.new_id();
    assert!(matches!(
        t.attach(&id, early.pid()),
        Err(LaunchError::Tool { .. })
    ));
    assert!(!iface_exists(&net::host_veth_name(&id)));
    assert_eq!(t.leases(), []);

    drop(late);
    drop(early);
    assert_eq!(t.clean_up(), Vec::<String>::new());
}

#[test]
#[ignore = "needs root"]
fn isotops_own_namespace_a_bridge_with_another_address_or_a_non_bridge_are_refused() {
    if !ready() {
        return;
    }
    let mut t = NetTest::new(3);
    let id_a = t.new_id();

    // isotop's own namespace: refused before anything is made.
    let err = t.attach(&id_a, std::process::id() as i32).unwrap_err();
    assert!(matches!(err, LaunchError::WrongState { .. }), "{err}");
    assert!(err.to_string().contains("own network namespace"), "{err}");
    assert!(!net::bridge_exists(&t.host, &t.config));
    assert!(!iface_exists(&net::host_veth_name(&id_a)));
    assert!(!t.lease_dir().exists());

    let a = container();
    let at_a = t.attach(&id_a, a.pid()).unwrap();

    // Same bridge, another subnet.
    let pid = std::process::id();
    let other = BridgeConfig::new(&t.config.bridge, &format!("10.213.{}.0/24", pid % 256)).unwrap();
    let id_b = t.new_id();
    let b = container();
    let err = net::attach_bridge(&t.host, &other, &id_b, b.pid()).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, LaunchError::Invalid { .. }), "{text}");
    assert!(text.contains("already has the address"), "{text}");
    assert!(text.contains(&format!("{}/24", t.address(1))), "{text}");
    assert!(!iface_exists(&net::host_veth_name(&id_b)));
    assert_eq!(t.leases(), [(t.address(2), id_a.clone())]);

    // A "bridge" name that is the test's own veth, not a bridge.
    let not_bridge = BridgeConfig::new(&at_a.host_veth, &t.config.subnet).unwrap();
    let err = net::attach_bridge(&t.host, &not_bridge, &id_b, b.pid()).unwrap_err();
    assert!(err.to_string().contains("is not a bridge"), "{err}");
    assert!(iface_exists(&at_a.host_veth), "the refusal touched nothing");
    assert!(!iface_exists(&net::host_veth_name(&id_b)));
    net::detach(&t.host, &not_bridge, &id_b, None);
    let _ = net::remove_bridge_if_unused(&t.host, &not_bridge);
    assert!(
        iface_exists(&at_a.host_veth),
        "a veth is never removed as a bridge"
    );

    drop(a);
    drop(b);
    assert_eq!(t.clean_up(), Vec::<String>::new());
}

#[test]
fn bad_subnets_and_bridge_names_are_clear_errors() {
    // (ISOTOP_BRIDGE, ISOTOP_SUBNET, the variable blamed, what the hint says)
    let sub = |text| (None, Some(text), "ISOTOP_SUBNET");
    let br = |text| (Some(text), None, "ISOTOP_BRIDGE");
    let cases = [
        (sub("8.8.8.0/24"), "RFC 1918"),
        (sub("10.0.0.0/8"), "/16 to /29"),
        (sub("192.168.1.0/30"), "/16 to /29"),
        (sub("10.77.0.9/24"), "did you mean 10.77.0.0/24"),
        (sub("10.77.0.0"), "prefix length"),
        (br("a-bridge-name-too-long"), "1 to 15"),
        (br("br/0"), "letters, digits"),
        (br(".."), "`..`"),
    ];
    for ((bridge, subnet, option_wanted), hint_wanted) in cases {
        match BridgeConfig::from_vars(bridge, subnet) {
            Err(LaunchError::Invalid { option, hint, .. }) => {
                assert_eq!(option, option_wanted, "{bridge:?} {subnet:?}");
                assert!(hint.contains(hint_wanted), "{bridge:?} {subnet:?}: {hint}");
            }
            other => panic!("{bridge:?} {subnet:?} accepted: {other:?}"),
        }
    }
    // A hand-built config is checked again before anything touches the host.
    let bad = BridgeConfig {
        bridge: "isotop0".into(),
        subnet: "1.1.1.0/24".into(),
    };
    let id = store::new_id().unwrap();
    let err = net::attach_bridge(&HostRoot::live(), &bad, &id, 1).unwrap_err();
    assert!(matches!(err, LaunchError::Invalid { .. }), "{err}");
}
