//! The container process in a user namespace (part of tests/launch/isolate.rs): container root
//! is the mapped host range, and with the host's network `/sys` falls back to a read-only
//! bind of the host's.

use std::fs;
use std::os::unix::fs::MetadataExt;

use crate::support::isolate_harness::{Root, mount_options, ready, run};
use isotop::host::HostRoot;
use isotop::launch::NetMode;
use isotop::launch::isolate::{self, IdMap};

#[test]
#[ignore = "needs root"]
fn a_user_namespace_maps_root_to_the_subordinate_range() {
    if !ready() {
        return;
    }
    let map = isolate::default_idmap(&HostRoot::live());
    let root = Root::busybox(|_| {});
    let mut setup = root.config(&[
        "sh",
        "-c",
        "cat /proc/self/uid_map /proc/self/gid_map; id -u; echo x > /tmp/owned; ls /sys/class/net",
    ]);
    setup.userns = Some(map);
    let out = run(&setup);
    let lines: Vec<String> = out
        .ok()
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(lines[0], format!("0 {} {}", map.host_uid, map.count));
    assert_eq!(lines[1], format!("0 {} {}", map.host_gid, map.count));
    assert_eq!(lines[2], "0");
    assert_eq!(lines[3], "lo");
    // The host sees the file container root wrote as owned by the mapped range.
    let meta = fs::metadata(root.upper.join("tmp/owned")).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (map.host_uid, map.host_gid));
}

#[test]
#[ignore = "needs root"]
fn host_network_in_a_user_namespace_gets_a_read_only_sys() {
    if !ready() {
        return;
    }
    let root = Root::busybox(|_| {});
    let mut setup = root.config(&[
        "sh",
        "-c",
        "ls /sys/class/net | wc -l; readlink /proc/self/ns/net; cat /proc/self/mountinfo",
    ]);
    setup.net = NetMode::Host;
    setup.userns = Some(IdMap {
        host_uid: 100_000,
        host_gid: 100_000,
        count: 65_536,
    });
    let out = run(&setup);
    let lines: Vec<&str> = out.ok().lines().collect();
    let host_ifaces = fs::read_dir("/sys/class/net").unwrap().count();
    assert_eq!(lines[0].trim(), host_ifaces.to_string());
    assert_eq!(
        lines[1],
        fs::read_link("/proc/self/ns/net")
            .unwrap()
            .to_string_lossy()
    );
    let mountinfo = lines[2..].join("\n");
    let options = mount_options(&mountinfo, "/sys").unwrap();
    assert!(options.split(',').any(|o| o == "ro"), "{mountinfo}");
}
