//! Containers the runtimes keep on disk with no running process (`isotop ls --all`).
//!
//! Sources: runc/crun state dirs, Docker's per-container configs, the Podman/CRI-O stores,
//! containerd task dirs (namespace `moby` is Docker's own and already listed by Docker),
//! LXC configs and isotop's own records that are not running (exited, failed). An id already running, or already listed by an earlier source, is skipped.
//! Records carry no pids, namespaces or cgroups: there is no process to read them from. A
//! stopped runc/crun state another user could have written has nothing running to check it
//! against: it is listed unverified, and its cgroup paths are not taken as its own.
//! A record with no name of its own is named by its id, cleaned.

use foldhash::HashSet;

use super::claim::{Trust, record_trust, stopped_trust};
use super::{Container, oci_metadata};
use crate::host::HostRoot;
use crate::host::namespace::NsSet;
use crate::host::runtime::containerd::{self, TaskIndex};
use crate::host::runtime::podman::{self, PodmanStores};
use crate::host::runtime::{Metadata, Runtime, docker, isotop, lxc, oci};
use crate::host::text::clean_str;

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
        // Ids come from files and directory names users may write (rootless stores, runc's
        // `/run/user/<uid>/runc/<id>`): as a name, cleaned like every other.
        name: meta.name.unwrap_or_else(|| clean_str(&id)),
        id,
        runtime,
        image: meta.image,
        init_pid: None,
        pids: Vec::new(),
        cgroups: std::sync::Arc::from([]),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::text::must_escape;

    /// Found by `fuzz/fuzz_targets/runtime_state.rs`: a user's rootless Podman store (and a
    /// user's `/run/user/<uid>/runc/<dir>`) names a container with no name of its own; the
    /// name falls back to the id, which the user chose, and must be cleaned like every name.
    #[test]
    fn names_that_fall_back_to_a_users_id_are_cleaned() {
        let dir = tempfile::tempdir().unwrap();
        let root = HostRoot::under(dir.path());
        let store = dir
            .path()
            .join("home/alice/.local/share/containers/storage/overlay-containers");
        std::fs::create_dir_all(&store).unwrap();
        std::fs::write(
            store.join("containers.json"),
            r#"[{"id":"\r"}, {"id":"abc\u202edef\u0085\u001b[31m"}]"#,
        )
        .unwrap();
        let runc = dir.path().join("run/user/1000/runc/ctr\u{202e}\u{1b}[2J");
        std::fs::create_dir_all(&runc).unwrap();
        std::fs::write(runc.join("state.json"), r#"{"init_process_pid": 7}"#).unwrap();

        let found = find(&root, &[]);
        let names: Vec<&str> = found.iter().map(|c| c.name.as_str()).collect();
        for name in &names {
            assert!(!name.chars().any(must_escape), "an unclean name: {name:?}");
        }
        // Since then such ids are refused outright: a Podman index id must be 64 hex digits,
        // a runc id must be in runc's character set.
        assert!(found.is_empty(), "{names:?}");
    }
}
