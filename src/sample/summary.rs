//! The header's host figures: name, kernel, per-CPU busy share, memory, load and uptime, from
//! `<proc>/stat`, `<proc>/meminfo`, `<proc>/loadavg`, `<proc>/uptime` and
//! `<proc>/sys/kernel/{hostname,osrelease}` under the injected root (parsed by procfs-core).
//!
//! Busy shares need two reads of `<proc>/stat`, so the reader keeps the previous one; the first
//! summary has empty per-CPU figures and no total. A file that cannot be read or parsed leaves
//! its figures at zero/empty and adds a warning; it never fails the tick.
//!
//! On the live host the files are kept open and read whole with one `pread` a tick into a kept
//! buffer (`host::whole_file`: a `seq_file` regenerates its text at offset 0), instead of an
//! open, a size query, a probe read, growing reads and a close each (~5 % of the dashboard's
//! samples on a large host); a file that fails is opened afresh the next tick. Under another
//! root (a snapshot, whose files may be replaced) each is opened every time.

use procfs_core::{ExplicitSystemInfo, FromRead, FromReadSI, KernelStats, LoadAverage, Meminfo};

use super::frame::HostSummary;
use super::rates::{CpuJiffies, cpu_busy_percent};
use crate::host::HostRoot;
use crate::host::process::{clock_ticks_per_second, read_uptime_seconds};
use crate::host::text::clean_str;
use crate::host::whole_file::KeptFile;

/// Reads [`HostSummary`]s, remembering the previous CPU times.
#[derive(Debug, Default)]
pub struct SummaryReader {
    previous_total: Option<CpuJiffies>,
    previous_cpus: Vec<CpuJiffies>,
    stat: KeptFile,
    meminfo: KeptFile,
    loadavg: KeptFile,
    hostname: KeptFile,
    osrelease: KeptFile,
    /// The last file's bytes (reused).
    buf: Vec<u8>,
}

impl SummaryReader {
    pub fn new() -> SummaryReader {
        SummaryReader::default()
    }

    /// Reads the host figures; the counts (processes, containers, ...), cgroup mode and
    /// `is_root` are the caller's to fill.
    pub fn read(&mut self, root: &HostRoot, warnings: &mut Vec<String>) -> HostSummary {
        let keep = root.live;
        let mut summary = HostSummary {
            hostname: first_line(
                &mut self.hostname,
                root,
                "sys/kernel/hostname",
                &mut self.buf,
            ),
            kernel: first_line(
                &mut self.osrelease,
                root,
                "sys/kernel/osrelease",
                &mut self.buf,
            ),
            uptime_seconds: read_uptime_seconds(root).unwrap_or(0.0),
            ..HostSummary::default()
        };
        self.read_cpus(root, &mut summary, warnings);

        let meminfo_path = root.proc.join("meminfo");
        let buf = &mut self.buf;
        match (self.meminfo.read(&meminfo_path, keep, buf))
            .map(|found| found.then(|| Meminfo::from_read(&buf[..])))
        {
            Ok(Some(Ok(m))) => {
                summary.memory_total_bytes = m.mem_total;
                // Kernels before 3.14 lack MemAvailable; free memory is the closest figure.
                summary.memory_available_bytes = m.mem_available.unwrap_or(m.mem_free);
                summary.swap_total_bytes = m.swap_total;
                summary.swap_free_bytes = m.swap_free;
            }
            Ok(Some(Err(e))) => warnings.push(format!("{}: {e}", meminfo_path.display())),
            Ok(None) => warnings.push(format!("{} is missing", meminfo_path.display())),
            Err(e) => warnings.push(e.to_string()),
        }

        let loadavg_path = root.proc.join("loadavg");
        match (self.loadavg.read(&loadavg_path, keep, buf))
            .map(|found| found.then(|| LoadAverage::from_read(&buf[..])))
        {
            Ok(Some(Ok(l))) => summary.load = [l.one as f64, l.five as f64, l.fifteen as f64],
            Ok(Some(Err(e))) => warnings.push(format!("{}: {e}", loadavg_path.display())),
            Ok(None) => warnings.push(format!("{} is missing", loadavg_path.display())),
            Err(e) => warnings.push(e.to_string()),
        }
        summary
    }

    fn read_cpus(
        &mut self,
        root: &HostRoot,
        summary: &mut HostSummary,
        warnings: &mut Vec<String>,
    ) {
        let path = root.proc.join("stat");
        let info = ExplicitSystemInfo {
            boot_time_secs: 0,
            ticks_per_second: clock_ticks_per_second(),
            page_size: 4096,
            is_little_endian: cfg!(target_endian = "little"),
        };
        let stats = match self.stat.read(&path, root.live, &mut self.buf) {
            Ok(true) => match KernelStats::from_read(&self.buf[..], &info) {
                Ok(stats) => stats,
                Err(e) => {
                    warnings.push(format!("{}: {e}", path.display()));
                    return;
                }
            },
            Ok(false) => {
                warnings.push(format!("{} is missing", path.display()));
                return;
            }
            Err(e) => {
                warnings.push(e.to_string());
                return;
            }
        };
        let total = CpuJiffies::from_cpu_time(&stats.total);
        let cpus: Vec<CpuJiffies> = stats
            .cpu_time
            .iter()
            .map(CpuJiffies::from_cpu_time)
            .collect();
        summary.cpus = cpus.len();
        summary.cpu_percent_total = cpu_busy_percent(self.previous_total, total);
        // A CPU count change (hot-plug) makes per-index comparisons meaningless for one tick.
        if self.previous_cpus.len() == cpus.len() {
            summary.cpu_percent_per_core = cpus
                .iter()
                .zip(&self.previous_cpus)
                .map(|(now, before)| cpu_busy_percent(Some(*before), *now).unwrap_or(0.0))
                .collect();
        }
        self.previous_total = Some(total);
        self.previous_cpus = cpus;
    }
}

/// First line of a small proc file, trimmed and cleaned (the hostname is set by whoever has
/// CAP_SYS_ADMIN in the uts namespace: untrusted text); empty when unreadable.
fn first_line(kept: &mut KeptFile, root: &HostRoot, relative: &str, buf: &mut Vec<u8>) -> String {
    match kept.read(&root.proc.join(relative), root.live, buf) {
        Ok(true) => {
            let text = String::from_utf8_lossy(buf);
            clean_str(text.lines().next().unwrap_or("").trim())
        }
        Ok(false) | Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn on_the_live_host_the_files_stay_open_and_read_afresh() {
        let root = HostRoot::live();
        let mut reader = SummaryReader::new();
        let mut warnings = Vec::new();
        let first = reader.read(&root, &mut warnings);
        let before = reader.previous_total.expect("CPU times").total;
        // 30 ms later the kept `stat` says more time went by (jiffies of every CPU).
        std::thread::sleep(std::time::Duration::from_millis(30));
        let second = reader.read(&root, &mut warnings);
        let after = reader.previous_total.expect("CPU times").total;
        assert!(after > before, "{before} -> {after}: read afresh");
        assert!(warnings.is_empty(), "{warnings:?}");
        for kept in [
            &reader.stat,
            &reader.meminfo,
            &reader.loadavg,
            &reader.hostname,
            &reader.osrelease,
        ] {
            assert!(kept.is_open(), "{kept:?}");
        }
        assert!(second.cpus > 0 && second.cpu_percent_per_core.len() == second.cpus);
        assert!(second.memory_total_bytes > 0 && !second.kernel.is_empty());
        assert_eq!(
            (&first.hostname, &first.kernel),
            (&second.hostname, &second.kernel)
        );
        // A file gone from a snapshot is told, and nothing is kept open there.
        let dir = tempfile::tempdir().unwrap();
        let snapshot = HostRoot::under(dir.path());
        let mut reader = SummaryReader::new();
        let mut warnings = Vec::new();
        let summary = reader.read(&snapshot, &mut warnings);
        assert_eq!((summary.cpus, summary.memory_total_bytes), (0, 0));
        assert!(
            warnings.iter().any(|w| w.ends_with("stat is missing"))
                && warnings.iter().any(|w| w.ends_with("meminfo is missing")),
            "{warnings:?}"
        );
        assert!(!reader.stat.is_open() && !reader.hostname.is_open());
    }

    #[test]
    fn the_cpu_count_is_known_from_the_first_read_the_shares_from_the_second() {
        let dir = tempfile::tempdir().unwrap();
        let proc = dir.path().join("proc");
        std::fs::create_dir_all(&proc).unwrap();
        let stat = |busy: u64| {
            format!(
                "cpu  {b2} 0 0 {idle2} 0 0 0 0 0 0\ncpu0 {busy} 0 0 100 0 0 0 0 0 0\n\
                 cpu1 {busy} 0 0 100 0 0 0 0 0 0\ncpu2 {busy} 0 0 100 0 0 0 0 0 0\n\
                 intr 0\nctxt 0\nbtime 0\nprocesses 1\nprocs_running 1\nprocs_blocked 0\n",
                b2 = busy * 3,
                idle2 = 300
            )
        };
        std::fs::write(proc.join("stat"), stat(100)).unwrap();
        let root = HostRoot::under(dir.path());
        let mut reader = SummaryReader::new();
        let first = reader.read(&root, &mut Vec::new());
        assert_eq!(first.cpus, 3);
        assert!(first.cpu_percent_per_core.is_empty());
        std::fs::write(proc.join("stat"), stat(200)).unwrap();
        let second = reader.read(&root, &mut Vec::new());
        assert_eq!(second.cpus, 3);
        assert_eq!(second.cpu_percent_per_core.len(), 3);
    }
}
