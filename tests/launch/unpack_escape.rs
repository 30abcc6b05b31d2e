//! Hostile layer tars against what the unpacker may touch (issue 9): a directory's deferred
//! mode, owner and mtime must never land on a host file through a symlink that replaced the
//! directory or one of its parents, nor on whatever later replaced the directory; hard links,
//! whiteouts, opaque markers and device nodes never act through a symlink; an owner id past
//! 32 bits is refused, not wrapped to root. Every test checks the host files around it (mode,
//! owner, mtime, content, link count) are unchanged. Run as root (owners, whiteouts and
//! device nodes need it); skipped, saying so, otherwise.

use crate::support::archives;

use std::fs;
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use archives::{MTIME, Raw, assert_cache_clean, raw_tar};
use isotop::launch::image::unpack::{Privileges, UnpackLimits, UnpackReport, unpack_layer};
use isotop::launch::{ImageError, ImageSource, LayerCache};

/// Modification time of the host files the attacks aim at (not [`MTIME`], not "now").
const HOST_MTIME: i64 = 1_234_567_890;

/// Everything about a host path an attack could change.
#[derive(Debug, PartialEq, Eq)]
struct Snapshot {
    path: PathBuf,
    mode: u32,
    uid: u32,
    gid: u32,
    mtime: i64,
    nlink: u64,
    content: Option<Vec<u8>>,
}

fn snapshot(path: &Path) -> Snapshot {
    let meta = fs::symlink_metadata(path).unwrap();
    Snapshot {
        path: path.to_path_buf(),
        mode: meta.mode(),
        uid: meta.uid(),
        gid: meta.gid(),
        mtime: meta.mtime(),
        nlink: meta.nlink(),
        content: meta.is_file().then(|| fs::read(path).unwrap()),
    }
}

/// Host files outside any layer: `victim` (0644, root, [`HOST_MTIME`]) and `dir/b/f` under
/// `dir/b` (0755), in a fresh directory of their own.
struct Host {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl Host {
    fn new() -> Host {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        fs::create_dir_all(root.join("dir/b")).unwrap();
        fs::write(root.join("victim"), b"host data").unwrap();
        fs::write(root.join("dir/b/f"), b"host file").unwrap();
        for (path, mode) in [("victim", 0o644), ("dir/b/f", 0o644), ("dir/b", 0o755)] {
            let path = root.join(path);
            fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(mode)).unwrap();
            let when = filetime(HOST_MTIME);
            rustix::fs::utimensat(rustix::fs::CWD, &path, &when, rustix::fs::AtFlags::empty())
                .unwrap();
        }
        Host { _dir: dir, root }
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.root.join(relative)
    }

    fn snapshots(&self) -> Vec<Snapshot> {
        ["victim", "dir", "dir/b", "dir/b/f"]
            .iter()
            .map(|p| snapshot(&self.path(p)))
            .collect()
    }
}

fn filetime(secs: i64) -> rustix::fs::Timestamps {
    let when = rustix::fs::Timespec {
        tv_sec: secs,
        tv_nsec: 0,
    };
    rustix::fs::Timestamps {
        last_access: when,
        last_modification: when,
    }
}

/// Unpacks `tar` as a rootfs tarball into a fresh cache under `work`.
fn prepare(work: &Path, tar: &[u8]) -> Result<Vec<PathBuf>, ImageError> {
    let path = work.join("layer.tar");
    fs::write(&path, tar).unwrap();
    LayerCache::new(work.join("cache"))
        .prepare(&ImageSource::RootfsTarball(path.into()))
        .map(|image| image.layers)
}

/// Unpacks `stream` straight into a fresh directory within `limits`.
fn unpack(
    stream: impl Read,
    limits: UnpackLimits,
) -> (tempfile::TempDir, Result<UnpackReport, ImageError>) {
    let dest = tempfile::tempdir().unwrap();
    let result = unpack_layer(
        stream,
        dest.path(),
        "test layer",
        Privileges::current(),
        limits,
    );
    (dest, result)
}

fn mode_of(path: &Path) -> u32 {
    fs::symlink_metadata(path).unwrap().mode() & 0o7777
}

#[test]
#[ignore = "needs root"]
fn a_directory_mode_never_lands_on_the_host_file_a_later_symlink_names() {
    let host = Host::new();
    let before = host.snapshots();
    let victim = host.path("victim");
    let work = tempfile::tempdir().unwrap();
    let tar = raw_tar(&[
        Raw::dir("x/").mode(0o6777).owner(4242, 4242).mtime(1000),
        Raw::symlink("x", victim.to_str().unwrap()),
    ]);
    let layers = prepare(work.path(), &tar).expect("the symlink stays inside the layer");
    assert_eq!(host.snapshots(), before, "a host file was changed");
    assert_eq!(fs::read_link(layers[0].join("x")).unwrap(), victim);
}

#[test]
#[ignore = "needs root"]
fn directory_metadata_never_passes_through_a_parent_symlink() {
    let host = Host::new();
    let before = host.snapshots();
    let work = tempfile::tempdir().unwrap();
    let host_dir = host.path("dir");
    let tar = raw_tar(&[
        Raw::dir("a/"),
        Raw::dir("a/b/").mode(0o777).owner(4242, 4243).mtime(1000),
        Raw::file("a/b/f", b"layer").owner(4242, 4243).mtime(1000),
        Raw::symlink("a", host_dir.to_str().unwrap()),
    ]);
    let result = prepare(work.path(), &tar);
    assert_eq!(
        host.snapshots(),
        before,
        "chowned, chmodded or re-dated host files"
    );
    let layers = result.expect("the symlink stays inside the layer");
    assert_eq!(fs::read_link(layers[0].join("a")).unwrap(), host_dir);
}

/// Unpacks `tar` (as root) and returns the layer directory, kept alive with `work`.
fn unpack_layer_as_root(work: &tempfile::TempDir, tar: &[u8]) -> PathBuf {
    let layers = prepare(work.path(), tar).expect("a valid layer");
    layers[0].clone()
}

/// (mode, uid, mtime) of `path`, not following a symlink.
fn owner_mode_mtime(path: &Path) -> (u32, u32, i64) {
    let meta = fs::symlink_metadata(path).unwrap();
    (meta.mode() & 0o7777, meta.uid(), meta.mtime())
}

#[test]
#[ignore = "needs root"]
fn a_file_replacing_a_directory_does_not_inherit_its_metadata() {
    let work = tempfile::tempdir().unwrap();
    let layer = unpack_layer_as_root(
        &work,
        &raw_tar(&[
            Raw::dir("d/").mode(0o4777).owner(4242, 4242).mtime(1000),
            Raw::file("d", b"file").mode(0o644),
        ]),
    );
    assert!(fs::symlink_metadata(layer.join("d")).unwrap().is_file());
    assert_eq!(
        owner_mode_mtime(&layer.join("d")),
        (0o644, 0, MTIME as i64),
        "the file got the replaced directory's metadata"
    );
}

#[test]
#[ignore = "needs root"]
fn a_directory_listed_again_after_a_replacement_gets_the_last_metadata() {
    let work = tempfile::tempdir().unwrap();
    let layer = unpack_layer_as_root(
        &work,
        &raw_tar(&[
            Raw::dir("e/").mode(0o700).owner(77, 77).mtime(1000),
            Raw::file("e", b"file"),
            Raw::dir("e/").mode(0o755),
        ]),
    );
    assert!(fs::symlink_metadata(layer.join("e")).unwrap().is_dir());
    assert_eq!(
        owner_mode_mtime(&layer.join("e")),
        (0o755, 0, MTIME as i64),
        "the first, replaced directory's metadata won"
    );
}

#[test]
#[ignore = "needs root"]
fn a_hard_link_replacing_a_directory_leaves_the_linked_file_alone() {
    let work = tempfile::tempdir().unwrap();
    let layer = unpack_layer_as_root(
        &work,
        &raw_tar(&[
            Raw::file("src", b"linked").mode(0o644),
            Raw::dir("h/").mode(0o6777).owner(4242, 4242).mtime(1000),
            Raw::hard_link("h", "src"),
        ]),
    );
    assert_eq!(
        owner_mode_mtime(&layer.join("src")),
        (0o644, 0, MTIME as i64),
        "the linked file got the replaced directory's set-id mode"
    );
    assert_eq!(fs::symlink_metadata(layer.join("src")).unwrap().nlink(), 2);
}

#[test]
#[ignore = "needs root"]
fn a_whiteout_replacing_a_directory_tree_drops_the_trees_metadata() {
    let work = tempfile::tempdir().unwrap();
    let layer = unpack_layer_as_root(
        &work,
        &raw_tar(&[
            Raw::dir("p/").mode(0o755).mtime(1000),
            Raw::dir("p/q/").mode(0o777).mtime(1000),
            Raw::file(".wh.p", b""),
        ]),
    );
    let p = fs::symlink_metadata(layer.join("p")).unwrap();
    assert!(
        p.file_type().is_char_device() && p.rdev() == 0,
        "p is a whiteout"
    );
    assert_eq!(
        p.mode() & 0o7777,
        0,
        "the whiteout got the directory's mode"
    );
}

#[test]
#[ignore = "needs root"]
fn directories_get_their_metadata_even_when_read_only_and_written_into() {
    let work = tempfile::tempdir().unwrap();
    let tar = raw_tar(&[
        Raw::dir("ro/").mode(0o555).owner(4242, 4243).mtime(1000),
        Raw::dir("ro/sub/").mode(0o1777).mtime(2000),
        Raw::file("ro/sub/f", b"x").mode(0o4755).owner(4242, 4243),
    ]);
    let layers = prepare(work.path(), &tar).unwrap();
    let ro = fs::metadata(layers[0].join("ro")).unwrap();
    assert_eq!(
        (ro.mode() & 0o7777, ro.uid(), ro.gid(), ro.mtime()),
        (0o555, 4242, 4243, 1000)
    );
    let sub = fs::metadata(layers[0].join("ro/sub")).unwrap();
    assert_eq!((sub.mode() & 0o7777, sub.mtime()), (0o1777, 2000));
    let f = fs::metadata(layers[0].join("ro/sub/f")).unwrap();
    assert_eq!(
        (f.mode() & 0o7777, f.uid(), f.gid()),
        (0o4755, 4242, 4243),
        "set-id bits survive the chown"
    );
}

#[test]
#[ignore = "needs root"]
fn an_owner_id_past_32_bits_is_refused_not_wrapped_to_root() {
    let tar = raw_tar(&[Raw::file("f", b"x").pax("uid", b"4294967296")]);
    let (dest, result) = unpack(&tar[..], UnpackLimits::default());
    let error = result.expect_err("uid 2^32 would wrap to 0");
    assert!(matches!(error, ImageError::UnsafeEntry { .. }), "{error}");
    assert!(archives::names_in(dest.path()).is_empty());
}

#[test]
#[ignore = "needs root"]
fn a_hard_link_to_a_symlink_links_the_symlink_not_the_host_file() {
    let host = Host::new();
    let before = host.snapshots();
    let victim = host.path("victim");
    let work = tempfile::tempdir().unwrap();
    let tar = raw_tar(&[
        Raw::symlink("s", victim.to_str().unwrap()),
        Raw::hard_link("h", "s"),
        // Writing "into" the link replaces it; the host file is untouched.
        Raw::file("s", b"replaced").mode(0o6777),
    ]);
    let layers = prepare(work.path(), &tar).unwrap();
    assert_eq!(host.snapshots(), before);
    let h = fs::symlink_metadata(layers[0].join("h")).unwrap();
    assert!(h.file_type().is_symlink());
    assert_eq!(fs::read_link(layers[0].join("h")).unwrap(), victim);
    assert_eq!(fs::read(layers[0].join("s")).unwrap(), b"replaced");
}

#[test]
#[ignore = "needs root"]
fn whiteouts_and_opaque_markers_never_act_through_a_symlink() {
    let host = Host::new();
    let before = host.snapshots();
    let host_dir = host.path("dir");
    for marker in ["o/.wh..wh..opq", "o/.wh.b", "o/b/f"] {
        let work = tempfile::tempdir().unwrap();
        let tar = raw_tar(&[
            Raw::symlink("o", host_dir.to_str().unwrap()),
            Raw::file(marker, b""),
        ]);
        let error = prepare(work.path(), &tar).expect_err(marker);
        assert!(error.to_string().contains("symlink"), "{marker}: {error}");
        assert_cache_clean(&work.path().join("cache"));
    }
    assert_eq!(host.snapshots(), before);
    let mut value = [0u8; 8];
    assert!(rustix::fs::getxattr(&host_dir, "trusted.overlay.opaque", &mut value).is_err());
}

#[test]
#[ignore = "needs root"]
fn device_nodes_and_fifos_get_their_mode_owner_and_mtime() {
    let work = tempfile::tempdir().unwrap();
    let tar = raw_tar(&[
        Raw::new(tar::EntryType::Char, "dev/null")
            .device(1, 3)
            .mode(0o666)
            .owner(4242, 4243)
            .mtime(1000),
        Raw::new(tar::EntryType::Fifo, "run/fifo")
            .mode(0o620)
            .owner(4242, 4243)
            .mtime(2000),
    ]);
    let layers = prepare(work.path(), &tar).unwrap();
    let null = fs::symlink_metadata(layers[0].join("dev/null")).unwrap();
    assert!(null.file_type().is_char_device());
    assert_eq!(null.rdev(), rustix::fs::makedev(1, 3));
    assert_eq!(
        (null.mode() & 0o7777, null.uid(), null.gid(), null.mtime()),
        (0o666, 4242, 4243, 1000)
    );
    let fifo = fs::symlink_metadata(layers[0].join("run/fifo")).unwrap();
    assert!(fifo.file_type().is_fifo());
    assert_eq!(
        (
            mode_of(&layers[0].join("run/fifo")),
            fifo.uid(),
            fifo.mtime()
        ),
        (0o620, 4242, 2000)
    );
}
