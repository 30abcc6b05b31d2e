//! `ls` and `inspect` show each container's network and block I/O, on real `unknown`
//! containers (`unshare --pid --mount`) the test makes (root):
//! - a pod of two sharing a network namespace the test made, wired by a veth straight to a
//!   second test namespace; steady traffic (ping) only between the two. `ls --json --interval
//!   1` gives both containers the namespace's totals — within what `/sys/class/net/eth0/
//!   statistics` counted before and after `ls` ran — and rates no more than all the bytes
//!   those counters saw in their whole window and at least half their steady rate; `inspect --json` lists eth0 with its address, MTU, MAC, counters and
//!   the veth's other end (its namespace, name, address, the mount holding it); the text forms
//!   show the same.
//! - one of the pod's containers in a test cgroup of its own, limited by hand (`echo "MAJ:MIN
//!   N" > blkio.throttle.write_bps_device`, `io.max` on v2) on a loop device the test made,
//!   writing to it with `O_DIRECT`: its `io_limits` name the device, its write rate over the
//!   interval holds near the limit, `ls --wide` shows it.
//! - a container in the host's network namespace has null network fields (the host's traffic is
//!   not its own) and no `network` section.

use crate::support::block_io::LoopDevice;
use crate::support::common::{self, CgroupGuard, ChildGuard, isotop_json, run_isotop};
use crate::support::netns::{Netns, ifname, ip, tools_present};
use crate::support::unshared::{box_dir, unshare, v2_host};

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The write limit the pod's first container runs under, bytes/s.
const WRITE_LIMIT: u64 = 2 << 20;

/// eth0's counters in `netns` as sysfs has them there: (rx bytes, tx bytes, rx packets, tx
/// packets), and when they were read.
fn sysfs_counters(netns: &Netns) -> ([u64; 4], Instant) {
    let files: Vec<String> = ["rx_bytes", "tx_bytes", "rx_packets", "tx_packets"]
        .iter()
        .map(|f| format!("/sys/class/net/eth0/statistics/{f}"))
        .collect();
    let mut command = vec!["cat"];
    command.extend(files.iter().map(String::as_str));
    let text = netns.exec(&command);
    let at = Instant::now();
    let values: Vec<u64> = text.lines().map(|l| l.trim().parse().unwrap()).collect();
    ([values[0], values[1], values[2], values[3]], at)
}

fn row_of(rows: &Value, init: i32) -> &Value {
    rows.as_array()
        .and_then(|rows| rows.iter().find(|r| r["pid"] == init))
        .unwrap_or_else(|| panic!("no container with init {init} in {rows:#}"))
}

fn within(what: &str, got: f64, expected: f64, share: f64) {
    let off = (got - expected).abs() / expected;
    assert!(
        off <= share,
        "{what}: {got:.0} vs {expected:.0} ({:.1} % off)",
        off * 100.0
    );
}

/// The header and the cells (split at white space) of the `ls --wide` line of container
/// `init` (found by its PID cell).
fn wide_line(init: i32) -> (String, Vec<String>) {
    let out = run_isotop(&["ls", "--wide", "--interval", "1"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let header = text.lines().next().unwrap_or_default().to_string();
    let line = text
        .lines()
        .find(|l| l.split_whitespace().any(|w| w == init.to_string()))
        .unwrap_or_else(|| panic!("no line for {init} in:\n{text}"));
    (header, line.split_whitespace().map(String::from).collect())
}

#[test]
#[ignore = "needs root"]
fn ls_and_inspect_show_a_pods_network_and_its_io_limits_and_rates() {
    if !tools_present() || !common::require_program("unshare") || !common::require_program("ping") {
        return;
    }
    let Some(disk) = LoopDevice::new(32) else {
        return;
    };
    let mut pod = Netns::add("trf-pod");
    let far = Netns::add("trf-far");
    let veth = ifname("trf");
    ip(&[
        "link", "add", &veth, "netns", &far.name, "type", "veth", "peer", "name", "eth0", "netns",
        &pod.name,
    ]);
    far.ip(&["link", "set", &veth, "up"]);
    far.ip(&["address", "add", "10.218.0.1/24", "dev", &veth]);
    pod.ip(&["link", "set", "eth0", "up"]);
    pod.ip(&["address", "add", "10.218.0.2/24", "dev", "eth0"]);

    // The pod: a writer (waits for `go`, then writes 30 MiB with O_DIRECT: 15 s at the
    // limit, writing still while the test's last reading runs on a loaded, emulated host)
    // and a sleeper.
    let go = tempfile::tempdir().unwrap();
    let go_file = go.path().join("go");
    let script = format!(
        "while [ ! -e {go} ]; do sleep 0.05; done; \
         dd if=/dev/zero of={dev} bs=64k count=480 oflag=direct 2>/dev/null; exec sleep 1000",
        go = go_file.display(),
        dev = disk.path.display(),
    );
    let writer = pod.contain(&["sh", "-c", &script]);
    let sleeper = pod.contain(&["sleep", "1000"]);
    // The writer in a cgroup of its own (the sleeper stays out: a cgroup holding both would
    // be neither's own), limited by hand.
    let guard = CgroupGuard::new("traffic");
    guard.child("box");
    guard.add_pid("box", writer);
    let dir = box_dir(&guard, "blkio");
    if v2_host() {
        std::fs::write(
            dir.join("io.max"),
            format!("{} wbps={WRITE_LIMIT}", disk.number),
        )
        .unwrap();
    } else {
        std::fs::write(
            dir.join("blkio.throttle.write_bps_device"),
            format!("{} {WRITE_LIMIT}\n", disk.number),
        )
        .unwrap();
    }

    // Steady traffic inside the two namespaces only: ~200 packets/s each way.
    let _ping = ChildGuard::spawn(
        Command::new("ip")
            .args(["netns", "exec", &pod.name, "ping", "-q", "-i", "0.005"])
            .args(["-s", "1000", "10.218.0.1"])
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    std::fs::write(&go_file, "").unwrap();
    std::thread::sleep(Duration::from_millis(700));

    let (before, t0) = sysfs_counters(&pod);
    let rows = isotop_json(&["ls", "--json", "--interval", "1"]);
    let (after, t1) = sysfs_counters(&pod);
    let steady: Vec<f64> = (0..4)
        .map(|i| (after[i] - before[i]) as f64 / (t1 - t0).as_secs_f64())
        .collect();
    eprintln!("sysfs: {before:?} → {after:?} over {:?}", t1 - t0);

    let w = row_of(&rows, writer);
    let s = row_of(&rows, sleeper);
    assert_eq!(w["netns"], pod.inode(), "{w:#}");
    let fields = [
        "net_rx_bytes_total",
        "net_tx_bytes_total",
        "net_rx_packets_total",
        "net_tx_packets_total",
    ];
    for (i, field) in fields.into_iter().enumerate() {
        let total = w[field]
            .as_u64()
            .unwrap_or_else(|| panic!("{field}: {w:#}"));
        assert!(
            (before[i]..=after[i]).contains(&total),
            "{field} {total} not within sysfs's {}..{}",
            before[i],
            after[i]
        );
        // The pod's containers share the namespace: the same reading.
        assert_eq!(s[field], w[field], "{field}");
    }
    for (i, field) in [
        (0, "net_rx_bytes_per_second"),
        (1, "net_tx_bytes_per_second"),
    ] {
        let rate = w[field]
            .as_f64()
            .unwrap_or_else(|| panic!("{field}: {w:#}"));
        // `ls`'s one-second window lies inside the sysfs readings' window: it cannot have seen
        // more than all of that window's bytes in one second, and with traffic this steady it
        // sees most of its share (ping's pace wavers on a slow, emulated host, so the lower
        // bound is loose; the totals above are exact).
        let all = (after[i] - before[i]) as f64;
        assert!(
            rate <= all * 1.02,
            "{field} {rate:.0}/s: more than the {all:.0} bytes sysfs counted in the whole window"
        );
        assert!(
            rate >= steady[i] * 0.5,
            "{field} {rate:.0}/s: under half the steady {:.0}/s",
            steady[i]
        );
        assert_eq!(s[field], w[field]);
    }
    // The writer's own cgroup: its limit with the device's name, its rate near it.
    let limits = &w["io_limits"];
    assert_eq!(
        limits["devices"][0]["device"],
        disk.number.as_str(),
        "{w:#}"
    );
    assert_eq!(limits["devices"][0]["name"], disk.name.as_str());
    assert_eq!(limits["devices"][0]["write_bps"], WRITE_LIMIT);
    assert!(limits["devices"][0]["read_bps"].is_null());
    let rate = w["io_write_bytes_per_second"]
        .as_f64()
        .unwrap_or_else(|| panic!("no write rate: {w:#}"));
    eprintln!("write rate under a 2 MiB/s limit: {rate:.0} B/s");
    within("io_write_bytes_per_second", rate, WRITE_LIMIT as f64, 0.20);
    let written = w["io_write_bytes_total"].as_u64().expect("write total");
    assert!(written > 0 && written <= 30 << 20, "{written}");
    // The sleeper has no cgroup of its own: no I/O figures, no limits.
    assert!(
        s["io_limits"].is_null() && s["io_write_bytes_total"].is_null(),
        "{s:#}"
    );

    // --wide: the rates as bytes/s.
    let (header, cells) = wide_line(writer);
    // Traffic, then the six trouble columns (THR% … REFUSED) last.
    let words: Vec<&str> = header.split_whitespace().collect();
    let columns = [
        "UPTIME", "NET", "RX/s", "NET", "TX/s", "IO", "R/s", "IO", "W/s", "THR%",
    ];
    assert!(words.windows(10).any(|w| w == columns), "{header}");
    let traffic = &cells[cells.len() - 10..cells.len() - 6];
    assert!(
        traffic[0].ends_with("KiB/s") && traffic[1].ends_with("KiB/s"),
        "NET RX/s, NET TX/s: {cells:?}"
    );
    assert!(
        traffic[3].ends_with("MiB/s") || traffic[3].ends_with("KiB/s"),
        "IO W/s while writing at the limit: {cells:?}"
    );

    // inspect: the interface, its address and the veth's other end.
    let doc = isotop_json(&["inspect", &writer.to_string(), "--json"]);
    let network = &doc["network"];
    assert_eq!(network["netns"], pod.inode(), "{network:#}");
    assert_eq!(network["shared_with"].as_array().map(Vec::len), Some(1));
    let eth0 = network["interfaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "eth0")
        .unwrap_or_else(|| panic!("no eth0 in {network:#}"));
    assert_eq!(eth0["kind"], "veth");
    assert_eq!(eth0["state"], "up");
    assert_eq!(eth0["mtu"], 1500);
    let mac = pod.exec(&["cat", "/sys/class/net/eth0/address"]);
    assert_eq!(eth0["mac"], mac.trim());
    assert!(eth0["counters"]["tx_bytes"].as_u64().unwrap() >= after[1]);
    assert_eq!(eth0["addresses"][0]["address"], "10.218.0.2");
    assert_eq!(eth0["addresses"][0]["prefix"], 24);
    let peer = &eth0["peer_end"];
    assert_eq!(peer["netns"], far.inode(), "{eth0:#}");
    assert_eq!(peer["name"], veth.as_str());
    assert_eq!(peer["kind"], "veth");
    assert_eq!(peer["addresses"][0]["address"], "10.218.0.1");
    assert_eq!(peer["mounts"][0], far.path().display().to_string());
    assert!(eth0["bridge"].is_null(), "a pair on no bridge");
    assert_eq!(doc["io_limits"], *limits);

    let out = run_isotop(&["inspect", &writer.to_string()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("Network        netns {}", pod.inode())),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "peer {veth} in netns {} 10.218.0.1/24",
            far.inode()
        )),
        "{text}"
    );
    assert!(text.contains("I/O limits"), "{text}");
    assert!(
        text.contains(&format!("{} ({})", disk.name, disk.number)) && text.contains("2.0MiB/s"),
        "{text}"
    );
    drop(guard);
    pod.release();
}

#[test]
#[ignore = "needs root"]
fn a_container_in_the_hosts_network_namespace_has_no_network_figures() {
    if !common::require_program("unshare") {
        return;
    }
    let (_unshare, init) = unshare(&["sleep", "1000"], "sleep");
    let rows = isotop_json(&["ls", "--json", "--interval", "0.2"]);
    let row = row_of(&rows, init.0);
    for field in [
        "netns",
        "net_rx_bytes_total",
        "net_tx_bytes_total",
        "net_rx_packets_total",
        "net_tx_packets_total",
        "net_rx_bytes_per_second",
        "net_tx_bytes_per_second",
    ] {
        assert!(row[field].is_null(), "{field}: {row:#}");
    }
    let doc = isotop_json(&["inspect", &init.0.to_string(), "--json"]);
    assert!(doc["network"].is_null(), "{:#}", doc["network"]);
    let out = run_isotop(&["inspect", &init.0.to_string()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("the host's namespace"), "{text}");
}
