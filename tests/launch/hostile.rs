//! Hostile layer tars: entries that try to leave the layer directory (`..`, absolute paths,
//! writes through a symlink, hard links to host files or outside the layer). Each must be
//! refused with a clear error or land inside the layer; nothing may appear outside the temp
//! dirs (checked on unique canary paths) and nothing half-made may stay in the cache.

use crate::support::{archives, common};

use std::fs;
use std::path::Path;

use archives::{Item, assert_cache_clean, tar_of};
use isotop::launch::{ImageError, ImageSource, LayerCache};

/// Unpacks `items` as a rootfs tarball into a fresh cache under `work`.
fn prepare(work: &Path, items: &[Item<'_>]) -> Result<Vec<std::path::PathBuf>, ImageError> {
    let path = work.join("hostile.tar");
    fs::write(&path, tar_of(items)).unwrap();
    LayerCache::new(work.join("cache"))
        .prepare(&ImageSource::RootfsTarball(path.into()))
        .map(|image| image.layers)
}

fn assert_refused(result: Result<Vec<std::path::PathBuf>, ImageError>, work: &Path) -> String {
    let error = result.expect_err("a hostile entry must be refused");
    assert!(matches!(error, ImageError::UnsafeEntry { .. }), "{error}");
    assert_cache_clean(&work.join("cache"));
    error.to_string()
}

#[test]
fn parent_dir_components_are_refused() {
    let work = tempfile::tempdir().unwrap();
    let unique = common::unique_name("dotdot");
    let name = format!("../../etc/{unique}");
    let message = assert_refused(
        prepare(work.path(), &[Item::File(&name, b"owned")]),
        work.path(),
    );
    assert!(message.contains(".."), "{message}");
    assert!(!Path::new("/etc").join(&unique).exists());
    // `..` from the temporary layer dir (<cache>/tmp/<x>) would reach the cache and `work`.
    assert!(!work.path().join("etc").join(&unique).exists());
    assert!(!work.path().join("cache/etc").join(&unique).exists());
}

#[test]
fn absolute_paths_land_inside_the_layer() {
    let work = tempfile::tempdir().unwrap();
    let unique = common::unique_name("absolute");
    let name = format!("/etc/{unique}");
    let layers = prepare(work.path(), &[Item::File(&name, b"inside")]).unwrap();
    assert!(
        !Path::new("/etc").join(&unique).exists(),
        "written into the host's /etc"
    );
    assert_eq!(
        fs::read(layers[0].join("etc").join(&unique)).unwrap(),
        b"inside"
    );
}

#[test]
fn writes_through_a_symlink_are_refused() {
    let work = tempfile::tempdir().unwrap();
    let unique = common::unique_name("symlink");
    let through_root = format!("a/tmp/{unique}");
    let message = assert_refused(
        prepare(
            work.path(),
            &[Item::Symlink("a", "/"), Item::File(&through_root, b"owned")],
        ),
        work.path(),
    );
    assert!(message.contains("symlink"), "{message}");
    assert!(!Path::new("/tmp").join(&unique).exists(), "followed a -> /");

    // A relative symlink climbing out of the layer, to the test's own dir.
    let canary = format!("b/{unique}");
    assert_refused(
        prepare(
            work.path(),
            &[
                Item::Symlink("b", "../../.."),
                Item::File(&canary, b"owned"),
            ],
        ),
        work.path(),
    );
    assert!(!work.path().join(&unique).exists());
    assert!(!work.path().join("cache").join(&unique).exists());

    // A symlink replacing a directory that already held files, then a write into it.
    let again = format!("d/{unique}");
    assert_refused(
        prepare(
            work.path(),
            &[
                Item::Dir("d/"),
                Item::File("d/first", b"1"),
                Item::Symlink("d", "/tmp"),
                Item::File(&again, b"owned"),
            ],
        ),
        work.path(),
    );
    assert!(!Path::new("/tmp").join(&unique).exists());
}

#[test]
fn symlinks_themselves_are_kept_unfollowed() {
    let work = tempfile::tempdir().unwrap();
    let layers = prepare(
        work.path(),
        &[Item::Symlink("root", "/"), Item::Symlink("up", "../../..")],
    )
    .unwrap();
    assert_eq!(
        fs::read_link(layers[0].join("root")).unwrap(),
        Path::new("/")
    );
    assert_eq!(
        fs::read_link(layers[0].join("up")).unwrap(),
        Path::new("../../..")
    );
}

#[test]
fn hard_links_outside_the_layer_are_refused() {
    let work = tempfile::tempdir().unwrap();
    // /etc/passwd exists on the host but not in the layer: linking it would expose host data.
    let message = assert_refused(
        prepare(work.path(), &[Item::HardLink("passwd", "/etc/passwd")]),
        work.path(),
    );
    assert!(message.contains("not in this layer"), "{message}");

    let outside = work.path().join("outside");
    fs::write(&outside, b"secret").unwrap();
    let message = assert_refused(
        prepare(work.path(), &[Item::HardLink("x", "../outside")]),
        work.path(),
    );
    assert!(message.contains(".."), "{message}");

    // Through a symlink inside the layer to a host file.
    assert_refused(
        prepare(
            work.path(),
            &[
                Item::Symlink("etc", "/etc"),
                Item::HardLink("p", "etc/passwd"),
            ],
        ),
        work.path(),
    );
    assert_eq!(fs::metadata(&outside).unwrap().len(), 6);
    assert_eq!(
        std::os::unix::fs::MetadataExt::nlink(&fs::metadata(&outside).unwrap()),
        1,
        "nothing linked to the outside file"
    );
}

#[test]
fn hard_links_inside_the_layer_work_even_when_absolute() {
    let work = tempfile::tempdir().unwrap();
    let layers = prepare(
        work.path(),
        &[
            Item::File("etc/real", b"data"),
            Item::HardLink("copy", "/etc/real"),
        ],
    )
    .unwrap();
    assert_eq!(fs::read(layers[0].join("copy")).unwrap(), b"data");
}
