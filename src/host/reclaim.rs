//! Whether the kernel took pages from processes since the last look: the sum of
//! `<proc>/vmstat`'s page-steal counters (`pgsteal_*`: pages reclaimed, by the whole host or
//! a memory cgroup's limit) and `pswpout` (pages swapped out) under the injected root.
//!
//! Contract: [`ReclaimWatch::moved`] is true when that sum changed since its previous call,
//! and whenever it cannot tell (the first call, a file that cannot be read, a kernel that
//! prints none of those counters): a caller that skips work while it is false skips it only
//! when the kernel said nothing was reclaimed. Why it matters: reclaim is how a sleeping
//! process's resident set shrinks without it running, so the process table reads an idle
//! process's `stat` again only after reclaim (`sample::processes`). The counters are summed
//! whatever their split (newer kernels count a cgroup's reclaim in `pgsteal_anon`/`_file`
//! only, older ones in `pgsteal_kswapd`/`_direct`): only a change is asked of them.

use super::HostRoot;
use super::whole_file::KeptFile;

/// Watches `<proc>/vmstat`'s reclaim counters between calls (see the module).
#[derive(Debug, Default)]
pub struct ReclaimWatch {
    file: KeptFile,
    buf: Vec<u8>,
    /// The sum at the previous call; `None` before the first or after one that could not tell.
    last: Option<u64>,
}

impl ReclaimWatch {
    pub fn new() -> ReclaimWatch {
        ReclaimWatch::default()
    }

    /// True when pages were reclaimed or swapped out since the previous call, or when that
    /// cannot be told (see the module). The file is kept open on the live host.
    pub fn moved(&mut self, root: &HostRoot) -> bool {
        let path = root.proc.join("vmstat");
        let now = match self.file.read(&path, root.live, &mut self.buf) {
            Ok(true) => reclaim_sum(&self.buf),
            Ok(false) | Err(_) => None,
        };
        let moved = now.is_none() || now != self.last;
        self.last = now;
        moved
    }
}

/// The sum of the `pgsteal_*` and `pswpout` counters of a `vmstat` text; `None` when it has
/// none of them.
fn reclaim_sum(text: &[u8]) -> Option<u64> {
    let mut sum = None;
    for line in text.split(|&b| b == b'\n') {
        let mut words = line.split(|&b| b == b' ');
        let (Some(name), Some(value)) = (words.next(), words.next()) else {
            continue;
        };
        if !(name.starts_with(b"pgsteal_") || name == b"pswpout") {
            continue;
        }
        let Some(value) = std::str::from_utf8(value)
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
        else {
            continue;
        };
        sum = Some(sum.unwrap_or(0u64).wrapping_add(value));
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    const VMSTAT: &str = "nr_free_pages 5531245\npswpin 0\npswpout 3\n\
        pgsteal_kswapd 0\npgsteal_direct 0\npgscan_file 814\npgsteal_anon 0\npgsteal_file 435\n";

    fn root_with(vmstat: Option<&str>) -> (tempfile::TempDir, HostRoot) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("proc")).unwrap();
        if let Some(text) = vmstat {
            std::fs::write(dir.path().join("proc/vmstat"), text).unwrap();
        }
        let root = HostRoot::under(dir.path());
        (dir, root)
    }

    #[test]
    fn sums_steals_and_swap_outs_only() {
        assert_eq!(reclaim_sum(VMSTAT.as_bytes()), Some(438));
        assert_eq!(reclaim_sum(b"nr_free_pages 1\npgscan_file 9\n"), None);
        assert_eq!(reclaim_sum(b"pgsteal_file x\npswpout\n"), None);
    }

    #[test]
    fn moved_on_the_first_look_on_a_change_and_when_it_cannot_tell() {
        let (dir, root) = root_with(Some(VMSTAT));
        let mut watch = ReclaimWatch::new();
        assert!(watch.moved(&root), "the first look cannot tell");
        assert!(!watch.moved(&root), "nothing reclaimed");
        // Only scanning moved: nothing was taken.
        std::fs::write(
            dir.path().join("proc/vmstat"),
            VMSTAT.replace("pgscan_file 814", "pgscan_file 900"),
        )
        .unwrap();
        assert!(!watch.moved(&root));
        std::fs::write(
            dir.path().join("proc/vmstat"),
            VMSTAT.replace("pgsteal_file 435", "pgsteal_file 436"),
        )
        .unwrap();
        assert!(watch.moved(&root), "a page stolen");
        assert!(!watch.moved(&root));
        std::fs::remove_file(dir.path().join("proc/vmstat")).unwrap();
        assert!(watch.moved(&root), "gone: cannot tell");
        assert!(watch.moved(&root), "still cannot tell");
        let (_other, without) = root_with(Some("nr_free_pages 1\n"));
        let mut watch = ReclaimWatch::new();
        assert!(
            watch.moved(&without) && watch.moved(&without),
            "no counters"
        );
    }
}
