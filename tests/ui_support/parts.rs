//! Builders for the fixture's pieces: namespace sets, cgroup memberships and readings,
//! containers, processes and namespace rows, each with every field spelled out.

use std::collections::BTreeMap;

use isotop::host::cgroup::{CgroupLimits, CgroupReading, CpuStats, Limit, MemoryStats, PidsStats};
use isotop::host::container::{Container, Pod, Runtime};
use isotop::host::namespace::{Namespace, NsKind, NsSet};
use isotop::host::process::{CgroupMembership, Process};
use isotop::host::scan::{ContainerState, ContainerView};
use isotop::sample::{ContainerSample, ProcessSample};

use super::MIB;

pub const HOST_NS: u64 = 4026531830;

pub fn ns_set(base: u64, own: &[NsKind]) -> NsSet {
    let mut set = NsSet::default();
    for (i, kind) in NsKind::ALL.into_iter().enumerate() {
        let inode = if own.contains(&kind) {
            base + i as u64
        } else {
            HOST_NS + i as u64
        };
        set.set(kind, Some(inode));
    }
    set
}

pub fn host_ns() -> NsSet {
    ns_set(0, &[])
}

pub fn membership(path: &str) -> Vec<CgroupMembership> {
    vec![
        CgroupMembership {
            hierarchy: 3,
            controllers: vec!["memory".into()],
            path: path.into(),
        },
        CgroupMembership {
            hierarchy: 0,
            controllers: vec![],
            path: "/".into(),
        },
    ]
}

pub fn reading(
    path: &str,
    nprocs: usize,
    cpu: Option<(u64, u64)>,
    mem: u64,
    mem_max: Option<u64>,
    pids: u64,
    pids_max: Option<u64>,
) -> CgroupReading {
    CgroupReading {
        path: path.into(),
        cpu: Some(CpuStats {
            usage_usec: Some(1_000_000),
            nr_periods: Some(200),
            nr_throttled: Some(20),
            throttled_usec: Some(5_000),
            ..CpuStats::default()
        }),
        memory: Some(MemoryStats {
            usage_bytes: Some(mem),
            peak_bytes: Some(mem + MIB),
            ..MemoryStats::default()
        }),
        pids: Some(PidsStats {
            current: Some(pids),
            refused_forks: Some(0),
        }),
        pressure: None,
        limits: CgroupLimits {
            cpu_quota_usec: Some(cpu.map(|(q, _)| Limit::Value(q)).unwrap_or(Limit::Max)),
            cpu_period_usec: Some(cpu.map(|(_, p)| p).unwrap_or(100_000)),
            memory_max_bytes: Some(mem_max.map(Limit::Value).unwrap_or(Limit::Max)),
            pids_max: Some(pids_max.map(Limit::Value).unwrap_or(Limit::Max)),
            cpuset_effective_cpus: Some("0-1".into()),
            ..CgroupLimits::default()
        },
        freezer: None,
        nprocs,
        sources: BTreeMap::new(),
        missing: vec![],
        notes: vec![],
    }
}

pub struct Spec {
    pub id: &'static str,
    pub name: &'static str,
    pub runtime: Runtime,
    pub pids: Vec<i32>,
    pub ns: NsSet,
    pub cgroup: Option<&'static str>,
    pub pod: Option<Pod>,
}

pub fn container(
    spec: Spec,
    reading: Option<CgroupReading>,
    cpu: Option<f64>,
    mem: Option<u64>,
) -> ContainerSample {
    let host = host_ns();
    let shared: Vec<NsKind> = spec
        .ns
        .iter()
        .filter(|(k, i)| host.get(*k) == Some(*i))
        .map(|(k, _)| k)
        .collect();
    let limits = reading.as_ref().map(|r| r.limits.clone());
    let c = Container {
        id: spec.id.into(),
        name: spec.name.into(),
        runtime: spec.runtime,
        image: (spec.runtime == Runtime::Kubernetes).then(|| "registry.local/api:1.2".to_string()),
        init_pid: spec.pids.first().copied(),
        pids: spec.pids.clone(),
        cgroups: spec.cgroup.map(membership).unwrap_or_default(),
        cgroup_path: spec.cgroup.map(String::from),
        namespaces: spec.ns,
        shared_with_host: shared,
        pod: spec.pod,
        labels: BTreeMap::new(),
        metadata: None,
        start_ticks: Some(1000),
        running: true,
        trust: isotop::host::container::Trust::root(),
    };
    ContainerSample {
        view: ContainerView {
            container: c,
            state: ContainerState::Running,
            uptime_seconds: Some(3725.0),
            cgroup: reading,
        },
        cpu_percent: cpu,
        throttled_percent: cpu.map(|c| c / 10.0),
        memory_bytes: mem,
        memory_limit_bytes: limits.as_ref().and_then(|l| l.memory_max_bytes),
        cpu_limit_cpus: limits.as_ref().and_then(|l| l.cpu_limit_cpus()),
        pids: spec.pids.len(),
        pids_limit: limits.as_ref().and_then(|l| l.pids_max),
    }
}

#[allow(clippy::too_many_arguments)] // a fixture row: every field spelled out at the call
pub fn process(
    pid: i32,
    ppid: i32,
    comm: &str,
    cmdline: &[&str],
    ns: NsSet,
    cgroup: &str,
    container: Option<&str>,
    cpu: f64,
) -> ProcessSample {
    let mut p = Process::new(pid, 0, ns);
    p.ppid = ppid;
    p.comm = comm.into();
    p.cmdline = cmdline.iter().map(|s| s.to_string()).collect();
    p.state = 'S';
    p.rss_bytes = 4 * MIB + pid as u64 * 4096;
    p.threads = 1;
    p.kernel_thread = pid == 2;
    p.cgroups = membership(cgroup).into();
    ProcessSample {
        process: p,
        cpu_percent: Some(cpu),
        user: "root".into(),
        container_id: container.map(String::from),
    }
}

pub fn namespace(kind: NsKind, inode: u64, pids: Vec<i32>, command: &str) -> Namespace {
    Namespace {
        inode,
        kind,
        nprocs: pids.len(),
        pid: pids.first().copied(),
        uid: Some(0),
        user: Some("root".into()),
        command: Some(command.into()),
        parent: None,
        owner: None,
        owner_uid: None,
        nsfs: vec![],
        pids,
    }
}
