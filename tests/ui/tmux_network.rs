//! End to end: the `5 Network` view of the real binary in tmux, on a topology this test makes
//! in the host's namespace — a bridge with a veth whose other end is `eth0` (10.218.0.2/24) of
//! a network namespace of the test's own (`ip netns add`, a `sleep` held in it). `5` shows the
//! view (first saying the map is being read), the bridge, its port and, at the port's other
//! end, `eth0` in `/run/netns/NAME` with its address, the same names `isotop net --json` gives;
//! the selected port's namespace below with its route; Enter gives it the screen. Needs root,
//! tmux, `ip` and `nsenter` (skips with the reason otherwise); the namespace (with the veth)
//! and the bridge are deleted by drop guards even when an assertion fails.

use crate::support::common::{self, isotop_json, require_program};
use crate::tmux::dashboard;

// The host tests' topology helpers (named namespaces, host links, veths), used here as is.
#[path = "../host/support/netns.rs"]
#[allow(dead_code)]
mod netns;

use netns::{HostLink, Netns, ifname, plug, tools_present};

#[test]
#[ignore = "needs root"]
fn the_network_view_shows_a_real_bridge_its_veth_and_the_namespace_behind_it() {
    if !require_program("tmux") || !tools_present() {
        return;
    }
    let bridge = HostLink::bridge("uib");
    let mut inside = Netns::add("ui-net");
    let port = ifname("uiv");
    plug(&bridge, &port, &inside, "10.218.0.2/24");
    let holder = inside.hold(&["sleep", "1000"]);

    // The names isotop's own map gives, to look for on screen.
    let doc = isotop_json(&["net", "--json"]);
    let ours = doc["bridges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["name"] == bridge.0.as_str())
        .unwrap_or_else(|| panic!("bridge {} not in `isotop net --json`", bridge.0));
    let peer = &ours["ports"][0]["peer"];
    assert_eq!(ours["ports"][0]["name"], port.as_str());
    assert_eq!(peer["name"], "eth0");
    assert_eq!(peer["netns"], inside.inode());
    let mount = inside.path().display().to_string();

    let tmux = dashboard(200, 50);
    tmux.keys(&["5"]);
    tmux.expect("AT THE OTHER END", "the Network view once the map is read");
    tmux.filter(&bridge.0);
    tmux.expect_screen("the bridge's row, up, with its one port", |s| {
        s.lines()
            .any(|l| l.starts_with(&bridge.0) && l.contains("bridge") && l.contains("1 port"))
    });
    tmux.expect_screen(
        "the port's row: the veth, eth0 at its other end, the namespace's mount, the address",
        |s| {
            s.lines().any(|l| {
                l.contains(&format!("└ {port}"))
                    && l.contains("veth")
                    && l.contains("eth0")
                    && l.contains(&mount)
                    && l.contains("10.218.0.2/24")
            })
        },
    );

    // The port selected: its far end's namespace below, with its interface and route.
    tmux.keys(&["Down"]);
    tmux.expect(
        &format!("netns {} · {mount}", inside.inode()),
        "the namespace's pane",
    );
    tmux.expect(&format!("pid {holder} sleep"), "the process holding it");
    tmux.expect(&format!("↔ {port}"), "eth0's peer, the port");
    tmux.expect(
        "10.218.0.0/24 dev eth0 proto kernel scope link src 10.218.0.2",
        "the namespace's route",
    );
    tmux.keys(&["Enter"]);
    tmux.expect_screen("the namespace's pane on the whole screen", |s| {
        !s.contains("AT THE OTHER END") && s.contains("10.218.0.2/24")
    });
    tmux.keys(&["Escape"]);
    tmux.expect("AT THE OTHER END", "Esc: back to the list");

    tmux.keys(&["q"]);
    tmux.expect("EXITED 0", "isotop exits with status 0 on q");
}
