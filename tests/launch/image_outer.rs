//! What the outer tar of an image (`docker save` / OCI archive, or a rootfs tarball given as
//! `--image`) may not make isotop do, with archives built here: hold more than 16 MiB of one
//! entry's headers (GNU long names, PAX records) in memory while it is detected or indexed,
//! plain or gzipped, or quote a byte of a corrupt header in an error.

use crate::support::archives;

use std::fs;
use std::path::Path;

use archives::{Raw, gzip, raw_tar};
use isotop::launch::{ImageError, ImageSource, LayerCache};

/// An outer tar whose `manifest.json` is named by a GNU long name entry of `name_bytes`.
fn long_named_outer(name_bytes: usize) -> Vec<u8> {
    let name = vec![b'a'; name_bytes];
    raw_tar(&[
        Raw::new(tar::EntryType::GNULongName, "././@LongLink").data(&name),
        Raw::file("manifest.json", b"[]"),
    ])
}

fn assert_header_bound(result: Result<impl std::fmt::Debug, ImageError>, what: &str) {
    let error = result.expect_err(what);
    let message = error.to_string();
    assert!(
        matches!(error, ImageError::Corrupt { .. }) && message.contains("16 MiB of headers"),
        "{what}: {message}"
    );
}

#[test]
fn an_outer_tar_entry_past_the_header_bound_is_refused_when_detected() {
    let work = tempfile::tempdir().unwrap();
    let outer = long_named_outer((16 << 20) + 1);
    for (name, bytes) in [
        ("plain.tar", outer.clone()),
        ("packed.tar.gz", gzip(&outer)),
    ] {
        let path = work.path().join(name);
        fs::write(&path, bytes).unwrap();
        assert_header_bound(ImageSource::detect(&path), name);
    }
}

#[test]
fn an_outer_tar_entry_past_the_header_bound_is_refused_when_indexed() {
    let work = tempfile::tempdir().unwrap();
    let outer = long_named_outer((16 << 20) + 1);
    for (name, bytes) in [
        ("plain.tar", outer.clone()),
        ("packed.tar.gz", gzip(&outer)),
    ] {
        let path = work.path().join(name);
        fs::write(&path, bytes).unwrap();
        let cache = LayerCache::new(work.path().join("cache"));
        assert_header_bound(
            cache.prepare(&ImageSource::DockerArchive(path.into())),
            name,
        );
        assert_no_spool(&cache.tmp_dir());
    }
}

#[test]
fn an_outer_tar_with_real_sized_long_names_still_reads() {
    let work = tempfile::tempdir().unwrap();
    let path = work.path().join("plain.tar");
    fs::write(&path, long_named_outer(4096)).unwrap();
    assert_eq!(
        ImageSource::detect(&path).unwrap(),
        ImageSource::RootfsTarball(path.clone().into())
    );
}

fn assert_no_spool(tmp: &Path) {
    let left: Vec<_> = fs::read_dir(tmp)
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "left in {}: {left:?}", tmp.display());
}

#[test]
fn an_image_path_swapped_after_detection_is_never_read_again() {
    let work = tempfile::tempdir().unwrap();
    // What the path names later: a stand-in for /etc/shadow, itself a valid tar so that
    // reading it would show in the layer.
    let secret = work.path().join("secret.tar");
    fs::write(&secret, raw_tar(&[Raw::file("swapped", b"secret")])).unwrap();
    let rootfs = raw_tar(&[Raw::file("original", b"image")]);
    let layer = raw_tar(&[Raw::file("original", b"image")]);
    let docker = archives::docker_archive(r#"{"config":{}}"#, &[layer]);
    for (name, bytes) in [
        ("rootfs.tar", rootfs.clone()),
        ("rootfs.tar.gz", gzip(&rootfs)),
        ("docker.tar", docker.clone()),
        ("docker.tar.gz", gzip(&docker)),
    ] {
        let path = work.path().join(name);
        fs::write(&path, bytes).unwrap();
        let source = ImageSource::detect(&path).unwrap();
        fs::remove_file(&path).unwrap();
        std::os::unix::fs::symlink(&secret, &path).unwrap();
        let cache = LayerCache::new(work.path().join(format!("cache-{name}")));
        let image = cache.prepare(&source).expect(name);
        let top = image.layers.last().unwrap();
        assert_eq!(
            fs::read(top.join("original")).ok(),
            Some(b"image".to_vec()),
            "{name}"
        );
        assert!(
            !top.join("swapped").exists(),
            "{name}: read the swapped-in file"
        );
    }
}
