//! `isotop diff TARGET`: what a container changed against its image, like `docker diff` —
//! `A` added, `C` changed, `D` deleted, one path a line, sorted — for any container whose root
//! is an overlay mount, whatever runtime made it.
//!
//! TARGET resolves as for `inspect` (`cli::target`). The overlay's layers come from the kernel,
//! the root mount of the container's init (`/proc/<init>/mountinfo`), not from a runtime's
//! database; the changes from `host::diff::overlay_diff` on its upper dir. Paths in text are
//! cleaned of control characters (a name with a newline cannot forge a line); in `--json`
//! they are exact (a name that is not UTF-8 also carries `path_hex`, its bytes). Exit 1 when
//! the container has no running init, its root is not overlay, or a layer cannot be read.

use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use serde::Serialize;

use super::{CliError, TargetArgs, print_json, print_text, target};
use crate::host::HostRoot;
use crate::host::diff::{Change, ChangeKind, XattrNamespace, overlay_diff};
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
    let overlay = root_overlay::read(root, pid)?.map_err(|fs_type| {
        CliError::Unavailable(format!(
            "the root of {shown} is {fs_type}, not overlay: isotop diff reads overlay layers only"
        ))
    })?;
    let upper = overlay.upper.map(|u| root.host_path(&u));
    let lowers: Vec<PathBuf> = overlay.lowers.iter().map(|l| root.host_path(l)).collect();
    // An overlay without an upper dir is read-only: nothing can have changed.
    let changes = match &upper {
        Some(upper) => overlay_diff(upper, &lowers, overlay.xattrs)?,
        None => Vec::new(),
    };
    if args.json {
        return print_json(&DiffReport {
            id: c.id.clone(),
            name: c.name.clone(),
            pid,
            upper: upper.map(|u| u.display().to_string()).unwrap_or_default(),
            lowers: lowers.iter().map(|l| l.display().to_string()).collect(),
            xattrs: match overlay.xattrs {
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

/// TEMPORARY, to be replaced by `host::mounts` (the mountinfo reader of issue 12, item 1) when
/// it is merged: the overlay layers of a process's root mount, read from the last mount on `/`
/// in `/proc/<pid>/mountinfo` (the one the process sees; later mounts over `/` hide earlier).
mod root_overlay {
    use std::ffi::OsString;
    use std::os::unix::ffi::OsStringExt;
    use std::path::PathBuf;

    use crate::cli::CliError;
    use crate::host::diff::XattrNamespace;
    use crate::host::{HostError, HostRoot};

    pub(super) struct RootOverlay {
        pub upper: Option<PathBuf>,
        pub lowers: Vec<PathBuf>,
        pub xattrs: XattrNamespace,
    }

    /// `Ok(Ok(layers))` for an overlay root, `Ok(Err(fs type))` for another file system.
    pub(super) fn read(root: &HostRoot, pid: i32) -> Result<Result<RootOverlay, String>, CliError> {
        let path = root.pid_dir(pid).join("mountinfo");
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if crate::host::error::is_vanished(&e) => {
                return Err(CliError::Unavailable(format!(
                    "the container's init (pid {pid}) has exited: no root to read"
                )));
            }
            Err(e) => return Err(HostError::io(&path, e).into()),
        };
        let line = bytes
            .split(|b| *b == b'\n')
            .rfind(|line| field(line, 4) == Some(b"/"))
            .ok_or_else(|| HostError::parse(&path, "no mount on /"))?;
        let after: Vec<&[u8]> = line
            .split(|b| *b == b' ')
            .skip_while(|f| *f != b"-")
            .skip(1)
            .collect();
        let [fs_type, _source, options, ..] = after[..] else {
            return Err(
                HostError::parse(&path, "a root mount line without its type and options").into(),
            );
        };
        if fs_type != b"overlay" {
            return Ok(Err(String::from_utf8_lossy(fs_type).into_owned()));
        }
        let mut layers = RootOverlay {
            upper: None,
            lowers: Vec::new(),
            xattrs: XattrNamespace::Trusted,
        };
        let options: Vec<Vec<u8>> = options.split(|b| *b == b',').map(octal).collect();
        let names = options.iter().map(|o| std::str::from_utf8(o).unwrap_or(""));
        layers.xattrs = XattrNamespace::of_options(names);
        for option in &options {
            if let Some(value) = option.strip_prefix(b"upperdir=") {
                layers.upper = Some(path_of(unescape(value)));
            } else if let Some(value) = option.strip_prefix(b"lowerdir=") {
                layers.lowers.extend(lowerdirs(value));
            } else if let Some(value) = option.strip_prefix(b"lowerdir+=") {
                layers.lowers.push(path_of(unescape(value)));
            }
        }
        Ok(Ok(layers))
    }

    /// The 0-based whitespace-separated field `n` of a mountinfo line.
    fn field(line: &[u8], n: usize) -> Option<&[u8]> {
        line.split(|b| *b == b' ').nth(n)
    }

    /// Decodes mountinfo's `\ooo` octal escapes.
    fn octal(text: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(text.len());
        let mut rest = text;
        while let Some((&first, tail)) = rest.split_first() {
            let digits = tail
                .get(..3)
                .filter(|d| d.iter().all(|b| (b'0'..=b'7').contains(b)));
            match digits.and_then(|d| {
                let value = d.iter().fold(0u32, |acc, b| acc * 8 + u32::from(b - b'0'));
                u8::try_from(value).ok()
            }) {
                Some(byte) if first == b'\\' => {
                    out.push(byte);
                    rest = &tail[3..];
                }
                _ => {
                    out.push(first);
                    rest = tail;
                }
            }
        }
        out
    }

    /// The lower layers of `lowerdir=`: split on `:` not escaped by `\`, the data-only
    /// layers after `::` left out (they are not in the merged view).
    fn lowerdirs(value: &[u8]) -> Vec<PathBuf> {
        let mut out = Vec::new();
        let mut current = Vec::new();
        let mut bytes = value.iter();
        while let Some(&b) = bytes.next() {
            match b {
                b'\\' => current.extend(bytes.next()),
                b':' if current.is_empty() => break, // `::`: data-only layers follow
                b':' => out.push(path_of(std::mem::take(&mut current))),
                _ => current.push(b),
            }
        }
        if !current.is_empty() {
            out.push(path_of(current));
        }
        out
    }

    /// Removes overlay's own `\` escapes (of `,` `:` `\` in a layer's path).
    fn unescape(value: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(value.len());
        let mut bytes = value.iter();
        while let Some(&b) = bytes.next() {
            if b == b'\\' {
                out.extend(bytes.next());
            } else {
                out.push(b);
            }
        }
        out
    }

    fn path_of(bytes: Vec<u8>) -> PathBuf {
        PathBuf::from(OsString::from_vec(bytes))
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn layers_decode_octal_then_overlay_escapes() {
            // As this kernel (6.18) shows `lowerdir=/l\:1:/l 2\,x::/data,upperdir=/u\,1`.
            let value = octal(br"/l\134:1:/l\0402\134\054x::/data");
            assert_eq!(
                lowerdirs(&value),
                vec![PathBuf::from("/l:1"), PathBuf::from("/l 2,x")]
            );
            assert_eq!(unescape(&octal(br"/u\134\0541")), b"/u,1");
            assert_eq!(octal(br"end\04"), br"end\04");
        }
    }
}
