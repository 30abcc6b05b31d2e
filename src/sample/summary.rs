//! The header's host figures: name, kernel, per-CPU busy share, memory, load and uptime, from
//! `<proc>/stat`, `<proc>/meminfo`, `<proc>/loadavg`, `<proc>/uptime` and
//! `<proc>/sys/kernel/{hostname,osrelease}` under the injected root (parsed by procfs-core).
//!
//! Busy shares need two reads of `<proc>/stat`, so the reader keeps the previous one; the first
//! summary has empty per-CPU figures and no total. A file that cannot be read or parsed leaves
//! its figures at zero/empty and adds a warning; it never fails the tick.

use procfs_core::{ExplicitSystemInfo, FromRead, FromReadSI, KernelStats, LoadAverage, Meminfo};

use super::frame::HostSummary;
use super::rates::{CpuJiffies, cpu_busy_percent};
use crate::host::process::{clock_ticks_per_second, read_uptime_seconds};
use crate::host::text::clean_str;
use crate::host::{HostRoot, read_optional};

/// Reads [`HostSummary`]s, remembering the previous CPU times.
#[derive(Debug, Default)]
pub struct SummaryReader {
    previous_total: Option<CpuJiffies>,
    previous_cpus: Vec<CpuJiffies>,
}

impl SummaryReader {
    pub fn new() -> SummaryReader {
        SummaryReader::default()
    }

    /// Reads the host figures; the counts (processes, containers, ...), cgroup mode and
    /// `is_root` are the caller's to fill.
    pub fn read(&mut self, root: &HostRoot, warnings: &mut Vec<String>) -> HostSummary {
        let mut summary = HostSummary {
            hostname: read_line(root, "sys/kernel/hostname").unwrap_or_default(),
            kernel: read_line(root, "sys/kernel/osrelease").unwrap_or_default(),
            uptime_seconds: read_uptime_seconds(root).unwrap_or(0.0),
            ..HostSummary::default()
        };
        self.read_cpus(root, &mut summary, warnings);

        let meminfo_path = root.proc.join("meminfo");
        match read_optional(&meminfo_path).map(|t| t.map(|t| Meminfo::from_read(t.as_bytes()))) {
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
        match read_optional(&loadavg_path).map(|t| t.map(|t| LoadAverage::from_read(t.as_bytes())))
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
        let stats = match read_optional(&path) {
            Ok(Some(text)) => match KernelStats::from_read(text.as_bytes(), &info) {
                Ok(stats) => stats,
                Err(e) => {
                    warnings.push(format!("{}: {e}", path.display()));
                    return;
                }
            },
            Ok(None) => {
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
/// CAP_SYS_ADMIN in the uts namespace: untrusted text).
fn read_line(root: &HostRoot, relative: &str) -> Option<String> {
    let text = read_optional(&root.proc.join(relative)).ok()??;
    Some(clean_str(text.lines().next().unwrap_or("").trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

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
