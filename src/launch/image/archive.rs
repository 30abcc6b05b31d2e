//! Named files inside an image bundle — a directory or a tar archive — read without unpacking
//! the bundle: `docker save` archives and OCI layouts are looked up by name
//! (`manifest.json`, `blobs/sha256/<hex>`), and each layer is streamed straight out of the
//! outer tar.
//!
//! Names come from the bundle's own manifests (strangers): a name with `..` or an absolute
//! path is refused, so a lookup never leaves the bundle. A gzipped outer tar is decompressed
//! once into a spool file (removed on drop, bounded like a layer) so its members can be
//! reached by offset. The outer tar is read under a layer's bounds (`unpack::meter`: at most
//! 16 MiB of headers per entry, the size limit for the whole stream) and stops at SIGINT,
//! SIGTERM and SIGHUP (`layer::stream::Watched`). Every file is opened through [`open`]:
//! regular files only, without blocking, and a directory bundle's members never out of the
//! directory.

pub mod open;
pub mod shared;

use foldhash::HashMap;
use std::io::{self, BufRead, BufReader, Read};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::error::ImageError;
use super::layer::stream::{Bounded, Watched};
use super::layer::{interrupted_or, over_bytes};
use super::unpack::meter::{self, Crossed, Meter, Metered};
use open::{Base, open_regular};
pub use shared::ImageFile;

/// The largest manifest or config JSON read into memory, in bytes (real ones are a few KiB).
const JSON_LIMIT_BYTES: u64 = 16 * 1024 * 1024;
/// How many symlink hops a member name may take inside an outer tar (old `docker save` links
/// repeated layers to the first copy).
const SYMLINK_HOPS: usize = 8;

/// Where a member's data sits inside the (uncompressed) outer tar: byte offset and length.
#[derive(Debug, Clone, Copy)]
struct Span {
    offset: u64,
    size: u64,
}

#[derive(Debug, Clone)]
enum Member {
    Data(Span),
    Link(String),
}

/// A bundle's files by name.
pub struct Bundle {
    /// The path the operator gave, for messages.
    origin: PathBuf,
    kind: BundleKind,
}

enum BundleKind {
    Dir {
        path: PathBuf,
        /// Members are resolved below this descriptor (see [`open`]).
        fd: OwnedFd,
    },
    Tar {
        /// The image file as opened once, or its decompressed spool.
        data: ImageFile,
        members: HashMap<String, Member>,
        /// The decompressed copy of a gzipped outer tar; removed with the bundle.
        _spool: Option<SpoolFile>,
    },
}

/// A temporary file removed on drop.
struct SpoolFile(PathBuf);

impl Drop for SpoolFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The first bytes of gzip and zstd streams.
pub fn is_gzip(head: &[u8]) -> bool {
    head.starts_with(&[0x1f, 0x8b])
}

pub fn is_zstd(head: &[u8]) -> bool {
    head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd])
}

/// Reads an opened image file as a plain byte stream, gunzipped when it is gzip.
pub fn open_maybe_gzip(image: &ImageFile) -> Result<Box<dyn Read>, ImageError> {
    let path = image.path();
    let mut buffered = BufReader::new(Watched::new(image.reader()));
    let head = buffered.fill_buf().map_err(|e| ImageError::io(path, e))?;
    if is_zstd(head) {
        return Err(ImageError::Unsupported {
            what: format!("zstd-compressed archive {}", path.display()),
            hint: "decompress it first (zstd -d)".into(),
        });
    }
    if is_gzip(head) {
        Ok(Box::new(flate2::bufread::MultiGzDecoder::new(buffered)))
    } else {
        Ok(Box::new(buffered))
    }
}

/// Turns a member name into a clean relative name (`./a//b` → `a/b`); `None` when it would
/// leave the bundle (`..`, absolute) or is empty.
pub fn clean_member_name(name: &str) -> Option<String> {
    if name.starts_with('/') {
        return None;
    }
    let mut parts = Vec::new();
    for part in name.split('/') {
        match part {
            "" | "." => {}
            ".." => return None,
            other => parts.push(other),
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// Lists the member names of a tar (possibly gzipped), for detection: a plain tar by seeking
/// past each member's data, a gzipped one by decompressing at most `max_bytes` of it. A file
/// that is not a tar is [`ImageError::NotAnImage`] with a reason that never quotes the file:
/// the tar reader's own messages do (a header's name and number fields), and the operator may
/// have pointed at `/etc/shadow`.
pub fn tar_member_names(image: &ImageFile, max_bytes: u64) -> Result<Vec<String>, ImageError> {
    let path = image.path();
    let meter = Meter::new(max_bytes);
    let mut names = Vec::new();
    let mut add = |raw: &[u8]| {
        if let Some(name) = clean_member_name(&String::from_utf8_lossy(raw)) {
            names.push(name);
        }
    };
    let listed = if is_gzip(&image.head()?) {
        let mut archive = tar::Archive::new(Metered::new(open_maybe_gzip(image)?, &meter));
        walk_outer(archive.entries(), &meter, true, |entry| {
            add(&entry.path_bytes())
        })
    } else {
        let file = Watched::new(image.reader());
        let mut archive = tar::Archive::new(Metered::new(file, &meter));
        walk_outer(archive.entries_with_seek(), &meter, false, |entry| {
            add(&entry.path_bytes())
        })
    };
    match listed {
        Ok(()) => Ok(names),
        Err(e) => Err(outer_error(path, &meter, max_bytes, |_| {
            ImageError::not_an_image(path, not_a_tar_reason(&e))
        })),
    }
}

/// Visits every entry of an outer tar under the same bounds as a layer's (see
/// `unpack::meter`): what the tar reader reads between two entries (headers, GNU long names,
/// PAX records, which it holds in memory whole) is bounded per entry, and every byte read
/// counts against the stream bound. A stream that cannot seek has each entry's data read
/// here (`drain`), so skipping it never counts as headers.
fn walk_outer<'a, R: Read + 'a>(
    entries: io::Result<tar::Entries<'a, R>>,
    meter: &Meter,
    drain: bool,
    mut visit: impl FnMut(&tar::Entry<'a, R>),
) -> io::Result<()> {
    let mut entries = entries?;
    loop {
        meter.seeking_entry();
        let next = entries.next();
        meter.entry_found();
        let Some(entry) = next else {
            return Ok(());
        };
        let mut entry = entry?;
        visit(&entry);
        if drain {
            io::copy(&mut entry, &mut io::sink())?;
        }
    }
}

/// A failed read of an outer tar: the bound it crossed, the signal that stopped it, or
/// `otherwise` (which must not quote the tar reader's message: it holds header bytes).
fn outer_error(
    path: &Path,
    meter: &Meter,
    max_bytes: u64,
    otherwise: impl FnOnce(()) -> ImageError,
) -> ImageError {
    match meter.crossed() {
        Some(Crossed::StreamSize) => over_bytes(&path.display().to_string(), max_bytes),
        Some(Crossed::EntryMetadata) => ImageError::corrupt(
            path.display().to_string(),
            meter::headers_too_large(meter.bytes_read()),
        ),
        None => interrupted_or(otherwise(())),
    }
}

/// Why a file did not read as a tar, in isotop's words only (see [`tar_member_names`]).
pub(crate) fn not_a_tar_reason(error: &io::Error) -> &'static str {
    match error.kind() {
        io::ErrorKind::UnexpectedEof => {
            "a corrupt or cut-short archive: it ends in the middle of an entry"
        }
        io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData => {
            "not a tar archive, or a corrupt one: its headers are not tar headers (or its gzip \
             stream is damaged)"
        }
        _ => "it is not a readable tar or tar.gz archive",
    }
}

impl Bundle {
    /// A bundle laid out as a directory (an OCI layout, an unpacked `docker save`).
    pub fn dir(path: &Path) -> Result<Self, ImageError> {
        Ok(Bundle {
            origin: path.to_path_buf(),
            kind: BundleKind::Dir {
                path: path.to_path_buf(),
                fd: open::open_dir(path)?,
            },
        })
    }

    /// A bundle packed as a tar, read through `image` (opened once); a gzipped one is
    /// decompressed into `spool_dir` (an existing, private directory) first, at most
    /// `max_bytes` of it.
    pub fn tar(image: &ImageFile, spool_dir: &Path, max_bytes: u64) -> Result<Self, ImageError> {
        let path = image.path();
        let mut spool = None;
        let mut data = image.clone();
        if is_gzip(&image.head()?) {
            let spool_path = spool_dir.join(format!(
                "spool-{}-{}.tar",
                std::process::id(),
                crate::launch::store::dirs::unique_suffix()
            ));
            let mut out = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .mode(0o600)
                .custom_flags(nix::libc::O_NOFOLLOW)
                .open(&spool_path)
                .map_err(|e| ImageError::io(&spool_path, e))?;
            let guard = SpoolFile(spool_path.clone());
            let mut decompressed = Bounded::new(open_maybe_gzip(image)?, max_bytes);
            if let Err(e) = io::copy(&mut decompressed, &mut out) {
                return Err(if decompressed.exceeded() {
                    over_bytes(&path.display().to_string(), max_bytes)
                } else {
                    interrupted_or(ImageError::corrupt(path.display().to_string(), e))
                });
            }
            spool = Some(guard);
            // The spool is read through the descriptor it was written with, never by path.
            data = ImageFile::from_file(&spool_path, out);
        }
        let members = index_tar(&data, path, max_bytes)?;
        Ok(Bundle {
            origin: path.to_path_buf(),
            kind: BundleKind::Tar {
                data,
                members,
                _spool: spool,
            },
        })
    }

    /// The operator-given path, for messages.
    pub fn origin(&self) -> &Path {
        &self.origin
    }

    /// The operator-given path and a member name, for messages.
    pub fn describe(&self, name: &str) -> String {
        format!("{} in {}", name, self.origin.display())
    }

    /// Opens a member for streaming; its length in bytes is returned beside it.
    pub fn open(&self, name: &str) -> Result<(Box<dyn Read + '_>, u64), ImageError> {
        let missing = || ImageError::corrupt(self.describe(name), "missing from the image");
        let clean = clean_member_name(name)
            .ok_or_else(|| ImageError::corrupt(self.describe(name), "name leaves the image"))?;
        match &self.kind {
            BundleKind::Dir { path: dir, fd } => {
                let shown = dir.join(&clean);
                let file = open_regular(Base::Beneath(fd.as_fd()), Path::new(&clean), &shown)
                    .map_err(|e| match e {
                        ImageError::Io { source, .. }
                            if source.kind() == io::ErrorKind::NotFound =>
                        {
                            missing()
                        }
                        other => other,
                    })?;
                let size = file
                    .metadata()
                    .map_err(|e| ImageError::io(&shown, e))?
                    .len();
                Ok((Box::new(file), size))
            }
            BundleKind::Tar { data, members, .. } => {
                let span = resolve(members, &clean).ok_or_else(missing)?;
                let reader = Watched::new(data.reader_at(span.offset));
                Ok((Box::new(reader.take(span.size)), span.size))
            }
        }
    }

    /// What a member's data is, past names and links (a tar offset, a file's device and
    /// inode): two names of one identity are the same bytes.
    pub fn member_key(&self, name: &str) -> Option<String> {
        let clean = clean_member_name(name)?;
        match &self.kind {
            BundleKind::Dir { fd, .. } => {
                open::stat_at(Base::Beneath(fd.as_fd()), Path::new(&clean))
                    .ok()
                    .map(|stat| format!("{}:{}", stat.st_dev, stat.st_ino))
            }
            BundleKind::Tar { members, .. } => {
                resolve(members, &clean).map(|span| format!("@{}", span.offset))
            }
        }
    }

    /// True when the bundle has a member of that name.
    pub fn has(&self, name: &str) -> bool {
        let Some(clean) = clean_member_name(name) else {
            return false;
        };
        match &self.kind {
            BundleKind::Dir { fd, .. } => open::is_regular_beneath(fd, Path::new(&clean)),
            BundleKind::Tar { members, .. } => resolve(members, &clean).is_some(),
        }
    }

    /// Reads a small member whole (manifests, configs), refusing anything past the JSON limit.
    pub fn read_small(&self, name: &str) -> Result<Vec<u8>, ImageError> {
        let (reader, size) = self.open(name)?;
        if size > JSON_LIMIT_BYTES {
            return Err(ImageError::corrupt(
                self.describe(name),
                format!("{size} bytes is too large for a manifest (limit {JSON_LIMIT_BYTES})"),
            ));
        }
        let mut bytes = Vec::new();
        reader
            .take(JSON_LIMIT_BYTES)
            .read_to_end(&mut bytes)
            .map_err(|e| ImageError::corrupt(self.describe(name), e))?;
        if (bytes.len() as u64) < size {
            return Err(ImageError::corrupt(self.describe(name), "truncated"));
        }
        Ok(bytes)
    }
}

/// Follows a member's links to its data.
fn resolve(members: &HashMap<String, Member>, name: &str) -> Option<Span> {
    let mut current = name.to_string();
    for _ in 0..SYMLINK_HOPS {
        match members.get(&current)? {
            Member::Data(span) => return Some(*span),
            Member::Link(target) => current = target.clone(),
        }
    }
    None
}

/// Resolves `..` inside a joined member name, refusing to climb above the bundle root.
fn normalize_joined(name: &str) -> Option<String> {
    if name.starts_with('/') {
        return None;
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in name.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            other => parts.push(other),
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// Records where every regular member's data starts in an uncompressed tar, and where links
/// point (as member names); read under the outer tar's bounds ([`walk_outer`]).
fn index_tar(
    data: &ImageFile,
    origin: &Path,
    max_bytes: u64,
) -> Result<HashMap<String, Member>, ImageError> {
    let meter = Meter::new(max_bytes);
    let handle = Watched::new(data.reader());
    let mut archive = tar::Archive::new(Metered::new(handle, &meter));
    let mut members = HashMap::default();
    let walked = walk_outer(archive.entries_with_seek(), &meter, false, |entry| {
        if let Some((name, member)) = member_of(entry) {
            members.insert(name, member);
        }
    });
    match walked {
        Ok(()) => Ok(members),
        // The tar reader's messages quote header fields: isotop's own words instead.
        Err(e) => Err(outer_error(origin, &meter, max_bytes, |_| {
            ImageError::corrupt(origin.display().to_string(), not_a_tar_reason(&e))
        })),
    }
}

/// What one outer tar entry is to the index: a member's data, or a link to another member.
fn member_of<R: Read>(entry: &tar::Entry<'_, R>) -> Option<(String, Member)> {
    let raw = entry.path_bytes();
    let name = clean_member_name(&String::from_utf8_lossy(&raw))?;
    let kind = entry.header().entry_type();
    if kind.is_file() {
        let span = Span {
            offset: entry.raw_file_position(),
            size: entry.size(),
        };
        return Some((name, Member::Data(span)));
    }
    let target = entry.link_name_bytes()?;
    let target = String::from_utf8_lossy(&target).into_owned();
    // A hard link names its target from the archive root; a symlink from its own folder.
    let resolved = if kind.is_hard_link() {
        clean_member_name(&target)
    } else if kind.is_symlink() {
        let folder = name.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
        normalize_joined(&format!("{folder}/{target}"))
    } else {
        None
    }?;
    Some((name, Member::Link(resolved)))
}
