//! The layers of real runc and crun containers through the subcommands (root): on an overlay
//! root, `inspect --json` lists the writable layer and the lower layers top first and
//! `--size` sizes each as `du` does, without a progress line when stderr is not a terminal;
//! `ls --size` shows the writable layer's size (RW SIZE, `writable_size`), `ls` without it
//! none. On a bind-mounted bundle root (not overlay) there are no layers, and the text says
//! why.

use std::path::{Path, PathBuf};

use crate::mounts_oci::{OverlayOnRootfs, overlay_rootfs, ready};
use crate::support::bundle::OciRun;
use crate::support::common::{self, du_bytes, isotop_json, run_isotop};
use crate::support::overlay_root::LayerDirs;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `isotop ls ARGS --json`'s row of container `id`.
fn ls_row(id: &str, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["ls", "--json", "--interval", "0"];
    all.extend_from_slice(args);
    let rows = isotop_json(&all);
    rows.as_array()
        .expect("a list")
        .iter()
        .find(|r| r["id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("no {id} in {rows:#}"))
}

fn sized_layers_of(tool: &'static str) {
    let layers = LayerDirs::create();
    let mut mounted = OverlayOnRootfs(None);
    let mut lower = Vec::new();
    let run = OciRun::start_prepared(tool, &common::unique_name(tool), |rootfs| {
        lower = overlay_rootfs(rootfs, &layers);
        mounted.0 = Some(rootfs.to_path_buf());
    });
    let upper = layers.tmp.path().join("upper");
    let mut expected: Vec<(serde_json::Value, PathBuf)> =
        vec![(serde_json::json!({"kind": "writable"}), upper.clone())];
    expected.extend(
        lower
            .iter()
            .enumerate()
            .map(|(n, d)| (serde_json::json!({"kind": "lower", "n": n + 1}), d.clone())),
    );

    // Without --size: the stack, no sizes.
    let json = isotop_json(&["inspect", &run.id, "--json"]);
    let listed = json["layers"].as_array().expect("a layers list");
    let got: Vec<(serde_json::Value, PathBuf)> = listed
        .iter()
        .map(|l| {
            (
                l["position"].clone(),
                PathBuf::from(l["dir"].as_str().expect("a dir")),
            )
        })
        .collect();
    assert_eq!(got, expected, "{listed:#?}");
    for layer in listed {
        assert_eq!(layer["size"], serde_json::Value::Null);
        assert_eq!(layer["size_error"], serde_json::Value::Null);
        // Test dirs under /tmp are no store's layers; no other container holds them.
        assert_eq!(layer["owner"], serde_json::Value::Null);
        assert_eq!(layer["shared_with"], serde_json::json!([]));
    }
    assert_eq!(json["layer_notes"], serde_json::json!([]));
    // The root's fields are as before the layers came.
    assert_eq!(
        json["root"]["overlay"]["upper"],
        upper.display().to_string()
    );

    // With --size: each layer's bytes as du counts them; stderr (a pipe) gets no progress.
    let out = run_isotop(&["inspect", &run.id, "--json", "--size"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        !text(&out.stderr).contains("sizing"),
        "{}",
        text(&out.stderr)
    );
    let sized: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    for (layer, (_, dir)) in sized["layers"]
        .as_array()
        .expect("layers")
        .iter()
        .zip(&expected)
    {
        assert_eq!(layer["size_error"], serde_json::Value::Null, "{layer:#}");
        assert_eq!(
            layer["size"]["allocated_bytes"].as_u64(),
            Some(du_bytes(dir)),
            "{}: {layer:#}",
            dir.display()
        );
        assert!(layer["size"]["dirs"].as_u64() >= Some(1), "{layer:#}");
    }
    let base_files = sized["layers"][2]["size"]["files"].as_u64();
    // busybox and its applets.
    assert!(base_files >= Some(5), "{base_files:?}");

    let shown = run_isotop(&["inspect", &run.id, "--size"]);
    let shown_text = text(&shown.stdout);
    assert!(
        shown_text.contains("Layers         top to bottom (2 read-only, 1 writable)"),
        "{shown_text}"
    );
    assert!(
        shown_text.contains(&format!("  writable     {}\n", upper.display())),
        "{shown_text}"
    );
    assert!(
        shown_text.contains("no known store's layer   "),
        "{shown_text}"
    );

    // ls: RW SIZE only when asked.
    assert_eq!(
        ls_row(&run.id, &[])["writable_size"],
        serde_json::Value::Null
    );
    let row = ls_row(&run.id, &["--size"]);
    assert_eq!(
        row["writable_size"]["allocated_bytes"].as_u64(),
        Some(du_bytes(&upper)),
        "{row:#}"
    );
    let table = run_isotop(&["ls", "--size", "--interval", "0"]);
    let table = text(&table.stdout);
    let header = table.lines().next().unwrap_or_default();
    assert!(header.trim_end().ends_with("RW SIZE"), "{table}");
    drop(run);
}

#[test]
#[ignore = "needs root"]
fn a_runc_container_on_an_overlay_root_has_sized_layers() {
    if ready("runc") {
        sized_layers_of("runc");
    }
}

#[test]
#[ignore = "needs root"]
fn a_crun_container_on_an_overlay_root_has_sized_layers() {
    if ready("crun") {
        sized_layers_of("crun");
    }
}

/// A bundle dir bind-mounted as the root: no layers, the text says why, no RW SIZE.
#[test]
#[ignore = "needs root"]
fn a_root_that_is_not_overlay_has_no_layers_and_says_why() {
    if !ready("runc") {
        return;
    }
    let run = OciRun::start("runc");
    let json = isotop_json(&["inspect", &run.id, "--json", "--size"]);
    assert_eq!(json["layers"], serde_json::json!([]));
    let notes = json["layer_notes"].as_array().expect("notes");
    assert!(
        notes
            .iter()
            .any(|n| n.as_str().is_some_and(|n| n.contains("not overlay"))),
        "{notes:?}"
    );
    let out = run_isotop(&["inspect", &run.id]);
    let shown = text(&out.stdout);
    assert!(shown.contains("Layers         none\n"), "{shown}");
    assert!(shown.contains("not overlay: no layers"), "{shown}");
    let row = ls_row(&run.id, &["--size"]);
    assert_eq!(row["writable_size"], serde_json::Value::Null, "{row:#}");
    let table = run_isotop(&["ls", "--size", "--interval", "0"]);
    let table = text(&table.stdout);
    let line = table
        .lines()
        .find(|l| l.split_whitespace().any(|word| word == run.id))
        .unwrap_or_else(|| panic!("no row of {} in {table}", run.id));
    assert!(line.trim_end().ends_with(" -"), "{line}");
    assert!(Path::new(&run.bundle).is_dir());
}
