//! The gate on a fixture v2 hierarchy (plain files standing for `cpu.stat` and
//! `cgroup.procs`): a quiet cgroup's members wait off its turn, its listing is read once on it,
//! a member missing from it is moved, an urgent member asks for the listing off the turn, and
//! a cgroup whose counter moved gates nothing.

use std::path::Path;

use super::*;
use crate::host::cgroup::{CgroupMode, Hierarchy};
use crate::host::namespace::NsSet;
use crate::host::process::proc_dir::SchedStat;

fn write_cgroup(root: &Path, name: &str, usage: u64, pids: &[i32]) {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("cpu.stat"), format!("usage_usec {usage}\n")).unwrap();
    let procs: String = pids.iter().map(|p| format!("{p}\n")).collect();
    std::fs::write(dir.join("cgroup.procs"), procs).unwrap();
}

fn member(pid: i32, cgroup: &str) -> Arc<Process> {
    let mut p = Process::new(pid, 0, NsSet::default());
    p.threads = 1;
    p.state = 'S';
    p.cgroups = Arc::from([CgroupMembership {
        hierarchy: 0,
        controllers: Vec::new(),
        path: cgroup.into(),
    }]);
    Arc::new(p)
}

#[test]
fn quiet_cgroups_take_turns_and_read_their_listing_once_on_theirs() {
    let tmp = tempfile::tempdir().unwrap();
    write_cgroup(tmp.path(), "a", 100, &[10, 11]);
    write_cgroup(tmp.path(), "b", 200, &[20, 21]);
    let layout = CgroupLayout {
        mode: CgroupMode::V2,
        hierarchies: vec![Hierarchy {
            version: 2,
            controllers: vec!["cpu".into()],
            mount_point: "/sys/fs/cgroup".into(),
            dir: tmp.path().to_path_buf(),
            mount_root: "/".into(),
        }],
    };
    let mut gate = CgroupGate::new(&layout).expect("a gate on the fixture");
    let processes = [
        member(10, "/a"),
        member(11, "/a"),
        member(20, "/b"),
        member(21, "/b"),
    ];
    // Checked on tick 1, counting schedules: the gate may skip them once quiet since then.
    let seen = Some(SchedStat {
        runtime_ns: 5,
        pcount: 3,
    });
    let rates = [ProcessRates::first(1, 1, seen); 4];
    let verdicts = |gate: &mut CgroupGate, tick: u64, urgent: bool| -> Vec<Verdict> {
        gate.prepare(tick, &processes, &rates);
        (0..4)
            .map(|i| gate.verdict(tick, &processes[i], &rates[i], urgent))
            .collect()
    };
    // Tick 1: the counters' first read; nothing is quiet yet.
    assert_eq!(verdicts(&mut gate, 1, false), [Verdict::Open; 4]);
    assert_eq!(gate.reads, 2, "two counters");
    // Tick 2: both quiet; /a (turn 1) waits, /b (turn 0) reads its listing once for both.
    gate.reads = 0;
    let tick2 = verdicts(&mut gate, 2, false);
    assert_eq!(
        tick2,
        [Verdict::Wait, Verdict::Wait, Verdict::Quiet, Verdict::Quiet]
    );
    assert_eq!(gate.reads, 3, "two counters and /b's listing");
    // Tick 3: /a's turn; 11 was moved out of it by someone else meanwhile.
    write_cgroup(tmp.path(), "a", 100, &[10]);
    gate.reads = 0;
    let tick3 = verdicts(&mut gate, 3, false);
    assert_eq!(
        tick3,
        [Verdict::Quiet, Verdict::Moved, Verdict::Wait, Verdict::Wait]
    );
    assert_eq!(gate.reads, 3, "two counters and /a's listing");
    // Tick 4: urgent members (they ran at their last check) read /a's listing off its turn.
    gate.reads = 0;
    let tick4 = verdicts(&mut gate, 4, true);
    assert_eq!(
        tick4,
        [
            Verdict::Quiet,
            Verdict::Moved,
            Verdict::Quiet,
            Verdict::Quiet
        ]
    );
    assert_eq!(gate.reads, 4, "two counters and both listings");
    // Tick 5: /b used CPU: its members are the table's to check.
    write_cgroup(tmp.path(), "b", 250, &[20, 21]);
    let tick5 = verdicts(&mut gate, 5, false);
    assert_eq!(
        tick5,
        [Verdict::Quiet, Verdict::Moved, Verdict::Open, Verdict::Open]
    );
}
