//! Docker: `/var/lib/docker/containers/<id>/config.v2.json`.
//!
//! The daemon writes one config per container (running or not): `.Name` (with a leading `/`),
//! `.Config.Image` (the reference the user gave), `.Config.Labels`, and `.State.Pid` /
//! `.State.Running`. Kubernetes through dockershim put the pod in the labels
//! (`io.kubernetes.pod.*`). Absent or unparsable files give `None`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

use super::{Metadata, clean_labels, clean_name, kubernetes_identity, list_dir_names, read_json};
use crate::host::HostRoot;

#[derive(Deserialize)]
struct ConfigV2 {
    #[serde(rename = "Name")]
    name: Option<String>,
    #[serde(rename = "Config")]
    config: Option<Config>,
    #[serde(rename = "State")]
    state: Option<State>,
}

#[derive(Deserialize)]
struct Config {
    #[serde(rename = "Image")]
    image: Option<String>,
    #[serde(rename = "Labels")]
    labels: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize)]
struct State {
    #[serde(rename = "Running")]
    running: Option<bool>,
    #[serde(rename = "Pid")]
    pid: Option<i32>,
}

/// Docker's per-container directory.
fn containers_dir(root: &HostRoot) -> PathBuf {
    root.var_lib.join("docker/containers")
}

/// The config file of container `id`.
pub fn config_path(root: &HostRoot, id: &str) -> PathBuf {
    containers_dir(root).join(id).join("config.v2.json")
}

/// Reads what Docker recorded about container `id`; `None` if nothing usable is there.
pub fn read(root: &HostRoot, id: &str) -> Option<Metadata> {
    let path = config_path(root, id);
    let config: ConfigV2 = read_json(&path)?;
    let labels = config
        .config
        .as_ref()
        .and_then(|c| c.labels.as_ref())
        .map(clean_labels)
        .unwrap_or_default();
    let (_, pod, _) = kubernetes_identity(&labels);
    let name = config
        .name
        .as_deref()
        .map(|n| n.strip_prefix('/').unwrap_or(n))
        .and_then(clean_name);
    let image = config
        .config
        .as_ref()
        .and_then(|c| c.image.as_deref())
        .and_then(clean_name);
    let init_pid = config
        .state
        .as_ref()
        .filter(|s| s.running == Some(true))
        .and_then(|s| s.pid)
        .filter(|pid| *pid > 0);
    Some(Metadata {
        name,
        image,
        labels,
        pod,
        init_pid,
        source: Some(path),
    })
}

/// Ids of every container Docker keeps on disk (running or not).
pub fn list(root: &HostRoot) -> Vec<String> {
    list_dir_names(&containers_dir(root))
}
