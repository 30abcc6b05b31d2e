//! `isotop diff TARGET`: what a container changed against its image, like `docker diff` —
//! `A` added, `C` changed, `D` deleted, one path a line, sorted — for any container whose root
//! is an overlay mount, whatever runtime made it.
//!
//! TARGET resolves as for `inspect` (`cli::target`). The overlay's layers come from the kernel,
//! the root mount of the container's init (`host::mounts::read_container_root`), not from a
//! runtime's database; the changes from `host::diff::overlay_diff` on its upper dir. Paths in text are
//! cleaned of control characters (a name with a newline cannot forge a line); in `--json`
//! they are exact (a name that is not UTF-8 also carries `path_hex`, its bytes). Exit 1 when
//! the container has no running init, its root is not overlay, or a layer cannot be read.

use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use serde::Serialize;

use super::{CliError, TargetArgs, print_json, print_text, target};
use crate::host::HostRoot;
use crate::host::diff::{Change, ChangeKind, XattrNamespace, overlay_diff};
use crate::host::mounts::read_container_root;
use crate::host::scan::{ScanOptions, scan};
use crate::host::text::clean;

/// The `--json` document.
#[derive(Debug, Serialize)]
struct DiffReport {
    id: String,
    name: String,
    /// The init whose root mount was read.
    pid: i32,
    /// The writable layer (`upperdir=`), as the host reaches it.
    upper: String,
    /// The lower layers, top first (`lowerdir=`; data-only layers left out).
    lowers: Vec<String>,
    /// `trusted` or `user` (a `userxattr` mount): where the overlay's marks were read.
    xattrs: &'static str,
    changes: Vec<ChangeEntry>,
}

#[derive(Debug, Serialize)]
struct ChangeEntry {
    path: String,
    /// `added`, `changed` or `deleted`.
    kind: &'static str,
    /// The path's bytes in hex, only when they are not UTF-8 (`path` then has U+FFFD).
    #[serde(skip_serializing_if = "Option::is_none")]
    path_hex: Option<String>,
}

pub(crate) fn run(root: &HostRoot, args: &TargetArgs) -> Result<(), CliError> {
    let snapshot = scan(root, ScanOptions::TARGETS)?;
    let view = target::resolve(&snapshot.containers, &args.target)?;
    let c = &view.container;
    let shown = clean(c.name.as_bytes());
    let pid = c.init_pid.ok_or_else(|| {
        CliError::Unavailable(format!("{shown} has no running process: no root to read"))
    })?;
    let gone = || {
        CliError::Unavailable(format!(
            "the container's init (pid {pid}) has exited: no root to read"
        ))
    };
    let read = read_container_root(root, pid)?.ok_or_else(gone)?;
    let Some(root_fs) = read.root else {
        return Err(CliError::Unavailable(format!(
            "the root of {shown} is not a mount point (a directory it was chrooted into):              isotop diff reads overlay layers only"
        )));
    };
    let Some(overlay) = root_fs.overlay else {
        return Err(CliError::Unavailable(format!(
            "the root of {shown} is {}, not overlay: isotop diff reads overlay layers only",
            clean(root_fs.mount.fs_type.as_bytes())
        )));
    };
    let xattrs = if overlay.options.userxattr {
        XattrNamespace::User
    } else {
        XattrNamespace::Trusted
    };
    let upper = overlay.upper.map(|u| root.host_path(&u));
    // Data-only layers (`datadir+`, after `::`) hold file data for metacopy, no names: the
    // image's tree is the lower layers'.
    let lowers: Vec<PathBuf> = overlay.lower.iter().map(|l| root.host_path(l)).collect();
    // An overlay without an upper dir is read-only: nothing can have changed.
    let changes = match &upper {
        Some(upper) => overlay_diff(upper, &lowers, xattrs)?,
        None => Vec::new(),
    };
    if args.json {
        return print_json(&DiffReport {
            id: c.id.clone(),
            name: c.name.clone(),
            pid,
            upper: upper.map(|u| u.display().to_string()).unwrap_or_default(),
            lowers: lowers.iter().map(|l| l.display().to_string()).collect(),
            xattrs: match xattrs {
                XattrNamespace::Trusted => "trusted",
                XattrNamespace::User => "user",
            },
            changes: changes.iter().map(entry).collect(),
        });
    }
    let text: String = changes
        .iter()
        .map(|change| {
            format!(
                "{} {}\n",
                change.kind.letter(),
                clean(change.path.as_os_str().as_bytes())
            )
        })
        .collect();
    print_text(&text)
}

fn entry(change: &Change) -> ChangeEntry {
    let bytes = change.path.as_os_str().as_bytes();
    ChangeEntry {
        path: String::from_utf8_lossy(bytes).into_owned(),
        kind: match change.kind {
            ChangeKind::Added => "added",
            ChangeKind::Changed => "changed",
            ChangeKind::Deleted => "deleted",
        },
        path_hex: std::str::from_utf8(bytes)
            .is_err()
            .then(|| hex::encode(bytes)),
    }
}
