//! `/proc/<pid>/mountinfo`, every field: ids, device, root, mount point, per-mount options,
//! the optional (propagation) fields, file-system type, source and superblock options.
//!
//! Contract: [`parse_mountinfo`] never fails; a line that does not have the kernel's shape
//! (too few fields, no `-` separator, a bad number) is skipped and counted, so one odd line
//! cannot hide the others. Paths (root, mount point, source) are kept as the exact bytes the
//! kernel meant — its octal escapes `\040` (space), `\011` (tab), `\012` (newline), `\134`
//! (backslash) decoded — because they are strangers' bytes used to open files; they are
//! cleaned only when shown. The superblock options stay as the kernel wrote them (escapes
//! kept): a file system's own option syntax must be split before decoding (a value's comma is
//! `\054`, never a bare `,`), which [`super::overlay`] does for overlay.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// One line of mountinfo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountEntry {
    /// Field 1: the mount's id (unique while it exists; reused after).
    pub mount_id: u32,
    /// Field 2: the parent mount's id (itself, or one not shown, at the top of the tree).
    pub parent_id: u32,
    /// Field 3: the device the superblock is on (`0:N` for anonymous ones: overlay, tmpfs).
    pub device: Device,
    /// Field 4: the directory of the file system this mount shows (`/` unless a bind mount
    /// of a subtree; a btrfs subvolume or a bind's source dir otherwise).
    pub root: PathBuf,
    /// Field 5: where it is mounted, relative to the reading process's root.
    pub mount_point: PathBuf,
    /// Field 6: per-mount options (`rw`, `nosuid`, `relatime`, …), kernel-made keywords.
    pub mount_options: Vec<String>,
    /// Fields 7…: the optional fields (propagation).
    pub propagation: Propagation,
    /// The file-system type after the `-` (`ext4`, `overlay`, `fuse.sshfs`).
    pub fs_type: String,
    /// The mount source as the mounter named it (a device, `overlay`, `tmpfs`, anything).
    pub source: OsString,
    /// The superblock options exactly as the kernel wrote them, octal escapes kept.
    pub super_options: Vec<u8>,
}

impl MountEntry {
    /// The superblock options split at commas and decoded, lossily, for display or for
    /// keyword checks (`rw`/`ro` comes first). Overlay's paths are read by
    /// [`super::overlay::parse_overlay_options`] instead.
    pub fn super_options_decoded(&self) -> Vec<String> {
        split_raw_options(&self.super_options)
            .map(|raw| String::from_utf8_lossy(&unescape(raw)).into_owned())
            .collect()
    }
}

/// A `major:minor` device number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Device {
    pub major: u32,
    pub minor: u32,
}

impl std::fmt::Display for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.major, self.minor)
    }
}

/// The optional fields: how mount and unmount events propagate to and from this mount
/// (`Documentation/filesystems/sharedsubtree.rst`). None of them means private.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Propagation {
    /// `shared:N`: a member of peer group N (events propagate both ways).
    pub shared: Option<u32>,
    /// `master:N`: a slave of peer group N (receives its events).
    pub master: Option<u32>,
    /// `propagate_from:N`: the nearest dominant peer group under this process's root that
    /// the slave receives from (shown when the master is not reachable).
    pub propagate_from: Option<u32>,
    /// `unbindable`: may not be bind-mounted.
    pub unbindable: bool,
    /// Optional fields this parser does not know (a newer kernel's), kept verbatim.
    pub other: Vec<String>,
}

impl Propagation {
    /// `shared`, `slave`, `shared,slave`, `unbindable` or `private`, as `findmnt -o PROPAGATION`.
    pub fn mode(&self) -> String {
        let mut modes = Vec::new();
        if self.shared.is_some() {
            modes.push("shared");
        }
        if self.master.is_some() {
            modes.push("slave");
        }
        if self.unbindable {
            modes.push("unbindable");
        }
        if modes.is_empty() {
            modes.push("private");
        }
        modes.join(",")
    }

    fn add(&mut self, field: &str) {
        let number = |prefix: &str| field.strip_prefix(prefix).and_then(|n| n.parse().ok());
        if let Some(n) = number("shared:") {
            self.shared = Some(n);
        } else if let Some(n) = number("master:") {
            self.master = Some(n);
        } else if let Some(n) = number("propagate_from:") {
            self.propagate_from = Some(n);
        } else if field == "unbindable" {
            self.unbindable = true;
        } else {
            self.other.push(field.to_string());
        }
    }
}

/// Mountinfo parsed: its lines in the kernel's order, and how many were skipped as malformed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MountTable {
    pub entries: Vec<MountEntry>,
    pub skipped_lines: usize,
}

/// Parses a whole mountinfo text (bytes: paths need not be UTF-8).
pub fn parse_mountinfo(text: &[u8]) -> MountTable {
    let mut table = MountTable::default();
    for line in text.split(|b| *b == b'\n') {
        if line.is_empty() {
            continue;
        }
        match parse_line(line) {
            Some(entry) => table.entries.push(entry),
            None => table.skipped_lines += 1,
        }
    }
    table
}

/// `36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue`
pub fn parse_line(line: &[u8]) -> Option<MountEntry> {
    let mut fields = line.split(|b| *b == b' ');
    let mount_id = number(fields.next()?)?;
    let parent_id = number(fields.next()?)?;
    let device = parse_device(fields.next()?)?;
    let root = path(fields.next()?);
    let mount_point = path(fields.next()?);
    let mount_options = text(fields.next()?)
        .split(',')
        .filter(|o| !o.is_empty())
        .map(str::to_string)
        .collect();
    let mut propagation = Propagation::default();
    loop {
        let field = fields.next()?;
        if field == b"-" {
            break;
        }
        if !field.is_empty() {
            propagation.add(&text(field));
        }
    }
    let fs_type = String::from_utf8_lossy(&unescape(fields.next()?)).into_owned();
    let source = OsString::from_vec(unescape(fields.next()?));
    // The last field; a space inside it would have been escaped, so the rest is all of it.
    let super_options = fields.collect::<Vec<_>>().join(&b' ');
    if fs_type.is_empty() {
        return None;
    }
    Some(MountEntry {
        mount_id,
        parent_id,
        device,
        root,
        mount_point,
        mount_options,
        propagation,
        fs_type,
        source,
        super_options,
    })
}

fn number(field: &[u8]) -> Option<u32> {
    std::str::from_utf8(field).ok()?.parse().ok()
}

fn parse_device(field: &[u8]) -> Option<Device> {
    let (major, minor) = std::str::from_utf8(field).ok()?.split_once(':')?;
    Some(Device {
        major: major.parse().ok()?,
        minor: minor.parse().ok()?,
    })
}

fn text(field: &[u8]) -> String {
    String::from_utf8_lossy(field).into_owned()
}

fn path(field: &[u8]) -> PathBuf {
    bytes_to_path(unescape(field))
}

/// Raw bytes as a path, exactly.
pub fn bytes_to_path(bytes: Vec<u8>) -> PathBuf {
    PathBuf::from(OsString::from_vec(bytes))
}

/// Splits raw (still escaped) superblock options at commas: a comma inside a value is always
/// escaped (`\054`) by the kernel's `seq_show_option`, so a bare one separates.
pub fn split_raw_options(raw: &[u8]) -> impl Iterator<Item = &[u8]> {
    raw.split(|b| *b == b',').filter(|o| !o.is_empty())
}

/// Decodes the kernel's `\ooo` octal escapes (space, tab, newline, backslash in paths; also
/// `,` and `=` in option values). An incomplete escape or one above 255 is kept as written.
pub fn unescape(field: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(field.len());
    let mut i = 0;
    while i < field.len() {
        if field[i] == b'\\'
            && i + 3 < field.len()
            && field[i + 1..=i + 3]
                .iter()
                .all(|b| (b'0'..=b'7').contains(b))
        {
            let value = field[i + 1..=i + 3]
                .iter()
                .fold(0u32, |acc, b| acc * 8 + u32::from(b - b'0'));
            if let Ok(byte) = u8::try_from(value) {
                out.push(byte);
                i += 4;
                continue;
            }
        }
        out.push(field[i]);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests;
