//! What an image path holds, and what preparing it yields.
//!
//! [`ImageSource::detect`] looks at a path once: a directory with `oci-layout` and `index.json`
//! is an OCI layout; one with a `manifest.json` list is an unpacked `docker save`; any other
//! non-empty directory is a root file system. A file is read as a tar (gzip sniffed by its
//! magic bytes): `manifest.json` inside → `docker save` archive; `oci-layout` + `index.json` →
//! OCI layout archive; anything else → a rootfs tarball.

use std::fs;
use std::path::{Path, PathBuf};

use super::archive::{file_head, is_zstd, tar_member_names};
use super::error::ImageError;

/// Where an image comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageSource {
    /// A root-filesystem directory, used as the single layer as is (not copied).
    RootfsDir(PathBuf),
    /// A `.tar`, `.tar.gz` or `.tgz` of a root file system: one layer.
    RootfsTarball(PathBuf),
    /// A `docker save` archive (a tar, or the directory it unpacks to).
    DockerArchive(PathBuf),
    /// An OCI image layout, as a directory or a tar of one.
    OciLayout(PathBuf),
}

/// An image ready to stack: overlay lower layers and the image's run config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    pub source: ImageSource,
    /// Layer directories, lowest first (overlay wants them highest first in `lowerdir`).
    pub layers: Vec<PathBuf>,
    /// The run config from the image (none for rootfs directories and tarballs).
    pub config: Option<ImageConfig>,
}

/// The parts of an image config a launch uses. Kept verbatim (not cleaned): these strings are
/// executed, not displayed; display code must pass them through `host::text::clean_str`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageConfig {
    /// `KEY=VALUE` pairs.
    pub env: Vec<String>,
    pub cmd: Vec<String>,
    pub entrypoint: Vec<String>,
    pub working_dir: Option<String>,
    pub user: Option<String>,
}

impl ImageSource {
    /// Names what `path` holds; errors say what was expected instead.
    pub fn detect(path: &Path) -> Result<Self, ImageError> {
        let meta = fs::metadata(path).map_err(|e| ImageError::io(path, e))?;
        if meta.is_dir() {
            return detect_dir(path);
        }
        if !meta.is_file() {
            return Err(ImageError::not_an_image(
                path,
                "neither a directory nor a file",
            ));
        }
        if is_zstd(&file_head(path)?) {
            return Err(ImageError::Unsupported {
                what: format!("zstd-compressed archive {}", path.display()),
                hint: "decompress it first (zstd -d)".into(),
            });
        }
        let names = tar_member_names(path).map_err(|e| {
            ImageError::not_an_image(path, format!("not a readable tar or tar.gz ({e})"))
        })?;
        if names.is_empty() {
            return Err(ImageError::not_an_image(path, "an empty archive"));
        }
        let has = |wanted: &str| names.iter().any(|n| n == wanted);
        if has("manifest.json") {
            Ok(ImageSource::DockerArchive(path.to_path_buf()))
        } else if has("oci-layout") && has("index.json") {
            Ok(ImageSource::OciLayout(path.to_path_buf()))
        } else {
            Ok(ImageSource::RootfsTarball(path.to_path_buf()))
        }
    }

    /// The path the source was detected at.
    pub fn path(&self) -> &Path {
        match self {
            ImageSource::RootfsDir(p)
            | ImageSource::RootfsTarball(p)
            | ImageSource::DockerArchive(p)
            | ImageSource::OciLayout(p) => p,
        }
    }
}

fn detect_dir(path: &Path) -> Result<ImageSource, ImageError> {
    if path.join("oci-layout").is_file() && path.join("index.json").is_file() {
        return Ok(ImageSource::OciLayout(path.to_path_buf()));
    }
    let manifest = path.join("manifest.json");
    if manifest.is_file() {
        // Only a JSON list is a docker manifest; a rootfs may hold an unrelated manifest.json.
        let text = fs::read(&manifest).map_err(|e| ImageError::io(&manifest, e))?;
        if serde_json::from_slice::<Vec<serde_json::Value>>(&text).is_ok() {
            return Ok(ImageSource::DockerArchive(path.to_path_buf()));
        }
    }
    let mut entries = fs::read_dir(path).map_err(|e| ImageError::io(path, e))?;
    if entries.next().is_none() {
        return Err(ImageError::not_an_image(path, "an empty directory"));
    }
    Ok(ImageSource::RootfsDir(path.to_path_buf()))
}
