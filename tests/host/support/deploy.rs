//! The packaging files under `deploy/` as the deploy tests read them: the systemd unit's
//! settings, the Kubernetes manifests as JSON values, and the outside validators (found on
//! PATH, which `.ci/run` extends with its Python and npm tools; a missing one skips its check
//! with the calling test's name).

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use super::common;

/// A file of the repository, by its path from the top.
pub fn repo_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// A file of the repository as text (panics naming it when unreadable).
pub fn repo_text(relative: &str) -> String {
    let path = repo_path(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The unit file the .deb installs (the exporter's privileges).
pub const UNIT: &str = "deploy/systemd/isotop-serve.service";

/// The values of every `KEY=` line of a unit file, each split on whitespace, in order.
pub fn unit_values(unit: &str, key: &str) -> Vec<String> {
    let prefix = format!("{key}=");
    unit.lines()
        .filter_map(|line| line.trim().strip_prefix(&prefix))
        .flat_map(|value| value.split_whitespace().map(str::to_string))
        .collect()
}

/// The unit's capability bounding set, as `CAP_*` names.
pub fn unit_capabilities() -> std::collections::BTreeSet<String> {
    unit_values(&repo_text(UNIT), "CapabilityBoundingSet")
        .into_iter()
        .collect()
}

/// Every YAML document of a repository file, as JSON values (empty documents left out).
pub fn yaml_documents(relative: &str) -> Vec<Value> {
    let text = repo_text(relative);
    serde_yaml_ng::Deserializer::from_str(&text)
        .map(|document| {
            Value::deserialize(document).unwrap_or_else(|e| panic!("{relative}: not YAML: {e}"))
        })
        .filter(|v| !v.is_null())
        .collect()
}

/// The one Kubernetes object of a manifest file.
pub fn manifest(relative: &str) -> Value {
    let mut documents = yaml_documents(relative);
    assert_eq!(documents.len(), 1, "{relative}: one object per file");
    documents.remove(0)
}

/// `program` on PATH, or `None` after printing why the calling test skips that check.
pub fn tool(program: &str, what: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(program))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        eprintln!(
            "skipping {} ({what}): `{program}` is not installed (.ci/run installs it)",
            common::test_name()
        );
    }
    found
}

/// The entry of container `id` in `isotop ls --json` output (panics when it is not listed).
pub fn ls_entry(list: &Value, id: &str) -> Value {
    list.as_array()
        .and_then(|all| all.iter().find(|c| c["id"] == id))
        .cloned()
        .unwrap_or_else(|| panic!("container {id} not listed: {list}"))
}

/// Asserts that `seen` (isotop with the packaged privileges or mounts, `how`) shows the
/// container as `live` (full root on the live host) does: the same identity, cgroup, network
/// namespace and limits, and each figure read.
pub fn assert_seen_as_live(live: &Value, seen: &Value, how: &str) {
    for field in [
        "runtime",
        "name",
        "pid",
        "cgroup_path",
        "state",
        "pids",
        "memory_limit_bytes",
        "cpu_limit_cpus",
        "pids_limit",
        "verified",
        "started_at",
        "netns",
    ] {
        assert_eq!(live[field], seen[field], "{field} {how}: {live} vs {seen}");
    }
    for figure in [
        "memory_bytes",
        "cpu_percent",
        "io_read_bytes_total",
        "netns",
        "net_rx_bytes_total",
    ] {
        assert!(!seen[figure].is_null(), "{figure} missing {how}: {seen}");
    }
}
