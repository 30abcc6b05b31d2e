//! The lower layers merged, as overlayfs merges them: one directory of the merged lower view is
//! the stack of that directory's layer directories, top first, that contribute to it.
//!
//! Contract (overlayfs' lookup rules, `Documentation/filesystems/overlayfs.rst`): going down one
//! name, the topmost layer that has it decides — a whiteout hides it and everything below; a
//! non-directory is the entry and hides the layers below; a directory merges with the same
//! name's directories in the layers below, down to the first that is opaque (`y`) or the first
//! layer where the name is a whiteout or not a directory. Redirects inside lower layers are not
//! followed (image layers from tarballs never have them; a renamed directory in a lower layer
//! shows at its new path with its own entries only).

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};

use super::layer::{Classified, LayerDir};
use super::{DiffError, XattrNamespace};

/// One directory of the merged lower view: its layer directories, top first (empty: the
/// directory is not in the lower view).
pub(super) type Stack = Vec<LayerDir>;

/// What the merged lower view has under `name` in `stack`: `None` when nothing (or a
/// whiteout), else whether it is a directory.
pub(super) fn lookup(
    stack: &[LayerDir],
    name: &OsStr,
    ns: XattrNamespace,
) -> Result<Option<bool>, DiffError> {
    for dir in stack {
        match dir.classify(name, ns)? {
            None => continue,
            Some(Classified::Whiteout) => return Ok(None),
            Some(Classified::Dir(_)) => return Ok(Some(true)),
            Some(Classified::Other) => return Ok(Some(false)),
        }
    }
    Ok(None)
}

/// The stack of the directory `name` in `stack` (empty when it is not a directory there).
pub(super) fn descend(
    stack: &[LayerDir],
    name: &OsStr,
    ns: XattrNamespace,
) -> Result<Stack, DiffError> {
    let mut out = Vec::new();
    for dir in stack {
        match dir.classify(name, ns)? {
            None => continue,
            Some(Classified::Dir(_)) => match dir.open_child(name, ns)? {
                // Replaced by something else since the look: it ends the merge like a file.
                None => break,
                Some((child, marks)) => {
                    out.push(child);
                    if marks.opaque {
                        break;
                    }
                }
            },
            Some(Classified::Whiteout | Classified::Other) => break,
        }
    }
    Ok(out)
}

/// The stack of the absolute path `components` from the layers' roots.
pub(super) fn resolve(
    roots: &[LayerDir],
    components: &[&OsStr],
    ns: XattrNamespace,
) -> Result<Stack, DiffError> {
    let Some((first, rest)) = components.split_first() else {
        return Ok(Vec::new());
    };
    let mut stack = descend(roots, first, ns)?;
    for name in rest {
        if stack.is_empty() {
            break;
        }
        stack = descend(&stack, name, ns)?;
    }
    Ok(stack)
}

/// The entries of the merged directory `stack`, name → is a directory (whiteouts removed).
pub(super) fn list(
    stack: &[LayerDir],
    ns: XattrNamespace,
) -> Result<BTreeMap<OsString, bool>, DiffError> {
    let mut seen: BTreeMap<OsString, Option<bool>> = BTreeMap::new();
    for dir in stack {
        for name in dir.names()? {
            if seen.contains_key(&name) {
                continue;
            }
            let entry = match dir.classify(&name, ns)? {
                None => continue,
                Some(Classified::Whiteout) => None,
                Some(Classified::Dir(_)) => Some(true),
                Some(Classified::Other) => Some(false),
            };
            seen.insert(name, entry);
        }
    }
    Ok(seen
        .into_iter()
        .filter_map(|(name, entry)| Some((name, entry?)))
        .collect())
}
