//! What a container changed against its image, from an overlay mount's layers: `docker diff`
//! for any overlay-rooted container, whatever runtime made it.
//!
//! Contract: [`overlay_diff`] walks the UPPER (writable) directory and reads the lower layers
//! only to tell apart what it finds. Every path is the container's (`/etc/passwd`), sorted by
//! its bytes, each once:
//! - `A` added: in the merged view, not in the image (the lower layers merged, top first);
//! - `C` changed: in the upper dir and in the image (a modified file, a metadata-only copy-up
//!   marked `overlay.metacopy`, a directory copied up because something in it changed, a file
//!   replaced by a directory or the other way round);
//! - `D` deleted: in the image, not in the merged view — a whiteout (character device 0/0, or
//!   a zero-size file with `overlay.whiteout` in a directory marked `overlay.opaque=x`), or an
//!   entry of the image's directory hidden by an opaque directory (`overlay.opaque=y`: removed
//!   and made again). A deleted directory is one `D`, not one per file in it.
//!
//! A renamed directory (`overlay.redirect`, `redirect_dir=on`) is its old path `D` and its new
//! path `A` with everything in it `A`, including what it still takes from the old lower
//! directory. The overlay xattrs are read in `trusted.` or, for a `userxattr` mount (a user
//! namespace's), `user.` ([`XattrNamespace`]).
//!
//! The walk is fd-based: directories are opened relative to their parent with `O_NOFOLLOW`,
//! entries looked at with `AT_SYMLINK_NOFOLLOW` (see `diff::layer`), so no symlink a container
//! wrote is followed; it stops with [`DiffError::TooDeep`] below [`MAX_DEPTH`] directories; an
//! entry that vanishes mid-walk (the container is running) is skipped. Paths are exact bytes:
//! callers clean them before a terminal. Sizes and contents are not compared (overlay keeps
//! only what changed in the upper dir, so being there is the change).

mod layer;
mod stack;
#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use layer::{Classified, LayerDir};
use stack::Stack;

/// How deep below the upper dir's root the walk goes, in directories: beyond any image's
/// tree (npm's deepest `node_modules` nestings stay well under it), low enough that a
/// container's deliberately deep tree costs bounded stack and file descriptors (each level
/// holds its upper dir and the lower layers' dirs of the same path open: 128 levels × a
/// 6-layer image is under 1,000 fds, the usual soft limit being 1,024).
pub const MAX_DEPTH: usize = 128;

/// Which xattr namespace the overlay's own attributes live in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XattrNamespace {
    /// `trusted.overlay.*`: the default (a root mount).
    Trusted,
    /// `user.overlay.*`: a `userxattr` mount (an overlay mounted in a user namespace).
    User,
}

impl XattrNamespace {
    /// The namespace a mount with these options uses (`userxattr` among them: `user.`).
    pub fn of_options<'a>(mut options: impl Iterator<Item = &'a str>) -> XattrNamespace {
        if options.any(|o| o == "userxattr") {
            XattrNamespace::User
        } else {
            XattrNamespace::Trusted
        }
    }

    /// The full xattr name of an overlay attribute (`opaque` → `trusted.overlay.opaque`).
    fn key(self, attribute: &str) -> String {
        match self {
            XattrNamespace::Trusted => format!("trusted.overlay.{attribute}"),
            XattrNamespace::User => format!("user.overlay.{attribute}"),
        }
    }
}

/// What happened to one path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ChangeKind {
    Added,
    Changed,
    Deleted,
}

impl ChangeKind {
    /// `docker diff`'s letter: `A`, `C` or `D`.
    pub fn letter(self) -> char {
        match self {
            ChangeKind::Added => 'A',
            ChangeKind::Changed => 'C',
            ChangeKind::Deleted => 'D',
        }
    }
}

/// One changed path, as the container sees it (absolute, exact bytes: not yet cleaned).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub path: PathBuf,
    pub kind: ChangeKind,
}

/// Why a diff could not be made. Each names the directory it concerns.
#[derive(Debug, thiserror::Error)]
pub enum DiffError {
    #[error("cannot open the overlay layer {path}: {source}{hint}", hint = root_hint(source))]
    Open {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read {path}: {source}{hint}", hint = root_hint(source))]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is more than {limit} directories deep: the diff stops there")]
    TooDeep { path: PathBuf, limit: usize },
}

fn root_hint(e: &std::io::Error) -> &'static str {
    if e.kind() == std::io::ErrorKind::PermissionDenied {
        " (run isotop as root to read a container's layers)"
    } else {
        ""
    }
}

impl DiffError {
    fn open(path: &Path, e: rustix::io::Errno) -> DiffError {
        DiffError::Open {
            path: path.to_path_buf(),
            source: e.into(),
        }
    }

    fn read(path: &Path, e: rustix::io::Errno) -> DiffError {
        DiffError::Read {
            path: path.to_path_buf(),
            source: e.into(),
        }
    }
}

/// The changes of the overlay whose writable layer is `upper` over `lowers` (top first, as in
/// `lowerdir=`), sorted by path. See the module contract.
pub fn overlay_diff(
    upper: &Path,
    lowers: &[PathBuf],
    xattr_ns: XattrNamespace,
) -> Result<Vec<Change>, DiffError> {
    let upper = LayerDir::open_root(upper, xattr_ns)?;
    let roots = lowers
        .iter()
        .map(|lower| LayerDir::open_root(lower, xattr_ns))
        .collect::<Result<Vec<_>, _>>()?;
    let mut walk = Walk {
        ns: xattr_ns,
        roots: &roots,
        changes: Vec::new(),
    };
    walk.dir(Path::new("/"), Some(&upper), &roots, Source::Image, 0)?;
    let mut changes = walk.changes;
    changes.sort_by(|a, b| {
        a.path
            .as_os_str()
            .as_bytes()
            .cmp(b.path.as_os_str().as_bytes())
    });
    Ok(changes)
}

/// Where a merged directory's lower content comes from.
enum Source {
    /// The image's directory at the same path (nothing renamed or made opaque above).
    Image,
    /// Elsewhere: a renamed directory's old one, or none below an opaque directory.
    Other(Stack),
}

struct Walk<'a> {
    ns: XattrNamespace,
    roots: &'a [LayerDir],
    changes: Vec<Change>,
}

impl Walk<'_> {
    /// Compares the merged directory at `path` — `upper`'s entries over `source` — with the
    /// image's directory `image` there. Without an upper dir it is `source` alone (inside a
    /// renamed directory, where nothing was copied up).
    fn dir(
        &mut self,
        path: &Path,
        upper: Option<&LayerDir>,
        image: &[LayerDir],
        source: Source,
        depth: usize,
    ) -> Result<(), DiffError> {
        if depth > MAX_DEPTH {
            return Err(DiffError::TooDeep {
                path: path.to_path_buf(),
                limit: MAX_DEPTH,
            });
        }
        // Names in the upper dir, whiteouts included: they hide the source's entries.
        let mut in_upper: BTreeSet<OsString> = BTreeSet::new();
        let mut present: BTreeSet<OsString> = BTreeSet::new();
        if let Some(upper) = upper {
            for name in upper.names()? {
                let Some(class) = upper.classify(&name, self.ns)? else {
                    continue;
                };
                in_upper.insert(name.clone());
                match class {
                    Classified::Whiteout => {
                        // With the image's directory below, a whiteout is the deletion; else
                        // the image's side is compared below.
                        if matches!(source, Source::Image)
                            && stack::lookup(image, &name, self.ns)?.is_some()
                        {
                            self.push(path.join(&name), ChangeKind::Deleted);
                        }
                    }
                    Classified::Other => {
                        present.insert(name.clone());
                        self.present(path, &name, image)?;
                    }
                    Classified::Dir(_) => {
                        let Some((child, marks)) = upper.open_child(&name, self.ns)? else {
                            continue;
                        };
                        present.insert(name.clone());
                        self.present(path, &name, image)?;
                        let child_source =
                            match (&marks, &source) {
                                (m, _) if m.opaque => Source::Other(Vec::new()),
                                (m, parent) if m.redirect.is_some() => Source::Other(
                                    self.redirected(m.redirect.as_deref(), parent, image)?,
                                ),
                                (_, Source::Image) => Source::Image,
                                (_, Source::Other(stack)) => {
                                    Source::Other(stack::descend(stack, &name, self.ns)?)
                                }
                            };
                        let child_image = stack::descend(image, &name, self.ns)?;
                        let child_path = path.join(&name);
                        self.dir(
                            &child_path,
                            Some(&child),
                            &child_image,
                            child_source,
                            depth + 1,
                        )?;
                    }
                }
            }
        }
        let Source::Other(source) = source else {
            return Ok(());
        };
        // What the merged directory takes from its source, untouched in the upper dir.
        for (name, is_dir) in stack::list(&source, self.ns)? {
            if in_upper.contains(&name) {
                continue;
            }
            present.insert(name.clone());
            self.present(path, &name, image)?;
            if is_dir {
                let child_source = stack::descend(&source, &name, self.ns)?;
                let child_image = stack::descend(image, &name, self.ns)?;
                let child_path = path.join(&name);
                self.dir(
                    &child_path,
                    None,
                    &child_image,
                    Source::Other(child_source),
                    depth + 1,
                )?;
            }
        }
        // The image's entries the merged directory no longer has.
        for name in stack::list(image, self.ns)?.into_keys() {
            if !present.contains(&name) {
                self.push(path.join(&name), ChangeKind::Deleted);
            }
        }
        Ok(())
    }

    /// Records `path/name`, which the merged view has: changed if the image has it, else added.
    fn present(&mut self, path: &Path, name: &OsStr, image: &[LayerDir]) -> Result<(), DiffError> {
        let kind = match stack::lookup(image, name, self.ns)? {
            Some(_) => ChangeKind::Changed,
            None => ChangeKind::Added,
        };
        self.push(path.join(name), kind);
        Ok(())
    }

    /// The lower directory a renamed directory's content comes from: an absolute redirect
    /// from the layers' roots, a relative one (a name) in the parent's source. A malformed one
    /// (empty, `.`/`..`, a `/` in a name) gives none: the kernel would not follow it either.
    fn redirected(
        &self,
        redirect: Option<&[u8]>,
        parent: &Source,
        image: &[LayerDir],
    ) -> Result<Stack, DiffError> {
        let Some(redirect) = redirect else {
            return Ok(Vec::new());
        };
        let (absolute, rest) = match redirect.strip_prefix(b"/") {
            Some(rest) => (true, rest),
            None => (false, redirect),
        };
        let components: Vec<&OsStr> = rest.split(|b| *b == b'/').map(OsStr::from_bytes).collect();
        let valid = components
            .iter()
            .all(|c| !c.is_empty() && *c != "." && *c != "..");
        if !valid || (!absolute && components.len() != 1) {
            return Ok(Vec::new());
        }
        if absolute {
            return stack::resolve(self.roots, &components, self.ns);
        }
        let parent_stack = match parent {
            Source::Image => image,
            Source::Other(stack) => stack,
        };
        stack::descend(parent_stack, components[0], self.ns)
    }

    fn push(&mut self, path: PathBuf, kind: ChangeKind) {
        self.changes.push(Change { path, kind });
    }
}
