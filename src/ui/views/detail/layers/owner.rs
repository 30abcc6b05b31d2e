//! The owner of a layer as the Layers pane names it: the store and its short id (a containerd
//! snapshot by its number), then the names its files give — the container's for its own layer,
//! else the first image's tag — marked `!` when another user could have written them.

use crate::host::container::claim::UNVERIFIED_MARK;
use crate::host::layers::{LayerOwner, LayerRole, Store};
use crate::host::mounts::shown::display;
use crate::host::stack::{LayerPosition, StackLayer};
use crate::host::text::clean_str;
use crate::sample::ContainerSample;
use crate::ui::widgets::keep_tail;
use crate::units::{ContainerId, short_id};

/// The owner as shown, and whether its names are trusted: `docker 3f4e5a6b7c8d nginx:1.25`,
/// `containerd snapshot 42`, `isotop 0123456789ab web`; the directory when no store owns it.
pub(super) fn owner_text(layer: &StackLayer, c: &ContainerSample) -> (String, bool) {
    let Some(owner) = &layer.owner else {
        return (keep_tail(&display(&layer.dir), 60), true);
    };
    let store = store_name(owner.store);
    let id = match (&owner.id, owner.store) {
        (Some(n), Store::Containerd) => format!("snapshot {}", clean_str(n)),
        (Some(id), _) => short_id(id.strip_prefix("sha256:").unwrap_or(id)),
        (None, _) => "?".to_string(),
    };
    let mut text = format!("{store} {id}");
    let names = owner_names(owner, layer.position, c);
    if !names.is_empty() {
        // The id comes from the path; the names from the store's files, maybe a stranger's.
        let mark = if owner.trusted { "" } else { UNVERIFIED_MARK };
        text.push_str(&format!(" {mark}{names}"));
    }
    (text, owner.trusted)
}

/// How the pane names a store (containers/storage is Podman's, CRI-O's and Buildah's).
fn store_name(store: Store) -> &'static str {
    match store {
        Store::Docker => "docker",
        Store::Containerd => "containerd",
        Store::ContainersStorage => "c/storage",
        Store::Isotop => "isotop",
    }
}

/// The names a layer goes by: the container's for its own layer (`web`, `web init`), else the
/// first image's tag (or short id) and how many more images hold it, else the store's names.
fn owner_names(owner: &LayerOwner, position: LayerPosition, c: &ContainerSample) -> String {
    let own = owner
        .container
        .as_ref()
        .map(|k| k.name.clone().unwrap_or_else(|| short_id(&k.id)));
    match (owner.role, own) {
        (LayerRole::Init, Some(name)) => return format!("{} init", clean_str(&name)),
        (_, Some(name)) => return clean_str(&name),
        _ => {}
    }
    if position == LayerPosition::Writable {
        return clean_str(&c.view.container.name);
    }
    if let Some(first) = owner.images.first() {
        // Untagged: its id, short when it is a digest (isotop names an image by its path).
        let name = first.tags.first().map(|t| clean_str(t)).unwrap_or_else(|| {
            let id = first.id.strip_prefix("sha256:").unwrap_or(&first.id);
            if ContainerId::is_valid(id) {
                short_id(id)
            } else {
                keep_tail(&clean_str(id), 40)
            }
        });
        let more = owner.images.len() - 1 + first.tags.len().saturating_sub(1);
        return if more > 0 {
            format!("{name} +{more}")
        } else {
            name
        };
    }
    owner
        .names
        .first()
        .map(|n| clean_str(n))
        .unwrap_or_default()
}
