//! Containers the runtimes keep on disk with no running process (`isotop ls --all`).
//!
//! Sources: runc/crun state dirs, Docker's per-container configs, the Podman/CRI-O stores,
//! containerd task dirs (namespace `moby` is Docker's own and already listed by Docker),
//! LXC configs and isotop's own records that are not running (exited, failed). An id already running, or already listed by an earlier source, is skipped.
//! Records carry no pids, namespaces or cgroups: there is no process to read them from. A
//! stopped runc/crun state another user could have written has nothing running to check it
//! against: it is listed unverified, and its cgroup paths are not taken as its own.

use std::collections::HashSet;

use super::claim::{Trust, record_trust, stopped_trust};
use super::{Container, oci_metadata};
use crate::host::HostRoot;
use crate::host::namespace::NsSet;
use crate::host::runtime::containerd::{self, TaskIndex};
use crate::host::runtime::podman::{self, PodmanStores};
use crate::host::runtime::{Metadata, Runtime, docker, isotop, lxc, oci};

/// Every process-less container record not among `running`.
pub fn find(root: &HostRoot, running: &[Container]) -> Vec<Container> {
    let mut seen: HashSet<String> = running.iter().map(|c| c.id.clone()).collect();
    let mut out = Vec::new();
    let mut push_trusted = |runtime: Runtime,
                            id: String,
                            meta: Metadata,
                            cgroup_path: Option<String>,
                            trust: Trust| {
        if seen.insert(id.clone()) {
            out.push(record(runtime, id, meta, cgroup_path, trust));
        }
    };

    for state in oci::read_states(root) {
        let trust = stopped_trust(&state);
        let path = state
            .cgroup_paths
            .first()
            .cloned()
            .filter(|_| trust.verified);
        push_trusted(
            state.runtime,
            state.id.clone(),
            oci_metadata(&state),
            path,
            trust,
        );
    }
    for id in docker::list(root) {
        let meta = docker::read(root, &id).unwrap_or_default();
        let runtime = if meta.pod.is_some() {
            Runtime::Kubernetes
        } else {
            Runtime::Docker
        };
        push_trusted(runtime, id, meta, None, Trust::root());
    }
    // A container is as trusted as the index that lists it: a user's own index names the
    // user's containers (unverified: nothing runs to check it), never a root one.
    let stores = PodmanStores::read(root);
    for id in stores.ids() {
        let Some((writers, index)) = stores.writers_of(&id) else {
            continue;
        };
        let trust = record_trust(writers, index);
        let crio = if trust.verified {
            podman::read_crio(root, &id)
        } else {
            None
        };
        let (runtime, meta) = match crio {
            Some(crio) if crio.pod.is_some() => (Runtime::Kubernetes, crio),
            Some(crio) => (Runtime::CriO, crio),
            None => (Runtime::Podman, stores.lookup(&id).unwrap_or_default()),
        };
        push_trusted(runtime, id, meta, None, trust);
    }
    let mut push = |runtime: Runtime, id: String, meta: Metadata, cgroup_path: Option<String>| {
        push_trusted(runtime, id, meta, cgroup_path, Trust::root());
    };
    for task in TaskIndex::read(root).tasks() {
        if task.namespace == "moby" {
            continue;
        }
        let meta = containerd::read(task);
        let runtime = if task.namespace == "k8s.io" || meta.pod.is_some() {
            Runtime::Kubernetes
        } else {
            Runtime::Containerd
        };
        push(runtime, task.id.clone(), meta, None);
    }
    for name in lxc::list(root) {
        let meta = lxc::read(root, &name);
        push(Runtime::Lxc, name, meta, None);
    }
    for record in isotop::stopped(root) {
        push(Runtime::Isotop, record.id, record.meta, record.cgroup_path);
    }
    out
}

fn record(
    runtime: Runtime,
    id: String,
    meta: Metadata,
    cgroup_path: Option<String>,
    trust: Trust,
) -> Container {
    Container {
        name: meta.name.unwrap_or_else(|| id.clone()),
        id,
        runtime,
        image: meta.image,
        init_pid: None,
        pids: Vec::new(),
        cgroups: Vec::new(),
        cgroup_path,
        namespaces: NsSet::default(),
        shared_with_host: Vec::new(),
        pod: meta.pod,
        labels: meta.labels,
        metadata: meta.source,
        start_ticks: None,
        running: false,
        trust,
    }
}
