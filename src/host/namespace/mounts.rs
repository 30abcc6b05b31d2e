//! Namespaces held by bind mounts: the nsfs entries of `mountinfo`.
//!
//! `ip netns add X` bind-mounts a net namespace file on `/run/netns/X`; Docker keeps
//! `/run/docker/netns/<id>`; `unshare --net=FILE` does the same by hand. Such a namespace lives
//! on with no process in it, so a scan of `/proc/<pid>/ns` alone never sees it. The kernel
//! reports each such mount in `mountinfo` with file system type `nsfs` and a mount root that
//! names the namespace: `net:[4026532177]`. The mount points are those of isotop's own mount
//! namespace, which is what lsns shows as NSFS too.
//!
//! Parsed by hand rather than with procfs-core's `MountInfo`: that parser keeps the kernel's
//! octal escapes (`\040` for a space) in mount points and builds option maps per line we do not
//! need; here only three fields matter.

use std::path::PathBuf;

use super::{NsKind, parse_ns_link};
use crate::host::mounts::mountinfo::{bytes_to_path, unescape};
use crate::host::text::clean;
use crate::host::{HostError, HostRoot, read_optional};

/// One nsfs bind mount: which namespace, and where it is mounted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NsfsMount {
    pub kind: NsKind,
    pub inode: u64,
    /// The mount point exactly as the kernel names it (escapes decoded), for opening.
    pub mount_point: PathBuf,
    /// The mount point as text safe to display (control characters replaced).
    pub display: String,
}

/// Reads the nsfs mounts visible to isotop (`<proc>/self/mountinfo`). A missing file (a
/// fixture without one) is an empty list.
pub fn read_nsfs_mounts(root: &HostRoot) -> Result<Vec<NsfsMount>, HostError> {
    let path = root.self_dir().join("mountinfo");
    Ok(read_optional(&path)?
        .map(|text| parse_nsfs_mounts(&text))
        .unwrap_or_default())
}

/// Picks the nsfs lines out of a mountinfo text. Lines that are not nsfs, or are malformed,
/// are skipped: one odd line must not hide the others.
pub fn parse_nsfs_mounts(mountinfo: &str) -> Vec<NsfsMount> {
    mountinfo.lines().filter_map(parse_line).collect()
}

/// `36 35 0:4 net:[4026532177] /run/netns/x rw shared:2 - nsfs nsfs rw`: fields 4 and 5 are
/// root and mount point; after the optional fields and the `-` separator comes the type.
fn parse_line(line: &str) -> Option<NsfsMount> {
    let mut fields = line.split(' ');
    let root = fields.nth(3)?;
    let mount_point = fields.next()?;
    let mut after_separator = fields.skip_while(|f| *f != "-");
    after_separator.next()?; // the "-"
    if after_separator.next()? != "nsfs" {
        return None;
    }
    let (kind, inode) = parse_ns_link(&String::from_utf8_lossy(&unescape(root.as_bytes())))?;
    let raw = unescape(mount_point.as_bytes());
    let display = clean(&raw);
    Some(NsfsMount {
        kind,
        inode,
        mount_point: bytes_to_path(raw),
        display,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTINFO: &str = "\
22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
43 42 0:4 net:[4026532177] /run/netns/blue rw shared:2 - nsfs nsfs rw
44 42 0:4 net:[4026532177] /run/netns/blue\\040copy rw shared:2 - nsfs nsfs rw
45 22 0:4 user:[4026532300] /tmp/keep\\011tab rw - nsfs nsfs rw
46 22 0:4 / /proc/sys/fs/binfmt_misc rw - binfmt_misc binfmt_misc rw
47 22 0:4 bogus /tmp/x rw - nsfs nsfs rw
48 22 0:4 net:[4026532177]
garbage
";

    #[test]
    fn finds_nsfs_mounts_and_decodes_escapes() {
        let mounts = parse_nsfs_mounts(MOUNTINFO);
        assert_eq!(mounts.len(), 3, "{mounts:?}");
        assert_eq!(mounts[0].kind, NsKind::Net);
        assert_eq!(mounts[0].inode, 4026532177);
        assert_eq!(mounts[0].mount_point, PathBuf::from("/run/netns/blue"));
        assert_eq!(mounts[1].mount_point, PathBuf::from("/run/netns/blue copy"));
        assert_eq!(mounts[2].kind, NsKind::User);
        assert_eq!(mounts[2].mount_point, PathBuf::from("/tmp/keep\ttab"));
        // A tab is a control character: shown as `?`, kept exact for opening.
        assert_eq!(mounts[2].display, "/tmp/keep?tab");
    }

    #[test]
    fn optional_fields_of_any_count_are_skipped() {
        let line = "50 22 0:4 ipc:[7] /a rw shared:2 master:3 propagate_from:1 - nsfs nsfs rw";
        let mounts = parse_nsfs_mounts(line);
        assert_eq!(mounts.len(), 1);
        assert_eq!((mounts[0].kind, mounts[0].inode), (NsKind::Ipc, 7));
    }

    #[test]
    fn unescape_leaves_incomplete_escapes_alone() {
        assert_eq!(unescape(b"a\\04"), b"a\\04");
        assert_eq!(unescape(b"a\\134b"), b"a\\b");
        assert_eq!(unescape(b"\\777"), b"\\777"); // > 255 is not a byte
        assert_eq!(unescape(b"plain"), b"plain");
    }
}
