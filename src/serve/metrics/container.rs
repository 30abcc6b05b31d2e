//! The container families: cAdvisor's (`container_*`) and isotop's own per container
//! (`isotop_container_*`), each from the figures the frame holds for the container.
//!
//! A container's cgroup figures come only from `view.cgroup`, the reading
//! `host::container::measure` took of the cgroups that are the container's own: a container
//! without one (stopped, or sharing its cgroup) has no CPU, memory or I/O series, as it has
//! none in `isotop inspect`, rather than its neighbours' figures.

mod traffic;

use prometheus_client::encoding::DescriptorEncoder;

use super::spec::{self, FamilySpec, Labels, Value, write};
use crate::host::cgroup::{CgroupReading, Limit, PressureFile};
use crate::host::text::clean_str;
use crate::sample::{ContainerSample, Frame};

/// The labels every series of container `c` carries: `id` (its own cgroup's path, else the
/// cgroup it was found in, else its runtime id), `name`, `image`, `runtime`, and for a
/// Kubernetes container `namespace`, `pod`, `container` (cAdvisor's names).
pub(super) fn labels_of(c: &ContainerSample) -> Labels {
    let container = &c.view.container;
    let id = c
        .view
        .cgroup
        .as_ref()
        .map(|r| r.path.clone())
        .or_else(|| container.cgroup_path.clone())
        .unwrap_or_else(|| container.id.clone());
    let mut labels = vec![
        ("id", clean_str(&id)),
        ("name", clean_str(&container.name)),
        ("image", clean_str(container.image.as_deref().unwrap_or(""))),
        ("runtime", container.runtime.name().to_string()),
    ];
    // Only Kubernetes names namespaces; a Podman pod has a name but no namespace.
    if let Some(pod) = container.pod.as_ref().filter(|p| !p.namespace.is_empty()) {
        labels.push(("namespace", clean_str(&pod.namespace)));
        labels.push(("pod", clean_str(&pod.name)));
        labels.push(("container", clean_str(&container.name)));
    }
    labels
}

/// The frame's containers with their labels, for writing families one after another.
pub(super) struct Rows<'a> {
    pub(super) frame: &'a Frame,
    labels: Vec<Labels>,
}

impl<'a> Rows<'a> {
    fn new(frame: &'a Frame) -> Rows<'a> {
        Rows {
            frame,
            labels: frame.containers.iter().map(labels_of).collect(),
        }
    }

    /// One sample per container that has the figure.
    fn each(&self, figure: impl Fn(&ContainerSample) -> Option<Value>) -> Vec<(Labels, Value)> {
        self.each_with(|c| figure(c).map(|v| (Vec::new(), v)).into_iter().collect())
    }

    /// Any number of samples per container, each with labels of its own beside the
    /// container's.
    pub(super) fn each_with(
        &self,
        figures: impl Fn(&ContainerSample) -> Vec<(Labels, Value)>,
    ) -> Vec<(Labels, Value)> {
        let mut samples = Vec::new();
        for (c, labels) in self.frame.containers.iter().zip(&self.labels) {
            for (extra, value) in figures(c) {
                let mut all = labels.clone();
                all.extend(extra);
                samples.push((all, value));
            }
        }
        samples
    }
}

/// The container's own cgroup reading.
fn own(c: &ContainerSample) -> Option<&CgroupReading> {
    c.view.cgroup.as_deref()
}

/// A limit's value; `None` when unlimited or unknown.
fn limited(limit: Option<Limit<u64>>) -> Option<Value> {
    match limit? {
        Limit::Value(v) => Some(Value::Int(v)),
        Limit::Max => None,
    }
}

/// cAdvisor's working set: usage less the inactive page cache (0 when that exceeds usage).
fn working_set(r: &CgroupReading) -> Option<u64> {
    let m = r.memory.as_ref()?;
    let usage = m.usage_bytes?;
    Some(usage.saturating_sub(m.inactive_file_bytes.unwrap_or(0)))
}

/// The counters of the families of [`CPU_USAGE`](spec::CPU_USAGE) and its kin.
fn cpu_families(rows: &Rows, out: &mut Vec<(&'static FamilySpec, Vec<(Labels, Value)>)>) {
    let cpu = |c: &ContainerSample| own(c).and_then(|r| r.cpu.clone());
    out.push((
        &spec::CPU_USAGE,
        rows.each(|c| cpu(c)?.usage_usec.map(Value::usec)),
    ));
    out.push((
        &spec::CPU_USER,
        rows.each(|c| cpu(c)?.user_usec.map(Value::usec)),
    ));
    out.push((
        &spec::CPU_SYSTEM,
        rows.each(|c| cpu(c)?.system_usec.map(Value::usec)),
    ));
    out.push((
        &spec::CFS_PERIODS,
        rows.each(|c| c.kernel.cpu_periods.map(Value::Int)),
    ));
    out.push((
        &spec::CFS_THROTTLED_PERIODS,
        rows.each(|c| c.kernel.cpu_throttled_periods.map(Value::Int)),
    ));
    out.push((
        &spec::CFS_THROTTLED_SECONDS,
        rows.each(|c| cpu(c)?.throttled_usec.map(Value::usec)),
    ));
    out.push((
        &spec::SPEC_CPU_QUOTA,
        rows.each(|c| limited(own(c)?.limits.cpu_quota_usec)),
    ));
    out.push((
        &spec::SPEC_CPU_PERIOD,
        rows.each(|c| own(c)?.limits.cpu_period_usec.map(Value::Int)),
    ));
    out.push((
        &spec::SPEC_CPU_SHARES,
        rows.each(|c| own(c)?.limits.cpu_shares.map(Value::Int)),
    ));
}

fn memory_families(rows: &Rows, out: &mut Vec<(&'static FamilySpec, Vec<(Labels, Value)>)>) {
    let memory = |c: &ContainerSample| own(c).and_then(|r| r.memory.clone());
    let bytes = |f: fn(&crate::host::cgroup::MemoryStats) -> Option<u64>| {
        rows.each(move |c| memory(c).as_ref().and_then(f).map(Value::Int))
    };
    out.push((&spec::MEMORY_USAGE, bytes(|m| m.usage_bytes)));
    out.push((
        &spec::MEMORY_WORKING_SET,
        rows.each(|c| working_set(own(c)?).map(Value::Int)),
    ));
    out.push((&spec::MEMORY_RSS, bytes(|m| m.anon_bytes)));
    out.push((&spec::MEMORY_CACHE, bytes(|m| m.file_bytes)));
    out.push((&spec::MEMORY_SWAP, bytes(|m| m.swap_bytes)));
    out.push((&spec::MEMORY_MAX_USAGE, bytes(|m| m.peak_bytes)));
    out.push((&spec::MEMORY_FAILCNT, bytes(|m| m.events.failcnt)));
    out.push((
        &spec::SPEC_MEMORY_LIMIT,
        rows.each(|c| limited(own(c)?.limits.memory_max_bytes)),
    ));
    out.push((
        &spec::SPEC_MEMORY_RESERVATION,
        rows.each(|c| {
            let l = &own(c)?.limits;
            limited(l.memory_soft_limit_bytes.or(l.memory_low_bytes))
        }),
    ));
    out.push((
        &spec::OOM_EVENTS,
        rows.each(|c| c.kernel.oom_kills.map(Value::Int)),
    ));
}

fn life_families(rows: &Rows, out: &mut Vec<(&'static FamilySpec, Vec<(Labels, Value)>)>) {
    let taken_at_seconds = rows.frame.taken_at_ms as f64 / 1000.0;
    out.push((
        &spec::PROCESSES,
        rows.each(|c| Some(Value::Int(c.pids as u64))),
    ));
    out.push((
        &spec::THREADS,
        rows.each(|c| own(c)?.pids.as_ref()?.current.map(Value::Int)),
    ));
    out.push((
        &spec::START_TIME,
        rows.each(|c| {
            // Whole milliseconds: the uptime and the wall clock are read a moment apart.
            let start = taken_at_seconds - c.view.uptime_seconds?;
            Value::float((start * 1000.0).round() / 1000.0)
        }),
    ));
    out.push((
        &spec::LAST_SEEN,
        rows.each(|_| Value::float(taken_at_seconds)),
    ));
}

/// PSI totals of one resource: `some` (waiting) and `full` (stalled) in seconds.
fn pressure_totals(
    rows: &Rows,
    file: fn(&CgroupReading) -> Option<&PressureFile>,
    full: bool,
) -> Vec<(Labels, Value)> {
    rows.each(|c| {
        let f = file(own(c)?)?;
        let line = if full { f.full? } else { f.some? };
        Some(Value::usec(line.total_usec))
    })
}

fn pressure_families(rows: &Rows, out: &mut Vec<(&'static FamilySpec, Vec<(Labels, Value)>)>) {
    fn cpu(r: &CgroupReading) -> Option<&PressureFile> {
        r.pressure.as_ref()?.cpu.as_ref()
    }
    fn memory(r: &CgroupReading) -> Option<&PressureFile> {
        r.pressure.as_ref()?.memory.as_ref()
    }
    fn io(r: &CgroupReading) -> Option<&PressureFile> {
        r.pressure.as_ref()?.io.as_ref()
    }
    out.push((&spec::PSI_CPU_WAITING, pressure_totals(rows, cpu, false)));
    out.push((&spec::PSI_CPU_STALLED, pressure_totals(rows, cpu, true)));
    out.push((
        &spec::PSI_MEMORY_WAITING,
        pressure_totals(rows, memory, false),
    ));
    out.push((
        &spec::PSI_MEMORY_STALLED,
        pressure_totals(rows, memory, true),
    ));
    out.push((&spec::PSI_IO_WAITING, pressure_totals(rows, io, false)));
    out.push((&spec::PSI_IO_STALLED, pressure_totals(rows, io, true)));
}

/// isotop's own per-container families.
fn own_families(rows: &Rows, out: &mut Vec<(&'static FamilySpec, Vec<(Labels, Value)>)>) {
    out.push((
        &spec::INFO,
        rows.each_with(|c| {
            vec![(
                vec![("state", c.view.state.as_str().to_string())],
                Value::Int(1),
            )]
        }),
    ));
    out.push((&spec::PIDS_LIMIT, rows.each(|c| limited(c.pids_limit))));
    out.push((
        &spec::PIDS_REFUSED,
        rows.each(|c| c.kernel.pids_refused_forks.map(Value::Int)),
    ));
    out.push((
        &spec::PRESSURE,
        rows.each_with(|c| {
            let Some(p) = own(c).and_then(|r| r.pressure.as_ref()) else {
                return Vec::new();
            };
            let mut samples = Vec::new();
            for (resource, file) in [("cpu", &p.cpu), ("memory", &p.memory), ("io", &p.io)] {
                let Some(file) = file else { continue };
                for (kind, line) in [("some", file.some), ("full", file.full)] {
                    let Some(line) = line else { continue };
                    for (window, percent) in [
                        ("10s", line.avg10),
                        ("60s", line.avg60),
                        ("300s", line.avg300),
                    ] {
                        let labels = vec![
                            ("resource", resource.to_string()),
                            ("kind", kind.to_string()),
                            ("window", window.to_string()),
                        ];
                        samples.extend(Value::float(percent / 100.0).map(|v| (labels, v)));
                    }
                }
            }
            samples
        }),
    ));
    out.push((
        &spec::THROTTLED,
        rows.each(|c| Value::float(c.throttled_percent? / 100.0)),
    ));
    out.push((
        &spec::RESTARTS,
        rows.each(|c| c.runtime_state.as_ref()?.restart_count.map(Value::Int)),
    ));
    out.push((
        &spec::HEALTH,
        rows.each_with(|c| {
            let health = c.runtime_state.as_ref().and_then(|s| s.health.as_deref());
            health
                .map(|h| (vec![("health", clean_str(h))], Value::Int(1)))
                .into_iter()
                .collect()
        }),
    ));
    out.push((
        &spec::NAMESPACE,
        rows.each_with(|c| {
            c.view
                .container
                .namespaces
                .iter()
                .map(|(kind, inode)| {
                    let labels = vec![
                        ("type", kind.name().to_string()),
                        ("inode", inode.to_string()),
                    ];
                    (labels, Value::Int(1))
                })
                .collect()
        }),
    ));
}

/// Writes every container family of `frame`.
pub(super) fn encode(
    encoder: &mut DescriptorEncoder,
    frame: &Frame,
) -> Result<(), std::fmt::Error> {
    let rows = Rows::new(frame);
    let mut families = Vec::new();
    cpu_families(&rows, &mut families);
    memory_families(&rows, &mut families);
    life_families(&rows, &mut families);
    traffic::families(&rows, &mut families);
    pressure_families(&rows, &mut families);
    own_families(&rows, &mut families);
    for (spec, samples) in &families {
        write(encoder, spec, samples)?;
    }
    Ok(())
}
