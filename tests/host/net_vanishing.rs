//! Reading networks that change under the reader: interfaces created and deleted while their
//! namespace is dumped, namespaces whose only process exits before or during the walk. Each
//! becomes a note or a smaller reading, never an error or a panic.

use crate::support::common::{self, ChildGuard};
use crate::support::netns::{Netns, handles_where, ip_batch, tools_present};

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use isotop::host::HostRoot;
use isotop::host::net::{self, CounterSource};

#[test]
#[ignore = "needs root"]
fn interfaces_deleted_while_the_namespace_is_read() {
    if !tools_present() {
        return;
    }
    let netns = Netns::add("net-churn");
    let inode = netns.inode();
    let handles = handles_where(|h| h.inode == inode);
    let stop = AtomicBool::new(false);
    let root = HostRoot::live();
    std::thread::scope(|scope| {
        // 30 veth pairs with addresses made and deleted, over and over, while the reads run
        // (veth, not dummy: the test VM's kernel loads the veth module, not dummy's).
        let churn = scope.spawn(|| {
            let mut rounds = 0;
            while !stop.load(Ordering::Relaxed) {
                let mut make = Vec::new();
                let mut remove = Vec::new();
                for i in 0..30 {
                    make.push(format!("link add d{i} type veth peer name e{i}"));
                    make.push(format!("address add 10.216.{i}.1/24 dev d{i}"));
                    make.push(format!("link set d{i} up"));
                    remove.push(format!("link delete d{i}"));
                }
                ip_batch(Some(&netns.name), &make);
                ip_batch(Some(&netns.name), &remove);
                rounds += 1;
            }
            rounds
        });
        let deadline = Instant::now() + Duration::from_secs(3);
        let mut reads = 0;
        while Instant::now() < deadline || reads < 20 {
            let full = net::read_full(&root, &handles);
            assert_eq!(full.namespaces.len(), 1, "{:?}", full.notes);
            let reading = &full.namespaces[0];
            assert!(reading.interfaces.iter().any(|i| i.name == "lo"));
            for route in &reading.routes {
                if let Some(index) = route.ifindex {
                    // A route's device is named only from the same read's interfaces.
                    assert_eq!(
                        route.device.is_some(),
                        reading.interface(index).is_some(),
                        "{route:?}"
                    );
                }
            }
            for note in &full.notes {
                assert!(note.contains(&inode.to_string()), "{note}");
            }
            for source in [CounterSource::NetlinkStats, CounterSource::NetlinkLinks] {
                let ticks = net::read_counters_from(&root, &handles, source);
                assert_eq!(ticks.namespaces.len(), 1, "{:?}", ticks.notes);
            }
            reads += 1;
        }
        stop.store(true, Ordering::Relaxed);
        let rounds = churn.join().expect("the churn thread ends");
        assert!(
            rounds > 0 && reads >= 20,
            "{rounds} churn rounds, {reads} reads"
        );
    });
}

/// `unshare --net sleep 1000`: a process alone in a new network namespace no mount holds.
fn lone_namespace() -> (ChildGuard, u64) {
    let child = ChildGuard::spawn(
        Command::new("unshare")
            .args(["--net", "sleep", "1000"])
            .stdin(Stdio::null()),
    );
    let own = std::fs::read_link("/proc/self/ns/net").unwrap();
    let pid = child.pid();
    let mut inode = None;
    let moved = common::wait_until(Duration::from_secs(10), || {
        let link = std::fs::read_link(format!("/proc/{pid}/ns/net"));
        if let Ok(link) = link
            && link != own
        {
            inode = isotop::host::namespace::parse_ns_link(&link.to_string_lossy()).map(|n| n.1);
        }
        inode.is_some()
    });
    assert!(moved, "unshare {pid} never left our namespace");
    (child, inode.unwrap())
}

#[test]
#[ignore = "needs root"]
fn namespaces_whose_process_exits_before_or_during_the_walk_are_notes() {
    if !common::require_program("unshare") {
        return;
    }
    let mut held: Vec<(ChildGuard, u64)> = (0..24).map(|_| lone_namespace()).collect();
    let inodes: Vec<u64> = held.iter().map(|h| h.1).collect();
    let handles = handles_where(|h| inodes.contains(&h.inode));
    assert_eq!(handles.len(), inodes.len());
    let root = HostRoot::live();

    // Before: the last 8 processes exit (killed and reaped) after the listing.
    let gone: Vec<u64> = held
        .drain(16..)
        .map(|(child, inode)| {
            drop(child);
            inode
        })
        .collect();
    for read in [
        net::read_full(&root, &handles).notes,
        net::read_counters(&root, &handles).notes,
    ] {
        assert_eq!(
            read.len(),
            gone.len(),
            "one note per gone namespace: {read:?}"
        );
        for inode in &gone {
            assert!(
                read.iter()
                    .any(|n| n.contains(&inode.to_string()) && n.contains("gone")),
                "no note for {inode}: {read:?}"
            );
        }
    }
    let full = net::read_full(&root, &handles);
    assert_eq!(full.namespaces.len(), 16);

    // During: the other 16 exit while walks run; every namespace is either read or a note.
    std::thread::scope(|scope| {
        let reader = scope.spawn(|| {
            let mut walks = Vec::new();
            for _ in 0..40 {
                let full = net::read_full(&root, &handles);
                let ticks = net::read_counters(&root, &handles);
                walks.push((
                    full.namespaces.len() + full.notes.len(),
                    ticks.namespaces.len() + ticks.notes.len(),
                ));
            }
            walks
        });
        for (child, _) in held.drain(..) {
            drop(child);
            std::thread::sleep(Duration::from_millis(5));
        }
        for (full, ticks) in reader.join().expect("the reader thread ends") {
            assert_eq!(full, handles.len());
            assert_eq!(ticks, handles.len());
        }
    });
    let after = net::read_full(&root, &handles);
    assert!(after.namespaces.is_empty());
    assert_eq!(after.notes.len(), handles.len(), "{:?}", after.notes);
}
