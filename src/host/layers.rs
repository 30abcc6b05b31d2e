//! Whose layers: a union file system's layer directory (a host path, as overlay's `lowerdir`
//! or `upperdir` names it) mapped to the runtime that keeps it and that runtime's own names.
//!
//! Contract: [`layer_owner`] (or [`LayerOwners::owner`], which reads each store's index once
//! for many layers) recognises a directory by its path alone — Docker's
//! `<root>/overlay2/<id>/diff` and `<root>/overlay2/l/<short>`, containerd's
//! `<root>/io.containerd.snapshotter.v1.overlayfs/snapshots/<n>/fs`, containers/storage's
//! (Podman, CRI-O, Buildah) `<graph>/overlay/<id>/diff` and `<graph>/overlay/l/<short>`, isotop's
//! `<data>/isotop/layers/sha256/<hex>` and `<data>/isotop/containers/<id>/upper` — and returns
//! `None` for any other path (a bind root, a relative `l/<short>` that names no store, a path
//! with `..`). For a recognised path it always returns an owner: the store and the id the path
//! gives, then whatever that store's own files add (diff and chain ids, image names and tags,
//! the container whose writable or init layer it is). A `l/<short>` link is resolved by its
//! text only, and only when it says `../<id>/diff` in the same store; anything else is refused
//! with a note. Every file is read through [`runtime::file`](super::runtime::file) below a
//! trusted base (the host's `/var/lib`, `/run`, a user's home, else `/`): no symlink followed,
//! no FIFO waited on, each index capped ([`Cap::INDEX`]); an index that is missing, garbage,
//! too big or refused leaves its names out and says so in [`LayerOwner::notes`], never a panic.
//! Names from a store another user could have written (rootless Podman under a home) are
//! marked [`LayerOwner::trusted`] `false`: they are that user's claims. Strings shown are
//! cleaned. containerd names its snapshots only in `metadata.db`, a bolt database: no kept,
//! small bolt reader exists for Rust, and opening the database could contend with containerd's
//! lock, so a containerd layer is shown by its snapshot number. [`shared_layers`] is the dedup
//! picture: which containers' stacks hold each layer. Nothing here writes.

mod containerd;
mod docker;
mod graph;
mod isotop;
mod storage;

use foldhash::HashMap;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::HostRoot;
use super::runtime::file::{self, Cap, FileError, Writers};
use super::runtime::{clean_name, home_dirs};

/// Whose store a layer directory is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Store {
    /// Docker's `overlay2` graph driver.
    Docker,
    /// containerd's overlayfs snapshotter (nerdctl, Kubernetes through CRI, Docker's
    /// containerd image store).
    Containerd,
    /// containers/storage's `overlay` driver: Podman, CRI-O and Buildah share it.
    ContainersStorage,
    /// isotop's own layer cache and containers.
    Isotop,
}

/// What a layer is to its store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LayerRole {
    /// A read-only layer of one or more images.
    Image,
    /// Docker's per-container init layer (`<id>-init`: hostname, resolv.conf, mount points).
    Init,
    /// A container's writable layer.
    Writable,
    /// The store's files do not say (containerd snapshots, an unreadable index).
    Unknown,
}

/// An image whose layer chain holds a layer.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ImageName {
    /// The store's image id (`sha256:<hex>` for Docker, the 64-hex id for containers/storage,
    /// the image path or reference an isotop record names).
    pub id: String,
    /// Its names (`repo:tag`), sorted; empty for an untagged image.
    pub tags: Vec<String>,
}

/// The container whose own layer (writable or init) a layer is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerContainer {
    /// The runtime's container id.
    pub id: String,
    pub name: Option<String>,
}

/// A layer directory's owner: the store and its own names for the layer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerOwner {
    pub store: Store,
    /// The store's root as the host names it (`/var/lib/docker`, a graph root, containerd's root).
    pub root: PathBuf,
    /// The layer's directory as the host names it, with `l/` links resolved: one layer has
    /// one `dir` however its mounts named it.
    pub dir: PathBuf,
    /// The store's id of the layer: Docker's cache id, containers/storage's layer id,
    /// containerd's snapshot number, isotop's blob digest or container id. `None` when a
    /// `l/` link could not be resolved.
    pub id: Option<String>,
    pub role: LayerRole,
    /// `sha256:<hex>` of the layer's uncompressed tar, when the store records it.
    pub diff_id: Option<String>,
    /// Docker's chain id (`sha256:<hex>`: this layer and every one below it).
    pub chain_id: Option<String>,
    /// `sha256:<hex>` of the layer blob as pulled (containers/storage, isotop).
    pub digest: Option<String>,
    /// The store's own names for the layer (containers/storage `names`).
    pub names: Vec<String>,
    /// Images whose layer chain holds it, sorted.
    pub images: Vec<ImageName>,
    /// The container whose writable or init layer it is.
    pub container: Option<LayerContainer>,
    /// False when another user could have written the files the names came from: they are
    /// that user's claims (the reason is in `notes`).
    pub trusted: bool,
    /// What could not be read or was refused, and why.
    pub notes: Vec<String>,
}

impl LayerOwner {
    /// An owner known from the path alone; the store's index fills in the rest.
    pub(crate) fn from_path(store: Store, root: PathBuf, dir: PathBuf, id: Option<String>) -> Self {
        LayerOwner {
            store,
            root,
            dir,
            id,
            role: LayerRole::Unknown,
            diff_id: None,
            chain_id: None,
            digest: None,
            names: Vec::new(),
            images: Vec::new(),
            container: None,
            trusted: true,
            notes: Vec::new(),
        }
    }

    /// Marks the names as a stranger's claims when `trust` says someone else could write.
    fn apply_trust(&mut self, trust: &Trust) {
        if let Some(reason) = &trust.untrusted {
            self.trusted = false;
            self.notes
                .push(format!("names are another user's claims: {reason}"));
        }
    }
}

/// The owner of one layer directory (see the module contract); `None` when the path is no
/// known store's layer.
pub fn layer_owner(root: &HostRoot, dir: &Path) -> Option<LayerOwner> {
    LayerOwners::new(root).owner(dir)
}

/// Maps many layer directories, reading each store's index once (a per-call cache: make one
/// for a scan, drop it after).
pub struct LayerOwners<'r> {
    root: &'r HostRoot,
    /// Trusted bases, deepest first, as readable paths.
    bases: Vec<PathBuf>,
    docker: HashMap<PathBuf, docker::Index>,
    storage: HashMap<PathBuf, storage::Index>,
    isotop: Option<isotop::Index>,
}

impl<'r> LayerOwners<'r> {
    pub fn new(root: &'r HostRoot) -> Self {
        let mut bases = home_dirs(root);
        bases.extend([root.var_lib.clone(), root.run.clone(), root.prefix.clone()]);
        // The deepest base that holds a store is the one it is read below.
        bases.sort_by_key(|b| std::cmp::Reverse(b.components().count()));
        LayerOwners {
            root,
            bases,
            docker: HashMap::default(),
            storage: HashMap::default(),
            isotop: None,
        }
    }

    /// The owner of `dir` (see the module contract).
    pub fn owner(&mut self, dir: &Path) -> Option<LayerOwner> {
        let names = plain_absolute(dir)?;
        if let Some(found) = docker::parse(&names) {
            let store = self.store_path(&found.root);
            let index = self
                .docker
                .entry(found.root.clone())
                .or_insert_with(|| docker::Index::read(&store));
            return Some(index.owner(&store, found));
        }
        if let Some(found) = storage::parse(&names) {
            let store = self.store_path(&found.root);
            let index = self
                .storage
                .entry(found.root.clone())
                .or_insert_with(|| storage::Index::read(&store));
            return Some(index.owner(&store, found));
        }
        if let Some(owner) = containerd::parse(&names) {
            return Some(owner);
        }
        let found = isotop::parse(&names)?;
        let root = self.root;
        let store = self.store_path(&found.root);
        let index = self.isotop.get_or_insert_with(|| isotop::Index::read(root));
        Some(index.owner(&store, root, found))
    }

    /// Where a store whose host path is `host_root` is read: below the deepest trusted base.
    fn store_path(&self, host_root: &Path) -> StorePath {
        let readable = self.root.host_path(host_root);
        let base = self
            .bases
            .iter()
            .find(|b| readable.starts_with(b))
            .cloned()
            .unwrap_or_else(|| PathBuf::from("/"));
        let rel = readable
            .strip_prefix(&base)
            .map(Path::to_path_buf)
            .unwrap_or_default();
        StorePath { base, rel }
    }
}

/// A store's root as read: the trusted base and the path below it (walked without following
/// a symlink).
#[derive(Debug, Clone)]
struct StorePath {
    base: PathBuf,
    rel: PathBuf,
}

impl StorePath {
    /// Reads `<store>/<rel>` capped at `cap`, accounting who could have written it.
    fn read(&self, rel: &str, cap: Cap, trust: &mut Trust) -> Result<Vec<u8>, FileError> {
        let file = file::read_beneath(&self.base, &self.rel.join(rel), cap)?;
        trust.add(&file.writers);
        Ok(file.bytes)
    }

    /// Reads and parses the JSON file `<store>/<rel>`; a failure is noted, not returned.
    fn read_json<T: serde::de::DeserializeOwned>(
        &self,
        rel: &str,
        cap: Cap,
        trust: &mut Trust,
        notes: &mut Vec<String>,
    ) -> Option<T> {
        let bytes = match self.read(rel, cap, trust) {
            Ok(bytes) => bytes,
            Err(e) if e.is_missing() => {
                notes.push(format!("{}: missing", self.shown(rel)));
                return None;
            }
            Err(e) => {
                notes.push(e.to_string());
                return None;
            }
        };
        match serde_json::from_slice(&bytes) {
            Ok(value) => Some(value),
            Err(e) => {
                notes.push(format!(
                    "{}: not what it should hold ({e})",
                    self.shown(rel)
                ));
                None
            }
        }
    }

    /// A one-line file's trimmed text (Docker's `cache-id`, `diff`, `parent`, `mount-id`).
    fn read_line(&self, rel: &str, trust: &mut Trust) -> Option<String> {
        let bytes = self.read(rel, Cap::LINE, trust).ok()?;
        let text = String::from_utf8(bytes).ok()?;
        Some(text.trim().to_string())
    }

    /// Subdirectory names of `<store>/<rel>` (empty when absent or refused), at most
    /// [`MAX_ENTRIES`].
    fn list(&self, rel: &str, trust: &mut Trust, notes: &mut Vec<String>) -> Vec<String> {
        match file::list_dirs_beneath(&self.base, &self.rel.join(rel)) {
            Ok(listing) => {
                trust.add(&listing.writers);
                let mut names = listing.names;
                if names.len() > MAX_ENTRIES {
                    notes.push(format!(
                        "{}: {} entries, only the first {MAX_ENTRIES} read",
                        self.shown(rel),
                        names.len()
                    ));
                    names.truncate(MAX_ENTRIES);
                }
                names
            }
            Err(e) if e.is_missing() => Vec::new(),
            Err(e) => {
                notes.push(e.to_string());
                Vec::new()
            }
        }
    }

    /// The text of the link `<store>/<rel>`.
    fn read_link(&self, rel: &str, trust: &mut Trust) -> Result<PathBuf, FileError> {
        let link = file::read_link_beneath(&self.base, &self.rel.join(rel))?;
        trust.add(&link.writers);
        Ok(link.target)
    }

    fn shown(&self, rel: &str) -> String {
        self.base.join(&self.rel).join(rel).display().to_string()
    }
}

/// Most entries of one index directory read (Docker's layerdb, mounts, images): far more than a
/// host holds; a directory past it is a stranger's flood.
const MAX_ENTRIES: usize = 100_000;

/// Who could have written what a store's names came from: the first other writer found.
#[derive(Debug, Clone, Default)]
struct Trust {
    untrusted: Option<String>,
}

impl Trust {
    fn add(&mut self, writers: &Writers) {
        if self.untrusted.is_some() {
            return;
        }
        self.untrusted = match writers {
            Writers::Trusted => None,
            Writers::User(uid) => Some(format!("written by uid {uid}")),
            Writers::Anyone(reason) => Some(reason.clone()),
        };
    }
}

/// `dir`'s components when it is absolute and has no `..` (`.` and repeated `/` dropped).
fn plain_absolute(dir: &Path) -> Option<Vec<String>> {
    if !dir.is_absolute() {
        return None;
    }
    let mut names = Vec::new();
    for component in dir.components() {
        match component {
            Component::RootDir | Component::CurDir => {}
            Component::Normal(name) => names.push(name.to_str()?.to_string()),
            Component::ParentDir | Component::Prefix(_) => return None,
        }
    }
    Some(names)
}

/// The absolute path made of `names`.
fn join_absolute(names: &[String]) -> PathBuf {
    let mut path = PathBuf::from("/");
    path.extend(names);
    path
}

/// True for 64 lowercase hex digits (the ids Docker, containers/storage and isotop make).
fn is_hex64(text: &str) -> bool {
    crate::units::ContainerId::is_valid(text)
}

/// Cleans a list of names from a store's files, dropping empty ones, sorted and deduplicated.
fn clean_names<'a>(names: impl IntoIterator<Item = &'a String>) -> Vec<String> {
    let set: BTreeSet<String> = names.into_iter().filter_map(|n| clean_name(n)).collect();
    set.into_iter().collect()
}

/// One layer and the containers whose stacks hold it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SharedLayer {
    /// The layer's directory ([`LayerOwner::dir`], or the path as given when no store owns it).
    pub dir: PathBuf,
    pub owner: Option<LayerOwner>,
    /// Ids of the containers whose stacks hold it, sorted, each once.
    pub containers: Vec<String>,
}

impl SharedLayer {
    /// True when more than one container uses it: its bytes are on disk once for all.
    pub fn is_shared(&self) -> bool {
        self.containers.len() > 1
    }
}

/// The dedup picture: every layer of the given stacks (`(container id, its layer dirs)`) with
/// the containers holding it, the most shared first, then by dir. Two paths naming one layer
/// (`l/<short>` and `<id>/diff`) count as one.
pub fn shared_layers(
    owners: &mut LayerOwners,
    stacks: &[(String, Vec<PathBuf>)],
) -> Vec<SharedLayer> {
    let mut by_dir: BTreeMap<PathBuf, (Option<LayerOwner>, BTreeSet<String>)> = BTreeMap::new();
    for (container, dirs) in stacks {
        for dir in dirs {
            let owner = owners.owner(dir);
            let key = owner
                .as_ref()
                .map_or_else(|| dir.clone(), |o| o.dir.clone());
            let entry = by_dir
                .entry(key)
                .or_insert_with(|| (owner, BTreeSet::new()));
            entry.1.insert(container.clone());
        }
    }
    let mut layers: Vec<SharedLayer> = by_dir
        .into_iter()
        .map(|(dir, (owner, containers))| SharedLayer {
            dir,
            owner,
            containers: containers.into_iter().collect(),
        })
        .collect();
    layers.sort_by(|a, b| {
        b.containers
            .len()
            .cmp(&a.containers.len())
            .then_with(|| a.dir.cmp(&b.dir))
    });
    layers
}

#[cfg(test)]
mod tests;
