//! Fuzzes every runtime state reader under `host::runtime` (and isotop's own record reader
//! in `launch::store`) with arbitrary file contents.
//!
//! Input: a selector byte, then the bytes of one file. The selector picks which runtime file
//! (see [`FILES`]) holds the bytes, in a fresh host tree laid out like a root file system
//! (`HostRoot::under`); the other file of a pair (a crun `status` with its `config.json`, a
//! containerd task's `config.json` with its `init.pid`, a Podman index with a container's
//! spec) holds the test fixture's valid content, so the fuzzed file is read in full context.
//! Then every reader runs over the tree, as `isotop ls --all` does: runc/crun states (rootful
//! and rootless), Docker configs, containerd tasks (plus the Kubernetes lookup), the Podman
//! and CRI-O stores, LXC, systemd-nspawn machines, isotop records, and the composed
//! `find_stopped`.
//!
//! A crash is a panic in isotop, or a broken reader contract: a name, image, label or pod
//! field that holds a terminal-unsafe character (readers store cleaned text only), or a
//! change outside the host tree.
#![no_main]

use std::fs;
use std::path::Path;

use isotop::launch::store;
use isotop::host::HostRoot;
use isotop::host::runtime::containerd::{self, TaskIndex};
use isotop::host::runtime::podman::{self, PodmanStores};
use isotop::host::runtime::{Metadata, docker, isotop as records, lxc, nspawn, oci};
use isotop_fuzz::{Jail, assert_clean, remove_tree};
use libfuzzer_sys::fuzz_target;

const DOCKER_ID: &str = "5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed";
const PODMAN_ID: &str = "bead0000bead0000bead0000bead0000bead0000bead0000bead0000bead0000";
const CRIO_ID: &str = "7777888899990000777788889999000077778888999900007777888899990000";
const K8S_ID: &str = "c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00";
const ISOTOP_ID: &str = "15070915070915070915070915070915070915070915070915070915070915ab";

const TASKS: &str = "run/containerd/io.containerd.runtime.v2.task";
const PODMAN_STORE: &str = "var/lib/containers/storage/overlay-containers";

/// Where the fuzzed bytes go, by selector (modulo the count).
const FILES: &[&str] = &[
    "run/runc/ctr1/state.json",
    "run/user/65534/runc/ctr1/state.json",
    "run/crun/ctr2/status",
    "run/crun/ctr2/config.json",
    "var/lib/docker/containers/@DOCKER@/config.v2.json",
    "run/containerd/io.containerd.runtime.v2.task/default/web1/config.json",
    "run/containerd/io.containerd.runtime.v2.task/default/web1/init.pid",
    "var/lib/containers/storage/overlay-containers/containers.json",
    "var/lib/containers/storage/overlay-containers/volatile-containers.json",
    "home/alice/.local/share/containers/storage/overlay-containers/containers.json",
    "var/lib/containers/storage/overlay-containers/@PODMAN@/userdata/config.json",
    "run/containers/storage/overlay-containers/@CRIO@/userdata/config.json",
    "run/containerd/io.containerd.runtime.v2.task/k8s.io/@K8S@/config.json",
    "var/lib/lxc/web/config",
    "run/systemd/machines/deb",
    "run/isotop/@ISOTOP@/state.json",
];

/// The valid companion files every tree starts with (the fuzzed file replaces one).
fn companions() -> Vec<(String, &'static [u8])> {
    macro_rules! fixture {
        ($path:literal) => {
            include_bytes!(concat!("../../tests/fixtures/runtimes/", $path)).as_slice()
        };
    }
    vec![
        (
            "run/crun/ctr2/status".into(),
            fixture!("oci/run/crun/ctr2/status"),
        ),
        (
            "run/crun/ctr2/config.json".into(),
            fixture!("oci/run/crun/ctr2/config.json"),
        ),
        (
            format!("{TASKS}/default/web1/config.json"),
            fixture!(
                "containerd/run/containerd/io.containerd.runtime.v2.task/default/web1/config.json"
            ),
        ),
        (
            format!("{TASKS}/default/web1/init.pid"),
            fixture!(
                "containerd/run/containerd/io.containerd.runtime.v2.task/default/web1/init.pid"
            ),
        ),
        (
            format!("{PODMAN_STORE}/containers.json"),
            fixture!("podman/var/lib/containers/storage/overlay-containers/containers.json"),
        ),
        (
            format!("{PODMAN_STORE}/{PODMAN_ID}/userdata/config.json"),
            fixture!(
                "podman/var/lib/containers/storage/overlay-containers/bead0000bead0000bead0000bead0000bead0000bead0000bead0000bead0000/userdata/config.json"
            ),
        ),
        (
            "var/lib/lxc/web/config".into(),
            fixture!("lxc/var/lib/lxc/web/config"),
        ),
    ]
}

fn expand(path: &str) -> String {
    path.replace("@DOCKER@", DOCKER_ID)
        .replace("@PODMAN@", PODMAN_ID)
        .replace("@CRIO@", CRIO_ID)
        .replace("@K8S@", K8S_ID)
        .replace("@ISOTOP@", ISOTOP_ID)
}

fn put(base: &Path, relative: &str, bytes: &[u8]) {
    let path = base.join(relative);
    fs::create_dir_all(path.parent().expect("a runtime file has a parent"))
        .expect("make a runtime directory");
    fs::write(path, bytes).expect("write a runtime file");
}

fuzz_target!(|data: &[u8]| {
    let jail = Jail::enter();
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    let base = jail.fresh("host");
    for (path, content) in companions() {
        put(&base, &path, content);
    }
    put(
        &base,
        &expand(FILES[selector as usize % FILES.len()]),
        bytes,
    );
    read_everything(&HostRoot::under(&base));
    jail.check_outside("the runtime readers", &base);
    remove_tree(&base);
});

fn read_everything(root: &HostRoot) {
    for state in oci::read_states(root) {
        for (key, value) in &state.labels {
            assert_clean("an OCI label key", key);
            assert_clean("an OCI label value", value);
        }
    }
    let mut docker_ids = docker::list(root);
    docker_ids.push(DOCKER_ID.into());
    for id in &docker_ids {
        if let Some(meta) = docker::read(root, id) {
            check(&meta);
        }
    }
    let tasks = TaskIndex::read(root);
    for task in tasks.tasks() {
        check(&containerd::read(task));
        check(&containerd::read_kubernetes(
            root,
            &tasks,
            &task.id,
            Some("pod-uid"),
        ));
    }
    let stores = PodmanStores::read(root);
    for id in stores.ids() {
        if let Some(meta) = stores.lookup(&id) {
            check(&meta);
        }
        if let Some(meta) = podman::read_crio(root, &id) {
            check(&meta);
        }
    }
    if let Some(meta) = podman::read_crio(root, CRIO_ID) {
        check(&meta);
    }
    for name in lxc::list(root) {
        check(&lxc::read(root, &name));
    }
    if let Some(meta) = nspawn::read(root, "deb") {
        check(&meta);
    }
    let _ = nspawn::is_vm(root, "deb");
    if let Some(meta) = records::read(root, ISOTOP_ID) {
        check(&meta);
    }
    for stopped in records::stopped(root) {
        check(&stopped.meta);
    }
    let _ = store::read_record(root, ISOTOP_ID);
    let _ = store::list_records(root);
    let _ = store::resolve(root, &ISOTOP_ID[..6]);
    for container in isotop::host::container::find_stopped(root, &[]) {
        assert_clean("a container name", &container.name);
        if let Some(image) = &container.image {
            assert_clean("a container image", image);
        }
        for (key, value) in &container.labels {
            assert_clean("a container label key", key);
            assert_clean("a container label value", value);
        }
    }
}

/// What a reader returned keeps its contract: every shown string is cleaned.
fn check(meta: &Metadata) {
    if let Some(name) = &meta.name {
        assert_clean("a metadata name", name);
    }
    if let Some(image) = &meta.image {
        assert_clean("a metadata image", image);
    }
    for (key, value) in &meta.labels {
        assert_clean("a label key", key);
        assert_clean("a label value", value);
    }
    if let Some(pod) = &meta.pod {
        assert_clean("a pod name", &pod.name);
        assert_clean("a pod namespace", &pod.namespace);
        if let Some(uid) = &pod.uid {
            assert_clean("a pod uid", uid);
        }
    }
}
