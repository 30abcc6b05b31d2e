//! Safe extraction of one layer tar into an empty directory.
//!
//! Tar entries come from strangers, so nothing an entry says may write outside the layer
//! directory:
//! - a path with a `..` component is refused; an absolute path is taken relative to the layer
//!   root (as docker does), never the host's root;
//! - every parent component is checked with `symlink_metadata` before use: a parent that is a
//!   symlink is refused (symlinks are created as symlinks and never followed while extracting),
//!   a missing parent is created as a plain directory;
//! - files are created with `O_NOFOLLOW | O_EXCL` after removing whatever sat at the path;
//! - a hard link must name an existing non-directory inside the layer, reached the same way.
//!
//! AUFS whiteouts become overlay ones so layers stack as overlay lower dirs: `.wh.NAME` → a
//! character device 0:0 named NAME (needs root), `.wh..wh..opq` → the `trusted.overlay.opaque`
//! xattr = "y" on its directory (needs root). Modes, mtimes (seconds) and, as root, owners are
//! kept; device nodes are created only as root and skipped otherwise (listed in the result).

use std::ffi::OsStr;
use std::fs::{self, OpenOptions};
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use rustix::fs::{AtFlags, CWD, FileType, Mode, Timespec, Timestamps, XattrFlags};

use super::error::ImageError;

/// The AUFS marker prefix docker layers use for deletions.
const WHITEOUT_PREFIX: &str = ".wh.";
/// The AUFS marker that makes its directory opaque (hides every lower entry).
const OPAQUE_MARKER: &str = ".wh..wh..opq";
/// What overlayfs reads to treat a directory as opaque.
const OVERLAY_OPAQUE_XATTR: &str = "trusted.overlay.opaque";

/// What an extraction did besides writing entries.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct UnpackReport {
    /// Entries written (files, dirs, links, whiteouts).
    pub entries: u64,
    /// Entries left out, each with why (device nodes when not root, unknown types).
    pub skipped: Vec<String>,
}

/// Who is extracting: ownership, device nodes and whiteouts need root.
#[derive(Debug, Clone, Copy)]
pub struct Privileges {
    pub root: bool,
}

impl Privileges {
    pub fn current() -> Self {
        Privileges {
            root: nix::unistd::geteuid().is_root(),
        }
    }
}

/// Bounds on one layer: its decompressed tar stream in bytes and its entry count. The
/// defaults hold any real image; an operator raises them (see `layer::limits_from_env`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnpackLimits {
    pub max_bytes: u64,
    pub max_entries: u64,
}

impl Default for UnpackLimits {
    fn default() -> Self {
        UnpackLimits {
            // 16 GiB: larger than the biggest layers of CUDA and ML images (≈ 10 GiB).
            max_bytes: 16 << 30,
            // One million: large node_modules layers hold a few hundred thousand files.
            max_entries: 1_000_000,
        }
    }
}

/// Deferred directory metadata: applied after all entries, since writing children changes a
/// directory's mtime and a read-only mode would block them.
struct DirMeta {
    path: PathBuf,
    mode: u32,
    mtime_secs: u64,
    owner: (u32, u32),
}

/// Unpacks the tar stream `reader` into `dest` (an existing, empty directory). `layer` names
/// the layer in messages.
pub fn unpack_layer<R: Read>(
    reader: R,
    dest: &Path,
    layer: &str,
    privileges: Privileges,
) -> Result<UnpackReport, ImageError> {
    let mut archive = tar::Archive::new(reader);
    let mut report = UnpackReport::default();
    let mut dirs = Vec::new();
    let entries = archive
        .entries()
        .map_err(|e| ImageError::corrupt(layer, e))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| ImageError::corrupt(layer, e))?;
        let raw_name = entry.path_bytes().into_owned();
        let shown = String::from_utf8_lossy(&raw_name).into_owned();
        let refuse = |why: &str| ImageError::UnsafeEntry {
            layer: layer.to_string(),
            entry: crate::host::text::clean_str(&shown),
            why: why.to_string(),
        };
        let Some(relative) = relative_path(&raw_name).map_err(&refuse)? else {
            continue; // the layer root itself ("./"): nothing to create
        };
        let name = relative.file_name().unwrap_or_default().as_bytes().to_vec();
        let parent = ensure_parents(dest, &relative).map_err(|why| refuse(&why))?;

        if name == OPAQUE_MARKER.as_bytes() {
            require_root(
                privileges,
                "an opaque-directory marker (.wh..wh..opq)",
                layer,
            )?;
            rustix::fs::setxattr(&parent, OVERLAY_OPAQUE_XATTR, b"y", XattrFlags::empty())
                .map_err(|e| ImageError::io(&parent, e.into()))?;
            report.entries += 1;
            continue;
        }
        if let Some(hidden) = name.strip_prefix(WHITEOUT_PREFIX.as_bytes()) {
            if hidden.starts_with(WHITEOUT_PREFIX.as_bytes()) || hidden.is_empty() {
                report.skipped.push(format!("{shown}: AUFS metadata"));
                continue;
            }
            if hidden == b"." || hidden == b".." || hidden.contains(&b'/') {
                return Err(refuse("whiteout of an invalid name"));
            }
            require_root(privileges, "a whiteout (.wh. file)", layer)?;
            let target = parent.join(OsStr::from_bytes(hidden));
            clear_path(&target, true).map_err(|e| ImageError::io(&target, e))?;
            let dev = rustix::fs::makedev(0, 0);
            rustix::fs::mknodat(CWD, &target, FileType::CharacterDevice, Mode::empty(), dev)
                .map_err(|e| ImageError::io(&target, e.into()))?;
            report.entries += 1;
            continue;
        }

        let target = dest.join(&relative);
        let header = entry.header();
        let mode = header.mode().map_err(|e| ImageError::corrupt(layer, e))? & 0o7777;
        let mtime_secs = header.mtime().unwrap_or(0);
        let owner = (
            header.uid().unwrap_or(0) as u32,
            header.gid().unwrap_or(0) as u32,
        );
        let kind = header.entry_type();
        let io_err = |e: io::Error| ImageError::io(&target, e);
        match kind {
            tar::EntryType::Directory => {
                let keep = fs::symlink_metadata(&target).is_ok_and(|m| m.is_dir());
                if !keep {
                    clear_path(&target, false).map_err(io_err)?;
                    fs::create_dir(&target).map_err(io_err)?;
                }
                dirs.push(DirMeta {
                    path: target,
                    mode,
                    mtime_secs,
                    owner,
                });
                report.entries += 1;
                continue;
            }
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                clear_path(&target, true).map_err(io_err)?;
                let mut file = OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .custom_flags(nix::libc::O_NOFOLLOW)
                    .open(&target)
                    .map_err(io_err)?;
                let expected = entry.size();
                let copied = io::copy(&mut entry, &mut file)
                    .map_err(|e| ImageError::corrupt(layer, format!("{shown}: {e}")))?;
                if copied != expected {
                    return Err(ImageError::corrupt(
                        layer,
                        format!("{shown}: truncated ({copied} of {expected} bytes)"),
                    ));
                }
            }
            tar::EntryType::Symlink => {
                let link = entry
                    .link_name_bytes()
                    .ok_or_else(|| refuse("symlink without a target"))?
                    .into_owned();
                clear_path(&target, true).map_err(io_err)?;
                std::os::unix::fs::symlink(OsStr::from_bytes(&link), &target).map_err(io_err)?;
            }
            tar::EntryType::Link => {
                let link = entry
                    .link_name_bytes()
                    .ok_or_else(|| refuse("hard link without a target"))?
                    .into_owned();
                let source = hard_link_source(dest, &link).map_err(|why| refuse(&why))?;
                clear_path(&target, true).map_err(io_err)?;
                fs::hard_link(&source, &target).map_err(io_err)?;
                report.entries += 1;
                continue; // the link shares the source's metadata
            }
            tar::EntryType::Char | tar::EntryType::Block | tar::EntryType::Fifo => {
                let file_type = match kind {
                    tar::EntryType::Char => FileType::CharacterDevice,
                    tar::EntryType::Block => FileType::BlockDevice,
                    _ => FileType::Fifo,
                };
                if file_type != FileType::Fifo && !privileges.root {
                    report
                        .skipped
                        .push(format!("{shown}: device node (needs root)"));
                    continue;
                }
                let dev = rustix::fs::makedev(
                    header.device_major().ok().flatten().unwrap_or(0),
                    header.device_minor().ok().flatten().unwrap_or(0),
                );
                clear_path(&target, true).map_err(io_err)?;
                rustix::fs::mknodat(CWD, &target, file_type, Mode::from_raw_mode(0o600), dev)
                    .map_err(|e| io_err(e.into()))?;
            }
            other => {
                report
                    .skipped
                    .push(format!("{shown}: entry type {other:?}"));
                continue;
            }
        }
        let is_symlink = kind == tar::EntryType::Symlink;
        apply_metadata(&target, mode, mtime_secs, owner, is_symlink, privileges)?;
        report.entries += 1;
    }
    for dir in dirs.iter().rev() {
        apply_metadata(
            &dir.path,
            dir.mode,
            dir.mtime_secs,
            dir.owner,
            false,
            privileges,
        )?;
    }
    Ok(report)
}

/// The entry's path relative to the layer root: leading `/` and `.` dropped, `..` refused.
/// `Ok(None)` for the root itself.
fn relative_path(raw: &[u8]) -> Result<Option<PathBuf>, &'static str> {
    let mut relative = PathBuf::new();
    for component in Path::new(OsStr::from_bytes(raw)).components() {
        match component {
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
            Component::ParentDir => return Err("a `..` component would leave the layer"),
            Component::Normal(part) => relative.push(part),
        }
    }
    Ok((!relative.as_os_str().is_empty()).then_some(relative))
}

/// Makes sure every parent of `relative` under `dest` is a real directory (creating missing
/// ones), never passing through a symlink. Returns the parent directory.
fn ensure_parents(dest: &Path, relative: &Path) -> Result<PathBuf, String> {
    let mut current = dest.to_path_buf();
    let Some(parent) = relative.parent() else {
        return Ok(current);
    };
    for part in parent.components() {
        current.push(part);
        match fs::symlink_metadata(&current) {
            Ok(meta) if meta.is_dir() => {}
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(format!(
                    "its parent {} is a symlink, which extraction never follows",
                    shown_relative(dest, &current)
                ));
            }
            Ok(_) => {
                return Err(format!(
                    "its parent {} is not a directory",
                    shown_relative(dest, &current)
                ));
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::create_dir(&current).map_err(|e| format!("cannot create a parent: {e}"))?;
            }
            Err(e) => return Err(format!("cannot check a parent: {e}")),
        }
    }
    Ok(current)
}

/// Where a hard link's target sits: it must be inside the layer, reached without symlinks,
/// exist already and not be a directory.
fn hard_link_source(dest: &Path, link: &[u8]) -> Result<PathBuf, String> {
    let relative = relative_path(link)
        .map_err(|why| format!("hard link target {}", why))?
        .ok_or("a hard link to the layer root")?;
    let mut current = dest.to_path_buf();
    let parts: Vec<_> = relative.components().collect();
    for (index, part) in parts.iter().enumerate() {
        current.push(part);
        let last = index + 1 == parts.len();
        match fs::symlink_metadata(&current) {
            Ok(meta) if !last && !meta.is_dir() => {
                return Err("hard link target goes through a non-directory or symlink".into());
            }
            Ok(meta) if last && meta.is_dir() => {
                return Err("hard link to a directory".into());
            }
            Ok(_) => {}
            Err(_) => {
                return Err(format!(
                    "hard link target {} is not in this layer",
                    String::from_utf8_lossy(link)
                ));
            }
        }
    }
    Ok(current)
}

fn shown_relative(dest: &Path, path: &Path) -> String {
    path.strip_prefix(dest)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Removes whatever sits at `path` so a new entry can take its place (a later layer entry
/// replaces an earlier one). Directories are only removed when `replace_dir` is set.
fn clear_path(path: &Path, replace_dir: bool) -> io::Result<()> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => {
            if replace_dir {
                fs::remove_dir_all(path)
            } else {
                Ok(())
            }
        }
        Ok(_) => fs::remove_file(path),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

fn require_root(privileges: Privileges, what: &str, layer: &str) -> Result<(), ImageError> {
    if privileges.root {
        Ok(())
    } else {
        Err(ImageError::NeedsRoot {
            what: format!("unpacking {what} in {layer}"),
        })
    }
}

/// Owner (root only; first, since chown clears set-id bits), mode (not on symlinks, whose mode
/// is meaningless) and mtime (seconds; never following a symlink).
fn apply_metadata(
    path: &Path,
    mode: u32,
    mtime_secs: u64,
    owner: (u32, u32),
    is_symlink: bool,
    privileges: Privileges,
) -> Result<(), ImageError> {
    let io_err = |e: io::Error| ImageError::io(path, e);
    if privileges.root {
        std::os::unix::fs::lchown(path, Some(owner.0), Some(owner.1)).map_err(io_err)?;
    }
    if !is_symlink {
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).map_err(io_err)?;
    }
    let when = Timespec {
        tv_sec: i64::try_from(mtime_secs).unwrap_or(i64::MAX),
        tv_nsec: 0,
    };
    let times = Timestamps {
        last_access: when,
        last_modification: when,
    };
    rustix::fs::utimensat(CWD, path, &times, AtFlags::SYMLINK_NOFOLLOW)
        .map_err(|e| io_err(e.into()))?;
    Ok(())
}
