//! Podman and CRI-O: the shared containers/storage store.
//!
//! Podman (and CRI-O, which uses the same library) lists containers in
//! `/var/lib/containers/storage/overlay-containers/containers.json` (and
//! `volatile-containers.json` for `--rm` containers): entries `{id, names, image, metadata}`
//! where `metadata` is itself a JSON string holding `image-name`. Rootless Podman keeps the
//! same layout under `~/.local/share/containers/storage` (best effort: every `/home/*` and
//! `/root`). Each container's OCI spec sits at `<store>/overlay-containers/<id>/userdata/
//! config.json` (CRI-O's under `/run/containers/storage` too); its annotations carry CRI-O's
//! `io.kubernetes.*` identity. A rootless store is its user's to write: it is read below the
//! home dir through [`super::file`] (no symlink followed, a FIFO refused at once, the index
//! capped at [`Cap::INDEX`]). An index entry's id is joined onto store paths, so only a
//! 64-hex id (what containers/storage makes) is kept: a user's `{"id":"../../x"}` names
//! nothing. A CRI-O spec is read below `overlay-containers` without following a symlink, and
//! only when no other user could have written it. Who could have written the index that
//! lists a container ([`PodmanStores::writers_of`]) is what that container is trusted as.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::file::{Cap, Writers};
use super::{
    Metadata, Pod, clean_labels, clean_name, home_dirs, kubernetes_identity, read_json_beneath,
};
use crate::host::HostRoot;
use crate::units::ContainerId;

/// Index files of one store, relative to `<store>/overlay-containers`.
const INDEX_FILES: [&str; 2] = ["containers.json", "volatile-containers.json"];

#[derive(Debug, Clone, Deserialize)]
struct Entry {
    id: String,
    #[serde(default)]
    names: Vec<String>,
    image: Option<String>,
    /// A JSON document inside a string (`{"image-name": ..., "name": ...}`).
    metadata: Option<String>,
}

#[derive(Deserialize)]
struct EntryMetadata {
    #[serde(rename = "image-name")]
    image_name: Option<String>,
    /// The pod's name and id (CRI-O's and older libpod's entries; Podman 4+ leave them out:
    /// its pods are known by their cgroup, see [`pod_from_cgroup_path`]).
    #[serde(rename = "pod-name")]
    pod_name: Option<String>,
    #[serde(rename = "pod-id")]
    pod_id: Option<String>,
}

#[derive(Deserialize)]
struct SpecAnnotations {
    annotations: Option<BTreeMap<String, String>>,
}

/// One store's container list.
#[derive(Debug, Clone)]
struct Store {
    /// Read below this trusted dir (`/var/lib`, a home).
    base: PathBuf,
    /// `<store>/overlay-containers`, relative to `base`.
    dir: PathBuf,
    index: PathBuf,
    entries: Vec<Entry>,
    /// Who could have written the index.
    writers: Writers,
}

/// Every containers/storage index found on the host (rootful first), read once per scan.
#[derive(Debug, Clone, Default)]
pub struct PodmanStores {
    stores: Vec<Store>,
}

/// The stores to look in, as (trusted base, `overlay-containers` below it): rootful, then
/// each user's rootless store.
fn storage_roots(root: &HostRoot) -> Vec<(PathBuf, PathBuf)> {
    let mut roots = vec![(
        root.var_lib.clone(),
        PathBuf::from("containers/storage/overlay-containers"),
    )];
    roots.extend(home_dirs(root).into_iter().map(|home| {
        (
            home,
            PathBuf::from(".local/share/containers/storage/overlay-containers"),
        )
    }));
    roots
}

impl PodmanStores {
    /// Reads every index file; missing, garbage, oversized or non-regular files are skipped.
    pub fn read(root: &HostRoot) -> PodmanStores {
        let mut stores = Vec::new();
        for (base, dir) in storage_roots(root) {
            for file in INDEX_FILES {
                let rel = dir.join(file);
                if let Some((mut entries, writers)) =
                    read_json_beneath::<Vec<Entry>>(&base, &rel, Cap::INDEX)
                {
                    // The id becomes a path component: anything but 64 hex names nothing.
                    entries.retain(|e| ContainerId::is_valid(&e.id));
                    stores.push(Store {
                        index: base.join(&rel),
                        base: base.clone(),
                        dir: dir.clone(),
                        entries,
                        writers,
                    });
                }
            }
        }
        PodmanStores { stores }
    }

    /// What the store says about container `id`; `None` when no index lists it. Root's
    /// stores answer first: a user's own index cannot rename a root container it also lists.
    pub fn lookup(&self, id: &str) -> Option<Metadata> {
        let trusted = self.stores.iter().filter(|s| s.writers == Writers::Trusted);
        let others = self.stores.iter().filter(|s| s.writers != Writers::Trusted);
        let (store, entry) = trusted
            .chain(others)
            .find_map(|s| s.entries.iter().find(|e| e.id == id).map(|e| (s, e)))?;
        let metadata = entry
            .metadata
            .as_deref()
            .and_then(|m| serde_json::from_str::<EntryMetadata>(m).ok());
        let pod = metadata.as_ref().and_then(|m| {
            let name = m.pod_name.as_deref().and_then(clean_name);
            let id = m.pod_id.as_deref().and_then(clean_name);
            (name.is_some() || id.is_some()).then(|| Pod {
                name: name.unwrap_or_default(),
                namespace: String::new(),
                uid: id,
            })
        });
        let image = metadata
            .and_then(|m| m.image_name)
            .or_else(|| entry.image.clone())
            .and_then(|i| clean_name(&i));
        let labels = spec_annotations(
            &store.base,
            &store.dir.join(id).join("userdata/config.json"),
        );
        Some(Metadata {
            name: entry.names.first().and_then(|n| clean_name(n)),
            image,
            labels,
            pod,
            init_pid: None,
            source: Some(store.index.clone()),
        })
    }

    /// Who could have written the index that lists `id`, root's stores first (as
    /// [`PodmanStores::lookup`] reads them), with that index's path; `None` when none does.
    pub fn writers_of(&self, id: &str) -> Option<(&Writers, &Path)> {
        let trusted = self.stores.iter().filter(|s| s.writers == Writers::Trusted);
        let others = self.stores.iter().filter(|s| s.writers != Writers::Trusted);
        trusted
            .chain(others)
            .find(|s| s.entries.iter().any(|e| e.id == id))
            .map(|s| (&s.writers, s.index.as_path()))
    }

    /// Ids of every container listed in any store.
    pub fn ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .stores
            .iter()
            .flat_map(|s| s.entries.iter().map(|e| e.id.clone()))
            .collect();
        ids.sort();
        ids.dedup();
        ids
    }
}

/// The Podman pod a container's own cgroup path is in: `machine-libpod_pod_<id>.slice`
/// (systemd cgroup manager) or `libpod_parent/<id>/` (cgroupfs), `<id>` the pod's 64-hex id.
/// The pod's name is in Podman's database, not in a file isotop reads: only the id is known.
pub fn pod_from_cgroup_path(path: &str) -> Option<Pod> {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let systemd = segments.iter().find_map(|s| {
        s.strip_prefix("machine-libpod_pod_")
            .and_then(|rest| rest.strip_suffix(".slice"))
    });
    let cgroupfs = segments
        .windows(3)
        .find(|w| w[0] == "libpod_parent" && w[2].starts_with("libpod-"))
        .map(|w| w[1]);
    let id = systemd
        .or(cgroupfs)
        .filter(|id| ContainerId::is_valid(id))?;
    Some(Pod {
        name: String::new(),
        namespace: String::new(),
        uid: Some(id.to_string()),
    })
}

fn spec_annotations(base: &Path, rel: &Path) -> BTreeMap<String, String> {
    read_json_beneath::<SpecAnnotations>(base, rel, Cap::STATE)
        .and_then(|(s, _)| s.annotations)
        .map(|a| clean_labels(&a))
        .unwrap_or_default()
}

/// A CRI-O container `id` (64 hex, else `None`), from its userdata `config.json` annotations
/// (`io.kubernetes.*`), read below root's `overlay-containers` without following a symlink;
/// a spec another user could have written is not believed.
pub fn read_crio(root: &HostRoot, id: &str) -> Option<Metadata> {
    if !ContainerId::is_valid(id) {
        return None;
    }
    let candidates = [
        root.var_lib.join("containers/storage/overlay-containers"),
        root.run.join("containers/storage/overlay-containers"),
    ];
    let rel = Path::new(id).join("userdata/config.json");
    candidates.iter().find_map(|dir| {
        let path = dir.join(&rel);
        let (spec, writers) = read_json_beneath::<SpecAnnotations>(dir, &rel, Cap::STATE)?;
        if writers != Writers::Trusted {
            return None;
        }
        let annotations = spec.annotations?;
        let labels = clean_labels(&annotations);
        let (k8s_name, pod, image) = kubernetes_identity(&labels);
        let name = k8s_name.or_else(|| {
            labels
                .get("io.kubernetes.cri-o.Name")
                .and_then(|n| clean_name(n))
        });
        Some(Metadata {
            source: Some(path),
            name,
            image,
            labels,
            pod,
            init_pid: None,
        })
    })
}
