//! Podman and CRI-O: the shared containers/storage store.
//!
//! Podman (and CRI-O, which uses the same library) lists containers in
//! `/var/lib/containers/storage/overlay-containers/containers.json` (and
//! `volatile-containers.json` for `--rm` containers): entries `{id, names, image, metadata}`
//! where `metadata` is itself a JSON string holding `image-name`. Rootless Podman keeps the
//! same layout under `~/.local/share/containers/storage` (best effort: every `/home/*` and
//! `/root`). Each container's OCI spec sits at `<store>/overlay-containers/<id>/userdata/
//! config.json` (CRI-O's under `/run/containers/storage` too); its annotations carry CRI-O's
//! `io.kubernetes.*` identity.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{Metadata, clean_labels, clean_name, home_dirs, kubernetes_identity, read_json};
use crate::host::HostRoot;

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
}

#[derive(Deserialize)]
struct SpecAnnotations {
    annotations: Option<BTreeMap<String, String>>,
}

/// One store's container list.
#[derive(Debug, Clone)]
struct Store {
    /// `<store>/overlay-containers`.
    dir: PathBuf,
    index: PathBuf,
    entries: Vec<Entry>,
}

/// Every containers/storage index found on the host (rootful first), read once per scan.
#[derive(Debug, Clone, Default)]
pub struct PodmanStores {
    stores: Vec<Store>,
}

/// The storage roots to look in: rootful, then each user's rootless store.
fn storage_roots(root: &HostRoot) -> Vec<PathBuf> {
    let mut roots = vec![root.var_lib.join("containers/storage")];
    roots.extend(
        home_dirs(root)
            .into_iter()
            .map(|home| home.join(".local/share/containers/storage")),
    );
    roots
}

impl PodmanStores {
    /// Reads every index file; missing or garbage files are skipped.
    pub fn read(root: &HostRoot) -> PodmanStores {
        let mut stores = Vec::new();
        for storage in storage_roots(root) {
            let dir = storage.join("overlay-containers");
            for file in INDEX_FILES {
                let index = dir.join(file);
                if let Some(entries) = read_json::<Vec<Entry>>(&index) {
                    stores.push(Store {
                        dir: dir.clone(),
                        index,
                        entries,
                    });
                }
            }
        }
        PodmanStores { stores }
    }

    /// What the store says about container `id`; `None` when no index lists it.
    pub fn lookup(&self, id: &str) -> Option<Metadata> {
        let (store, entry) = self
            .stores
            .iter()
            .find_map(|s| s.entries.iter().find(|e| e.id == id).map(|e| (s, e)))?;
        let image = entry
            .metadata
            .as_deref()
            .and_then(|m| serde_json::from_str::<EntryMetadata>(m).ok())
            .and_then(|m| m.image_name)
            .or_else(|| entry.image.clone())
            .and_then(|i| clean_name(&i));
        let labels = spec_annotations(&store.dir.join(id).join("userdata/config.json"));
        Some(Metadata {
            name: entry.names.first().and_then(|n| clean_name(n)),
            image,
            labels,
            pod: None,
            init_pid: None,
            source: Some(store.index.clone()),
        })
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

fn spec_annotations(path: &Path) -> BTreeMap<String, String> {
    read_json::<SpecAnnotations>(path)
        .and_then(|s| s.annotations)
        .map(|a| clean_labels(&a))
        .unwrap_or_default()
}

/// A CRI-O container `id`, from its userdata `config.json` annotations (`io.kubernetes.*`).
pub fn read_crio(root: &HostRoot, id: &str) -> Option<Metadata> {
    let candidates = [
        root.var_lib.join("containers/storage/overlay-containers"),
        root.run.join("containers/storage/overlay-containers"),
    ];
    candidates.iter().find_map(|dir| {
        let path = dir.join(id).join("userdata/config.json");
        let annotations = read_json::<SpecAnnotations>(&path)?.annotations?;
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
