//! isotop's own containers (launched by `launch`): cgroup `/isotop/<id>`, record
//! `/run/isotop/<id>/state.json`.
//!
//! The launcher puts each container it starts in `/isotop/<id>` in every hierarchy and keeps
//! its record (name, image, init pid, status, exit code) in the run dir. This reader parses
//! only the fields it shows, so the read side does not depend on the launcher's types; a record
//! that is missing, unreadable, not JSON, not a regular file (a symlink to `/dev/zero`, a FIFO)
//! or larger than [`Cap::STATE`] leaves the container named by its id.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{Cap, Metadata, file};
use crate::host::HostRoot;
use crate::host::text::clean_str;
use crate::units::ContainerId;

/// The container id a cgroup path segment names, given its parent segment: `<id>` directly
/// below a segment `isotop`.
pub fn id_from_segment(parent: Option<&str>, segment: &str) -> Option<String> {
    (parent == Some("isotop") && !segment.is_empty()).then(|| segment.to_string())
}

/// The parts of a launcher record the read side shows (`state::isotop` reads its life).
#[derive(Debug, Clone, Deserialize)]
pub(super) struct Record {
    id: String,
    name: String,
    #[serde(default)]
    image: Option<String>,
    #[serde(default)]
    pid: Option<i32>,
    #[serde(default)]
    pub(super) status: Option<String>,
    #[serde(default)]
    pub(super) exit_code: Option<i32>,
    /// When the supervisor started its command and recorded its exit, ms since the epoch.
    #[serde(default)]
    pub(super) started_ms: Option<u64>,
    #[serde(default)]
    pub(super) finished_ms: Option<u64>,
    /// The exit followed `isotop stop` / `rm --force`.
    #[serde(default)]
    pub(super) stop_requested: bool,
    #[serde(default)]
    cgroup_path: Option<String>,
}

/// A record's container when it has no process: id, metadata (with the status and exit code
/// as labels `isotop.status` / `isotop.exit_code`) and cgroup path.
pub struct StoppedRecord {
    pub id: String,
    pub meta: Metadata,
    pub cgroup_path: Option<String>,
}

fn run_dir(root: &HostRoot) -> PathBuf {
    root.run.join("isotop")
}

pub(super) fn read_record(root: &HostRoot, id: &str) -> Option<(Record, PathBuf)> {
    // Anything but a container id is never joined onto a path.
    if !ContainerId::is_valid(id) {
        return None;
    }
    let rel = Path::new("isotop").join(id).join("state.json");
    let bytes = file::read_beneath(&root.run, &rel, Cap::STATE).ok()?.bytes;
    let record: Record = serde_json::from_slice(&bytes).ok()?;
    let path = root.run.join(rel);
    (record.id == id).then_some((record, path))
}

fn metadata(record: &Record, source: PathBuf) -> Metadata {
    let mut meta = Metadata {
        // Names and images are checked by the launcher, but the file is only as trusted as
        // whoever can write /run: cleaned for display anyway.
        name: Some(clean_str(&record.name)).filter(|n| !n.is_empty()),
        image: record.image.as_deref().map(clean_str),
        init_pid: record.pid,
        source: Some(source),
        ..Metadata::default()
    };
    if let Some(status) = &record.status {
        meta.labels
            .insert("isotop.status".into(), clean_str(status));
    }
    if let Some(code) = record.exit_code {
        meta.labels
            .insert("isotop.exit_code".into(), code.to_string());
    }
    meta
}

/// The metadata of a running isotop container.
pub fn read(root: &HostRoot, id: &str) -> Option<Metadata> {
    let (record, path) = read_record(root, id)?;
    Some(metadata(&record, path))
}

/// Every record whose status is not `running` (exited, failed, created).
pub fn stopped(root: &HostRoot) -> Vec<StoppedRecord> {
    let Ok(entries) = std::fs::read_dir(run_dir(root)) else {
        return Vec::new();
    };
    let mut out: Vec<StoppedRecord> = entries
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter_map(|id| read_record(root, &id))
        .filter(|(r, _)| r.status.as_deref() != Some("running"))
        .map(|(record, path)| StoppedRecord {
            id: record.id.clone(),
            cgroup_path: record.cgroup_path.clone(),
            meta: metadata(&record, path),
        })
        .collect();
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_children_of_isotop_match() {
        assert_eq!(id_from_segment(Some("isotop"), "abc"), Some("abc".into()));
        assert_eq!(id_from_segment(Some("isotop-test-x"), "abc"), None);
        assert_eq!(id_from_segment(None, "isotop"), None);
    }

    #[test]
    fn records_name_running_and_stopped_containers() {
        let dir = tempfile::tempdir().unwrap();
        let root = HostRoot::under(dir.path());
        let write = |id: &str, body: &str| {
            let d = root.run.join("isotop").join(id);
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join("state.json"), body).unwrap();
        };
        let a = "a".repeat(64);
        let b = "b".repeat(64);
        write(
            &a,
            &format!(
                r#"{{"id":"{a}","name":"web\u001b[31m","image":"/img","pid":42,"status":"running"}}"#
            ),
        );
        write(
            &b,
            &format!(
                r#"{{"id":"{b}","name":"job","status":"exited","exit_code":3,"cgroup_path":"/isotop/{b}"}}"#
            ),
        );
        write(&"c".repeat(64), "not json");
        let meta = read(&root, &a).unwrap();
        assert_eq!(meta.name.as_deref(), Some("web?[31m"));
        assert_eq!(meta.init_pid, Some(42));
        assert!(read(&root, &"c".repeat(64)).is_none());
        assert!(read(&root, "../x").is_none());
        let stopped = stopped(&root);
        assert_eq!(stopped.len(), 1);
        assert_eq!(stopped[0].id, b);
        assert_eq!(stopped[0].meta.labels["isotop.exit_code"], "3");
        assert_eq!(
            stopped[0].cgroup_path.as_deref(),
            Some(&*format!("/isotop/{b}"))
        );
    }
}
