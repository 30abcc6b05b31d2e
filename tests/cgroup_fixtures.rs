//! Cgroup readers against fixture trees laid out as root file systems (tests/fixtures/cgroup:
//! v1 with co-mounted cpu,cpuacct, v2, and hybrid as on this project's machines), with odd
//! cases: `max`, `-1`, empty files, garbage, u64 overflow, missing controllers and files,
//! nested cgroups, and per-controller paths that differ.

use std::path::{Path, PathBuf};

use isotop::host::HostRoot;
use isotop::host::cgroup::{
    CgroupLayout, CgroupMode, FreezerState, Limit, detect_layout, read_at, read_for_memberships,
    read_tree,
};
use isotop::host::process::CgroupMembership;

fn fixture(name: &str) -> (HostRoot, PathBuf) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/cgroup")
        .join(name);
    (HostRoot::under(&dir), dir)
}

fn layout(name: &str) -> (HostRoot, CgroupLayout, PathBuf) {
    let (root, dir) = fixture(name);
    let layout = detect_layout(&root).unwrap();
    (root, layout, dir)
}

fn membership(hierarchy: u32, controllers: &[&str], path: &str) -> CgroupMembership {
    CgroupMembership {
        hierarchy,
        controllers: controllers.iter().map(|c| c.to_string()).collect(),
        path: path.to_string(),
    }
}

#[test]
fn v1_layout_has_comounted_cpu_cpuacct_and_one_memory_mount() {
    let (_root, layout, dir) = layout("v1");
    assert_eq!(layout.mode, CgroupMode::V1);
    let labels: Vec<String> = layout.hierarchies.iter().map(|h| h.label()).collect();
    assert_eq!(
        labels,
        [
            "cpu,cpuacct",
            "cpuset",
            "freezer",
            "memory",
            "name=systemd",
            "pids"
        ]
    );
    let cpu = layout.v1_carrying("cpuacct").unwrap();
    assert_eq!(cpu.controllers, ["cpu", "cpuacct"]);
    assert!(layout.v1_carrying("cpu").unwrap() == cpu);
    assert_eq!(cpu.mount_point, Path::new("/sys/fs/cgroup/cpu,cpuacct"));
    assert_eq!(cpu.dir, dir.join("sys/fs/cgroup/cpu,cpuacct"));
    // memory is mounted twice (a bind of /docker first): the whole-hierarchy mount is kept.
    let memory = layout.v1_carrying("memory").unwrap();
    assert_eq!(memory.mount_root, "/");
    assert_eq!(memory.mount_point, Path::new("/sys/fs/cgroup/memory"));
    assert!(layout.v2().is_none());
    assert!(layout.v1_carrying("blkio").is_none());
}

#[test]
fn v2_and_hybrid_layouts() {
    let (_r, v2, _d) = layout("v2");
    assert_eq!(v2.mode, CgroupMode::V2);
    assert_eq!(v2.hierarchies.len(), 1);
    let unified = v2.v2().unwrap();
    assert_eq!(unified.version, 2);
    assert!(unified.controllers.contains(&"memory".to_string()));
    assert_eq!(unified.mount_point, Path::new("/sys/fs/cgroup"));

    let (_r, hybrid, _d) = layout("hybrid");
    assert_eq!(hybrid.mode, CgroupMode::Hybrid);
    assert_eq!(hybrid.hierarchies.len(), 10);
    assert_ne!(hybrid.v1_carrying("cpu"), hybrid.v1_carrying("cpuacct"));
    let unified = hybrid.v2().unwrap();
    assert!(unified.controllers.is_empty());
    assert_eq!(unified.mount_point, Path::new("/sys/fs/cgroup/unified"));
}

#[test]
fn memberships_map_to_hierarchies_by_controller() {
    let (_r, v1, _d) = layout("v1");
    let h = v1
        .hierarchy_for(&membership(3, &["cpu", "cpuacct"], "/"))
        .unwrap();
    assert_eq!(h.label(), "cpu,cpuacct");
    let h = v1
        .hierarchy_for(&membership(1, &["name=systemd"], "/"))
        .unwrap();
    assert_eq!(h.label(), "name=systemd");
    assert!(v1.hierarchy_for(&membership(0, &[], "/")).is_none());
    assert!(v1.hierarchy_for(&membership(9, &["blkio"], "/")).is_none());

    let (_r, hybrid, _d) = layout("hybrid");
    assert_eq!(
        hybrid
            .hierarchy_for(&membership(0, &[], "/"))
            .unwrap()
            .version,
        2
    );
    assert_eq!(
        hybrid
            .hierarchy_for(&membership(1, &["cpu"], "/"))
            .unwrap()
            .label(),
        "cpu"
    );
}

#[test]
fn v1_container_reads_every_figure_from_its_controllers_file() {
    let (root, layout, dir) = layout("v1");
    let r = read_at(&root, &layout, "/docker/c1").unwrap().unwrap();
    assert_eq!(r.path, "/docker/c1");
    let cpu = r.cpu.as_ref().unwrap();
    // cpuacct.usage is in ns: 5 s.
    assert_eq!(cpu.usage_usec, Some(5_000_000));
    assert_eq!(cpu.user_usec, Some(3_000_000));
    assert_eq!(cpu.system_usec, Some(2_000_000));
    assert_eq!(cpu.nr_periods, Some(100));
    assert_eq!(cpu.nr_throttled, Some(40));
    assert_eq!(cpu.throttled_usec, Some(2_500_000));
    assert_eq!(r.limits.cpu_quota_usec, Some(Limit::Value(50_000)));
    assert_eq!(r.limits.cpu_period_usec, Some(100_000));
    assert_eq!(r.limits.cpu_limit_cpus(), Some(Limit::Value(0.5)));
    assert_eq!(r.limits.cpu_shares, Some(512));
    assert_eq!(r.limits.cpu_weight, None);
    assert_eq!(r.limits.cpuset_cpus.as_deref(), Some("0-1"));

    let m = r.memory.as_ref().unwrap();
    assert_eq!(m.usage_bytes, Some(104_857_600));
    assert_eq!(m.peak_bytes, Some(209_715_200));
    // memory.stat: the hierarchical total_* keys, not the local ones.
    assert_eq!(m.anon_bytes, Some(62_914_560));
    assert_eq!(m.file_bytes, Some(41_943_040));
    assert_eq!(m.shmem_bytes, Some(4096));
    assert_eq!(m.file_mapped_bytes, Some(8192));
    assert_eq!(m.swap_bytes, Some(16_384));
    assert_eq!(m.pgmajfault, Some(7));
    assert_eq!(m.kernel_bytes, None);
    assert_eq!(m.events.oom_kill, Some(3));
    assert_eq!(m.events.under_oom, Some(true));
    assert_eq!(m.events.oom_kill_disabled, Some(false));
    assert_eq!(m.events.failcnt, Some(7));
    assert_eq!(m.events.oom, None);
    assert_eq!(r.limits.memory_max_bytes, Some(Limit::Value(268_435_456)));
    // 9223372036854771712 = PAGE_COUNTER_MAX pages: no limit.
    assert_eq!(r.limits.memory_soft_limit_bytes, Some(Limit::Max));

    let pids = r.pids.as_ref().unwrap();
    assert_eq!(pids.current, Some(4));
    assert_eq!(pids.refused_forks, Some(2));
    assert_eq!(r.limits.pids_max, Some(Limit::Value(100)));
    assert_eq!(r.freezer, Some(FreezerState::Frozen));
    assert!(r.pressure.is_none());
    assert_eq!(r.missing, ["pressure"]);
    assert_eq!(r.nprocs, 2);
    assert!(r.notes.is_empty(), "{:?}", r.notes);

    let c = dir.join("sys/fs/cgroup");
    let src = |field: &str| r.sources.get(field).cloned().unwrap_or_default();
    assert_eq!(
        src("cpu.usage_usec"),
        c.join("cpu,cpuacct/docker/c1/cpuacct.usage")
    );
    assert_eq!(
        src("cpu.nr_throttled"),
        c.join("cpu,cpuacct/docker/c1/cpu.stat")
    );
    assert_eq!(
        src("limits.cpu_quota_usec"),
        c.join("cpu,cpuacct/docker/c1/cpu.cfs_quota_us")
    );
    assert_eq!(
        src("memory.anon_bytes"),
        c.join("memory/docker/c1/memory.stat")
    );
    assert_eq!(
        src("memory.events.oom_kill"),
        c.join("memory/docker/c1/memory.oom_control")
    );
    assert_eq!(src("limits.pids_max"), c.join("pids/docker/c1/pids.max"));
    assert_eq!(src("freezer"), c.join("freezer/docker/c1/freezer.state"));
    assert_eq!(src("nprocs"), c.join("pids/docker/c1/cgroup.procs"));
    // Every number has a source, and every source is a file that exists.
    for path in r.sources.values() {
        assert!(path.is_file(), "{}", path.display());
    }
}

#[test]
fn v1_odd_values_are_none_with_notes_or_max() {
    let (root, layout, _dir) = layout("v1");
    let r = read_at(&root, &layout, "docker/odd/").unwrap().unwrap();
    assert_eq!(r.path, "/docker/odd");
    let cpu = r.cpu.as_ref().unwrap();
    assert_eq!(cpu.usage_usec, None, "garbage `abc`");
    assert_eq!(cpu.nr_periods, Some(10));
    assert_eq!(cpu.nr_throttled, None, "negative");
    assert_eq!(cpu.throttled_usec, None, "overflow");
    assert_eq!(r.limits.cpu_quota_usec, None, "empty file");
    assert_eq!(r.limits.cpu_shares, None, "u64 overflow");
    assert_eq!(r.limits.cpu_limit_cpus(), None);
    let m = r.memory.as_ref().unwrap();
    assert_eq!(m.usage_bytes, None, "-5");
    assert_eq!(m.events.oom_kill, None, "key missing");
    assert_eq!(m.events.oom_kill_disabled, Some(true));
    assert_eq!(r.limits.memory_max_bytes, Some(Limit::Max), "-1");
    assert_eq!(
        r.limits.memory_soft_limit_bytes,
        Some(Limit::Max),
        "i64::MAX"
    );
    assert_eq!(r.limits.pids_max, Some(Limit::Max));
    assert_eq!(r.freezer, None, "BOGUS");
    assert_eq!(r.limits.cpuset_cpus, None);
    assert_eq!(r.limits.cpuset_effective_cpus.as_deref(), Some("0-3"));
    let notes = r.notes.join("\n");
    for needle in [
        "cpuacct.usage: not a number: \"abc\"",
        "cpu.cfs_quota_us: empty file",
        "cpu.shares: number too large",
        "nr_throttled: negative",
        "garbage line here",
        "memory.usage_in_bytes: negative",
        "freezer.state: unknown freezer state \"BOGUS\"",
        "cpuset.cpus: not a CPU list",
    ] {
        assert!(notes.contains(needle), "no note {needle:?} in:\n{notes}");
    }
    assert!(!r.sources.contains_key("cpu.usage_usec"));
    assert!(!r.sources.contains_key("freezer"));
}

#[test]
fn v1_cgroup_missing_from_some_hierarchies_lists_them() {
    let (root, layout, _dir) = layout("v1");
    let r = read_at(&root, &layout, "/docker/partial").unwrap().unwrap();
    assert_eq!(r.missing, ["pids", "cpuset", "freezer", "pressure"]);
    assert_eq!(r.cpu.as_ref().unwrap().usage_usec, Some(7));
    // Files absent in the cpu hierarchy: no throttling figures, no limit, no note.
    assert_eq!(r.cpu.as_ref().unwrap().nr_periods, None);
    assert_eq!(r.limits.cpu_quota_usec, None);
    let m = r.memory.as_ref().unwrap();
    assert_eq!(m.usage_bytes, Some(8192));
    assert_eq!(m.peak_bytes, None);
    assert_eq!(m.anon_bytes, None);
    assert_eq!(r.limits.memory_max_bytes, Some(Limit::Value(1_048_576)));
    assert!(r.notes.is_empty(), "{:?}", r.notes);
    // No pids hierarchy entry: the count comes from the next preferred one (memory).
    assert_eq!(r.nprocs, 1);
    assert!(r.sources["nprocs"].ends_with("memory/docker/partial/cgroup.procs"));
}

#[test]
fn nonexistent_and_escaping_paths_are_none() {
    let (root, layout, _dir) = layout("v1");
    assert!(read_at(&root, &layout, "/docker/nope").unwrap().is_none());
    assert!(
        read_at(&root, &layout, "/docker/../../..")
            .unwrap()
            .is_none()
    );
    assert!(read_tree(&root, &layout, "/nope", None).unwrap().is_none());
    let gone = [
        membership(5, &["pids"], "/gone"),
        membership(4, &["memory"], "/gone"),
    ];
    assert!(
        read_for_memberships(&root, &layout, &gone)
            .unwrap()
            .is_none()
    );
    assert!(read_for_memberships(&root, &layout, &[]).unwrap().is_none());
}

#[test]
fn memberships_with_different_paths_per_controller() {
    let (root, layout, _dir) = layout("v1");
    let lines = [
        membership(5, &["pids"], "/docker/c1"),
        membership(3, &["cpu", "cpuacct"], "/docker/c1"),
        membership(4, &["memory"], "/docker/partial"),
        membership(1, &["name=systemd"], "/docker/c1"),
        membership(7, &["freezer"], "/docker"),
    ];
    let r = read_for_memberships(&root, &layout, &lines)
        .unwrap()
        .unwrap();
    assert_eq!(r.path, "/docker/c1");
    assert_eq!(r.cpu.as_ref().unwrap().usage_usec, Some(5_000_000));
    assert_eq!(r.memory.as_ref().unwrap().usage_bytes, Some(8192));
    assert_eq!(r.limits.memory_max_bytes, Some(Limit::Value(1_048_576)));
    assert_eq!(r.freezer, Some(FreezerState::Thawed));
    assert!(r.sources["freezer"].ends_with("freezer/docker/freezer.state"));
    // No cpuset line for the process: cpuset is missing, not read from somewhere else.
    assert!(r.missing.contains(&"cpuset".to_string()));
}

#[test]
fn v1_tree_is_the_union_of_hierarchies_without_symlinks() {
    let (root, layout, _dir) = layout("v1");
    let tree = read_tree(&root, &layout, "/", None).unwrap().unwrap();
    assert_eq!(tree.path, "/");
    assert_eq!(tree.name, "/");
    let names: Vec<&str> = tree.children.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["docker"], "symlinks cpu, cpuacct are not cgroups");
    let docker = &tree.children[0];
    let names: Vec<&str> = docker.children.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["c1", "odd", "partial"]);
    let nested = &docker.children[0].children[0];
    assert_eq!(nested.path, "/docker/c1/nested");
    assert_eq!(nested.reading.limits.cpu_shares, Some(2));
    assert_eq!(nested.reading.limits.cpuset_cpus.as_deref(), Some(""));
    assert!(nested.children.is_empty());

    let shallow = read_tree(&root, &layout, "/docker", Some(0))
        .unwrap()
        .unwrap();
    assert!(shallow.children.is_empty());
    let one = read_tree(&root, &layout, "/docker", Some(1))
        .unwrap()
        .unwrap();
    assert_eq!(one.children.len(), 3);
    assert!(one.children.iter().all(|c| c.children.is_empty()));
}

#[test]
fn v2_container_reads_core_and_controller_files() {
    let (root, layout, dir) = layout("v2");
    let r = read_at(&root, &layout, "/system.slice/docker-abc.scope")
        .unwrap()
        .unwrap();
    let cpu = r.cpu.as_ref().unwrap();
    assert_eq!(cpu.usage_usec, Some(630_000));
    assert_eq!(cpu.user_usec, Some(400_000));
    assert_eq!(cpu.system_usec, Some(230_000));
    assert_eq!(cpu.nr_periods, Some(31));
    assert_eq!(cpu.nr_throttled, Some(30));
    assert_eq!(cpu.throttled_usec, Some(2_400_000));
    assert_eq!(r.limits.cpu_quota_usec, Some(Limit::Value(20_000)));
    assert_eq!(r.limits.cpu_period_usec, Some(100_000));
    assert_eq!(r.limits.cpu_limit_cpus(), Some(Limit::Value(0.2)));
    assert_eq!(r.limits.cpu_weight, Some(100));
    assert_eq!(r.limits.cpu_shares, None);
    let m = r.memory.as_ref().unwrap();
    assert_eq!(m.usage_bytes, Some(52_428_800));
    assert_eq!(m.peak_bytes, Some(60_000_000));
    assert_eq!(m.swap_bytes, Some(0));
    assert_eq!(m.anon_bytes, Some(41_943_040));
    assert_eq!(m.kernel_bytes, Some(1_048_576));
    assert_eq!(m.pgfault, Some(12_345));
    assert_eq!(m.events.high, Some(5));
    assert_eq!(m.events.max, Some(9));
    assert_eq!(m.events.oom, Some(1));
    assert_eq!(m.events.oom_kill, Some(1));
    assert_eq!(m.events.under_oom, None);
    assert_eq!(r.limits.memory_max_bytes, Some(Limit::Value(67_108_864)));
    assert_eq!(r.limits.memory_high_bytes, Some(Limit::Max));
    assert_eq!(r.limits.memory_low_bytes, Some(Limit::Value(0)));
    assert_eq!(r.limits.memory_soft_limit_bytes, None);
    assert_eq!(r.pids.as_ref().unwrap().current, Some(3));
    assert_eq!(r.limits.pids_max, Some(Limit::Max));
    assert_eq!(r.limits.cpuset_cpus.as_deref(), Some(""));
    assert_eq!(r.limits.cpuset_effective_cpus.as_deref(), Some("0-1"));
    assert_eq!(r.freezer, Some(FreezerState::Frozen));
    assert_eq!(r.nprocs, 3);
    let p = r.pressure.as_ref().unwrap();
    let cpu_some = p.cpu.as_ref().unwrap().some.unwrap();
    assert_eq!(cpu_some.avg10, 20.0);
    assert_eq!(cpu_some.avg60, 18.5);
    assert_eq!(cpu_some.total_usec, 2_400_000);
    assert!(
        p.cpu.as_ref().unwrap().full.is_none(),
        "old-kernel cpu.pressure"
    );
    assert_eq!(p.memory.as_ref().unwrap().full.unwrap().total_usec, 50);
    assert!(p.io.is_none(), "garbage io.pressure");
    assert!(
        r.notes.iter().any(|n| n.contains("io.pressure")),
        "{:?}",
        r.notes
    );
    assert!(r.missing.is_empty(), "{:?}", r.missing);
    let scope = dir.join("sys/fs/cgroup/system.slice/docker-abc.scope");
    assert_eq!(r.sources["cpu.usage_usec"], scope.join("cpu.stat"));
    assert_eq!(r.sources["limits.cpu_period_usec"], scope.join("cpu.max"));
    assert_eq!(
        r.sources["memory.events.oom_kill"],
        scope.join("memory.events")
    );
    assert_eq!(r.sources["pressure.cpu"], scope.join("cpu.pressure"));
    assert_eq!(r.sources["nprocs"], scope.join("cgroup.procs"));
}

#[test]
fn v2_odd_and_controllerless_cgroups() {
    let (root, layout, _dir) = layout("v2");
    let odd = read_at(&root, &layout, "/user.slice/odd").unwrap().unwrap();
    assert_eq!(odd.limits.cpu_quota_usec, Some(Limit::Max));
    assert_eq!(odd.limits.cpu_limit_cpus(), Some(Limit::Max));
    assert_eq!(odd.limits.cpu_weight, Some(10_000));
    assert_eq!(odd.cpu.as_ref().unwrap().usage_usec, Some(1));
    assert_eq!(odd.cpu.as_ref().unwrap().user_usec, None, "garbage `x`");
    let m = odd.memory.as_ref().unwrap();
    assert_eq!(m.usage_bytes, None, "empty memory.current");
    assert_eq!(odd.limits.memory_max_bytes, Some(Limit::Max));
    assert_eq!(odd.limits.memory_high_bytes, None, "overflow");
    assert_eq!(odd.limits.memory_low_bytes, Some(Limit::Max));
    assert_eq!(odd.limits.pids_max, None, "-1 is not a v2 value");
    assert_eq!(odd.freezer, Some(FreezerState::Freezing));
    let notes = odd.notes.join("\n");
    for needle in [
        "memory.current: empty",
        "memory.high: number too large",
        "pids.max: negative",
        "user_usec",
    ] {
        assert!(notes.contains(needle), "no note {needle:?} in:\n{notes}");
    }

    let nomem = read_at(&root, &layout, "/user.slice/nomem")
        .unwrap()
        .unwrap();
    assert_eq!(nomem.missing, ["memory", "pids", "cpuset", "pressure"]);
    assert_eq!(nomem.freezer, Some(FreezerState::Thawed));
    assert_eq!(nomem.nprocs, 0);
    assert_eq!(nomem.cpu.as_ref().unwrap().nr_periods, None);
    assert!(nomem.notes.is_empty(), "{:?}", nomem.notes);

    // The root: no cpu.max/memory.max and no freezer there, but PSI and cpu.stat.
    let top = read_at(&root, &layout, "/").unwrap().unwrap();
    assert_eq!(top.cpu.as_ref().unwrap().usage_usec, Some(90_000_000));
    assert_eq!(top.limits.cpu_quota_usec, None);
    assert_eq!(top.freezer, None);
    assert_eq!(
        top.pressure
            .as_ref()
            .unwrap()
            .io
            .as_ref()
            .unwrap()
            .full
            .unwrap()
            .total_usec,
        15
    );
    assert_eq!(top.memory.as_ref().unwrap().kernel_bytes, Some(300));
}

#[test]
fn hybrid_reads_v1_controllers_and_v2_pressure() {
    let (root, layout, dir) = layout("hybrid");
    let r = read_at(&root, &layout, "/isotop/box1").unwrap().unwrap();
    let cpu = r.cpu.as_ref().unwrap();
    // From cpuacct (v1), not from the unified cpu.stat.
    assert_eq!(cpu.usage_usec, Some(240_000));
    assert!(r.sources["cpu.usage_usec"].ends_with("cpuacct/isotop/box1/cpuacct.usage"));
    assert_eq!(cpu.nr_throttled, Some(11));
    assert_eq!(cpu.throttled_usec, Some(880_000));
    assert_eq!(r.limits.cpu_limit_cpus(), Some(Limit::Value(0.2)));
    assert_eq!(r.limits.cpu_shares, Some(256));
    assert_eq!(r.limits.memory_max_bytes, Some(Limit::Value(104_857_600)));
    assert_eq!(r.limits.pids_max, Some(Limit::Value(64)));
    assert_eq!(r.freezer, Some(FreezerState::Thawed));
    assert!(r.sources["freezer"].ends_with("freezer/isotop/box1/freezer.state"));
    let psi = r.pressure.as_ref().unwrap().cpu.as_ref().unwrap();
    assert_eq!(psi.some.unwrap().avg10, 75.0);
    assert_eq!(
        r.sources["pressure.cpu"],
        dir.join("sys/fs/cgroup/unified/isotop/box1/cpu.pressure")
    );
    assert!(r.missing.is_empty(), "{:?}", r.missing);

    // The root as on this machine: no pids or freezer files in v1 roots.
    let top = read_at(&root, &layout, "/").unwrap().unwrap();
    assert_eq!(top.missing, ["pids", "freezer"]);
    assert_eq!(top.limits.memory_max_bytes, Some(Limit::Max));
    assert_eq!(top.cpu.as_ref().unwrap().usage_usec, Some(89_450_387));
}

#[test]
fn hybrid_process_left_in_the_unified_root_gets_no_host_pressure() {
    let (root, layout, _dir) = layout("hybrid");
    // Like this machine's own processes: only the memory cgroup is their own.
    let lines = [
        membership(9, &["name=systemd"], "/"),
        membership(8, &["pids"], "/"),
        membership(4, &["memory"], "/process_api/abc"),
        membership(2, &["cpuacct"], "/"),
        membership(1, &["cpu"], "/"),
        membership(0, &[], "/"),
    ];
    let r = read_for_memberships(&root, &layout, &lines)
        .unwrap()
        .unwrap();
    assert_eq!(r.memory.as_ref().unwrap().usage_bytes, Some(524_288));
    assert!(
        r.pressure.is_none(),
        "the unified root's PSI is the whole host's"
    );
    assert!(r.missing.contains(&"pressure".to_string()));

    // A process whose unified path is its own cgroup does get it.
    let lines = [
        membership(8, &["pids"], "/isotop/box1"),
        membership(0, &[], "/isotop/box1"),
    ];
    let r = read_for_memberships(&root, &layout, &lines)
        .unwrap()
        .unwrap();
    assert!(r.pressure.is_some());
    assert_eq!(r.pids.as_ref().unwrap().current, Some(1));
}

#[test]
fn readings_serialize_limits_as_max_or_numbers() {
    let (root, layout, _dir) = layout("v2");
    let tree = read_tree(&root, &layout, "/system.slice", None)
        .unwrap()
        .unwrap();
    let json = serde_json::to_value(&tree).unwrap();
    let scope = &json["children"][0];
    assert_eq!(scope["path"], "/system.slice/docker-abc.scope");
    assert_eq!(scope["reading"]["limits"]["cpu_quota_usec"], 20_000);
    assert_eq!(scope["reading"]["limits"]["memory_high_bytes"], "max");
    assert_eq!(scope["reading"]["freezer"], "frozen");
    assert_eq!(scope["reading"]["cpu"]["usage_usec"], 630_000);
    assert_eq!(json["reading"]["limits"]["cpu_quota_usec"], "max");
}

#[test]
fn cli_reads_fixture_roots() {
    let (_root, dir) = fixture("v2");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_isotop"))
        .arg("--root")
        .arg(&dir)
        .args(["cgroups", "/system.slice"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("cgroup mode v2: v2 /sys/fs/cgroup ("),
        "{text}"
    );
    assert!(lines[1].starts_with("CGROUP"), "{text}");
    let scope: Vec<&str> = lines[3].split_whitespace().collect();
    // CGROUP PROCS CPU THROTTLED CPU-LIMIT MEM MEM-LIMIT OOM-KILLS PIDS FROZEN
    assert_eq!(
        scope,
        [
            "docker-abc.scope",
            "3",
            "0.6s",
            "30/31",
            "0.20",
            "50.0MiB",
            "64.0MiB",
            "1",
            "3/max",
            "yes"
        ],
        "{text}"
    );

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_isotop"))
        .arg("--root")
        .arg(&dir)
        .args(["cgroups", "--json", "--depth", "1"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["mode"], "v2");
    assert_eq!(json["hierarchies"][0]["mount_point"], "/sys/fs/cgroup");
    assert_eq!(json["tree"]["path"], "/");
    let children = json["tree"]["children"].as_array().unwrap();
    assert_eq!(children.len(), 2);
    assert!(
        children
            .iter()
            .all(|c| c["children"].as_array().unwrap().is_empty())
    );

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_isotop"))
        .arg("--root")
        .arg(&dir)
        .args(["cgroups", "/no/such/group"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no cgroup /no/such/group"), "{err}");
}
