//! What the kernel already tells about a container's trouble, as figures: CPU, memory and I/O
//! pressure (PSI `some avg10`), throttling counters, OOM kills and forks refused at the pids
//! limit.
//!
//! Contract: [`KernelFigures::of`] derives them from the reading `measure` chose as the
//! container's own (its `view.cgroup`), so they come from the same cgroup as every other
//! figure, each from the file the reading names in its `sources` (`pressure.cpu`,
//! `cpu.nr_periods`, `memory.events.oom_kill`, `pids.refused_forks`). A figure whose file the
//! cgroup lacks is `None`, never 0: pressure on a v1-only host or with `psi=0`, OOM kills
//! before kernel 4.13 (v1 `memory.oom_control`), refusals without `pids.events`. Counts are
//! totals since the cgroup was made; what happened since isotop started and shares over an
//! interval are the sampler's (`sample::rates`). [`reread`](crate::host::container::measure::reread) re-reads them now
//! (what `isotop ls` does at both ends of its interval). Pure; never fails.

use serde::{Deserialize, Serialize};

use crate::host::cgroup::{CgroupReading, PressureFile};

/// The kernel's own trouble counters and stall shares of one container.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KernelFigures {
    /// Share of the last 10 s in which at least one task waited for a CPU, percent
    /// (`cpu.pressure` `some avg10`; v2, or the unified hierarchy on a hybrid host).
    pub cpu_pressure_percent: Option<f64>,
    /// Share of the last 10 s in which at least one task stalled on memory, percent
    /// (`memory.pressure` `some avg10`).
    pub memory_pressure_percent: Option<f64>,
    /// Share of the last 10 s in which at least one task stalled on I/O, percent
    /// (`io.pressure` `some avg10`).
    pub io_pressure_percent: Option<f64>,
    /// CFS enforcement periods with runnable tasks, in total (`cpu.stat` `nr_periods`).
    pub cpu_periods: Option<u64>,
    /// Of those, periods in which the quota ran out (`cpu.stat` `nr_throttled`).
    pub cpu_throttled_periods: Option<u64>,
    /// Processes the OOM killer killed in the cgroup, in total (v2 `memory.events`
    /// `oom_kill`; v1 `memory.oom_control` `oom_kill`).
    pub oom_kills: Option<u64>,
    /// Forks refused because `pids.max` was reached, in total (`pids.events` `max`).
    pub pids_refused_forks: Option<u64>,
}

/// `some avg10` of one PSI file, percent.
fn some_avg10(file: Option<&PressureFile>) -> Option<f64> {
    file?.some.map(|line| line.avg10)
}

impl KernelFigures {
    /// The figures of the container's own reading (`None`: no cgroup of its own, all `None`).
    pub fn of(reading: Option<&CgroupReading>) -> KernelFigures {
        let Some(r) = reading else {
            return KernelFigures::default();
        };
        let pressure = r.pressure.as_ref();
        let cpu = r.cpu.as_ref();
        KernelFigures {
            cpu_pressure_percent: some_avg10(pressure.and_then(|p| p.cpu.as_ref())),
            memory_pressure_percent: some_avg10(pressure.and_then(|p| p.memory.as_ref())),
            io_pressure_percent: some_avg10(pressure.and_then(|p| p.io.as_ref())),
            cpu_periods: cpu.and_then(|c| c.nr_periods),
            cpu_throttled_periods: cpu.and_then(|c| c.nr_throttled),
            oom_kills: r.memory.as_ref().and_then(|m| m.events.oom_kill),
            pids_refused_forks: r.pids.as_ref().and_then(|p| p.refused_forks),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::Path;

    use super::*;
    use crate::host::HostRoot;
    use crate::host::cgroup::{CgroupLayout, detect_layout};
    use crate::host::container::measure::{Census, Clock, Measurement, measure};
    use crate::host::container::{Container, Runtime, Trust};
    use crate::host::namespace::NsSet;
    use crate::host::process::CgroupMembership;

    fn fixture(name: &str) -> HostRoot {
        HostRoot::under(
            &Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/cgroup")
                .join(name),
        )
    }

    /// A running container whose own cgroup is `path` in every hierarchy of `layout`.
    fn container(layout: &CgroupLayout, path: &str) -> Container {
        let cgroups = layout
            .hierarchies
            .iter()
            .enumerate()
            .map(|(i, h)| CgroupMembership {
                hierarchy: if h.version == 2 { 0 } else { i as u32 + 1 },
                controllers: if h.version == 2 {
                    Vec::new()
                } else {
                    h.controllers.clone()
                },
                path: path.to_string(),
            })
            .collect();
        Container {
            id: "k".repeat(64),
            name: "k".into(),
            runtime: Runtime::Runc,
            image: None,
            init_pid: Some(10),
            pids: vec![10],
            cgroups,
            cgroup_path: Some(path.to_string()),
            namespaces: NsSet::default(),
            shared_with_host: Vec::new(),
            pod: None,
            labels: BTreeMap::new(),
            metadata: None,
            start_ticks: Some(1),
            running: true,
            trust: Trust::root(),
        }
    }

    /// `measure` of `c` alone on the host (no other process read), at uptime 10 s.
    fn measure_alone(root: &HostRoot, layout: &CgroupLayout, c: Container) -> Measurement {
        let clock = Clock {
            uptime_seconds: Some(10.0),
            ticks_per_second: 100,
        };
        measure(
            root,
            Some(layout),
            c,
            &Census::new(&[]),
            clock,
            &mut Vec::new(),
        )
    }

    /// The kernel figures `measure` gives `container(path)` on fixture `name`, and its reading's
    /// sources.
    fn measured(name: &str, path: &str) -> (KernelFigures, BTreeMap<String, std::path::PathBuf>) {
        let root = fixture(name);
        let layout = detect_layout(&root).unwrap();
        let m = measure_alone(&root, &layout, container(&layout, path));
        // The re-read gives the same figures.
        assert_eq!(
            crate::host::container::measure::reread(&root, Some(&layout), &m.view)
                .kernel
                .as_ref(),
            Some(&m.figures.kernel)
        );
        let sources = m
            .view
            .cgroup
            .map(|r| (*r.sources).clone())
            .unwrap_or_default();
        (m.figures.kernel, sources)
    }

    /// CPU, memory and I/O pressure, in that order.
    fn pressures(k: &KernelFigures) -> (Option<f64>, Option<f64>, Option<f64>) {
        (
            k.cpu_pressure_percent,
            k.memory_pressure_percent,
            k.io_pressure_percent,
        )
    }

    #[test]
    fn v2_pressure_events_and_garbage() {
        let (k, sources) = measured("v2", "/system.slice/docker-abc.scope");
        // cpu 20.00; 0.00 is a figure (the file is there and says nothing stalled); io.pressure
        // holds garbage: no figure, not 0.
        assert_eq!(pressures(&k), (Some(20.0), Some(0.0), None));
        assert_eq!(
            (k.cpu_throttled_periods, k.cpu_periods),
            (Some(30), Some(31))
        );
        assert_eq!(k.oom_kills, Some(1));
        assert_eq!(k.pids_refused_forks, Some(0));
        assert!(sources["memory.events.oom_kill"].ends_with("docker-abc.scope/memory.events"));
        assert!(sources["pids.refused_forks"].ends_with("docker-abc.scope/pids.events"));
    }

    #[test]
    fn v1_has_no_pressure_and_reads_oom_control() {
        let (k, sources) = measured("v1", "/docker/c1");
        // A v1-only host has no PSI files: absent, never 0.
        assert_eq!(pressures(&k), (None, None, None));
        assert_eq!(k.oom_kills, Some(3));
        assert!(sources["memory.events.oom_kill"].ends_with("memory/docker/c1/memory.oom_control"));
        assert_eq!(k.pids_refused_forks, Some(2));
        assert_eq!(
            (k.cpu_throttled_periods, k.cpu_periods),
            (Some(40), Some(100))
        );
        // A v1 cgroup without pids.events, oom_kill or cpu.stat: each absent, not 0.
        let (odd, _) = measured("v1", "/docker/odd");
        assert_eq!(odd.oom_kills, None);
        assert_eq!(odd.pids_refused_forks, None);
    }

    #[test]
    fn hybrid_takes_pressure_from_the_unified_hierarchy() {
        let (k, sources) = measured("hybrid", "/isotop/box1");
        // No io.pressure in the fixture's unified cgroup.
        assert_eq!(pressures(&k), (Some(75.0), Some(12.5), None));
        assert!(sources["pressure.memory"].ends_with("unified/isotop/box1/memory.pressure"));
        assert_eq!(k.oom_kills, Some(0));
        assert_eq!(k.pids_refused_forks, Some(4));
        assert!(sources["pids.refused_forks"].ends_with("pids/isotop/box1/pids.events"));
    }

    #[test]
    fn no_cgroup_of_its_own_is_no_figure() {
        assert_eq!(KernelFigures::of(None), KernelFigures::default());
        let root = fixture("v2");
        let layout = detect_layout(&root).unwrap();
        let mut c = container(&layout, "/");
        c.cgroup_path = None;
        // The root cgroup is never a container's own: no figure, measured or re-read.
        let m = measure_alone(&root, &layout, c);
        assert_eq!(m.figures.kernel, KernelFigures::default());
        assert_eq!(
            crate::host::container::measure::reread(&root, Some(&layout), &m.view).kernel,
            None
        );
    }
}
