//! What the sampler carries between ticks to measure containers cheaply, on real cgroups and
//! namespaces (root), and that each carried thing is let go when it must be:
//! - a container's own cgroup limits are read on a cadence: a `pids.max` written by someone
//!   else shows within `LIMITS_EVERY` ticks; one written by isotop (its audit log grows) shows
//!   the very next tick; one that bites (forks refused at a `pids.max` the carried limits call
//!   unset) is read again the tick it bites, so no frame pairs the bite with "no limit";
//! - each container network's `/proc/<pid>/net/dev` is kept open (`host::net::KeptNetDev`): the
//!   file is closed (this process's descriptors counted) once its namespace is no longer read,
//!   and a process that moved to another network namespace is read from the new one.

use crate::support::common::{self, CgroupGuard, ChildGuard};
use crate::support::netns::{Netns, handles_where, tools_present};
use crate::support::sampling::eager_options;

use std::process::{Command, Stdio};
use std::time::Duration;

use isotop::host::HostRoot;
use isotop::host::cgroup::Limit;
use isotop::host::net::KeptNetDev;
use isotop::sample::containers::LIMITS_EVERY;
use isotop::sample::{Frame, Sampler};

/// The container's `pids.max` as the frame shows it.
fn pids_limit(frame: &Frame, id: &str) -> Option<Limit<u64>> {
    frame
        .containers
        .iter()
        .find(|c| c.view.container.id == id)
        .and_then(|c| c.pids_limit)
}

/// Ticks (at most `most`) until the container shows `pids.max` = `value`; how many it took.
fn ticks_until_limit(sampler: &mut Sampler, id: &str, value: u64, most: u64) -> Option<u64> {
    (1..=most).find(|_| {
        std::thread::sleep(Duration::from_millis(50));
        pids_limit(&sampler.tick().unwrap(), id) == Some(Limit::Value(value))
    })
}

#[test]
#[ignore = "needs root"]
fn limits_are_read_on_a_cadence_and_at_once_after_an_audited_act() {
    let guard = CgroupGuard::new("sample-measure");
    let id: String = std::iter::repeat_n('d', 64).collect();
    let child = format!("kubepods/pod{}-7b7b/{id}", std::process::id());
    guard.child(&child);
    let init = ChildGuard::sleeping();
    guard.add_pid(&child, init.pid());
    let pids_max = guard.dir("pids", &child).join("pids.max");
    std::fs::write(&pids_max, "50").unwrap();

    let state = tempfile::tempdir().unwrap();
    let audit = state.path().join("audit.jsonl");
    std::fs::write(&audit, "").unwrap();
    let mut sampler = Sampler::with_options(HostRoot::live(), eager_options());
    sampler.set_audit_log(audit.clone());
    let seen = common::wait_until(Duration::from_secs(30), || {
        pids_limit(&sampler.tick().unwrap(), &id) == Some(Limit::Value(50))
    });
    assert!(seen, "container {id} with its own pids.max never sampled");

    // Written by someone else: seen within the cadence (every container's limits are due
    // once in LIMITS_EVERY ticks).
    std::fs::write(&pids_max, "60").unwrap();
    let took = ticks_until_limit(&mut sampler, &id, 60, LIMITS_EVERY);
    assert!(
        took.is_some(),
        "pids.max 60 not shown within {LIMITS_EVERY} ticks"
    );
    // Written by isotop (its audit log grows a moment after): seen the next tick, whatever
    // the cadence. Twice, so that at least one write falls between two due ticks.
    for value in [70, 80] {
        std::fs::write(&pids_max, value.to_string()).unwrap();
        std::fs::write(&audit, format!("{{\"act\":\"limit\",\"value\":{value}}}\n")).unwrap();
        let took = ticks_until_limit(&mut sampler, &id, value, 1);
        assert_eq!(took, Some(1), "pids.max {value} after an audited act");
    }
}

/// The container's `pids.max` and forks refused at it, as the frame shows them.
fn pids_figures(frame: &Frame, id: &str) -> (Option<Limit<u64>>, Option<u64>) {
    frame
        .containers
        .iter()
        .find(|c| c.view.container.id == id)
        .map_or((None, None), |c| {
            (c.pids_limit, c.kernel.pids_refused_forks)
        })
}

#[test]
#[ignore = "needs root"]
fn a_limit_written_behind_isotops_back_is_read_the_tick_it_bites() {
    if !common::require_program("perl") {
        return;
    }
    let guard = CgroupGuard::new("sample-bites");
    let id: String = std::iter::repeat_n('e', 64).collect();
    let child = format!("kubepods/pod{}-7c7c/{id}", std::process::id());
    guard.child(&child);
    // A process that forks a child every 50 ms, forever, and lives on when a fork is refused
    // (a shell would give up): at pids.max 1 every fork is refused.
    let forks = "$|=1; while (1) { my $p = fork; if (defined $p) { exit 0 if !$p; waitpid($p, 0) } select(undef, undef, undef, 0.05) }";
    let init = ChildGuard::spawn(
        Command::new("perl")
            .args(["-e", forks])
            .stdin(Stdio::null())
            .stdout(Stdio::null()),
    );
    guard.add_pid(&child, init.pid());
    let pids_max = guard.dir("pids", &child).join("pids.max");
    std::fs::write(&pids_max, "max").unwrap();

    let mut sampler = Sampler::with_options(HostRoot::live(), eager_options());
    let seen = common::wait_until(Duration::from_secs(30), || {
        pids_figures(&sampler.tick().unwrap(), &id).0 == Some(Limit::Max)
    });
    assert!(seen, "container {id} without a pids limit never sampled");
    // Three rounds, each written after a tick at some place in the cadence: without the
    // re-read, a round whose next tick is not due shows refused forks beside "max".
    for round in 0..3 {
        let before = pids_figures(&sampler.tick().unwrap(), &id).1.unwrap_or(0);
        std::fs::write(&pids_max, "1").unwrap();
        let mut bitten = false;
        for _ in 0..(2 * LIMITS_EVERY) {
            std::thread::sleep(Duration::from_millis(300));
            let (limit, refused) = pids_figures(&sampler.tick().unwrap(), &id);
            if refused.unwrap_or(0) > before {
                assert_eq!(
                    limit,
                    Some(Limit::Value(1)),
                    "round {round}: refused forks beside {limit:?}"
                );
                bitten = true;
                break;
            }
        }
        assert!(bitten, "round {round}: no fork refused at pids.max 1");
        // Lifted: seen on the cadence; a tick or two more puts the next write elsewhere in it.
        std::fs::write(&pids_max, "max").unwrap();
        let took = (1..=LIMITS_EVERY + 1 + round)
            .find(|_| pids_figures(&sampler.tick().unwrap(), &id).0 == Some(Limit::Max));
        assert!(took.is_some(), "round {round}: the lifted limit not shown");
    }
}

/// Descriptors this process has open on `/proc/<pid>/net/dev` (other tests of this binary run
/// beside this one and open files of their own).
fn open_net_dev(pid: i32) -> usize {
    let file = format!("/proc/{pid}/net/dev");
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|entry| std::fs::read_link(entry.ok()?.path()).ok())
        .filter(|target| target.to_string_lossy() == file)
        .count()
}

/// Interface names of the first reading of `inode` by `kept`.
fn names_read(kept: &mut KeptNetDev, inode: u64) -> Vec<String> {
    let handles = handles_where(|h| h.inode == inode);
    assert_eq!(handles.len(), 1, "namespace {inode} has a process");
    let read = kept.read(&HostRoot::live(), &handles);
    assert!(read.notes.is_empty(), "{:?}", read.notes);
    let reading = read.namespaces.iter().find(|n| n.inode == inode).unwrap();
    reading.interfaces.iter().map(|i| i.name.clone()).collect()
}

#[test]
#[ignore = "needs root"]
fn kept_net_dev_files_follow_their_namespace_and_are_closed_when_it_goes() {
    if !tools_present() {
        return;
    }
    let mut a = Netns::add("kept-a");
    let b = Netns::add("kept-b");
    // One end of a veth pair in each: a has `in-a`, b has `in-b`.
    a.ip(&[
        "link", "add", "in-a", "type", "veth", "peer", "name", "in-b", "netns", &b.name,
    ]);
    // A process in a that moves itself to b after a while (nsenter joins, then execs sleep:
    // the same pid, another namespace).
    let script = format!(
        "sleep 3; exec nsenter --net={} sleep 1000",
        b.path().display()
    );
    let pid = a.hold(&["sh", "-c", &script]);

    let mut kept = KeptNetDev::with_budget(16);
    assert_eq!(open_net_dev(pid), 0);
    let names = names_read(&mut kept, a.inode());
    assert!(names.contains(&"in-a".to_string()), "{names:?}");
    assert_eq!(kept.kept(), 1);
    assert_eq!(open_net_dev(pid), 1, "one file kept open");
    // Read again through the kept file: the same namespace.
    let names = names_read(&mut kept, a.inode());
    assert!(names.contains(&"in-a".to_string()), "{names:?}");
    assert_eq!(open_net_dev(pid), 1);

    let expected = format!("net:[{}]", b.inode());
    let moved = common::wait_until(Duration::from_secs(10), || {
        std::fs::read_link(format!("/proc/{pid}/ns/net"))
            .is_ok_and(|t| t.to_string_lossy() == expected)
    });
    assert!(moved, "pid {pid} never moved to {}", b.name);
    // Now it is b's: read from b (a's file, bound to a, closed: a is not asked for).
    let names = names_read(&mut kept, b.inode());
    assert!(names.contains(&"in-b".to_string()), "{names:?}");
    assert!(!names.contains(&"in-a".to_string()), "{names:?}");
    assert_eq!(kept.kept(), 1);
    assert_eq!(open_net_dev(pid), 1, "a's file closed, b's kept");

    // The namespace is no longer read (its container went): its file is closed.
    let read = kept.read(&HostRoot::live(), &[]);
    assert!(read.namespaces.is_empty());
    assert_eq!(kept.kept(), 0);
    assert_eq!(open_net_dev(pid), 0, "every kept file closed");
    a.release();
}
