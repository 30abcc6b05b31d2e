//! Container inits still settling, read again in full each tick ([`ProcessTable::reread_settling`]):
//! the sampler names the inits of containers younger than `sample::containers::SETTLING_SECONDS`,
//! whose cgroups a runtime may change after the table's own young re-reads.

use std::sync::Arc;

use super::ProcessTable;
use crate::host::HostRoot;
use crate::host::process::{ReadDepth, read_process};

impl ProcessTable {
    /// Reads `pids` again in full (container inits still settling: a runtime, or a person,
    /// may move one into its cgroups after its young re-reads); true when one's namespaces or
    /// cgroups changed. Pids not in the table, gone or unreadable are left as they are.
    pub fn reread_settling(&mut self, root: &HostRoot, pids: &[i32]) -> bool {
        let mut changed = false;
        for &pid in pids {
            let Some(at) = self.processes.position(pid) else {
                continue;
            };
            let held = &self.processes.0[at];
            let Ok(Some(mut fresh)) = read_process(root, pid, ReadDepth::Full) else {
                continue;
            };
            if fresh.start_ticks != held.start_ticks
                || (fresh.ns == held.ns && fresh.cgroups == held.cgroups)
            {
                continue;
            }
            changed = true;
            self.interned.share(&mut fresh);
            let record = Arc::make_mut(&mut self.processes.0[at]);
            record.ns = fresh.ns;
            record.cgroups = fresh.cgroups;
        }
        changed
    }
}
