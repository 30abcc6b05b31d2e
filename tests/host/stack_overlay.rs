//! `host::stack::read_stack` on real overlay roots the tests mount (root): a long stack whose
//! layer names hold spaces, commas, colons and backslashes, read top to bottom with each
//! layer's position; and per-layer `lowerdir+=`/`datadir+=` options (kernel ≥ 6.8), the
//! data-only layers last.

use std::path::PathBuf;

use isotop::host::HostRoot;
use isotop::host::layers::LayerOwners;
use isotop::host::runtime::Runtime;
use isotop::host::stack::{ContainerStack, LayerPosition, read_stack};

use crate::support::overlay_root::{AppendedRoot, LayerDirs, Rooted, fill_rootfs, overlay_escape};
use crate::support::stores::{positions, top_first};

fn read_live(pid: i32, runtime: Runtime) -> ContainerStack {
    let root = HostRoot::live();
    read_stack(&root, pid, runtime, &mut LayerOwners::new(&root))
        .expect("mountinfo readable")
        .expect("the process is alive")
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
    assert_eq!(positions(&stack), top_first(Some(&upper), &lower));
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
    let Some(appended) = AppendedRoot::start(&layers) else {
        return;
    };
    let stack = read_live(appended.rooted.pid(), Runtime::Unknown);
    let mut expected = top_first(Some(&appended.upper), &appended.lower);
    expected.extend(
        appended
            .data
            .iter()
            .enumerate()
            .map(|(n, d)| (LayerPosition::DataOnly(n + 1), d.clone())),
    );
    assert_eq!(positions(&stack), expected);
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
