//! Process values for fixture tests of container identification: a hybrid host's cgroup
//! memberships (v1 controllers plus the v2 line) and namespace sets, built in the test so each
//! case states exactly what the kernel would have shown.

use std::path::{Path, PathBuf};

use isotop::host::HostRoot;
use isotop::host::container::Container;
use isotop::host::namespace::{NsKind, NsSet};
use isotop::host::process::{CgroupMembership, Process};

/// First inode of the host's namespaces (each kind gets the next number).
pub const HOST_NS: u64 = 4026531830;

/// The fixture root `tests/fixtures/runtimes/<name>`.
pub fn fixture_root(name: &str) -> HostRoot {
    HostRoot::under(&fixture_dir(name))
}

pub fn fixture_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/runtimes")
        .join(name)
}

/// A namespace set whose kind number `i` (lsns order) has inode `base + i`.
pub fn ns_set(base: u64) -> NsSet {
    let mut set = NsSet::default();
    for (i, kind) in NsKind::ALL.into_iter().enumerate() {
        set.set(kind, Some(base + i as u64));
    }
    set
}

/// The host reference.
pub fn host_ns() -> NsSet {
    ns_set(HOST_NS)
}

/// A container's namespaces: own ipc, mnt, net, pid, uts (base + i); host cgroup, time, user
/// (what Docker gives on a hybrid host).
pub fn container_ns(base: u64) -> NsSet {
    let mut set = host_ns();
    for kind in [
        NsKind::Ipc,
        NsKind::Mnt,
        NsKind::Net,
        NsKind::Pid,
        NsKind::Uts,
    ] {
        set.set(kind, Some(base + kind as u64));
    }
    set
}

/// Memberships of a hybrid host where the runtime placed the process at `path` in every v1
/// hierarchy and in the (empty) v2 one too.
pub fn hybrid(path: &str) -> Vec<CgroupMembership> {
    let mut lines = v1_only(path);
    lines.push(CgroupMembership {
        hierarchy: 0,
        controllers: Vec::new(),
        path: path.to_string(),
    });
    lines
}

/// Memberships where only the v1 hierarchies hold `path` and v2 is at the root (crun here).
pub fn v1_only(path: &str) -> Vec<CgroupMembership> {
    let controllers = ["cpu", "cpuacct", "cpuset", "memory", "pids", "name=systemd"];
    let mut lines: Vec<CgroupMembership> = controllers
        .iter()
        .enumerate()
        .map(|(i, c)| CgroupMembership {
            hierarchy: i as u32 + 1,
            controllers: vec![c.to_string()],
            path: path.to_string(),
        })
        .collect();
    lines.push(CgroupMembership {
        hierarchy: 0,
        controllers: Vec::new(),
        path: "/".into(),
    });
    lines
}

/// A user process.
pub fn process(pid: i32, ppid: i32, comm: &str, path: &str, ns: NsSet) -> Process {
    Process {
        pid,
        ppid,
        uid: 0,
        comm: comm.into(),
        cmdline: [comm].as_slice().into(),
        state: 'S',
        start_ticks: 1000 + pid as u64,
        cpu_ticks: 0,
        rss_bytes: 0,
        threads: 1,
        kernel_thread: false,
        ns,
        cgroups: hybrid(path).into(),
        partial: false,
    }
}

/// A host process in the root cgroup.
pub fn host_process(pid: i32, ppid: i32, comm: &str) -> Process {
    process(pid, ppid, comm, "/", host_ns())
}

/// The container with this id, or a panic listing what was found.
pub fn by_id<'a>(containers: &'a [Container], id: &str) -> &'a Container {
    containers
        .iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("no container {id} in {:#?}", summary(containers)))
}

/// (runtime, id, pids) of each container, for failure messages and set comparisons.
pub fn summary(containers: &[Container]) -> Vec<(String, String, Vec<i32>)> {
    containers
        .iter()
        .map(|c| (c.runtime.to_string(), c.id.clone(), c.pids.clone()))
        .collect()
}

/// Fails if any pid appears in two containers.
pub fn assert_disjoint(containers: &[Container]) {
    let mut seen = foldhash::HashMap::default();
    for c in containers {
        for pid in &c.pids {
            if let Some(other) = seen.insert(*pid, c.id.clone()) {
                panic!("pid {pid} is in both {other} and {}", c.id);
            }
        }
    }
}
