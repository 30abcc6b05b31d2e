//! isotop's own store, read by its documented layout (the read side never imports `launch`).
//!
//! Layout: the layer cache `<data>/layers/sha256/<hex>/` holds one unpacked layer, `<hex>` the
//! sha256 of its blob; `<data>/layers/meta/<hex>.json` its facts (`digest`, `diff_id`,
//! `source`). The skeleton layer isotop generates for containers without an image (the host's
//! `/usr` bound in, the usual top-level links) is `<data>/default/v<format>-<16 hex>`, named by
//! that version. A container's writable layer is `<data>/containers/<id>/upper`. `<data>` is
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
    /// `default/v<format>-<16 hex>`: the generated skeleton layer.
    Skeleton(String),
}

/// `v<digits>-<16 lowercase hex>`: a skeleton layer's version.
fn is_skeleton_version(name: &str) -> bool {
    let Some((format, hex)) = name.strip_prefix('v').and_then(|v| v.split_once('-')) else {
        return false;
    };
    !format.is_empty()
        && format.bytes().all(|b| b.is_ascii_digit())
        && hex.len() == 16
        && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// `<data>/isotop/layers/sha256/<hex>`, `<data>/isotop/containers/<id>/upper` or
/// `<data>/isotop/default/<version>`.
pub(super) fn parse(names: &[String]) -> Option<Found> {
    let cache = match names {
        [prefix @ .., data, a, b, c] => match (a.as_str(), b.as_str(), c.as_str()) {
            ("layers", "sha256", hex) if is_hex64(hex) => {
                Some((prefix, data, Named::Layer(hex.to_string())))
            }
            ("containers", id, "upper") if is_hex64(id) => {
                Some((prefix, data, Named::Upper(id.to_string())))
            }
            _ => None,
        },
        _ => None,
    };
    let (prefix, data, name) = match (cache, names) {
        (Some(found), _) => found,
        (None, [prefix @ .., data, a, version])
            if a == "default" && is_skeleton_version(version) =>
        {
            (prefix, data, Named::Skeleton(version.clone()))
        }
        _ => return None,
    };
    if data != "isotop" {
        return None;
    }
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

    /// The images of the records whose lower layers include `dir` (a host path), sorted.
    fn images_stacking(&self, dir: &Path, root: &HostRoot) -> Vec<ImageName> {
        let readable = root.host_path(dir);
        let mut images: Vec<ImageName> = self
            .records
            .iter()
            .filter(|r| r.lower_layers.iter().any(|l| l == dir || *l == readable))
            .filter_map(|r| r.image.as_deref().and_then(clean_name))
            .map(|id| ImageName {
                id,
                tags: Vec::new(),
            })
            .collect();
        images.sort();
        images.dedup();
        images
    }

    pub(super) fn owner(&self, store: &StorePath, root: &HostRoot, found: Found) -> LayerOwner {
        let mut trust = self.trust.clone();
        let (id, role) = match &found.name {
            Named::Layer(hex) => (hex, LayerRole::Image),
            Named::Upper(id) => (id, LayerRole::Writable),
            Named::Skeleton(version) => (version, LayerRole::Image),
        };
        let mut owner = LayerOwner::from_path(
            Store::Isotop,
            found.root,
            found.dir.clone(),
            Some(id.clone()),
        );
        owner.role = role;
        match &found.name {
            Named::Skeleton(_) => {
                owner.names = vec!["isotop default skeleton".to_string()];
                owner.images = self.images_stacking(&found.dir, root);
            }
            Named::Layer(hex) => {
                let rel = format!("layers/meta/{hex}.json");
                let meta: Option<Meta> =
                    store.read_json(&rel, Cap::LINE, &mut trust, &mut owner.notes);
                owner.digest = meta
                    .as_ref()
                    .and_then(|m| m.digest.as_deref())
                    .and_then(clean_name);
                owner.diff_id = meta.and_then(|m| m.diff_id).as_deref().and_then(clean_name);
                owner.images = self.images_stacking(&found.dir, root);
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
