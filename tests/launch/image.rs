//! Image sources → layer cache, with archives built by the test: a rootfs directory, rootfs
//! tarballs (plain and gzipped), a two-layer docker-save archive with whiteouts stacked by a
//! real overlay mount (root), OCI layouts (directory and tar) with digest checks, cache hits,
//! and corrupt input leaving nothing in the cache.

use crate::support::archives;

use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use archives::{Item, assert_cache_clean, docker_archive, gzip, oci_layout, sha256_hex, tar_of};
use isotop::launch::{ImageError, ImageSource, LayerCache};

fn rootfs_tar() -> Vec<u8> {
    tar_of(&[
        Item::Dir("./"),
        Item::Dir("./etc/"),
        Item::FileMode("./etc/hostname", b"box\n", 0o640),
        Item::Dir("./usr/bin/"),
        Item::FileMode("./usr/bin/tool", b"#!/bin/sh\n", 0o755),
        Item::Symlink("./bin", "usr/bin"),
        Item::HardLink("./etc/hostname.link", "./etc/hostname"),
    ])
}

fn check_rootfs_layer(layer: &Path) {
    assert_eq!(fs::read(layer.join("etc/hostname")).unwrap(), b"box\n");
    let meta = fs::metadata(layer.join("etc/hostname")).unwrap();
    assert_eq!(meta.permissions().mode() & 0o7777, 0o640);
    assert_eq!(meta.mtime(), archives::MTIME as i64);
    let tool = fs::metadata(layer.join("usr/bin/tool")).unwrap();
    assert_eq!(tool.permissions().mode() & 0o7777, 0o755);
    assert_eq!(
        fs::read_link(layer.join("bin")).unwrap(),
        Path::new("usr/bin")
    );
    let link = fs::metadata(layer.join("etc/hostname.link")).unwrap();
    assert_eq!(link.ino(), meta.ino(), "the hard link shares the inode");
    assert_eq!(
        fs::metadata(layer.join("etc")).unwrap().mtime(),
        archives::MTIME as i64
    );
}

#[test]
fn directory_source_is_one_layer_used_as_is() {
    let image_dir = tempfile::tempdir().unwrap();
    fs::create_dir(image_dir.path().join("bin")).unwrap();
    fs::write(image_dir.path().join("bin/sh"), b"x").unwrap();
    let cache_dir = tempfile::tempdir().unwrap();
    let cache = LayerCache::new(cache_dir.path());
    let source = ImageSource::detect(image_dir.path()).unwrap();
    assert_eq!(
        source,
        ImageSource::RootfsDir(image_dir.path().to_path_buf().into())
    );
    let image = cache.prepare(&source).unwrap();
    assert_eq!(image.layers, vec![image_dir.path().to_path_buf()]);
    assert!(image.config.is_none());
    assert_cache_clean(cache_dir.path());
}

#[test]
fn rootfs_tarballs_plain_and_gzipped_unpack_by_digest() {
    let work = tempfile::tempdir().unwrap();
    let cache = LayerCache::new(work.path().join("cache"));
    let plain = rootfs_tar();
    let gzipped = gzip(&plain);
    for (name, bytes) in [("rootfs.tar", &plain), ("rootfs.tar.gz", &gzipped)] {
        let path = work.path().join(name);
        fs::write(&path, bytes).unwrap();
        let source = ImageSource::detect(&path).unwrap();
        assert_eq!(
            source,
            ImageSource::RootfsTarball(path.clone().into()),
            "{name}"
        );
        let image = cache.prepare(&source).unwrap();
        let expected = work.path().join("cache/sha256").join(sha256_hex(bytes));
        assert_eq!(
            image.layers,
            vec![expected.clone()],
            "{name}: keyed by the blob as stored"
        );
        check_rootfs_layer(&expected);
    }
    assert!(archives::names_in(&work.path().join("cache/tmp")).is_empty());
}

#[test]
fn second_prepare_is_a_cache_hit() {
    let work = tempfile::tempdir().unwrap();
    let path = work.path().join("rootfs.tgz");
    fs::write(&path, gzip(&rootfs_tar())).unwrap();
    let cache = LayerCache::new(work.path().join("cache"));
    let first = cache.prepare_path(&path).unwrap();
    let inode = fs::metadata(&first.layers[0]).unwrap().ino();
    // A marker inside the layer survives only if the second prepare does not unpack again.
    fs::write(first.layers[0].join("marker"), b"1").unwrap();
    let second = cache.prepare_path(&path).unwrap();
    assert_eq!(first.layers, second.layers);
    assert_eq!(fs::metadata(&second.layers[0]).unwrap().ino(), inode);
    assert!(second.layers[0].join("marker").exists());
}

/// Unmounts an overlay mount on drop, even when the test fails.
struct MountGuard(PathBuf);

impl Drop for MountGuard {
    fn drop(&mut self) {
        let _ = nix::mount::umount2(&self.0, nix::mount::MntFlags::MNT_DETACH);
    }
}

fn docker_two_layers() -> (Vec<u8>, Vec<u8>) {
    let lower = tar_of(&[
        Item::Dir("a/"),
        Item::File("a/gone.txt", b"deleted above"),
        Item::File("a/kept.txt", b"kept"),
        Item::Dir("opq/"),
        Item::File("opq/lower.txt", b"hidden by opaque"),
        Item::File("stay.txt", b"stay"),
    ]);
    let upper = tar_of(&[
        Item::Dir("a/"),
        Item::File("a/.wh.gone.txt", b""),
        Item::Dir("opq/"),
        Item::File("opq/.wh..wh..opq", b""),
        Item::File("opq/upper.txt", b"new"),
    ]);
    (lower, upper)
}

const DOCKER_CONFIG: &str = r#"{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/usr/bin:/bin","A=1"],"Cmd":["/bin/sh","-c","echo hi"],"Entrypoint":null,"WorkingDir":"/srv","User":"1000:1000"},"rootfs":{"type":"layers","diff_ids":[]}}"#;

#[test]
fn docker_archive_whiteouts_stack_in_overlay() {
    let work = tempfile::tempdir().unwrap();
    let (lower, upper) = docker_two_layers();
    let path = work.path().join("image.tar");
    fs::write(
        &path,
        docker_archive(DOCKER_CONFIG, &[lower.clone(), upper.clone()]),
    )
    .unwrap();
    let cache_dir = work.path().join("cache");
    let cache = LayerCache::new(&cache_dir);
    let source = ImageSource::detect(&path).unwrap();
    assert_eq!(source, ImageSource::DockerArchive(path.clone().into()));
    if !nix::unistd::geteuid().is_root() {
        // Whiteouts are device nodes and trusted xattrs: without root the unpack must refuse.
        let error = cache.prepare(&source).unwrap_err();
        assert!(matches!(error, ImageError::NeedsRoot { .. }), "{error}");
        eprintln!(
            "skipping the overlay part of docker_archive_whiteouts_stack_in_overlay: needs root"
        );
        return;
    }
    let image = cache.prepare(&source).unwrap();
    let l1 = cache_dir.join("sha256").join(sha256_hex(&lower));
    let l2 = cache_dir.join("sha256").join(sha256_hex(&upper));
    assert_eq!(image.layers, vec![l1.clone(), l2.clone()]);
    let config = image.config.unwrap();
    assert_eq!(config.env, vec!["PATH=/usr/bin:/bin", "A=1"]);
    assert_eq!(config.cmd, vec!["/bin/sh", "-c", "echo hi"]);
    assert!(config.entrypoint.is_empty());
    assert_eq!(config.working_dir.as_deref(), Some("/srv"));
    assert_eq!(config.user.as_deref(), Some("1000:1000"));

    let whiteout = fs::symlink_metadata(l2.join("a/gone.txt")).unwrap();
    assert!(whiteout.file_type().is_char_device());
    assert_eq!(whiteout.rdev(), 0);
    assert!(!l2.join("a/.wh.gone.txt").exists());
    let mut value = [0u8; 8];
    let n = rustix::fs::getxattr(l2.join("opq"), "trusted.overlay.opaque", &mut value).unwrap();
    assert_eq!(&value[..n], b"y");

    let (upper_dir, work_dir, target) = (
        work.path().join("u"),
        work.path().join("w"),
        work.path().join("m"),
    );
    for dir in [&upper_dir, &work_dir, &target] {
        fs::create_dir(dir).unwrap();
    }
    let options = format!(
        "lowerdir={}:{},upperdir={},workdir={}",
        l2.display(),
        l1.display(),
        upper_dir.display(),
        work_dir.display()
    );
    let mount = Command::new("mount")
        .args(["-t", "overlay", "overlay", "-o", &options])
        .arg(&target)
        .output()
        .unwrap();
    if !mount.status.success() {
        let stderr = String::from_utf8_lossy(&mount.stderr);
        let no_overlay = !fs::read_to_string("/proc/filesystems")
            .unwrap()
            .contains("overlay");
        if no_overlay || stderr.contains("unknown filesystem type") {
            eprintln!("skipping the overlay mount: overlay module not loaded ({stderr})");
            return;
        }
        panic!("mount -t overlay failed: {stderr}");
    }
    let _guard = MountGuard(target.clone());
    assert!(
        !target.join("a/gone.txt").exists(),
        "the whiteout deletes the lower file"
    );
    assert_eq!(fs::read(target.join("a/kept.txt")).unwrap(), b"kept");
    assert!(
        !target.join("opq/lower.txt").exists(),
        "the opaque dir hides lower content"
    );
    assert_eq!(fs::read(target.join("opq/upper.txt")).unwrap(), b"new");
    assert_eq!(fs::read(target.join("stay.txt")).unwrap(), b"stay");
}

#[test]
fn oci_layout_dir_and_tar_check_digests() {
    let work = tempfile::tempdir().unwrap();
    let layout = work.path().join("layout");
    let layer_hex = oci_layout(&layout, &rootfs_tar(), DOCKER_CONFIG);
    let cache_dir = work.path().join("cache");
    let cache = LayerCache::new(&cache_dir);
    assert_eq!(
        ImageSource::detect(&layout).unwrap(),
        ImageSource::OciLayout(layout.clone().into())
    );
    let image = cache.prepare_path(&layout).unwrap();
    assert_eq!(
        image.layers,
        vec![cache_dir.join("sha256").join(&layer_hex)]
    );
    check_rootfs_layer(&image.layers[0]);
    assert_eq!(image.config.unwrap().working_dir.as_deref(), Some("/srv"));

    // The same layout as a tar: same layer digest, so a cache hit in a fresh-looking source.
    let packed = work.path().join("layout.tar");
    fs::write(&packed, archives::tar_dir(&layout)).unwrap();
    assert_eq!(
        ImageSource::detect(&packed).unwrap(),
        ImageSource::OciLayout(packed.clone().into())
    );
    let other_cache_dir = work.path().join("cache2");
    let from_tar = LayerCache::new(&other_cache_dir)
        .prepare_path(&packed)
        .unwrap();
    assert_eq!(
        from_tar.layers,
        vec![other_cache_dir.join("sha256").join(&layer_hex)]
    );
    check_rootfs_layer(&from_tar.layers[0]);
}

#[test]
fn oci_tampered_layer_is_refused_and_cache_stays_clean() {
    let work = tempfile::tempdir().unwrap();
    let layout = work.path().join("layout");
    let layer_hex = oci_layout(&layout, &rootfs_tar(), DOCKER_CONFIG);
    // Same size, different bytes: only the digest check can catch it.
    let blob = layout.join("blobs/sha256").join(&layer_hex);
    let mut bytes = fs::read(&blob).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    fs::write(&blob, &bytes).unwrap();
    let cache_dir = work.path().join("cache");
    let error = LayerCache::new(&cache_dir)
        .prepare_path(&layout)
        .unwrap_err();
    assert!(matches!(error, ImageError::Corrupt { .. }), "{error}");
    assert_cache_clean(&cache_dir);

    // Same size and still a valid gzip of the same tar: the gzip header's mtime field (bytes
    // 4..8) is outside its CRC, so only the digest check can catch this edit.
    let mut bytes = fs::read(&blob).unwrap();
    bytes[last] ^= 0xff; // undo the first edit
    bytes[4] ^= 0x01;
    fs::write(&blob, &bytes).unwrap();
    let error = LayerCache::new(&cache_dir)
        .prepare_path(&layout)
        .unwrap_err();
    assert!(
        matches!(error, ImageError::DigestMismatch { .. }),
        "{error}"
    );
    assert_cache_clean(&cache_dir);
}

#[test]
fn corrupt_and_missing_images_are_clear_errors() {
    let work = tempfile::tempdir().unwrap();
    let cache_dir = work.path().join("cache");
    let cache = LayerCache::new(&cache_dir);

    let missing = work.path().join("no-such-image");
    let error = cache.prepare_path(&missing).unwrap_err();
    assert!(matches!(error, ImageError::Io { .. }), "{error}");
    assert!(error.to_string().contains("no-such-image"), "{error}");

    let junk = work.path().join("junk.bin");
    fs::write(&junk, vec![0x5au8; 4096]).unwrap();
    let error = cache.prepare_path(&junk).unwrap_err();
    assert!(matches!(error, ImageError::NotAnImage { .. }), "{error}");

    // A file cut in the middle of its data.
    let big = vec![7u8; 64 * 1024];
    let whole = tar_of(&[Item::File("big.bin", &big)]);
    let truncated = work.path().join("truncated.tar");
    fs::write(&truncated, &whole[..512 + 10_000]).unwrap();
    let error = cache
        .prepare(&ImageSource::RootfsTarball(truncated.into()))
        .unwrap_err();
    assert!(matches!(error, ImageError::Corrupt { .. }), "{error}");
    assert_cache_clean(&cache_dir);

    // A gzip stream cut short.
    let gz = gzip(&whole);
    let bad_gzip = work.path().join("bad.tar.gz");
    fs::write(&bad_gzip, &gz[..gz.len() / 2]).unwrap();
    let error = cache
        .prepare(&ImageSource::RootfsTarball(bad_gzip.into()))
        .unwrap_err();
    assert!(matches!(error, ImageError::Corrupt { .. }), "{error}");
    assert_cache_clean(&cache_dir);

    // A docker manifest naming a layer outside the archive.
    let mut manifest_escape = tar::Builder::new(Vec::new());
    for (name, data) in [
        ("config.json", DOCKER_CONFIG.as_bytes().to_vec()),
        (
            "manifest.json",
            br#"[{"Config":"config.json","Layers":["../../etc/passwd"]}]"#.to_vec(),
        ),
    ] {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        manifest_escape
            .append_data(&mut header, name, &data[..])
            .unwrap();
    }
    let escape = work.path().join("escape.tar");
    fs::write(&escape, manifest_escape.into_inner().unwrap()).unwrap();
    let error = cache.prepare_path(&escape).unwrap_err();
    assert!(error.to_string().contains("leaves the image"), "{error}");
    assert_cache_clean(&cache_dir);
}

#[test]
fn concurrent_prepares_of_one_layer_share_one_whole_copy() {
    let work = tempfile::tempdir().unwrap();
    let path = work.path().join("rootfs.tar");
    fs::write(&path, rootfs_tar()).unwrap();
    let cache_dir = work.path().join("cache");
    let results: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|_| scope.spawn(|| LayerCache::new(&cache_dir).prepare_path(&path)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let expected = cache_dir.join("sha256").join(sha256_hex(&rootfs_tar()));
    for result in results {
        assert_eq!(result.unwrap().layers, vec![expected.clone()]);
    }
    check_rootfs_layer(&expected);
    assert_eq!(archives::names_in(&cache_dir.join("sha256")).len(), 1);
    assert!(
        archives::names_in(&cache_dir.join("tmp")).is_empty(),
        "a loser's copy was left"
    );
}
