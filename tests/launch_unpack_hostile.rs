//! Hostile layer tars against the unpacker's metadata, bounds and odd formats (issue 9): a
//! directory's deferred mode, owner and mtime must never land on a host file through a symlink
//! that replaced the directory or one of its parents, nor on whatever later replaced the
//! directory; GNU sparse members written by real GNU tar come back byte for byte with their
//! holes; the size and entry limits stop a layer with an error naming the limit; and names,
//! links and ids that no real image holds are refused. Every test checks the host files
//! around it (mode, owner, mtime, content, link count) are unchanged. Run as root (owners,
//! whiteouts and device nodes need it); skipped, saying so, otherwise.

mod common;
#[path = "launch_support/archives.rs"]
mod support;

use std::fs;
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use isotop::control::launch::unpack::{
    MAX_BYTES_ENV, MAX_ENTRIES_ENV, Privileges, UnpackLimits, UnpackReport, unpack_layer,
};
use isotop::control::launch::{ImageError, ImageSource, LayerCache};
use support::{MTIME, Raw, assert_cache_clean, gzip, raw_tar};

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
fn a_directory_mode_never_lands_on_the_host_file_a_later_symlink_names() {
    if !common::require_root("a_directory_mode_never_lands_on_the_host_file_a_later_symlink_names")
    {
        return;
    }
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
fn directory_metadata_never_passes_through_a_parent_symlink() {
    if !common::require_root("directory_metadata_never_passes_through_a_parent_symlink") {
        return;
    }
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
fn a_file_replacing_a_directory_does_not_inherit_its_metadata() {
    if !common::require_root("a_file_replacing_a_directory_does_not_inherit_its_metadata") {
        return;
    }
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
fn a_directory_listed_again_after_a_replacement_gets_the_last_metadata() {
    if !common::require_root("a_directory_listed_again_after_a_replacement_gets_the_last_metadata")
    {
        return;
    }
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
fn a_hard_link_replacing_a_directory_leaves_the_linked_file_alone() {
    if !common::require_root("a_hard_link_replacing_a_directory_leaves_the_linked_file_alone") {
        return;
    }
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
fn a_whiteout_replacing_a_directory_tree_drops_the_trees_metadata() {
    if !common::require_root("a_whiteout_replacing_a_directory_tree_drops_the_trees_metadata") {
        return;
    }
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
fn directories_get_their_metadata_even_when_read_only_and_written_into() {
    if !common::require_root("directories_get_their_metadata_even_when_read_only_and_written_into")
    {
        return;
    }
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

/// A sparse file: holes at the start, between and after three stretches of data.
fn sparse_source(dir: &Path) -> (PathBuf, Vec<u8>) {
    let path = dir.join("sparse.bin");
    let size = 8 * 1024 * 1024 + 123;
    let mut content = vec![0u8; size];
    for (at, len) in [(1 << 20, 4096), (5 << 20, 10_000), (size - 7, 7)] {
        for (i, byte) in content[at..at + len].iter_mut().enumerate() {
            *byte = (i % 251) as u8 + 1;
        }
    }
    let file = fs::File::create(&path).unwrap();
    file.set_len(size as u64).unwrap();
    for (at, len) in [(1 << 20, 4096), (5 << 20, 10_000), (size - 7, 7)] {
        std::os::unix::fs::FileExt::write_all_at(&file, &content[at..at + len], at as u64).unwrap();
    }
    assert!(
        file.metadata().unwrap().blocks() * 512 < size as u64 / 4,
        "the test file system keeps no holes"
    );
    (path, content)
}

fn gnu_tar(dir: &Path, out: &Path, args: &[&str], name: &str) {
    let status = Command::new("tar")
        .args(args)
        .arg("-cf")
        .arg(out)
        .arg("-C")
        .arg(dir)
        .arg(name)
        .status()
        .unwrap();
    assert!(status.success(), "tar {args:?} failed");
}

#[test]
fn gnu_sparse_members_come_back_byte_for_byte_with_their_holes() {
    if !common::require_root("gnu_sparse_members_come_back_byte_for_byte_with_their_holes")
        || !common::require_program("gnu_sparse_members_come_back_byte_for_byte", "tar")
    {
        return;
    }
    let source = tempfile::tempdir().unwrap();
    let (_, content) = sparse_source(source.path());
    for format in [
        &["--sparse"][..],
        &["--sparse", "--format=posix"],
        &["--sparse", "--format=posix", "--sparse-version=0.1"],
        &["--sparse", "--format=posix", "--sparse-version=0.0"],
    ] {
        let work = tempfile::tempdir().unwrap();
        let archive = work.path().join("sparse.tar");
        gnu_tar(source.path(), &archive, format, "sparse.bin");
        let layers = LayerCache::new(work.path().join("cache"))
            .prepare(&ImageSource::RootfsTarball(archive.into()))
            .unwrap_or_else(|e| panic!("tar {format:?}: {e}"))
            .layers;
        let unpacked = layers[0].join("sparse.bin");
        let got = fs::read(&unpacked)
            .unwrap_or_else(|e| panic!("tar {format:?}: sparse.bin not unpacked: {e}"));
        assert!(got == content, "tar {format:?}: content differs");
        let meta = fs::metadata(&unpacked).unwrap();
        assert!(
            meta.blocks() * 512 < meta.len() / 4,
            "tar {format:?}: holes filled ({} of {} bytes allocated)",
            meta.blocks() * 512,
            meta.len()
        );
        assert_eq!(names(&layers[0]), ["sparse.bin"], "tar {format:?}");
    }
}

fn names(dir: &Path) -> Vec<String> {
    let mut names = support::names_in(dir);
    names.sort();
    names
}

#[test]
fn a_sparse_file_of_a_terabyte_stops_at_the_size_limit() {
    if !common::require_root("a_sparse_file_of_a_terabyte_stops_at_the_size_limit")
        || !common::require_program("a_sparse_file_of_a_terabyte_stops_at_the_size_limit", "tar")
    {
        return;
    }
    let source = tempfile::tempdir().unwrap();
    let big = fs::File::create(source.path().join("big")).unwrap();
    big.set_len(1 << 40).unwrap();
    std::os::unix::fs::FileExt::write_all_at(&big, b"end", (1 << 40) - 3).unwrap();
    for format in [&["--sparse"][..], &["--sparse", "--format=posix"]] {
        let work = tempfile::tempdir().unwrap();
        let archive = work.path().join("bomb.tar");
        gnu_tar(source.path(), &archive, format, "big");
        assert!(fs::metadata(&archive).unwrap().len() < 1 << 20);
        let started = std::time::Instant::now();
        let error = LayerCache::new(work.path().join("cache"))
            .prepare(&ImageSource::RootfsTarball(archive.into()))
            .expect_err("a 1 TiB file is past the default 32 GiB");
        let message = error.to_string();
        assert!(
            matches!(error, ImageError::LimitExceeded { .. }),
            "tar {format:?}: {message}"
        );
        assert!(
            message.contains("32 GiB") && message.contains(MAX_BYTES_ENV),
            "{message}"
        );
        assert_cache_clean(&work.path().join("cache"));
        eprintln!("tar {format:?}: refused in {:?}", started.elapsed());
    }
}

#[test]
fn the_entry_limit_stops_the_unpack_and_says_how_to_raise_it() {
    let files: Vec<String> = (0..10).map(|i| format!("f{i}")).collect();
    let entries: Vec<Raw<'_>> = files.iter().map(|n| Raw::file(n, b"x")).collect();
    let tar = raw_tar(&entries);
    let limits = |max_entries| UnpackLimits {
        max_entries,
        ..UnpackLimits::default()
    };
    let (dest, result) = unpack(&tar[..], limits(9));
    let error = result.expect_err("10 entries are past a limit of 9");
    let message = error.to_string();
    assert!(
        matches!(error, ImageError::LimitExceeded { .. }),
        "{message}"
    );
    assert!(
        message.contains("entry limit of 9") && message.contains(MAX_ENTRIES_ENV),
        "{message}"
    );
    assert!(
        !dest.path().join("f9").exists(),
        "the entry past the limit was written"
    );
    let (_, result) = unpack(&tar[..], limits(10));
    assert_eq!(result.unwrap().entries, 10);
}

#[test]
fn the_size_limit_stops_a_large_file_before_it_is_written() {
    let big = vec![7u8; (2 << 20) + 1];
    let tar = raw_tar(&[Raw::file("small", b"ok"), Raw::file("big", &big)]);
    let limits = UnpackLimits {
        max_bytes: 2 << 20,
        ..UnpackLimits::default()
    };
    let (dest, result) = unpack(&tar[..], limits);
    let error = result.expect_err("2 MiB + 1 byte is past a 2 MiB limit");
    let message = error.to_string();
    assert!(
        matches!(error, ImageError::LimitExceeded { .. }),
        "{message}"
    );
    assert!(
        message.contains("size limit of 2 MiB") && message.contains(MAX_BYTES_ENV),
        "{message}"
    );
    assert!(message.contains("big"), "names the entry: {message}");
    assert!(
        !dest.path().join("big").exists(),
        "the file was written anyway"
    );
}

#[test]
fn the_size_limit_bounds_the_decompressed_stream_past_the_tar_end() {
    // A small valid layer, then 64 MiB of zeros after its end-of-archive blocks: gzip turns
    // them into a few KiB, so the blob is tiny and the unpack must still stop.
    let mut stream = raw_tar(&[Raw::file("f", b"data")]);
    stream.resize(stream.len() + (64 << 20), 0);
    let blob = gzip(&stream);
    assert!(blob.len() < 1 << 20);
    let limits = UnpackLimits {
        max_bytes: 16 << 20,
        ..UnpackLimits::default()
    };
    let (_dest, result) = unpack(flate2::read::MultiGzDecoder::new(&blob[..]), limits);
    let error = result.expect_err("64 MiB decompressed is past a 16 MiB limit");
    let message = error.to_string();
    assert!(
        matches!(error, ImageError::LimitExceeded { .. })
            && message.contains("decompresses to more than 16 MiB"),
        "{message}"
    );
}

#[test]
fn a_huge_long_name_is_refused_without_being_held_in_memory() {
    let name = vec![b'a'; 17 << 20];
    let tar = raw_tar(&[
        Raw::new(tar::EntryType::GNULongName, "././@LongLink").data(&name),
        Raw::file("short", b"x"),
    ]);
    let (_dest, result) = unpack(&tar[..], UnpackLimits::default());
    let error = result.expect_err("a 17 MiB name");
    let message = error.to_string();
    assert!(
        matches!(error, ImageError::Corrupt { .. }) && message.contains("16 MiB of headers"),
        "{message}"
    );
}

#[test]
fn names_no_real_image_holds_are_refused() {
    let long_component = "c".repeat(256);
    let deep = "d/".repeat(257) + "f";
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"nul\0inside".to_vec(), "NUL"),
        (long_component.into_bytes(), "NAME_MAX"),
        (deep.into_bytes(), "deep"),
        (b"../../escape".to_vec(), ".."),
    ];
    for (name, why) in cases {
        // Through a PAX `path` record, which overrides the header's own (harmless) name.
        let tar = raw_tar(&[Raw::file("innocent", b"x").pax("path", &name)]);
        let (dest, result) = unpack(&tar[..], UnpackLimits::default());
        let error = result.expect_err(why);
        let message = error.to_string();
        assert!(
            matches!(error, ImageError::UnsafeEntry { .. }) && message.contains(why),
            "{why}: {message}"
        );
        assert!(
            support::names_in(dest.path()).is_empty(),
            "{why}: wrote something"
        );
    }
}

#[test]
fn an_owner_id_past_32_bits_is_refused_not_wrapped_to_root() {
    if !common::require_root("an_owner_id_past_32_bits_is_refused_not_wrapped_to_root") {
        return;
    }
    let tar = raw_tar(&[Raw::file("f", b"x").pax("uid", b"4294967296")]);
    let (dest, result) = unpack(&tar[..], UnpackLimits::default());
    let error = result.expect_err("uid 2^32 would wrap to 0");
    assert!(matches!(error, ImageError::UnsafeEntry { .. }), "{error}");
    assert!(support::names_in(dest.path()).is_empty());
}

#[test]
fn a_hard_link_to_a_symlink_links_the_symlink_not_the_host_file() {
    if !common::require_root("a_hard_link_to_a_symlink_links_the_symlink_not_the_host_file") {
        return;
    }
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
fn whiteouts_and_opaque_markers_never_act_through_a_symlink() {
    if !common::require_root("whiteouts_and_opaque_markers_never_act_through_a_symlink") {
        return;
    }
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
fn device_nodes_and_fifos_get_their_mode_owner_and_mtime() {
    if !common::require_root("device_nodes_and_fifos_get_their_mode_owner_and_mtime") {
        return;
    }
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

/// A tar of one header-only entry of `kind` and `size` bytes of zeros (`magic` GNU or old
/// v7, which the tar reader does not merge into the next entry), then a small file.
fn metadata_entry_tar(kind: tar::EntryType, size: usize, gnu_magic: bool) -> Vec<u8> {
    let mut header = if gnu_magic {
        tar::Header::new_gnu()
    } else {
        tar::Header::new_old()
    };
    header.set_path("pax_global_header").unwrap();
    header.set_entry_type(kind);
    header.set_size(size as u64);
    header.set_mode(0o644);
    header.set_cksum();
    let mut builder = tar::Builder::new(Vec::new());
    builder.append(&header, &vec![0u8; size][..]).unwrap();
    let mut after = tar::Header::new_gnu();
    after.set_path("after").unwrap();
    after.set_size(1);
    after.set_mode(0o644);
    after.set_cksum();
    builder.append(&after, &b"x"[..]).unwrap();
    builder.into_inner().unwrap()
}

#[test]
fn a_pax_global_header_past_the_header_bound_is_refused_not_read_whole() {
    let over = (16 << 20) + 1;
    for (kind, gnu_magic) in [
        (tar::EntryType::XGlobalHeader, true),
        (tar::EntryType::XHeader, false),
        (tar::EntryType::GNULongName, false),
    ] {
        let (_dest, result) = unpack(
            &metadata_entry_tar(kind, over, gnu_magic)[..],
            UnpackLimits::default(),
        );
        let error = result.expect_err("a 16 MiB + 1 header entry");
        let message = error.to_string();
        assert!(
            matches!(error, ImageError::UnsafeEntry { .. })
                && message.contains("more than 16 MiB of headers"),
            "{kind:?}: {message}"
        );
    }
    // A real-sized global header is skipped and the layer unpacks.
    let (dest, result) = unpack(
        &metadata_entry_tar(tar::EntryType::XGlobalHeader, 52, true)[..],
        UnpackLimits::default(),
    );
    result.expect("a small global header");
    assert_eq!(fs::read(dest.path().join("after")).unwrap(), b"x");
}

#[test]
fn a_corrupt_header_is_reported_without_quoting_its_bytes() {
    // A header block holding a line of /etc/shadow, its checksum and mode fields not numbers.
    let secret = b"root:$6$SECRETSALT$hash:19000:0:99999:7:::";
    let mut block = [0u8; 512];
    block[..secret.len()].copy_from_slice(secret);
    block[148..156].copy_from_slice(b"SECRETSA");
    let mut stream = raw_tar(&[Raw::file("first", b"x")]);
    stream.truncate(1024);
    stream.extend_from_slice(&block);
    stream.extend_from_slice(&[0u8; 1024]);
    let (_dest, result) = unpack(&stream[..], UnpackLimits::default());
    let message = result.expect_err("a corrupt header").to_string();
    assert!(!message.contains("SECRET"), "{message}");
    assert!(message.contains("test layer is corrupt"), "{message}");
    // The same line as a mode field of a header whose checksum is right.
    let mut header = tar::Header::new_gnu();
    header.set_path("f").unwrap();
    header.set_size(0);
    header.as_old_mut().mode.copy_from_slice(b"SECRETS\0");
    header.set_cksum();
    let mut stream = header.as_bytes().to_vec();
    stream.extend_from_slice(&[0u8; 1024]);
    let (_dest, result) = unpack(&stream[..], UnpackLimits::default());
    let message = result.expect_err("a bad mode").to_string();
    assert!(!message.contains("SECRET"), "{message}");
}

#[test]
fn skipped_entries_are_counted_and_only_the_first_few_named() {
    let names: Vec<String> = (0..100).map(|i| format!("{}{i}", "z".repeat(90))).collect();
    let entries: Vec<Raw<'_>> = names
        .iter()
        .map(|name| Raw::new(tar::EntryType::new(b'Z'), name))
        .collect();
    let (_dest, result) = unpack(&raw_tar(&entries)[..], UnpackLimits::default());
    let report = result.expect("unknown entry types are skipped");
    assert_eq!(report.skipped.len(), 20, "{:?}", report.skipped);
    assert_eq!(report.skipped_total, 100);
    assert!(
        report.skipped[0].starts_with(&names[0]),
        "{:?}",
        report.skipped[0]
    );
}
