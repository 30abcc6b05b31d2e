//! isotop's own store, read by its documented layout (the read side never imports `launch`).
//!
//! Layout: the layer cache `<data>/layers/sha256/<hex>/` holds one unpacked layer, `<hex>` the
//! sha256 of its blob; `<data>/layers/meta/<hex>.json` its facts (`digest`, `diff_id`,
//! `source`). A container's writable layer is `<data>/containers/<id>/upper`. `<data>` is
//! `/var/lib/isotop`. The container records `/run/isotop/<id>/state.json` name each
//! container's `image` and `lower_layers`: a layer's images are those of the records that
//! stack it, a writable layer's container the record with its id.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{
    ImageName, LayerContainer, LayerOwner, LayerRole, Store, StorePath, Trust, is_hex64,
    join_absolute,
};
use crate::host::HostRoot;
use crate::host::runtime::clean_name;
use crate::host::runtime::file::{self, Cap};

/// A path recognised as isotop's.
pub(super) struct Found {
    pub(super) root: PathBuf,
    dir: PathBuf,
    name: Named,
}

enum Named {
    /// `layers/sha256/<hex>`.
    Layer(String),
    /// `containers/<id>/upper`.
    Upper(String),
}

/// `<data>/isotop/layers/sha256/<hex>` or `<data>/isotop/containers/<id>/upper`.
pub(super) fn parse(names: &[String]) -> Option<Found> {
    let [prefix @ .., data, a, b, c] = names else {
        return None;
    };
    if data != "isotop" {
        return None;
    }
    let name = match (a.as_str(), b.as_str(), c.as_str()) {
        ("layers", "sha256", hex) if is_hex64(hex) => Named::Layer(hex.to_string()),
        ("containers", id, "upper") if is_hex64(id) => Named::Upper(id.to_string()),
        _ => return None,
    };
    let mut root = join_absolute(prefix);
    root.push(data);
    Some(Found {
        root,
        dir: join_absolute(names),
        name,
    })
}

/// The parts of a launcher record this reader uses.
#[derive(Debug, Clone, Deserialize)]
struct Record {
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    image: Option<String>,
    #[serde(default)]
    lower_layers: Vec<PathBuf>,
}

#[derive(Debug, Clone, Deserialize)]
struct Meta {
    digest: Option<String>,
    diff_id: Option<String>,
}

/// isotop's container records, read once.
#[derive(Default)]
pub(super) struct Index {
    records: Vec<Record>,
    trust: Trust,
}

impl Index {
    pub(super) fn read(root: &HostRoot) -> Index {
        let mut index = Index::default();
        let Ok(listing) = file::list_dirs_beneath(&root.run, Path::new("isotop")) else {
            return index;
        };
        index.trust.add(&listing.writers);
        for id in listing.names.iter().filter(|id| is_hex64(id)) {
            let rel = Path::new("isotop").join(id).join("state.json");
            let Ok(file) = file::read_beneath(&root.run, &rel, Cap::STATE) else {
                continue;
            };
            index.trust.add(&file.writers);
            if let Ok(record) = serde_json::from_slice::<Record>(&file.bytes)
                && record.id == *id
            {
                index.records.push(record);
            }
        }
        index
    }

    pub(super) fn owner(&self, store: &StorePath, root: &HostRoot, found: Found) -> LayerOwner {
        let mut trust = self.trust.clone();
        let (id, role) = match &found.name {
            Named::Layer(hex) => (hex, LayerRole::Image),
            Named::Upper(id) => (id, LayerRole::Writable),
        };
        let mut owner = LayerOwner::from_path(
            Store::Isotop,
            found.root,
            found.dir.clone(),
            Some(id.clone()),
        );
        owner.role = role;
        match &found.name {
            Named::Layer(hex) => {
                let rel = format!("layers/meta/{hex}.json");
                let meta: Option<Meta> =
                    store.read_json(&rel, Cap::LINE, &mut trust, &mut owner.notes);
                owner.digest = meta
                    .as_ref()
                    .and_then(|m| m.digest.as_deref())
                    .and_then(clean_name);
                owner.diff_id = meta.and_then(|m| m.diff_id).as_deref().and_then(clean_name);
                let readable = root.host_path(&found.dir);
                let mut images: Vec<ImageName> = self
                    .records
                    .iter()
                    .filter(|r| {
                        r.lower_layers
                            .iter()
                            .any(|l| *l == found.dir || *l == readable)
                    })
                    .filter_map(|r| r.image.as_deref().and_then(clean_name))
                    .map(|id| ImageName {
                        id,
                        tags: Vec::new(),
                    })
                    .collect();
                images.sort();
                images.dedup();
                owner.images = images;
            }
            Named::Upper(id) => match self.records.iter().find(|r| r.id == *id) {
                Some(record) => {
                    owner.container = Some(LayerContainer {
                        id: id.clone(),
                        name: record.name.as_deref().and_then(clean_name),
                    });
                    let image = record.image.as_deref().and_then(clean_name);
                    owner.images = image
                        .map(|id| ImageName {
                            id,
                            tags: Vec::new(),
                        })
                        .into_iter()
                        .collect();
                }
                None => owner
                    .notes
                    .push(format!("no isotop record names container {id}")),
            },
        }
        owner.apply_trust(&trust);
        owner
    }
}
