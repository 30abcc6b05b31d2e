//! Block device numbers to names: `DEVNAME` of `<sys>/dev/block/MAJ:MIN/uevent` (`loop3`,
//! `nvme0n1`, `dm-0`), read through the injected root and cached.
//!
//! The cache keeps one answer per (sysfs directory, device number) for [`KEEP`]: a sampler
//! asks for the same few devices every tick, and a number reused by another device (a
//! hot-plugged disk, a dynamic major) shows its new name within that time. A device that does
//! not exist (gone since the kernel counted it) has no name (`None`), also cached. The cache
//! is bounded; a poisoned lock is taken over (a panic elsewhere does not stop naming).

use foldhash::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::parse::DevNum;
use crate::host::text::clean_str;

/// How long a name is trusted before it is read again.
const KEEP: Duration = Duration::from_secs(30);
/// Entries kept at most (the whole cache is dropped past it: devices, not a workload).
const MAX_ENTRIES: usize = 4096;

/// (sysfs directory, device number) → (its name, when it was read).
type Names = HashMap<(PathBuf, DevNum), (Option<String>, Instant)>;
static NAMES: Mutex<Option<Names>> = Mutex::new(None);

/// The kernel's name of block device `dev` under sysfs `sys` (cached, see the module).
pub fn device_name(sys: &Path, dev: DevNum) -> Option<String> {
    let key = (sys.to_path_buf(), dev);
    let now = Instant::now();
    {
        let mut cache = NAMES.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((name, at)) = cache.get_or_insert_with(HashMap::default).get(&key)
            && now.duration_since(*at) < KEEP
        {
            return name.clone();
        }
    }
    let name = read_device_name(sys, dev);
    let mut cache = NAMES.lock().unwrap_or_else(|e| e.into_inner());
    let map = cache.get_or_insert_with(HashMap::default);
    if map.len() >= MAX_ENTRIES {
        map.clear();
    }
    map.insert(key, (name.clone(), now));
    name
}

/// `DEVNAME` of the device's `uevent`, cleaned (a name is shown on terminals); `None` when the
/// device or the line is absent, or the name is empty.
pub fn read_device_name(sys: &Path, dev: DevNum) -> Option<String> {
    let uevent = std::fs::read(device_dir(sys, dev).join("uevent")).ok()?;
    let text = String::from_utf8_lossy(&uevent);
    let name = text
        .lines()
        .find_map(|l| l.strip_prefix("DEVNAME="))?
        .trim();
    (!name.is_empty()).then(|| clean_str(name))
}

/// `<sys>/dev/block/MAJ:MIN`: the device's sysfs directory (a symlink into `devices/`).
pub fn device_dir(sys: &Path, dev: DevNum) -> PathBuf {
    sys.join("dev/block").join(dev.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sys_with(dev: &str, uevent: &str) -> tempfile::TempDir {
        let sys = tempfile::tempdir().unwrap();
        let dir = sys.path().join("dev/block").join(dev);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("uevent"), uevent).unwrap();
        sys
    }

    #[test]
    fn names_come_from_devname_and_are_cleaned() {
        // This host's loop device, as captured.
        let sys = sys_with(
            "7:0",
            "MAJOR=7\nMINOR=0\nDEVNAME=loop0\nDEVTYPE=disk\nDISKSEQ=11\n",
        );
        let dev = DevNum { major: 7, minor: 0 };
        assert_eq!(device_name(sys.path(), dev).as_deref(), Some("loop0"));
        let odd = sys_with("8:0", "MAJOR=8\nDEVNAME=sd\x1b[2Ja\n");
        assert_eq!(
            read_device_name(odd.path(), DevNum { major: 8, minor: 0 }).as_deref(),
            Some("sd?[2Ja")
        );
        let nameless = sys_with("9:0", "MAJOR=9\nDEVNAME=\n");
        assert_eq!(
            read_device_name(nameless.path(), DevNum { major: 9, minor: 0 }),
            None
        );
        assert_eq!(device_name(sys.path(), DevNum { major: 1, minor: 1 }), None);
    }

    #[test]
    fn a_cached_name_is_served_without_reading_again() {
        let sys = sys_with("7:5", "DEVNAME=loop5\n");
        let dev = DevNum { major: 7, minor: 5 };
        assert_eq!(device_name(sys.path(), dev).as_deref(), Some("loop5"));
        std::fs::write(
            device_dir(sys.path(), dev).join("uevent"),
            "DEVNAME=other\n",
        )
        .unwrap();
        // Within KEEP the cached answer stands; the file itself says the new name.
        assert_eq!(device_name(sys.path(), dev).as_deref(), Some("loop5"));
        assert_eq!(read_device_name(sys.path(), dev).as_deref(), Some("other"));
    }
}
