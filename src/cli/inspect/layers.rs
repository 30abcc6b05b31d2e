//! `isotop inspect`'s file systems and their Layers section: the container's stack read by
//! `host::stack` (root, mounts, layers with owners), the layers it shares with the host's other
//! running containers, and with `--size` each layer's size.
//!
//! Contract: [`file_systems`] reads every running container of the scan's stack once
//! (`host::stack::read_stacks`, one owner cache) so each of the target's layers lists the other
//! containers holding it; trouble (not running, gone, an unreadable mountinfo) is a note, never
//! a failed inspect, and a root that is not overlay has no layers and a note saying why.
//! [`add_sizes`] sizes each layer through `sample::sizer` (see [`super::size`]). [`render`]
//! draws the stack top to bottom — writable, lower 1..n, data-only — each layer's host path,
//! then its owner (store, short id, image tags or the container it belongs to), how many
//! containers share it and its size when known. A containerd layer is its snapshot number:
//! its names are in containerd's bolt database, which isotop does not read. Every string a
//! stranger chose (paths, tags, names, notes) is cleaned.

use serde::Serialize;

use super::size::{Progress, SizeFigures, SizeRequest, Sizing};
use crate::cli::ShortIds;
use crate::host::HostRoot;
use crate::host::container::Container;
use crate::host::layers::{LayerOwner, LayerRole, Store};
use crate::host::mounts::shown::display;
use crate::host::mounts::{ContainerMount, RootFs};
use crate::host::scan::Snapshot;
use crate::host::stack::{ContainerStack, LayerPosition, StackLayer, StackOf, read_stacks};
use crate::host::text::clean_str;
use crate::host::usage::LayerKind;
use crate::units::short_id;

/// One layer of the inspected container, with its size when `--size` asked for it.
#[derive(Debug, Serialize)]
pub(crate) struct InspectedLayer {
    #[serde(flatten)]
    pub layer: StackLayer,
    /// Its size (with `--size`, when it could be sized); null otherwise.
    pub size: Option<SizeFigures>,
    /// Why `--size` could not size it (gone, unreadable, refused); null otherwise.
    pub size_error: Option<String>,
}

/// What `inspect` shows of the container's file systems.
pub(super) struct FileSystems {
    pub root: Option<RootFs>,
    pub mounts: Vec<ContainerMount>,
    pub mount_notes: Vec<String>,
    pub layers: Vec<InspectedLayer>,
    pub layer_notes: Vec<String>,
}

impl FileSystems {
    pub(super) fn none(mount_note: String, layer_note: &str) -> Self {
        FileSystems {
            root: None,
            mounts: Vec::new(),
            mount_notes: vec![mount_note],
            layers: Vec::new(),
            layer_notes: vec![layer_note.to_string()],
        }
    }
}

/// The note of a containerd-owned stack.
const CONTAINERD_NOTE: &str = "containerd layers are shown by snapshot number: their names \
     (image, chain id) are in containerd's bolt database (metadata.db), which isotop does not read";

/// Reads `c`'s stack among every running container's of `snapshot` (see the module contract).
pub(super) fn file_systems(root: &HostRoot, snapshot: &Snapshot, c: &Container) -> FileSystems {
    let Some(pid) = c.init_pid else {
        return FileSystems::none(
            "not running: no mount namespace to read".into(),
            "not running: no layers to read",
        );
    };
    let mut of: Vec<StackOf> = snapshot
        .containers
        .iter()
        .filter_map(|v| {
            Some(StackOf {
                id: v.container.id.clone(),
                pid: v.container.init_pid?,
                runtime: v.container.runtime,
            })
        })
        .collect();
    let at = match of.iter().position(|o| o.id == c.id) {
        Some(at) => at,
        None => {
            of.push(StackOf {
                id: c.id.clone(),
                pid,
                runtime: c.runtime,
            });
            of.len() - 1
        }
    };
    let mut read = read_stacks(root, &of);
    let stack = match read.swap_remove(at) {
        Ok(Some(stack)) => stack,
        Ok(None) => {
            return FileSystems::none(
                format!("init {pid} is gone: no mounts"),
                "init gone: no layers",
            );
        }
        Err(e) => {
            return FileSystems::none(
                e.to_string(),
                "no layers: the mount table could not be read (see the mount notes)",
            );
        }
    };
    of_stack(stack)
}

/// What `inspect` shows of a stack read now or recorded in a frame.
pub(super) fn of_stack(stack: ContainerStack) -> FileSystems {
    let layer_notes = layer_notes(stack.root.root.as_ref(), &stack.layers);
    FileSystems {
        root: stack.root.root,
        mounts: stack.root.mounts,
        mount_notes: stack.root.notes,
        layers: stack
            .layers
            .into_iter()
            .map(|layer| InspectedLayer {
                layer,
                size: None,
                size_error: None,
            })
            .collect(),
        layer_notes,
    }
}

/// Why there are no layers, or what the text cannot say of them.
fn layer_notes(root: Option<&RootFs>, layers: &[StackLayer]) -> Vec<String> {
    let mut notes = Vec::new();
    match root {
        None => notes.push("no mount at its /: no layers".to_string()),
        Some(r) if r.overlay.is_none() => notes.push(format!(
            "the root is {}, not overlay: no layers (the Root line's host path is its directory)",
            clean_str(&r.mount.fs_type)
        )),
        Some(r) if r.overlay.as_ref().is_some_and(|o| o.upper.is_none()) => {
            notes.push("a read-only overlay: no writable layer".to_string())
        }
        Some(_) => {}
    }
    if layers.iter().any(|l| {
        l.owner
            .as_ref()
            .is_some_and(|o| o.store == Store::Containerd)
    }) {
        notes.push(CONTAINERD_NOTE.to_string());
    }
    notes
}

/// Sizes every layer (the writable one as the copy-on-write usage, the others once), waiting
/// for all, progress on stderr when it is a terminal.
pub(super) fn add_sizes(root: &HostRoot, layers: &mut [InspectedLayer]) {
    let requests: Vec<SizeRequest> = layers
        .iter()
        .map(|l| SizeRequest {
            key: l.layer.key().to_path_buf(),
            readable: l.layer.sizable(root),
            kind: match l.layer.position {
                LayerPosition::Writable => LayerKind::Upper,
                LayerPosition::Lower(_) | LayerPosition::DataOnly(_) => LayerKind::Lower,
            },
        })
        .collect();
    let answers = Sizing::start(requests).finish(&mut Progress::stderr());
    for l in layers {
        match answers.get(l.layer.key()) {
            Some(Ok(figures)) => l.size = Some(*figures),
            Some(Err(reason)) => l.size_error = Some(reason.clone()),
            None => {}
        }
    }
}

/// The Layers section (see the module contract).
pub(super) fn render(layers: &[InspectedLayer], notes: &[String], shown: &ShortIds) -> String {
    let mut out = String::new();
    if layers.is_empty() {
        out.push_str(&format!("{:<14} none\n", "Layers"));
    } else {
        let lower = layers
            .iter()
            .filter(|l| !matches!(l.layer.position, LayerPosition::Writable))
            .count();
        out.push_str(&format!(
            "{:<14} top to bottom ({} read-only{})\n",
            "Layers",
            lower,
            if layers.len() > lower {
                ", 1 writable"
            } else {
                ""
            }
        ));
    }
    for l in layers {
        let label = match l.layer.position {
            LayerPosition::Writable => "writable".to_string(),
            LayerPosition::Lower(n) => format!("lower {n}"),
            LayerPosition::DataOnly(n) => format!("data-only {n}"),
        };
        out.push_str(&format!("  {label:<12} {}\n", display(&l.layer.dir)));
        let mut words = vec![owner_text(l.layer.owner.as_ref(), shown)];
        if !l.layer.shared_with.is_empty() {
            let others: Vec<String> = l.layer.shared_with.iter().map(|id| shown.get(id)).collect();
            words.push(format!(
                "shared by {} containers (with {})",
                others.len() + 1,
                others.join(", ")
            ));
        }
        match (&l.size, &l.size_error) {
            (Some(size), _) => words.push(size.text()),
            (None, Some(error)) => words.push(format!("size: {}", clean_str(error))),
            (None, None) => {}
        }
        out.push_str(&format!("  {:<12} {}\n", "", words.join("   ")));
    }
    for note in notes {
        out.push_str(&format!("  note: {}\n", clean_str(note)));
    }
    out
}

/// `docker 3d0881790bd3  owners-test/app:2, owners-test/app:latest`, `isotop 1e3811fab236
/// writable layer of web`, `containerd snapshot 3`, `no known store`.
fn owner_text(owner: Option<&LayerOwner>, shown: &ShortIds) -> String {
    let Some(o) = owner else {
        return "no known store's layer".to_string();
    };
    let id = o.id.as_deref().map(short_layer_id);
    let mut text = match (o.store, id) {
        (Store::Containerd, Some(n)) => format!("containerd snapshot {n} (names not read)"),
        (store, Some(id)) => format!("{} {id}", store_name(store)),
        (store, None) => format!("{} (id unresolved)", store_name(store)),
    };
    match (o.role, &o.container) {
        (LayerRole::Writable, Some(c)) => {
            text.push_str(&format!(", writable layer of {}", container_text(c, shown)))
        }
        (LayerRole::Init, Some(c)) => {
            text.push_str(&format!(", init layer of {}", container_text(c, shown)))
        }
        (LayerRole::Writable, None) => text.push_str(", a writable layer"),
        (LayerRole::Init, None) => text.push_str(", an init layer"),
        (LayerRole::Image | LayerRole::Unknown, _) => {}
    }
    let images: Vec<String> = o
        .images
        .iter()
        .map(|image| match image.tags.as_slice() {
            [] => image_id_text(&image.id),
            tags => tags
                .iter()
                .map(|t| clean_str(t))
                .collect::<Vec<_>>()
                .join(", "),
        })
        .collect();
    if !images.is_empty() {
        let which = match o.role {
            LayerRole::Writable | LayerRole::Init => "image",
            LayerRole::Image | LayerRole::Unknown => "in",
        };
        text.push_str(&format!("  {which} {}", images.join("; ")));
    }
    if !o.trusted {
        text.push_str("  (names are another user's claims)");
    }
    text
}

fn container_text(c: &crate::host::layers::LayerContainer, shown: &ShortIds) -> String {
    match &c.name {
        Some(name) => format!("{} ({})", clean_str(name), shown.get(&c.id)),
        None => shown.get(&c.id),
    }
}

/// An untagged image's id as shown: 12 digits of a hex id, any other (an isotop image's path
/// or reference) whole.
fn image_id_text(id: &str) -> String {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    if crate::units::ContainerId::is_valid(hex) {
        short_id(hex)
    } else {
        clean_str(id)
    }
}

/// A store's name as the text shows it (the JSON's `store`).
fn store_name(store: Store) -> &'static str {
    match store {
        Store::Docker => "docker",
        Store::Containerd => "containerd",
        Store::ContainersStorage => "containers-storage",
        Store::Isotop => "isotop",
    }
}

/// A layer id as shown: 12 characters of a long id, Docker's `-init` suffix kept.
fn short_layer_id(id: &str) -> String {
    match id.strip_suffix("-init") {
        Some(base) => format!("{}-init", short_id(base)),
        None => short_id(id),
    }
}

#[cfg(test)]
mod tests;
