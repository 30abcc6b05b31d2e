//! `host::stack::read_stack` on real overlay roots the tests mount (root): a long stack whose
//! layer names hold spaces, commas, colons and backslashes, read top to bottom with each
//! layer's position; and per-layer `lowerdir+=`/`datadir+=` options (kernel ≥ 6.8), the
//! data-only layers last.

use std::path::{Path, PathBuf};

use isotop::host::HostRoot;
use isotop::host::layers::LayerOwners;
use isotop::host::runtime::Runtime;
use isotop::host::stack::{ContainerStack, LayerPosition, read_stack};

use crate::support::common;
use crate::support::overlay_root::{LayerDirs, Rooted, fill_rootfs};

/// Overlay's own escaping for a `lowerdir=` list: `\`, `:` and `,` quoted with `\`.
fn overlay_escape(path: &Path) -> String {
    let text = path.to_str().expect("test paths are UTF-8");
    let mut out = String::new();
    for c in text.chars() {
        if matches!(c, '\\' | ':' | ',') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn read_live(pid: i32, runtime: Runtime) -> ContainerStack {
    let root = HostRoot::live();
    read_stack(&root, pid, runtime, &mut LayerOwners::new(&root))
        .expect("mountinfo readable")
        .expect("the process is alive")
}

/// (position, dir) of each layer, top first.
fn positions(stack: &ContainerStack) -> Vec<(LayerPosition, PathBuf)> {
    stack
        .layers
        .iter()
        .map(|l| (l.position, l.dir.clone()))
        .collect()
}

#[test]
#[ignore = "needs root"]
fn a_long_stack_with_awkward_names_reads_top_to_bottom() {
    let layers = LayerDirs::create();
    let names = [
        "top, layer",
        "mid:layer",
        "back\\slash",
        "tab\tand space",
        "l5",
        "l6",
        "l7",
        "base",
    ];
    let lower: Vec<PathBuf> = names.iter().map(|n| layers.dir(n)).collect();
    fill_rootfs(&lower[7]);
    let (upper, work, merged) = (
        layers.dir("up per"),
        layers.dir("work"),
        layers.dir("merged"),
    );
    let list: Vec<String> = lower.iter().map(|p| overlay_escape(p)).collect();
    let options = format!(
        "lowerdir={},upperdir={},workdir={}",
        list.join(":"),
        overlay_escape(&upper),
        overlay_escape(&work)
    );
    let rooted = Rooted::start("mount -t overlay ov -o \"$2\" \"$1\"", &merged, &[&options]);

    let stack = read_live(rooted.pid(), Runtime::Unknown);
    let mut expected = vec![(LayerPosition::Writable, upper.clone())];
    expected.extend(
        lower
            .iter()
            .enumerate()
            .map(|(n, d)| (LayerPosition::Lower(n + 1), d.clone())),
    );
    assert_eq!(positions(&stack), expected);
    assert_eq!(stack.writable().map(|l| l.dir.clone()), Some(upper));
    for layer in &stack.layers {
        // No store's path: no owner, the dir is the layer's identity.
        assert_eq!(layer.owner, None, "{layer:?}");
        assert_eq!(layer.key(), layer.dir);
        assert!(layer.shared_with.is_empty());
    }
    // Absolute dirs: nothing was left unresolved.
    assert!(
        !stack.root.notes.iter().any(|n| n.contains("relative")),
        "{:?}",
        stack.root.notes
    );
    // The JSON carries the layers beside the flattened root.
    let json = serde_json::to_value(&stack).expect("serializes");
    assert_eq!(
        json["layers"][0]["position"],
        serde_json::json!({"kind": "writable"})
    );
    assert_eq!(
        json["layers"][4]["position"],
        serde_json::json!({"kind": "lower", "n": 4})
    );
    assert_eq!(
        json["layers"][4]["dir"],
        lower[3].display().to_string().replace('\t', "?")
    );
    assert_eq!(json["root"]["fs_type"], "overlay");
}

#[test]
#[ignore = "needs root"]
fn data_only_layers_come_after_the_lower_layers() {
    let layers = LayerDirs::create();
    let lower: Vec<PathBuf> = ["top: layer", "base layer"]
        .iter()
        .map(|n| layers.dir(n))
        .collect();
    fill_rootfs(&lower[1]);
    let data: Vec<PathBuf> = ["data one", "data:two"]
        .iter()
        .map(|n| layers.dir(n))
        .collect();
    let (upper, work, merged) = (
        layers.dir("upper"),
        layers.dir("work"),
        layers.dir("merged"),
    );
    let mut options: Vec<String> = lower
        .iter()
        .map(|p| format!("lowerdir+={}", p.display()))
        .collect();
    options.extend(data.iter().map(|p| format!("datadir+={}", p.display())));
    options.push(format!(
        "upperdir={},workdir={},redirect_dir=on,metacopy=on",
        upper.display(),
        work.display()
    ));
    let probe = std::process::Command::new("unshare")
        .args([
            "-m",
            "sh",
            "-c",
            "mount -t overlay o -o \"$1\" \"$2\"",
            "sh",
        ])
        .arg(format!(
            "lowerdir+={},datadir+={}",
            lower[1].display(),
            data[0].display()
        ))
        .arg(&merged)
        .output()
        .expect("unshare runs");
    if !probe.status.success() {
        eprintln!(
            "skipping {}: this kernel refuses lowerdir+/datadir+ (< 6.8?): {}",
            common::test_name(),
            String::from_utf8_lossy(&probe.stderr)
        );
        return;
    }
    let rooted = Rooted::start(
        "mount -t overlay o -o \"$2\" \"$1\"",
        &merged,
        &[&options.join(",")],
    );
    let stack = read_live(rooted.pid(), Runtime::Unknown);
    assert_eq!(
        positions(&stack),
        vec![
            (LayerPosition::Writable, upper),
            (LayerPosition::Lower(1), lower[0].clone()),
            (LayerPosition::Lower(2), lower[1].clone()),
            (LayerPosition::DataOnly(1), data[0].clone()),
            (LayerPosition::DataOnly(2), data[1].clone()),
        ]
    );
}

/// A root that is not overlay has no layers; its host path is the root's.
#[test]
#[ignore = "needs root"]
fn a_bind_root_has_no_layers() {
    let layers = LayerDirs::create();
    let rootfs = layers.dir("bound root");
    fill_rootfs(&rootfs);
    let rooted = Rooted::start("mount --bind \"$1\" \"$1\"", &rootfs, &[]);
    let stack = read_live(rooted.pid(), Runtime::Runc);
    assert!(stack.layers.is_empty(), "{:?}", stack.layers);
    assert!(stack.writable().is_none());
    let root = stack.root.root.as_ref().expect("a root mount");
    assert_eq!(root.mount.host_path.as_ref(), Some(&rootfs));
}
