//! A container's file-system stack: its root and mounts as the kernel shows them
//! ([`super::mounts`]) joined with each layer's owner ([`super::layers`]) — the one answer to
//! "what is this container's root made of" that `inspect`, the sampler (and through its frames
//! the dashboard, the exporter and the recorder) all use.
//!
//! Contract: [`read_stack`] reads the init's mountinfo once and returns, for an overlay root,
//! its layers top first — the writable (upper) layer, then the lower layers in overlay's order
//! (top first), then the data-only layers — each with its host path and, where a store keeps
//! it, its owner. Overlay options may name layers relative to the directory the mounting
//! runtime was in (Docker does when the options would exceed a page: `l/<short>` relative to
//! `<data-root>/overlay2`); such a dir is joined to the base [`relative_base`] gives for the
//! container's runtime before its owner is looked up, and a relative dir no base resolves is
//! kept as given, with a note. A root that is not overlay has no layers (its host path is in
//! [`ContainerStack::root`]). [`mark_shared`] fills each layer's `shared_with` from the stacks
//! of all containers read in one pass (the dedup picture, per container); [`read_stacks`] is
//! that pass — every given container read with one owner cache, then marked. A process gone
//! mid-read (its mount namespace torn down as it exits) is `Ok(None)`, never an error. Nothing
//! here writes or walks a layer: sizes come from [`super::usage`] through `sample::sizer`
//! ([`StackLayer::sizable`] is the directory to size).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::layers::{LayerOwner, LayerOwners};
use super::mounts::{ContainerRoot, HostMounts, read_container_root_with};
use super::runtime::Runtime;
use super::{HostError, HostRoot};

/// Where a layer sits in the stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "n", rename_all = "kebab-case")]
pub enum LayerPosition {
    /// Overlay's `upperdir`: the container's copy-on-write layer.
    Writable,
    /// The n-th `lowerdir`, 1 = the top one (overlay's order).
    Lower(usize),
    /// The n-th data-only layer (`datadir+`, kernel ≥ 6.8), 1 = the first given.
    DataOnly(usize),
}

/// One layer of a container's root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StackLayer {
    /// The layer's directory as the host names it (relative names joined; `l/` links as the
    /// mount gave them — [`LayerOwner::dir`] has them resolved).
    #[serde(serialize_with = "super::mounts::shown::path")]
    pub dir: PathBuf,
    pub position: LayerPosition,
    /// The store keeping it and its names; `None` when no known store's path.
    pub owner: Option<LayerOwner>,
    /// Ids of the other containers (of the same pass) whose stacks hold this layer, sorted.
    pub shared_with: Vec<String>,
}

impl StackLayer {
    /// The directory that identifies the layer: the owner's (links resolved), else `dir`.
    pub fn key(&self) -> &Path {
        self.owner.as_ref().map_or(&self.dir, |o| &o.dir)
    }

    /// The directory to size, readable under `root`: the [`key`](Self::key) mapped through
    /// [`HostRoot::host_path`]. A key that is relative (a base this runtime's mounts are
    /// relative to is unknown) or holds `..` is refused with the reason: the first names no
    /// directory isotop knows, the second could lead a walk outside the host root.
    pub fn sizable(&self, root: &HostRoot) -> Result<PathBuf, String> {
        let key = self.key();
        if !key.is_absolute() {
            return Err(format!(
                "not sized: {} is relative to a directory isotop does not know",
                super::mounts::shown::display(key)
            ));
        }
        if key
            .components()
            .any(|c| c == std::path::Component::ParentDir)
        {
            return Err(format!(
                "not sized: {} holds `..`",
                super::mounts::shown::display(key)
            ));
        }
        Ok(root.host_path(key))
    }
}

/// A container's root, mounts and layer stack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerStack {
    /// The root and mounts as the kernel shows them.
    #[serde(flatten)]
    pub root: ContainerRoot,
    /// Top first: writable, lowers top to bottom, data-only. Empty for a root that is not
    /// overlay.
    pub layers: Vec<StackLayer>,
}

impl ContainerStack {
    /// The writable layer's directory, if the root is overlay with an upper dir.
    pub fn writable(&self) -> Option<&StackLayer> {
        self.layers
            .iter()
            .find(|l| l.position == LayerPosition::Writable)
    }
}

/// The directory relative layer names of a container of `runtime` are relative to, as a host
/// path: Docker's `<data-root>/overlay2` (the data root the runtime reader uses,
/// `/var/lib/docker`); `None` for runtimes that always give absolute paths.
pub fn relative_base(runtime: Runtime) -> Option<PathBuf> {
    match runtime {
        Runtime::Docker => Some(PathBuf::from("/var/lib/docker/overlay2")),
        _ => None,
    }
}

/// Reads the stacks of many containers: the store indexes ([`LayerOwners`]) and the host's
/// mount table ([`HostMounts`]) are each read once, on the first stack that needs them. Make
/// one for a pass, drop it after (what it read goes stale).
pub struct StackReader<'r> {
    root: &'r HostRoot,
    owners: LayerOwners<'r>,
    host_mounts: Option<HostMounts>,
}

impl<'r> StackReader<'r> {
    pub fn new(root: &'r HostRoot) -> Self {
        StackReader {
            root,
            owners: LayerOwners::new(root),
            host_mounts: None,
        }
    }

    /// The stack of the container whose init is `pid`, as [`read_stack`]'s.
    pub fn read(
        &mut self,
        pid: i32,
        runtime: Runtime,
    ) -> Result<Option<ContainerStack>, HostError> {
        let root = self.root;
        let host = self
            .host_mounts
            .get_or_insert_with(|| HostMounts::read(root));
        read_stack_with(root, pid, runtime, &mut self.owners, host)
    }
}

/// Reads the stack of the container whose init is `pid` (see the module contract);
/// `Ok(None)` when the process is gone. For many containers use a [`StackReader`].
pub fn read_stack(
    root: &HostRoot,
    pid: i32,
    runtime: Runtime,
    owners: &mut LayerOwners,
) -> Result<Option<ContainerStack>, HostError> {
    read_stack_with(root, pid, runtime, owners, &HostMounts::read(root))
}

fn read_stack_with(
    root: &HostRoot,
    pid: i32,
    runtime: Runtime,
    owners: &mut LayerOwners,
    host_mounts: &HostMounts,
) -> Result<Option<ContainerStack>, HostError> {
    let Some(mut read) = read_container_root_with(root, pid, host_mounts)? else {
        return Ok(None);
    };
    let base = relative_base(runtime);
    let mut layers = Vec::new();
    if let Some(overlay) = read.root.as_ref().and_then(|r| r.overlay.as_ref()) {
        let positioned = overlay
            .upper
            .iter()
            .map(|d| (d, LayerPosition::Writable))
            .chain(
                overlay
                    .lower
                    .iter()
                    .enumerate()
                    .map(|(n, d)| (d, LayerPosition::Lower(n + 1))),
            )
            .chain(
                overlay
                    .data_only
                    .iter()
                    .enumerate()
                    .map(|(n, d)| (d, LayerPosition::DataOnly(n + 1))),
            );
        let mut unresolved = 0usize;
        for (dir, position) in positioned {
            let dir = match (dir.is_relative(), &base) {
                (true, Some(base)) => base.join(dir),
                (true, None) => {
                    unresolved += 1;
                    dir.clone()
                }
                (false, _) => dir.clone(),
            };
            let owner = if dir.is_absolute() {
                owners.owner(&dir)
            } else {
                None
            };
            layers.push(StackLayer {
                dir,
                position,
                owner,
                shared_with: Vec::new(),
            });
        }
        if unresolved > 0 {
            read.notes.push(format!(
                "{unresolved} layer dirs are relative to the directory the runtime mounted from, \
                 which isotop does not know for {runtime}: shown as given"
            ));
        }
    }
    Ok(Some(ContainerStack { root: read, layers }))
}

/// One container of a [`read_stacks`] pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackOf {
    /// The container's id (what `shared_with` lists).
    pub id: String,
    /// Its init's host pid.
    pub pid: i32,
    pub runtime: Runtime,
}

/// Reads the stack of each of `containers` (answers in the same order, each as
/// [`read_stack`]'s) with one [`StackReader`], then marks the layers the stacks read share
/// ([`mark_shared`]).
pub fn read_stacks(
    root: &HostRoot,
    containers: &[StackOf],
) -> Vec<Result<Option<ContainerStack>, HostError>> {
    let mut reader = StackReader::new(root);
    let mut read: Vec<Result<Option<ContainerStack>, HostError>> = containers
        .iter()
        .map(|c| reader.read(c.pid, c.runtime))
        .collect();
    let mut stacks: Vec<(String, &mut ContainerStack)> = containers
        .iter()
        .zip(read.iter_mut())
        .filter_map(|(c, r)| Some((c.id.clone(), r.as_mut().ok()?.as_mut()?)))
        .collect();
    mark_shared(&mut stacks);
    read
}

/// Fills each layer's `shared_with` with the other containers of `stacks` (`(container id,
/// its stack)`) holding the same layer ([`StackLayer::key`]).
pub fn mark_shared(stacks: &mut [(String, &mut ContainerStack)]) {
    let marks = {
        let view: Vec<(&str, &ContainerStack)> = stacks
            .iter()
            .map(|(id, stack)| (id.as_str(), &**stack))
            .collect();
        shared_marks(&view)
    };
    for ((_, stack), marks) in stacks.iter_mut().zip(marks) {
        for (layer, others) in stack.layers.iter_mut().zip(marks) {
            layer.shared_with = others;
        }
    }
}

/// What [`mark_shared`] would set, without changing a stack: for each of `stacks`, for each of
/// its layers, the other containers holding that layer, sorted. A caller that keeps stacks
/// behind `Arc`s compares these with the marks held and copies only the stacks that differ.
pub fn shared_marks(stacks: &[(&str, &ContainerStack)]) -> Vec<Vec<Vec<String>>> {
    let mut holders: foldhash::HashMap<&Path, Vec<&str>> = foldhash::HashMap::default();
    for &(id, stack) in stacks {
        for layer in &stack.layers {
            let ids = holders.entry(layer.key()).or_default();
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
    }
    stacks
        .iter()
        .map(|&(id, stack)| {
            stack
                .layers
                .iter()
                .map(|layer| {
                    let mut others: Vec<String> = holders
                        .get(layer.key())
                        .map(|ids| {
                            ids.iter()
                                .filter(|o| **o != id)
                                .map(|o| o.to_string())
                                .collect()
                        })
                        .unwrap_or_default();
                    others.sort();
                    others
                })
                .collect()
        })
        .collect()
}
