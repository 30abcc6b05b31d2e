//! Kubernetes containers' life, whichever CRI runtime made them: the attempt number kubelet
//! gave each (its restart count) and the runtime's times and exit code.
//!
//! - containerd's CRI plugin checkpoints each container's status to
//!   `/var/lib/containerd/io.containerd.grpc.v1.cri/containers/<id>/status`: JSON
//!   `{"Version":"v1","Pid":…,"CreatedAt":ns,"StartedAt":ns,"FinishedAt":ns,"ExitCode":…,
//!   "Reason":…}` (0 = not yet). The attempt lives only in its BoltDB metadata.
//! - CRI-O writes `userdata/state.json` in the container's dir of containers/storage
//!   (`/var/lib/containers/storage/overlay-containers/<id>/`): the OCI state plus `created`,
//!   `started`, `finished` (RFC 3339, Go's zero time until then) and `exitCode`; its spec's
//!   annotations carry kubelet's `io.kubernetes.container.restartCount` and CRI-O's
//!   `io.kubernetes.cri-o.Metadata` (`{"name":…,"attempt":N}`).
//! - dockershim containers are Docker's ([`super::docker`]); kubelet's annotations are labels
//!   prefixed `annotation.`.
//!
//! The attempt is taken from those annotations (already the container's cleaned labels), else
//! from the CRI log dir `/var/log/pods/<namespace>_<pod>_<uid>/<container>/`, where kubelet
//! names each attempt's log `N.log`: the newest is this (running) container's.

use std::path::Path;

use serde::Deserialize;

use super::{RuntimeState, StateReading, docker, ns_to_ms, read_json, time_ms};
use crate::host::HostRoot;
use crate::host::container::Container;
use crate::units::ContainerId;

/// containerd's CRI plugin's container dirs, below `/var/lib`.
const CONTAINERD_CRI: &str = "containerd/io.containerd.grpc.v1.cri/containers";

/// kubelet's restart-count annotation, as CRI-O's spec and dockershim's labels carry it.
const RESTART_COUNT_KEYS: [&str; 2] = [
    "io.kubernetes.container.restartCount",
    "annotation.io.kubernetes.container.restartCount",
];

/// Log dirs read for an attempt number at most (a pod's container dir holds a few).
const MAX_LOG_ENTRIES: usize = 4096;

#[derive(Deserialize)]
struct ContainerdStatus {
    #[serde(rename = "Version")]
    version: Option<String>,
    #[serde(rename = "StartedAt", default)]
    started_at: i64,
    #[serde(rename = "FinishedAt", default)]
    finished_at: i64,
    #[serde(rename = "ExitCode")]
    exit_code: Option<i32>,
}

#[derive(Deserialize)]
struct CrioState {
    status: Option<String>,
    started: Option<String>,
    finished: Option<String>,
    #[serde(rename = "exitCode")]
    exit_code: Option<i32>,
}

#[derive(Deserialize)]
struct CrioMetadata {
    attempt: Option<u64>,
}

/// containerd's CRI status of `c`; `None` for a container the CRI plugin did not make.
pub fn read_containerd(root: &HostRoot, c: &Container) -> Option<StateReading> {
    if !ContainerId::is_valid(&c.id) {
        return None;
    }
    let rel = Path::new(CONTAINERD_CRI).join(&c.id).join("status");
    let (status, path): (ContainerdStatus, _) = read_json(c, &root.var_lib, &rel)?;
    if status.version.as_deref() != Some("v1") {
        return None;
    }
    let mut state = RuntimeState {
        started_at_ms: ns_to_ms(status.started_at),
        finished_at_ms: ns_to_ms(status.finished_at),
        ..RuntimeState::default()
    };
    if state.finished_last_run() {
        state.exit_code = status.exit_code;
    }
    Some(StateReading {
        state,
        sources: vec![path],
    })
}

/// CRI-O's state of `c`, with the attempt its annotations carry.
pub fn read_crio(root: &HostRoot, c: &Container) -> Option<StateReading> {
    if !ContainerId::is_valid(&c.id) {
        return None;
    }
    let rel = Path::new("containers/storage/overlay-containers")
        .join(&c.id)
        .join("userdata/state.json");
    let (crio, path): (CrioState, _) = read_json(c, &root.var_lib, &rel)?;
    let mut state = RuntimeState {
        restart_count: attempt_from_labels(c),
        started_at_ms: crio.started.as_deref().and_then(time_ms),
        finished_at_ms: crio.finished.as_deref().and_then(time_ms),
        ..RuntimeState::default()
    };
    if crio.status.as_deref() != Some("running") && state.finished_last_run() {
        state.exit_code = crio.exit_code;
    }
    Some(StateReading {
        state,
        sources: vec![path],
    })
}

/// A Kubernetes container: its CRI runtime's record (containerd, CRI-O, dockershim — ids are
/// unique, at most one has it) and its attempt number.
pub fn read_kubernetes(root: &HostRoot, c: &Container) -> Option<StateReading> {
    let mut reading = read_containerd(root, c)
        .or_else(|| read_crio(root, c))
        .or_else(|| docker::read(root, c))
        .unwrap_or_default();
    if let Some(attempt) = attempt_from_labels(c) {
        reading.state.restart_count = Some(attempt);
    } else if let Some((attempt, dir)) = attempt_from_log_dir(root, c) {
        reading.state.restart_count = Some(attempt);
        reading.sources.push(dir);
    }
    Some(reading)
}

/// The attempt kubelet's annotations give (`restartCount`, else CRI-O's metadata).
fn attempt_from_labels(c: &Container) -> Option<u64> {
    RESTART_COUNT_KEYS
        .iter()
        .find_map(|k| c.labels.get(*k)?.trim().parse().ok())
        .or_else(|| {
            let metadata = c.labels.get("io.kubernetes.cri-o.Metadata")?;
            serde_json::from_str::<CrioMetadata>(metadata).ok()?.attempt
        })
}

/// The newest attempt's number in `c`'s CRI log dir, with the dir; `None` without a pod, a
/// name that is not one plain path component, or any `N.log`.
fn attempt_from_log_dir(root: &HostRoot, c: &Container) -> Option<(u64, std::path::PathBuf)> {
    let pod = c.pod.as_ref()?;
    let uid = pod.uid.as_deref()?;
    let pod_dir = format!("{}_{}_{}", pod.namespace, pod.name, uid);
    if !(plain(&pod_dir) && plain(&c.name)) {
        return None;
    }
    let dir = root
        .host_path(Path::new("/var/log/pods"))
        .join(pod_dir)
        .join(&c.name);
    // Only names are read (kubelet's own dir, root's): no file is opened.
    let attempt = std::fs::read_dir(&dir)
        .ok()?
        .take(MAX_LOG_ENTRIES)
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name();
            let name = name.to_str()?;
            name.strip_suffix(".log")?.parse::<u64>().ok()
        })
        .max()?;
    Some((attempt, dir))
}

/// One path component that names a thing: not empty, `.`, `..`, and without `/`.
fn plain(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains('/')
}
