//! The two cheapest reads of a cgroup, for the sampler's process gate: its CPU usage counter
//! (one small file) and the pids directly in it (`cgroup.procs`), relative to one kept-open
//! directory fd of the hierarchy that accounts CPU, into kept buffers.
//!
//! Contract: [`usage_hierarchy`] picks the hierarchy whose counter covers a cgroup's CPU time:
//! the v1 one carrying `cpuacct` (`cpuacct.usage`, ns), else the unified one (`cpu.stat`
//! `usage_usec`, kept by the kernel for every v2 cgroup, with or without the `cpu` controller).
//! Both counters include the cgroup's descendants and only grow while the cgroup exists: an
//! unchanged counter between two reads means no task in it or below ran in between (a task
//! is charged when it stops running and at every scheduler tick while it runs; on v2 a run
//! shorter than 1 µs may not move `usage_usec`). The counter's unit is the hierarchy's own:
//! compare it only with a counter of the same cgroup. A cgroup that does not exist, or a
//! file that cannot be read or parsed, is `None`: the caller must then assume it ran.

use std::ffi::CString;
use std::io;
use std::os::fd::OwnedFd;
use std::path::Path;

use rustix::fs::{Mode, OFlags};

use super::layout::{CgroupLayout, Hierarchy};
use crate::host::whole_file::pread_whole;

/// The hierarchy whose per-cgroup counter is the CPU time of its members: v1 `cpuacct`'s, else
/// the unified one. `None` when neither is mounted.
pub fn usage_hierarchy(layout: &CgroupLayout) -> Option<&Hierarchy> {
    layout.v1_carrying("cpuacct").or_else(|| layout.v2())
}

/// Reads the usage counter and `cgroup.procs` of cgroups of one hierarchy.
#[derive(Debug)]
pub struct UsageReader {
    hierarchy: Hierarchy,
    /// The hierarchy's directory, opened once.
    fd: OwnedFd,
    buf: Vec<u8>,
}

impl UsageReader {
    /// Opens `hierarchy`'s directory.
    pub fn open(hierarchy: &Hierarchy) -> io::Result<UsageReader> {
        let fd = rustix::fs::open(
            &hierarchy.dir,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        Ok(UsageReader {
            hierarchy: hierarchy.clone(),
            fd,
            buf: Vec::with_capacity(4096),
        })
    }

    /// The hierarchy read.
    pub fn hierarchy(&self) -> &Hierarchy {
        &self.hierarchy
    }

    /// The CPU usage counter of cgroup `path` (v1 ns, v2 µs); `None` when unreadable.
    pub fn usage(&mut self, path: &str) -> Option<u64> {
        if self.hierarchy.version == 1 {
            let text = self.read(path, "cpuacct.usage")?;
            std::str::from_utf8(text).ok()?.trim().parse().ok()
        } else {
            let text = self.read(path, "cpu.stat")?;
            let text = std::str::from_utf8(text).ok()?;
            text.lines()
                .find_map(|line| line.strip_prefix("usage_usec "))
                .and_then(|value| value.trim().parse().ok())
        }
    }

    /// The pids directly in cgroup `path` into `out` (cleared first), ascending; false when
    /// `cgroup.procs` cannot be read or holds something else than pids.
    pub fn procs(&mut self, path: &str, out: &mut Vec<i32>) -> bool {
        out.clear();
        let Some(text) = self.read(path, "cgroup.procs") else {
            return false;
        };
        for line in text.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            match std::str::from_utf8(line).ok().and_then(|l| l.parse().ok()) {
                Some(pid) => out.push(pid),
                None => return false,
            }
        }
        // v1 lists them sorted; v2 in its own order.
        if !out.is_sorted() {
            out.sort_unstable();
        }
        true
    }

    /// The whole of `FILE` in cgroup `path`, into the kept buffer (grown as needed).
    fn read(&mut self, path: &str, file: &str) -> Option<&[u8]> {
        let name = relative_name(&self.hierarchy, path, file)?;
        let fd = rustix::fs::openat(
            &self.fd,
            name.as_c_str(),
            OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOFOLLOW,
            Mode::empty(),
        )
        .ok()?;
        pread_whole(&std::fs::File::from(fd), &mut self.buf).ok()?;
        Some(&self.buf)
    }
}

/// `path/FILE` relative to the hierarchy's directory; `None` for a path outside its mount.
fn relative_name(hierarchy: &Hierarchy, path: &str, file: &str) -> Option<CString> {
    let dir = hierarchy.cgroup_dir(path)?;
    let relative = dir.strip_prefix(&hierarchy.dir).ok()?;
    let joined = if relative.as_os_str().is_empty() {
        Path::new(file).to_path_buf()
    } else {
        relative.join(file)
    };
    CString::new(joined.into_os_string().into_encoded_bytes()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn fixture(version: u8) -> (tempfile::TempDir, Hierarchy) {
        let dir = tempfile::tempdir().unwrap();
        let hierarchy = Hierarchy {
            version,
            controllers: if version == 1 {
                vec!["cpu".into(), "cpuacct".into()]
            } else {
                Vec::new()
            },
            mount_point: PathBuf::from("/sys/fs/cgroup"),
            dir: dir.path().to_path_buf(),
            mount_root: "/".into(),
        };
        (dir, hierarchy)
    }

    #[test]
    fn v1_counter_and_procs() {
        let (dir, hierarchy) = fixture(1);
        std::fs::create_dir_all(dir.path().join("a/b")).unwrap();
        std::fs::write(dir.path().join("a/b/cpuacct.usage"), "123456789\n").unwrap();
        std::fs::write(dir.path().join("a/b/cgroup.procs"), "30\n7\n12\n").unwrap();
        std::fs::write(dir.path().join("cpuacct.usage"), "5\n").unwrap();
        let mut reader = UsageReader::open(&hierarchy).unwrap();
        assert_eq!(reader.usage("/a/b"), Some(123_456_789));
        assert_eq!(reader.usage("/"), Some(5));
        assert_eq!(reader.usage("/missing"), None);
        assert_eq!(reader.usage("/a/../.."), None);
        let mut pids = Vec::new();
        assert!(reader.procs("/a/b", &mut pids));
        assert_eq!(pids, vec![7, 12, 30]);
        assert!(!reader.procs("/missing", &mut pids));
    }

    #[test]
    fn v2_counter_from_cpu_stat_and_garbage_is_none() {
        let (dir, hierarchy) = fixture(2);
        std::fs::create_dir_all(dir.path().join("svc")).unwrap();
        std::fs::write(
            dir.path().join("svc/cpu.stat"),
            "usage_usec 4200\nuser_usec 4000\nsystem_usec 200\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("svc/cgroup.procs"), "1\nzz\n").unwrap();
        let mut reader = UsageReader::open(&hierarchy).unwrap();
        assert_eq!(reader.usage("/svc"), Some(4200));
        let mut pids = Vec::new();
        assert!(!reader.procs("/svc", &mut pids));
        // A long cgroup.procs is read whole (the buffer grows).
        let long: String = (1..5000).map(|p| format!("{p}\n")).collect();
        std::fs::write(dir.path().join("svc/cgroup.procs"), long).unwrap();
        assert!(reader.procs("/svc", &mut pids));
        assert_eq!(pids.len(), 4999);
    }
}
