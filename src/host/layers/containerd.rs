//! containerd's overlayfs snapshotter: a layer directory is a snapshot, known by its number.
//!
//! Layout (containerd 1.6, also k3s's under `/var/lib/rancher/k3s/agent/containerd`):
//! `<root>/io.containerd.snapshotter.v1.overlayfs/snapshots/<n>/fs`, `<n>` a decimal number the
//! snapshotter allots. The snapshot's key (`<namespace>/<txn>/<chain id>` for an image layer,
//! the container's key for its active snapshot), its parent and kind are only in the
//! snapshotter's `metadata.db`, a bolt database. It is not read (see the parent module): the
//! owner is the number, and a note says where the names are.

use super::{LayerOwner, Store, join_absolute};

/// The snapshotter's directory name below containerd's root.
const SNAPSHOTTER: &str = "io.containerd.snapshotter.v1.overlayfs";

/// The owner of `<root>/io.containerd.snapshotter.v1.overlayfs/snapshots/<n>/fs`.
pub(super) fn parse(names: &[String]) -> Option<LayerOwner> {
    let [prefix @ .., snapshotter, snapshots, number, fs] = names else {
        return None;
    };
    let is_number = !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit());
    if snapshotter != SNAPSHOTTER || snapshots != "snapshots" || fs != "fs" || !is_number {
        return None;
    }
    let root = join_absolute(prefix);
    let mut owner = LayerOwner::from_path(
        Store::Containerd,
        root.clone(),
        join_absolute(names),
        Some(number.clone()),
    );
    owner.notes.push(format!(
        "snapshot {number}: its name, parent and kind are in {}, a bolt database isotop does not read",
        root.join(SNAPSHOTTER).join("metadata.db").display()
    ));
    Some(owner)
}
