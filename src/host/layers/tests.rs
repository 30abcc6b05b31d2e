use super::*;

#[test]
fn only_links_into_the_same_store_resolve() {
    let id = |t: &str| graph::link_target_id(Path::new(t));
    assert_eq!(id("../abc/diff").as_deref(), Some("abc"));
    assert_eq!(id("../abc-init/diff").as_deref(), Some("abc-init"));
    assert_eq!(id("/etc"), None);
    assert_eq!(id("../../../etc/diff"), None);
    assert_eq!(id("../l/diff"), None);
    assert_eq!(id("../abc/merged"), None);
    assert_eq!(id("abc/diff"), None);
}

fn names(path: &str) -> Vec<String> {
    plain_absolute(Path::new(path)).unwrap()
}

#[test]
fn paths_are_taken_only_when_absolute_and_without_parent_steps() {
    assert_eq!(names("/a//b/./c/"), ["a", "b", "c"]);
    assert_eq!(plain_absolute(Path::new("l/ABC")), None);
    assert_eq!(plain_absolute(Path::new("/a/../b")), None);
}

#[test]
fn each_store_is_recognised_by_its_layout_only() {
    let docker = docker::parse(&names("/data/docker/overlay2/abc/diff")).unwrap();
    assert_eq!(docker.root, Path::new("/data/docker"));
    assert!(docker::parse(&names("/overlay2/abc/diff")).is_none());
    assert!(docker::parse(&names("/var/lib/docker/overlay2/l/diff")).is_none());
    assert!(docker::parse(&names("/var/lib/docker/overlay2/l/lower-case")).is_none());
    assert!(docker::parse(&names("/var/lib/docker/overlay/abc/diff")).is_none());
    let storage = storage::parse(&names(
        "/home/u/.local/share/containers/storage/overlay/l/X",
    ));
    assert_eq!(
        storage.unwrap().root,
        Path::new("/home/u/.local/share/containers/storage")
    );
    assert!(storage::parse(&names("/var/lib/docker/overlay2/abc/diff")).is_none());
    let snapshot = "/c/io.containerd.snapshotter.v1.overlayfs/snapshots/12/fs";
    assert_eq!(
        containerd::parse(&names(snapshot)).unwrap().id.as_deref(),
        Some("12")
    );
    assert!(
        containerd::parse(&names(
            "/c/io.containerd.snapshotter.v1.overlayfs/snapshots/1/work"
        ))
        .is_none()
    );
    let hex = "a".repeat(64);
    let layer = format!("/var/lib/isotop/layers/sha256/{hex}");
    assert_eq!(
        isotop::parse(&names(&layer)).unwrap().root,
        Path::new("/var/lib/isotop")
    );
    assert!(isotop::parse(&names("/var/lib/isotop/layers/sha256/short")).is_none());
    let upper = format!("/var/lib/isotop/containers/{hex}/upper");
    assert!(isotop::parse(&names(&upper)).is_some());
    assert!(isotop::parse(&names(&format!("/var/lib/other/containers/{hex}/upper"))).is_none());
}

#[test]
fn a_store_is_read_below_the_deepest_trusted_base() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("home/u")).unwrap();
    let root = HostRoot::under(dir.path());
    let owners = LayerOwners::new(&root);
    let at = |host: &str| {
        let store = owners.store_path(Path::new(host));
        (store.base, store.rel)
    };
    assert_eq!(
        at("/var/lib/docker"),
        (dir.path().join("var/lib"), PathBuf::from("docker"))
    );
    assert_eq!(
        at("/home/u/.local/share/docker"),
        (
            dir.path().join("home/u"),
            PathBuf::from(".local/share/docker")
        )
    );
    assert_eq!(
        at("/srv/docker"),
        (dir.path().to_path_buf(), PathBuf::from("srv/docker"))
    );
}
