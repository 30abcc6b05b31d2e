//! The cgroup readers on this real host (hybrid or v1): a test cgroup with a CPU quota, shares,
//! a memory limit and a pids limit runs a busy loop; every figure isotop reads is compared with
//! the kernel file read directly here, and `isotop cgroups --json` with the same files.
//! Needs root; cleans up with drop guards (tests/shared/common.rs) even when an assertion fails.

use crate::support::common;

use common::{read_key as key, read_number as number, read_text as text};

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::{CgroupGuard, ChildGuard};
use isotop::host::HostRoot;
use isotop::host::cgroup::{
    CgroupLayout, CgroupMode, FreezerState, Limit, detect_layout, read_at, read_for_memberships,
    read_tree,
};
use isotop::host::process::{ReadDepth, read_process};

/// A v1 or hybrid host (where these tests know the files); otherwise prints why it skips.
fn v1_layout() -> Option<CgroupLayout> {
    let test = common::test_name();
    let layout = detect_layout(&HostRoot::live()).unwrap();
    if layout.mode == CgroupMode::V2 {
        eprintln!(
            "skipping {test}: written for v1/hybrid hosts (on v2, tests/host/v2_cgroups.rs covers it: vm/run-tests.sh)"
        );
        return None;
    }
    Some(layout)
}

/// Thaws a v1 freezer cgroup on drop, so a failed assertion never leaves tasks frozen (the
/// cgroup guard thaws only its own top directory). Declared after the guard: dropped first.
struct ThawOnDrop(PathBuf);

impl Drop for ThawOnDrop {
    fn drop(&mut self) {
        let _ = fs::write(self.0.join("freezer.state"), "THAWED");
    }
}

/// A test cgroup `box` with a 0.2-CPU quota, shares 256, a 100 MiB memory limit and pids.max 16,
/// running a busy loop that has been throttled at least once.
struct Busy {
    guard: CgroupGuard,
    rel: String,
    child: ChildGuard,
}

fn start_busy(what: &str) -> Busy {
    let guard = CgroupGuard::new(what);
    let rel = guard.child("box");
    let cpu = guard.dir("cpu", "box");
    fs::write(cpu.join("cpu.cfs_period_us"), "100000").unwrap();
    fs::write(cpu.join("cpu.cfs_quota_us"), "20000").unwrap();
    fs::write(cpu.join("cpu.shares"), "256").unwrap();
    fs::write(
        guard.dir("memory", "box").join("memory.limit_in_bytes"),
        "104857600",
    )
    .unwrap();
    fs::write(guard.dir("pids", "box").join("pids.max"), "16").unwrap();
    // A new v1 cpuset has no CPUs or memory nodes: tasks cannot join until it has some.
    let cpuset_root = Path::new("/sys/fs/cgroup/cpuset");
    for sub in ["", "box"] {
        let dir = guard.dir("cpuset", sub);
        for file in ["cpuset.cpus", "cpuset.mems"] {
            fs::write(dir.join(file), text(&cpuset_root.join(file))).unwrap();
        }
    }
    let child = ChildGuard::spawn(Command::new("sh").args(["-c", "while :; do :; done"]));
    guard.add_pid("box", child.pid());
    let stat = cpu.join("cpu.stat");
    assert!(
        common::wait_until(Duration::from_secs(20), || key(&stat, "nr_throttled") > 0),
        "the busy loop was never throttled under a 0.2 CPU quota"
    );
    Busy { guard, rel, child }
}

#[test]
fn live_layout_matches_mountinfo_and_own_memberships() {
    let root = HostRoot::live();
    let layout = detect_layout(&root).unwrap();
    let mountinfo = text(Path::new("/proc/self/mountinfo"));
    let mut v1_points = Vec::new();
    let mut v2_points = Vec::new();
    for line in mountinfo.lines() {
        let (left, right) = line.split_once(" - ").unwrap();
        let mount_point = left.split(' ').nth(4).unwrap();
        match right.split(' ').next().unwrap() {
            "cgroup" => v1_points.push(PathBuf::from(mount_point)),
            "cgroup2" => v2_points.push(PathBuf::from(mount_point)),
            _ => {}
        }
    }
    let expected_mode = match (v1_points.is_empty(), v2_points.is_empty()) {
        (false, false) => CgroupMode::Hybrid,
        (false, true) => CgroupMode::V1,
        _ => CgroupMode::V2,
    };
    assert_eq!(layout.mode, expected_mode);
    for h in &layout.hierarchies {
        let points = if h.version == 1 {
            &v1_points
        } else {
            &v2_points
        };
        assert!(
            points.contains(&h.mount_point),
            "{}",
            h.mount_point.display()
        );
        assert_eq!(h.dir, h.mount_point);
    }
    // One hierarchy per superblock: here each v1 controller is mounted once.
    assert_eq!(
        layout.hierarchies.len(),
        v1_points.len() + v2_points.len().min(1)
    );
    // Every line of our own /proc/self/cgroup maps to a hierarchy carrying its controllers.
    let me = read_process(&root, std::process::id() as i32, ReadDepth::Full)
        .unwrap()
        .unwrap();
    assert!(!me.cgroups.is_empty());
    for m in me.cgroups.iter() {
        let h = layout
            .hierarchy_for(m)
            .unwrap_or_else(|| panic!("no hierarchy for {m:?}"));
        if m.hierarchy == 0 {
            assert_eq!(h.version, 2);
        } else {
            assert!(m.controllers.iter().all(|c| h.carries(c)), "{m:?} -> {h:?}");
            assert!(h.cgroup_dir(&m.path).unwrap().is_dir());
        }
    }
    // Our own cgroup reads; its memory limit is the memory hierarchy's file at our path.
    let mine = read_for_memberships(&root, &layout, &me.cgroups)
        .unwrap()
        .unwrap();
    if let Some(memory) = layout.v1_carrying("memory") {
        let path = me.cgroup_path(Some("memory")).unwrap();
        let limit = number(
            &memory
                .cgroup_dir(path)
                .unwrap()
                .join("memory.limit_in_bytes"),
        );
        let expected = if limit >= 9_223_372_036_854_771_712 {
            Limit::Max
        } else {
            Limit::Value(limit)
        };
        assert_eq!(mine.limits.memory_max_bytes, Some(expected));
    }
}

#[test]
#[ignore = "needs root"]
fn live_cgroup_figures_equal_the_kernel_files() {
    let Some(layout) = v1_layout() else {
        return;
    };
    let root = HostRoot::live();
    let busy = start_busy("cg-live");
    let g = &busy.guard;
    let (cpu, cpuacct, memory, pids, freezer) = (
        g.dir("cpu", "box"),
        g.dir("cpuacct", "box"),
        g.dir("memory", "box"),
        g.dir("pids", "box"),
        g.dir("freezer", "box"),
    );
    let _thaw = ThawOnDrop(freezer.clone());

    // Counters move while we read: isotop's value must lie between a read before and after.
    let usage_before = number(&cpuacct.join("cpuacct.usage")) / 1000;
    let periods_before = key(&cpu.join("cpu.stat"), "nr_periods");
    let throttled_before = key(&cpu.join("cpu.stat"), "nr_throttled");
    let throttled_time_before = key(&cpu.join("cpu.stat"), "throttled_time") / 1000;
    let mem_before = number(&memory.join("memory.usage_in_bytes"));
    let r = read_at(&root, &layout, &busy.rel).unwrap().unwrap();
    let usage_after = number(&cpuacct.join("cpuacct.usage")) / 1000;
    let periods_after = key(&cpu.join("cpu.stat"), "nr_periods");
    let throttled_after = key(&cpu.join("cpu.stat"), "nr_throttled");
    let throttled_time_after = key(&cpu.join("cpu.stat"), "throttled_time") / 1000;
    let mem_after = number(&memory.join("memory.usage_in_bytes"));

    assert_eq!(r.path, busy.rel);
    let c = r.cpu.as_ref().unwrap();
    let within = |v: Option<u64>, lo: u64, hi: u64| v.is_some_and(|v| lo <= v && v <= hi);
    assert!(within(c.usage_usec, usage_before, usage_after), "{c:?}");
    assert!(within(c.nr_periods, periods_before, periods_after), "{c:?}");
    assert!(
        within(c.nr_throttled, throttled_before, throttled_after),
        "{c:?}"
    );
    assert!(c.nr_throttled.unwrap() > 0);
    assert!(
        within(
            c.throttled_usec,
            throttled_time_before,
            throttled_time_after
        ),
        "{c:?}"
    );
    let user = number(&cpuacct.join("cpuacct.usage_user")) / 1000;
    assert!(c.user_usec.unwrap() <= user);
    let m = r.memory.as_ref().unwrap();
    let (lo, hi) = (mem_before.min(mem_after), mem_before.max(mem_after));
    assert!(within(m.usage_bytes, lo, hi), "{m:?} vs {lo}..{hi}");
    assert!(m.peak_bytes.is_some());
    assert_eq!(
        m.events.oom_kill,
        Some(key(&memory.join("memory.oom_control"), "oom_kill"))
    );
    assert_eq!(
        m.events.failcnt,
        Some(number(&memory.join("memory.failcnt")))
    );

    // Limits: what was written, and `max` where nothing was set.
    assert_eq!(r.limits.cpu_quota_usec, Some(Limit::Value(20_000)));
    assert_eq!(number(&cpu.join("cpu.cfs_quota_us")), 20_000);
    assert_eq!(
        r.limits.cpu_period_usec,
        Some(number(&cpu.join("cpu.cfs_period_us")))
    );
    assert_eq!(r.limits.cpu_limit_cpus(), Some(Limit::Value(0.2)));
    assert_eq!(r.limits.cpu_shares, Some(number(&cpu.join("cpu.shares"))));
    assert_eq!(r.limits.cpu_shares, Some(256));
    assert_eq!(
        r.limits.memory_max_bytes,
        Some(Limit::Value(number(&memory.join("memory.limit_in_bytes"))))
    );
    assert_eq!(r.limits.memory_max_bytes, Some(Limit::Value(104_857_600)));
    assert_eq!(r.limits.memory_soft_limit_bytes, Some(Limit::Max));
    assert_eq!(r.limits.pids_max, Some(Limit::Value(16)));
    assert_eq!(
        r.limits.cpuset_cpus.as_deref(),
        Some(text(&g.dir("cpuset", "box").join("cpuset.cpus")).as_str())
    );
    assert_eq!(
        r.pids.as_ref().unwrap().current,
        Some(number(&pids.join("pids.current")))
    );
    assert_eq!(r.pids.as_ref().unwrap().current, Some(1));
    assert_eq!(r.nprocs, 1);
    assert_eq!(
        text(&pids.join("cgroup.procs")),
        busy.child.pid().to_string()
    );
    assert_eq!(r.sources["cpu.usage_usec"], cpuacct.join("cpuacct.usage"));
    assert_eq!(
        r.sources["limits.cpu_quota_usec"],
        cpu.join("cpu.cfs_quota_us")
    );
    assert_eq!(
        r.sources["limits.memory_max_bytes"],
        memory.join("memory.limit_in_bytes")
    );
    assert!(r.notes.is_empty(), "{:?}", r.notes);

    // The parent has no limits of its own.
    let parent = read_at(&root, &layout, &g.rel).unwrap().unwrap();
    assert_eq!(parent.limits.cpu_quota_usec, Some(Limit::Max));
    assert_eq!(parent.limits.memory_max_bytes, Some(Limit::Max));
    assert_eq!(parent.limits.pids_max, Some(Limit::Max));
    assert_eq!(parent.nprocs, 0);
    assert!(parent.cpu.unwrap().usage_usec >= c.usage_usec);

    // Usage grows while the loop runs.
    let first = c.usage_usec.unwrap();
    assert!(common::wait_until(Duration::from_secs(10), || {
        read_at(&root, &layout, &busy.rel)
            .unwrap()
            .and_then(|r| r.cpu?.usage_usec)
            .is_some_and(|u| u > first)
    }));

    // The busy process's own memberships lead to the same cgroup.
    let process = read_process(&root, busy.child.pid(), ReadDepth::Full)
        .unwrap()
        .unwrap();
    let by_process = read_for_memberships(&root, &layout, &process.cgroups)
        .unwrap()
        .unwrap();
    assert_eq!(by_process.path, busy.rel);
    assert_eq!(by_process.limits, r.limits);
    if layout.mode == CgroupMode::Hybrid {
        // It stayed in the unified root: the host's pressure is not passed off as its own.
        assert_eq!(process.cgroup_path(None), Some("/"));
        assert!(by_process.pressure.is_none());
    }

    // The tree below the test parent is just `box`.
    let tree = read_tree(&root, &layout, &g.rel, None).unwrap().unwrap();
    let names: Vec<&str> = tree.children.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["box"]);

    // Freezer: thawed, frozen after writing FROZEN, thawed again.
    assert_eq!(r.freezer, Some(FreezerState::Thawed));
    assert_eq!(text(&freezer.join("freezer.state")), "THAWED");
    fs::write(freezer.join("freezer.state"), "FROZEN").unwrap();
    assert!(common::wait_until(Duration::from_secs(10), || {
        text(&freezer.join("freezer.state")) == "FROZEN"
    }));
    let frozen = read_at(&root, &layout, &busy.rel).unwrap().unwrap();
    assert_eq!(frozen.freezer, Some(FreezerState::Frozen));
    fs::write(freezer.join("freezer.state"), "THAWED").unwrap();
    assert!(common::wait_until(Duration::from_secs(10), || {
        text(&freezer.join("freezer.state")) == "THAWED"
    }));
    let thawed = read_at(&root, &layout, &busy.rel).unwrap().unwrap();
    assert_eq!(thawed.freezer, Some(FreezerState::Thawed));
}

#[test]
#[ignore = "needs root"]
fn live_cli_json_equals_the_kernel_files() {
    let Some(layout) = v1_layout() else {
        return;
    };
    let busy = start_busy("cg-cli");
    let g = &busy.guard;
    let cpuacct = g.dir("cpuacct", "box");
    let usage_before = number(&cpuacct.join("cpuacct.usage")) / 1000;
    let out = common::run_isotop(&["cgroups", &g.rel, "--json"]);
    let usage_after = number(&cpuacct.join("cpuacct.usage")) / 1000;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["mode"], layout.mode.as_str());
    assert!(json["hierarchies"].as_array().unwrap().len() >= 2);
    assert_eq!(json["tree"]["path"], g.rel.as_str());
    assert_eq!(json["tree"]["reading"]["limits"]["cpu_quota_usec"], "max");
    let node = &json["tree"]["children"][0];
    assert_eq!(node["path"], busy.rel.as_str());
    assert_eq!(node["name"], "box");
    let reading = &node["reading"];
    let limits = &reading["limits"];
    let cpu = g.dir("cpu", "box");
    assert_eq!(
        limits["cpu_quota_usec"],
        number(&cpu.join("cpu.cfs_quota_us"))
    );
    assert_eq!(
        limits["cpu_period_usec"],
        number(&cpu.join("cpu.cfs_period_us"))
    );
    assert_eq!(limits["cpu_shares"], number(&cpu.join("cpu.shares")));
    assert_eq!(
        limits["memory_max_bytes"],
        number(&g.dir("memory", "box").join("memory.limit_in_bytes"))
    );
    assert_eq!(limits["memory_soft_limit_bytes"], "max");
    assert_eq!(
        limits["pids_max"],
        number(&g.dir("pids", "box").join("pids.max"))
    );
    assert_eq!(
        reading["pids"]["current"],
        number(&g.dir("pids", "box").join("pids.current"))
    );
    assert_eq!(reading["nprocs"], 1);
    assert_eq!(
        reading["freezer"],
        text(&g.dir("freezer", "box").join("freezer.state")).to_lowercase()
    );
    let usage = reading["cpu"]["usage_usec"].as_u64().unwrap();
    assert!(usage_before <= usage && usage <= usage_after);
    assert!(reading["cpu"]["nr_throttled"].as_u64().unwrap() > 0);
    assert_eq!(
        reading["sources"]["cpu.usage_usec"],
        cpuacct.join("cpuacct.usage").to_str().unwrap()
    );

    // The table shows the same limits.
    let out = common::run_isotop(&["cgroups", &busy.rel]);
    assert!(out.status.success());
    let table = String::from_utf8(out.stdout).unwrap();
    let header = format!("cgroup mode {}: ", layout.mode.as_str());
    assert!(table.starts_with(&header), "{table}");
    let row: Vec<&str> = table.lines().nth(2).unwrap().split_whitespace().collect();
    assert_eq!(row[0], busy.rel.as_str());
    assert_eq!(row[1], "1", "{table}");
    assert_eq!(row[4], "0.20", "{table}");
    assert_eq!(row[6], "100.0MiB", "{table}");
    assert_eq!(row[8], "1/16", "{table}");
    assert_eq!(row[9], "no", "{table}");
}

#[test]
fn live_cli_rejects_a_path_in_no_hierarchy() {
    let missing = format!("/{}/does/not/exist", common::unique_name("cg-missing"));
    let out = common::run_isotop(&["cgroups", &missing]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("no cgroup {missing} in any hierarchy")),
        "{err}"
    );
    assert!(out.stdout.is_empty());
    let out = common::run_isotop(&["cgroups", "/does/not/exist"]);
    assert_eq!(out.status.code(), Some(2));
}
