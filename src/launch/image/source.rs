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
//! A file is opened once, at detection ([`ImagePath`]): detection and preparation read that
//! descriptor, so swapping the path for a symlink afterwards changes nothing isotop reads.

use std::fs;
use std::io::Read;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use super::archive::open::{Base, is_regular_beneath, kind_name, open_dir, open_regular};
use super::archive::{ImageFile, is_zstd, tar_member_names};
use super::error::ImageError;
use super::unpack::UnpackLimits;

/// The largest `manifest.json` read to tell a docker directory from a rootfs, in bytes.
const MANIFEST_LIMIT_BYTES: u64 = 16 * 1024 * 1024;

/// Where an image comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageSource {
    /// A root-filesystem directory, used as the single layer as is (not copied).
    RootfsDir(ImagePath),
    /// A `.tar`, `.tar.gz` or `.tgz` of a root file system: one layer.
    RootfsTarball(ImagePath),
    /// A `docker save` archive (a tar, or the directory it unpacks to).
    DockerArchive(ImagePath),
    /// An OCI image layout, as a directory or a tar of one.
    OciLayout(ImagePath),
}

/// An image's path and, once detection opened it, the image file itself: everything after
/// detection reads that descriptor ([`ImageFile`]), so the path is never resolved again.
/// Equal when the paths are (the descriptor is how it is read, not what it is).
#[derive(Debug, Clone)]
pub struct ImagePath {
    path: PathBuf,
    file: Option<ImageFile>,
}

impl ImagePath {
    /// The image file: the one detection opened, else opened now (once per preparation).
    pub fn file(&self) -> Result<ImageFile, ImageError> {
        match &self.file {
            Some(file) => Ok(file.clone()),
            None => ImageFile::open(&self.path),
        }
    }

    /// True when detection opened it as a file.
    pub fn is_opened_file(&self) -> bool {
        self.file.is_some()
    }
}

impl std::ops::Deref for ImagePath {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.path
    }
}

impl PartialEq for ImagePath {
    fn eq(&self, other: &Self) -> bool {
        self.path == other.path
    }
}

impl Eq for ImagePath {}

impl From<PathBuf> for ImagePath {
    fn from(path: PathBuf) -> Self {
        ImagePath { path, file: None }
    }
}

impl From<&Path> for ImagePath {
    fn from(path: &Path) -> Self {
        path.to_path_buf().into()
    }
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
        // Opened once: everything after reads this descriptor, never the path again.
        let image = ImageFile::open(path)?;
        if is_zstd(&image.head()?) {
            return Err(ImageError::Unsupported {
                what: format!("zstd-compressed archive {}", path.display()),
                hint: "decompress it first (zstd -d)".into(),
            });
        }
        let names = tar_member_names(&image, max_bytes)?;
        if names.is_empty() {
            return Err(ImageError::not_an_image(path, "an empty archive"));
        }
        let has = |wanted: &str| names.iter().any(|n| n == wanted);
        let opened = ImagePath {
            path: path.to_path_buf(),
            file: Some(image),
        };
        if has("manifest.json") {
            Ok(ImageSource::DockerArchive(opened))
        } else if has("oci-layout") && has("index.json") {
            Ok(ImageSource::OciLayout(opened))
        } else {
            Ok(ImageSource::RootfsTarball(opened))
        }
    }

    /// The path the source was detected at.
    pub fn path(&self) -> &Path {
        match self {
            ImageSource::RootfsDir(p)
            | ImageSource::RootfsTarball(p)
            | ImageSource::DockerArchive(p)
            | ImageSource::OciLayout(p) => &p.path,
        }
    }
}

fn detect_dir(path: &Path) -> Result<ImageSource, ImageError> {
    // A directory's members are looked at below it: a symlinked `manifest.json` is never
    // followed out of the directory.
    let dir = open_dir(path)?;
    let member = |name: &str| is_regular_beneath(&dir, Path::new(name));
    if member("oci-layout") && member("index.json") {
        return Ok(ImageSource::OciLayout(path.into()));
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
            return Ok(ImageSource::DockerArchive(path.into()));
        }
    }
    let mut entries = fs::read_dir(path).map_err(|e| ImageError::io(path, e))?;
    if entries.next().is_none() {
        return Err(ImageError::not_an_image(path, "an empty directory"));
    }
    Ok(ImageSource::RootfsDir(path.into()))
}
