//! containerd (ctr, nerdctl, Kubernetes CRI): task dirs under `/run/containerd`.
//!
//! Every running or created task has a bundle dir
//! `/run/containerd/io.containerd.runtime.v2.task/<namespace>/<id>/` (older v1 shims:
//! `io.containerd.runtime.v1.linux`) holding the OCI spec (`config.json`, whose annotations
//! carry nerdctl's labels `nerdctl/name` and the CRI's `io.kubernetes.cri.*`) and `init.pid`.
//! A task dir is what makes a cgroup path `/<namespace>/<id>` a containerd container: without
//! it, two path segments prove nothing. This module also resolves Kubernetes containers,
//! whichever CRI runtime made them (containerd, CRI-O, dockershim).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

use super::{Cap, docker, podman, read_capped, read_json};
use super::{Metadata, Pod, clean_labels, clean_name, kubernetes_identity, list_dir_names};
use crate::host::HostRoot;

/// Task roots, newest shim API first.
const TASK_ROOTS: [&str; 2] = [
    "containerd/io.containerd.runtime.v2.task",
    "containerd/io.containerd.runtime.v1.linux",
];

/// One task dir: a running or created containerd container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    /// containerd namespace (`default`, `k8s.io`, `moby`, ...).
    pub namespace: String,
    pub id: String,
    pub dir: PathBuf,
}

/// Every task dir on the host, read once per scan.
#[derive(Debug, Clone, Default)]
pub struct TaskIndex {
    tasks: Vec<Task>,
}

impl TaskIndex {
    /// Lists `<root>/<namespace>/<id>` under every task root; empty when containerd is absent.
    pub fn read(root: &HostRoot) -> TaskIndex {
        let mut tasks = Vec::new();
        for task_root in TASK_ROOTS {
            let base = root.run.join(task_root);
            for namespace in list_dir_names(&base) {
                for id in list_dir_names(&base.join(&namespace)) {
                    let dir = base.join(&namespace).join(&id);
                    tasks.push(Task {
                        namespace: namespace.clone(),
                        id,
                        dir,
                    });
                }
            }
        }
        TaskIndex { tasks }
    }

    /// The task `<namespace>/<id>`, if it exists.
    pub fn get(&self, namespace: &str, id: &str) -> Option<&Task> {
        self.tasks
            .iter()
            .find(|t| t.namespace == namespace && t.id == id)
    }

    /// A task with this id in any namespace (systemd-driver paths do not name the namespace).
    pub fn by_id(&self, id: &str) -> Option<&Task> {
        self.tasks.iter().find(|t| t.id == id)
    }

    pub fn tasks(&self) -> &[Task] {
        &self.tasks
    }
}

#[derive(Deserialize)]
struct SpecAnnotations {
    annotations: Option<BTreeMap<String, String>>,
}

/// Reads a task's spec annotations and `init.pid`. The name is nerdctl's `nerdctl/name`, else
/// the CRI container name; `None` name when neither is there (the caller shows the id).
pub fn read(task: &Task) -> Metadata {
    let spec_path = task.dir.join("config.json");
    let labels = read_json::<SpecAnnotations>(&spec_path)
        .and_then(|s| s.annotations)
        .map(|a| clean_labels(&a))
        .unwrap_or_default();
    let (cri_name, pod, image) = kubernetes_identity(&labels);
    let name = labels
        .get("nerdctl/name")
        .and_then(|n| clean_name(n))
        .or(cri_name);
    let init_pid = read_capped(&task.dir.join("init.pid"), Cap::LINE)
        .ok()
        .and_then(|b| String::from_utf8_lossy(&b).trim().parse::<i32>().ok())
        .filter(|pid| *pid > 0);
    Metadata {
        source: name.is_some().then(|| spec_path.clone()),
        name,
        image,
        labels,
        pod,
        init_pid,
    }
}

/// A Kubernetes container `id`: its CRI runtime's files (containerd task, CRI-O userdata,
/// dockershim config), the container name from the CRI annotations or kubelet labels. The pod
/// uid seen in the cgroup path fills in when the files are unreadable.
pub fn read_kubernetes(
    root: &HostRoot,
    tasks: &TaskIndex,
    id: &str,
    pod_uid_from_path: Option<&str>,
) -> Metadata {
    let mut meta = tasks
        .by_id(id)
        .map(read)
        .or_else(|| podman::read_crio(root, id))
        .or_else(|| {
            docker::read(root, id).map(|mut m| {
                // dockershim names containers k8s_<name>_<pod>_...; the label is the name.
                let (k8s_name, _, _) = kubernetes_identity(&m.labels);
                if k8s_name.is_some() {
                    m.name = k8s_name;
                }
                m
            })
        })
        .unwrap_or_default();
    if meta.pod.is_none() {
        meta.pod = pod_uid_from_path.map(|uid| Pod {
            name: String::new(),
            namespace: String::new(),
            uid: Some(uid.to_string()),
        });
    }
    meta
}
