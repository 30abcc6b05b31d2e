//! Reading image manifests — `docker save`'s `manifest.json`, OCI's `index.json` → manifest →
//! config and layer descriptors — and preparing each layer through the [`LayerCache`].
//!
//! Digests named by OCI descriptors are checked: small blobs (manifests, configs) when read,
//! layers while they are unpacked. A descriptor whose digest is not `sha256:<64 hex>` is
//! refused before it becomes a path. Every layer is also checked against the config's
//! `rootfs.diff_ids` (the sha256 of its uncompressed tar): the config must name one per layer.
//! A layer listed twice (the same digest) is stacked once, at its highest place: the lower
//! copy is entirely shadowed by the higher one, and overlayfs refuses a lower dir twice.
//! Parse errors give a position, never the text they choke on. An image's layers are stacked
//! through [`stack`]: at most [`MAX_LAYERS`], a repeated member read once, all within the
//! image-wide bound.

mod stack;

pub use stack::{IMAGE_BYTES_ENV, MAX_LAYERS};

use foldhash::HashSet;
use std::path::PathBuf;

use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::archive::Bundle;
use super::digest::Digest;
use super::error::ImageError;
use super::layer::stream::Watched;
use super::layer::{Compression, LayerBlob, LayerCache};
use super::source::{Image, ImageConfig, ImagePath, ImageSource};
use stack::Stack;

/// How deep OCI indexes may nest (index → index → manifest).
const INDEX_DEPTH: usize = 4;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DockerManifestEntry {
    config: String,
    #[serde(default)]
    layers: Vec<String>,
}

#[derive(Deserialize)]
struct ConfigFile {
    #[serde(default)]
    config: Option<RunConfig>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct RunConfig {
    #[serde(default)]
    env: Option<Vec<String>>,
    #[serde(default)]
    cmd: Option<Vec<String>>,
    #[serde(default)]
    entrypoint: Option<Vec<String>>,
    #[serde(default)]
    working_dir: Option<String>,
    #[serde(default)]
    user: Option<String>,
}

/// The config's layer checksums (read apart from the run config, which others extend).
#[derive(Deserialize)]
struct ConfigRootfs {
    #[serde(default)]
    rootfs: Option<RootfsIds>,
}

#[derive(Deserialize)]
struct RootfsIds {
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    diff_ids: Vec<String>,
}

#[derive(Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
struct Descriptor {
    #[serde(default)]
    media_type: String,
    digest: String,
    #[serde(default)]
    size: Option<u64>,
    #[serde(default)]
    platform: Option<Platform>,
}

#[derive(Deserialize, Clone)]
struct Platform {
    #[serde(default)]
    architecture: String,
    #[serde(default)]
    os: String,
}

/// An OCI index (`index.json`) or an OCI/docker image manifest: one of the lists is filled.
#[derive(Deserialize)]
struct IndexOrManifest {
    #[serde(default)]
    manifests: Vec<Descriptor>,
    #[serde(default)]
    config: Option<Descriptor>,
    #[serde(default)]
    layers: Vec<Descriptor>,
}

pub fn prepare(cache: &LayerCache, source: &ImageSource) -> Result<Image, ImageError> {
    let (layers, config) = match source {
        ImageSource::RootfsDir(dir) => (vec![dir.to_path_buf()], None),
        ImageSource::RootfsTarball(path) => {
            let name = path.display().to_string();
            let image = path.file()?;
            let open = || -> Result<Box<dyn std::io::Read>, ImageError> {
                Ok(Box::new(Watched::new(image.reader())))
            };
            let blob = LayerBlob {
                name,
                expected: None,
                diff_id: None,
                compression: Compression::Sniff,
                open: &open,
            };
            (vec![cache.ensure_layer(&blob)?], None)
        }
        ImageSource::DockerArchive(path) => {
            let bundle = open_bundle(cache, path)?;
            prepare_docker(cache, &bundle)?
        }
        ImageSource::OciLayout(path) => {
            let bundle = open_bundle(cache, path)?;
            prepare_oci(cache, &bundle)?
        }
    };
    Ok(Image {
        source: source.clone(),
        layers: stack_once(layers),
        config,
    })
}

/// Keeps each layer directory once, at its highest place (see the module contract).
fn stack_once(layers: Vec<PathBuf>) -> Vec<PathBuf> {
    let mut seen = HashSet::default();
    let mut kept: Vec<PathBuf> = layers
        .into_iter()
        .rev()
        .filter(|layer| seen.insert(layer.clone()))
        .collect();
    kept.reverse();
    kept
}

/// The bundle at `path`: through the file detection opened (never the path again), else a
/// directory, else the file opened now.
fn open_bundle(cache: &LayerCache, path: &ImagePath) -> Result<Bundle, ImageError> {
    if !path.is_opened_file() && path.is_dir() {
        Bundle::dir(path)
    } else {
        Bundle::tar(&path.file()?, &cache.tmp_dir(), cache.limits().max_bytes)
    }
}

fn parse_json<T: DeserializeOwned>(
    bundle: &Bundle,
    name: &str,
    bytes: &[u8],
) -> Result<T, ImageError> {
    serde_json::from_slice(bytes)
        .map_err(|e| ImageError::corrupt(bundle.describe(name), json_error(&e)))
}

/// A JSON error in isotop's words: what kind and where, never the text it choked on (serde
/// quotes strings it did not expect).
fn json_error(error: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let what = match error.classify() {
        Category::Io => "unreadable",
        Category::Syntax => "not valid JSON",
        Category::Data => "JSON of the wrong shape for this file",
        Category::Eof => "JSON that ends too early",
    };
    format!("{what} (line {}, column {})", error.line(), error.column())
}

/// The config's `rootfs.diff_ids`, one per layer (`layers` of them).
fn diff_ids(
    bundle: &Bundle,
    name: &str,
    bytes: &[u8],
    layers: usize,
) -> Result<Vec<Digest>, ImageError> {
    let corrupt = |why: String| ImageError::corrupt(bundle.describe(name), why);
    let config: ConfigRootfs = parse_json(bundle, name, bytes)?;
    let Some(rootfs) = config.rootfs else {
        return Err(corrupt(
            "it has no rootfs.diff_ids (every docker and OCI image config lists the checksum \
             of each layer there)"
                .into(),
        ));
    };
    if rootfs.kind != "layers" {
        return Err(corrupt(format!(
            "rootfs.type is {:?}, not \"layers\"",
            crate::host::text::clean_str(&rootfs.kind)
        )));
    }
    if rootfs.diff_ids.len() != layers {
        return Err(corrupt(format!(
            "rootfs.diff_ids lists {} layer checksums for the manifest's {layers} layers",
            rootfs.diff_ids.len()
        )));
    }
    rootfs
        .diff_ids
        .iter()
        .enumerate()
        .map(|(index, text)| {
            Digest::parse(text).ok_or_else(|| {
                corrupt(format!(
                    "rootfs.diff_ids[{index}] is not a sha256 digest (sha256:<64 hex>)"
                ))
            })
        })
        .collect()
}

/// `docker save` names the config by its digest (`<hex>.json`, or `blobs/sha256/<hex>` since
/// Docker 25): checked when it does, as OCI configs are.
fn check_named_digest(bundle: &Bundle, name: &str, bytes: &[u8]) -> Result<(), ImageError> {
    let stem = name.strip_suffix(".json").unwrap_or(name);
    let stem = stem.rsplit('/').next().unwrap_or(stem);
    let Some(named) = Digest::parse(stem) else {
        return Ok(());
    };
    let actual = Digest::of_bytes(bytes);
    if actual != named {
        return Err(ImageError::DigestMismatch {
            what: bundle.describe(name),
            expected: named.hex().to_string(),
            actual: actual.hex().to_string(),
        });
    }
    Ok(())
}

fn prepare_docker(
    cache: &LayerCache,
    bundle: &Bundle,
) -> Result<(Vec<std::path::PathBuf>, Option<ImageConfig>), ImageError> {
    let bytes = bundle.read_small("manifest.json")?;
    let entries: Vec<DockerManifestEntry> = parse_json(bundle, "manifest.json", &bytes)?;
    // `docker save` of several images lists each; the first is the one asked for first.
    let entry = entries
        .into_iter()
        .next()
        .ok_or_else(|| ImageError::corrupt(bundle.describe("manifest.json"), "lists no image"))?;
    // Every layer must be in the image before anything else is believed of the manifest.
    for name in &entry.layers {
        if super::archive::clean_member_name(name).is_none() {
            return Err(ImageError::corrupt(
                bundle.describe(name),
                "name leaves the image",
            ));
        }
    }
    let config_bytes = bundle.read_small(&entry.config)?;
    check_named_digest(bundle, &entry.config, &config_bytes)?;
    let config = run_config(bundle, &entry.config, &config_bytes)?;
    let mut stack = Stack::new(
        cache,
        bundle.origin().display().to_string(),
        entry.layers.len(),
    )?;
    let diff_ids = diff_ids(bundle, &entry.config, &config_bytes, entry.layers.len())?;
    for (name, diff_id) in entry.layers.iter().zip(diff_ids) {
        let open = || bundle.open(name).map(|(reader, _)| reader);
        let blob = LayerBlob {
            name: bundle.describe(name),
            expected: None,
            diff_id: Some(diff_id),
            compression: Compression::Sniff,
            open: &open,
        };
        stack.push(bundle.member_key(name), &blob)?;
    }
    Ok((stack.layers, Some(config)))
}

fn run_config(bundle: &Bundle, name: &str, bytes: &[u8]) -> Result<ImageConfig, ImageError> {
    let file: ConfigFile = parse_json(bundle, name, bytes)?;
    let run = file.config.unwrap_or_default();
    Ok(ImageConfig {
        env: run.env.unwrap_or_default(),
        cmd: run.cmd.unwrap_or_default(),
        entrypoint: run.entrypoint.unwrap_or_default(),
        working_dir: run.working_dir.filter(|w| !w.is_empty()),
        user: run.user.filter(|u| !u.is_empty()),
    })
}

fn blob_name(bundle: &Bundle, descriptor: &Descriptor) -> Result<(String, Digest), ImageError> {
    let digest = Digest::parse(&descriptor.digest).ok_or_else(|| ImageError::Unsupported {
        what: format!(
            "digest {:?} in {}",
            descriptor.digest,
            bundle.describe("index.json")
        ),
        hint: "only sha256 digests are supported".into(),
    })?;
    Ok((format!("blobs/sha256/{}", digest.hex()), digest))
}

/// Reads a small blob named by a descriptor and checks its digest.
fn read_verified(
    bundle: &Bundle,
    descriptor: &Descriptor,
) -> Result<(String, Vec<u8>), ImageError> {
    let (name, digest) = blob_name(bundle, descriptor)?;
    let bytes = bundle.read_small(&name)?;
    let actual = Digest::of_bytes(&bytes);
    if actual != digest {
        return Err(ImageError::DigestMismatch {
            what: bundle.describe(&name),
            expected: digest.hex().to_string(),
            actual: actual.hex().to_string(),
        });
    }
    Ok((name, bytes))
}

/// The OCI/Go name of this machine's architecture.
fn oci_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        other => other,
    }
}

/// Picks this machine's manifest from an index: linux on our architecture, else the first.
fn pick(manifests: &[Descriptor]) -> Option<&Descriptor> {
    manifests
        .iter()
        .find(|d| {
            d.platform
                .as_ref()
                .is_some_and(|p| p.os == "linux" && p.architecture == oci_arch())
        })
        .or_else(|| manifests.first())
}

fn prepare_oci(
    cache: &LayerCache,
    bundle: &Bundle,
) -> Result<(Vec<std::path::PathBuf>, Option<ImageConfig>), ImageError> {
    let bytes = bundle.read_small("index.json")?;
    let mut current: IndexOrManifest = parse_json(bundle, "index.json", &bytes)?;
    let mut current_name = "index.json".to_string();
    for _ in 0..INDEX_DEPTH {
        if current.config.is_some() {
            break;
        }
        let chosen = pick(&current.manifests)
            .ok_or_else(|| {
                ImageError::corrupt(bundle.describe(&current_name), "lists no manifest")
            })?
            .clone();
        let (name, bytes) = read_verified(bundle, &chosen)?;
        current = parse_json(bundle, &name, &bytes)?;
        current_name = name;
    }
    let config_descriptor = current.config.as_ref().ok_or_else(|| {
        ImageError::corrupt(
            bundle.describe(&current_name),
            "no image manifest with a config",
        )
    })?;
    let (config_name, config_bytes) = read_verified(bundle, config_descriptor)?;
    let config = run_config(bundle, &config_name, &config_bytes)?;
    let mut stack = Stack::new(
        cache,
        bundle.origin().display().to_string(),
        current.layers.len(),
    )?;
    let diff_ids = diff_ids(bundle, &config_name, &config_bytes, current.layers.len())?;
    for (descriptor, diff_id) in current.layers.iter().zip(diff_ids) {
        let (name, digest) = blob_name(bundle, descriptor)?;
        let compression =
            layer_compression(&descriptor.media_type).ok_or_else(|| ImageError::Unsupported {
                what: format!("layer media type {:?} ({})", descriptor.media_type, name),
                hint: "use gzip or uncompressed layers".into(),
            })?;
        if let Some(size) = descriptor.size
            && bundle.has(&name)
        {
            let (_, stored) = bundle.open(&name)?;
            if stored != size {
                return Err(ImageError::corrupt(
                    bundle.describe(&name),
                    format!("{stored} bytes, the manifest says {size}"),
                ));
            }
        }
        let open = || bundle.open(&name).map(|(reader, _)| reader);
        let blob = LayerBlob {
            name: bundle.describe(&name),
            expected: Some(digest),
            diff_id: Some(diff_id),
            compression,
            open: &open,
        };
        stack.push(bundle.member_key(&name), &blob)?;
    }
    Ok((stack.layers, Some(config)))
}

/// Compression by OCI/docker layer media type; `None` for ones isotop cannot unpack (zstd).
fn layer_compression(media_type: &str) -> Option<Compression> {
    if media_type.contains("zstd") {
        None
    } else if media_type.ends_with("+gzip") || media_type.ends_with(".gzip") {
        Some(Compression::Gzip)
    } else if media_type.ends_with(".tar") || media_type.ends_with("tar") {
        Some(Compression::None)
    } else {
        Some(Compression::Sniff)
    }
}
