//! The trigger line, the choice of cgroups within the budget, the targets beneath the mount,
//! fires kept earliest, and a watcher that never writes a file that is not on cgroup2.

use std::path::Path;

use super::*;
use crate::host::cgroup::{CgroupReading, Hierarchy, Pressure};

#[test]
fn the_trigger_line_is_the_threshold_share_of_the_window() {
    assert_eq!(
        trigger_line(20.0, WINDOW_US).as_deref(),
        Some("some 200000 1000000")
    );
    assert_eq!(
        trigger_line(20.0, UNPRIVILEGED_WINDOW_US).as_deref(),
        Some("some 400000 2000000")
    );
    assert_eq!(
        trigger_line(100.0, WINDOW_US).as_deref(),
        Some("some 1000000 1000000")
    );
    // At least 1 µs: the kernel refuses 0.
    assert_eq!(
        trigger_line(0.00001, WINDOW_US).as_deref(),
        Some("some 1 1000000")
    );
    assert_eq!(
        trigger_line(12.345, WINDOW_US).as_deref(),
        Some("some 123450 1000000")
    );
    for bad in [0.0, -5.0, 100.5, f64::NAN, f64::INFINITY] {
        assert_eq!(trigger_line(bad, WINDOW_US), None, "{bad}");
    }
    assert_eq!(trigger_line(20.0, 0), None);
    assert_eq!(fire_share(200_000, 1_000_000), 20.0);
}

fn fire_share(stall_us: u64, window_us: u64) -> f64 {
    Fire {
        at_ms: 0,
        stall_us,
        window_us,
    }
    .percent()
}

#[test]
fn the_budget_keeps_containers_first_then_the_deepest_cgroups() {
    let unowned: Vec<(usize, String)> = vec![
        (1, "/system.slice".into()),
        (2, "/system.slice/cron.service".into()),
        (3, "/user.slice/user-0.slice/session-1.scope".into()),
        (1, "/user.slice".into()),
    ];
    // Everything fits: sorted keys, none beyond.
    let (keys, beyond) = choose(&["/docker/b", "/docker/a"], &unowned, 10);
    assert_eq!(beyond, 0);
    assert_eq!(
        keys,
        [
            "/docker/a",
            "/docker/b",
            "/system.slice",
            "/system.slice/cron.service",
            "/user.slice",
            "/user.slice/user-0.slice/session-1.scope",
        ]
    );
    // Four places: both containers, then the two deepest cgroups.
    let (keys, beyond) = choose(&["/docker/b", "/docker/a"], &unowned, 4);
    assert_eq!(beyond, 2);
    assert_eq!(
        keys,
        [
            "/docker/a",
            "/docker/b",
            "/system.slice/cron.service",
            "/user.slice/user-0.slice/session-1.scope",
        ]
    );
    // More containers than places: the first ones in the frame's order.
    let many: Vec<String> = (0..MAX_CGROUPS + 5).map(|i| format!("/c/{i:04}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let (keys, beyond) = choose(&many, &unowned, MAX_CGROUPS);
    assert_eq!(keys.len(), MAX_CGROUPS);
    assert_eq!(beyond, 5 + unowned.len());
    assert_eq!(keys.last().map(String::as_str), Some("/c/0127"));
    // A key named twice counts once.
    let (keys, beyond) = choose(&["/x", "/x"], &[(1, "/x".into())], 1);
    assert_eq!((keys, beyond), (vec!["/x".to_string()], 0));
}

/// A cgroup of a flattened tree, with pressure files or not.
fn cgroup(path: &str, depth: usize, has_children: bool, pressure: bool) -> CgroupSample {
    CgroupSample {
        path: path.into(),
        name: path.rsplit('/').next().unwrap_or_default().into(),
        depth,
        has_children,
        reading: std::sync::Arc::new(CgroupReading {
            path: path.into(),
            cpu: None,
            memory: None,
            pids: None,
            pressure: pressure.then(Pressure::default),
            io: None,
            limits: Default::default(),
            freezer: None,
            nprocs: 0,
            sources: Default::default(),
            missing: Vec::new(),
            notes: Vec::new(),
        }),
        cpu_percent: None,
        throttled_percent: None,
        container_id: None,
        io_rates: Default::default(),
    }
}

#[test]
fn unowned_leaves_with_pressure_files_are_the_candidates() {
    let mut tree = vec![
        cgroup("/", 0, true, true),
        cgroup("/a", 1, true, true),
        cgroup("/a/b", 2, false, true),
        cgroup("/a/v1only", 2, false, false),
        cgroup("/c", 1, true, true),
        cgroup("/c/d", 2, false, true),
        cgroup("/e", 1, false, true),
    ];
    tree[4].container_id = Some("c".into());
    assert_eq!(
        unowned_candidates(&tree),
        [(2, "/a/b".to_string()), (1, "/e".to_string())]
    );
}

fn v2(dir: &str, mount_root: &str) -> Hierarchy {
    Hierarchy {
        version: 2,
        controllers: Vec::new(),
        mount_point: dir.into(),
        dir: dir.into(),
        mount_root: mount_root.into(),
    }
}

#[test]
fn targets_are_relative_to_the_mount_and_never_its_root() {
    let h = v2("/sys/fs/cgroup/unified", "/");
    let t = target(&h, "/docker/abc").unwrap();
    assert_eq!(t.relative, Path::new("docker/abc"));
    assert_eq!(t.key, "/docker/abc");
    assert_eq!(target(&h, "/"), None);
    assert_eq!(target(&h, "/a/../../etc"), None);
    // isotop in a container whose cgroup mount shows /kubepods/pod1 as its root.
    let h = v2("/host/sys/fs/cgroup", "/kubepods/pod1");
    let t = target(&h, "/kubepods/pod1/ctr").unwrap();
    assert_eq!(t.relative, Path::new("ctr"));
    assert_eq!(target(&h, "/elsewhere/ctr"), None);
}

#[test]
fn the_earliest_fire_of_a_trigger_is_kept_and_merged() {
    let mut fired = FiredTriggers::default();
    assert!(fired.is_empty());
    let at = |at_ms| Fire {
        at_ms,
        stall_us: 1,
        window_us: 2,
    };
    fired.record("/a", PressureResource::Io, at(20));
    fired.record("/a", PressureResource::Io, at(10));
    fired.record("/a", PressureResource::Io, at(30));
    assert_eq!(fired.of("/a"), [None, None, Some(at(10))]);
    let mut other = FiredTriggers::default();
    other.record("/a", PressureResource::Cpu, at(5));
    other.record("/b", PressureResource::Io, at(1));
    fired.merge(&other);
    assert_eq!(fired.of("/a"), [Some(at(5)), None, Some(at(10))]);
    assert_eq!(fired.of("/b"), [None, None, Some(at(1))]);
    assert_eq!(fired.of("/c"), [None, None, None]);
    fired.clear();
    assert!(fired.is_empty());
}

#[test]
fn a_watcher_on_a_tree_that_is_not_cgroup2_writes_nothing() {
    // A fixture-like tree: regular files where the pressure files would be.
    let dir = tempfile::tempdir().unwrap();
    let cgroup = dir.path().join("box");
    std::fs::create_dir(&cgroup).unwrap();
    let text = "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n";
    for resource in RESOURCES {
        std::fs::write(cgroup.join(file_name(resource)), text).unwrap();
    }
    let worker = watcher::Worker::spawn(dir.path().to_path_buf(), 20.0).unwrap();
    worker.watch(vec![WatchTarget {
        key: "/box".into(),
        relative: "box".into(),
    }]);
    let report = worker
        .reports
        .recv_timeout(std::time::Duration::from_secs(10))
        .expect("a status from the watcher");
    let watcher::Report::Status(status, armed) = report else {
        panic!("{report:?}");
    };
    assert!(armed.is_empty());
    assert_eq!(status.armed, 0);
    assert_eq!(status.refused, Some(TriggerRefusal::NotCgroup2));
    drop(worker);
    for resource in RESOURCES {
        let now = std::fs::read_to_string(cgroup.join(file_name(resource))).unwrap();
        assert_eq!(now, text);
    }
}
