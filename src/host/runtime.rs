//! Runtime metadata readers: what each container runtime writes on disk about its containers.
//!
//! Contract: given a container id (found from cgroup paths by [`crate::host::container`]), each
//! runtime module reads that runtime's own files under the injected [`HostRoot`] and returns a
//! [`Metadata`] value (human name, image, labels, pod, init pid, the file it came from). No
//! daemon socket is ever asked. Metadata files are written by runtimes and, through labels and
//! names, by container authors: they may be missing, truncated, garbage or huge. Every reader
//! then returns `None` (the caller falls back to the id), never an error and never a panic; every
//! string stored is cleaned with [`clean_str`]. Some of them sit in users' own directories
//! (rootless runc/crun under `/run/user/<uid>`, rootless Podman under `~/.local/share`): every
//! file is read through [`file`](mod@file) (no blocking on a FIFO, no symlink followed, regular files
//! only, capped per kind), which also says who could have written it.

pub mod containerd;
pub mod docker;
pub mod file;
pub mod isotop;
pub mod lxc;
pub mod nspawn;
pub mod oci;
pub mod podman;
pub mod state;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

pub use self::file::{Cap, FileError, Writers, read_capped};
use super::HostRoot;
use super::text::clean_str;

/// The runtime that made a container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Runtime {
    Docker,
    Containerd,
    Kubernetes,
    Podman,
    CriO,
    Lxc,
    Nspawn,
    Runc,
    Crun,
    Isotop,
    /// Processes in their own pid and mount namespaces that no runtime's files name.
    Unknown,
}

impl Runtime {
    /// The lowercase name used in JSON and tables (`crio` for CRI-O).
    pub fn name(self) -> &'static str {
        match self {
            Runtime::Docker => "docker",
            Runtime::Containerd => "containerd",
            Runtime::Kubernetes => "kubernetes",
            Runtime::Podman => "podman",
            Runtime::CriO => "crio",
            Runtime::Lxc => "lxc",
            Runtime::Nspawn => "nspawn",
            Runtime::Runc => "runc",
            Runtime::Crun => "crun",
            Runtime::Isotop => "isotop",
            Runtime::Unknown => "unknown",
        }
    }

    /// The runtime an init's `container=` environment variable names (podman, lxc and
    /// systemd-nspawn set it; docker, runc, crun and containerd set nothing).
    pub fn from_environ_hint(value: &str) -> Option<Runtime> {
        match value {
            "podman" => Some(Runtime::Podman),
            "lxc" => Some(Runtime::Lxc),
            "systemd-nspawn" => Some(Runtime::Nspawn),
            "docker" => Some(Runtime::Docker),
            "crio" => Some(Runtime::CriO),
            _ => None,
        }
    }
}

impl std::fmt::Display for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A Kubernetes pod, from the CRI annotations of one of its containers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pod {
    /// Pod name; empty when only the cgroup path (not the runtime's files) was readable.
    pub name: String,
    /// Kubernetes namespace; empty when unknown.
    pub namespace: String,
    /// Pod uid, from the annotations or the `pod<uid>` cgroup segment.
    pub uid: Option<String>,
}

/// What a runtime's files say about one container. Every field is optional: whatever is
/// missing falls back (name → id).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metadata {
    pub name: Option<String>,
    pub image: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub pod: Option<Pod>,
    /// The container's init as the runtime recorded it (host pid).
    pub init_pid: Option<i32>,
    /// The file the name came from.
    pub source: Option<PathBuf>,
}

/// Reads and parses a JSON runtime file in a trusted (root's) directory; `None` when absent,
/// not a regular file, bigger than a state file may be ([`Cap::STATE`]) or not the expected
/// shape.
pub fn read_json<T: DeserializeOwned>(path: &Path) -> Option<T> {
    let bytes = read_capped(path, Cap::STATE).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Reads and parses the JSON file `base/rel` without following a symlink below `base`, with
/// who could have written it; `None` as for [`read_json`].
pub fn read_json_beneath<T: DeserializeOwned>(
    base: &Path,
    rel: &Path,
    cap: Cap,
) -> Option<(T, Writers)> {
    let file = file::read_beneath(base, rel, cap).ok()?;
    let value = serde_json::from_slice(&file.bytes).ok()?;
    Some((value, file.writers))
}

/// Cleans a non-empty name-like string; `None` when empty after trimming.
pub fn clean_name(text: &str) -> Option<String> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        None
    } else {
        Some(clean_str(trimmed))
    }
}

/// Cleans every key and value of a label or annotation map.
pub fn clean_labels<'a>(
    pairs: impl IntoIterator<Item = (&'a String, &'a String)>,
) -> BTreeMap<String, String> {
    pairs
        .into_iter()
        .map(|(k, v)| (clean_str(k), clean_str(v)))
        .collect()
}

/// Kubernetes identity from CRI annotations or kubelet labels (already cleaned): containerd's
/// `io.kubernetes.cri.*`, CRI-O's and dockershim's `io.kubernetes.pod.*`/`container.name`.
/// Returns (container name, pod, image). The sandbox ("pause") container has no container
/// name; it is named `POD`, as kubelet names it.
pub fn kubernetes_identity(
    labels: &BTreeMap<String, String>,
) -> (Option<String>, Option<Pod>, Option<String>) {
    let get = |keys: &[&str]| {
        keys.iter()
            .find_map(|k| labels.get(*k).filter(|v| !v.is_empty()).cloned())
    };
    let pod_name = get(&["io.kubernetes.cri.sandbox-name", "io.kubernetes.pod.name"]);
    let pod_namespace = get(&[
        "io.kubernetes.cri.sandbox-namespace",
        "io.kubernetes.pod.namespace",
    ]);
    let pod_uid = get(&["io.kubernetes.cri.sandbox-uid", "io.kubernetes.pod.uid"]);
    let sandbox = matches!(
        get(&[
            "io.kubernetes.cri.container-type",
            "io.kubernetes.cri-o.ContainerType",
            "io.kubernetes.docker.type",
        ])
        .as_deref(),
        Some("sandbox" | "podsandbox")
    );
    let name = get(&[
        "io.kubernetes.cri.container-name",
        "io.kubernetes.container.name",
    ])
    .or_else(|| sandbox.then(|| "POD".to_string()));
    let pod = (pod_name.is_some() || pod_namespace.is_some() || pod_uid.is_some()).then(|| Pod {
        name: pod_name.unwrap_or_default(),
        namespace: pod_namespace.unwrap_or_default(),
        uid: pod_uid,
    });
    let image = get(&[
        "io.kubernetes.cri.image-name",
        "io.kubernetes.cri-o.ImageName",
    ]);
    (name, pod, image)
}

/// Lists the names of the real subdirectories of `dir` (ids of a runtime's state dir; symlinks
/// are skipped); empty when the dir is absent or unreadable. Names that are not UTF-8 are
/// skipped: no runtime makes them.
pub fn list_dir_names(dir: &Path) -> Vec<String> {
    file::list_dirs_beneath(dir, Path::new(""))
        .map(|l| l.names)
        .unwrap_or_default()
}

/// The users' home directories (rootless podman stores live in them): every entry of the
/// host's `/home` that is a directory, and `/root`. An entry of `/home` may be a symlink: only
/// root can put one there, so it is followed; below a home nothing is (see [`file`](mod@file)).
pub(crate) fn home_dirs(root: &HostRoot) -> Vec<PathBuf> {
    let home = root.host_path(Path::new("/home"));
    let mut homes: Vec<PathBuf> = std::fs::read_dir(&home)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default();
    homes.sort();
    homes.push(root.host_path(Path::new("/root")));
    homes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_names_are_lowercase_json() {
        assert_eq!(
            serde_json::to_string(&Runtime::CriO).unwrap(),
            "\"crio\"".to_string()
        );
        assert_eq!(Runtime::Kubernetes.to_string(), "kubernetes");
        assert_eq!(
            Runtime::from_environ_hint("systemd-nspawn"),
            Some(Runtime::Nspawn)
        );
        assert_eq!(Runtime::from_environ_hint("weird"), None);
    }

    #[test]
    fn capped_read_refuses_huge_files() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big.json");
        let file = std::fs::File::create(&big).unwrap();
        file.set_len(Cap::STATE.0 + 10).unwrap();
        assert!(read_json::<serde_json::Value>(&big).is_none());
        let small = dir.path().join("small.json");
        std::fs::write(&small, b"{\"a\":1}").unwrap();
        assert_eq!(read_capped(&small, Cap::STATE).unwrap(), b"{\"a\":1}");
        assert!(read_json::<serde_json::Value>(&dir.path().join("absent")).is_none());
        std::fs::write(&small, b"{\"a\":").unwrap();
        assert!(read_json::<serde_json::Value>(&small).is_none());
    }

    #[test]
    fn kubernetes_identity_from_containerd_and_crio_keys() {
        let containerd: BTreeMap<String, String> = [
            ("io.kubernetes.cri.container-name", "web"),
            ("io.kubernetes.cri.sandbox-name", "web-7d9f"),
            ("io.kubernetes.cri.sandbox-namespace", "shop"),
            ("io.kubernetes.cri.sandbox-uid", "1234-5678"),
            ("io.kubernetes.cri.image-name", "nginx:1.27"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let (name, pod, image) = kubernetes_identity(&containerd);
        assert_eq!(name.as_deref(), Some("web"));
        assert_eq!(
            pod,
            Some(Pod {
                name: "web-7d9f".into(),
                namespace: "shop".into(),
                uid: Some("1234-5678".into())
            })
        );
        assert_eq!(image.as_deref(), Some("nginx:1.27"));

        let sandbox: BTreeMap<String, String> = [
            ("io.kubernetes.cri-o.ContainerType", "sandbox"),
            ("io.kubernetes.pod.name", "db-0"),
            ("io.kubernetes.pod.namespace", "data"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let (name, pod, image) = kubernetes_identity(&sandbox);
        assert_eq!(name.as_deref(), Some("POD"));
        assert_eq!(pod.map(|p| p.name), Some("db-0".to_string()));
        assert_eq!(image, None);

        assert_eq!(kubernetes_identity(&BTreeMap::new()), (None, None, None));
    }
}
