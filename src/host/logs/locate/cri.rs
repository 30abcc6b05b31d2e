//! The CRI log files: Kubernetes containers under kubelet's `/var/log/pods/<namespace>_<pod>_
//! <uid>/<container>/<attempt>.log` (rotated `<attempt>.log.<YYYYMMDD-HHMMSS>`, older ones
//! `.gz`), and Podman's `k8s-file` driver, `ctr.log` in the container's `userdata` directory.
//!
//! - CRI-O records the exact file in the spec annotation `io.kubernetes.cri-o.LogPath`;
//! - containerd records the pod's directory on the sandbox's spec
//!   (`io.kubernetes.cri.sandbox-log-directory`), found through the container's
//!   `io.kubernetes.cri.sandbox-id`; failing that, the pod's namespace, name and uid give
//!   kubelet's directory; the container's file there is its latest attempt (highest number);
//! - a Kubernetes container Docker ran (dockershim) has Docker's files;
//! - the sandbox ("pause") container prints nothing: no file, the pod's containers have them.
//!
//! Podman with the `journald` driver (its default where systemd runs) or `none` keeps no
//! `ctr.log`: no file, and the journal's command.

use std::path::{Path, PathBuf};

use super::{Rotation, files, no_file};
use crate::host::HostRoot;
use crate::host::container::Container;
use crate::host::logs::{LogError, LogFiles, LogFormat, LogLocation, source};
use crate::host::runtime::containerd::{self, TaskIndex};
use crate::host::runtime::docker;
use crate::host::runtime::podman::PodmanStores;
use crate::units::ContainerId;

/// A recorded absolute host path, mapped under the root; `None` for anything else.
fn recorded_path(root: &HostRoot, text: &str) -> Option<PathBuf> {
    let path = Path::new(text);
    (path.is_absolute() && !text.split('/').any(|s| s == "..")).then(|| root.host_path(path))
}

/// True for a name that is one path component.
fn component(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains('/')
}

/// The pod's log directory containerd recorded on its sandbox.
fn sandbox_log_dir(root: &HostRoot, c: &Container) -> Option<PathBuf> {
    let sandbox = c.labels.get("io.kubernetes.cri.sandbox-id")?;
    let tasks = TaskIndex::read(root);
    let task = tasks.by_id(sandbox)?;
    let labels = containerd::read(task).labels;
    recorded_path(root, labels.get("io.kubernetes.cri.sandbox-log-directory")?)
}

/// kubelet's directory of the pod, from its namespace, name and uid.
fn pod_dir(root: &HostRoot, c: &Container) -> Option<PathBuf> {
    let pod = c.pod.as_ref()?;
    let uid = pod.uid.as_deref()?;
    [pod.namespace.as_str(), pod.name.as_str(), uid]
        .iter()
        .all(|part| component(part))
        .then(|| {
            root.host_path(Path::new("/var/log/pods"))
                .join(format!("{}_{}_{uid}", pod.namespace, pod.name))
        })
}

/// The latest attempt's file (`N.log`, highest N) in a container's log directory.
fn latest_attempt(dir: &Path) -> Option<PathBuf> {
    let entries = std::fs::read_dir(dir).ok()?;
    entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let attempt: u32 = name.strip_suffix(".log")?.parse().ok()?;
            Some((attempt, e.path()))
        })
        .max_by_key(|(attempt, _)| *attempt)
        .map(|(_, path)| path)
}

/// A Kubernetes container (any CRI runtime), or a CRI-O container outside Kubernetes.
pub(super) fn kubernetes(root: &HostRoot, c: &Container) -> LogLocation {
    let label = |key: &str| c.labels.get(key).map(String::as_str);
    let sandbox = matches!(
        label("io.kubernetes.cri.container-type").or(label("io.kubernetes.cri-o.ContainerType")),
        Some("sandbox" | "podsandbox")
    ) || label("io.kubernetes.docker.type") == Some("podsandbox");
    if sandbox {
        return no_file(
            "this is the pod's sandbox (\"pause\") container: it prints nothing",
            "isotop logs on one of the pod's containers (isotop ls shows them by pod)",
        );
    }
    if let Some(path) = label("io.kubernetes.cri-o.LogPath").and_then(|p| recorded_path(root, p)) {
        return files(LogFormat::Cri, path, Rotation::Stamped);
    }
    if ContainerId::is_valid(&c.id) && docker::config_path(root, &c.id).exists() {
        return super::docker::locate(root, &c.id);
    }
    let name = label("io.kubernetes.cri.container-name")
        .or(label("io.kubernetes.container.name"))
        .filter(|n| component(n));
    let dir = sandbox_log_dir(root, c).or_else(|| pod_dir(root, c));
    let (Some(name), Some(dir)) = (name, dir) else {
        return no_file(
            "the runtime's files do not say which pod and container this is, so kubelet's \
             log directory is not known",
            "kubectl logs -n NAMESPACE POD -c CONTAINER (run isotop as root to read the \
             runtime's files)",
        );
    };
    let container_dir = dir.join(name);
    match latest_attempt(&container_dir) {
        Some(current) => files(LogFormat::Cri, current, Rotation::Stamped),
        None => no_file(
            &format!(
                "kubelet's log directory {} holds no log of this container",
                container_dir.display()
            ),
            "kubectl logs -n NAMESPACE POD -c CONTAINER (is kubelet's --pod-log-dir elsewhere?)",
        ),
    }
}

/// A Podman container: `userdata/ctr.log` in the store that lists it (rootful or a user's).
pub(super) fn podman(root: &HostRoot, id: &str) -> LogLocation {
    let stores = PodmanStores::read(root);
    let ctr_log = stores
        .writers_of(id)
        .filter(|_| ContainerId::is_valid(id))
        .and_then(|(_, index)| index.parent())
        .map(|dir| dir.join(id).join("userdata/ctr.log"));
    // Opened the way it will be read (no symlink followed in a user's store).
    if let Some(path) = ctr_log
        && matches!(
            source::open(&path),
            Ok(Some(_)) | Err(LogError::PermissionDenied { .. })
        )
    {
        // Not listed for rotated siblings: the directory is the user's (conmon rotates by
        // truncating in place, which following handles).
        return LogLocation::Files(LogFiles {
            format: LogFormat::Cri,
            current: path,
            rotated: Vec::new(),
        });
    }
    let short = id.get(..12).unwrap_or(id);
    no_file(
        "Podman keeps no ctr.log for this container: it logs to the systemd journal (log \
         driver journald, Podman's default where systemd runs) or nowhere (--log-driver none)",
        &format!(
            "journalctl CONTAINER_ID={short} (or podman logs {short}); for a file, recreate it \
             with podman run --log-driver k8s-file"
        ),
    )
}
