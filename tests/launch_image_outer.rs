//! What the outer tar of an image (`docker save` / OCI archive, or a rootfs tarball given as
//! `--image`) may not make isotop do, with archives built here: hold more than 16 MiB of one
//! entry's headers (GNU long names, PAX records) in memory while it is detected or indexed,
//! plain or gzipped, or quote a byte of a corrupt header in an error.

#[path = "launch_support/archives.rs"]
mod archives;

use std::fs;
use std::path::Path;

use archives::{Raw, gzip, raw_tar};
use isotop::control::launch::{ImageError, ImageSource, LayerCache};

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
        assert_header_bound(cache.prepare(&ImageSource::DockerArchive(path)), name);
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
        ImageSource::RootfsTarball(path.clone())
    );
}

fn assert_no_spool(tmp: &Path) {
    let left: Vec<_> = fs::read_dir(tmp)
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "left in {}: {left:?}", tmp.display());
}
