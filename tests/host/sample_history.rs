//! History fed with frames: one ring buffer per container and cgroup, bounded by the window;
//! a series whose container or cgroup is gone keeps its points until they age out.

use std::collections::BTreeMap;
use std::time::Duration;

use isotop::host::cgroup::{CgroupLimits, CgroupReading, CpuStats, Limit};
use isotop::host::container::measure::KernelFigures;
use isotop::host::container::{Container, Runtime};
use isotop::host::namespace::{HostReference, NamespaceTable, NsSet};
use isotop::host::scan::{ContainerState, ContainerView};
use isotop::sample::{CgroupSample, ContainerSample, Frame, History, HostSummary, SeriesKey};

fn reading(path: &str) -> CgroupReading {
    CgroupReading {
        path: path.to_string(),
        cpu: Some(CpuStats::default()),
        memory: None,
        pids: None,
        pressure: None,
        limits: CgroupLimits {
            cpu_quota_usec: Some(Limit::Value(20_000)),
            cpu_period_usec: Some(100_000),
            ..CgroupLimits::default()
        },
        freezer: None,
        io: None,
        nprocs: 1,
        sources: Default::default(),
        missing: Vec::new(),
        notes: Vec::new(),
    }
}

fn container(id: &str) -> ContainerSample {
    ContainerSample {
        view: ContainerView {
            container: Container {
                id: id.to_string(),
                name: id.to_string(),
                runtime: Runtime::Runc,
                image: None,
                init_pid: Some(10),
                pids: vec![10],
                cgroups: std::sync::Arc::from([]),
                cgroup_path: Some(format!("/{id}")),
                namespaces: NsSet::default(),
                shared_with_host: Vec::new(),
                pod: None,
                labels: BTreeMap::new(),
                metadata: None,
                start_ticks: Some(1),
                running: true,
                trust: isotop::host::container::Trust::root(),
            }
            .into(),
            state: ContainerState::Running,
            uptime_seconds: Some(1.0),
            cgroup: None,
            ownership: std::sync::Arc::from([]),
            inherited_limits: Default::default(),
            sources: Default::default(),
        },
        cpu_percent: Some(20.0),
        throttled_percent: Some(50.0),
        memory_bytes: Some(1 << 20),
        memory_limit_bytes: Some(Limit::Value(1 << 30)),
        cpu_limit_cpus: Some(Limit::Value(0.2)),
        pids: 1,
        pids_limit: Some(Limit::Max),
        kernel: KernelFigures {
            cpu_pressure_percent: Some(12.5),
            memory_pressure_percent: None,
            ..KernelFigures::default()
        },
        oom_kills_since_start: None,
        stack: None,
        io: None,
        io_rates: Default::default(),
        io_limits: None,
        net: None,
        runtime_state: None,
    }
}

fn frame(seq: u64, t_ms: u64, ids: &[&str]) -> Frame {
    Frame {
        seq,
        taken_at_ms: t_ms,
        interval_ms: None,
        host: HostSummary::default(),
        containers: ids.iter().map(|id| container(id)).collect(),
        pods: Vec::new(),
        cgroups: ids
            .iter()
            .map(|id| CgroupSample {
                path: format!("/{id}"),
                name: id.to_string(),
                depth: 1,
                has_children: false,
                reading: reading(&format!("/{id}")).into(),
                cpu_percent: Some(19.5),
                throttled_percent: None,
                container_id: Some(id.to_string()),
                io_rates: Default::default(),
            })
            .collect(),
        namespaces: NamespaceTable {
            host: HostReference {
                pid: None,
                explanation: String::new(),
                ns: NsSet::default(),
            },
            namespaces: Vec::new(),
            warnings: Vec::new(),
        }
        .into(),
        processes: Vec::new(),
        warnings: Vec::new(),
        layer_sizes: Default::default(),
        networks: Vec::new(),
        net_map: None,
        events: Vec::new(),
    }
}

#[test]
fn series_are_bounded_by_the_window() {
    let mut history = History::new(Duration::from_secs(10));
    // 60 ticks of 1 s: only the last 10 s (11 points, both ends included) remain.
    for s in 0..60u64 {
        history.record(&frame(s, 1_000_000 + s * 1000, &["a"]));
    }
    let key = SeriesKey::Container("a".to_string());
    let points: Vec<_> = history.points(&key).collect();
    assert_eq!(points.len(), 11);
    assert_eq!(points.first().unwrap().t_ms, 1_000_000 + 49_000);
    assert_eq!(points.last().unwrap().t_ms, 1_000_000 + 59_000);
    let p = points.last().unwrap();
    assert_eq!(p.cpu_percent, Some(20.0));
    assert_eq!(p.cpu_limit_percent, Some(20.0));
    assert_eq!(p.memory_limit_bytes, Some(1 << 30));
    assert_eq!(p.pids, Some(1));
    // Pressure is kept like the other series; an absent PSI file stays absent, not 0.
    assert_eq!(p.cpu_pressure_percent, Some(12.5));
    assert_eq!(p.memory_pressure_percent, None);
    assert_eq!(p.io_pressure_percent, None);
    let cgroup: Vec<_> = history
        .points(&SeriesKey::Cgroup("/a".to_string()))
        .collect();
    assert_eq!(cgroup.len(), 11);
    assert_eq!(cgroup[0].cpu_limit_percent, Some(20.0));
}

#[test]
fn a_gone_series_ages_out() {
    let mut history = History::new(Duration::from_secs(10));
    history.record(&frame(0, 100_000, &["a", "b"]));
    history.record(&frame(1, 101_000, &["a"]));
    // "b" vanished but is still readable within the window.
    assert_eq!(history.len(), 4);
    assert_eq!(history.points(&SeriesKey::Container("b".into())).count(), 1);
    history.record(&frame(2, 110_500, &["a"]));
    assert_eq!(history.len(), 2, "b's only point is older than the window");
    assert_eq!(history.points(&SeriesKey::Container("b".into())).count(), 0);
    assert_eq!(history.points(&SeriesKey::Container("a".into())).count(), 2);
}

#[test]
fn a_ten_minute_ring_keeps_its_span_in_bounded_memory() {
    // The dashboard's default: 10 minutes at 1 s, over 30 minutes of ticks, 3 containers.
    let window = Duration::from_secs(600);
    let mut history = History::new(window);
    let ids = ["a", "b", "c"];
    let mut peak_bytes = 0;
    for s in 0..1800u64 {
        history.record(&frame(s, 1_000_000 + s * 1000, &ids));
        for id in ids {
            let n = history.points(&SeriesKey::Container(id.into())).count();
            assert!(n <= 601, "{n} points in a 600 s window at 1 s");
        }
        peak_bytes = peak_bytes.max(history.ring_bytes());
    }
    // 6 series (3 containers, their 3 cgroups) × 601 points: rings grow by a quarter, so
    // at most 1.25 × what they hold (plus the first 16-point step), at 136 bytes a point.
    let bound = 6 * (601 * 5 / 4 + 16) * 136;
    assert!(
        peak_bytes <= bound,
        "rings hold {peak_bytes} bytes, bound {bound}"
    );
    // Packed points read back exactly, missing figures as None.
    let p = history
        .points(&SeriesKey::Container("a".into()))
        .last()
        .unwrap();
    assert_eq!(p.t_ms, 1_000_000 + 1799 * 1000);
    assert_eq!(p.memory_limit_bytes, Some(1 << 30));
    assert_eq!(p.cpu_pressure_percent, Some(12.5));
    assert_eq!(p.memory_pressure_percent, None);
    assert_eq!(p.writable_bytes, None);
}
