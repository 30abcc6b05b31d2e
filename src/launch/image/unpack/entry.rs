//! One unpack in progress: each tar entry placed in the layer by kind (directory, file,
//! symlink, hard link, device node, whiteout, opaque marker), through [`LayerTree`]'s fds, and
//! the deferred directory metadata applied at the end. See the parent module for the rules.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use rustix::fs::{AtFlags, FileType, Mode, OFlags, XattrFlags};

use super::meta::{self, DeferredDirs, Metadata};
use super::meter::{MAX_ENTRY_METADATA, Meter};
use super::names::LayerPath;
use super::sparse::{self, PaxSparse, is_metadata_entry, metadata_kind, pax_sparse};
use super::tree::{Cleared, LayerTree, NodeId, PlaceError};
use super::{
    DIR_MODE_WHILE_UNPACKING, OPAQUE_MARKER, OVERLAY_OPAQUE_XATTR, Privileges, SKIPPED_SHOWN,
    UnpackLimits, UnpackReport, WHITEOUT_PREFIX, shown_bytes,
};
use crate::launch::image::error::ImageError;

/// One unpack in progress.
pub(super) struct Unpack<'a> {
    pub(super) layer: &'a str,
    pub(super) dest: &'a Path,
    pub(super) privileges: Privileges,
    pub(super) limits: UnpackLimits,
    pub(super) meter: &'a Meter,
    tree: LayerTree,
    dirs: DeferredDirs,
    report: UnpackReport,
    /// Entries seen, written or not.
    seen: u64,
    /// File sizes written so far, sparse files at their full size.
    content_bytes: u64,
}

/// The tar entry being unpacked, for messages.
pub(super) struct Shown<'s>(pub(super) &'s str);

impl<'a> Unpack<'a> {
    pub(super) fn new(
        layer: &'a str,
        dest: &'a Path,
        privileges: Privileges,
        limits: UnpackLimits,
        meter: &'a Meter,
    ) -> Result<Self, ImageError> {
        Ok(Unpack {
            layer,
            dest,
            privileges,
            limits,
            meter,
            tree: LayerTree::open(dest).map_err(|e| ImageError::io(dest, e))?,
            dirs: DeferredDirs::default(),
            report: UnpackReport::default(),
            seen: 0,
            content_bytes: 0,
        })
    }

    /// Places one entry (or refuses it, or lists it as skipped).
    pub(super) fn entry<E: Read>(
        &mut self,
        entry: &mut tar::Entry<'_, E>,
    ) -> Result<(), ImageError> {
        self.seen += 1;
        if self.seen > self.limits.max_entries {
            return Err(self.entry_limit());
        }
        if is_metadata_entry(entry.header().entry_type()) {
            return self.metadata_entry(entry);
        }
        let pax_sparse = pax_sparse(entry);
        let raw_name = match &pax_sparse {
            Ok(Some(PaxSparse {
                name: Some(name), ..
            })) => name.clone(),
            _ => entry.path_bytes().into_owned(),
        };
        let shown_name = crate::host::text::clean_str(&String::from_utf8_lossy(&raw_name));
        let shown = Shown(&shown_name);
        let pax_sparse = pax_sparse.map_err(|why| self.refuse(&shown, &why))?;
        let Some(path) = LayerPath::parse(&raw_name).map_err(|why| self.refuse(&shown, &why))?
        else {
            return Ok(()); // the layer root itself ("./"): nothing to create
        };
        let parent = self
            .tree
            .parent_of(&path)
            .map_err(|e| self.place_error(&shown, e))?;
        let parent = parent.as_fd();
        let name = path.name();

        if name == OPAQUE_MARKER {
            self.require_root("an opaque-directory marker (.wh..wh..opq)")?;
            rustix::fs::fsetxattr(parent, OVERLAY_OPAQUE_XATTR, b"y", XattrFlags::empty())
                .map_err(|e| self.io_error(path.parent_parts(), e))?;
            self.report.entries += 1;
            return Ok(());
        }
        if let Some(hidden) = name.strip_prefix(WHITEOUT_PREFIX) {
            if hidden.starts_with(WHITEOUT_PREFIX) || hidden.is_empty() {
                self.skip(format!("{shown_name}: AUFS metadata"));
                return Ok(());
            }
            if hidden == b"." || hidden == b".." {
                return Err(self.refuse(&shown, "whiteout of an invalid name"));
            }
            self.require_root("a whiteout (.wh. file)")?;
            let hidden_path = path.sibling(hidden);
            self.clear(parent, &hidden_path, true, &shown)?;
            let dev = rustix::fs::makedev(0, 0);
            rustix::fs::mknodat(
                parent,
                hidden,
                FileType::CharacterDevice,
                Mode::empty(),
                dev,
            )
            .map_err(|e| self.io_error(hidden_path.parts(), e))?;
            self.report.entries += 1;
            return Ok(());
        }

        let meta = Metadata::of(entry.header()).map_err(|why| self.refuse(&shown, &why))?;
        let kind = entry.header().entry_type();
        match kind {
            tar::EntryType::Directory => {
                let made = match self.clear(parent, &path, false, &shown)? {
                    Cleared::KeptDir(made) => made,
                    _ => {
                        rustix::fs::mkdirat(
                            parent,
                            name,
                            Mode::from_raw_mode(DIR_MODE_WHILE_UNPACKING),
                        )
                        .map_err(|e| self.io_error(path.parts(), e))?;
                        let now = LayerTree::node_at(parent, &path)
                            .map_err(|e| self.place_error(&shown, e))?;
                        NodeId::of(&now)
                    }
                };
                self.dirs.record(path, made, meta);
            }
            tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::GNUSparse => {
                let file = self.create_file(parent, &path, &shown, entry, pax_sparse.as_ref())?;
                let content = Content {
                    gnu_sparse: kind == tar::EntryType::GNUSparse,
                    pax_sparse: pax_sparse.as_ref(),
                };
                self.write_content(entry, &file, content, &path)?;
                meta::apply_to_fd(file.as_fd(), &meta, self.privileges)
                    .map_err(|e| self.io_error(path.parts(), e))?;
            }
            tar::EntryType::Symlink => {
                let target = entry
                    .link_name_bytes()
                    .filter(|target| !target.is_empty())
                    .ok_or_else(|| self.refuse(&shown, "symlink without a target"))?
                    .into_owned();
                if target.contains(&0) {
                    return Err(self.refuse(&shown, "its symlink target holds a NUL byte"));
                }
                self.clear(parent, &path, true, &shown)?;
                rustix::fs::symlinkat(target.as_slice(), parent, name)
                    .map_err(|e| self.io_error(path.parts(), e))?;
                meta::apply_to_symlink(parent, name, &meta, self.privileges)
                    .map_err(|e| self.io_error(path.parts(), e))?;
            }
            tar::EntryType::Link => {
                let source = entry
                    .link_name_bytes()
                    .ok_or_else(|| self.refuse(&shown, "hard link without a target"))?
                    .into_owned();
                self.hard_link(parent, &path, &source, &shown)?;
                // The link shares the source's metadata.
            }
            tar::EntryType::Char | tar::EntryType::Block | tar::EntryType::Fifo => {
                let file_type = match kind {
                    tar::EntryType::Char => FileType::CharacterDevice,
                    tar::EntryType::Block => FileType::BlockDevice,
                    _ => FileType::Fifo,
                };
                if file_type != FileType::Fifo && !self.privileges.root {
                    let why = format!("{shown_name}: device node (needs root)");
                    self.skip(why);
                    return Ok(());
                }
                let header = entry.header();
                let dev = rustix::fs::makedev(
                    header.device_major().ok().flatten().unwrap_or(0),
                    header.device_minor().ok().flatten().unwrap_or(0),
                );
                self.clear(parent, &path, true, &shown)?;
                self.make_node(parent, &path, file_type, dev, &meta, &shown)?;
            }
            other => {
                let why = format!("{shown_name}: entry type {other:?}");
                self.skip(why);
                return Ok(());
            }
        }
        self.report.entries += 1;
        Ok(())
    }

    /// A GNU long name/link or PAX header the tar reader handed over instead of merging it into
    /// the next entry (a PAX global header `g`, or an `x`/`L`/`K` header without ustar or GNU
    /// magic): never read into memory (its data is drained by the caller, counted against the
    /// stream bound), refused past the per-entry header bound, and otherwise skipped, as
    /// nothing in it applies to a layer.
    fn metadata_entry<E: Read>(&mut self, entry: &tar::Entry<'_, E>) -> Result<(), ImageError> {
        let kind = entry.header().entry_type();
        let shown_name =
            crate::host::text::clean_str(&String::from_utf8_lossy(&entry.path_bytes()));
        if entry.size() > MAX_ENTRY_METADATA {
            return Err(self.refuse(
                &Shown(&shown_name),
                &format!(
                    "a {} of {} bytes: more than {} MiB of headers",
                    metadata_kind(kind),
                    entry.size(),
                    MAX_ENTRY_METADATA >> 20
                ),
            ));
        }
        self.skip(format!("{shown_name}: {}", metadata_kind(kind)));
        Ok(())
    }

    /// Counts a skipped entry, naming only the first few (see [`UnpackReport::skipped`]).
    fn skip(&mut self, why: String) {
        self.report.skipped_total += 1;
        if self.report.skipped.len() < SKIPPED_SHOWN {
            self.report.skipped.push(why.chars().take(256).collect());
        }
    }

    /// Makes room for a new regular file at `path` and creates it empty, private (0600) and
    /// exclusively, after counting its size against the limit.
    fn create_file<E: Read>(
        &mut self,
        parent: BorrowedFd<'_>,
        path: &LayerPath,
        shown: &Shown<'_>,
        entry: &tar::Entry<'_, E>,
        pax_sparse: Option<&PaxSparse>,
    ) -> Result<File, ImageError> {
        let size = pax_sparse.map_or(entry.size(), |sparse| sparse.real_size);
        self.content_bytes = self.content_bytes.saturating_add(size);
        if self.content_bytes > self.limits.max_bytes {
            return Err(self.size_limit(&format!(
                "holds more than {} of files (at {})",
                shown_bytes(self.limits.max_bytes),
                shown.0
            )));
        }
        self.clear(parent, path, true, shown)?;
        let fd: OwnedFd = rustix::fs::openat(
            parent,
            path.name(),
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o600),
        )
        .map_err(|e| self.io_error(path.parts(), e))?;
        Ok(File::from(fd))
    }

    /// Writes the entry's data into `file`: as is, or with holes for a sparse member.
    fn write_content<E: Read>(
        &self,
        entry: &mut tar::Entry<'_, E>,
        file: &File,
        content: Content<'_>,
        path: &LayerPath,
    ) -> Result<(), ImageError> {
        let expected = entry.size();
        let corrupt = |why: String| {
            self.fail(ImageError::corrupt(
                self.layer,
                format!("{}: {why}", path.shown()),
            ))
        };
        if let Some(sparse) = content.pax_sparse {
            return sparse.write(entry, expected, file).map_err(corrupt);
        }
        let copied = if content.gnu_sparse {
            sparse::copy_with_holes(entry, file).map_err(|e| corrupt(e.to_string()))?
        } else {
            copy_plain(entry, file).map_err(|e| match e {
                CopyError::Read(e) => corrupt(e.to_string()),
                CopyError::Write(e) => self.io_error(path.parts(), e),
            })?
        };
        if copied != expected {
            return Err(corrupt(format!("truncated ({copied} of {expected} bytes)")));
        }
        Ok(())
    }

    /// A hard link at `path` to `source`: an existing non-directory inside the layer, reached
    /// without symlinks. `linkat` without `AT_SYMLINK_FOLLOW` links a symlink itself.
    fn hard_link(
        &mut self,
        parent: BorrowedFd<'_>,
        path: &LayerPath,
        source: &[u8],
        shown: &Shown<'_>,
    ) -> Result<(), ImageError> {
        let shown_source = crate::host::text::clean_str(&String::from_utf8_lossy(source));
        let refuse = |why: String| self.refuse(shown, &format!("hard link target {why}"));
        let source = LayerPath::parse(source)
            .map_err(&refuse)?
            .ok_or_else(|| refuse("is the layer root".into()))?;
        if source == *path {
            return Ok(()); // a link to itself changes nothing
        }
        if source.is_within(path) {
            return Err(refuse(format!(
                "{shown_source} is inside the entry that replaces it"
            )));
        }
        let not_here = || refuse(format!("{shown_source} is not in this layer"));
        let source_parent = match self.tree.existing_dir(source.parent_parts()) {
            Ok(fd) => fd,
            Err(PlaceError::Missing(_)) => return Err(not_here()),
            Err(PlaceError::Refused(why)) => return Err(refuse(format!("{shown_source}: {why}"))),
            Err(e) => return Err(self.place_error(shown, e)),
        };
        match rustix::fs::statat(&source_parent, source.name(), AtFlags::SYMLINK_NOFOLLOW) {
            Ok(stat) if FileType::from_raw_mode(stat.st_mode) == FileType::Directory => {
                return Err(refuse(format!("{shown_source} is a directory")));
            }
            Ok(_) => {}
            Err(rustix::io::Errno::NOENT) => return Err(not_here()),
            Err(e) => return Err(self.io_error(source.parts(), e)),
        }
        self.clear(parent, path, true, shown)?;
        rustix::fs::linkat(
            &source_parent,
            source.name(),
            parent,
            path.name(),
            AtFlags::empty(),
        )
        .map_err(|e| self.io_error(path.parts(), e))
    }

    /// A device node or FIFO at `path` (already cleared), then its metadata: a FIFO through
    /// its own fd (opening one has no side effects), a device by name (see
    /// [`meta::apply_to_device`]).
    fn make_node(
        &self,
        parent: BorrowedFd<'_>,
        path: &LayerPath,
        file_type: FileType,
        dev: rustix::fs::Dev,
        meta: &Metadata,
        shown: &Shown<'_>,
    ) -> Result<(), ImageError> {
        let io_error = |e: io::Error| self.io_error(path.parts(), e);
        rustix::fs::mknodat(
            parent,
            path.name(),
            file_type,
            Mode::from_raw_mode(0o600),
            dev,
        )
        .map_err(|e| io_error(e.into()))?;
        let made = LayerTree::node_at(parent, path).map_err(|e| self.place_error(shown, e))?;
        if file_type != FileType::Fifo {
            return meta::apply_to_device(
                parent,
                path.name(),
                NodeId::of(&made),
                meta,
                self.privileges,
            )
            .map_err(io_error);
        }
        if FileType::from_raw_mode(made.st_mode) != FileType::Fifo {
            return Err(io_error(io::Error::other(
                "the FIFO changed while it was unpacked",
            )));
        }
        let fifo = rustix::fs::openat(
            parent,
            path.name(),
            OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| io_error(e.into()))?;
        let opened = rustix::fs::fstat(&fifo).map_err(|e| io_error(e.into()))?;
        if NodeId::of(&opened) != NodeId::of(&made) {
            return Err(io_error(io::Error::other(
                "the FIFO changed while it was unpacked",
            )));
        }
        meta::apply_to_fd(fifo.as_fd(), meta, self.privileges).map_err(io_error)
    }

    /// [`LayerTree::clear`], forgetting the deferred metadata of a directory it removes.
    fn clear(
        &mut self,
        parent: BorrowedFd<'_>,
        path: &LayerPath,
        replace_dir: bool,
        shown: &Shown<'_>,
    ) -> Result<Cleared, ImageError> {
        let cleared = self
            .tree
            .clear(parent, path, replace_dir)
            .map_err(|e| self.place_error(shown, e))?;
        if cleared == Cleared::RemovedDir {
            self.dirs.forget_tree(path);
        }
        Ok(cleared)
    }

    /// Applies the directories' deferred metadata.
    pub(super) fn finish(self) -> Result<UnpackReport, ImageError> {
        let Unpack {
            dest,
            privileges,
            tree,
            dirs,
            report,
            ..
        } = self;
        dirs.apply(&tree, privileges).map_err(|e| match e {
            PlaceError::Io { at, source } => ImageError::io(&dest.join(at), source),
            PlaceError::Refused(why) | PlaceError::Missing(why) => {
                ImageError::io(dest, io::Error::other(why))
            }
        })?;
        Ok(report)
    }
}

/// How a regular entry's data is laid out.
#[derive(Clone, Copy)]
struct Content<'s> {
    /// An old-GNU sparse member: the data reads with its holes as zeros.
    gnu_sparse: bool,
    /// A PAX sparse member: the data is its segments.
    pax_sparse: Option<&'s PaxSparse>,
}

enum CopyError {
    Read(io::Error),
    Write(io::Error),
}

/// Copies `data` into `file`, telling a bad archive (read) from a full disk (write).
fn copy_plain(data: &mut impl Read, mut file: &File) -> Result<u64, CopyError> {
    let mut buf = vec![0u8; 64 << 10];
    let mut copied = 0u64;
    loop {
        let read = match data.read(&mut buf) {
            Ok(0) => return Ok(copied),
            Ok(read) => read,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(CopyError::Read(e)),
        };
        file.write_all(&buf[..read]).map_err(CopyError::Write)?;
        copied += read as u64;
    }
}
