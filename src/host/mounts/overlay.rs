//! Overlay's superblock options as mountinfo shows them: the lower layers (top first), the
//! data-only layers, the upper and work dirs, and the feature options.
//!
//! Two escapings stack. The kernel prints each option with `seq_show_option`, which
//! octal-escapes ` `, `\t`, `\n`, `\`, `,` and `=` in the value (so a bare `,` always
//! separates options). Under that, overlay keeps the string the mounter gave for `lowerdir=`,
//! `upperdir=` and `workdir=` — with overlay's own escaping: `\` quotes the next byte (`\:` a
//! colon, `\,` a comma, `\\` a backslash), an unquoted `:` separates lower layers and `::`
//! starts the data-only layers (kernel ≥ 6.5). Layers given one by one (`lowerdir+=`,
//! `datadir+=`, kernel ≥ 6.8) are shown one option each and are NOT overlay-escaped: the kernel
//! looks them up verbatim, so only the octal escapes are decoded. Seen on 6.18: a legacy
//! `lowerdir=/a\:b` shows as `lowerdir=/a\134:b`, a `lowerdir+=/a:b` as `lowerdir+=/a:b`.
//!
//! The paths are the mounter's strings, resolved in ITS mount namespace and working directory
//! at mount time. A runtime that mounts in the host's namespace (Docker, containerd, Podman,
//! CRI-O) names host paths; one that mounts after entering the container's new mount namespace
//! (isotop's own `run`, a rootless runtime in a user namespace) names paths of that namespace,
//! which are usually the host's too (a fresh mount namespace starts as a copy) but need not be,
//! and a relative path is relative to a directory the mounter had then. Nothing here checks
//! them; consumers open them under the `HostRoot` and treat a missing one as vanished.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::mountinfo::{bytes_to_path, split_raw_options, unescape};
use super::shown;

/// An overlay root's layers and options.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OverlayLayers {
    /// The lower (read-only) layers, top first: the image's newest layer comes first.
    #[serde(serialize_with = "shown::paths")]
    pub lower: Vec<PathBuf>,
    /// Data-only lower layers (`::` or `datadir+=`): reached only through metacopy redirects,
    /// never merged into the directory tree; in the order given.
    #[serde(serialize_with = "shown::paths")]
    pub data_only: Vec<PathBuf>,
    /// The writable layer (`upperdir=`); `None` for a read-only overlay.
    #[serde(serialize_with = "shown::opt_path")]
    pub upper: Option<PathBuf>,
    /// Overlay's scratch dir (`workdir=`), on the upper's file system.
    #[serde(serialize_with = "shown::opt_path")]
    pub work: Option<PathBuf>,
    /// True when the layers were given one per option (`lowerdir+=`/`datadir+=`).
    pub appended_layers: bool,
    pub options: OverlayOptions,
}

/// Overlay's feature options (each `None`/`false` when not shown: the kernel's default, which
/// its build configuration and module parameters choose).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OverlayOptions {
    /// `index=on|off`: the inode index (hard links across copy-up, NFS export).
    pub index: Option<bool>,
    /// `metacopy=on|off`: copy-up of metadata only, data left in a lower layer.
    pub metacopy: Option<bool>,
    /// `redirect_dir=on|follow|nofollow|off`: renamed directories recorded as redirects.
    pub redirect_dir: Option<String>,
    /// `volatile` (`fsync=volatile` on kernels ≥ 6.15): no syncs to the upper layer; a crash
    /// leaves it unusable.
    pub volatile: bool,
    /// `userxattr`: overlay's xattrs live in `user.overlay.*` (an overlay mounted in a user
    /// namespace), not `trusted.overlay.*`.
    pub userxattr: bool,
    /// The superblock is read-only (`ro` first among its options).
    pub read_only: bool,
    /// Every other option (`xino=`, `uuid=`, `nfs_export=`, `verity=`, …), decoded, as given.
    pub other: Vec<String>,
}

/// Parses overlay's superblock options (the raw last field of its mountinfo line).
pub fn parse_overlay_options(raw: &[u8]) -> OverlayLayers {
    let mut layers = OverlayLayers::default();
    for option in split_raw_options(raw) {
        let (key, value) = match option.iter().position(|b| *b == b'=') {
            Some(at) => (&option[..at], Some(&option[at + 1..])),
            None => (option, None),
        };
        let key = String::from_utf8_lossy(&unescape(key)).into_owned();
        let decoded = value.map(unescape);
        let words = decoded
            .as_deref()
            .map(|v| String::from_utf8_lossy(v).into_owned());
        let options = &mut layers.options;
        match (key.as_str(), decoded) {
            ("lowerdir", Some(value)) => split_lower_list(&value, &mut layers),
            ("lowerdir+", Some(value)) => {
                layers.appended_layers = true;
                layers.lower.push(bytes_to_path(value));
            }
            ("datadir+", Some(value)) => {
                layers.appended_layers = true;
                layers.data_only.push(bytes_to_path(value));
            }
            ("upperdir", Some(value)) => layers.upper = Some(bytes_to_path(unquote(&value))),
            ("workdir", Some(value)) => layers.work = Some(bytes_to_path(unquote(&value))),
            ("index", Some(_)) => options.index = on_off(words.as_deref()),
            ("metacopy", Some(_)) => options.metacopy = on_off(words.as_deref()),
            ("redirect_dir", Some(_)) => options.redirect_dir = words,
            ("volatile", None) => options.volatile = true,
            // Kernels ≥ 6.15 show `volatile` as one value of the newer `fsync=` option.
            ("fsync", Some(_)) if words.as_deref() == Some("volatile") => options.volatile = true,
            ("userxattr", None) => options.userxattr = true,
            ("ro", None) => options.read_only = true,
            ("rw", None) => {}
            _ => options.other.push(match words {
                Some(value) => format!("{key}={value}"),
                None => key,
            }),
        }
    }
    layers
}

fn on_off(value: Option<&str>) -> Option<bool> {
    match value {
        Some("on") => Some(true),
        Some("off") => Some(false),
        _ => None,
    }
}

/// Splits a `lowerdir=` list (octal escapes already decoded): `\` quotes the next byte, `:`
/// separates, `::` starts the data-only layers (every layer after it is one).
fn split_lower_list(value: &[u8], layers: &mut OverlayLayers) {
    let mut data_only = false;
    let mut current = Vec::new();
    let mut bytes = value.iter().copied().peekable();
    let mut finish = |current: &mut Vec<u8>, data_only: bool| {
        if current.is_empty() {
            return;
        }
        let path = bytes_to_path(std::mem::take(current));
        if data_only {
            layers.data_only.push(path);
        } else {
            layers.lower.push(path);
        }
    };
    while let Some(byte) = bytes.next() {
        match byte {
            b'\\' => {
                if let Some(quoted) = bytes.next() {
                    current.push(quoted);
                }
            }
            b':' => {
                finish(&mut current, data_only);
                if bytes.peek() == Some(&b':') {
                    bytes.next();
                    data_only = true;
                }
            }
            other => current.push(other),
        }
    }
    finish(&mut current, data_only);
}

/// Overlay's own unescaping of a single path (`upperdir=`, `workdir=`): `\x` is `x`.
fn unquote(value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len());
    let mut bytes = value.iter().copied();
    while let Some(byte) = bytes.next() {
        if byte == b'\\' {
            if let Some(quoted) = bytes.next() {
                out.push(quoted);
            }
        } else {
            out.push(byte);
        }
    }
    out
}

#[cfg(test)]
mod tests;
