//! `measure` on containers whose cgroups are partly shared (tests/fixtures/shared-cgroup): no
//! figure from the host's root or from a cgroup holding a process outside the container (or
//! below it); the unified cgroup stands in on a hybrid host; limits of shared cgroups are
//! inherited, never the container's own.

use std::sync::Arc;

use super::*;
use crate::host::cgroup::InheritedLimit;

fn fixture(name: &str) -> HostRoot {
    HostRoot::under(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/shared-cgroup")
            .join(name),
    )
}

/// `c` measured on `root` with `processes` as the snapshot; no warning expected.
fn measured(root: &HostRoot, c: Container, processes: &[Process]) -> Measurement {
    let layout = detect_layout(root).unwrap();
    let mut warnings = Vec::new();
    let m = measure(
        root,
        Some(&layout),
        c,
        &Census::new(processes),
        CLOCK,
        &mut warnings,
    );
    assert!(warnings.is_empty(), "{warnings:?}");
    m
}

/// `(hierarchy id, controllers, path)` lines as `/proc/<pid>/cgroup` has them.
type Lines<'a> = &'a [(u32, &'a str, &'a str)];

/// v1: a container in its own pids cgroup `/box`, a memory cgroup `/shared` it shares with the
/// host's process, the cpu root.
const BOX_IN_SHARED: Lines<'static> = &[
    (5, "pids", "/box"),
    (4, "memory", "/shared"),
    (2, "cpu,cpuacct", "/"),
    (1, "name=systemd", "/box"),
];

/// v1: the host's process beside it, in `/shared` too.
const HOST_IN_SHARED: Lines<'static> = &[
    (5, "pids", "/"),
    (4, "memory", "/shared"),
    (2, "cpu,cpuacct", "/"),
    (1, "name=systemd", "/"),
];

fn memberships(lines: Lines<'_>) -> Vec<CgroupMembership> {
    lines
        .iter()
        .map(|(hierarchy, controllers, path)| CgroupMembership {
            hierarchy: *hierarchy,
            controllers: controllers
                .split(',')
                .filter(|c| !c.is_empty())
                .map(str::to_string)
                .collect(),
            path: path.to_string(),
        })
        .collect()
}

fn placed(pid: i32, ppid: i32, rss_bytes: u64, lines: Lines<'_>) -> Process {
    let mut p = process(pid, rss_bytes, 10 * pid as u64);
    p.ppid = ppid;
    p.comm = format!("p{pid}").into();
    p.cgroups = Arc::from(memberships(lines));
    p
}

fn in_cgroups(pids: &[i32], runtime: Runtime, path: &str, lines: Lines<'_>) -> Container {
    let mut c = container(pids, Some(path));
    c.runtime = runtime;
    c.id = "payload".into();
    c.cgroups = memberships(lines).into();
    c
}

/// The nspawn payload's lines on a hybrid host: own `name=systemd` and unified cgroups, v1
/// controllers at the root, memory in `/shared`.
const PAYLOAD: Lines<'static> = &[
    (9, "name=systemd", "/machine/payload"),
    (8, "pids", "/"),
    (6, "freezer", "/"),
    (4, "memory", "/shared"),
    (2, "cpuacct", "/"),
    (1, "cpu", "/"),
    (0, "", "/machine/payload"),
];

/// A process outside the payload in the same memory cgroup, everything else at the root.
const NEIGHBOUR: Lines<'static> = &[
    (9, "name=systemd", "/"),
    (8, "pids", "/"),
    (6, "freezer", "/"),
    (4, "memory", "/shared"),
    (2, "cpuacct", "/"),
    (1, "cpu", "/"),
    (0, "", "/"),
];

#[test]
fn hybrid_nspawn_payload_gets_its_own_unified_cpu_and_its_processes_memory() {
    let root = fixture("hybrid");
    let layout = detect_layout(&root).unwrap();
    let processes = [
        placed(1, 0, 4096, NEIGHBOUR),
        placed(200, 1, 3_000_000, PAYLOAD),
        placed(201, 200, 1_000_000, PAYLOAD),
        placed(300, 1, 900_000_000, NEIGHBOUR),
    ];
    let c = in_cgroups(&[200, 201], Runtime::Nspawn, "/machine/payload", PAYLOAD);
    let m = measured(&root, c, &processes);
    let own: Vec<(&str, bool)> = m
        .view
        .ownership
        .iter()
        .map(|o| (o.hierarchy.as_str(), o.own))
        .collect();
    assert_eq!(
        own,
        [
            ("name=systemd", true),
            ("pids", false),
            ("freezer", false),
            ("memory", false),
            ("cpuacct", false),
            ("cpu", false),
            ("unified", true)
        ]
    );
    let memory = &m.view.ownership[3];
    assert_eq!(
        memory.shared.as_deref(),
        Some("2 processes outside this container (pids 1, 300)")
    );
    assert!(
        m.view.ownership[4]
            .shared
            .as_deref()
            .unwrap()
            .contains("root")
    );

    // CPU: the unified cgroup's 42 ms, not the root's cpuacct.usage (5000 s).
    assert_eq!(m.figures.cpu, CpuCounter::Cgroup { usage_usec: 42_000 });
    let cpu = &m.view.sources.cpu;
    assert_eq!(cpu.from, FigureSource::Unified);
    assert!(
        cpu.file
            .as_deref()
            .unwrap()
            .ends_with("unified/machine/payload/cpu.stat"),
        "{cpu:?}"
    );
    // Memory: its processes' resident sets, not /shared's 1 GiB nor the root's 1.5 GiB.
    assert_eq!(m.figures.memory_bytes, Some(4_000_000));
    assert_eq!(m.figures.memory_source, Some(FigureSource::Processes));
    assert_eq!(m.view.sources.memory.from, FigureSource::Processes);
    // Pressure and the freezer are its own unified cgroup's.
    let reading = m.view.cgroup.as_ref().expect("its own cgroups are read");
    assert_eq!(reading.path, "/machine/payload");
    assert!(reading.memory.is_none(), "{:?}", reading.memory);
    assert!(reading.sources["pressure.cpu"].ends_with("unified/machine/payload/cpu.pressure"));
    assert!(reading.sources["freezer"].ends_with("unified/machine/payload/cgroup.events"));
    assert_eq!(m.view.state, ContainerState::Running);
    // Limits: none of its own; the shared ones are inherited, marked with their cgroup.
    assert_eq!(
        (
            m.figures.memory_limit_bytes,
            m.figures.cpu_limit_cpus,
            m.figures.pids_limit
        ),
        (None, None, None)
    );
    let inherited = &m.figures.inherited_limits;
    assert_eq!(
        inherited.memory_max_bytes,
        Some(InheritedLimit {
            limit: Limit::Value(2_147_483_648),
            cgroup: "/shared".into()
        })
    );
    assert_eq!(
        inherited.cpu_cpus,
        Some(InheritedLimit {
            limit: Limit::Max,
            cgroup: "/".into()
        })
    );
    assert_eq!(inherited.pids_max, None, "the v1 root has no pids.max");
    assert_eq!(m.view.sources.memory_limit.from, FigureSource::Inherited);
    assert_eq!(m.view.sources.pids_limit.from, FigureSource::Unavailable);
    assert!(m.view.sources.pids_limit.note.is_some());
    // `ls`'s second read takes the same counter from the same file.
    assert_eq!(
        reread(&root, Some(&layout), &m.view).cpu,
        Some(CpuCounter::Cgroup { usage_usec: 42_000 })
    );
    // The JSON names each figure's source.
    let json = serde_json::to_value(&m.view).unwrap();
    assert_eq!(json["sources"]["cpu"]["from"], "unified");
    assert_eq!(json["sources"]["memory"]["from"], "processes");
    assert_eq!(json["inherited_limits"]["cpu_cpus"]["limit"], "max");
}

#[test]
fn hybrid_memory_cgroup_without_outsiders_is_its_own() {
    let root = fixture("hybrid");
    // Nobody else in /shared: it holds the container alone, so its figures are the container's.
    let processes = [
        placed(1, 0, 4096, &[(4, "memory", "/"), (0, "", "/")]),
        placed(200, 1, 3_000_000, PAYLOAD),
    ];
    let c = in_cgroups(&[200], Runtime::Nspawn, "/machine/payload", PAYLOAD);
    let m = measured(&root, c, &processes);
    assert_eq!(m.figures.memory_bytes, Some(1_073_741_824));
    assert_eq!(m.view.sources.memory.from, FigureSource::OwnCgroup);
    assert_eq!(
        m.figures.memory_limit_bytes,
        Some(Limit::Value(2_147_483_648))
    );
    assert_eq!(m.figures.inherited_limits.memory_max_bytes, None);
    // CPU still the unified stand-in: cpuacct is at the root.
    assert_eq!(m.view.sources.cpu.from, FigureSource::Unified);
}

#[test]
fn a_runtimes_helper_in_the_cgroup_does_not_make_it_shared() {
    let root = fixture("hybrid");
    // systemd-nspawn, the init's parent, sits in the payload's memory cgroup: it is the
    // runtime's, counted with the container (as the acts' live check counts it).
    let mut supervisor = placed(150, 1, 2_000_000, PAYLOAD);
    supervisor.comm = "systemd-nspawn".into();
    let processes = [
        placed(1, 0, 4096, &[(4, "memory", "/"), (0, "", "/")]),
        supervisor,
        placed(200, 150, 3_000_000, PAYLOAD),
    ];
    let c = in_cgroups(&[200], Runtime::Nspawn, "/machine/payload", PAYLOAD);
    let m = measured(&root, c, &processes);
    assert_eq!(m.view.sources.memory.from, FigureSource::OwnCgroup);
    // The same container as Docker has no helper: the parent is an outsider there.
    let c = in_cgroups(&[200], Runtime::Docker, "/machine/payload", PAYLOAD);
    let m = measured(&root, c, &processes);
    assert_eq!(m.view.sources.memory.from, FigureSource::Processes);
}

#[test]
fn v1_root_cpu_and_shared_memory_fall_back_to_processes_own_pids_stay() {
    let root = fixture("v1");
    let (mine, outsider) = (BOX_IN_SHARED, HOST_IN_SHARED);
    let processes = [
        placed(1, 0, 4096, outsider),
        placed(40, 1, 5_000_000, mine),
        placed(41, 40, 7_000_000, mine),
    ];
    let c = in_cgroups(&[40, 41], Runtime::Runc, "/box", mine);
    let m = measured(&root, c, &processes);
    // No unified hierarchy to stand in: CPU is the sum over its processes.
    assert_eq!(m.view.sources.cpu.from, FigureSource::Processes);
    assert!(matches!(m.figures.cpu, CpuCounter::Processes(ref t) if t.len() == 2));
    assert_eq!(m.figures.memory_bytes, Some(12_000_000));
    assert_eq!(m.view.sources.memory.from, FigureSource::Processes);
    // The pids cgroup is its own: its limit is its own.
    assert_eq!(m.figures.pids_limit, Some(Limit::Value(64)));
    assert_eq!(m.view.sources.pids_limit.from, FigureSource::OwnCgroup);
    let inherited = &m.figures.inherited_limits;
    assert_eq!(
        inherited
            .memory_max_bytes
            .as_ref()
            .map(|l| l.cgroup.as_str()),
        Some("/shared")
    );
    assert_eq!(inherited.pids_max, None);
}

#[test]
fn v2_a_cgroup_with_an_outsider_below_it_is_shared() {
    let root = fixture("v2");
    let mine: Lines<'_> = &[(0, "", "/apps.slice")];
    let processes = [
        placed(1, 0, 4096, &[(0, "", "/")]),
        placed(60, 1, 2_000_000, mine),
        // Not the container's, in a child of its cgroup: the cgroup's usage includes it.
        placed(61, 1, 500_000_000, &[(0, "", "/apps.slice/other")]),
        placed(70, 1, 1_000_000, &[(0, "", "/solo.slice/box")]),
    ];
    let c = in_cgroups(&[60], Runtime::Runc, "/apps.slice", mine);
    let m = measured(&root, c, &processes);
    assert_eq!(
        m.view.ownership[0].shared.as_deref(),
        Some("1 process outside this container (pid 61)")
    );
    assert!(m.view.cgroup.is_none());
    assert_eq!(m.view.sources.cpu.from, FigureSource::Processes);
    assert_eq!(m.figures.memory_bytes, Some(2_000_000));
    let inherited = &m.figures.inherited_limits;
    assert_eq!(
        inherited.memory_max_bytes.as_ref().map(|l| l.limit),
        Some(Limit::Value(1_073_741_824))
    );
    assert_eq!(
        inherited.cpu_cpus.as_ref().map(|l| l.limit),
        Some(Limit::Value(0.5))
    );
    assert_eq!(
        inherited
            .pids_max
            .as_ref()
            .map(|l| (l.limit, l.cgroup.as_str())),
        Some((Limit::Value(100), "/apps.slice"))
    );
    assert_eq!(m.figures.cpu_limit_cpus, None);

    // A sibling's cgroup held by it alone is its own: figures from the files.
    let solo: Lines<'_> = &[(0, "", "/solo.slice/box")];
    let c = in_cgroups(&[70], Runtime::Runc, "/solo.slice/box", solo);
    let m = measured(&root, c, &processes);
    assert!(m.view.ownership[0].own);
    assert_eq!(m.figures.cpu, CpuCounter::Cgroup { usage_usec: 77_000 });
    assert_eq!(m.view.sources.cpu.from, FigureSource::OwnCgroup);
    assert_eq!(m.figures.memory_bytes, Some(4_194_304));
    assert!(m.figures.inherited_limits.is_empty());
}

#[test]
fn a_cgroup_many_containers_share_is_read_once_a_snapshot() {
    // A copy of the v1 tree whose shared memory limit changes between two measures.
    let dir = tempfile::tempdir().unwrap();
    let copied = std::process::Command::new("cp")
        .arg("-a")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/shared-cgroup/v1/."))
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(copied.success());
    let root = HostRoot::under(dir.path());
    let layout = detect_layout(&root).unwrap();
    let (mine, outsider) = (BOX_IN_SHARED, HOST_IN_SHARED);
    let processes = [
        placed(1, 0, 4096, outsider),
        placed(40, 1, 5_000_000, mine),
        placed(41, 40, 7_000_000, mine),
    ];
    let limit_of = |census: &Census<'_>| {
        let c = in_cgroups(&[40, 41], Runtime::Runc, "/box", mine);
        let m = measure(&root, Some(&layout), c, census, CLOCK, &mut Vec::new());
        m.figures.inherited_limits.memory_max_bytes.map(|l| l.limit)
    };
    let census = Census::new(&processes);
    let before = limit_of(&census);
    assert!(before.is_some());
    let file = dir
        .path()
        .join("sys/fs/cgroup/memory/shared/memory.limit_in_bytes");
    fs::write(&file, "1048576\n").unwrap();
    // The same snapshot: the shared cgroup's reading is the one already made.
    assert_eq!(limit_of(&census), before);
    // The next snapshot reads it again.
    assert_eq!(
        limit_of(&Census::new(&processes)),
        Some(Limit::Value(1_048_576))
    );
}

#[test]
fn a_carried_ownership_list_is_handed_out_again_until_a_reason_changes() {
    let root = fixture("v2");
    let layout = detect_layout(&root).unwrap();
    let mine: Lines<'_> = &[(0, "", "/apps.slice")];
    let with_outsider = [
        placed(60, 1, 2_000_000, mine),
        placed(61, 1, 500_000_000, &[(0, "", "/apps.slice/other")]),
    ];
    let alone = [placed(60, 1, 2_000_000, mine)];
    let mut carry = super::carry::Carry::new(5);
    let mut ownership_on = |processes: &[Process]| {
        carry.begin_tick(false);
        let census = Census::carrying(processes, &mut carry);
        let c = in_cgroups(&[60], Runtime::Runc, "/apps.slice", mine);
        let m = measure(&root, Some(&layout), c, &census, CLOCK, &mut Vec::new());
        drop(census);
        carry.end_tick();
        m.view.ownership
    };
    let first = ownership_on(&with_outsider);
    let again = ownership_on(&with_outsider);
    assert!(
        Arc::ptr_eq(&first, &again),
        "nothing changed: the same list"
    );
    assert!(!first[0].own);
    let changed = ownership_on(&alone);
    assert!(
        !Arc::ptr_eq(&again, &changed),
        "the outsider left: a new list"
    );
    assert!(changed[0].own && changed[0].shared.is_none());
    assert_eq!(first[0].membership, changed[0].membership);
    let after = ownership_on(&alone);
    assert!(Arc::ptr_eq(&changed, &after));
    // Without a carry, a list of its own every time.
    let c = in_cgroups(&[60], Runtime::Runc, "/apps.slice", mine);
    let plain = measured(&root, c, &alone);
    assert!(!Arc::ptr_eq(&after, &plain.view.ownership));
    assert_eq!(after[..], plain.view.ownership[..]);
}
