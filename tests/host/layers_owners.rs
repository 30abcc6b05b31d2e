//! Whose layers, on fixture stores copied from real ones (`tests/fixtures/layers/README.md`):
//! Docker's cache ids, `l/` short links, chain and diff ids, images and tags, a container's own
//! and init layers; containers/storage's layers, images and containers; containerd's snapshot
//! numbers; isotop's cache and records; and the dedup picture across containers.

use std::path::{Path, PathBuf};

use isotop::host::HostRoot;
use isotop::host::layers::{LayerOwners, LayerRole, Store, layer_owner, shared_layers};

fn fixture(name: &str) -> HostRoot {
    HostRoot::under(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/layers")
            .join(name),
    )
}

const BASE_CACHE: &str = "703a96f2adcd793593257ef644106f2f5ff0793f4ecac0c3737cba4c61f3e084";
const TOP_CACHE: &str = "3d0881790bd335bef3ecacfd6e846017adf42f9fa52660a1158f634131702762";
const MOUNT: &str = "1e3811fab236c53c8b18b6692ddd002a1ea6cd102bf80cfc58dcc5eb036ce9f6";
const CONTAINER: &str = "47f5d13ccd019188d0c01fb697ba5b5cc3160081b84007bbf74e90e1124cc6e0";
const BASE_IMAGE: &str = "sha256:a169756072d52b0b4a0c15652c4bb0b946b4ec75988226bce4d214f467aaf531";
const APP_IMAGE: &str = "sha256:fe3a3872845c13932122da2cd2f0095f40df849d3c9f37fec304c6fc33c26aa6";
const BASE_DIFF: &str = "sha256:6bd889e358b569eae21c20df07cfff336c3fbaf90f34f33222044b3219b715e8";
const TOP_DIFF: &str = "sha256:0b60fa78649a0ed53dd3a37476e31d7261f8659f79055ffd76048ee89675f4b7";

fn docker_dir(id: &str) -> PathBuf {
    Path::new("/var/lib/docker/overlay2").join(id).join("diff")
}

#[test]
fn docker_image_layers_name_their_chain_diff_and_every_image_holding_them() {
    let root = fixture("docker");
    let base = layer_owner(&root, &docker_dir(BASE_CACHE)).unwrap();
    assert_eq!(base.store, Store::Docker);
    assert_eq!(base.root, Path::new("/var/lib/docker"));
    assert_eq!(base.id.as_deref(), Some(BASE_CACHE));
    assert_eq!(base.role, LayerRole::Image);
    assert_eq!(base.diff_id.as_deref(), Some(BASE_DIFF));
    // The bottom layer's chain id is its diff id.
    assert_eq!(base.chain_id.as_deref(), Some(BASE_DIFF));
    let images: Vec<(&str, Vec<&str>)> = base
        .images
        .iter()
        .map(|i| (i.id.as_str(), i.tags.iter().map(String::as_str).collect()))
        .collect();
    assert_eq!(
        images,
        vec![
            (BASE_IMAGE, vec!["owners-test/base:1"]),
            (
                APP_IMAGE,
                vec!["owners-test/app:2", "owners-test/app:latest"]
            ),
        ]
    );
    assert!(base.trusted, "{:?}", base.notes);
    assert!(base.notes.is_empty(), "{:?}", base.notes);

    let top = layer_owner(&root, &docker_dir(TOP_CACHE)).unwrap();
    assert_eq!(top.diff_id.as_deref(), Some(TOP_DIFF));
    assert_eq!(
        top.chain_id.as_deref(),
        Some("sha256:e13d64f2ce98b678cf5160a9beeafdc934cbc42323115a5c000456d4024e78f6")
    );
    assert_eq!(
        top.images.len(),
        1,
        "only the app image holds the COPY layer"
    );
    assert_eq!(top.images[0].id, APP_IMAGE);
}

#[test]
fn docker_short_links_resolve_to_the_same_layer_as_its_dir() {
    let root = fixture("docker");
    let by_link = layer_owner(
        &root,
        Path::new("/var/lib/docker/overlay2/l/YBFCPZHE6IRGKSFECI4IUCXKOT"),
    )
    .unwrap();
    assert_eq!(by_link.id.as_deref(), Some(BASE_CACHE));
    assert_eq!(by_link.dir, docker_dir(BASE_CACHE));
    assert_eq!(
        by_link,
        layer_owner(&root, &docker_dir(BASE_CACHE)).unwrap()
    );
}

#[test]
fn a_docker_containers_own_and_init_layers_name_the_container() {
    let root = fixture("docker");
    let upper = layer_owner(&root, &docker_dir(MOUNT)).unwrap();
    assert_eq!(upper.role, LayerRole::Writable);
    let container = upper.container.as_ref().unwrap();
    assert_eq!(container.id, CONTAINER);
    assert_eq!(container.name.as_deref(), Some("owned-c"));
    assert_eq!(upper.images.len(), 1);
    assert_eq!(upper.images[0].id, APP_IMAGE);
    assert_eq!(
        upper.images[0].tags,
        ["owners-test/app:2", "owners-test/app:latest"]
    );

    // The init layer is the top lower dir of the container's mount, named by its short link.
    let init = layer_owner(
        &root,
        Path::new("/var/lib/docker/overlay2/l/WOYF6KH2JNZJ67YDGAMLTNTGTH"),
    )
    .unwrap();
    assert_eq!(init.role, LayerRole::Init);
    assert_eq!(init.id, Some(format!("{MOUNT}-init")));
    assert_eq!(init.container.unwrap().id, CONTAINER);
}

#[test]
fn paths_of_no_store_have_no_owner() {
    let root = fixture("docker");
    for path in [
        "/var/lib/docker/overlay2/l",
        "/var/lib/docker/overlay2/abc/merged",
        "l/YBFCPZHE6IRGKSFECI4IUCXKOT",
        "/var/lib/docker/overlay2/../overlay2/abc/diff",
        "/srv/bundle/rootfs",
        "/",
    ] {
        assert_eq!(layer_owner(&root, Path::new(path)), None, "{path}");
    }
    // A layer dir the layerdb does not know: the id from the path, a note, no names.
    let stray = layer_owner(&root, &docker_dir(&"9".repeat(64))).unwrap();
    assert_eq!(stray.role, LayerRole::Unknown);
    assert!(stray.images.is_empty() && stray.container.is_none());
    assert!(stray.notes[0].contains("has cache id"), "{:?}", stray.notes);
}

const PD_BASE: &str = "6bd889e358b569eae21c20df07cfff336c3fbaf90f34f33222044b3219b715e8";
const PD_TOP: &str = "05042d42b6c1f9a5fd33beaf044e71e966506c58d65fb2ccfba1f4707e22d117";
const PD_RW: &str = "731f3cbb832c1cb2d9e5d51b63972edb40af2b41a850c4aa5e83531a155b3920";
const PD_IMAGE: &str = "fe3a3872845c13932122da2cd2f0095f40df849d3c9f37fec304c6fc33c26aa6";

#[test]
fn containers_storage_layers_images_and_containers() {
    let root = fixture("podman");
    let store = Path::new("/var/lib/containers/storage");
    let mut owners = LayerOwners::new(&root);
    let base = owners
        .owner(&store.join("overlay/l/LHJ4HNIHT5OCLMCHVNOYPDCD2Q"))
        .unwrap();
    assert_eq!(base.store, Store::ContainersStorage);
    assert_eq!(base.root, store);
    assert_eq!(base.id.as_deref(), Some(PD_BASE));
    assert_eq!(base.dir, store.join("overlay").join(PD_BASE).join("diff"));
    assert_eq!(base.role, LayerRole::Image);
    assert_eq!(base.diff_id.as_deref(), Some(BASE_DIFF));
    assert_eq!(base.digest.as_deref(), Some(BASE_DIFF));
    assert_eq!(base.images.len(), 1);
    assert_eq!(base.images[0].id, PD_IMAGE);
    assert_eq!(base.images[0].tags, ["localhost/owners-test/app:2"]);
    assert!(base.trusted && base.notes.is_empty(), "{:?}", base.notes);

    let top = owners
        .owner(&store.join("overlay").join(PD_TOP).join("diff"))
        .unwrap();
    assert_eq!(top.diff_id.as_deref(), Some(TOP_DIFF));
    assert_eq!(top.images[0].id, PD_IMAGE);

    let rw = owners
        .owner(&store.join("overlay/l/EVDBEGCAK4AR5FWWHH25IYLWNI"))
        .unwrap();
    assert_eq!(rw.id.as_deref(), Some(PD_RW));
    assert_eq!(rw.role, LayerRole::Writable);
    assert_eq!(rw.names, ["owned-pd-layer"]);
    let container = rw.container.unwrap();
    assert_eq!(
        container.id,
        "97d2615f30f6f3f2384c5f88aad54480efd5d68eb528da9d3bb8608515dad2af"
    );
    assert_eq!(container.name.as_deref(), Some("owned-pd"));
    assert_eq!(rw.images[0].tags, ["localhost/owners-test/app:2"]);
}

#[test]
fn containerd_snapshots_are_their_numbers() {
    let root = fixture("containerd");
    let dir =
        Path::new("/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/2/fs");
    let owner = layer_owner(&root, dir).unwrap();
    assert_eq!(owner.store, Store::Containerd);
    assert_eq!(owner.root, Path::new("/var/lib/containerd"));
    assert_eq!(owner.id.as_deref(), Some("2"));
    assert_eq!(owner.dir, dir);
    assert_eq!(owner.role, LayerRole::Unknown);
    assert!(owner.notes[0].contains("metadata.db"), "{:?}", owner.notes);
    // k3s keeps containerd's root elsewhere: the same layout is recognised there.
    let k3s = Path::new(
        "/var/lib/rancher/k3s/agent/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/17/fs",
    );
    assert_eq!(layer_owner(&root, k3s).unwrap().id.as_deref(), Some("17"));
    let not_a_number =
        Path::new("/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/x/fs");
    assert_eq!(layer_owner(&root, not_a_number), None);
}

const ISO_A: &str = "6bd889e358b569eae21c20df07cfff336c3fbaf90f34f33222044b3219b715e8";
const ISO_B: &str = "0b60fa78649a0ed53dd3a37476e31d7261f8659f79055ffd76048ee89675f4b7";
const ISO_WEB: &str = "c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00";
const ISO_JOB: &str = "e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1";

fn iso_layer(hex: &str) -> PathBuf {
    Path::new("/var/lib/isotop/layers/sha256").join(hex)
}

#[test]
fn isotops_cache_layers_and_upper_dirs() {
    let root = fixture("isotop");
    let base = layer_owner(&root, &iso_layer(ISO_A)).unwrap();
    assert_eq!(base.store, Store::Isotop);
    assert_eq!(base.root, Path::new("/var/lib/isotop"));
    assert_eq!(base.role, LayerRole::Image);
    assert_eq!(base.digest, Some(format!("sha256:{ISO_A}")));
    assert_eq!(base.diff_id, Some(format!("sha256:{ISO_A}")));
    let images: Vec<&str> = base.images.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(images, ["/srv/images/app.tar", "/srv/images/base.tar"]);
    assert!(base.notes.is_empty(), "{:?}", base.notes);

    // A layer without meta (an older isotop's): the digest from the path only, and a note.
    let top = layer_owner(&root, &iso_layer(ISO_B)).unwrap();
    assert_eq!(top.digest, None);
    assert!(top.notes[0].contains("missing"), "{:?}", top.notes);
    assert_eq!(top.images.len(), 1);

    let upper = Path::new("/var/lib/isotop/containers")
        .join(ISO_WEB)
        .join("upper");
    let owner = layer_owner(&root, &upper).unwrap();
    assert_eq!(owner.role, LayerRole::Writable);
    assert_eq!(owner.container.unwrap().name.as_deref(), Some("web"));
    assert_eq!(owner.images[0].id, "/srv/images/app.tar");
}

#[test]
fn the_dedup_picture_counts_each_layer_once_whatever_path_names_it() {
    let root = fixture("docker");
    let mut owners = LayerOwners::new(&root);
    let l = |short: &str| Path::new("/var/lib/docker/overlay2/l").join(short);
    let stacks = vec![
        (
            "a".to_string(),
            vec![
                l("WOYF6KH2JNZJ67YDGAMLTNTGTH"),
                l("WXOK622JH4REJKGKBHVDNCS2DW"),
                l("YBFCPZHE6IRGKSFECI4IUCXKOT"),
            ],
        ),
        // The same base layer by its dir, and a path no store owns.
        (
            "b".to_string(),
            vec![docker_dir(BASE_CACHE), PathBuf::from("/srv/x")],
        ),
        (
            "c".to_string(),
            vec![l("WXOK622JH4REJKGKBHVDNCS2DW"), docker_dir(BASE_CACHE)],
        ),
    ];
    let layers = shared_layers(&mut owners, &stacks);
    let picture: Vec<(PathBuf, Vec<&str>)> = layers
        .iter()
        .map(|s| {
            (
                s.dir.clone(),
                s.containers.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        picture,
        vec![
            (docker_dir(BASE_CACHE), vec!["a", "b", "c"]),
            (docker_dir(TOP_CACHE), vec!["a", "c"]),
            (PathBuf::from("/srv/x"), vec!["b"]),
            (docker_dir(&format!("{MOUNT}-init")), vec!["a"]),
        ]
    );
    assert!(layers[0].is_shared() && !layers[2].is_shared());
    assert_eq!(layers[2].owner, None);
    assert_eq!(layers[1].owner.as_ref().unwrap().images[0].id, APP_IMAGE);

    let iso = fixture("isotop");
    let mut owners = LayerOwners::new(&iso);
    let stacks = vec![
        (
            ISO_WEB.to_string(),
            vec![iso_layer(ISO_B), iso_layer(ISO_A)],
        ),
        (ISO_JOB.to_string(), vec![iso_layer(ISO_A)]),
    ];
    let layers = shared_layers(&mut owners, &stacks);
    assert_eq!(layers[0].dir, iso_layer(ISO_A));
    // Sorted ids: c0ffee… before e1e1….
    assert_eq!(layers[0].containers, [ISO_WEB, ISO_JOB]);
    assert_eq!(layers[1].containers, [ISO_WEB]);
}

#[test]
fn isotops_skeleton_layer_is_named_by_its_version() {
    let root = fixture("isotop");
    let dir = Path::new("/var/lib/isotop/default/v1-6babaebaeab174e3");
    let owner = layer_owner(&root, dir).unwrap();
    assert_eq!(owner.store, Store::Isotop);
    assert_eq!(owner.role, LayerRole::Image);
    assert_eq!(owner.id.as_deref(), Some("v1-6babaebaeab174e3"));
    assert_eq!(owner.names, ["isotop default skeleton"]);
    // Anything else under default/ (a builder's temporary dir, a stranger's name) is no layer.
    for other in [
        "tmp-12-ab",
        "v1-6BABAEBAEAB174E3",
        "v-6babaebaeab174e3",
        "v1-6bab",
    ] {
        let path = Path::new("/var/lib/isotop/default").join(other);
        assert!(layer_owner(&root, &path).is_none(), "{other}");
    }
}
