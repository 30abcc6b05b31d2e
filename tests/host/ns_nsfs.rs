//! Namespaces kept alive by a bind mount (`ip netns add`): isotop lists them even with no
//! process in them (lsns does not), with the mount point as `nsfs`; once a process joins, the
//! row counts it and the NSFS column agrees with lsns'.

use crate::support::common;

use std::os::unix::fs::MetadataExt;
use std::process::Command;
use std::time::Duration;

use common::{ChildGuard, require_program, run_isotop, unique_name, wait_until};
use serde_json::Value;

/// A named network namespace (`ip netns add`), deleted on drop even if the test fails.
struct NetnsGuard(String);

impl NetnsGuard {
    fn add(name: &str) -> NetnsGuard {
        let status = Command::new("ip")
            .args(["netns", "add", name])
            .status()
            .expect("ip runs");
        assert!(status.success(), "ip netns add {name}");
        NetnsGuard(name.to_string())
    }

    fn path(&self) -> String {
        format!("/run/netns/{}", self.0)
    }
}

impl Drop for NetnsGuard {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "delete", &self.0])
            .status();
    }
}

fn isotop_row(inode: u64) -> Value {
    let out = run_isotop(&["ns", "--json", "-t", "net"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    doc["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|ns| ns["ns"].as_u64() == Some(inode))
        .cloned()
        .unwrap_or_else(|| panic!("netns {inode} not listed: {doc}"))
}

#[test]
#[ignore = "needs root"]
fn bind_mounted_netns_is_listed_with_its_mount_point() {
    if !require_program("ip") {
        return;
    }
    // Short: interface-style names are not needed, but /run/netns paths are shown whole.
    let netns = NetnsGuard::add(&unique_name("nsfs"));
    let inode = std::fs::metadata(netns.path()).unwrap().ino();
    let own_user = std::fs::metadata("/proc/self/ns/user").unwrap().ino();

    let row = isotop_row(inode);
    assert_eq!(row["type"], "net");
    assert_eq!(row["nprocs"], 0);
    assert!(row["pid"].is_null() && row["command"].is_null());
    assert_eq!(row["nsfs"], serde_json::json!([netns.path()]));
    assert_eq!(row["owner"].as_u64(), Some(own_user));

    // A process joins: counted, and the mount is still attached, as lsns shows it.
    if !require_program("lsns") {
        return;
    }
    let joined =
        ChildGuard::spawn(Command::new("ip").args(["netns", "exec", &netns.0, "sleep", "1000"]));
    let in_netns = wait_until(Duration::from_secs(5), || {
        std::fs::metadata(format!("/proc/{}/ns/net", joined.pid())).is_ok_and(|m| m.ino() == inode)
    });
    assert!(in_netns, "ip netns exec did not enter the namespace");
    let row = isotop_row(inode);
    assert_eq!(
        (row["nprocs"].as_u64(), row["pid"].as_i64()),
        (Some(1), Some(joined.pid() as i64))
    );
    assert_eq!(row["nsfs"], serde_json::json!([netns.path()]));

    let out = Command::new("lsns")
        .args(["-J", "-t", "net", "-o", "NS,NPROCS,PID,NSFS"])
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let theirs = doc["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|ns| ns["ns"].as_u64() == Some(inode))
        .cloned()
        .expect("lsns lists the netns once a process is in it");
    assert_eq!(theirs["nsfs"].as_str(), Some(netns.path().as_str()));
    assert_eq!(theirs["nprocs"], row["nprocs"]);
    assert_eq!(theirs["pid"], row["pid"]);
}
