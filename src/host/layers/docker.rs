//! Docker's `overlay2` store: which image or container a layer directory is.
//!
//! Layout (as Docker 20.10 writes it, seen on a real store; see [`super::graph`]): a layer is
//! `<root>/overlay2/<cache-id>/diff`, reachable too as `<root>/overlay2/l/<short>` (a symlink
//! `../<cache-id>/diff`: mounts name the short links to fit more layers in a page of options).
//! `<root>/image/overlay2/layerdb/sha256/<chain-id>/` holds each image layer's `cache-id`,
//! `diff` (its diff id) and `parent`; `layerdb/mounts/<container-id>/` a container's `mount-id`
//! (its writable layer) and `init-id` (`<mount-id>-init`). An image's config,
//! `imagedb/content/sha256/<image-id>`, lists `rootfs.diff_ids` bottom first; chain ids follow
//! from them (`chain(0) = diff(0)`, `chain(n) = sha256(chain(n-1) + " " + diff(n))`), so an
//! image holds a layer when its chain holds the layer's chain id. `repositories.json` names
//! the images (`{"Repositories": {repo: {"repo:tag": image-id}}}`), and
//! `containers/<id>/config.v2.json` a container (`Name`, `Image`).

use foldhash::HashMap;
use std::collections::BTreeMap;

use serde::Deserialize;
use sha2::{Digest as _, Sha256};

use super::{
    ImageName, LayerContainer, LayerOwner, LayerRole, Store, StorePath, Trust, clean_names, graph,
    is_hex64,
};
use crate::host::runtime::clean_name;
use crate::host::runtime::file::Cap;

/// `<root>/overlay2/<id>/diff` or `<root>/overlay2/l/<short>`.
pub(super) fn parse(names: &[String]) -> Option<graph::Found> {
    graph::parse(names, "overlay2")
}

/// One image layer in the layerdb.
struct ImageLayer {
    chain_id: String,
    diff_id: Option<String>,
}

/// A container's own layer.
struct OwnLayer {
    container: String,
    role: LayerRole,
}

/// What one Docker store says, read once.
#[derive(Default)]
pub(super) struct Index {
    /// By cache id.
    layers: HashMap<String, ImageLayer>,
    /// By mount id (and `<mount-id>-init`).
    mounts: HashMap<String, OwnLayer>,
    /// Image ids by chain id of every layer they hold.
    images_by_chain: HashMap<String, Vec<String>>,
    /// Tags by image id.
    tags: HashMap<String, Vec<String>>,
    /// (name, image id) by container id.
    containers: HashMap<String, (Option<String>, Option<String>)>,
    trust: Trust,
    notes: Vec<String>,
}

#[derive(Deserialize)]
struct Repositories {
    #[serde(rename = "Repositories", default)]
    repositories: BTreeMap<String, BTreeMap<String, String>>,
}

#[derive(Deserialize)]
struct ImageConfig {
    rootfs: Option<RootFs>,
}

#[derive(Deserialize)]
struct RootFs {
    #[serde(default)]
    diff_ids: Vec<String>,
}

#[derive(Deserialize)]
struct ContainerConfig {
    #[serde(rename = "Name")]
    name: Option<String>,
    #[serde(rename = "Image")]
    image: Option<String>,
}

const LAYERDB: &str = "image/overlay2/layerdb";
const IMAGEDB: &str = "image/overlay2/imagedb";

impl Index {
    pub(super) fn read(store: &StorePath) -> Index {
        let mut index = Index::default();
        let (trust, notes) = (&mut index.trust, &mut index.notes);
        for chain in store.list(&format!("{LAYERDB}/sha256"), trust, notes) {
            if !is_hex64(&chain) {
                continue;
            }
            let dir = format!("{LAYERDB}/sha256/{chain}");
            let Some(cache_id) = store.read_line(&format!("{dir}/cache-id"), trust) else {
                continue;
            };
            let diff_id = store.read_line(&format!("{dir}/diff"), trust);
            index.layers.insert(
                cache_id,
                ImageLayer {
                    chain_id: format!("sha256:{chain}"),
                    diff_id,
                },
            );
        }
        for container in store.list(&format!("{LAYERDB}/mounts"), trust, notes) {
            if !is_hex64(&container) {
                continue;
            }
            let dir = format!("{LAYERDB}/mounts/{container}");
            for (file, role) in [
                ("mount-id", LayerRole::Writable),
                ("init-id", LayerRole::Init),
            ] {
                if let Some(id) = store.read_line(&format!("{dir}/{file}"), trust) {
                    let container = container.clone();
                    index.mounts.insert(id, OwnLayer { container, role });
                }
            }
            let config = format!("containers/{container}/config.v2.json");
            let config: Option<ContainerConfig> =
                store.read_json(&config, Cap::STATE, trust, &mut Vec::new());
            let (name, image) = config.map_or((None, None), |c| (c.name, c.image));
            let name = name
                .as_deref()
                .map(|n| n.trim_start_matches('/'))
                .and_then(clean_name);
            index.containers.insert(container, (name, image));
        }
        let repositories: Option<Repositories> =
            store.read_json("image/overlay2/repositories.json", Cap::INDEX, trust, notes);
        let mut image_ids: Vec<String> = Vec::new();
        for (tag, id) in repositories
            .iter()
            .flat_map(|r| r.repositories.values().flatten())
        {
            image_ids.push(id.clone());
            // `repo@sha256:...` keys are digests the image was pulled by, not names.
            if !tag.contains('@') {
                index.tags.entry(id.clone()).or_default().push(tag.clone());
            }
        }
        let listed = store.list(&format!("{IMAGEDB}/metadata/sha256"), trust, notes);
        image_ids.extend(listed.into_iter().map(|hex| format!("sha256:{hex}")));
        image_ids.sort();
        image_ids.dedup();
        for id in image_ids {
            let Some(hex) = id.strip_prefix("sha256:").filter(|h| is_hex64(h)) else {
                continue;
            };
            let rel = format!("{IMAGEDB}/content/sha256/{hex}");
            let config: Option<ImageConfig> =
                store.read_json(&rel, Cap::STATE, trust, &mut Vec::new());
            let diff_ids = config.and_then(|c| c.rootfs).map(|r| r.diff_ids);
            for chain in chain_ids(&diff_ids.unwrap_or_default()) {
                index
                    .images_by_chain
                    .entry(chain)
                    .or_default()
                    .push(id.clone());
            }
        }
        index
    }

    pub(super) fn owner(&self, store: &StorePath, found: graph::Found) -> LayerOwner {
        let (mut owner, trust) = found.owner(Store::Docker, store, &self.trust, &self.notes);
        if let Some(id) = owner.id.clone() {
            self.fill(&mut owner, &id);
        }
        owner.apply_trust(&trust);
        owner
    }

    /// Adds what the layerdb and image db say about cache id `id`.
    fn fill(&self, owner: &mut LayerOwner, id: &str) {
        if let Some(layer) = self.layers.get(id) {
            owner.role = LayerRole::Image;
            owner.chain_id = Some(layer.chain_id.clone());
            owner.diff_id = layer.diff_id.as_deref().and_then(clean_name);
            let ids = self.images_by_chain.get(&layer.chain_id);
            owner.images = ids.into_iter().flatten().map(|i| self.image(i)).collect();
            owner.images.sort();
        } else if let Some(own) = self.mounts.get(id) {
            owner.role = own.role;
            let (name, image) = self
                .containers
                .get(&own.container)
                .cloned()
                .unwrap_or_default();
            owner.container = Some(LayerContainer {
                id: own.container.clone(),
                name,
            });
            owner.images = image.iter().map(|i| self.image(i)).collect();
        } else {
            owner.notes.push(format!(
                "no layer or container in {LAYERDB} has cache id {}",
                clean_name(id).unwrap_or_default()
            ));
        }
    }

    fn image(&self, id: &str) -> ImageName {
        ImageName {
            id: clean_name(id).unwrap_or_default(),
            tags: clean_names(self.tags.get(id).into_iter().flatten()),
        }
    }
}

/// The chain ids of a stack of diff ids, bottom first (see the module contract).
fn chain_ids(diff_ids: &[String]) -> Vec<String> {
    let mut chains: Vec<String> = Vec::with_capacity(diff_ids.len());
    for diff in diff_ids {
        let chain = match chains.last() {
            None => diff.clone(),
            Some(below) => {
                let hash = Sha256::digest(format!("{below} {diff}").as_bytes());
                format!("sha256:{}", hex::encode(hash))
            }
        };
        chains.push(chain);
    }
    chains
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_ids_follow_dockers_rule() {
        // Seen on a real Docker 20.10 store: a base layer and one COPY on top.
        let diffs = [
            "sha256:6bd889e358b569eae21c20df07cfff336c3fbaf90f34f33222044b3219b715e8".to_string(),
            "sha256:0b60fa78649a0ed53dd3a37476e31d7261f8659f79055ffd76048ee89675f4b7".to_string(),
        ];
        assert_eq!(
            chain_ids(&diffs),
            vec![
                diffs[0].clone(),
                "sha256:e13d64f2ce98b678cf5160a9beeafdc934cbc42323115a5c000456d4024e78f6"
                    .to_string()
            ]
        );
        assert!(chain_ids(&[]).is_empty());
    }
}
