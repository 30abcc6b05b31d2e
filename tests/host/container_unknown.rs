//! Containers no runtime names: processes whose pid and mount namespaces both differ from the
//! host's, grouped by pid namespace; kernel threads never; an init's `container=` variable as a
//! hint for the runtime.

use crate::support::procs;

use isotop::host::container::{Runtime, find_containers};
use isotop::host::namespace::NsKind;
use procs::*;

#[test]
fn own_pid_and_mount_namespaces_make_a_container() {
    let root = fixture_root("unknown");
    let mut unshare_ns = host_ns();
    unshare_ns.set(NsKind::Mnt, Some(9_000_001));
    let mut pidns_only = host_ns();
    pidns_only.set(NsKind::Pid, Some(9_000_050));
    let mut kthread = process(2, 0, "kthreadd", "/", container_ns(9_000_090));
    kthread.kernel_thread = true;
    let procs = vec![
        host_process(1, 0, "init"),
        kthread,
        // `unshare --fork --pid --mount-proc`: unshare has a new mount ns but the host's pid ns.
        process(9000, 1, "unshare", "/", unshare_ns),
        process(9001, 9000, "sleep", "/", container_ns(9_000_000)),
        process(9002, 9001, "sleep", "/", container_ns(9_000_000)),
        // Only a pid namespace: not a container.
        process(9050, 1, "pidonly", "/", pidns_only),
        // Another group whose init says container=lxc.
        process(9101, 1, "init", "/", container_ns(9_000_100)),
    ];
    let found = find_containers(&root, &procs, &host_ns());
    assert_disjoint(&found);
    assert_eq!(found.len(), 2, "{:#?}", summary(&found));

    let pid_ns = 9_000_000 + NsKind::Pid as u64;
    let sleep = by_id(&found, &format!("pidns-{pid_ns}"));
    assert_eq!(sleep.runtime, Runtime::Unknown);
    assert_eq!(sleep.init_pid, Some(9001));
    assert_eq!(sleep.pids, vec![9001, 9002]);
    assert_eq!(sleep.name, "sleep");
    assert_eq!(sleep.cgroup_path, None);
    assert_eq!(sleep.namespaces.get(NsKind::Pid), Some(pid_ns));

    let hinted = by_id(&found, &format!("pidns-{}", 9_000_100 + NsKind::Pid as u64));
    assert_eq!(hinted.runtime, Runtime::Lxc);
    assert_eq!(hinted.name, "init");
}

#[test]
fn unknown_host_reference_claims_nothing() {
    let root = fixture_root("unknown");
    let procs = vec![process(9001, 1, "sleep", "/", container_ns(9_000_000))];
    let mut blind = host_ns();
    blind.set(NsKind::Pid, None);
    assert!(find_containers(&root, &procs, &blind).is_empty());
}
