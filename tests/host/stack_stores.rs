//! `host::stack` on real overlays mounted from copies of the fixture stores (root), read
//! through a `HostRoot` injected at the copy: each layer's owner (Docker, containers/storage,
//! containerd) by position; Docker's RELATIVE lowerdirs (`l/<short>`, mounted from inside
//! `<root>/var/lib/docker/overlay2` as Docker does when the options would not fit a page)
//! joined to the store and owned; and two stacks sharing their image layers marked by
//! `mark_shared` and `read_stacks` alike.

use std::path::PathBuf;

use isotop::host::layers::{LayerOwners, LayerRole, Store};
use isotop::host::runtime::Runtime;
use isotop::host::stack::{ContainerStack, StackOf, mark_shared, read_stack, read_stacks};

use crate::support::overlay_root::{Rooted, fill_rootfs};
use crate::support::stores::{
    DOCKER, DOCKER_BASE, DOCKER_CONTAINER, DOCKER_LINKS, DOCKER_MOUNT, DOCKER_TOP, StoreRoot,
    positions, top_first,
};

const PODMAN: &str = "var/lib/containers/storage";
const PD_TOP: &str = "05042d42b6c1f9a5fd33beaf044e71e966506c58d65fb2ccfba1f4707e22d117";
const PD_RW: &str = "731f3cbb832c1cb2d9e5d51b63972edb40af2b41a850c4aa5e83531a155b3920";
const PD_IMAGE: &str = "fe3a3872845c13932122da2cd2f0095f40df849d3c9f37fec304c6fc33c26aa6";
const SNAPSHOTS: &str = "var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots";

fn read(stores: &StoreRoot, pid: i32, runtime: Runtime) -> ContainerStack {
    let root = stores.host_root();
    read_stack(&root, pid, runtime, &mut LayerOwners::new(&root))
        .expect("mountinfo readable")
        .expect("the process is alive")
}

#[test]
#[ignore = "needs root"]
fn layers_from_three_stores_are_owned_by_position() {
    let stores = StoreRoot::with(&["docker", "podman", "containerd"]);
    let base = stores.path(&format!("{DOCKER}/overlay2/{DOCKER_BASE}/diff"));
    fill_rootfs(&base);
    let lower = [
        // A containers/storage short link: resolved to its layer by the link's text.
        stores.path(&format!("{PODMAN}/overlay/l/OLTXCXI2W2INHNG2A5QXQWBJME")),
        stores.path(&format!("{DOCKER}/overlay2/{DOCKER_TOP}/diff")),
        stores.path(&format!("{SNAPSHOTS}/2/fs")),
        base.clone(),
    ];
    let upper = stores.dir(&format!("{PODMAN}/overlay/{PD_RW}/diff"));
    let work = stores.dir(&format!("{PODMAN}/overlay/{PD_RW}/work"));
    let merged = stores.scratch("merged");
    let list: Vec<String> = lower.iter().map(|p| p.display().to_string()).collect();
    let options = format!(
        "lowerdir={},upperdir={},workdir={}",
        list.join(":"),
        upper.display(),
        work.display()
    );
    let rooted = Rooted::start("mount -t overlay ov -o \"$2\" \"$1\"", &merged, &[&options]);
    let stack = read(&stores, rooted.pid(), Runtime::Podman);

    assert_eq!(positions(&stack), top_first(Some(&upper), &lower));
    let owner = |n: usize| {
        stack.layers[n]
            .owner
            .as_ref()
            .unwrap_or_else(|| panic!("layer {n} has an owner: {:?}", stack.layers[n]))
    };

    let writable = owner(0);
    assert_eq!(writable.store, Store::ContainersStorage);
    assert_eq!(writable.role, LayerRole::Writable);
    assert_eq!(
        writable.container.as_ref().and_then(|c| c.name.as_deref()),
        Some("owned-pd")
    );
    assert!(writable.trusted, "{:?}", writable.notes);

    // The short link's layer, its dir resolved (the key sizes and shares go by).
    let pd_top = owner(1);
    assert_eq!(pd_top.store, Store::ContainersStorage);
    assert_eq!(pd_top.id.as_deref(), Some(PD_TOP));
    let resolved = stores.path(&format!("{PODMAN}/overlay/{PD_TOP}/diff"));
    assert_eq!(pd_top.dir, resolved);
    assert_eq!(stack.layers[1].key(), resolved);
    assert!(pd_top.images.iter().any(|i| i.id == PD_IMAGE), "{pd_top:?}");

    let docker_top = owner(2);
    assert_eq!(
        (docker_top.store, docker_top.id.as_deref(), docker_top.role),
        (Store::Docker, Some(DOCKER_TOP), LayerRole::Image)
    );
    assert_eq!(docker_top.images.len(), 1, "{docker_top:?}");
    assert!(
        docker_top.images[0]
            .tags
            .contains(&"owners-test/app:2".to_string())
    );

    // containerd: the snapshot number; its names are in a bolt db isotop does not read.
    let snapshot = owner(3);
    assert_eq!(
        (snapshot.store, snapshot.id.as_deref()),
        (Store::Containerd, Some("2"))
    );
    assert!(
        snapshot.notes.iter().any(|n| n.contains("bolt database")),
        "{:?}",
        snapshot.notes
    );

    let docker_base = owner(4);
    assert_eq!(docker_base.id.as_deref(), Some(DOCKER_BASE));
    let tags: Vec<&str> = docker_base
        .images
        .iter()
        .flat_map(|i| i.tags.iter().map(String::as_str))
        .collect();
    assert!(tags.contains(&"owners-test/base:1"), "{tags:?}");
    assert!(tags.contains(&"owners-test/app:2"), "{tags:?}");
}

/// Mounts a Docker-style overlay from inside `<root>/var/lib/docker/overlay2`, every layer
/// named relative to it, as Docker's `mountFrom` does: `upper_id`'s `diff`, `work` and
/// `merged`, lowers by their short links.
fn docker_relative(stores: &StoreRoot, upper_id: &str, links: &[&str]) -> Rooted {
    let overlay2 = stores.path(&format!("{DOCKER}/overlay2"));
    for sub in ["diff", "work", "merged"] {
        stores.dir(&format!("{DOCKER}/overlay2/{upper_id}/{sub}"));
    }
    let lower: Vec<String> = links.iter().map(|l| format!("l/{l}")).collect();
    let options = format!(
        "lowerdir={},upperdir={upper_id}/diff,workdir={upper_id}/work",
        lower.join(":")
    );
    let merged = overlay2.join(upper_id).join("merged");
    let overlay2_arg = overlay2.to_str().expect("utf-8");
    Rooted::start(
        "cd \"$2\" && mount -t overlay overlay -o \"$3\" \"$1\"",
        &merged,
        &[overlay2_arg, &options],
    )
}

const SECOND: &str = "2222222222222222222222222222222222222222222222222222222222222222";

#[test]
#[ignore = "needs root"]
fn docker_relative_lowerdirs_are_joined_owned_and_shared() {
    let stores = StoreRoot::with(&["docker"]);
    fill_rootfs(&stores.path(&format!("{DOCKER}/overlay2/{DOCKER_BASE}/diff")));
    // The fixture container: writable, init, the app's layer, the base.
    let first = docker_relative(&stores, DOCKER_MOUNT, &DOCKER_LINKS);
    // Another container of the same image: its own writable layer on the same two.
    let second = docker_relative(&stores, SECOND, &DOCKER_LINKS[1..]);

    let mut a = read(&stores, first.pid(), Runtime::Docker);
    let overlay = a
        .root
        .root
        .as_ref()
        .and_then(|r| r.overlay.as_ref())
        .expect("an overlay root");
    // The kernel shows the options as given: relative.
    assert_eq!(
        overlay.lower.first().map(PathBuf::as_path),
        Some(std::path::Path::new("l/WOYF6KH2JNZJ67YDGAMLTNTGTH"))
    );
    // Joined to Docker's store as the host names it (the injected root maps it to the copy).
    let store = PathBuf::from("/var/lib/docker/overlay2");
    let links: Vec<PathBuf> = DOCKER_LINKS
        .iter()
        .map(|l| store.join("l").join(l))
        .collect();
    assert_eq!(
        positions(&a),
        top_first(Some(&store.join(DOCKER_MOUNT).join("diff")), &links)
    );
    assert!(
        !a.root.notes.iter().any(|n| n.contains("relative")),
        "{:?}",
        a.root.notes
    );
    let roles: Vec<(Option<&str>, LayerRole)> = a
        .layers
        .iter()
        .map(|l| {
            let o = l.owner.as_ref().expect("owned");
            (o.id.as_deref(), o.role)
        })
        .collect();
    let init = format!("{DOCKER_MOUNT}-init");
    assert_eq!(
        roles,
        vec![
            (Some(DOCKER_MOUNT), LayerRole::Writable),
            (Some(init.as_str()), LayerRole::Init),
            (Some(DOCKER_TOP), LayerRole::Image),
            (Some(DOCKER_BASE), LayerRole::Image),
        ]
    );
    let container = a.layers[0]
        .owner
        .as_ref()
        .and_then(|o| o.container.as_ref());
    assert_eq!(container.map(|c| c.id.as_str()), Some(DOCKER_CONTAINER));
    // Keys are the resolved `<cache-id>/diff` dirs, whatever link named them.
    assert_eq!(a.layers[3].key(), store.join(DOCKER_BASE).join("diff"));
    // The key sized is the copy's: the link resolved, under the injected root.
    let root = stores.host_root();
    assert_eq!(
        a.layers[3].sizable(&root),
        Ok(stores.path(&format!("{DOCKER}/overlay2/{DOCKER_BASE}/diff")))
    );

    let mut b = read(&stores, second.pid(), Runtime::Docker);
    assert_eq!(b.layers.len(), 3);
    let unmarked = (a.clone(), b.clone());
    mark_shared(&mut [
        ("first".to_string(), &mut a),
        ("second".to_string(), &mut b),
    ]);
    let shared = |s: &ContainerStack| -> Vec<Vec<String>> {
        s.layers.iter().map(|l| l.shared_with.clone()).collect()
    };
    let other = |id: &str| vec![id.to_string()];
    assert_eq!(
        shared(&a),
        vec![vec![], vec![], other("second"), other("second")]
    );
    assert_eq!(shared(&b), vec![vec![], other("first"), other("first")]);
    assert!(unmarked.0.layers.iter().all(|l| l.shared_with.is_empty()));

    // `read_stacks` is the same pass: read with one owner cache, then marked.
    let of = [
        StackOf {
            id: "first".into(),
            pid: first.pid(),
            runtime: Runtime::Docker,
        },
        StackOf {
            id: "second".into(),
            pid: second.pid(),
            runtime: Runtime::Docker,
        },
    ];
    let both: Vec<ContainerStack> = read_stacks(&root, &of)
        .into_iter()
        .map(|r| r.expect("readable").expect("alive"))
        .collect();
    assert_eq!(both, vec![a, b]);
}

/// The same relative names from a runtime isotop knows no base for: kept as given, noted,
/// without owners, and refused for sizing (they name no directory isotop can find).
#[test]
#[ignore = "needs root"]
fn relative_dirs_of_another_runtime_are_kept_and_noted() {
    let stores = StoreRoot::with(&["docker"]);
    fill_rootfs(&stores.path(&format!("{DOCKER}/overlay2/{DOCKER_BASE}/diff")));
    let rooted = docker_relative(&stores, SECOND, &DOCKER_LINKS[1..]);
    let stack = read(&stores, rooted.pid(), Runtime::Podman);
    assert_eq!(stack.layers.len(), 3);
    for layer in &stack.layers {
        assert!(layer.dir.is_relative(), "{layer:?}");
        assert_eq!(layer.owner, None);
        let refused = layer.sizable(&stores.host_root()).unwrap_err();
        assert!(refused.contains("relative"), "{refused}");
    }
    assert!(
        stack
            .root
            .notes
            .iter()
            .any(|n| n.starts_with("3 layer dirs are relative")),
        "{:?}",
        stack.root.notes
    );
}
