//! An `unshare` container with its own cgroup namespace on a real cgroup v2 kernel (root; run
//! by `vm/run-tests.sh`, skipped with a printed reason on v1 and hybrid hosts). On v2 a cgroup
//! namespace hides the path above the container's cgroup (it sees itself at `0::/`): isotop,
//! reading from the host, must still place its processes at the full path, show the cgroup
//! namespace as its own, and list and inspect the container like any other.

use crate::support::common;

use common::isotop_json as json;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{CgroupGuard, ChildGuard};
use isotop::host::HostRoot;
use isotop::host::cgroup::{Limit, detect_layout, read_for_memberships};
use isotop::host::process::{ReadDepth, read_process};

fn ns_link(pid: i32, kind: &str) -> String {
    std::fs::read_link(format!("/proc/{pid}/ns/{kind}"))
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}

/// The first child of `pid` (from the kernel's `children` list), once there is one.
fn first_child(pid: i32) -> Option<i32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[test]
#[ignore = "needs root"]
fn unshare_container_in_its_own_cgroup_namespace_is_placed_by_the_host_path() {
    if !common::require_v2() || !common::require_program("unshare") {
        return;
    }
    let guard = CgroupGuard::new("v2-cgns");
    let leaf = guard.child("box");
    let dir = guard.dir("", "box");
    std::fs::write(dir.join("memory.max"), "67108864").unwrap();
    std::fs::write(dir.join("pids.max"), "10").unwrap();
    let seen = tempfile::tempdir().unwrap();
    let seen_file = seen.path().join("self-cgroup");

    // The shell joins the leaf before it runs unshare, so the new cgroup namespace is rooted
    // there; the container's init writes what it sees of its own cgroup, then sleeps.
    let script = format!(
        "read -r _; exec unshare --fork --pid --mount-proc --mount --uts --cgroup --kill-child \
         sh -c 'cat /proc/self/cgroup > {}; exec sleep 1000'",
        seen_file.display()
    );
    let mut starter = ChildGuard::spawn(
        Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::piped()),
    );
    guard.add_pid("box", starter.pid());
    starter.0.stdin.take().unwrap().write_all(b"go\n").unwrap();
    let unshare = starter.pid();
    let mut init = 0;
    assert!(
        common::wait_until(Duration::from_secs(10), || {
            init = first_child(unshare).unwrap_or(0);
            init != 0
                && ns_link(init, "pid") != ns_link(unshare, "pid")
                && std::fs::read_to_string(&seen_file).is_ok_and(|t| t.ends_with('\n'))
        }),
        "the unshare container did not start"
    );

    // Inside, the kernel hides the path; from the host it is the full one.
    let inside = std::fs::read_to_string(&seen_file).unwrap();
    assert_eq!(inside.trim(), "0::/", "the container's own view");
    let host_line = std::fs::read_to_string(format!("/proc/{init}/cgroup")).unwrap();
    assert_eq!(host_line.trim(), format!("0::{leaf}"));
    let root = HostRoot::live();
    let process = read_process(&root, init, ReadDepth::Full).unwrap().unwrap();
    assert_eq!(process.cgroup_path(None), Some(leaf.as_str()));
    let layout = detect_layout(&root).unwrap();
    let reading = read_for_memberships(&root, &layout, &process.cgroups)
        .unwrap()
        .unwrap();
    assert_eq!(reading.path, leaf);
    assert_eq!(
        reading.limits.memory_max_bytes,
        Some(Limit::Value(67_108_864))
    );
    assert_eq!(reading.limits.pids_max, Some(Limit::Value(10)));

    // Listed as a container of its own, with its cgroup namespace not the host's.
    let list = json(&["ls", "--json", "--interval", "0"]);
    let entry = list
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["pid"].as_i64() == Some(init as i64))
        .unwrap_or_else(|| panic!("init {init} not listed: {list}"));
    let pidns = ns_link(init, "pid");
    let inode = pidns.trim_start_matches("pid:[").trim_end_matches(']');
    assert_eq!(entry["id"], format!("pidns-{inode}"));
    assert_eq!(entry["state"], "running");
    let doc = json(&["inspect", &init.to_string(), "--json"]);
    let detail = doc["namespace_detail"].as_array().expect("namespace list");
    let me = std::process::id() as i32;
    for kind in ["cgroup", "pid", "mnt", "uts", "net", "ipc"] {
        let entry = detail
            .iter()
            .find(|e| e["type"] == kind)
            .unwrap_or_else(|| panic!("no {kind} in {detail:?}"));
        let link = ns_link(init, kind);
        assert_eq!(link, format!("{kind}:[{}]", entry["inode"]), "{kind}");
        let new = matches!(kind, "cgroup" | "pid" | "mnt" | "uts");
        assert_eq!(
            entry["shared_with_host"],
            !new && link == ns_link(me, kind),
            "{kind}"
        );
    }
    let ps = json(&["ps", &init.to_string(), "--json"]);
    assert_eq!(ps["processes"][0]["pid"], init);
    assert_eq!(ps["processes"][0]["container_pid"], 1);
}
