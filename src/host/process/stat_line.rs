//! The two per-process files the sampler reads every tick, parsed in place without
//! allocating: `/proc/PID/schedstat` ([`SchedStat`]) and `/proc/PID/stat` ([`StatLine`]).
//! A parser answers `None` for text without the kernel's shape; it never panics.

use super::Process;
use crate::host::text::clean;
use crate::units::kernel::page_size;

/// `/proc/PID/schedstat`: what the scheduler counted for the process's main thread. A task
/// that was not scheduled in between two reads shows the same pair. The same shape carries a
/// CPU clock check ([`super::proc_dir::ProcDir::read_run_check`]: CPU time of all threads in
/// ns, the count 1): a pair is compared only with its own source's next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchedStat {
    /// Time spent on a CPU, ns (`sum_exec_runtime`; the CPU clock: all threads').
    pub runtime_ns: u64,
    /// Times scheduled in (`pcount`; 1 from the CPU clock, whose time moves at every run); 0
    /// when the kernel keeps no sched_info (it prints `0 0 0`).
    pub pcount: u64,
}

/// The fields of one `/proc/PID/stat` line the sampler keeps, parsed in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatLine {
    comm: [u8; 64],
    comm_len: usize,
    pub state: char,
    pub ppid: i32,
    /// `flags` (field 9): PF_KTHREAD (0x00200000) marks kernel threads.
    pub flags: u64,
    /// utime + stime, clock ticks (fields 14 + 15).
    pub cpu_ticks: u64,
    pub threads: i64,
    /// Start time after boot, clock ticks (field 22).
    pub start_ticks: u64,
    /// Resident set, pages (field 24).
    pub rss_pages: u64,
}

impl StatLine {
    /// `comm` as the kernel printed it (at most 64 bytes kept), not cleaned.
    pub fn raw_comm(&self) -> &[u8] {
        &self.comm[..self.comm_len]
    }

    /// Parses a `stat` line; `None` when it does not have the kernel's shape.
    pub fn parse(line: &[u8]) -> Option<StatLine> {
        // comm may hold spaces and parentheses: it ends at the LAST ')'.
        let open = line.iter().position(|b| *b == b'(')?;
        let close = line.iter().rposition(|b| *b == b')')?;
        let raw = line.get(open + 1..close)?;
        let mut comm = [0u8; 64];
        let comm_len = raw.len().min(comm.len());
        comm[..comm_len].copy_from_slice(&raw[..comm_len]);
        let mut fields = line
            .get(close + 1..)?
            .split(|b| *b == b' ')
            .filter(|f| !f.is_empty());
        // After the comm: field 3 (state) is the 0th; see proc(5) for the numbering.
        let state = *fields.next()?.first()? as char;
        let ppid = number(fields.next()?)?;
        let mut fields = fields.skip(4); // pgrp, session, tty_nr, tpgid
        let flags = number(fields.next()?)?;
        let mut fields = fields.skip(4); // minflt, cminflt, majflt, cmajflt
        let utime: u64 = number(fields.next()?)?;
        let stime: u64 = number(fields.next()?)?;
        let mut fields = fields.skip(4); // cutime, cstime, priority, nice
        let threads = number(fields.next()?)?;
        let mut fields = fields.skip(1); // itrealvalue
        let start_ticks = number(fields.next()?)?;
        let mut fields = fields.skip(1); // vsize
        // Printed signed ("%ld"); a negative count is a kernel accounting blip, shown as 0.
        let rss: i64 = number(fields.next()?)?;
        Some(StatLine {
            comm,
            comm_len,
            state,
            ppid,
            flags,
            cpu_ticks: utime.saturating_add(stime),
            threads,
            start_ticks,
            rss_pages: u64::try_from(rss).unwrap_or(0),
        })
    }
}

impl StatLine {
    /// Copies the figures into a full record, cleaning `comm` only when it changed (the
    /// cleaned form of clean text is the text itself, so equal bytes mean an equal `comm`).
    /// True when `comm` changed (an exec, or a thread renaming itself) — never for a kernel
    /// thread, whose new name is no exec (a workqueue worker names the work it does now,
    /// `kworker/0:1-events`, changing most ticks).
    pub fn apply_to(&self, process: &mut Process) -> bool {
        let mut comm_changed = false;
        if process.comm.as_bytes() != self.raw_comm() {
            let cleaned = clean(self.raw_comm());
            comm_changed = cleaned != process.comm;
            process.comm = cleaned.into();
        }
        process.ppid = self.ppid;
        process.state = self.state;
        process.start_ticks = self.start_ticks;
        process.cpu_ticks = self.cpu_ticks;
        process.rss_bytes = self.rss_pages.saturating_mul(page_size());
        process.threads = self.threads;
        process.kernel_thread = self.flags & 0x0020_0000 != 0;
        comm_changed && !process.kernel_thread
    }
}

/// A decimal field of a proc file (ASCII digits, maybe a sign).
pub(super) fn number<T: std::str::FromStr>(field: &[u8]) -> Option<T> {
    std::str::from_utf8(field).ok()?.trim_end().parse().ok()
}

/// Parses `schedstat`'s `runtime run_delay pcount`.
pub fn parse_schedstat(text: &[u8]) -> Option<SchedStat> {
    let mut fields = text
        .split(|b| b.is_ascii_whitespace())
        .filter(|f| !f.is_empty());
    let runtime_ns = number(fields.next()?)?;
    let _run_delay: u64 = number(fields.next()?)?;
    let pcount = number(fields.next()?)?;
    Some(SchedStat { runtime_ns, pcount })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_line_fields() {
        let line = b"42 (a) b) c) S 7 42 42 0 -1 4194560 10 0 0 0 15 5 0 0 20 0 3 0 9000 1000 25 \
                     18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
        let stat = StatLine::parse(line).expect("parses");
        assert_eq!(stat.raw_comm(), b"a) b) c");
        assert_eq!((stat.state, stat.ppid, stat.flags), ('S', 7, 4194560));
        assert_eq!((stat.cpu_ticks, stat.threads), (20, 3));
        assert_eq!((stat.start_ticks, stat.rss_pages), (9000, 25));
        assert_eq!(StatLine::parse(b"42 (x) S 7"), None);
        assert_eq!(StatLine::parse(b"garbage"), None);
    }

    #[test]
    fn schedstat_fields() {
        assert_eq!(
            parse_schedstat(b"123456 789 12\n"),
            Some(SchedStat {
                runtime_ns: 123456,
                pcount: 12
            })
        );
        assert_eq!(parse_schedstat(b"0 0 0\n").map(|s| s.pcount), Some(0));
        assert_eq!(parse_schedstat(b"12 x 3"), None);
        assert_eq!(parse_schedstat(b""), None);
    }
}
