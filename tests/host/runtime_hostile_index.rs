//! A user's Podman index (`~/.local/share/containers/storage/overlay-containers/
//! containers.json`) is that user's to write: its ids are joined onto root's store paths and
//! its entries become stopped containers. Made for real in a fake host root whose `/home/<u>`
//! belongs to `nobody` (uid 65534): an id `../../…` must not reach a CRI-O spec outside the
//! store, and a container only the user's index lists is the user's claim (unverified, uid
//! 65534), never a trusted one — so root's acts refuse it.

use crate::support::{common, hostile_files};

use std::os::unix::fs::symlink;
use std::path::Path;

use hostile_files::*;
use isotop::host::HostRoot;
use isotop::host::container::find_stopped;

/// A CRI-O spec whose annotations name the container `name`.
fn crio_spec(name: &str) -> String {
    serde_json::json!({
        "annotations": {
            "io.kubernetes.cri-o.Name": name,
            "io.kubernetes.container.name": name,
        }
    })
    .to_string()
}

#[test]
#[ignore = "needs root"]
fn a_users_podman_index_never_yields_a_trusted_container() {
    let tmp = fake_root();
    let prefix = tmp.path();
    let mut made = Made::default();
    let home = prefix.join("home/alice");
    let store = home.join(".local/share/containers/storage/overlay-containers");
    made.dir(&home, NOBODY, 0o755);
    made.dir(&store, NOBODY, 0o700);
    // A spec of the user's choosing, reached from root's store by `..`.
    let evil = home.join("x/userdata");
    made.dir(&evil, NOBODY, 0o755);
    made.file(
        &evil.join("config.json"),
        NOBODY,
        &crio_spec("evil-traversal"),
    );
    // A 64-hex id whose store dir in root's tree is a symlink into the user's home.
    let linked = "abcd".repeat(16);
    let root_store = prefix.join("var/lib/containers/storage/overlay-containers");
    std::fs::create_dir_all(&root_store).expect("root store");
    symlink(home.join("x"), root_store.join(&linked)).expect("store link");
    // A plain 64-hex id only the user's index lists.
    let own = "beef".repeat(16);
    let index = serde_json::json!([
        {"id": "../../../../../home/alice/x", "names": ["evil-traversal"]},
        {"id": linked, "names": ["evil-linked"]},
        {"id": own, "names": ["alices-web"]},
    ]);
    made.file(&store.join("containers.json"), NOBODY, &index.to_string());

    let root = HostRoot::under(prefix);
    let stopped = find_stopped(&root, &[]);
    let summary: Vec<_> = stopped
        .iter()
        .map(|c| (c.id.clone(), c.name.clone(), c.runtime, c.trust.verified))
        .collect();
    assert!(
        stopped.iter().all(|c| !c.id.contains('/')),
        "an index id with `..` became a container: {summary:?}"
    );
    assert!(
        stopped.iter().all(|c| !c.trust.verified),
        "a container only a user's index lists is trusted: {summary:?}"
    );
    assert!(
        stopped
            .iter()
            .all(|c| !c.name.starts_with("evil")
                || c.runtime == isotop::host::runtime::Runtime::Podman),
        "a CRI-O spec was read through the user's files: {summary:?}"
    );
    let web = stopped
        .iter()
        .find(|c| c.id == own)
        .unwrap_or_else(|| panic!("the user's own container is listed: {summary:?}"));
    assert_eq!(web.name, "alices-web");
    assert!(!web.trust.verified);
    assert_eq!(web.trust.claimed_by_uid, Some(NOBODY));
    let linked_row = stopped
        .iter()
        .find(|c| c.id == linked)
        .unwrap_or_else(|| panic!("the linked id is listed as the user's: {summary:?}"));
    assert_eq!(
        linked_row.name, "evil-linked",
        "named by the index, not the spec"
    );
    assert!(Path::new(&home).exists());
}

/// A FUSE mount (bindfs, its daemon run by the test) unmounted on drop.
struct FuseMount(std::path::PathBuf);

impl Drop for FuseMount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("fusermount")
            .arg("-u")
            .arg(&self.0)
            .status();
    }
}

#[test]
#[ignore = "needs root"]
fn a_users_store_on_fuse_is_not_read() {
    let test = common::test_name();
    if !common::require_program("bindfs") || !common::require_program("fusermount") {
        return;
    }
    if !Path::new("/dev/fuse").exists() {
        eprintln!("skipping {test}: no /dev/fuse here (the fuse module is not loaded)");
        return;
    }
    let tmp = fake_root();
    let prefix = tmp.path();
    let mut made = Made::default();
    let home = prefix.join("home/alice");
    let store = home.join(".local/share/containers/storage/overlay-containers");
    made.dir(&home, NOBODY, 0o755);
    made.dir(&store, NOBODY, 0o700);
    // What the FUSE daemon serves: an index naming one container.
    let served = prefix.join("served");
    made.dir(&served, NOBODY, 0o755);
    let id = "f00d".repeat(16);
    let index = serde_json::json!([{"id": id, "names": ["on-fuse"]}]);
    made.file(&served.join("containers.json"), NOBODY, &index.to_string());
    let mounted = std::process::Command::new("bindfs")
        .arg(&served)
        .arg(&store)
        .status()
        .expect("run bindfs");
    assert!(mounted.success(), "bindfs failed: {mounted}");
    let _mount = FuseMount(store.clone());
    assert!(
        store.join("containers.json").exists(),
        "the mount serves the index"
    );

    let read = isotop::host::runtime::file::read_beneath(
        &home,
        Path::new(".local/share/containers/storage/overlay-containers/containers.json"),
        isotop::host::runtime::file::Cap::INDEX,
    );
    let err = match read {
        Ok(file) => panic!("a file on FUSE was read: {} bytes", file.bytes.len()),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("FUSE"), "{err}");
    let root = HostRoot::under(prefix);
    let stopped = find_stopped(&root, &[]);
    assert!(
        stopped.iter().all(|c| c.id != id),
        "a container from an index on FUSE is listed"
    );
}
