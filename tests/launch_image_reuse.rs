//! Layers met again: a cache hit is checked against the blob it stands for (its digest, not
//! only its name) and learns its facts once; a layer a `docker save` archive lists more than
//! once is read once; and an image past the layer-count or image-wide size bound is refused.
//! In-process, with images built here.

#[path = "launch_support/archives.rs"]
mod archives;

use std::fs;

use archives::{Raw, raw_tar};
use isotop::control::launch::{ImageError, ImageSource, LayerCache};

#[test]
fn a_cache_hit_without_meta_checks_the_blob_digest_and_writes_the_meta() {
    let work = tempfile::tempdir().unwrap();
    let layout = work.path().join("oci");
    let layer = raw_tar(&[Raw::file("f", b"layer content")]);
    let hex = archives::oci_layout(&layout, &layer, r#"{"config":{}}"#);
    let cache = LayerCache::new(work.path().join("cache"));
    let source = ImageSource::OciLayout(layout.clone().into());
    cache.prepare(&source).expect("first preparation");
    let meta = cache.meta_dir().join(format!("{hex}.json"));
    // A layer cached by an older isotop: no meta. The next hit learns it.
    fs::remove_file(&meta).unwrap();
    cache.prepare(&source).expect("a cache hit");
    assert!(meta.is_file(), "the hit did not write {}", meta.display());
    // The blob changed under its name: the same tar inside (same diff_id), another gzip
    // header (its OS byte), so another digest, same size.
    fs::remove_file(&meta).unwrap();
    let blob = layout.join("blobs/sha256").join(&hex);
    let mut bytes = fs::read(&blob).unwrap();
    bytes[9] ^= 0x01;
    fs::write(&blob, &bytes).unwrap();
    let error = cache
        .prepare(&source)
        .expect_err("a blob that is not the cached one");
    assert!(
        matches!(error, ImageError::DigestMismatch { .. }),
        "{error}"
    );
    assert!(!meta.exists());
}
