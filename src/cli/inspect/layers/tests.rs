//! The Layers section's text: order and labels, owners of each store, sharing, sizes and
//! their errors, the notes, and strangers' strings cleaned.

use std::path::PathBuf;

use super::{InspectedLayer, render};
use crate::cli::ShortIds;
use crate::host::layers::{ImageName, LayerContainer, LayerOwner, LayerRole, Store};
use crate::host::stack::{LayerPosition, StackLayer};
use crate::host::usage::Skipped;

use super::super::size::SizeFigures;

fn owner(store: Store, dir: &str, id: &str, role: LayerRole) -> LayerOwner {
    let mut owner = LayerOwner::from_path(
        store,
        PathBuf::from("/var/lib/x"),
        PathBuf::from(dir),
        Some(id.to_string()),
    );
    owner.role = role;
    owner
}

fn layer(dir: &str, position: LayerPosition, owner: Option<LayerOwner>) -> InspectedLayer {
    InspectedLayer {
        layer: StackLayer {
            dir: PathBuf::from(dir),
            position,
            owner,
            shared_with: Vec::new(),
        },
        size: None,
        size_error: None,
    }
}

const MOUNT: &str = "1e3811fab236c53c8b18b6692ddd002a1ea6cd102bf80cfc58dcc5eb036ce9f6";
const OTHER: &str = "47f5d13ccd019188d0c01fb697ba5b5cc3160081b84007bbf74e90e1124cc6e0";
const THIRD: &str = "5e5e13ccd019188d0c01fb697ba5b5cc3160081b84007bbf74e90e1124cc6e00";

#[test]
fn the_stack_top_to_bottom_with_owners_sharing_and_sizes() {
    let mut writable = owner(
        Store::Docker,
        "/var/lib/docker/overlay2/1e38/diff",
        MOUNT,
        LayerRole::Writable,
    );
    writable.container = Some(LayerContainer {
        id: OTHER.into(),
        name: Some("/web\u{1b}[31m".into()),
    });
    writable.images = vec![ImageName {
        id: "sha256:fe3a".into(),
        tags: vec!["app:2".into(), "app:latest".into()],
    }];
    let mut w = layer(
        "/var/lib/docker/overlay2/1e38/diff",
        LayerPosition::Writable,
        Some(writable),
    );
    w.size = Some(SizeFigures {
        allocated_bytes: 12 * 1024,
        apparent_bytes: 100,
        files: 3,
        dirs: 2,
        skipped: Skipped::default(),
    });
    let init = layer(
        "/var/lib/docker/overlay2/l/WOYF",
        LayerPosition::Lower(1),
        Some(owner(
            Store::Docker,
            "/var/lib/docker/overlay2/1e38-init/diff",
            &format!("{MOUNT}-init"),
            LayerRole::Init,
        )),
    );
    let mut image = owner(
        Store::ContainersStorage,
        "/var/lib/containers/storage/overlay/6bd8/diff",
        "6bd889e358b569eae21c20df07cfff336c3fbaf90f34f33222044b3219b715e8",
        LayerRole::Image,
    );
    image.images = vec![ImageName {
        id: "fe3a3872845c13932122da2cd2f0095f40df849d3c9f37fec304c6fc33c26aa6".into(),
        tags: Vec::new(),
    }];
    image.trusted = false;
    let mut base = layer(
        "/var/lib/containers/storage/overlay/6bd8/diff",
        LayerPosition::Lower(2),
        Some(image),
    );
    base.layer.shared_with = vec![OTHER.into(), THIRD.into()];
    base.size_error = Some("/x is gone: deleted before or while it was sized".into());
    let snapshot = layer(
        "/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/3/fs",
        LayerPosition::DataOnly(1),
        Some(owner(Store::Containerd, "/c/3/fs", "3", LayerRole::Unknown)),
    );
    let shown = ShortIds::new([MOUNT, OTHER, THIRD]);
    let text = render(
        &[w, init, base, snapshot],
        &["a note \u{7}".to_string()],
        &shown,
    );
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines,
        [
            "Layers         top to bottom (3 read-only, 1 writable)",
            "  writable     /var/lib/docker/overlay2/1e38/diff",
            "               docker 1e3811fab236, writable layer of /web?[31m (47f5d13ccd01)  \
             image app:2, app:latest   12.0KiB, 3 files",
            "  lower 1      /var/lib/docker/overlay2/l/WOYF",
            "               docker 1e3811fab236-init, an init layer",
            "  lower 2      /var/lib/containers/storage/overlay/6bd8/diff",
            "               containers-storage 6bd889e358b5  in fe3a3872845c  \
             (names are another user's claims)   shared by 3 containers (with 47f5d13ccd01, \
             5e5e13ccd019)   size: /x is gone: deleted before or while it was sized",
            "  data-only 1  /var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/3/fs",
            "               containerd snapshot 3 (names not read)",
            "  note: a note ?",
        ]
    );
}

#[test]
fn no_layers_says_none_and_why() {
    let notes = vec!["the root is ext4, not overlay: no layers".to_string()];
    let text = render(&[], &notes, &ShortIds::new([]));
    assert_eq!(
        text,
        "Layers         none\n  note: the root is ext4, not overlay: no layers\n"
    );
}

#[test]
fn a_layer_of_no_store_and_a_partial_size() {
    let mut l = layer("/srv/layers/base", LayerPosition::Lower(1), None);
    l.size = Some(SizeFigures {
        allocated_bytes: 512,
        apparent_bytes: 10,
        files: 1,
        dirs: 1,
        skipped: Skipped {
            vanished: 2,
            ..Skipped::default()
        },
    });
    let text = render(&[l], &[], &ShortIds::new([]));
    assert!(
        text.starts_with("Layers         top to bottom (1 read-only)\n"),
        "{text}"
    );
    assert!(
        text.contains("no known store's layer   512B, 1 file (partial: 2 entries left out)"),
        "{text}"
    );
}

#[test]
fn json_of_a_layer_has_its_position_owner_sharing_and_size_fields() {
    let mut l = layer(
        "/var/lib/isotop/layers/sha256/ab",
        LayerPosition::Lower(2),
        None,
    );
    l.layer.shared_with = vec![OTHER.into()];
    let json = serde_json::to_value(&l).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "dir": "/var/lib/isotop/layers/sha256/ab",
            "position": {"kind": "lower", "n": 2},
            "owner": null,
            "shared_with": [OTHER],
            "size": null,
            "size_error": null,
        })
    );
}

#[test]
fn untagged_images_show_a_short_hex_id_or_their_whole_name() {
    use super::image_id_text;
    assert_eq!(
        image_id_text("sha256:fe3a3872845c13932122da2cd2f0095f40df849d3c9f37fec304c6fc33c26aa6"),
        "fe3a3872845c"
    );
    assert_eq!(
        image_id_text("default (host programs, read-only)"),
        "default (host programs, read-only)"
    );
    assert_eq!(image_id_text("/srv/img\u{1b}.tar"), "/srv/img?.tar");
}
