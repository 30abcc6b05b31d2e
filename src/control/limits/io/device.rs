//! The block device an I/O limit names, checked before anything is planned: a path (`/dev/sda`,
//! `/dev/loop3`, a `/dev/disk/by-id/…` link) must be a block device node, a `MAJ:MIN` must be
//! a device the kernel lists under `<sys>/dev/block`, and either must be a whole disk (the
//! kernel limits I/O per disk and refuses partitions with ENODEV). Every refusal is a
//! `ControlError::InvalidValue` that says what to pass instead.

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use crate::control::ControlError;
use crate::host::HostRoot;
use crate::host::cgroup::io::devices::{device_dir, read_device_name};
use crate::host::cgroup::io::parse::DevNum;

/// A whole-disk block device, as the kernel numbers and names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockDevice {
    pub number: DevNum,
    /// `DEVNAME` (`loop3`), when sysfs has it.
    pub name: Option<String>,
}

const WHAT_TO_PASS: &str = "pass a block device path (`/dev/sda`, `/dev/loop3`) or its \
                            MAJ:MIN (`8:0`; `lsblk` shows both)";

fn refused(flag: &str, device: &str, why: String) -> ControlError {
    ControlError::InvalidValue {
        what: flag.to_string(),
        value: device.to_string(),
        hint: why,
    }
}

/// The whole disk `device` (as typed after `flag`) names on this host.
pub fn resolve(root: &HostRoot, flag: &str, device: &str) -> Result<BlockDevice, ControlError> {
    let number = match DevNum::parse(device) {
        Some(number) => number,
        None if device.starts_with('/') => node_number(flag, device)?,
        None => {
            return Err(refused(
                flag,
                device,
                format!("not a device path nor MAJ:MIN: {WHAT_TO_PASS}"),
            ));
        }
    };
    let dir = device_dir(&root.sys, number);
    if !dir.exists() {
        return Err(refused(
            flag,
            device,
            format!(
                "the kernel has no block device {number} (none in /sys/dev/block): {WHAT_TO_PASS}"
            ),
        ));
    }
    if dir.join("partition").exists() {
        let disk = std::fs::canonicalize(&dir)
            .ok()
            .and_then(|d| Some(d.parent()?.file_name()?.to_string_lossy().into_owned()))
            .map(|name| format!("/dev/{}", crate::host::text::clean_str(&name)))
            .unwrap_or_else(|| "the disk it is on".into());
        return Err(refused(
            flag,
            device,
            format!("{number} is a partition: the kernel limits I/O per whole disk; pass {disk}"),
        ));
    }
    Ok(BlockDevice {
        number,
        name: read_device_name(&root.sys, number),
    })
}

/// The device number of the block device node at `path` (symlinks followed).
fn node_number(flag: &str, path: &str) -> Result<DevNum, ControlError> {
    let meta = std::fs::metadata(Path::new(path)).map_err(|e| {
        let why = if e.kind() == std::io::ErrorKind::NotFound {
            "no such file".to_string()
        } else {
            e.to_string()
        };
        refused(flag, path, format!("{why}: {WHAT_TO_PASS}"))
    })?;
    let kind = meta.file_type();
    if !kind.is_block_device() {
        let what = if kind.is_file() {
            "a regular file (for an image file, pass the loop device it is attached to: \
             `losetup -j FILE`)"
        } else if kind.is_dir() {
            "a directory (pass the disk its file system is on: `findmnt -no SOURCE DIR`)"
        } else if kind.is_char_device() {
            "a character device"
        } else {
            "not a device"
        };
        return Err(refused(
            flag,
            path,
            format!("not a block device but {what}: {WHAT_TO_PASS}"),
        ));
    }
    let rdev = meta.rdev();
    Ok(DevNum {
        major: nix::sys::stat::major(rdev) as u32,
        minor: nix::sys::stat::minor(rdev) as u32,
    })
}
