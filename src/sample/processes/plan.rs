//! What a refresh does for one listed pid before reading anything of it: whether its run
//! check is read this tick.
//!
//! The rules are the table's (see [`super`]): an idle process of known identity is checked
//! every [`CHECK_EVERY`] ticks (spread by pid), one that ran at its last check, one without a
//! usable check and one not known to be the same process every tick.

use super::{CHECK_EVERY, ProcessRates};
use crate::host::process::proc_dir::PidEntry;

/// What was decided for one listed pid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Plan {
    /// The listed pid.
    pub entry: PidEntry,
    /// The slot holds this pid's process (same procfs inode).
    pub same: bool,
    /// Its run check is read this tick.
    pub check: bool,
}

impl Plan {
    /// The plan for `entry`, whose slot holds a process with rates `known` when the table
    /// knew the pid.
    pub(super) fn of(
        entry: PidEntry,
        known: Option<&ProcessRates>,
        procfs: bool,
        tick: u32,
    ) -> Plan {
        let spread = u64::from(tick);
        let same = procfs && known.is_some_and(|rate| rate.same_ino(entry.ino));
        let urgent = !same || known.is_some_and(|rate| rate.is_hot() || rate.lacks_sched());
        let check = urgent
            || (entry.pid as u64)
                .wrapping_add(spread)
                .is_multiple_of(CHECK_EVERY);
        Plan { entry, same, check }
    }
}
