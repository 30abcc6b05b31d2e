//! User-namespace id maps: which host range container root maps to, and writing it.
//!
//! Contract: [`default_idmap`] takes the `root` entry of `/etc/subuid` and `/etc/subgid`
//! (under the host root; the name `root` or the uid `0`), else 100000 + 65536 ids, the range
//! Debian's `useradd` hands out first. [`write_maps`] writes `0 <host> <count>` to the child's
//! `uid_map` and `gid_map` before it is released (the writer is root in the parent user
//! namespace, so `setgroups` need not be denied).

use std::path::Path;

use super::IdMap;
use crate::host::HostRoot;
use crate::launch::fail::LaunchError;

/// The range used when the host's files name none for root.
pub const FALLBACK_START: u32 = 100_000;
pub const FALLBACK_COUNT: u32 = 65_536;

/// The id map for `--userns`: root's subordinate ranges on this host, else the fallback.
pub fn default_idmap(host: &HostRoot) -> IdMap {
    let uid = subordinate_range(&host.etc.join("subuid"));
    let gid = subordinate_range(&host.etc.join("subgid"));
    let (host_uid, uid_count) = uid.unwrap_or((FALLBACK_START, FALLBACK_COUNT));
    let (host_gid, gid_count) = gid.unwrap_or((FALLBACK_START, FALLBACK_COUNT));
    IdMap {
        host_uid,
        host_gid,
        count: uid_count.min(gid_count),
    }
}

/// The first `root:<start>:<count>` (or `0:...`) line with a nonzero count; `None` when the
/// file is missing, unreadable or has no such line.
fn subordinate_range(path: &Path) -> Option<(u32, u32)> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines().find_map(|line| {
        let mut parts = line.trim().split(':');
        let name = parts.next()?;
        let start: u32 = parts.next()?.trim().parse().ok()?;
        let count: u32 = parts.next()?.trim().parse().ok()?;
        ((name == "root" || name == "0") && count > 0 && start.checked_add(count).is_some())
            .then_some((start, count))
    })
}

/// Writes the child's uid and gid maps (`/proc/<pid>/{uid,gid}_map`).
pub fn write_maps(host: &HostRoot, pid: i32, map: IdMap) -> Result<(), LaunchError> {
    let dir = host.pid_dir(pid);
    for (file, start) in [("uid_map", map.host_uid), ("gid_map", map.host_gid)] {
        let path = dir.join(file);
        std::fs::write(&path, format!("0 {start} {}\n", map.count))
            .map_err(|e| LaunchError::io("write the user namespace map", &path, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_ranges_come_from_the_hosts_files() {
        let tmp = tempfile::tempdir().unwrap();
        let etc = tmp.path().join("etc");
        std::fs::create_dir_all(&etc).unwrap();
        let host = HostRoot::under(tmp.path());
        assert_eq!(
            default_idmap(&host),
            IdMap {
                host_uid: 100_000,
                host_gid: 100_000,
                count: 65_536
            }
        );
        std::fs::write(
            etc.join("subuid"),
            "alice:100000:65536\nroot:200000:70000\n",
        )
        .unwrap();
        std::fs::write(etc.join("subgid"), "# none\n0:300000:65536\n").unwrap();
        assert_eq!(
            default_idmap(&host),
            IdMap {
                host_uid: 200_000,
                host_gid: 300_000,
                count: 65_536
            }
        );
        std::fs::write(etc.join("subuid"), "root:x:1\nroot:4294967295:2\n").unwrap();
        assert_eq!(default_idmap(&host).host_uid, 100_000);
    }
}
