//! An isotop container's root read back from the kernel by `host::mounts` (root): the overlay
//! `isotop run` mounted, its layers top first (the record keeps them lowest first) and its
//! upper dir, the same the record names; `inspect --json` carries them.

use crate::support::{common, containers};

use std::path::PathBuf;
use std::time::Duration;

use containers::{Container, require_launch};
use isotop::host::HostRoot;
use isotop::host::mounts::read_container_root;

fn paths(value: &serde_json::Value) -> Vec<PathBuf> {
    value
        .as_array()
        .expect("a list of paths")
        .iter()
        .map(|p| PathBuf::from(p.as_str().expect("a path")))
        .collect()
}

#[test]
#[ignore = "needs root"]
fn an_isotop_container_root_is_its_overlay() {
    if !require_launch() {
        return;
    }
    let c = Container::sh(&[], "sleep 30");
    assert!(
        common::wait_until(Duration::from_secs(10), || c
            .record()
            .is_some_and(|r| r["pid"].is_i64())),
        "no pid in the record"
    );
    let record = c.record().expect("record");
    let read = read_container_root(&HostRoot::live(), c.pid())
        .expect("readable")
        .expect("running");
    let root = read.root.as_ref().expect("a root");
    assert_eq!(root.mount.fs_type, "overlay");
    let overlay = root.overlay.as_ref().expect("layers");
    let mut lower = paths(&record["lower_layers"]);
    lower.reverse();
    assert_eq!(overlay.lower, lower, "top first");
    assert_eq!(
        overlay.upper.as_deref(),
        record["upper"].as_str().map(std::path::Path::new)
    );

    let json = common::isotop_json(&["inspect", &c.id, "--json"]);
    assert_eq!(json["root"]["fs_type"], "overlay");
    assert_eq!(json["root"]["overlay"]["upper"], record["upper"]);
    assert_eq!(
        json["root"]["overlay"]["lower"].as_array().map(Vec::len),
        Some(lower.len())
    );
}
