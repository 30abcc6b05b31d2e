//! The process table's periodic re-read on the live host (root: a test cgroup, `setuid`): a
//! process asleep since its last full read has its cgroups alone read again, and a move someone
//! else made is seen within one period; one that ran since has everything read again, so a
//! change only a running process can make (here its owner, by `setuid`) is seen within one
//! period too.

use crate::support::common::{self, CgroupGuard, ChildGuard};
use crate::support::scripted::Scripted;

use std::time::Duration;

use isotop::host::HostRoot;
use isotop::host::process::Process;
use isotop::sample::ProcessTable;

/// Ticks between two periodic re-reads of a process.
const PERIOD: u64 = 4;
/// Refreshes that take a process past its young re-reads and through one periodic read.
const SETTLE: u64 = 3 + PERIOD + 1;

/// Waits for a line, becomes user 65534 (and dumpable again: a changed euid makes it
/// undumpable, its `/proc/PID` root's), says `done`, waits again. x86_64 prctl is 157,
/// PR_SET_DUMPABLE 4.
const SETUID: &str = r#"$| = 1; print "ready\n"; <STDIN>;
$> = 65534; $> == 65534 or die "seteuid: $!"; syscall(157, 4, 1, 0, 0, 0) == 0 or die "prctl: $!";
print "done\n"; <STDIN>;"#;

fn process(table: &ProcessTable, pid: i32) -> &Process {
    let i = table.index_of(pid).expect("listed");
    &table.processes()[i]
}

fn refresh(table: &mut ProcessTable) -> isotop::sample::processes::RefreshSummary {
    std::thread::sleep(Duration::from_millis(20));
    table
        .refresh(&HostRoot::live(), Some(20_000), 100)
        .expect("refresh")
}

#[test]
#[ignore = "needs root"]
fn a_sleeper_moved_by_someone_else_is_seen_within_a_period_by_its_cgroups_alone() {
    let mut table = ProcessTable::new(PERIOD);
    let child = ChildGuard::sleeping();
    let pid = child.pid();
    assert!(common::wait_until(Duration::from_secs(5), || {
        std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c == "sleep\n")
    }));
    for _ in 0..SETTLE {
        refresh(&mut table);
    }
    let i = table.index_of(pid).expect("listed");
    assert!(
        !table.rates()[i].ran_since_full_read(),
        "a sleeper has not run since its last full read: its periodic read is of its cgroups"
    );
    let guard = CgroupGuard::new("reread");
    let moved_to = guard.child("box");
    guard.add_pid("box", pid);
    let mut lean_reads = 0;
    let seen = (1..=PERIOD).find(|_| {
        lean_reads += refresh(&mut table).memberships_reads;
        process(&table, pid)
            .cgroups
            .iter()
            .any(|m| m.path == moved_to)
    });
    assert!(
        seen.is_some(),
        "the move to {moved_to} not seen within {PERIOD} refreshes: {:?}",
        process(&table, pid).cgroups
    );
    assert!(lean_reads > 0, "no process had its cgroups alone read");
    // Nothing else of it was touched.
    let p = process(&table, pid);
    assert_eq!(p.cmdline, ["sleep", "1000"]);
    assert_eq!(p.uid, 0);
}

#[test]
#[ignore = "needs root"]
fn a_process_that_ran_since_its_last_full_read_is_read_in_full_within_a_period() {
    if !cfg!(target_arch = "x86_64") {
        eprintln!("skipped: the perl script calls prctl by its x86_64 syscall number");
        return;
    }
    let mut table = ProcessTable::new(PERIOD);
    let mut child = Scripted::perl(SETUID);
    let pid = child.pid();
    for _ in 0..SETTLE {
        refresh(&mut table);
    }
    assert_eq!(process(&table, pid).uid, 0);
    assert_eq!(child.ask("go"), "done");
    // Two refreshes for its check to see it ran, one period for its turn.
    let seen = (1..=PERIOD + 2).find(|_| {
        refresh(&mut table);
        process(&table, pid).uid == 65534
    });
    assert!(
        seen.is_some(),
        "its owner still {} after {} refreshes",
        process(&table, pid).uid,
        PERIOD + 2
    );
}
