//! containers/storage's `overlay` driver (Podman, CRI-O, Buildah): which image or container
//! a layer directory is.
//!
//! Layout (as Podman 4.3 writes it, rootful under `/var/lib/containers/storage`, rootless under
//! `~/.local/share/containers/storage`): a layer is `<graph>/overlay/<id>/diff`, reachable
//! too as `<graph>/overlay/l/<short>` (a symlink `../<id>/diff`). `overlay-layers/layers.json`
//! (and `volatile-layers.json`) lists the layers: `id`, `names`, `parent`,
//! `compressed-diff-digest`, `diff-digest`. `overlay-images/images.json` lists images with
//! `names` and their top `layer`: an image holds every layer on that layer's parent chain.
//! `overlay-containers/containers.json` (and `volatile-containers.json`) lists containers with
//! `names`, `image` and their own writable `layer`. A rootless store is its user's to write:
//! what it says is marked untrusted.

use foldhash::{HashMap, HashSet};

use serde::Deserialize;

use super::{
    ImageName, LayerContainer, LayerOwner, LayerRole, Store, StorePath, Trust, clean_names, graph,
};
use crate::host::runtime::clean_name;
use crate::host::runtime::file::Cap;

/// `<root>/overlay/<id>/diff` or `<root>/overlay/l/<short>`.
pub(super) fn parse(names: &[String]) -> Option<graph::Found> {
    graph::parse(names, "overlay")
}

#[derive(Debug, Clone, Deserialize)]
struct LayerEntry {
    id: String,
    #[serde(default)]
    names: Vec<String>,
    parent: Option<String>,
    #[serde(rename = "compressed-diff-digest")]
    compressed_digest: Option<String>,
    #[serde(rename = "diff-digest")]
    diff_digest: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct ImageEntry {
    id: String,
    #[serde(default)]
    names: Vec<String>,
    layer: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct ContainerEntry {
    id: String,
    #[serde(default)]
    names: Vec<String>,
    image: Option<String>,
    layer: Option<String>,
}

/// What one store says, read once.
#[derive(Default)]
pub(super) struct Index {
    layers: HashMap<String, LayerEntry>,
    /// Image ids by every layer on their chain.
    images_by_layer: HashMap<String, Vec<String>>,
    image_names: HashMap<String, Vec<String>>,
    /// By the container's own layer id.
    containers: HashMap<String, ContainerEntry>,
    trust: Trust,
    notes: Vec<String>,
}

/// Reads `<store>/<dir>/<main>` (a missing one is noted) and `<dir>/<volatile>` (often absent).
fn read_pair<T: serde::de::DeserializeOwned>(
    store: &StorePath,
    dir: &str,
    files: [&str; 2],
    trust: &mut Trust,
    notes: &mut Vec<String>,
) -> Vec<T> {
    let [main, volatile] = files;
    let mut entries: Vec<T> = store
        .read_json(&format!("{dir}/{main}"), Cap::INDEX, trust, notes)
        .unwrap_or_default();
    let mut quiet = Vec::new();
    let extra: Option<Vec<T>> =
        store.read_json(&format!("{dir}/{volatile}"), Cap::INDEX, trust, &mut quiet);
    entries.extend(extra.unwrap_or_default());
    // A volatile index that exists but could not be read is worth saying.
    notes.extend(quiet.into_iter().filter(|n| !n.ends_with(": missing")));
    entries
}

impl Index {
    pub(super) fn read(store: &StorePath) -> Index {
        let mut index = Index::default();
        let (trust, notes) = (&mut index.trust, &mut index.notes);
        let layers: Vec<LayerEntry> = read_pair(
            store,
            "overlay-layers",
            ["layers.json", "volatile-layers.json"],
            trust,
            notes,
        );
        index.layers = layers.into_iter().map(|l| (l.id.clone(), l)).collect();
        let images: Vec<ImageEntry> = store
            .read_json("overlay-images/images.json", Cap::INDEX, trust, notes)
            .unwrap_or_default();
        for image in images {
            let mut seen = HashSet::default();
            let mut next = image.layer.clone();
            // Each layer once: a parent cycle in a garbage index ends the walk.
            while let Some(layer) = next.filter(|l| seen.insert(l.clone())) {
                next = index.layers.get(&layer).and_then(|l| l.parent.clone());
                index
                    .images_by_layer
                    .entry(layer)
                    .or_default()
                    .push(image.id.clone());
            }
            index.image_names.insert(image.id, image.names);
        }
        let containers: Vec<ContainerEntry> = read_pair(
            store,
            "overlay-containers",
            ["containers.json", "volatile-containers.json"],
            trust,
            notes,
        );
        for container in containers {
            if let Some(layer) = container.layer.clone() {
                index.containers.insert(layer, container);
            }
        }
        index
    }

    pub(super) fn owner(&self, store: &StorePath, found: graph::Found) -> LayerOwner {
        let (mut owner, trust) =
            found.owner(Store::ContainersStorage, store, &self.trust, &self.notes);
        if let Some(id) = owner.id.clone() {
            self.fill(&mut owner, &id);
        }
        owner.apply_trust(&trust);
        owner
    }

    fn fill(&self, owner: &mut LayerOwner, id: &str) {
        let Some(layer) = self.layers.get(id) else {
            owner.notes.push(format!(
                "overlay-layers lists no layer {}",
                clean_name(id).unwrap_or_default()
            ));
            return;
        };
        owner.names = clean_names(&layer.names);
        owner.diff_id = layer.diff_digest.as_deref().and_then(clean_name);
        owner.digest = layer.compressed_digest.as_deref().and_then(clean_name);
        if let Some(container) = self.containers.get(id) {
            owner.role = LayerRole::Writable;
            owner.container = Some(LayerContainer {
                id: clean_name(&container.id).unwrap_or_default(),
                name: container.names.first().and_then(|n| clean_name(n)),
            });
            owner.images = container.image.iter().map(|i| self.image(i)).collect();
        } else {
            owner.role = LayerRole::Image;
            let ids = self.images_by_layer.get(id).into_iter().flatten();
            owner.images = ids.map(|i| self.image(i)).collect();
            owner.images.sort();
            owner.images.dedup();
        }
    }

    fn image(&self, id: &str) -> ImageName {
        ImageName {
            id: clean_name(id).unwrap_or_default(),
            tags: clean_names(self.image_names.get(id).into_iter().flatten()),
        }
    }
}
