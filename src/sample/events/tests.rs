//! The detector on made-up ticks: containers and cgroups with the figures a test sets, a root
//! that is a temporary directory (no runtime state; a regular file as the kernel log where a
//! test writes one).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::*;
use crate::host::cgroup::{
    CgroupLayout, CgroupLimits, CgroupMode, CgroupReading, FreezerState, Hierarchy, Limit,
    MemoryStats,
};
use crate::host::container::measure::ContainerState;
use crate::host::events::{ChangedBy, EventKind, PressureResource, Timing};
use crate::sample::net::tests::container;
use crate::sample::pressure_triggers::FiredTriggers;

mod kills;
mod pressure;

/// A detector of a root with no runtime state, no kernel log and a private audit log.
struct Bench {
    dir: tempfile::TempDir,
    detector: EventDetector,
    at_ms: u64,
    /// The triggers that fired, handed to the next tick (then cleared).
    fired: FiredTriggers,
}

impl Bench {
    fn new() -> Bench {
        Bench::with_thresholds(EventThresholds::default())
    }

    fn with_thresholds(thresholds: EventThresholds) -> Bench {
        let dir = tempfile::tempdir().unwrap();
        let mut detector = EventDetector::new(HostRoot::under(dir.path()), thresholds);
        detector.set_audit_log(dir.path().join("audit.jsonl"));
        Bench {
            dir,
            detector,
            at_ms: 0,
            fired: FiredTriggers::default(),
        }
    }

    /// One tick of `containers` (and a tree read, when given), now (the audit log's acts are
    /// stamped with the real clock).
    fn tick_with(
        &mut self,
        containers: &[ContainerSample],
        cgroups: Option<(&[CgroupSample], &CgroupLayout)>,
    ) -> Vec<Event> {
        self.at_ms = crate::units::now_ms().max(self.at_ms + 1);
        let fired = std::mem::take(&mut self.fired);
        self.detector.detect(&EventInputs {
            containers,
            cgroups: cgroups.map(|(c, _)| c),
            layout: cgroups.map(|(_, l)| l),
            at_ms: self.at_ms,
            fired: &fired,
        })
    }

    fn tick(&mut self, containers: &[ContainerSample]) -> Vec<Event> {
        self.tick_with(containers, None)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

fn kinds(events: &[Event]) -> Vec<&'static str> {
    events.iter().map(|e| e.kind.name()).collect()
}

/// A reading of cgroup `path` with no figures but `limits`.
fn reading(path: &str, limits: CgroupLimits) -> CgroupReading {
    CgroupReading {
        path: path.to_string(),
        cpu: None,
        memory: None,
        pids: None,
        pressure: None,
        io: None,
        limits,
        freezer: None,
        nprocs: 1,
        sources: BTreeMap::from([(
            "limits.memory_max_bytes".to_string(),
            PathBuf::from(format!("/sys/fs/cgroup/memory{path}/memory.limit_in_bytes")),
        )])
        .into(),
        missing: Vec::new(),
        notes: Vec::new(),
    }
}

/// Container `id` (init `pid`) whose own cgroup `/box/<id>` has memory limit `memory`.
fn limited(id: &str, pid: i32, memory: u64) -> ContainerSample {
    let mut c = container(id, pid, 1, true);
    let limits = CgroupLimits {
        memory_max_bytes: Some(Limit::Value(memory)),
        ..CgroupLimits::default()
    };
    c.view.cgroup = Some(std::sync::Arc::new(reading(&format!("/box/{id}"), limits)));
    c
}

#[test]
fn the_baseline_tick_emits_nothing_then_starts_and_exits_are_told() {
    let mut bench = Bench::new();
    let (a, b) = (container("a", 10, 1, true), container("b", 20, 1, true));
    assert!(bench.tick(&[a.clone(), b.clone()]).is_empty());
    assert!(bench.tick(&[a.clone(), b.clone()]).is_empty());
    let c = container("c", 30, 1, true);
    let events = bench.tick(&[a.clone(), c.clone()]);
    let mut told = kinds(&events);
    told.sort();
    assert_eq!(told, ["exited", "started"], "{events:?}");
    let exited = events.iter().find(|e| e.kind.name() == "exited").unwrap();
    assert_eq!(exited.subject.container_id.as_deref(), Some("b"));
    // No runtime state here: the code is unknown.
    assert_eq!(
        exited.kind,
        EventKind::Exited {
            exit_code: None,
            stop_requested: false
        }
    );
    assert_eq!(exited.timing, Timing::Sampled);
    let started = events
        .iter()
        .find(|e| e.kind == EventKind::Started)
        .unwrap();
    assert_eq!(started.subject.name, "c");
    assert!(started.detail.contains("init pid 30"), "{}", started.detail);
    // The same id back within minutes: restarted, not started.
    let events = bench.tick(&[a, b, c]);
    assert_eq!(kinds(&events), ["restarted"], "{events:?}");
}

#[test]
fn an_init_changed_under_the_same_id_is_a_restart() {
    let mut bench = Bench::new();
    bench.tick(&[container("a", 10, 1, true)]);
    let events = bench.tick(&[container("a", 11, 1, true)]);
    assert_eq!(kinds(&events), ["restarted"]);
    assert!(events[0].detail.contains("new init pid 11"), "{events:?}");
    // An id made of a pid namespace inode the kernel gave again is another container.
    let mut bench = Bench::new();
    bench.tick(&[container("pidns-7", 10, 1, true)]);
    let events = bench.tick(&[container("pidns-7", 11, 1, true)]);
    assert_eq!(kinds(&events), ["exited", "started"], "{events:?}");
    assert!(bench.tick(&[]).iter().all(|e| e.kind.name() == "exited"));
    let events = bench.tick(&[container("pidns-7", 12, 1, true)]);
    assert_eq!(kinds(&events), ["started"], "{events:?}");
}

#[test]
fn thresholds_start_and_end_with_hysteresis() {
    let mut bench = Bench::with_thresholds(EventThresholds {
        throttled_percent: 50.0,
        pressure_percent: 20.0,
    });
    let mut a = container("a", 10, 1, true);
    let mut tick = |throttled: Option<f64>, memory_pressure: Option<f64>| {
        a.throttled_percent = throttled;
        a.kernel.memory_pressure_percent = memory_pressure;
        bench.tick(std::slice::from_ref(&a))
    };
    assert!(tick(Some(90.0), Some(50.0)).is_empty(), "the baseline");
    let events = tick(Some(60.0), Some(25.0));
    assert_eq!(kinds(&events), ["throttled", "pressure"]);
    assert_eq!(
        events[0].kind,
        EventKind::Throttled {
            percent: 60.0,
            ended: false
        }
    );
    assert!(events[0].kind.is_trouble());
    // Below the threshold but above ¾ of it: still on, nothing new; no figure: nothing.
    assert!(tick(Some(45.0), Some(16.0)).is_empty());
    assert!(tick(None, None).is_empty());
    // Below ¾ of it: the state ends once it stays there for END_AFTER samples in a row; a
    // sample back above ¾ starts the count again.
    for _ in 1..END_AFTER {
        assert!(tick(Some(0.0), Some(10.0)).is_empty());
    }
    assert!(
        tick(Some(45.0), Some(16.0)).is_empty(),
        "back above ¾: still on"
    );
    for _ in 1..END_AFTER {
        assert!(tick(Some(0.0), Some(10.0)).is_empty());
    }
    let events = tick(Some(0.0), Some(10.0));
    assert_eq!(kinds(&events), ["throttled", "pressure"]);
    assert_eq!(
        events[1].kind,
        EventKind::Pressure {
            resource: PressureResource::Memory,
            percent: 10.0,
            ended: true
        }
    );
    assert!(!events[0].kind.is_trouble());
    assert!(tick(Some(40.0), Some(19.0)).is_empty());
    assert_eq!(kinds(&tick(Some(50.0), None)), ["throttled"]);
}

#[test]
fn freezing_and_thawing_are_told() {
    let mut bench = Bench::new();
    let mut a = container("a", 10, 1, true);
    bench.tick(&[a.clone()]);
    a.view.state = ContainerState::Frozen;
    assert_eq!(kinds(&bench.tick(&[a.clone()])), ["frozen"]);
    assert!(bench.tick(&[a.clone()]).is_empty());
    a.view.state = ContainerState::Running;
    assert_eq!(kinds(&bench.tick(&[a])), ["thawed"]);
}

#[test]
fn a_limit_changed_is_isotops_only_when_the_audit_log_holds_the_act() {
    let mut bench = Bench::new();
    bench.tick(&[limited("a", 10, 64 << 20)]);
    // Changed behind isotop's back: told a tick later (the wait for an audit line), as other.
    assert!(bench.tick(&[limited("a", 10, 128 << 20)]).is_empty());
    let events = bench.tick(&[limited("a", 10, 128 << 20)]);
    assert_eq!(
        events[0].kind,
        EventKind::LimitChanged {
            limit: "memory.limit_in_bytes".into(),
            from: Some("64.0MiB".into()),
            to: Some("128.0MiB".into()),
            by: ChangedBy::Other
        },
        "{events:?}"
    );
    assert_eq!(
        events[0].detail,
        "memory.limit_in_bytes 64.0MiB → 128.0MiB (not by isotop)"
    );
    // isotop's act (audited by the container's cgroup path; v1 rounded the value to pages).
    let written = (256u64 << 20) + 100;
    audit(
        &bench.path("audit.jsonl"),
        "cgroup:/box/a",
        "limit.memory",
        written,
    );
    let events = bench.tick(&[limited("a", 10, 256 << 20)]);
    assert_eq!(events.len(), 1, "{events:?}");
    assert!(
        matches!(
            &events[0].kind,
            EventKind::LimitChanged {
                by: ChangedBy::Isotop,
                ..
            }
        ),
        "{events:?}"
    );
    // An act on another target, or writing another value, is not this change's author.
    audit(&bench.path("audit.jsonl"), "b", "limit.memory", 512 << 20);
    audit(&bench.path("audit.jsonl"), "a", "limit.memory", 1 << 30);
    bench.tick(&[limited("a", 10, 512 << 20)]);
    let events = bench.tick(&[limited("a", 10, 512 << 20)]);
    assert!(
        matches!(
            &events[0].kind,
            EventKind::LimitChanged {
                by: ChangedBy::Other,
                ..
            }
        ),
        "{events:?}"
    );
}

/// Appends an act to the audit log at `path`, stamped now.
fn audit(path: &Path, target: &str, what: &str, new: u64) {
    let line = format!(
        "{{\"time\":\"t\",\"unix_seconds\":{},\"user\":\"root\",\"target\":\"{target}\",\
         \"what\":\"{what}\",\"old\":\"1\",\"new\":\"{new}\",\"result\":\"ok\"}}\n",
        crate::units::clock::now_unix()
    );
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    file.write_all(line.as_bytes()).unwrap();
}

/// A cgroup of the flattened tree with `oom_kill` = `kills`.
fn cgroup(path: &str, depth: usize, kills: u64, owner: Option<&str>) -> CgroupSample {
    let mut r = reading(path, CgroupLimits::default());
    r.memory = Some(MemoryStats {
        events: crate::host::cgroup::MemoryEvents {
            oom_kill: Some(kills),
            ..Default::default()
        },
        ..Default::default()
    });
    r.freezer = Some(FreezerState::Thawed);
    CgroupSample {
        path: path.to_string(),
        name: path.rsplit('/').next().unwrap_or_default().to_string(),
        depth,
        has_children: false,
        reading: r.into(),
        cpu_percent: None,
        throttled_percent: None,
        container_id: owner.map(str::to_string),
        io_rates: Default::default(),
    }
}

fn layout(v1_memory: bool) -> CgroupLayout {
    let hierarchies = if v1_memory {
        vec![Hierarchy {
            version: 1,
            controllers: vec!["memory".into()],
            mount_point: "/sys/fs/cgroup/memory".into(),
            dir: "/sys/fs/cgroup/memory".into(),
            mount_root: "/".into(),
        }]
    } else {
        Vec::new()
    };
    CgroupLayout {
        mode: if v1_memory {
            CgroupMode::V1
        } else {
            CgroupMode::V2
        },
        hierarchies,
    }
}

/// `/`, `/a`, `/a/b`, and a container's `/c` with a child `/c/d`, each with its kills.
fn tree(kills: [u64; 5]) -> Vec<CgroupSample> {
    vec![
        cgroup("/", 0, kills[0], None),
        cgroup("/a", 1, kills[1], None),
        cgroup("/a/b", 2, kills[2], None),
        cgroup("/c", 1, kills[3], Some("c")),
        cgroup("/c/d", 2, kills[4], None),
    ]
}

#[test]
fn cgroups_no_container_owns_tell_their_own_kills_once() {
    // v2 counts descendants: one kill in /a/b shows in /a and / too, and is told once, at /a/b;
    // the container's subtree is the container's.
    let v2 = layout(false);
    let mut bench = Bench::new();
    bench.tick_with(&[], Some((&tree([0; 5]), &v2)));
    let events = bench.tick_with(&[], Some((&tree([2, 1, 1, 1, 1]), &v2)));
    let told: Vec<_> = events.iter().map(|e| e.subject.name.as_str()).collect();
    assert_eq!(told, ["/a/b"], "{events:?}");
    assert_eq!(events[0].subject.container_id, None);
    assert!(matches!(
        events[0].kind,
        EventKind::OomKill { count: 1, .. }
    ));
    // v1 counts each cgroup's own: a kill in /a and one in /a/b are two events.
    let v1 = layout(true);
    let mut bench = Bench::new();
    bench.tick_with(&[], Some((&tree([0; 5]), &v1)));
    let events = bench.tick_with(&[], Some((&tree([0, 1, 1, 0, 0]), &v1)));
    let told: Vec<_> = events.iter().map(|e| e.subject.name.as_str()).collect();
    assert_eq!(told, ["/a", "/a/b"], "{events:?}");
    // A cgroup made since the last read, whose first read already counts a kill: the kill is
    // its own (its counters started at 0), not its parent's, whose v2 count holds it too.
    let mut bench = Bench::new();
    bench.tick_with(&[], Some((&tree([0; 5])[..2], &v2)));
    let events = bench.tick_with(&[], Some((&tree([1, 1, 1, 0, 0])[..3], &v2)));
    let told: Vec<_> = events.iter().map(|e| e.subject.name.as_str()).collect();
    assert_eq!(told, ["/a/b"], "{events:?}");
    // Between tree reads, no cgroup event; a freeze of a cgroup is told on the next read.
    assert!(bench.tick(&[]).is_empty());
    let mut frozen = tree([0, 1, 1, 0, 0]);
    std::sync::Arc::make_mut(&mut frozen[1].reading).freezer = Some(FreezerState::Frozen);
    let events = bench.tick_with(&[], Some((&frozen, &v1)));
    assert_eq!(kinds(&events), ["frozen"]);
    assert_eq!(events[0].subject.cgroup.as_deref(), Some("/a"));
}
