//! Layers met again: a cache hit is checked against the blob it stands for (its digest, not
//! only its name) and learns its facts once; a layer a `docker save` archive lists more than
//! once is read once; and an image past the layer-count or image-wide size bound is refused.
//! In-process, with images built here.

use crate::support::archives;

use std::fs;

use archives::{Raw, raw_tar};
use isotop::launch::{ImageError, ImageSource, LayerCache};

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

/// A `docker save` archive listing `names` (members of `layers`, repeats allowed).
fn docker_listing(
    work: &std::path::Path,
    layers: &[Vec<u8>],
    listed: &[usize],
) -> std::path::PathBuf {
    let files: Vec<(String, Vec<u8>)> = layers
        .iter()
        .enumerate()
        .map(|(i, layer)| (format!("l{i}/layer.tar"), layer.clone()))
        .collect();
    let ordered: Vec<Vec<u8>> = listed.iter().map(|&i| layers[i].clone()).collect();
    let config = archives::with_diff_ids(r#"{"config":{}}"#, &ordered);
    let mut files = files;
    files.push(("config.json".into(), config.into_bytes()));
    let names: Vec<String> = listed.iter().map(|i| format!("l{i}/layer.tar")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let path = work.join(format!("image-{}.tar", listed.len()));
    fs::write(
        &path,
        archives::docker_archive_raw(&files, "config.json", &names),
    )
    .unwrap();
    path
}

#[test]
fn an_image_past_the_layer_count_is_refused() {
    let work = tempfile::tempdir().unwrap();
    let layer = raw_tar(&[Raw::file("f", b"x")]);
    let cache = LayerCache::new(work.path().join("cache"));
    let within = docker_listing(work.path(), std::slice::from_ref(&layer), &[0; 128]);
    cache.prepare_path(&within).expect("128 layers");
    let over = docker_listing(work.path(), &[layer], &[0; 129]);
    let error = cache.prepare_path(&over).expect_err("129 layers");
    let message = error.to_string();
    assert!(
        matches!(error, ImageError::Unsupported { .. })
            && message.contains("129 layers")
            && message.contains("at most 128"),
        "{message}"
    );
}

#[test]
fn the_image_bound_counts_distinct_layers_once_and_refuses_more() {
    let work = tempfile::tempdir().unwrap();
    let big = |tag: &[u8]| {
        let mut data = vec![0u8; 600 << 10];
        data[..tag.len()].copy_from_slice(tag);
        raw_tar(&[Raw::file("f", &data)])
    };
    let (a, b) = (big(b"a"), big(b"b"));
    // Layers of at most 1 MiB each, 1 MiB for the whole image.
    let limits = isotop::launch::image::unpack::UnpackLimits {
        max_bytes: 1 << 20,
        ..Default::default()
    };
    let cache = LayerCache::new(work.path().join("cache"))
        .with_limits(limits)
        .with_image_max_bytes(Some(1 << 20));
    // One layer listed five times: counted (and read) once.
    let repeated = docker_listing(work.path(), &[a.clone(), b.clone()], &[0, 0, 0, 0, 0]);
    let image = cache
        .prepare_path(&repeated)
        .expect("one layer listed five times");
    assert_eq!(image.layers.len(), 1);
    // Two distinct layers of 600 KiB: past the image's 1 MiB, refused naming the setting.
    let two = docker_listing(work.path(), &[a, b], &[0, 1]);
    let error = cache.prepare_path(&two).expect_err("1.2 MiB of layers");
    let message = error.to_string();
    assert!(
        matches!(error, ImageError::LimitExceeded { .. })
            && message.contains("ISOTOP_MAX_IMAGE_BYTES"),
        "{message}"
    );
    assert_eq!(
        isotop::launch::image::manifest::IMAGE_BYTES_ENV,
        "ISOTOP_MAX_IMAGE_BYTES"
    );
}
