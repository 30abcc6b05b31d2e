//! The root and mounts of a fixture process: the `/` mount found, bind roots and volumes
//! resolved to host paths through the fixture's `self/mountinfo`, vanished and odd input.

use std::fs;

use super::*;

fn entries(text: &str) -> Vec<MountEntry> {
    parse_mountinfo(text.as_bytes()).entries
}

const HOST: &str = "\
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw
182 27 254:0 /run/netns /run/netns rw,relatime shared:1 - ext4 /dev/vda rw
190 27 254:0 /srv/data /data rw,relatime - ext4 /dev/vda rw
200 27 0:55 / /var/lib/docker/overlay2/abc/merged rw - overlay overlay rw,lowerdir=/l,upperdir=/u,workdir=/w
";

/// A runc container: its rootfs dir bind-mounted and pivoted to, a volume, tmpfs, /dev/shm.
const RUNC: &str = "\
300 299 254:0 /tmp/bundle\\040x/rootfs / rw,relatime master:1 - ext4 /dev/vda rw
301 300 0:60 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw
302 300 0:61 / /dev rw,nosuid - tmpfs tmpfs rw,size=65536k,mode=755
303 302 0:62 / /dev/shm rw,nosuid,nodev,noexec,relatime - tmpfs shm rw,size=65536k
304 300 254:0 /srv/data/vol /vol ro,relatime - ext4 /dev/vda rw
305 300 0:70 / /scratch rw - tmpfs tmpfs rw,size=1024k
";

#[test]
fn host_paths_by_device_and_longest_root_prefix() {
    let host = entries(HOST);
    let vda = Device {
        major: 254,
        minor: 0,
    };
    assert_eq!(
        host_path_of(&host, vda, Path::new("/tmp/b/rootfs")),
        Some(PathBuf::from("/tmp/b/rootfs"))
    );
    // Under the host's bind of /srv/data at /data: the longer root wins.
    assert_eq!(
        host_path_of(&host, vda, Path::new("/srv/data/vol")),
        Some(PathBuf::from("/data/vol"))
    );
    assert_eq!(
        host_path_of(&host, vda, Path::new("/run/netns")),
        Some(PathBuf::from("/run/netns"))
    );
    // Docker's overlay: the same anonymous device is mounted on the host at `merged`.
    let overlay = Device {
        major: 0,
        minor: 55,
    };
    assert_eq!(
        host_path_of(&host, overlay, Path::new("/")),
        Some(PathBuf::from("/var/lib/docker/overlay2/abc/merged"))
    );
    assert_eq!(
        host_path_of(
            &host,
            Device {
                major: 0,
                minor: 99
            },
            Path::new("/")
        ),
        None
    );
    // `/srv/database` is not under `/srv/data`: components, not string prefixes.
    assert_eq!(
        host_path_of(&host, vda, Path::new("/srv/database")),
        Some(PathBuf::from("/srv/database"))
    );
}

#[test]
fn the_root_is_the_top_mount_at_slash() {
    let stacked = entries(
        "10 1 8:1 / / rw - ext4 /dev/sda rw\n\
         11 10 0:5 / /proc rw - proc proc rw\n\
         12 10 0:6 / / rw - tmpfs over rw\n",
    );
    assert_eq!(root_mount_index(&stacked), Some(2));
    // Listed out of order: the one on top is still the one no other `/` sits on.
    let reordered = entries(
        "12 10 0:6 / / rw - tmpfs over rw\n\
         10 1 8:1 / / rw - ext4 /dev/sda rw\n",
    );
    assert_eq!(root_mount_index(&reordered), Some(0));
    let chroot = entries("11 10 0:5 / /proc rw - proc proc rw\n");
    assert_eq!(root_mount_index(&chroot), None);
}

fn fixture(pid_mountinfo: &str) -> (tempfile::TempDir, HostRoot) {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = HostRoot::under(dir.path());
    for (pid, text) in [("self", HOST), ("300", pid_mountinfo)] {
        let d = root.proc.join(pid);
        fs::create_dir_all(&d).expect("proc dir");
        fs::write(d.join("mountinfo"), text).expect("mountinfo");
    }
    (dir, root)
}

#[test]
fn a_bind_mounted_root_and_its_volumes() {
    let (_dir, root) = fixture(RUNC);
    let c = read_container_root(&root, 300)
        .expect("read")
        .expect("present");
    assert_eq!(c.source, root.proc.join("300/mountinfo"));
    let rootfs = c.root.expect("a root");
    assert_eq!(rootfs.mount.fs_type, "ext4");
    assert_eq!(rootfs.mount.kind, MountKind::Bind);
    assert_eq!(rootfs.mount.fs_root, PathBuf::from("/tmp/bundle x/rootfs"));
    assert_eq!(
        rootfs.mount.host_path,
        Some(PathBuf::from("/tmp/bundle x/rootfs"))
    );
    assert_eq!(rootfs.mount.propagation_mode, "slave");
    assert!(rootfs.overlay.is_none());
    let by_dest = |d: &str| {
        c.mounts
            .iter()
            .find(|m| m.destination == Path::new(d))
            .unwrap_or_else(|| panic!("no {d} in {:?}", c.mounts))
    };
    assert_eq!(by_dest("/proc").kind, MountKind::Kernel);
    let shm = by_dest("/dev/shm");
    assert_eq!(
        (shm.kind, shm.source.to_str()),
        (MountKind::Tmpfs, Some("shm"))
    );
    assert_eq!(shm.fs_options, vec!["rw", "size=65536k"]);
    let vol = by_dest("/vol");
    assert_eq!(vol.kind, MountKind::Bind);
    assert!(vol.read_only);
    assert_eq!(vol.host_path, Some(PathBuf::from("/data/vol")));
    assert_eq!(by_dest("/scratch").host_path, None);
    assert_eq!(c.mounts.len(), 5);
    assert!(c.notes.is_empty(), "{:?}", c.notes);
    let json = serde_json::to_value(&rootfs.mount).expect("json");
    assert_eq!(json["host_path"], "/tmp/bundle x/rootfs");
}

#[test]
fn an_overlay_root_has_its_layers() {
    let (_dir, root) = fixture(
        "400 399 0:55 / / rw,relatime - overlay overlay rw,lowerdir=/l1:/l2,upperdir=/u,workdir=/w\n\
         garbage line\n",
    );
    let c = read_container_root(&root, 300)
        .expect("read")
        .expect("present");
    let rootfs = c.root.expect("a root");
    assert_eq!(rootfs.mount.kind, MountKind::Union);
    assert!(rootfs.mount.fs_options.is_empty());
    let overlay = rootfs.overlay.expect("overlay");
    assert_eq!(
        overlay.lower,
        vec![PathBuf::from("/l1"), PathBuf::from("/l2")]
    );
    assert_eq!(overlay.upper, Some(PathBuf::from("/u")));
    assert_eq!(
        rootfs.mount.host_path,
        Some(PathBuf::from("/var/lib/docker/overlay2/abc/merged"))
    );
    assert_eq!(c.notes.len(), 1, "the garbage line is noted: {:?}", c.notes);
}

#[test]
fn vanished_chrooted_and_unreadable() {
    let (_dir, root) = fixture("11 10 0:5 / /proc rw - proc proc rw\n");
    assert_eq!(read_container_root(&root, 999).expect("no error"), None);
    let c = read_container_root(&root, 300)
        .expect("read")
        .expect("present");
    assert!(c.root.is_none());
    assert!(
        c.notes.iter().any(|n| n.contains("chroot")),
        "{:?}",
        c.notes
    );
    // A mountinfo that cannot be read (a directory here; EACCES on a live host) is an error
    // naming the file, for the caller to show as a note.
    fs::create_dir_all(root.proc.join("301/mountinfo")).expect("dir");
    let err = read_container_root(&root, 301).expect_err("unreadable");
    assert!(err.to_string().contains("301/mountinfo"), "{err}");
    // No host mountinfo: the mounts are still read, without host paths.
    fs::remove_file(root.proc.join("self/mountinfo")).expect("rm");
    let c = read_container_root(&root, 300)
        .expect("read")
        .expect("present");
    assert!(
        c.notes.iter().any(|n| n.contains("no host paths")),
        "{:?}",
        c.notes
    );
}
