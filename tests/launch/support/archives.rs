//! Builds image archives for the launch tests in memory with the `tar` crate: plain entries,
//! hostile ones written as raw GNU headers (the builder's own checks would refuse `..`), gzip,
//! docker-save archives and OCI layouts. Also the cache checks every failure test repeats.
//!
//! Like `docker save`, the archive builders write each layer's checksum into the config's
//! `rootfs.diff_ids` when the test's config leaves that list empty; a test that wants a wrong
//! or missing list writes one (or uses the `_raw` builders, which change nothing).

use std::fs;
use std::io::Write;
use std::path::Path;

use sha2::{Digest as _, Sha256};

/// Modification time written into every test entry, in seconds since the epoch.
pub const MTIME: u64 = 1_600_000_000;

/// One tar entry as a test describes it.
pub enum Item<'a> {
    Dir(&'a str),
    File(&'a str, &'a [u8]),
    FileMode(&'a str, &'a [u8], u32),
    Symlink(&'a str, &'a str),
    HardLink(&'a str, &'a str),
}

/// Appends a header whose name and link name are copied byte for byte (no checks).
fn raw(
    builder: &mut tar::Builder<Vec<u8>>,
    kind: tar::EntryType,
    name: &str,
    link: &str,
    data: &[u8],
    mode: u32,
) {
    let mut header = tar::Header::new_gnu();
    {
        let gnu = header.as_gnu_mut().unwrap();
        gnu.name[..name.len()].copy_from_slice(name.as_bytes());
        gnu.linkname[..link.len()].copy_from_slice(link.as_bytes());
    }
    header.set_entry_type(kind);
    header.set_size(data.len() as u64);
    header.set_mode(mode);
    header.set_mtime(MTIME);
    header.set_uid(0);
    header.set_gid(0);
    header.set_cksum();
    builder.append(&header, data).unwrap();
}

/// A tar holding `items`, in order.
pub fn tar_of(items: &[Item<'_>]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for item in items {
        match *item {
            Item::Dir(name) => raw(
                &mut builder,
                tar::EntryType::Directory,
                name,
                "",
                b"",
                0o755,
            ),
            Item::File(name, data) => {
                raw(&mut builder, tar::EntryType::Regular, name, "", data, 0o644)
            }
            Item::FileMode(name, data, mode) => {
                raw(&mut builder, tar::EntryType::Regular, name, "", data, mode)
            }
            Item::Symlink(name, target) => raw(
                &mut builder,
                tar::EntryType::Symlink,
                name,
                target,
                b"",
                0o777,
            ),
            Item::HardLink(name, target) => {
                raw(&mut builder, tar::EntryType::Link, name, target, b"", 0o644)
            }
        }
    }
    builder.into_inner().unwrap()
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The sha256 of a layer's uncompressed tar (its diff_id), gzipped or not; a damaged gzip
/// stream (a test's corrupt layer) is hashed as it is.
pub fn diff_id(layer: &[u8]) -> String {
    let mut plain = Vec::new();
    let decompressed = layer.starts_with(&[0x1f, 0x8b])
        && std::io::Read::read_to_end(&mut flate2::read::MultiGzDecoder::new(layer), &mut plain)
            .is_ok();
    format!(
        "sha256:{}",
        sha256_hex(if decompressed { &plain } else { layer })
    )
}

/// `config_json` with `rootfs.diff_ids` filled in for `layers` when it lists none.
pub fn with_diff_ids(config_json: &str, layers: &[Vec<u8>]) -> String {
    let mut config: serde_json::Value = serde_json::from_str(config_json).unwrap();
    let listed = config
        .pointer("/rootfs/diff_ids")
        .and_then(|v| v.as_array())
        .is_some_and(|ids| !ids.is_empty());
    if listed {
        return config_json.to_string();
    }
    let ids: Vec<String> = layers.iter().map(|l| diff_id(l)).collect();
    config["rootfs"] = serde_json::json!({"type": "layers", "diff_ids": ids});
    config.to_string()
}

/// A `docker save` archive: `manifest.json`, a config, and `<n>/layer.tar` per layer.
pub fn docker_archive(config_json: &str, layers: &[Vec<u8>]) -> Vec<u8> {
    let config = with_diff_ids(config_json, layers);
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let mut layer_names = Vec::new();
    for (index, layer) in layers.iter().enumerate() {
        let name = format!("layer{index}/layer.tar");
        files.push((name.clone(), layer.clone()));
        layer_names.push(name);
    }
    files.push(("config.json".into(), config.into_bytes()));
    let listed: Vec<&str> = layer_names.iter().map(String::as_str).collect();
    docker_archive_raw(&files, "config.json", &listed)
}

/// A `docker save` archive of exactly these files, whose manifest names `config` and lists
/// `layers` (member names, repeats allowed) — nothing is filled in.
pub fn docker_archive_raw(files: &[(String, Vec<u8>)], config: &str, layers: &[&str]) -> Vec<u8> {
    let mut files = files.to_vec();
    let manifest = serde_json::json!([{
        "Config": config,
        "RepoTags": ["isotop-test:latest"],
        "Layers": layers,
    }]);
    // docker writes manifest.json last, so detection must read the whole archive.
    files.push(("manifest.json".into(), manifest.to_string().into_bytes()));
    let items: Vec<Item<'_>> = files.iter().map(|(n, d)| Item::File(n, d)).collect();
    tar_of(&items)
}

/// Writes an OCI image layout into `dir` with one gzipped layer; returns the layer digest hex.
pub fn oci_layout(dir: &Path, layer_tar: &[u8], config_json: &str) -> String {
    let layer = gzip(layer_tar);
    let config = with_diff_ids(config_json, std::slice::from_ref(&layer));
    oci_layout_raw(dir, &[(layer, true)], &config).remove(0)
}

/// Writes an OCI image layout into `dir` whose manifest lists `layers` in order (blob bytes,
/// gzipped or plain tar; repeats allowed) with `config_json` as is; returns the layers' digest
/// hex, in order.
pub fn oci_layout_raw(dir: &Path, layers: &[(Vec<u8>, bool)], config_json: &str) -> Vec<String> {
    let blobs = dir.join("blobs/sha256");
    fs::create_dir_all(&blobs).unwrap();
    let put = |bytes: &[u8]| {
        let hex = sha256_hex(bytes);
        fs::write(blobs.join(&hex), bytes).unwrap();
        (hex, bytes.len())
    };
    let mut hexes = Vec::new();
    let mut descriptors = Vec::new();
    for (blob, gzipped) in layers {
        let (hex, size) = put(blob);
        let media = if *gzipped {
            "application/vnd.oci.image.layer.v1.tar+gzip"
        } else {
            "application/vnd.oci.image.layer.v1.tar"
        };
        descriptors.push(serde_json::json!({"mediaType": media,
            "digest": format!("sha256:{hex}"), "size": size}));
        hexes.push(hex);
    }
    let (config_hex, config_size) = put(config_json.as_bytes());
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": format!("sha256:{config_hex}"), "size": config_size},
        "layers": descriptors,
    })
    .to_string();
    let (manifest_hex, manifest_size) = put(manifest.as_bytes());
    let index = serde_json::json!({
        "schemaVersion": 2,
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "digest": format!("sha256:{manifest_hex}"), "size": manifest_size,
                       "platform": {"architecture": "amd64", "os": "linux"}}],
    });
    fs::write(dir.join("index.json"), index.to_string()).unwrap();
    fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    hexes
}

/// A tar of a directory tree (an OCI layout packed for transport).
pub fn tar_dir(dir: &Path) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    builder.append_dir_all(".", dir).unwrap();
    builder.into_inner().unwrap()
}

/// Names in a directory, or none when it does not exist.
pub fn names_in(dir: &Path) -> Vec<String> {
    match fs::read_dir(dir) {
        Ok(entries) => entries
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// Asserts a failed prepare left no layer and no temporary directory in the cache.
pub fn assert_cache_clean(cache: &Path) {
    assert!(
        names_in(&cache.join("sha256")).is_empty(),
        "half layer left: {:?}",
        names_in(&cache.join("sha256"))
    );
    assert!(
        names_in(&cache.join("tmp")).is_empty(),
        "temp left: {:?}",
        names_in(&cache.join("tmp"))
    );
}

/// One tar entry with every header field a hostile-archive test may set, written byte for
/// byte (no checks): a PAX header ('x') first when `pax` holds records.
pub struct Raw<'a> {
    pub kind: tar::EntryType,
    pub name: &'a [u8],
    pub link: &'a [u8],
    pub data: &'a [u8],
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub mtime: u64,
    pub device: (u32, u32),
    pub pax: Vec<(&'a str, &'a [u8])>,
}

impl<'a> Raw<'a> {
    /// An entry of `kind` named `name`: mode 0644, owned by 0:0, modified at [`MTIME`].
    pub fn new(kind: tar::EntryType, name: &'a str) -> Self {
        Raw {
            kind,
            name: name.as_bytes(),
            link: b"",
            data: b"",
            mode: 0o644,
            uid: 0,
            gid: 0,
            mtime: MTIME,
            device: (0, 0),
            pax: Vec::new(),
        }
    }
    pub fn dir(name: &'a str) -> Self {
        Raw::new(tar::EntryType::Directory, name).mode(0o755)
    }
    pub fn file(name: &'a str, data: &'a [u8]) -> Self {
        Raw::new(tar::EntryType::Regular, name).data(data)
    }
    pub fn symlink(name: &'a str, target: &'a str) -> Self {
        Raw::new(tar::EntryType::Symlink, name)
            .link(target.as_bytes())
            .mode(0o777)
    }
    pub fn hard_link(name: &'a str, target: &'a str) -> Self {
        Raw::new(tar::EntryType::Link, name).link(target.as_bytes())
    }
    pub fn mode(mut self, mode: u32) -> Self {
        self.mode = mode;
        self
    }
    pub fn owner(mut self, uid: u64, gid: u64) -> Self {
        self.uid = uid;
        self.gid = gid;
        self
    }
    pub fn mtime(mut self, mtime: u64) -> Self {
        self.mtime = mtime;
        self
    }
    pub fn data(mut self, data: &'a [u8]) -> Self {
        self.data = data;
        self
    }
    pub fn link(mut self, link: &'a [u8]) -> Self {
        self.link = link;
        self
    }
    pub fn device(mut self, major: u32, minor: u32) -> Self {
        self.device = (major, minor);
        self
    }
    pub fn pax(mut self, key: &'a str, value: &'a [u8]) -> Self {
        self.pax.push((key, value));
        self
    }
}

/// One PAX record: `"<length> <key>=<value>\n"`, the length counting itself.
pub fn pax_record(key: &str, value: &[u8]) -> Vec<u8> {
    let body = key.len() + value.len() + 3; // space, '=', newline
    let mut length = body + 1;
    while (body + length.to_string().len()) != length {
        length = body + length.to_string().len();
    }
    let mut record = format!("{length} {key}=").into_bytes();
    record.extend_from_slice(value);
    record.push(b'\n');
    record
}

fn raw_header(kind: tar::EntryType, name: &[u8], link: &[u8], size: u64) -> tar::Header {
    assert!(
        name.len() <= 100 && link.len() <= 100,
        "use a GNU long name entry"
    );
    let mut header = tar::Header::new_gnu();
    {
        let gnu = header.as_gnu_mut().unwrap();
        gnu.name[..name.len()].copy_from_slice(name);
        gnu.linkname[..link.len()].copy_from_slice(link);
    }
    header.set_entry_type(kind);
    header.set_size(size);
    header
}

/// A tar holding `entries`, in order.
pub fn raw_tar(entries: &[Raw<'_>]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for entry in entries {
        if !entry.pax.is_empty() {
            let records: Vec<u8> = entry
                .pax
                .iter()
                .flat_map(|(key, value)| pax_record(key, value))
                .collect();
            let mut header = raw_header(
                tar::EntryType::XHeader,
                b"PaxHeaders/entry",
                b"",
                records.len() as u64,
            );
            header.set_mode(0o644);
            header.set_mtime(MTIME);
            header.set_cksum();
            builder.append(&header, records.as_slice()).unwrap();
        }
        let mut header = raw_header(entry.kind, entry.name, entry.link, entry.data.len() as u64);
        header.set_mode(entry.mode);
        header.set_uid(entry.uid);
        header.set_gid(entry.gid);
        header.set_mtime(entry.mtime);
        header.set_device_major(entry.device.0).unwrap();
        header.set_device_minor(entry.device.1).unwrap();
        header.set_cksum();
        builder.append(&header, entry.data).unwrap();
    }
    builder.into_inner().unwrap()
}

/// Writes a gzipped layer tar to `path` without holding it in memory: `./marker` holding
/// `marker`, then `files` files `./big/NNN` of `file_bytes` zeros each (tiny compressed, slow
/// to unpack: a test has time to signal an unpack in the middle).
pub fn write_big_gzip_layer(path: &Path, files: usize, file_bytes: u64, marker: &str) {
    let out = fs::File::create(path).unwrap();
    let encoder = flate2::write::GzEncoder::new(out, flate2::Compression::fast());
    let mut builder = tar::Builder::new(encoder);
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Directory);
    header.set_mode(0o755);
    header.set_size(0);
    header.set_mtime(MTIME);
    builder
        .append_data(&mut header.clone(), "big/", std::io::empty())
        .unwrap();
    let mut file = tar::Header::new_gnu();
    file.set_mode(0o644);
    file.set_mtime(MTIME);
    file.set_size(marker.len() as u64);
    builder
        .append_data(&mut file.clone(), "marker", marker.as_bytes())
        .unwrap();
    file.set_size(file_bytes);
    for index in 0..files {
        let zeros = std::io::Read::take(std::io::repeat(0), file_bytes);
        builder
            .append_data(&mut file.clone(), format!("big/{index:03}"), zeros)
            .unwrap();
    }
    builder.into_inner().unwrap().finish().unwrap();
}
