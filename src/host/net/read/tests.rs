//! The per-tick path on fixture roots: `/proc/<pid>/net/dev` read through a process whose
//! namespace link still names the namespace, a reused pid skipped, and namespaces that need
//! entering noted (a fixture is no live host).

use std::path::Path;

use super::*;
use crate::host::namespace::NsKind;
use crate::host::namespace::mounts::NsfsMount;
use crate::host::net::namespaces::from_members;

const NET_DEV: &str = "\
Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:     100       1    0    0    0     0          0         0      100       1    0    0    0     0       0          0
  eth0:    5000      40    0    1    0     0          0         0     7000      50    2    0    0     0       0          0
";

/// `proc/<pid>/net/dev` and an `ns/net` link naming `net:[inode]`.
fn process(root: &Path, pid: i32, inode: u64) {
    let dir = root.join(format!("proc/{pid}"));
    std::fs::create_dir_all(dir.join("net")).unwrap();
    std::fs::create_dir_all(dir.join("ns")).unwrap();
    std::fs::write(dir.join("net/dev"), NET_DEV).unwrap();
    std::os::unix::fs::symlink(format!("net:[{inode}]"), dir.join("ns/net")).unwrap();
}

#[test]
fn counters_come_from_a_process_still_in_the_namespace() {
    let dir = tempfile::tempdir().unwrap();
    process(dir.path(), 10, 7);
    // Pid 11 was listed in namespace 7 but is now in 8 (reused): skipped for pid 12.
    process(dir.path(), 11, 8);
    process(dir.path(), 12, 9);
    let root = HostRoot::under(dir.path());
    let handles = from_members([(10, 7), (11, 9), (12, 9)], &[]);
    let read = read_counters(&root, &handles);
    assert!(read.notes.is_empty(), "{:?}", read.notes);
    let inodes: Vec<u64> = read.namespaces.iter().map(|n| n.inode).collect();
    assert_eq!(inodes, [7, 9]);
    let ns = &read.namespaces[0];
    assert_eq!(ns.source, CounterSource::ProcNetDev);
    assert_eq!(ns.interfaces.len(), 2);
    let total = ns.total();
    assert_eq!(
        (total.rx_bytes, total.tx_bytes, total.tx_errors),
        (5000, 7000, 2)
    );
    assert!(ns.read_at_ms > 0);
}

#[test]
fn gone_namespaces_and_ones_to_enter_are_notes_on_a_fixture() {
    let dir = tempfile::tempdir().unwrap();
    let root = HostRoot::under(dir.path());
    let mount = NsfsMount {
        kind: NsKind::Net,
        inode: 5,
        mount_point: "/run/netns/x".into(),
        display: "/run/netns/x".to_string(),
    };
    // 4: its only process is gone; 5: held by a mount, read by entering it.
    let handles = from_members([(40, 4)], &[mount]);
    let read = read_counters(&root, &handles);
    assert!(read.namespaces.is_empty());
    assert_eq!(read.notes.len(), 2, "{:?}", read.notes);
    assert!(
        read.notes[0].contains("network namespace 4 is gone"),
        "{}",
        read.notes[0]
    );
    assert!(
        read.notes[1].contains("not the live host"),
        "{}",
        read.notes[1]
    );
    let full = read_full(&root, &handles);
    assert!(full.namespaces.is_empty());
    assert_eq!(full.notes.len(), 2);
}
