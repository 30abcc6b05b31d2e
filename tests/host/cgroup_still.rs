//! The counters that move only while a cgroup's tasks run, carried between readings of a
//! container's own cgroups while its CPU usage stands (`host::cgroup` `read::still`), on a copy
//! of the hybrid fixture (v1 controllers in hierarchies of their own, as on these machines):
//! - the usage unchanged: `cpuacct.usage_all`'s split and `pids.events` are the last reading's
//!   (their files are not read: changed behind the reading's back, it does not see them), and
//!   `cpu.stat` too where no CPU quota is set; `pids.current` is read every time;
//! - under a quota `cpu.stat` is read (its period timer counts on after the last run);
//! - the usage moved: every file is read again;
//! - the limits due (`KeptLimits::due`): they and the process count are read, the run-only
//!   counters still carried (`cpu.stat` read when a quota read then is set).

use std::fs;
use std::path::{Path, PathBuf};

use isotop::host::HostRoot;
use isotop::host::cgroup::{
    CgroupLayout, CgroupReading, KeptLimits, detect_layout, read_own, read_own_keeping,
};
use isotop::host::process::CgroupMembership;

/// A copy of fixture tree `name` (tests/fixtures/cgroup) in `to`, to write to.
fn copy_fixture(name: &str, to: &Path) {
    let from = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/cgroup")
        .join(name)
        .join(".");
    let copied = std::process::Command::new("cp")
        .arg("-a")
        .arg(&from)
        .arg(to)
        .status()
        .expect("run cp");
    assert!(
        copied.success(),
        "cp -a {} {}",
        from.display(),
        to.display()
    );
}

/// `/isotop/box1` in every hierarchy of `layout`.
fn box1(layout: &CgroupLayout) -> Vec<CgroupMembership> {
    layout
        .hierarchies
        .iter()
        .enumerate()
        .map(|(i, h)| CgroupMembership {
            hierarchy: if h.version == 2 { 0 } else { i as u32 + 1 },
            controllers: if h.version == 2 {
                vec![]
            } else {
                h.controllers.clone()
            },
            path: "/isotop/box1".into(),
        })
        .collect()
}

/// The copy at `tmp` as a host root, its layout, `/isotop/box1`'s memberships and a first
/// (full) reading of them.
fn first_reading(tmp: &Path) -> (HostRoot, CgroupLayout, Vec<CgroupMembership>, CgroupReading) {
    let root = HostRoot::under(tmp);
    let layout = detect_layout(&root).unwrap();
    let own = box1(&layout);
    let first = read_own(&root, &layout, &own).unwrap().unwrap();
    (root, layout, own, first)
}

/// A copy of the hybrid fixture in `tmp`: box1's cpuacct, cpu and pids directories.
fn box1_dirs(tmp: &Path) -> (PathBuf, PathBuf, PathBuf) {
    copy_fixture("hybrid", tmp);
    let cg = tmp.join("sys/fs/cgroup");
    (
        cg.join("cpuacct/isotop/box1"),
        cg.join("cpu/isotop/box1"),
        cg.join("pids/isotop/box1"),
    )
}

fn write(dir: &Path, file: &str, text: &str) {
    fs::write(dir.join(file), text).unwrap();
}

#[test]
fn run_only_counters_are_carried_while_the_usage_stands() {
    let tmp = tempfile::tempdir().unwrap();
    let (cpuacct, cpu, pids) = box1_dirs(tmp.path());
    write(
        &cpuacct,
        "cpuacct.usage_all",
        "cpu user system\n0 150000000 90000000\n",
    );
    write(&pids, "pids.current", "3\n");
    // No CPU quota: its throttling counters move only while the cgroup runs.
    write(&cpu, "cpu.cfs_quota_us", "-1\n");
    let (root, layout, own, first) = first_reading(tmp.path());
    let mut kept = first.kept_limits();
    let read = |kept: &KeptLimits| -> CgroupReading {
        read_own_keeping(&root, &layout, &own, Some(kept), None)
            .unwrap()
            .unwrap()
    };

    // Behind the reading's back (the usage as it was): the kept values, files still named.
    write(&cpuacct, "cpuacct.usage_all", "cpu user system\n0 1 1\n");
    write(
        &cpu,
        "cpu.stat",
        "nr_periods 99\nnr_throttled 98\nthrottled_time 97000\n",
    );
    write(&pids, "pids.events", "max 5\n");
    write(&pids, "pids.current", "4\n");
    let still = read(&kept);
    assert_eq!(still.cpu, first.cpu, "split and throttling carried");
    assert_eq!(
        still.pids.as_ref().unwrap().refused_forks,
        first.pids.as_ref().unwrap().refused_forks
    );
    assert_eq!(
        still.pids.as_ref().unwrap().current,
        Some(4),
        "pids.current is read"
    );
    for field in [
        "cpu.user_usec",
        "cpu.system_usec",
        "cpu.nr_periods",
        "pids.refused_forks",
    ] {
        assert_eq!(
            still.sources.get(field),
            first.sources.get(field),
            "{field}"
        );
    }
    kept.follow_count(&still);

    // The usage moved: read again.
    write(&cpuacct, "cpuacct.usage", "250000000\n");
    let ran = read(&kept);
    let cpu_now = ran.cpu.as_ref().unwrap();
    assert_eq!(cpu_now.usage_usec, Some(250_000));
    assert_eq!((cpu_now.user_usec, cpu_now.system_usec), (Some(0), Some(0)));
    assert_eq!(cpu_now.nr_periods, Some(99));
    assert_eq!(ran.pids.as_ref().unwrap().refused_forks, Some(5));
    kept.follow_count(&ran);

    // Standing again at the new usage: the new values carried.
    write(&pids, "pids.events", "max 6\n");
    let again = read(&kept);
    assert_eq!(again.cpu, ran.cpu);
    assert_eq!(again.pids.as_ref().unwrap().refused_forks, Some(5));
}

#[test]
fn under_a_cpu_quota_the_throttling_counters_are_read_while_the_usage_stands() {
    let tmp = tempfile::tempdir().unwrap();
    copy_fixture("hybrid", tmp.path());
    let cpu = tmp.path().join("sys/fs/cgroup/cpu/isotop/box1");
    // The fixture's box1 has a quota (0.2 CPUs).
    let (root, layout, own, first) = first_reading(tmp.path());
    assert!(first.limits.cpu_limit_cpus().is_some());
    let kept = first.kept_limits();
    write(
        &cpu,
        "cpu.stat",
        "nr_periods 13\nnr_throttled 11\nthrottled_time 880000000\n",
    );
    let later = read_own_keeping(&root, &layout, &own, Some(&kept), None)
        .unwrap()
        .unwrap();
    assert_eq!(
        later.cpu.as_ref().unwrap().nr_periods,
        Some(13),
        "read, not carried"
    );
}

#[test]
fn a_reading_whose_limits_are_due_reads_them_and_the_count_and_still_carries_the_rest() {
    let tmp = tempfile::tempdir().unwrap();
    let (cpuacct, cpu, pids) = box1_dirs(tmp.path());
    write(&cpu, "cpu.cfs_quota_us", "-1\n");
    let (root, layout, own, first) = first_reading(tmp.path());
    let kept = first.kept_limits();
    assert_ne!(first.nprocs, 0, "the fixture's box1 holds a process");

    // Behind its back: limits written, a process moved into a child (the count changes,
    // pids.current does not), and run-only counters changed at the same usage.
    write(&pids, "pids.max", "77\n");
    write(&cpu, "cpu.shares", "512\n");
    for hierarchy in fs::read_dir(tmp.path().join("sys/fs/cgroup")).unwrap() {
        let procs = hierarchy.unwrap().path().join("isotop/box1/cgroup.procs");
        if procs.exists() {
            fs::write(procs, "").unwrap();
        }
    }
    write(&cpuacct, "cpuacct.usage_all", "cpu user system\n0 1 1\n");
    write(&pids, "pids.events", "max 5\n");
    write(
        &cpu,
        "cpu.stat",
        "nr_periods 99\nnr_throttled 0\nthrottled_time 0\n",
    );
    let due = read_own_keeping(&root, &layout, &own, Some(&kept.clone().due()), None)
        .unwrap()
        .unwrap();
    assert_eq!(
        due.limits.pids_max,
        Some(isotop::host::cgroup::Limit::Value(77))
    );
    assert_eq!(due.limits.cpu_shares, Some(512));
    assert_eq!(due.nprocs, 0, "the count is read with the limits");
    assert_eq!(due.cpu, first.cpu, "split and throttling still carried");
    assert_eq!(
        due.pids.as_ref().unwrap().refused_forks,
        first.pids.as_ref().unwrap().refused_forks
    );
    // Carried, the same reading keeps the old limits.
    let carried = read_own_keeping(&root, &layout, &own, Some(&kept), None)
        .unwrap()
        .unwrap();
    assert_eq!(carried.limits, first.limits);

    // A quota written since: read with the limits, it makes cpu.stat read too.
    write(&cpu, "cpu.cfs_quota_us", "50000\n");
    let quota = read_own_keeping(&root, &layout, &own, Some(&kept.due()), None)
        .unwrap()
        .unwrap();
    assert!(quota.limits.cpu_limit_cpus().is_some());
    assert_eq!(quota.cpu.as_ref().unwrap().nr_periods, Some(99), "read");
    assert_eq!(
        quota.cpu.as_ref().unwrap().user_usec,
        first.cpu.as_ref().unwrap().user_usec,
        "the split still carried"
    );
}
