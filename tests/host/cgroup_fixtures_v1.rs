//! Cgroup readers against the v1 fixture tree (tests/fixtures/cgroup/v1, laid out as a root
//! file system): co-mounted cpu,cpuacct, a second mount of one hierarchy, `max`, `-1`, empty
//! files, garbage, u64 overflow, missing controllers and files, nested cgroups, and process
//! memberships whose paths differ per controller.

use std::path::Path;

use crate::support::cgroup_fixture;
use cgroup_fixture::{layout, membership};
use isotop::host::cgroup::{
    CgroupMode, FreezerState, Limit, read_at, read_for_memberships, read_tree,
};

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
    assert_eq!(r.missing, ["io", "pressure"]);
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
    assert_eq!(r.missing, ["pids", "cpuset", "freezer", "io", "pressure"]);
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
