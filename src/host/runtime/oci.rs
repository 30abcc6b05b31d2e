//! runc and crun used directly: their state dirs `/run/runc/<id>/` and `/run/crun/<id>/`.
//!
//! Facts from the real tools on this machine (runc 1.1, crun 1.8):
//! - runc writes `state.json`: `id`, `init_process_pid`, `init_process_start` (clock ticks after
//!   boot, as `/proc/<pid>/stat` field 22), `created` (RFC 3339), `config.labels` (a list of
//!   `key=value`: the spec's annotations plus `bundle=<dir>`), `config.cgroups.path` (the spec's
//!   `cgroupsPath` for the cgroupfs driver) and `cgroup_paths` (controller → absolute mount path,
//!   `""` for the v2 hierarchy, e.g. `/sys/fs/cgroup/unified/<path>` on a hybrid host).
//! - crun writes `status`: `pid`, `process-start-time` (ticks), `cgroup-path` (hierarchy
//!   relative), `bundle`, `created`, and copies the spec to `config.json` (annotations).
//!
//! Rootless runs keep the same layout under `/run/user/<uid>/{runc,crun}`. Docker, containerd
//! and Podman call runc/crun with their own state roots, so these dirs hold only direct use.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{Runtime, clean_labels, list_dir_names, read_json};
use crate::host::HostRoot;
use crate::host::text::clean_str;

/// One container in a runc or crun state dir.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OciState {
    /// [`Runtime::Runc`] or [`Runtime::Crun`].
    pub runtime: Runtime,
    pub id: String,
    /// The init's host pid as recorded (stale once the container stopped).
    pub init_pid: Option<i32>,
    /// The init's start time in clock ticks after boot: tells the real init from a later
    /// process that reused its pid.
    pub init_start_ticks: Option<u64>,
    /// The container's cgroup paths, relative to their hierarchy roots, never `/`.
    pub cgroup_paths: Vec<String>,
    /// Annotations (crun) or labels (runc), cleaned.
    pub labels: BTreeMap<String, String>,
    /// The state file read.
    pub source: PathBuf,
}

#[derive(Deserialize)]
struct RuncState {
    id: Option<String>,
    init_process_pid: Option<i32>,
    init_process_start: Option<u64>,
    config: Option<RuncConfig>,
    cgroup_paths: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize)]
struct RuncConfig {
    labels: Option<Vec<String>>,
    cgroups: Option<RuncCgroups>,
}

#[derive(Deserialize)]
struct RuncCgroups {
    path: Option<String>,
}

#[derive(Deserialize)]
struct CrunStatus {
    pid: Option<i32>,
    #[serde(rename = "process-start-time")]
    process_start_time: Option<u64>,
    #[serde(rename = "cgroup-path")]
    cgroup_path: Option<String>,
}

#[derive(Deserialize)]
struct SpecAnnotations {
    annotations: Option<BTreeMap<String, String>>,
}

/// State roots of `runtime` (`runc` or `crun`): rootful first, then each user's.
fn state_roots(root: &HostRoot, tool: &str) -> Vec<PathBuf> {
    let mut roots = vec![root.run.join(tool)];
    let users = root.run.join("user");
    roots.extend(
        list_dir_names(&users)
            .into_iter()
            .map(|uid| users.join(uid).join(tool)),
    );
    roots
}

/// Every runc and crun container on disk (running, created or stopped).
pub fn read_states(root: &HostRoot) -> Vec<OciState> {
    let mut states = Vec::new();
    for dir in state_roots(root, "runc") {
        for id in list_dir_names(&dir) {
            if let Some(state) = read_runc(root, &dir.join(&id), &id) {
                states.push(state);
            }
        }
    }
    for dir in state_roots(root, "crun") {
        for id in list_dir_names(&dir) {
            if let Some(state) = read_crun(&dir.join(&id), &id) {
                states.push(state);
            }
        }
    }
    states
}

/// True for a path that names a cgroup below the root (claims on `/` would swallow the host).
fn is_own_path(path: &str) -> bool {
    path.starts_with('/') && !path.trim_end_matches('/').is_empty()
}

fn push_unique(paths: &mut Vec<String>, path: String) {
    let path = path.trim_end_matches('/').to_string();
    if is_own_path(&path) && !paths.contains(&path) {
        paths.push(path);
    }
}

/// Turns one of runc's `cgroup_paths` values (a host path under `/sys/fs/cgroup`) into the
/// path inside its hierarchy: drop the mount dir (`memory`, `cpu,cpuacct`, `unified`, ...),
/// except for the v2 key `""` on a unified host, where the hierarchy is mounted at
/// `/sys/fs/cgroup` itself.
pub fn hierarchy_relative(root: &HostRoot, key: &str, absolute: &str) -> Option<String> {
    let rest = absolute.strip_prefix("/sys/fs/cgroup")?;
    if !rest.is_empty() && !rest.starts_with('/') {
        return None;
    }
    let unified_host = root.sys.join("fs/cgroup/cgroup.controllers").exists();
    if key.is_empty() && unified_host {
        return Some(if rest.is_empty() {
            "/".into()
        } else {
            rest.into()
        });
    }
    let below_mount = rest.trim_start_matches('/');
    let (_mount_dir, path) = below_mount.split_once('/')?;
    Some(format!("/{path}"))
}

fn read_runc(root: &HostRoot, dir: &Path, dir_name: &str) -> Option<OciState> {
    let source = dir.join("state.json");
    let state: RuncState = read_json(&source)?;
    let mut cgroup_paths = Vec::new();
    if let Some(path) = state
        .config
        .as_ref()
        .and_then(|c| c.cgroups.as_ref())
        .and_then(|c| c.path.clone())
    {
        push_unique(&mut cgroup_paths, path);
    }
    for (key, absolute) in state.cgroup_paths.iter().flatten() {
        if let Some(path) = hierarchy_relative(root, key, absolute) {
            push_unique(&mut cgroup_paths, path);
        }
    }
    let labels = state
        .config
        .as_ref()
        .and_then(|c| c.labels.as_ref())
        .map(|list| {
            list.iter()
                .map(|kv| match kv.split_once('=') {
                    Some((k, v)) => (clean_str(k), clean_str(v)),
                    None => (clean_str(kv), String::new()),
                })
                .collect()
        })
        .unwrap_or_default();
    Some(OciState {
        runtime: Runtime::Runc,
        id: clean_str(state.id.as_deref().unwrap_or(dir_name)),
        init_pid: state.init_process_pid.filter(|p| *p > 0),
        init_start_ticks: state.init_process_start,
        cgroup_paths,
        labels,
        source,
    })
}

fn read_crun(dir: &Path, dir_name: &str) -> Option<OciState> {
    let source = dir.join("status");
    let status: CrunStatus = read_json(&source)?;
    let mut cgroup_paths = Vec::new();
    if let Some(path) = status.cgroup_path {
        push_unique(&mut cgroup_paths, path);
    }
    let labels = read_json::<SpecAnnotations>(&dir.join("config.json"))
        .and_then(|s| s.annotations)
        .map(|a| clean_labels(&a))
        .unwrap_or_default();
    Some(OciState {
        runtime: Runtime::Crun,
        id: clean_str(dir_name),
        init_pid: status.pid.filter(|p| *p > 0),
        init_start_ticks: status.process_start_time,
        cgroup_paths,
        labels,
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runc_cgroup_paths_lose_their_mount_dir() {
        let hybrid = HostRoot::under(Path::new("/nonexistent-fixture"));
        assert_eq!(
            hierarchy_relative(&hybrid, "memory", "/sys/fs/cgroup/memory/a/b").as_deref(),
            Some("/a/b")
        );
        assert_eq!(
            hierarchy_relative(&hybrid, "cpu", "/sys/fs/cgroup/cpu,cpuacct/a").as_deref(),
            Some("/a")
        );
        assert_eq!(
            hierarchy_relative(&hybrid, "", "/sys/fs/cgroup/unified/x").as_deref(),
            Some("/x")
        );
        assert_eq!(hierarchy_relative(&hybrid, "", "/elsewhere/x"), None);
        assert_eq!(hierarchy_relative(&hybrid, "", "/sys/fs/cgroupX/x"), None);
        assert_eq!(
            hierarchy_relative(&hybrid, "pids", "/sys/fs/cgroup/pids"),
            None
        );
    }

    #[test]
    fn unified_hosts_keep_the_whole_path() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("sys/fs/cgroup")).unwrap();
        std::fs::write(dir.path().join("sys/fs/cgroup/cgroup.controllers"), "cpu\n").unwrap();
        let root = HostRoot::under(dir.path());
        assert_eq!(
            hierarchy_relative(&root, "", "/sys/fs/cgroup/system.slice/runc-x.scope").as_deref(),
            Some("/system.slice/runc-x.scope")
        );
    }

    #[test]
    fn root_paths_are_never_claims() {
        let mut paths = Vec::new();
        push_unique(&mut paths, "/".into());
        push_unique(&mut paths, "relative/path".into());
        push_unique(&mut paths, "/a/".into());
        push_unique(&mut paths, "/a".into());
        assert_eq!(paths, vec!["/a".to_string()]);
    }
}
