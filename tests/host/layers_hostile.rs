//! Whose layers, when the stores' files are missing, garbage, huge, FIFOs or symlinks pointing
//! out of the store, or a stranger's: the layer still gets the owner its path says, its names
//! are left out with a note, nothing is followed out of the store, nothing blocks or panics.

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use isotop::host::HostRoot;
use isotop::host::layers::{LayerRole, Store, layer_owner};
use isotop::host::runtime::Cap;

const ID: &str = "703a96f2adcd793593257ef644106f2f5ff0793f4ecac0c3737cba4c61f3e084";
const CHAIN: &str = "6bd889e358b569eae21c20df07cfff336c3fbaf90f34f33222044b3219b715e8";

/// A fake host root holding a minimal Docker store with one layer `ID` (chain `CHAIN`).
fn docker_root() -> (tempfile::TempDir, HostRoot) {
    let dir = tempfile::tempdir().unwrap();
    let root = HostRoot::under(dir.path());
    let store = root.var_lib.join("docker");
    std::fs::create_dir_all(store.join("overlay2").join(ID).join("diff")).unwrap();
    std::fs::create_dir_all(store.join("overlay2/l")).unwrap();
    let layer = store.join("image/overlay2/layerdb/sha256").join(CHAIN);
    std::fs::create_dir_all(&layer).unwrap();
    std::fs::write(layer.join("cache-id"), ID).unwrap();
    std::fs::write(layer.join("diff"), format!("sha256:{CHAIN}")).unwrap();
    (dir, root)
}

fn docker_dir() -> PathBuf {
    Path::new("/var/lib/docker/overlay2").join(ID).join("diff")
}

#[test]
fn a_missing_or_garbage_index_leaves_names_out_with_a_note() {
    let (_dir, root) = docker_root();
    // No repositories.json, no image db: the layer is known, no image holds it.
    let owner = layer_owner(&root, &docker_dir()).unwrap();
    assert_eq!(owner.role, LayerRole::Image);
    assert_eq!(owner.chain_id, Some(format!("sha256:{CHAIN}")));
    assert!(owner.images.is_empty());
    assert!(
        owner
            .notes
            .iter()
            .any(|n| n.contains("repositories.json: missing")),
        "{:?}",
        owner.notes
    );

    let repositories = root.var_lib.join("docker/image/overlay2/repositories.json");
    std::fs::write(&repositories, b"{\"Repositories\": [1, 2").unwrap();
    let owner = layer_owner(&root, &docker_dir()).unwrap();
    assert!(owner.images.is_empty());
    assert!(
        owner
            .notes
            .iter()
            .any(|n| n.contains("not what it should hold")),
        "{:?}",
        owner.notes
    );

    // A garbage cache-id names no layer: the dir is then nobody's known layer.
    let cache_id = root
        .var_lib
        .join("docker/image/overlay2/layerdb/sha256")
        .join(CHAIN)
        .join("cache-id");
    std::fs::write(&cache_id, b"\xff\xfe garbage").unwrap();
    let owner = layer_owner(&root, &docker_dir()).unwrap();
    assert_eq!(owner.role, LayerRole::Unknown);
    assert!(owner.notes.iter().any(|n| n.contains("has cache id")));
}

#[test]
fn a_fifo_index_is_refused_at_once() {
    let (_dir, root) = docker_root();
    let repositories = root.var_lib.join("docker/image/overlay2/repositories.json");
    nix::unistd::mkfifo(
        &repositories,
        nix::sys::stat::Mode::from_bits_truncate(0o644),
    )
    .unwrap();
    let started = Instant::now();
    let owner = layer_owner(&root, &docker_dir()).unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(
        owner.notes.iter().any(|n| n.contains("FIFO")),
        "{:?}",
        owner.notes
    );
}

#[test]
fn short_links_pointing_out_of_the_store_are_not_followed() {
    let (_dir, root) = docker_root();
    let l = root.var_lib.join("docker/overlay2/l");
    symlink("/etc", l.join("ABSOLUTE")).unwrap();
    symlink("../../../../etc/diff", l.join("CLIMBS")).unwrap();
    symlink(format!("../{ID}/diff"), l.join("GOOD")).unwrap();
    for short in ["ABSOLUTE", "CLIMBS"] {
        let path = Path::new("/var/lib/docker/overlay2/l").join(short);
        let owner = layer_owner(&root, &path).unwrap();
        assert_eq!(owner.store, Store::Docker);
        assert_eq!(owner.id, None, "{short}");
        assert_eq!(owner.dir, path, "the dir stays the path as given");
        assert_eq!(owner.role, LayerRole::Unknown);
        assert!(
            owner.notes.iter().any(|n| n.contains("not followed")),
            "{short}: {:?}",
            owner.notes
        );
    }
    let good = layer_owner(&root, Path::new("/var/lib/docker/overlay2/l/GOOD")).unwrap();
    assert_eq!(good.id.as_deref(), Some(ID));
    // A short name that is no link (a directory there) resolves to nothing.
    std::fs::create_dir(l.join("ADIR")).unwrap();
    let dir = layer_owner(&root, Path::new("/var/lib/docker/overlay2/l/ADIR")).unwrap();
    assert_eq!(dir.id, None);
}

#[test]
fn a_symlinked_directory_inside_a_store_is_not_walked_through() {
    let (dir, root) = docker_root();
    // `l` itself a symlink to a directory elsewhere holding a "good" link: refused.
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    symlink(format!("../{ID}/diff"), elsewhere.join("GOOD")).unwrap();
    let l = root.var_lib.join("docker/overlay2/l");
    std::fs::remove_dir(&l).unwrap();
    symlink(&elsewhere, &l).unwrap();
    let owner = layer_owner(&root, Path::new("/var/lib/docker/overlay2/l/GOOD")).unwrap();
    assert_eq!(owner.id, None);
    assert!(
        owner.notes.iter().any(|n| n.contains("symlink")),
        "{:?}",
        owner.notes
    );
    // The layerdb moved away and symlinked back: its names are not read.
    let image = root.var_lib.join("docker/image");
    std::fs::rename(&image, dir.path().join("image-elsewhere")).unwrap();
    symlink(dir.path().join("image-elsewhere"), &image).unwrap();
    let owner = layer_owner(&root, &docker_dir()).unwrap();
    assert_eq!(owner.chain_id, None);
    assert_eq!(owner.role, LayerRole::Unknown);
}

/// A containers/storage store at `/var/lib/containers/storage` in a fake root.
fn storage_root() -> (tempfile::TempDir, HostRoot, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = HostRoot::under(dir.path());
    let store = root.var_lib.join("containers/storage");
    std::fs::create_dir_all(store.join("overlay-layers")).unwrap();
    std::fs::create_dir_all(store.join("overlay").join(ID).join("diff")).unwrap();
    (dir, root, store)
}

fn storage_dir() -> PathBuf {
    Path::new("/var/lib/containers/storage/overlay")
        .join(ID)
        .join("diff")
}

#[test]
fn a_huge_layers_json_is_not_read() {
    let (_dir, root, store) = storage_root();
    let index = store.join("overlay-layers/layers.json");
    // Sparse: costs no disk, and would cost memory and time if it were read.
    let file = std::fs::File::create(&index).unwrap();
    file.set_len(Cap::INDEX.0 + 1).unwrap();
    let started = Instant::now();
    let owner = layer_owner(&root, &storage_dir()).unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(owner.store, Store::ContainersStorage);
    assert_eq!(owner.id.as_deref(), Some(ID));
    assert!(owner.names.is_empty() && owner.images.is_empty());
    assert!(
        owner.notes.iter().any(|n| n.contains("larger than")),
        "{:?}",
        owner.notes
    );
}

#[test]
fn a_garbage_layers_json_and_a_parent_cycle_do_not_hang() {
    let (_dir, root, store) = storage_root();
    let index = store.join("overlay-layers/layers.json");
    std::fs::write(&index, b"[{\"id\": 12}]").unwrap();
    let owner = layer_owner(&root, &storage_dir()).unwrap();
    assert_eq!(owner.role, LayerRole::Unknown);
    assert!(
        owner
            .notes
            .iter()
            .any(|n| n.contains("not what it should hold"))
    );

    // Two layers each the other's parent, an image on top of them: the walk ends.
    let other = "f".repeat(64);
    let layers = serde_json::json!([
        {"id": ID, "parent": other},
        {"id": other, "parent": ID},
    ]);
    std::fs::write(&index, layers.to_string()).unwrap();
    std::fs::create_dir_all(store.join("overlay-images")).unwrap();
    let images = serde_json::json!([{"id": "i".repeat(64), "names": ["x:1"], "layer": other}]);
    std::fs::write(store.join("overlay-images/images.json"), images.to_string()).unwrap();
    let owner = layer_owner(&root, &storage_dir()).unwrap();
    assert_eq!(owner.role, LayerRole::Image);
    assert_eq!(owner.images.len(), 1);
    assert_eq!(owner.images[0].tags, ["x:1"]);
}

#[test]
#[ignore = "needs root"]
fn a_rootless_store_s_names_are_its_users_claims() {
    let dir = tempfile::tempdir().unwrap();
    let root = HostRoot::under(dir.path());
    let home = dir.path().join("home/u");
    let store = home.join(".local/share/containers/storage");
    std::fs::create_dir_all(store.join("overlay-layers")).unwrap();
    std::fs::create_dir_all(store.join("overlay/l")).unwrap();
    let layers = serde_json::json!([{"id": ID, "names": ["\u{1b}[31mevil"]}]);
    std::fs::write(store.join("overlay-layers/layers.json"), layers.to_string()).unwrap();
    // The user points a short link at root's files, and one at their own layer.
    symlink("/root", store.join("overlay/l/OUT")).unwrap();
    symlink(format!("../{ID}/diff"), store.join("overlay/l/MINE")).unwrap();
    for entry in walk(&home) {
        std::os::unix::fs::lchown(&entry, Some(65534), Some(65534)).unwrap();
    }
    let host_store = Path::new("/home/u/.local/share/containers/storage");
    let mine = layer_owner(&root, &host_store.join("overlay/l/MINE")).unwrap();
    assert_eq!(mine.id.as_deref(), Some(ID));
    assert!(!mine.trusted);
    assert_eq!(mine.names, ["?[31mevil"], "cleaned before any terminal");
    assert!(
        mine.notes.iter().any(|n| n.contains("uid 65534")),
        "{:?}",
        mine.notes
    );
    let out = layer_owner(&root, &host_store.join("overlay/l/OUT")).unwrap();
    assert_eq!(out.id, None);
    assert!(out.notes.iter().any(|n| n.contains("not followed")));
}

/// Every path below `dir`, `dir` included, without following symlinks.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![dir.to_path_buf()];
    if std::fs::symlink_metadata(dir).is_ok_and(|m| m.is_dir()) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            out.extend(walk(&entry.path()));
        }
    }
    out
}
