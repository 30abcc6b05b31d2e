//! isotop's own containers' layers through the real binary (root): two containers run from
//! one image share its layers (`shared_with` names the other, the writable layers are each
//! their own, every layer owned by isotop's store); `inspect --json --size` sizes each layer
//! as `du` does and the writable layer grows by what the container writes; `ls --size` gives
//! the same figure; and without `--size` no layer directory is opened (seen by `strace`).

use crate::support::{archives, common, containers};

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use archives::{Item, docker_archive, tar_of};
use common::{du_bytes, isotop_json, require_program, unique_name};
use containers::{Container, busybox_bytes, isotop_out};

/// A two-layer image: busybox and its applets, then a marker file unique to this run (so its
/// second layer is this test's alone).
struct Image {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

fn image() -> Option<Image> {
    let busybox = busybox_bytes()?;
    let applets = ["sh", "sleep", "head", "cat", "mkdir"];
    let links: Vec<String> = applets.iter().map(|a| format!("./bin/{a}")).collect();
    let mut base = vec![
        Item::Dir("./"),
        Item::Dir("./bin/"),
        Item::Dir("./etc/"),
        Item::Dir("./tmp/"),
        Item::Dir("./proc/"),
        Item::Dir("./sys/"),
        Item::Dir("./dev/"),
        Item::FileMode("./bin/busybox", &busybox, 0o755),
    ];
    base.extend(links.iter().map(|l| Item::Symlink(l, "busybox")));
    let marker = unique_name("stack-image");
    let top = [
        Item::Dir("./etc/"),
        Item::File("./etc/marker", marker.as_bytes()),
    ];
    let config = r#"{"architecture": "amd64", "os": "linux", "config": {"Env": ["PATH=/bin"]},
        "rootfs": {"type": "layers", "diff_ids": []}}"#;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("image.tar");
    std::fs::write(
        &path,
        docker_archive(config, &[tar_of(&base), tar_of(&top)]),
    )
    .unwrap();
    Some(Image { _dir: dir, path })
}

/// Starts `sleep 1000` from `image` and waits until its record has a pid.
fn start(image: &Image) -> Container {
    let c = Container::sh(&["--image", image.path.to_str().unwrap()], "sleep 1000");
    assert!(
        common::wait_until(Duration::from_secs(10), || c
            .record()
            .is_some_and(|r| r["pid"].is_i64())),
        "no pid in the record of {}",
        c.id
    );
    c
}

fn layers(json: &serde_json::Value) -> &Vec<serde_json::Value> {
    json["layers"].as_array().expect("a layers list")
}

fn allocated(layer: &serde_json::Value) -> u64 {
    layer["size"]["allocated_bytes"]
        .as_u64()
        .unwrap_or_else(|| panic!("no size: {layer:#}"))
}

#[test]
#[ignore = "needs root"]
fn two_containers_of_one_image_share_its_layers_and_size_their_own() {
    let Some(image) = image() else {
        return;
    };
    let a = start(&image);
    let b = start(&image);

    let json = isotop_json(&["inspect", &a.id, "--json"]);
    let stack = layers(&json);
    assert_eq!(stack.len(), 3, "{stack:#?}");
    let writable = &stack[0];
    assert_eq!(
        writable["position"],
        serde_json::json!({"kind": "writable"})
    );
    let record = a.record().expect("record");
    assert_eq!(writable["dir"], record["upper"]);
    assert_eq!(writable["owner"]["store"], "isotop");
    assert_eq!(writable["owner"]["role"], "writable");
    assert_eq!(writable["owner"]["container"]["id"], a.id.as_str());
    assert_eq!(writable["shared_with"], serde_json::json!([]));
    for (n, lower) in stack[1..].iter().enumerate() {
        assert_eq!(
            lower["position"],
            serde_json::json!({"kind": "lower", "n": n + 1})
        );
        assert_eq!(lower["owner"]["store"], "isotop", "{lower:#}");
        assert_eq!(lower["owner"]["role"], "image", "{lower:#}");
        let others = lower["shared_with"].as_array().expect("shared_with");
        assert!(
            others.iter().any(|o| o == b.id.as_str()),
            "lower {} not shared with {}: {lower:#}",
            n + 1,
            b.id
        );
        assert!(!others.iter().any(|o| o == a.id.as_str()), "{lower:#}");
    }
    // The marker layer is this test's alone: exactly the other container holds it too.
    assert_eq!(stack[1]["shared_with"], serde_json::json!([b.id]));
    let b_json = isotop_json(&["inspect", &b.id, "--json"]);
    assert_eq!(layers(&b_json)[1]["shared_with"], serde_json::json!([a.id]));
    assert_ne!(layers(&b_json)[0]["dir"], writable["dir"]);

    // Sizes: each layer as du counts it.
    let upper = PathBuf::from(record["upper"].as_str().expect("upper"));
    let sized = isotop_json(&["inspect", &a.id, "--json", "--size"]);
    for layer in layers(&sized) {
        let dir = Path::new(layer["dir"].as_str().expect("dir"));
        assert_eq!(allocated(layer), du_bytes(dir), "{layer:#}");
    }
    let before = allocated(&layers(&sized)[0]);

    // The container writes 2 MB: its writable layer grows by that much.
    let wrote = isotop_out(&[
        "enter",
        &a.id,
        "--",
        "sh",
        "-c",
        "head -c 2000000 /dev/zero > /grown",
    ]);
    assert!(
        wrote.status.success(),
        "enter: {}",
        String::from_utf8_lossy(&wrote.stderr)
    );
    let grown = isotop_json(&["inspect", &a.id, "--json", "--size"]);
    let after = allocated(&layers(&grown)[0]);
    assert!(after >= before + 2_000_000, "{before} -> {after}");
    assert_eq!(after, du_bytes(&upper));
    let files = |json: &serde_json::Value| layers(json)[0]["size"]["files"].as_u64();
    assert_eq!(files(&grown), files(&sized).map(|n| n + 1));

    // ls --size: the same figure.
    let rows = isotop_json(&["ls", "--size", "--json", "--interval", "0"]);
    let row = rows
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["id"] == a.id.as_str())
        .expect("a's row");
    assert_eq!(
        row["writable_size"]["allocated_bytes"].as_u64(),
        Some(after)
    );
}

/// The directories `isotop ARGS` opened by path, from `strace -f`.
fn opened_by(args: &[&str]) -> String {
    let log = tempfile::NamedTempFile::new().unwrap();
    let status = Command::new("strace")
        .args(["-f", "-qq", "-e", "trace=open,openat", "-o"])
        .arg(log.path())
        .arg(env!("CARGO_BIN_EXE_isotop"))
        .args(args)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("strace runs");
    assert!(status.success(), "isotop {args:?} under strace");
    std::fs::read_to_string(log.path()).unwrap()
}

#[test]
#[ignore = "needs root"]
fn without_size_no_layer_is_opened() {
    if !require_program("strace") {
        return;
    }
    let Some(image) = image() else {
        return;
    };
    let c = start(&image);
    let record = c.record().expect("record");
    let upper = record["upper"].as_str().expect("upper").to_string();
    let opened = format!("\"{upper}\"");
    let plain = opened_by(&["inspect", &c.id, "--json"]);
    assert!(!plain.contains(&opened), "inspect opened {upper}:\n{plain}");
    let listed = opened_by(&["ls", "--json", "--interval", "0"]);
    assert!(!listed.contains(&opened), "ls opened {upper}");
    // The check can see it: with --size the walk opens it.
    let sized = opened_by(&["inspect", &c.id, "--json", "--size"]);
    assert!(
        sized.contains(&opened),
        "inspect --size did not open {upper}"
    );
    let ls_sized = opened_by(&["ls", "--size", "--json", "--interval", "0"]);
    assert!(ls_sized.contains(&opened), "ls --size did not open {upper}");
}
