//! Processes coming and going in the table: one seen for the first time read in full
//! ([`ProcessTable::add`]), one whose files could no longer be read counted gone or unreadable
//! ([`ProcessTable::lost`]), and the children of those that exited or became zombies re-read,
//! since the kernel gave them a new parent without them running
//! ([`ProcessTable::adopt_orphans`]).

use std::sync::Arc;

use super::list::stat_moves;
use super::{Held, ProcessRates, ProcessTable, RefreshSummary};
use crate::host::process::proc_dir::{PidEntry, SchedStat};
use crate::host::process::{ReadDepth, read_process};
use crate::host::{HostError, HostRoot};

impl ProcessTable {
    /// A known process whose `stat` could not be read: gone (`error` `None`), or
    /// unreadable (counted as denied, or told as a warning). Its children will be re-parented.
    pub(super) fn lost(
        &mut self,
        pid: i32,
        error: Option<HostError>,
        summary: &mut RefreshSummary,
    ) -> Option<Held> {
        summary.gone += 1;
        self.orphaning.push(pid);
        match error {
            Some(e) if e.is_permission() => summary.denied += 1,
            Some(e) => summary.warnings.push(e.to_string()),
            None => {}
        }
        None
    }

    /// Reads a process seen for the first time (or its pid's new owner) in full.
    pub(super) fn add(
        &mut self,
        root: &HostRoot,
        entry: PidEntry,
        sched: Option<SchedStat>,
        tick: u32,
        summary: &mut RefreshSummary,
    ) -> Option<Held> {
        match read_process(root, entry.pid, ReadDepth::Full) {
            Ok(Some(mut process)) => {
                self.interned.share(&mut process);
                summary.added += 1;
                summary.arrived.push(entry.pid);
                Some((
                    Arc::new(process),
                    ProcessRates::first(tick, entry.ino, sched),
                ))
            }
            Ok(None) => None,
            Err(e) if e.is_permission() => {
                summary.denied += 1;
                None
            }
            Err(e) => {
                summary.warnings.push(e.to_string());
                None
            }
        }
    }

    /// Re-reads `stat` of the children of this tick's exited and zombie processes (the kernel
    /// gave them a new parent without them running) unless read this tick already.
    pub(super) fn adopt_orphans(&mut self, tick: u32, summary: &mut RefreshSummary) {
        if self.orphaning.is_empty() {
            return;
        }
        self.orphaning.sort_unstable();
        let Some(dir) = self.dir.as_mut() else {
            return;
        };
        for (process, rate) in self.processes.0.iter_mut().zip(self.rates.iter_mut()) {
            if rate.stat_tick() == tick || self.orphaning.binary_search(&process.ppid).is_err() {
                continue;
            }
            // Gone or unreadable now: next tick's listing sorts it out.
            if let Ok(Some(stat)) = dir.read_stat(process.pid)
                && stat.start_ticks == process.start_ticks
            {
                let previous_ticks = process.cpu_ticks;
                let ppid_before = process.ppid;
                if stat_moves(&stat, process) {
                    summary.facts_changed |= stat.apply_to(Arc::make_mut(process));
                }
                summary.facts_changed |= process.ppid != ppid_before;
                rate.stat_read(tick, process.cpu_ticks.checked_sub(previous_ticks));
                summary.stat_reads += 1;
            }
        }
    }
}
