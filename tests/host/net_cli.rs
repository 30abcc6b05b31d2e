//! `isotop net` on a topology the test makes: a host bridge with three veths into three test
//! namespaces — one with a pod of two `unknown` containers sharing it (shown once, both
//! containers under it), one held by a plain process, one held only by its mount — and the
//! same run as `nobody`, which reads its own namespace and says to run as root for the rest.

use crate::support::common::{self, isotop_json, require_program};
use crate::support::netns::{HostLink, Netns, ifname, plug, tools_present};

use std::os::unix::fs::MetadataExt;
use std::time::Duration;

use serde_json::Value;

fn bridge_of<'a>(doc: &'a Value, name: &str) -> &'a Value {
    doc["bridges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["name"] == name)
        .unwrap_or_else(|| panic!("bridge {name} not in {doc:#}"))
}

fn port<'a>(bridge: &'a Value, name: &str) -> &'a Value {
    bridge["ports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("port {name} not on {bridge:#}"))
}

#[test]
#[ignore = "needs root"]
fn net_json_maps_the_test_bridge_to_its_namespaces_and_containers() {
    if !tools_present() || !require_program("unshare") {
        return;
    }
    let bridge = HostLink::bridge("itc");
    let mut pod = Netns::add("net-cli-pod");
    let mut held = Netns::add("net-cli-held");
    let mounted = Netns::add("net-cli-mount");
    let ends: Vec<String> = (0..3).map(|_| ifname("itc")).collect();
    for (i, netns) in [&pod, &held, &mounted].into_iter().enumerate() {
        plug(&bridge, &ends[i], netns, &format!("10.217.0.{}/24", i + 2));
    }
    // Two containers (own pid and mount namespaces) sharing the pod's network namespace.
    pod.contain(&["sleep", "1000"]);
    pod.contain(&["sleep", "1000"]);
    let holder = held.hold(&["sleep", "1000"]);
    // Both containers' inits (the sleeps, pid 1 of their pid namespaces) are running.
    let ready =
        common::wait_until(Duration::from_secs(10), || {
            let doc = isotop_json(&["net", "--json"]);
            doc["namespaces"].as_array().unwrap().iter().any(|ns| {
                ns["inode"] == pod.inode() && ns["containers"].as_array().unwrap().len() == 2
            })
        });
    assert!(ready, "the pod's two containers never showed");

    let doc = isotop_json(&["net", "--json"]);
    let own = std::fs::metadata("/proc/self/ns/net").unwrap().ino();
    assert_eq!(doc["host_netns"], own);
    let ours = bridge_of(&doc, &bridge.0);
    assert_eq!(ours["netns"], own);
    assert_eq!(ours["host"], true);
    assert_eq!(ours["ports"].as_array().unwrap().len(), 3);
    for (i, netns) in [&pod, &held, &mounted].into_iter().enumerate() {
        let peer = &port(ours, &ends[i])["peer"];
        assert_eq!(peer["netns"], netns.inode(), "{peer:#}");
        assert_eq!(peer["name"], "eth0");
        assert_eq!(
            peer["addresses"][0]["address"],
            format!("10.217.0.{}", i + 2)
        );
        assert_eq!(peer["addresses"][0]["prefix"], 24);
        assert_eq!(peer["mounts"][0], netns.path().display().to_string());
    }
    let pod_end = &port(ours, &ends[0])["peer"];
    let containers = pod_end["containers"].as_array().unwrap();
    assert_eq!(containers.len(), 2, "{pod_end:#}");
    assert!(containers.iter().all(|c| c["runtime"] == "unknown"));
    assert_eq!(port(ours, &ends[1])["peer"]["holder"]["pid"], holder);
    assert_eq!(port(ours, &ends[1])["peer"]["holder"]["command"], "sleep");
    assert!(port(ours, &ends[2])["peer"]["holder"].is_null());

    // Each namespace once, the pod's with both containers.
    let rows: Vec<&Value> = doc["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|ns| ns["inode"] == pod.inode())
        .collect();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["containers"].as_array().unwrap().len(), 2);
    assert!(rows[0]["nprocs"].as_u64().unwrap() >= 4, "{:#}", rows[0]);
    let eth0 = rows[0]["interfaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "eth0")
        .unwrap();
    assert_eq!(eth0["kind"], "veth");
    assert_eq!(eth0["peer"]["name"], ends[0].as_str());
    assert!(eth0["counters"]["rx_bytes"].is_u64());

    // The text form names the same things.
    let out = common::run_isotop(&["net"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&format!("bridge {}", bridge.0)), "{text}");
    assert!(text.contains(&format!("pid {holder} sleep")), "{text}");
    assert!(text.contains(&pod.inode().to_string()), "{text}");
    pod.release();
    held.release();
}

#[test]
#[ignore = "needs root"]
fn as_nobody_the_own_namespace_is_read_and_the_rest_says_run_as_root() {
    if !tools_present() || !require_program("setpriv") {
        return;
    }
    let mut netns = Netns::add("net-nobody");
    netns.hold(&["sleep", "1000"]);
    let doc = common::isotop_json_as_nobody(&["net", "--json"]);
    let own = std::fs::metadata("/proc/self/ns/net").unwrap().ino();
    let rows = doc["namespaces"].as_array().unwrap();
    let host = rows
        .iter()
        .find(|ns| ns["inode"] == own)
        .expect("host listed");
    assert!(host["read_at_ms"].is_u64(), "own namespace read: {host:#}");
    assert!(!host["interfaces"].as_array().unwrap().is_empty());
    let notes: Vec<&str> = doc["notes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        notes.iter().any(|n| n.contains("run isotop as root")),
        "{notes:?}"
    );
    netns.release();
}
