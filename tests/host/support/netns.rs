//! Network topologies for the `net_*` tests, made with iproute2 and removed on drop even when a
//! test fails: named network namespaces (`ip netns add`, IPv6 off so no router solicitation or
//! DAD packet moves a counter behind the test's back), host links (a test bridge), processes
//! held in a namespace, and short unique interface names (the kernel allows 15 bytes).
//!
//! Traffic rule: tests only ever address interfaces inside the namespaces made here.

use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use isotop::host::HostRoot;
use isotop::host::namespace::mounts::read_nsfs_mounts;
use isotop::host::net::{self, Counters, NetnsHandle};
use isotop::host::process::ReadDepth;
use isotop::host::scan::read_processes;

use super::common::{self, ChildGuard};

/// True when `ip` and `nsenter` are installed; otherwise prints why the test is skipped.
pub fn tools_present() -> bool {
    common::require_program("ip") && common::require_program("nsenter")
}

/// The network namespaces `keep` chooses, found as `isotop net` finds them (processes and
/// nsfs mounts).
pub fn handles_where(keep: impl Fn(&NetnsHandle) -> bool) -> Vec<NetnsHandle> {
    let root = HostRoot::live();
    let processes = read_processes(&root, ReadDepth::Namespaces, &mut Vec::new()).unwrap();
    net::discover(&processes, &read_nsfs_mounts(&root).unwrap())
        .into_iter()
        .filter(keep)
        .collect()
}

/// The eight counters, in [`as_array`]'s order, as `/sys/class/net/<if>/statistics` names them.
pub const FIELDS: [&str; 8] = [
    "rx_bytes",
    "rx_packets",
    "rx_errors",
    "rx_dropped",
    "tx_bytes",
    "tx_packets",
    "tx_errors",
    "tx_dropped",
];

/// isotop's counters in [`FIELDS`]' order.
pub fn as_array(c: &Counters) -> [u64; 8] {
    [
        c.rx_bytes,
        c.rx_packets,
        c.rx_errors,
        c.rx_dropped,
        c.tx_bytes,
        c.tx_packets,
        c.tx_errors,
        c.tx_dropped,
    ]
}

/// Asserts that each of isotop's counters lies between the kernel's read before and after it.
pub fn within(label: &str, before: [u64; 8], seen: [u64; 8], after: [u64; 8]) {
    for i in 0..8 {
        assert!(
            before[i] <= seen[i] && seen[i] <= after[i],
            "{label} {}: isotop {} not within the kernel's {}..={}",
            FIELDS[i],
            seen[i],
            before[i],
            after[i]
        );
    }
}

/// A short name unique to this test run, fit for an interface: `it<pid><n>` (≤ 15 bytes).
pub fn ifname(what: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let name = format!("{what}{}x{n}", std::process::id() % 100_000);
    assert!(name.len() <= 15, "interface name {name} too long");
    name
}

/// Runs `ip ARGS`, panicking with its stderr when it fails.
pub fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("ip runs");
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs `ip [-n NETNS] -batch -` with these lines (one process for many commands; a batch
/// line cannot name a namespace of its own).
pub fn ip_batch(netns: Option<&str>, lines: &[String]) {
    use std::io::Write;
    let mut command = Command::new("ip");
    if let Some(name) = netns {
        command.args(["-n", name]);
    }
    let mut child = command
        .args(["-batch", "-"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ip runs");
    let mut stdin = child.stdin.take().expect("piped stdin");
    stdin
        .write_all(lines.join("\n").as_bytes())
        .expect("ip reads its batch");
    drop(stdin);
    let out = child.wait_with_output().expect("ip ends");
    assert!(
        out.status.success(),
        "ip -batch: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A named network namespace, deleted on drop (with every interface in it).
pub struct Netns {
    pub name: String,
    /// Processes started in it, killed before the namespace is deleted.
    held: Vec<ChildGuard>,
}

impl Netns {
    /// `ip netns add`, IPv6 off, `lo` up.
    pub fn add(what: &str) -> Netns {
        let name = common::unique_name(what);
        ip(&["netns", "add", &name]);
        let netns = Netns {
            name,
            held: Vec::new(),
        };
        for key in ["all", "default"] {
            netns.exec(&[
                "sysctl",
                "-q",
                "-w",
                &format!("net.ipv6.conf.{key}.disable_ipv6=1"),
            ]);
        }
        netns.ip(&["link", "set", "lo", "up"]);
        netns
    }

    /// The bind mount holding it.
    pub fn path(&self) -> PathBuf {
        PathBuf::from(format!("/run/netns/{}", self.name))
    }

    /// Its nsfs inode: its identity.
    pub fn inode(&self) -> u64 {
        std::fs::metadata(self.path()).expect("netns mount").ino()
    }

    /// `ip -n NAME ARGS`.
    pub fn ip(&self, args: &[&str]) {
        let mut all = vec!["-n", &self.name];
        all.extend_from_slice(args);
        ip(&all);
    }

    /// Runs a command inside (`ip netns exec`, which also shows this namespace's /sys) and
    /// returns its stdout; panics when it fails.
    pub fn exec(&self, command: &[&str]) -> String {
        let out = Command::new("ip")
            .args(["netns", "exec", &self.name])
            .args(command)
            .output()
            .expect("ip netns exec runs");
        assert!(
            out.status.success(),
            "{} in {}: {}",
            command.join(" "),
            self.name,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `/sys/class/net/<name>/statistics/*` as seen inside, in [`FIELDS`]' order.
    pub fn statistics(&self, name: &str) -> [u64; 8] {
        let files: Vec<String> = FIELDS
            .iter()
            .map(|f| format!("/sys/class/net/{name}/statistics/{f}"))
            .collect();
        let mut command = vec!["cat"];
        command.extend(files.iter().map(String::as_str));
        let values: Vec<u64> = self
            .exec(&command)
            .lines()
            .map(|l| l.trim().parse().expect("a counter"))
            .collect();
        values.try_into().expect("eight counters")
    }

    /// Starts `COMMAND` in this namespace (`nsenter --net=`), killed on drop; returns its pid.
    pub fn hold(&mut self, command: &[&str]) -> i32 {
        let child = ChildGuard::spawn(
            Command::new("nsenter")
                .arg(format!("--net={}", self.path().display()))
                .args(command)
                .stdin(Stdio::null()),
        );
        let pid = child.pid();
        // nsenter joins, then execs: wait until the process shows the namespace.
        let inode = self.inode();
        let expected = format!("net:[{inode}]");
        let joined = common::wait_until(Duration::from_secs(10), || {
            std::fs::read_link(format!("/proc/{pid}/ns/net"))
                .is_ok_and(|t| t.to_string_lossy() == expected)
        });
        assert!(joined, "pid {pid} never joined {}", self.name);
        self.held.push(child);
        pid
    }

    /// Starts a container in this namespace — `unshare --fork --kill-child --pid --mount
    /// --mount-proc COMMAND…`, killed on drop — and returns the host pid of its init
    /// (unshare's child, once it is in a pid namespace of its own).
    pub fn contain(&mut self, command: &[&str]) -> i32 {
        let mut all = vec![
            "unshare",
            "--fork",
            "--kill-child",
            "--pid",
            "--mount",
            "--mount-proc",
        ];
        all.extend_from_slice(command);
        let unshare = self.hold(&all);
        let pidns = |pid: i32| std::fs::read_link(format!("/proc/{pid}/ns/pid")).ok();
        let mut init = None;
        let started = common::wait_until(Duration::from_secs(10), || {
            init = std::fs::read_to_string(format!("/proc/{unshare}/task/{unshare}/children"))
                .ok()
                .and_then(|c| c.split_whitespace().next()?.parse::<i32>().ok())
                .filter(|&pid| pidns(pid).is_some() && pidns(pid) != pidns(unshare));
            init.is_some()
        });
        assert!(started, "unshare {unshare} started no container");
        init.unwrap_or_default()
    }

    /// Kills the processes started with [`hold`](Self::hold).
    pub fn release(&mut self) {
        self.held.clear();
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        self.held.clear();
        let _ = Command::new("ip")
            .args(["netns", "delete", &self.name])
            .status();
    }
}

/// A link in the test's own (host) namespace, deleted on drop: the test bridge.
pub struct HostLink(pub String);

impl HostLink {
    /// A bridge, up, with no address (nothing is routed through it).
    pub fn bridge(what: &str) -> HostLink {
        let name = ifname(what);
        ip(&["link", "add", &name, "type", "bridge"]);
        let link = HostLink(name);
        ip(&["link", "set", &link.0, "up"]);
        link
    }
}

impl Drop for HostLink {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["link", "delete", &self.0])
            .stderr(Stdio::null())
            .status();
    }
}

/// A veth pair: `host_end` in the test's namespace on `bridge`, up; `eth0` inside `netns`, up,
/// with `address` (CIDR). The host end goes away with the namespace.
pub fn plug(bridge: &HostLink, host_end: &str, netns: &Netns, address: &str) {
    ip(&[
        "link",
        "add",
        host_end,
        "type",
        "veth",
        "peer",
        "name",
        "eth0",
        "netns",
        &netns.name,
    ]);
    ip(&["link", "set", host_end, "master", &bridge.0, "up"]);
    netns.ip(&["link", "set", "eth0", "up"]);
    netns.ip(&["address", "add", address, "dev", "eth0"]);
}
