//! Process counts of the sampler's cgroup tree on this real host (v1 or hybrid): a test cgroup
//! crowded enough that its count is derived (the host's processes less every other cgroup's
//! count, `sample::cgroups`) shows what its `cgroup.procs` lists; a process moved by another
//! process (`echo PID > cgroup.procs`) counts in its new cgroup, and no longer in its old one,
//! at the next read; a cgroup made or removed appears or goes at the next read. Needs root;
//! cleans up with drop guards (tests/shared/common.rs) even when an assertion fails.

use crate::support::common;

use foldhash::HashMap;
use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{CgroupGuard, ChildGuard};
use isotop::host::HostRoot;
use isotop::host::cgroup::{
    CgroupLayout, CgroupMode, CgroupNode, CountPlan, detect_layout, read_tree_counted,
};
use isotop::sample::ProcessTable;
use isotop::sample::cgroups::{CgroupSampler, DERIVE_FROM};

/// Processes in the crowded test cgroup: past the derivation threshold and more than the
/// host's root cgroups hold here, so it is the most crowded of its hierarchies.
const CROWD: usize = DERIVE_FROM + 400;

fn v1_layout() -> Option<CgroupLayout> {
    let layout = detect_layout(&HostRoot::live()).unwrap();
    if layout.mode == CgroupMode::V2 {
        eprintln!(
            "skipping {}: written for v1/hybrid hosts",
            common::test_name()
        );
        return None;
    }
    Some(layout)
}

/// Lines of a `cgroup.procs`.
fn listed(dir: &Path) -> usize {
    fs::read_to_string(dir.join("cgroup.procs"))
        .unwrap()
        .lines()
        .count()
}

/// The sampler's table and the tree, read together as a tick reads them: the tree with the
/// counts of `derive` derived (`read_tree_counted`, as the sampler asks for its most crowded
/// cgroups: the host may hold more crowded ones than the test's while it runs) or, through
/// the sampler, with the ones it picks.
struct Reader {
    root: HostRoot,
    layout: CgroupLayout,
    table: ProcessTable,
    cgroups: CgroupSampler,
}

impl Reader {
    fn new(layout: CgroupLayout) -> Reader {
        Reader {
            root: HostRoot::live(),
            layout,
            table: ProcessTable::new(300),
            cgroups: CgroupSampler::default(),
        }
    }

    fn processes(&mut self) -> usize {
        let refresh = self.table.refresh(&self.root, None, 100).unwrap();
        assert_eq!(refresh.denied, 0, "root reads every process");
        self.table.processes().len()
    }

    /// One tick's table and tree through the sampler: each cgroup path's process count.
    fn read(&mut self) -> HashMap<String, usize> {
        let processes = Some(self.processes());
        let mut warnings = Vec::new();
        self.cgroups
            .read(
                &self.root,
                &self.layout,
                &HashMap::default(),
                processes,
                &mut warnings,
            )
            .iter()
            .map(|c| (c.path.clone(), c.reading.nprocs))
            .collect()
    }

    /// One tick's table and the tree with `derive`'s count derived wherever it is counted,
    /// from the table's count plus `extra` (a wrong count shows the figure is derived).
    fn read_deriving(&mut self, derive: &str, extra: usize) -> HashMap<String, usize> {
        let plan = CountPlan {
            processes: self.processes() + extra,
            derive: vec![Some(derive.to_string()); self.layout.hierarchies.len()],
        };
        let counted = read_tree_counted(&self.root, &self.layout, Some(&plan)).unwrap();
        let mut counts = HashMap::default();
        let mut stack: Vec<CgroupNode> = counted.tree.into_iter().collect();
        while let Some(node) = stack.pop() {
            counts.insert(node.path, node.reading.nprocs);
            stack.extend(node.children);
        }
        counts
    }
}

/// The host's pids now (a read is quiet when they are the same before and after it).
fn pids_now() -> Vec<i32> {
    let mut pids: Vec<i32> = fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    pids.sort_unstable();
    pids
}

/// Retries `check` over fresh reads for up to 60 s: other work on the host (the other tests
/// of the suite) starts and ends processes between the table's count and the tree's reads,
/// and a derived count is then off by them; one read must agree, and a derivation that is
/// wrong never does. The message says how many reads were quiet (no process came or went
/// around them), so a failure among quiet reads is told from a host that was never quiet.
fn agrees_once(
    mut read: impl FnMut() -> HashMap<String, usize>,
    mut check: impl FnMut(&HashMap<String, usize>) -> bool,
) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let (mut tries, mut quiet) = (0, 0);
    while std::time::Instant::now() < deadline {
        let before = pids_now();
        let agreed = check(&read());
        if agreed {
            return;
        }
        tries += 1;
        quiet += usize::from(pids_now() == before);
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("no read agreed with the kernel's cgroup.procs in {tries} tries ({quiet} quiet)");
}

/// A crowd of sleepers in `guard`'s `crowd` child (a shell put there first, so they are born
/// there), and the shell.
fn start_crowd(guard: &CgroupGuard) -> ChildGuard {
    let shell = ChildGuard::spawn(
        Command::new("sh")
            .args([
                "-c",
                &format!(
                    "read go; i=0; while [ $i -lt {} ]; do sleep 1000 & i=$((i+1)); done; wait",
                    CROWD - 1
                ),
            ])
            .stdin(std::process::Stdio::piped()),
    );
    guard.add_pid("crowd", shell.pid());
    shell
}

#[test]
#[ignore = "needs root"]
fn a_crowded_cgroups_derived_count_is_what_its_cgroup_procs_lists() {
    let Some(layout) = v1_layout() else { return };
    let guard = CgroupGuard::new("counts");
    let crowd = guard.child("crowd");
    let few = guard.child("few");
    let mut shell = start_crowd(&guard);
    use std::io::Write;
    shell.0.stdin.take().unwrap().write_all(b"go\n").unwrap();
    let pids_dir = guard.dir("pids", "crowd");
    assert!(
        common::wait_until(Duration::from_secs(30), || listed(&pids_dir) == CROWD),
        "the crowd did not gather"
    );
    let mut reader = Reader::new(layout);
    agrees_once(
        || reader.read_deriving(&crowd, 0),
        |counts| counts.get(&crowd) == Some(&listed(&pids_dir)) && counts.get(&few) == Some(&0),
    );
    // Derived, not read: a host count 1,000 too high shows in the crowd's count only.
    agrees_once(
        || reader.read_deriving(&crowd, 1000),
        |counts| counts.get(&crowd) == Some(&(listed(&pids_dir) + 1000)),
    );
    // The sampler derives the count of the most crowded cgroup of each hierarchy it read.
    let counts = reader.read();
    let busiest = counts
        .iter()
        .filter(|(path, _)| !reader.cgroups.derived().any(|d| d == path.as_str()))
        .map(|(_, n)| *n)
        .max();
    assert!(
        reader.cgroups.derived().next().is_some() && busiest < counts.values().max().copied(),
        "the most crowded cgroup is derived: {:?}",
        reader.cgroups.derived().collect::<Vec<_>>()
    );

    // Moved by another process while it sleeps: counted in its new cgroup, no longer in the
    // crowd (whose count is the derived one), at the next read.
    let moved = fs::read_to_string(pids_dir.join("cgroup.procs"))
        .unwrap()
        .lines()
        .last()
        .unwrap()
        .to_string();
    let status = Command::new("sh")
        .args([
            "-c",
            &format!(
                "echo {moved} > {}",
                guard.dir("pids", "few").join("cgroup.procs").display()
            ),
        ])
        .status()
        .unwrap();
    assert!(status.success());
    agrees_once(
        || reader.read_deriving(&crowd, 0),
        |counts| counts.get(&crowd) == Some(&(CROWD - 1)) && counts.get(&few) == Some(&1),
    );
}

#[test]
#[ignore = "needs root"]
fn a_cgroup_made_or_removed_shows_at_the_next_read() {
    let Some(layout) = v1_layout() else { return };
    let guard = CgroupGuard::new("appear");
    let mut reader = Reader::new(layout);
    assert!(reader.read().contains_key(&guard.rel));
    let fresh = guard.child("fresh");
    assert!(
        reader.read().contains_key(&fresh),
        "made: shown at the next read"
    );
    for dir in &guard.dirs {
        fs::remove_dir(dir.join("fresh")).unwrap();
    }
    assert!(
        !reader.read().contains_key(&fresh),
        "removed: gone at the next read"
    );
}
