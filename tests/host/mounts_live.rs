//! `host::mounts` on real roots: an overlay with several lower layers whose names hold spaces,
//! commas and colons (legacy `lowerdir=` and per-layer `lowerdir+=`/`datadir+=`), a
//! bind-mounted directory root, a tmpfs and a bind volume, a vanished pid and a zombie.

use std::path::{Path, PathBuf};

use isotop::host::HostRoot;
use isotop::host::mounts::{ContainerRoot, MountKind, read_container_root};

use crate::support::overlay_root::{AppendedRoot, LayerDirs, Rooted, fill_rootfs, overlay_escape};

fn read(pid: i32) -> ContainerRoot {
    read_container_root(&HostRoot::live(), pid)
        .expect("mountinfo readable")
        .expect("the process is alive")
}

const MOUNT_EXTRAS: &str = "mount -t tmpfs -o size=1m scratch \"$1/scratch\" && \
                            mount --bind \"$2\" \"$1/vol\"";

#[test]
#[ignore = "needs root"]
fn an_overlay_root_with_awkward_layer_names() {
    let layers = LayerDirs::create();
    let lower: Vec<PathBuf> = ["top layer", "mid,layer", "low:layer", "l4", "l5", "base"]
        .iter()
        .map(|name| layers.dir(name))
        .collect();
    fill_rootfs(&lower[5]);
    let (upper, work, merged) = (
        layers.dir("up per"),
        layers.dir("work"),
        layers.dir("merged"),
    );
    let volume = layers.dir("the volume");
    let list: Vec<String> = lower.iter().map(|p| overlay_escape(p)).collect();
    let options = format!(
        "lowerdir={},upperdir={},workdir={},index=on,redirect_dir=on,metacopy=on",
        list.join(":"),
        overlay_escape(&upper),
        overlay_escape(&work)
    );
    let script = format!("mount -t overlay isotop-ov -o \"$3\" \"$1\" && {MOUNT_EXTRAS}");
    let volume_arg = volume.to_str().expect("utf-8");
    let rooted = Rooted::start(&script, &merged, &[volume_arg, &options]);

    let c = read(rooted.pid());
    let root = c.root.as_ref().expect("a root mount");
    assert_eq!(root.mount.fs_type, "overlay");
    assert_eq!(root.mount.source.to_str(), Some("isotop-ov"));
    assert_eq!(root.mount.kind, MountKind::Union);
    assert_eq!(root.mount.propagation_mode, "private");
    // Mounted only inside the process's namespace: the host does not see it.
    assert_eq!(root.mount.host_path, None);
    let overlay = root.overlay.as_ref().expect("overlay layers");
    assert_eq!(overlay.lower, lower, "top first, names decoded");
    assert_eq!(overlay.upper.as_ref(), Some(&upper));
    assert_eq!(overlay.work.as_ref(), Some(&work));
    assert!(!overlay.appended_layers);
    assert_eq!(overlay.options.index, Some(true));
    assert_eq!(overlay.options.metacopy, Some(true));
    assert_eq!(overlay.options.redirect_dir.as_deref(), Some("on"));

    let scratch = c
        .mounts
        .iter()
        .find(|m| m.destination == Path::new("/scratch"))
        .unwrap_or_else(|| panic!("no /scratch in {:#?}", c.mounts));
    assert_eq!(
        (scratch.kind, scratch.fs_type.as_str()),
        (MountKind::Tmpfs, "tmpfs")
    );
    assert!(
        scratch.fs_options.iter().any(|o| o == "size=1024k"),
        "{scratch:?}"
    );
    let vol = c
        .mounts
        .iter()
        .find(|m| m.destination == Path::new("/vol"))
        .unwrap_or_else(|| panic!("no /vol in {:#?}", c.mounts));
    assert_eq!(vol.kind, MountKind::Bind);
    assert_eq!(vol.host_path.as_ref(), Some(&volume), "{vol:?}");
    // mountinfo's root is the path within the bound directory's own file system: the whole
    // path where /tmp is on /, its tail where /tmp is a file system of its own (a tmpfs).
    assert!(
        volume.ends_with(vol.fs_root.strip_prefix("/").unwrap_or(&vol.fs_root)),
        "{vol:?}"
    );
}

/// Kernel ≥ 6.8: layers one per option, taken verbatim (`AppendedRoot`).
#[test]
#[ignore = "needs root"]
fn an_overlay_root_from_appended_and_data_only_layers() {
    let layers = LayerDirs::create();
    let Some(appended) = AppendedRoot::start(&layers) else {
        return;
    };
    let c = read(appended.rooted.pid());
    let overlay = c
        .root
        .as_ref()
        .and_then(|r| r.overlay.as_ref())
        .expect("an overlay root");
    assert!(overlay.appended_layers);
    assert_eq!(overlay.lower, appended.lower);
    assert_eq!(overlay.data_only, appended.data);
    assert_eq!(overlay.upper.as_ref(), Some(&appended.upper));
    assert!(overlay.options.volatile);
}

/// A runc-bundle or LXC-style root: a host directory bind-mounted on itself, then entered.
#[test]
#[ignore = "needs root"]
fn a_bind_mounted_directory_root_shows_its_host_path() {
    let layers = LayerDirs::create();
    let rootfs = layers.dir("root fs, bound");
    fill_rootfs(&rootfs);
    let rooted = Rooted::start("mount --bind \"$1\" \"$1\"", &rootfs, &[]);
    let c = read(rooted.pid());
    let root = c.root.as_ref().expect("a root mount");
    assert_eq!(root.mount.kind, MountKind::Bind);
    assert!(root.overlay.is_none());
    // The path within its file system (all of it where /tmp is on /); the host path is whole.
    let fs_root = &root.mount.fs_root;
    assert!(
        rootfs.ends_with(fs_root.strip_prefix("/").unwrap_or(fs_root)),
        "{fs_root:?}"
    );
    assert_eq!(root.mount.host_path.as_ref(), Some(&rootfs));
    assert!(c.notes.is_empty(), "{:?}", c.notes);
}

#[test]
#[ignore = "needs root"]
fn a_vanished_pid_and_a_zombie_are_none() {
    let mut child = std::process::Command::new("sleep")
        .arg("1000")
        .spawn()
        .expect("sleep");
    let pid = child.id() as i32;
    assert!(
        read_container_root(&HostRoot::live(), pid)
            .expect("read")
            .is_some()
    );
    child.kill().expect("kill");
    // Killed but not reaped: a zombie has no mount namespace (EINVAL).
    let zombie = crate::support::common::wait_until(std::time::Duration::from_secs(5), || {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
            s.rsplit(')')
                .next()
                .is_some_and(|r| r.trim_start().starts_with('Z'))
        })
    });
    assert!(zombie, "{pid} became a zombie");
    assert_eq!(
        read_container_root(&HostRoot::live(), pid).expect("no error"),
        None
    );
    child.wait().expect("reap");
    assert_eq!(
        read_container_root(&HostRoot::live(), pid).expect("no error"),
        None
    );
}
