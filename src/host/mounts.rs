//! A container's file systems, from the kernel: its root (file-system type, source, and for
//! overlay its layers) and its other mounts, read from `/proc/<pid>/mountinfo` of its init —
//! never from a runtime's database.
//!
//! Contract: [`read_container_root`] takes `&HostRoot` and a pid, never writes, and returns
//! `Ok(None)` when the process is gone (no file, ESRCH, or EINVAL: a zombie has no mount
//! namespace left); an unreadable file (EACCES) is an error the caller shows as a note. The
//! mountinfo of a process names mount points relative to ITS root, so the container's root is
//! the mount shown at `/` (the top one when several are stacked there). When the root is a
//! directory inside a mount rather than a mount point of its own (a bare `chroot`), no line
//! shows it and `root` is `None`, with a note. Each mount's `host_path` is where the host
//! (isotop's own mount namespace: `<proc>/self/mountinfo` under the `HostRoot`) sees the same
//! directory: a host mount of the same device whose root contains this mount's root, plus the
//! rest of the path — a runc bundle's or LXC's bind-mounted rootfs dir, a volume's source dir,
//! Docker's `merged` dir of an overlay root. It is `None` when the host has no such mount (an
//! overlay mounted only inside the container's namespace). Host paths are as the host names
//! them; open them through `HostRoot::host_path`. Paths are exact bytes, cleaned only when
//! serialized or shown ([`shown`]).

pub mod mountinfo;
pub mod overlay;
pub mod shown;

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::is_vanished;
use super::{HostError, HostRoot};
pub use mountinfo::{Device, MountEntry, MountTable, Propagation, parse_mountinfo};
pub use overlay::{OverlayLayers, OverlayOptions, parse_overlay_options};

/// What a container's init sees mounted: its root and everything else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerRoot {
    /// The process whose mount namespace (and root) was read.
    pub pid: i32,
    /// The file read: `<proc>/<pid>/mountinfo`.
    #[serde(serialize_with = "shown::path")]
    pub source: PathBuf,
    /// The mount at the container's `/`; `None` when its root is not a mount point.
    pub root: Option<RootFs>,
    /// Every other mount, in mountinfo's order (parents before children).
    pub mounts: Vec<ContainerMount>,
    /// What could not be read or resolved (the host's mountinfo, malformed lines).
    pub notes: Vec<String>,
    /// Mounts read but not kept in `mounts` ([`ContainerRoot::leave_out_mounts`]: the
    /// dashboard keeps a container's other mounts only while a view shows them); 0 when
    /// `mounts` holds every one. Not written when 0.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub mounts_left_out: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl ContainerRoot {
    /// Drops the mounts other than the root (counted in `mounts_left_out`, said in a note, so
    /// a recorded frame's `inspect --at` tells why they are missing) and frees their memory:
    /// ~20 mounts of ~600 bytes each for a container with Docker's defaults. Twice is once.
    pub fn leave_out_mounts(&mut self) {
        if self.mounts.is_empty() {
            return;
        }
        self.mounts_left_out += self.mounts.len();
        self.mounts = Vec::new();
        self.notes.push(format!(
            "{} other mounts not kept: the dashboard keeps them only for the container its \
             detail pane shows (read again when shown)",
            self.mounts_left_out
        ));
    }
}

/// The container's root file system.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RootFs {
    #[serde(flatten)]
    pub mount: ContainerMount,
    /// Overlay's layers and options (`fs_type` `overlay`); `None` for any other type.
    pub overlay: Option<OverlayLayers>,
}

/// One mount as the container sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerMount {
    /// Mountinfo's id of the mount (its parent is in `parent_id`).
    pub mount_id: u32,
    pub parent_id: u32,
    /// Where it is mounted inside the container.
    #[serde(serialize_with = "shown::path")]
    pub destination: PathBuf,
    pub fs_type: String,
    /// The mount source as the mounter named it.
    #[serde(serialize_with = "shown::os", deserialize_with = "shown::read_os")]
    pub source: OsString,
    pub kind: MountKind,
    pub device: Device,
    /// The directory of its file system it shows (mountinfo's root field).
    #[serde(serialize_with = "shown::path")]
    pub fs_root: PathBuf,
    /// Where the host sees the same directory (see the module doc); `None` if nowhere.
    #[serde(serialize_with = "shown::opt_path")]
    pub host_path: Option<PathBuf>,
    /// Mounted read-only (`ro` among the per-mount options).
    pub read_only: bool,
    /// Per-mount options (`rw,nosuid,nodev,relatime`).
    pub options: Vec<String>,
    /// The file system's own options, decoded (overlay's are in `RootFs::overlay` instead).
    pub fs_options: Vec<String>,
    pub propagation: Propagation,
    /// `private`, `shared`, `slave`, `shared,slave` or `unbindable`.
    pub propagation_mode: String,
}

/// What kind of mount, for grouping and display.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MountKind {
    /// A directory of a block-device file system (a volume, a bind mount, a disk).
    Bind,
    /// Memory-backed: `tmpfs` (`/dev/shm`, `--tmpfs`), `ramfs`.
    Tmpfs,
    /// A union: `overlay`, `aufs`.
    Union,
    /// The kernel's own: proc, sysfs, cgroup, devpts, mqueue, nsfs, …
    Kernel,
    /// Anything else (fuse, nfs, …).
    Other,
}

const KERNEL_TYPES: &[&str] = &[
    "proc",
    "sysfs",
    "cgroup",
    "cgroup2",
    "devpts",
    "devtmpfs",
    "mqueue",
    "nsfs",
    "securityfs",
    "debugfs",
    "tracefs",
    "bpf",
    "fusectl",
    "configfs",
    "pstore",
    "hugetlbfs",
    "autofs",
    "binfmt_misc",
    "efivarfs",
    "selinuxfs",
];

impl MountKind {
    fn of(entry: &MountEntry) -> MountKind {
        let fs = entry.fs_type.as_str();
        if fs == "overlay" || fs == "aufs" {
            MountKind::Union
        } else if entry.root != Path::new("/") {
            // A subtree of anything — a tmpfs's too (a directory under /tmp where /tmp is a
            // tmpfs): a bind mount of a directory.
            MountKind::Bind
        } else if fs == "tmpfs" || fs == "ramfs" {
            MountKind::Tmpfs
        } else if KERNEL_TYPES.contains(&fs) {
            MountKind::Kernel
        } else if entry.device.major != 0 {
            // A real device's file system (its root): bound or mounted, a directory of the host.
            MountKind::Bind
        } else {
            MountKind::Other
        }
    }
}

/// The host's own mount table (isotop's `/proc/self/mountinfo`), which turns a container's
/// mounts into host paths: read once per pass over many containers ([`HostMounts::read`]).
#[derive(Debug, Clone, Default)]
pub struct HostMounts {
    entries: Vec<MountEntry>,
    /// Why there are no entries (missing or unreadable), said with each container read.
    note: Option<String>,
}

impl HostMounts {
    pub fn read(root: &HostRoot) -> HostMounts {
        let host_file = root.self_dir().join("mountinfo");
        match read_mountinfo(&host_file) {
            Ok(Some(bytes)) => HostMounts {
                entries: parse_mountinfo(&bytes).entries,
                note: None,
            },
            Ok(None) => HostMounts {
                entries: Vec::new(),
                note: Some(format!("{} missing: no host paths", host_file.display())),
            },
            Err(e) => HostMounts {
                entries: Vec::new(),
                note: Some(format!("{e}: no host paths")),
            },
        }
    }
}

/// Reads the root and mounts of `pid`'s mount namespace, as seen from its root; `None` when
/// the process is gone, or exiting (its mount table reads empty).
pub fn read_container_root(root: &HostRoot, pid: i32) -> Result<Option<ContainerRoot>, HostError> {
    read_container_root_with(root, pid, &HostMounts::read(root))
}

/// [`read_container_root`] with the host's mount table already read (a pass over many
/// containers reads it once).
pub fn read_container_root_with(
    root: &HostRoot,
    pid: i32,
    host_mounts: &HostMounts,
) -> Result<Option<ContainerRoot>, HostError> {
    let source = root.pid_dir(pid).join("mountinfo");
    let Some(bytes) = read_mountinfo(&source)? else {
        return Ok(None);
    };
    let table = parse_mountinfo(&bytes);
    // A mount namespace always shows its reader at least one mount: nothing at all is a
    // process exiting (its namespaces already let go of), i.e. gone.
    if table.entries.is_empty() && table.skipped_lines == 0 {
        return Ok(None);
    }
    let mut notes = Vec::new();
    if table.skipped_lines > 0 {
        notes.push(format!(
            "{} malformed lines of {} skipped",
            table.skipped_lines,
            source.display()
        ));
    }
    notes.extend(host_mounts.note.clone());
    let host = &host_mounts.entries;
    let root_at = root_mount_index(&table.entries);
    if root_at.is_none() {
        notes.push(
            "no mount at its /: its root is a directory inside a mount it cannot see (chroot)"
                .to_string(),
        );
    }
    let mut rootfs = None;
    let mut mounts = Vec::with_capacity(table.entries.len());
    for (index, entry) in table.entries.iter().enumerate() {
        let mount = container_mount(entry, host);
        if Some(index) == root_at {
            let overlay =
                (entry.fs_type == "overlay").then(|| parse_overlay_options(&entry.super_options));
            rootfs = Some(RootFs { mount, overlay });
        } else {
            mounts.push(mount);
        }
    }
    Ok(Some(ContainerRoot {
        pid,
        source,
        root: rootfs,
        mounts,
        notes,
        mounts_left_out: 0,
    }))
}

/// Reads a mountinfo file; `Ok(None)` when its process is gone. EINVAL is a zombie's answer
/// (no mount namespace any more), ESRCH one exiting right now.
pub fn read_mountinfo(path: &Path) -> Result<Option<Vec<u8>>, HostError> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if is_vanished(&e) || e.raw_os_error() == Some(nix::libc::EINVAL) => Ok(None),
        Err(e) => Err(HostError::io(path, e)),
    }
}

/// The mount at `/` on top of any others there: the `/` mount no other `/` mount sits on
/// (names as parent); the last listed if that does not single one out.
pub fn root_mount_index(entries: &[MountEntry]) -> Option<usize> {
    let at_root: Vec<usize> = (0..entries.len())
        .filter(|&i| entries[i].mount_point == Path::new("/"))
        .collect();
    at_root
        .iter()
        .rev()
        .copied()
        .find(|&i| {
            !at_root
                .iter()
                .any(|&j| j != i && entries[j].parent_id == entries[i].mount_id)
        })
        .or_else(|| at_root.last().copied())
}

fn container_mount(entry: &MountEntry, host: &[MountEntry]) -> ContainerMount {
    let fs_options = if entry.fs_type == "overlay" {
        Vec::new()
    } else {
        entry.super_options_decoded()
    };
    ContainerMount {
        mount_id: entry.mount_id,
        parent_id: entry.parent_id,
        destination: entry.mount_point.clone(),
        fs_type: entry.fs_type.clone(),
        source: entry.source.clone(),
        kind: MountKind::of(entry),
        device: entry.device,
        fs_root: entry.root.clone(),
        host_path: host_path_of(host, entry.device, &entry.root),
        read_only: entry.mount_options.iter().any(|o| o == "ro"),
        options: entry.mount_options.clone(),
        fs_options,
        propagation: entry.propagation.clone(),
        propagation_mode: entry.propagation.mode(),
    }
}

/// Where the host sees directory `fs_root` of the file system on `device`: through the host
/// mount of that device whose own root is the longest prefix of it (the first listed on a
/// tie), plus the rest of the path.
pub fn host_path_of(host: &[MountEntry], device: Device, fs_root: &Path) -> Option<PathBuf> {
    let mut best: Option<&MountEntry> = None;
    for entry in host.iter().filter(|e| e.device == device) {
        if !fs_root.starts_with(&entry.root) {
            continue;
        }
        let longer =
            best.is_none_or(|b| entry.root.components().count() > b.root.components().count());
        if longer {
            best = Some(entry);
        }
    }
    let entry = best?;
    let rest = fs_root.strip_prefix(&entry.root).ok()?;
    Some(if rest.as_os_str().is_empty() {
        entry.mount_point.clone()
    } else {
        entry.mount_point.join(rest)
    })
}

#[cfg(test)]
mod tests;
