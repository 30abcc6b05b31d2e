//! What an image path holds, and what preparing it yields.
//!
//! [`ImageSource::detect`] looks at a path once: a directory with `oci-layout` and `index.json`
//! is an OCI layout; one with a `manifest.json` list is an unpacked `docker save`; any other
//! non-empty directory is a root file system. A file is read as a tar (gzip sniffed by its
//! magic bytes): `manifest.json` inside → `docker save` archive; `oci-layout` + `index.json` →
//! OCI layout archive; anything else → a rootfs tarball.
//!
//! The path is the operator's, but what it names may be anyone's: anything but a directory
//! or a regular file (a device, a FIFO) is refused before it is opened, files are opened
//! without blocking (see `archive::open`), and a file that is not an image is refused without
//! quoting a byte of it (`--image /etc/shadow` says what isotop accepts, not what it read).

use std::fs;
use std::io::Read;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use super::archive::open::{Base, is_regular_beneath, kind_name, open_dir, open_regular};
use super::archive::{file_head, is_zstd, tar_member_names};
use super::error::ImageError;
use super::unpack::UnpackLimits;

/// The largest `manifest.json` read to tell a docker directory from a rootfs, in bytes.
const MANIFEST_LIMIT_BYTES: u64 = 16 * 1024 * 1024;

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
        Self::detect_within(path, UnpackLimits::default().max_bytes)
    }

    /// [`ImageSource::detect`], reading at most `max_bytes` of a compressed archive's data.
    pub fn detect_within(path: &Path, max_bytes: u64) -> Result<Self, ImageError> {
        let meta = fs::metadata(path).map_err(|e| ImageError::io(path, e))?;
        if meta.is_dir() {
            return detect_dir(path);
        }
        if !meta.is_file() {
            let kind =
                rustix::fs::FileType::from_raw_mode(std::os::unix::fs::MetadataExt::mode(&meta));
            return Err(ImageError::not_an_image(
                path,
                format!("it is {}, neither a directory nor a file", kind_name(kind)),
            ));
        }
        if is_zstd(&file_head(path)?) {
            return Err(ImageError::Unsupported {
                what: format!("zstd-compressed archive {}", path.display()),
                hint: "decompress it first (zstd -d)".into(),
            });
        }
        let names = tar_member_names(path, max_bytes)?;
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
    // A directory's members are looked at below it: a symlinked `manifest.json` is never
    // followed out of the directory.
    let dir = open_dir(path)?;
    let member = |name: &str| is_regular_beneath(&dir, Path::new(name));
    if member("oci-layout") && member("index.json") {
        return Ok(ImageSource::OciLayout(path.to_path_buf()));
    }
    if member("manifest.json") {
        // Only a JSON list is a docker manifest; a rootfs may hold an unrelated manifest.json.
        let manifest = path.join("manifest.json");
        let file = open_regular(
            Base::Beneath(dir.as_fd()),
            Path::new("manifest.json"),
            &manifest,
        )?;
        let mut text = Vec::new();
        file.take(MANIFEST_LIMIT_BYTES)
            .read_to_end(&mut text)
            .map_err(|e| ImageError::io(&manifest, e))?;
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
