//! The cgroup readers on a real cgroup v2 kernel (root; run by `vm/run-tests.sh`, skipped with a
//! printed reason on v1 and hybrid hosts): nested test cgroups with `max` and numeric limits,
//! one running a throttled busy loop and one idle, and every figure isotop reads — CPU,
//! throttling, memory, `memory.stat`, `memory.events`, pids, cpuset, freezer, pressure — compared
//! with the kernel file read directly here; `isotop cgroups --json` and its table with the same
//! files. Cleaned up by the drop guards of tests/shared/common.rs even when an assertion fails.

use crate::support::common;

use common::{read_key as key, read_number as number, read_text as text};

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::{CgroupGuard, ChildGuard};
use isotop::host::HostRoot;
use isotop::host::cgroup::{
    CgroupLayout, CgroupMode, CgroupReading, FreezerState, Limit, PressureLine, detect_layout,
    read_at, read_for_memberships, read_tree,
};
use isotop::host::process::{ReadDepth, read_process};

/// `total=` of the `some` or `full` line of a PSI file, in microseconds.
fn pressure_total(path: &Path, line: &str) -> u64 {
    text(path)
        .lines()
        .find(|l| l.starts_with(line))
        .and_then(|l| l.split_whitespace().find_map(|f| f.strip_prefix("total=")))
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("no {line} total in {}", path.display()))
}

fn within(value: Option<u64>, a: u64, b: u64) -> bool {
    value.is_some_and(|v| a.min(b) <= v && v <= a.max(b))
}

/// The v2 layout, when this is a v2-only host and we are root.
fn v2_layout() -> Option<CgroupLayout> {
    if !common::require_v2() {
        return None;
    }
    let layout = detect_layout(&HostRoot::live()).unwrap();
    assert_eq!(layout.mode, CgroupMode::V2, "the kernel files say v2-only");
    Some(layout)
}

/// `<guard>/outer` (memory.max 256 MiB, everything else at its default `max`) holding two
/// leaves: `inner` (cpu.max 30000/100000, weight 50, memory.max 128 MiB, high 96 MiB, low 8 MiB,
/// pids.max 20, cpuset CPU 0) with a busy loop that has been throttled, and `idle` with a sleep.
struct Nested {
    guard: CgroupGuard,
    outer: String,
    inner: String,
    idle: String,
    busy: ChildGuard,
    sleeper: ChildGuard,
}

impl Nested {
    fn dir(&self, rel_child: &str) -> PathBuf {
        self.guard.dir("", rel_child)
    }
}

fn start_nested(what: &str) -> Nested {
    let guard = CgroupGuard::new(what);
    let inner = guard.child("outer/inner");
    let idle = guard.child("outer/idle");
    let outer = format!("{}/outer", guard.rel);
    fs::write(guard.dir("", "outer").join("memory.max"), "268435456").unwrap();
    let dir = guard.dir("", "outer/inner");
    fs::write(dir.join("cpu.max"), "30000 100000").unwrap();
    fs::write(dir.join("cpu.weight"), "50").unwrap();
    fs::write(dir.join("memory.max"), "134217728").unwrap();
    fs::write(dir.join("memory.high"), "100663296").unwrap();
    fs::write(dir.join("memory.low"), "8388608").unwrap();
    fs::write(dir.join("pids.max"), "20").unwrap();
    fs::write(dir.join("cpuset.cpus"), "0").unwrap();
    let busy = ChildGuard::spawn(Command::new("sh").args(["-c", "while :; do :; done"]));
    guard.add_pid("outer/inner", busy.pid());
    let sleeper = ChildGuard::spawn(Command::new("sleep").arg("1000"));
    guard.add_pid("outer/idle", sleeper.pid());
    let stat = dir.join("cpu.stat");
    assert!(
        common::wait_until(Duration::from_secs(20), || key(&stat, "nr_throttled") > 0),
        "the busy loop was never throttled under cpu.max 30000 100000"
    );
    Nested {
        guard,
        outer,
        inner,
        idle,
        busy,
        sleeper,
    }
}

#[test]
#[ignore = "needs root"]
fn v2_layout_is_one_unified_hierarchy_with_the_test_controllers() {
    let Some(layout) = v2_layout() else {
        return;
    };
    assert_eq!(layout.hierarchies.len(), 1);
    let h = layout.v2().unwrap();
    assert_eq!(h.mount_point, Path::new("/sys/fs/cgroup"));
    let kernel = text(Path::new("/sys/fs/cgroup/cgroup.controllers"));
    let mut expected: Vec<&str> = kernel.split_whitespace().collect();
    expected.sort_unstable();
    let mut ours: Vec<&str> = h.controllers.iter().map(String::as_str).collect();
    ours.sort_unstable();
    assert_eq!(ours, expected);
    for c in common::V2_CONTROLLERS {
        assert!(h.carries(c), "{c} in {:?}", h.controllers);
    }
    // Our own membership is the single `0::<path>` line, and it reads.
    let root = HostRoot::live();
    let me = read_process(&root, std::process::id() as i32, ReadDepth::Full)
        .unwrap()
        .unwrap();
    assert_eq!(me.cgroups.len(), 1, "{:?}", me.cgroups);
    assert_eq!(me.cgroups[0].hierarchy, 0);
    let kernel_line = text(Path::new("/proc/self/cgroup"));
    assert_eq!(kernel_line, format!("0::{}", me.cgroups[0].path));
    let mine = read_for_memberships(&root, &layout, &me.cgroups)
        .unwrap()
        .unwrap();
    assert_eq!(mine.path, me.cgroups[0].path);
}

/// Checks every figure of `r` (read from `dir`) against the kernel files; `before` was the
/// kernel's CPU and memory counters just before isotop read them, the files are read again
/// after.
fn assert_matches_kernel(r: &CgroupReading, dir: &Path, before: &Counters) {
    let after = Counters::read(dir);
    let c = r.cpu.as_ref().expect("cpu figures");
    assert!(within(c.usage_usec, before.usage, after.usage), "{c:?}");
    assert!(within(c.user_usec, before.user, after.user), "{c:?}");
    assert!(within(c.system_usec, before.system, after.system), "{c:?}");
    assert!(within(c.nr_periods, before.periods, after.periods), "{c:?}");
    assert!(
        within(c.nr_throttled, before.throttled, after.throttled),
        "{c:?}"
    );
    assert!(
        within(
            c.throttled_usec,
            before.throttled_usec,
            after.throttled_usec
        ),
        "{c:?}"
    );
    let m = r.memory.as_ref().expect("memory figures");
    assert!(within(m.usage_bytes, before.memory, after.memory), "{m:?}");
    assert!(within(m.peak_bytes, before.peak, after.peak), "{m:?}");
    let stat = dir.join("memory.stat");
    for (field, kernel_key) in [
        (m.anon_bytes, "anon"),
        (m.file_bytes, "file"),
        (m.kernel_bytes, "kernel"),
        (m.shmem_bytes, "shmem"),
        (m.file_mapped_bytes, "file_mapped"),
        (m.active_anon_bytes, "active_anon"),
        (m.inactive_anon_bytes, "inactive_anon"),
        (m.unevictable_bytes, "unevictable"),
    ] {
        let (a, b) = (before.stat(kernel_key), key(&stat, kernel_key));
        assert!(within(field, a, b), "{kernel_key}: {field:?} vs {a}..{b}");
    }
    let events = dir.join("memory.events");
    assert_eq!(m.events.low, Some(key(&events, "low")));
    assert_eq!(m.events.high, Some(key(&events, "high")));
    assert_eq!(m.events.max, Some(key(&events, "max")));
    assert_eq!(m.events.oom, Some(key(&events, "oom")));
    assert_eq!(m.events.oom_kill, Some(key(&events, "oom_kill")));
    assert_eq!(m.events.failcnt, None, "v1 only");
    assert_eq!(m.swap_bytes, Some(number(&dir.join("memory.swap.current"))));
    let pids = r.pids.as_ref().expect("pids figures");
    assert_eq!(pids.current, Some(number(&dir.join("pids.current"))));
    assert_eq!(
        pids.refused_forks,
        Some(key(&dir.join("pids.events"), "max"))
    );
    assert_eq!(
        r.nprocs,
        text(&dir.join("cgroup.procs")).lines().count(),
        "cgroup.procs"
    );
    assert_eq!(r.sources["cpu.usage_usec"], dir.join("cpu.stat"));
    assert_eq!(r.sources["limits.cpu_quota_usec"], dir.join("cpu.max"));
    assert_eq!(r.sources["limits.memory_max_bytes"], dir.join("memory.max"));
    assert_eq!(
        r.sources["memory.events.oom_kill"],
        dir.join("memory.events")
    );
    assert_eq!(r.sources["nprocs"], dir.join("cgroup.procs"));
    assert!(r.notes.is_empty(), "{:?}", r.notes);
    assert!(r.missing.is_empty(), "{:?}", r.missing);
}

/// The moving counters of one cgroup, read from the kernel files.
struct Counters {
    usage: u64,
    user: u64,
    system: u64,
    periods: u64,
    throttled: u64,
    throttled_usec: u64,
    memory: u64,
    peak: u64,
    memory_stat: String,
}

impl Counters {
    fn read(dir: &Path) -> Counters {
        let stat = dir.join("cpu.stat");
        Counters {
            usage: key(&stat, "usage_usec"),
            user: key(&stat, "user_usec"),
            system: key(&stat, "system_usec"),
            periods: key(&stat, "nr_periods"),
            throttled: key(&stat, "nr_throttled"),
            throttled_usec: key(&stat, "throttled_usec"),
            memory: number(&dir.join("memory.current")),
            peak: number(&dir.join("memory.peak")),
            memory_stat: text(&dir.join("memory.stat")),
        }
    }

    fn stat(&self, wanted: &str) -> u64 {
        self.memory_stat
            .lines()
            .find_map(|l| l.strip_prefix(wanted)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("no {wanted} in memory.stat"))
    }
}

#[test]
#[ignore = "needs root"]
fn v2_nested_figures_and_limits_equal_the_kernel_files() {
    let Some(layout) = v2_layout() else {
        return;
    };
    let root = HostRoot::live();
    let n = start_nested("v2-nested");

    // The throttled leaf: every figure, and the limits that were written.
    let inner_dir = n.dir("outer/inner");
    let before = Counters::read(&inner_dir);
    let inner = read_at(&root, &layout, &n.inner).unwrap().unwrap();
    assert_matches_kernel(&inner, &inner_dir, &before);
    assert_eq!(inner.path, n.inner);
    assert!(inner.cpu.as_ref().unwrap().nr_throttled.unwrap() > 0);
    let l = &inner.limits;
    assert_eq!(l.cpu_quota_usec, Some(Limit::Value(30_000)));
    assert_eq!(l.cpu_period_usec, Some(100_000));
    assert_eq!(l.cpu_limit_cpus(), Some(Limit::Value(0.3)));
    assert_eq!(l.cpu_weight, Some(50));
    assert_eq!(l.cpu_shares, None, "v1 only");
    assert_eq!(l.memory_max_bytes, Some(Limit::Value(134_217_728)));
    assert_eq!(l.memory_high_bytes, Some(Limit::Value(100_663_296)));
    assert_eq!(l.memory_low_bytes, Some(Limit::Value(8_388_608)));
    assert_eq!(l.memory_soft_limit_bytes, None, "v1 only");
    assert_eq!(l.pids_max, Some(Limit::Value(20)));
    assert_eq!(l.cpuset_cpus.as_deref(), Some("0"));
    assert_eq!(
        l.cpuset_effective_cpus.as_deref(),
        Some(text(&inner_dir.join("cpuset.cpus.effective")).as_str())
    );
    assert_eq!(inner.pids.as_ref().unwrap().current, Some(1));
    assert_eq!(inner.nprocs, 1);
    assert_eq!(
        text(&inner_dir.join("cgroup.procs")),
        n.busy.pid().to_string()
    );
    assert_eq!(inner.freezer, Some(FreezerState::Thawed));
    assert_eq!(inner.sources["freezer"], inner_dir.join("cgroup.events"));

    // Pressure: the busy loop stalls on CPU under its quota; each file's `total` lies between
    // the kernel's reads before and after isotop's.
    let cpu_pressure = inner_dir.join("cpu.pressure");
    let some_before = pressure_total(&cpu_pressure, "some");
    let reread = read_at(&root, &layout, &n.inner).unwrap().unwrap();
    let some_after = pressure_total(&cpu_pressure, "some");
    let pressure = reread.pressure.as_ref().expect("pressure files");
    let cpu_some: PressureLine = pressure.cpu.as_ref().unwrap().some.unwrap();
    assert!(within(Some(cpu_some.total_usec), some_before, some_after));
    assert!(
        cpu_some.total_usec > 0,
        "a throttled loop stalls: {cpu_some:?}"
    );
    assert!((0.0..=100.0).contains(&cpu_some.avg10));
    for (file, reading) in [
        ("memory.pressure", pressure.memory.as_ref()),
        ("io.pressure", pressure.io.as_ref()),
    ] {
        let r = reading.unwrap_or_else(|| panic!("{file} read"));
        let kernel = pressure_total(&inner_dir.join(file), "full");
        assert!(r.full.unwrap().total_usec <= kernel, "{file}");
        assert!(r.some.is_some(), "{file}");
    }
    assert_eq!(reread.sources["pressure.cpu"], cpu_pressure);
    // Read side only for now: the kill file the control issue will use is there.
    assert!(inner_dir.join("cgroup.kill").is_file());

    // The idle leaf: default limits read as `max`, its figures equal the kernel's.
    let idle_dir = n.dir("outer/idle");
    let before = Counters::read(&idle_dir);
    let idle = read_at(&root, &layout, &n.idle).unwrap().unwrap();
    assert_matches_kernel(&idle, &idle_dir, &before);
    assert_eq!(idle.limits.cpu_quota_usec, Some(Limit::Max));
    assert_eq!(idle.limits.cpu_limit_cpus(), Some(Limit::Max));
    assert_eq!(idle.limits.memory_max_bytes, Some(Limit::Max));
    assert_eq!(idle.limits.memory_high_bytes, Some(Limit::Max));
    assert_eq!(idle.limits.memory_low_bytes, Some(Limit::Value(0)));
    assert_eq!(idle.limits.pids_max, Some(Limit::Max));
    assert_eq!(idle.limits.cpu_weight, Some(100));
    assert_eq!(
        idle.limits.cpuset_cpus.as_deref(),
        Some(""),
        "empty = inherit"
    );
    assert_eq!(idle.nprocs, 1);
    assert_eq!(idle.cpu.as_ref().unwrap().nr_throttled, Some(0));

    // The parent: its own limit, no processes of its own ("no internal processes": the kernel
    // refuses one), figures that include both leaves.
    let outer_dir = n.dir("outer");
    let before = Counters::read(&outer_dir);
    let outer = read_at(&root, &layout, &n.outer).unwrap().unwrap();
    assert_matches_kernel(&outer, &outer_dir, &before);
    assert_eq!(
        outer.limits.memory_max_bytes,
        Some(Limit::Value(268_435_456))
    );
    assert_eq!(outer.limits.cpu_quota_usec, Some(Limit::Max));
    assert_eq!(outer.nprocs, 0);
    assert_eq!(outer.pids.as_ref().unwrap().current, Some(2));
    assert!(outer.cpu.as_ref().unwrap().usage_usec >= inner.cpu.as_ref().unwrap().usage_usec);
    let refused = fs::write(outer_dir.join("cgroup.procs"), n.sleeper.pid().to_string());
    assert!(
        refused.is_err(),
        "v2 refuses processes in a cgroup with controllers on"
    );

    // The busy process's membership leads to the same cgroup and limits.
    let process = read_process(&root, n.busy.pid(), ReadDepth::Full)
        .unwrap()
        .unwrap();
    assert_eq!(process.cgroup_path(None), Some(n.inner.as_str()));
    let by_process = read_for_memberships(&root, &layout, &process.cgroups)
        .unwrap()
        .unwrap();
    assert_eq!(by_process.path, n.inner);
    assert_eq!(by_process.limits, inner.limits);
    assert!(by_process.pressure.is_some());

    // The tree: guard → outer → {idle, inner}.
    let tree = read_tree(&root, &layout, &n.guard.rel, None)
        .unwrap()
        .unwrap();
    let names: Vec<&str> = tree.children.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["outer"]);
    let mut leaves: Vec<&str> = tree.children[0]
        .children
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    leaves.sort_unstable();
    assert_eq!(leaves, ["idle", "inner"]);
}

#[test]
#[ignore = "needs root"]
fn v2_cli_cgroups_json_and_table_equal_the_kernel_files() {
    if v2_layout().is_none() {
        return;
    }
    let n = start_nested("v2-cli");
    let inner_dir = n.dir("outer/inner");
    let before = key(&inner_dir.join("cpu.stat"), "usage_usec");
    let out = common::run_isotop(&["cgroups", &n.guard.rel, "--json"]);
    let after = key(&inner_dir.join("cpu.stat"), "usage_usec");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["mode"], "v2");
    assert_eq!(json["hierarchies"].as_array().unwrap().len(), 1);
    assert_eq!(json["tree"]["path"], n.guard.rel.as_str());
    let outer = &json["tree"]["children"][0];
    assert_eq!(outer["path"], n.outer.as_str());
    assert_eq!(
        outer["reading"]["limits"]["memory_max_bytes"],
        268_435_456u64
    );
    assert_eq!(outer["reading"]["limits"]["cpu_quota_usec"], "max");
    assert_eq!(outer["reading"]["limits"]["pids_max"], "max");
    let node = outer["children"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "inner")
        .expect("inner listed");
    let reading = &node["reading"];
    let limits = &reading["limits"];
    let cpu_max = text(&inner_dir.join("cpu.max"));
    assert_eq!(cpu_max, "30000 100000");
    assert_eq!(limits["cpu_quota_usec"], 30_000);
    assert_eq!(limits["cpu_period_usec"], 100_000);
    assert_eq!(limits["cpu_weight"], number(&inner_dir.join("cpu.weight")));
    assert_eq!(
        limits["memory_max_bytes"],
        number(&inner_dir.join("memory.max"))
    );
    assert_eq!(
        limits["memory_high_bytes"],
        number(&inner_dir.join("memory.high"))
    );
    assert_eq!(
        limits["memory_low_bytes"],
        number(&inner_dir.join("memory.low"))
    );
    assert_eq!(limits["pids_max"], number(&inner_dir.join("pids.max")));
    assert_eq!(limits["cpuset_cpus"], "0");
    let usage = reading["cpu"]["usage_usec"].as_u64().unwrap();
    assert!(before <= usage && usage <= after);
    assert!(reading["cpu"]["nr_throttled"].as_u64().unwrap() > 0);
    assert_eq!(
        reading["memory"]["events"]["oom_kill"],
        key(&inner_dir.join("memory.events"), "oom_kill")
    );
    assert_eq!(reading["freezer"], "thawed");
    assert!(
        reading["pressure"]["cpu"]["some"]["total_usec"]
            .as_u64()
            .is_some()
    );
    assert_eq!(reading["nprocs"], 1);
    assert_eq!(
        reading["sources"]["limits.memory_max_bytes"],
        inner_dir.join("memory.max").to_str().unwrap()
    );

    // The table: CGROUP PROCS CPU THROTTLED CPU-LIMIT MEM MEM-LIMIT OOM PIDS FROZEN.
    let out = common::run_isotop(&["cgroups", &n.inner]);
    assert!(out.status.success());
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(table.starts_with("cgroup mode v2: "), "{table}");
    let row: Vec<&str> = table.lines().nth(2).unwrap().split_whitespace().collect();
    assert_eq!(row[0], n.inner.as_str(), "{table}");
    assert_eq!(row[1], "1", "{table}");
    assert_eq!(row[4], "0.30", "{table}");
    assert_eq!(row[6], "128.0MiB", "{table}");
    assert_eq!(row[8], "1/20", "{table}");
    assert_eq!(row[9], "no", "{table}");
}
