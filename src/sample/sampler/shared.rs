//! The frame's process list built without copying a record: each [`ProcessSample`] holds the
//! table's own record of its process (`Arc`, [`ProcessTable::processes`]), so a frame costs a
//! pointer a process, and a record that did not change since an earlier frame is that frame's
//! very allocation (the table copies a record a frame still holds only when it changes it:
//! see `processes::list`). User names are one `Arc<str>` per user, container ids one per
//! container. The wire form (serde) is that of the plain values, so recordings and remote
//! agents see no difference.
//!
//! Why: a copy of every changed process with its `comm` and `cmdline` strings each tick, plus
//! the table's own copy and its previous buffer, held each process three times (~7 MiB on an
//! 11,700-process host).

use foldhash::HashMap;
use std::sync::Arc;

use super::super::frame::{ContainerSample, ProcessSample};
use super::super::processes::ProcessTable;
use crate::host::users::UserNames;

/// `SharedProcesses::owner` of a process no container owns.
const NO_OWNER: u32 = u32::MAX;

/// What the frames' lists share between ticks.
#[derive(Debug, Default)]
pub(super) struct SharedProcesses {
    /// Names handed out per uid, until the user table is read again ([`Self::users_changed`]).
    user_names: HashMap<u32, Arc<str>>,
    /// Per table index, the index of the container owning the process; reused between ticks.
    /// (`u32::MAX`: none; 4 bytes a process rather than 16 for an `Option<usize>`).
    owner: Vec<u32>,
}

impl SharedProcesses {
    /// The user table was read again: names are looked up anew.
    pub(super) fn users_changed(&mut self) {
        self.user_names.clear();
    }

    /// This tick's process samples, ascending pid, each with its rate, user and container.
    pub(super) fn samples(
        &mut self,
        table: &ProcessTable,
        users: &UserNames,
        containers: &[ContainerSample],
    ) -> Vec<ProcessSample> {
        let processes = table.processes();
        self.owner.clear();
        self.owner.resize(processes.len(), NO_OWNER);
        for (at, c) in containers.iter().enumerate() {
            for pid in &c.view.container.pids {
                if let Some(i) = table.index_of(*pid) {
                    self.owner[i] = u32::try_from(at).unwrap_or(NO_OWNER);
                }
            }
        }
        let ids: Vec<Arc<str>> = containers
            .iter()
            .map(|c| Arc::from(c.view.container.id.as_str()))
            .collect();

        let mut samples = Vec::with_capacity(processes.len());
        let records = processes.shared().iter().zip(table.rates());
        for ((record, rate), owner) in records.zip(&self.owner) {
            let user = self
                .user_names
                .entry(record.uid)
                .or_insert_with(|| Arc::from(users.name(record.uid)));
            samples.push(ProcessSample {
                process: Arc::clone(record),
                cpu_percent: rate.cpu_percent,
                user: Arc::clone(user),
                container_id: ids.get(*owner as usize).map(Arc::clone),
            });
        }
        samples
    }
}
