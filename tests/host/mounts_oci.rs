//! The root of real OCI containers: runc and crun on an overlay root mounted in the host's
//! mount namespace (as Docker and containerd do) and a plain bundle dir, read by
//! `host::mounts` and shown by `isotop inspect` (JSON and text).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use isotop::host::HostRoot;
use isotop::host::mounts::{MountKind, read_container_root};

use crate::support::overlay_root::LayerDirs;
use crate::support::{bundle, common};

pub(crate) fn ready(tool: &str) -> bool {
    common::require_program(tool)
        && common::require_program("runc")
        && Path::new(bundle::BUSYBOX).is_file()
}

/// Unmounts the overlay on the bundle's rootfs, then removes the bundle dir the runtime's
/// drop could not (a busy mount point); declared before the container so it drops after.
pub(crate) struct OverlayOnRootfs(pub(crate) Option<PathBuf>);

impl Drop for OverlayOnRootfs {
    fn drop(&mut self) {
        if let Some(rootfs) = &self.0 {
            let _ = Command::new("umount").arg("-l").arg(rootfs).status();
            if let Some(bundle) = rootfs.parent() {
                let _ = fs::remove_dir_all(bundle);
            }
        }
    }
}

/// Moves the built rootfs into `base`, adds an empty `top, layer` above it and mounts the
/// overlay back on the rootfs dir, in the host's namespace.
pub(crate) fn overlay_rootfs(rootfs: &Path, layers: &LayerDirs) -> Vec<PathBuf> {
    let base = layers.tmp.path().join("base layer");
    fs::rename(rootfs, &base).expect("move the rootfs into a layer");
    fs::create_dir(rootfs).expect("empty rootfs dir");
    let top = layers.dir("top, layer");
    let (upper, work) = (layers.dir("upper"), layers.dir("work"));
    let escape = |p: &Path| p.display().to_string().replace(',', "\\,");
    let options = format!(
        "lowerdir={}:{},upperdir={},workdir={}",
        escape(&top),
        escape(&base),
        upper.display(),
        work.display()
    );
    let status = Command::new("mount")
        .args(["-t", "overlay", "isotop-test", "-o", &options])
        .arg(rootfs)
        .status()
        .expect("mount runs");
    assert!(status.success(), "overlay mount with {options}");
    vec![top, base]
}

fn overlay_root_of(tool: &'static str) {
    let layers = LayerDirs::create();
    let mut mounted = OverlayOnRootfs(None);
    let mut lower = Vec::new();
    let run = bundle::OciRun::start_prepared(tool, &common::unique_name(tool), |rootfs| {
        lower = overlay_rootfs(rootfs, &layers);
        mounted.0 = Some(rootfs.to_path_buf());
    });
    let rootfs = run.bundle.join("rootfs");

    let c = read_container_root(&HostRoot::live(), run.init_pid)
        .expect("readable")
        .expect("running");
    let root = c.root.as_ref().expect("a root mount");
    assert_eq!(root.mount.fs_type, "overlay");
    // Mounted in the host's namespace: the host sees the same superblock at the rootfs dir.
    assert_eq!(root.mount.host_path.as_ref(), Some(&rootfs));
    let overlay = root.overlay.as_ref().expect("layers");
    assert_eq!(overlay.lower, lower);
    assert_eq!(overlay.upper, Some(layers.tmp.path().join("upper")));
    assert_eq!(overlay.work, Some(layers.tmp.path().join("work")));
    let shm = c
        .mounts
        .iter()
        .find(|m| m.destination == Path::new("/dev/shm"))
        .unwrap_or_else(|| panic!("no /dev/shm in {:#?}", c.mounts));
    assert_eq!(shm.kind, MountKind::Tmpfs);
    assert!(c.mounts.iter().any(|m| m.destination == Path::new("/proc")));

    // The same through the subcommand.
    let json = common::isotop_json(&["inspect", &run.id, "--json"]);
    assert_eq!(json["root"]["fs_type"], "overlay", "{:#}", json["root"]);
    assert_eq!(json["root"]["host_path"], rootfs.display().to_string());
    let shown: Vec<String> = lower.iter().map(|p| p.display().to_string()).collect();
    assert_eq!(json["root"]["overlay"]["lower"], serde_json::json!(shown));
    let mounts = json["mounts"].as_array().expect("a mounts list");
    assert!(
        mounts
            .iter()
            .any(|m| m["destination"] == "/dev/shm" && m["kind"] == "tmpfs"),
        "{mounts:#?}"
    );
    assert_eq!(json["mount_notes"], serde_json::json!([]));
    let text = common::run_isotop(&["inspect", &run.id]);
    let text = String::from_utf8_lossy(&text.stdout);
    // `runc spec` makes the root read-only (`root.readonly`).
    assert_eq!(json["root"]["read_only"], true);
    let head = format!(
        "Root           overlay isotop-test  ro  host {}",
        rootfs.display()
    );
    assert!(text.contains(&head), "{text}");
    assert!(
        text.contains(&format!("lower 1      {}", shown[0])),
        "{text}"
    );
    assert!(text.contains("/dev/shm"), "{text}");
    drop(run);
}

#[test]
#[ignore = "needs root"]
fn a_runc_container_on_an_overlay_root() {
    if ready("runc") {
        overlay_root_of("runc");
    }
}

#[test]
#[ignore = "needs root"]
fn a_crun_container_on_an_overlay_root() {
    if ready("crun") {
        overlay_root_of("crun");
    }
}

/// runc's own way: the bundle's rootfs dir bind-mounted and pivoted to; the host path is it.
#[test]
#[ignore = "needs root"]
fn a_runc_bundle_root_shows_its_host_dir() {
    if !ready("runc") {
        return;
    }
    let run = bundle::OciRun::start("runc");
    let c = read_container_root(&HostRoot::live(), run.init_pid)
        .expect("readable")
        .expect("running");
    let root = c.root.as_ref().expect("a root mount");
    assert_eq!(root.mount.kind, MountKind::Bind);
    assert!(root.overlay.is_none());
    assert_eq!(root.mount.host_path, Some(run.bundle.join("rootfs")));
}
