//! Fuzzes the image readers: detection, `docker save`'s `manifest.json`, OCI's `index.json`
//! → manifest → config, the image config (run config, `rootfs.diff_ids`) and the bundle
//! reader (directory, tar, gzipped tar), through their public entry `LayerCache::prepare_path`.
//!
//! Input: a mode byte, then files separated by `isotop_fuzz::SEPARATOR`:
//! `top` (`manifest.json` or `index.json`), `manifest` (OCI image manifest), `config`, then
//! up to four layer blobs. So that the fuzzer gets past digest checks, the harness writes each
//! blob under its real digest and fills placeholders before it writes a file: `@L0@`..`@L3@`
//! (hex sha256 of layer blob n), `@D0@`..`@D3@` (of its uncompressed tar: the diff_id),
//! `@Z0@`..`@Z3@` (its size), `@C@`/`@CZ@` (the config's digest and size, in the manifest
//! and top) and `@M@`/`@MZ@` (the manifest's, in the top).
//!
//! Mode, bits 0–2: 0 docker directory, 1 OCI directory, 2 docker tar, 3 OCI tar, 4 docker
//! tar.gz, 5 OCI tar.gz, 6 the first file alone as the image file (a rootfs tarball, or any
//! bytes for detection), 7 the first file alone in a directory named as the image.
//! Bit 3: the harness gzips each layer. Bit 4: no `oci-layout` file.
//!
//! A docker bundle gets the config as `config.json`, `<hex>.json` and `blobs/sha256/<hex>`,
//! and layer n as `layer<n>.tar` and `blobs/sha256/<hex>`, so manifests may name either.
//!
//! A crash is a panic in isotop, or a broken invariant: something outside the work directory
//! changed, an error message longer than 64 KiB (errors may quote an image's names, which
//! `main` and the dashboard clean, but never replay a large part of it), a failed prepare left
//! a temporary file in the cache, or a prepared layer is not a directory in the cache.
#![no_main]

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use isotop::launch::Digest;
use isotop::launch::image::layer::LayerCache;
use isotop::launch::image::unpack::UnpackLimits;
use isotop_fuzz::{Jail, remove_tree, replace, sections};
use libfuzzer_sys::fuzz_target;

const LIMITS: UnpackLimits = UnpackLimits {
    max_bytes: 16 << 20,
    max_entries: 1000,
};
const MAX_LAYERS: usize = 4;
/// The longest error message accepted: paths and names in it are bounded by `PATH_MAX`.
const MAX_ERROR_BYTES: usize = 64 * 1024;

fuzz_target!(|data: &[u8]| {
    let jail = Jail::enter();
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let work = jail.fresh("image");
    fs::create_dir(&work).expect("make the work directory");
    let image = build(&work, mode, rest);
    let cache = LayerCache::new(work.join("cache")).with_limits(LIMITS);
    let result = cache.prepare_path(&image);
    jail.check_outside("prepare_path", &work);
    if isotop_fuzz::verbose() {
        match &result {
            Ok(image) => eprintln!(
                "prepared {} layers, config {:?}",
                image.layers.len(),
                image.config
            ),
            Err(e) => eprintln!("refused: {e}"),
        }
    }
    match &result {
        Ok(prepared) => {
            for layer in &prepared.layers {
                // A rootfs directory is used in place; every other layer is in the cache.
                let in_cache = layer.starts_with(cache.root().join("sha256"));
                assert!(
                    (in_cache || layer == &image) && layer.is_dir(),
                    "a prepared layer is not a cached directory: {}",
                    layer.display()
                );
            }
        }
        Err(error) => {
            // Errors may quote what the image says (a name, a tar reader's message): display
            // code cleans them (`main`, the dashboard), but a message never replays a large
            // part of the image.
            let message = error.to_string();
            assert!(
                message.len() <= MAX_ERROR_BYTES,
                "an image error of {} bytes: {}...",
                message.len(),
                &message[..message.floor_char_boundary(512)]
            );
            let left: Vec<PathBuf> = fs::read_dir(cache.tmp_dir())
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.path())
                .collect();
            assert!(left.is_empty(), "a failed prepare left {left:?}");
        }
    }
    remove_tree(&work);
});

/// Lays out the image the input describes under `work`; returns the path to prepare.
fn build(work: &Path, mode: u8, rest: &[u8]) -> PathBuf {
    let parts = sections(rest);
    let part = |i: usize| parts.get(i).copied().unwrap_or_default();
    let layout = mode & 7;
    if layout >= 6 {
        let image = work.join("image");
        if layout == 6 {
            fs::write(&image, part(0)).expect("write the image file");
        } else {
            fs::create_dir(&image).expect("make the image directory");
            fs::write(image.join("manifest.json"), part(0)).expect("write manifest.json");
        }
        return image;
    }
    let gzip_layers = mode & 8 != 0;
    let layers: Vec<Vec<u8>> = parts
        .iter()
        .skip(3)
        .take(MAX_LAYERS)
        .map(|l| if gzip_layers { gzip(l) } else { l.to_vec() })
        .collect();
    let mut fills: Vec<(String, String)> = Vec::new();
    for (n, layer) in layers.iter().enumerate() {
        fills.push((format!("@L{n}@"), hex(layer)));
        fills.push((format!("@D{n}@"), hex(&diff_source(layer))));
        fills.push((format!("@Z{n}@"), layer.len().to_string()));
    }
    let config = fill(part(2), &fills);
    fills.push(("@C@".into(), hex(&config)));
    fills.push(("@CZ@".into(), config.len().to_string()));
    let manifest = fill(part(1), &fills);
    fills.push(("@M@".into(), hex(&manifest)));
    fills.push(("@MZ@".into(), manifest.len().to_string()));
    let top = fill(part(0), &fills);

    let docker = layout & 1 == 0;
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let blob = |bytes: &[u8]| format!("blobs/sha256/{}", hex(bytes));
    if docker {
        files.push(("manifest.json".into(), top));
        files.push(("config.json".into(), config.clone()));
        files.push((format!("{}.json", hex(&config)), config.clone()));
    } else {
        files.push(("index.json".into(), top));
        files.push((blob(&manifest), manifest));
        if mode & 16 == 0 {
            files.push((
                "oci-layout".into(),
                br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec(),
            ));
        }
    }
    files.push((blob(&config), config));
    for (n, layer) in layers.into_iter().enumerate() {
        if docker {
            files.push((format!("layer{n}.tar"), layer.clone()));
        }
        files.push((blob(&layer), layer));
    }
    match layout {
        0 | 1 => {
            let dir = work.join("image");
            for (name, bytes) in files {
                let path = dir.join(name);
                fs::create_dir_all(path.parent().expect("a member has a parent"))
                    .expect("make a member's directory");
                fs::write(path, bytes).expect("write a member");
            }
            dir
        }
        _ => {
            let tar = pack(&files);
            let gzipped = layout >= 4;
            let path = work.join(if gzipped { "image.tar.gz" } else { "image.tar" });
            fs::write(&path, if gzipped { gzip(&tar) } else { tar })
                .expect("write the image archive");
            path
        }
    }
}

/// Replaces every placeholder.
fn fill(text: &[u8], fills: &[(String, String)]) -> Vec<u8> {
    fills.iter().fold(text.to_vec(), |acc, (from, to)| {
        replace(&acc, from.as_bytes(), to.as_bytes())
    })
}

fn hex(bytes: &[u8]) -> String {
    Digest::of_bytes(bytes).hex().to_string()
}

/// The uncompressed tar of a layer blob (the blob itself when it is not gzip, or not valid).
fn diff_source(layer: &[u8]) -> Vec<u8> {
    if !layer.starts_with(&[0x1f, 0x8b]) {
        return layer.to_vec();
    }
    let mut out = Vec::new();
    let decoder = flate2::read::MultiGzDecoder::new(layer);
    match decoder.take(LIMITS.max_bytes).read_to_end(&mut out) {
        Ok(_) => out,
        Err(_) => layer.to_vec(),
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).expect("gzip into memory");
    gz.finish().expect("gzip into memory")
}

/// A tar of the bundle's files (the outer archive `docker save` writes).
fn pack(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, bytes) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        builder
            .append_data(&mut header, name, bytes.as_slice())
            .expect("tar into memory");
    }
    builder.into_inner().expect("tar into memory")
}
