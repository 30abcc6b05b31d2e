//! What a refresh does for one listed pid before reading anything of it: whether its run
//! check is read this tick and what the cgroup gate says (a quiet cgroup's listing is read at
//! its first member's turn, once for all of them).
//!
//! The rules are the table's (see [`super`]): an idle process of known identity is checked
//! every [`CHECK_EVERY`] ticks (spread by pid), one that ran at its last check, one without a
//! usable check and one not known to be the same process every tick; the gate's `Quiet` and
//! `Wait` spare a check (a quiet cgroup's members are considered on the cgroup's turn), its
//! `Moved` forces one.

use super::gate::{CgroupGate, Verdict};
use super::{CHECK_EVERY, ProcessRates, RefreshSummary};
use crate::host::process::Process;
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
    pub verdict: Verdict,
}

impl Plan {
    /// The plan for `entry`, whose slot holds `cached` (the record and rates) when the table
    /// knew the pid; counts the gate's spared and forced checks into `summary`.
    pub(super) fn of(
        entry: PidEntry,
        cached: Option<(&Process, &ProcessRates)>,
        gate: Option<&mut CgroupGate>,
        procfs: bool,
        tick: u32,
        summary: &mut RefreshSummary,
    ) -> Plan {
        let spread = u64::from(tick);
        let known = cached.map(|(_, rate)| rate);
        let same = procfs && known.is_some_and(|rate| rate.same_ino(entry.ino));
        let urgent = !same || known.is_some_and(|rate| rate.is_hot() || rate.lacks_sched());
        let mut check = urgent
            || (entry.pid as u64)
                .wrapping_add(spread)
                .is_multiple_of(CHECK_EVERY);
        let verdict = match (cached, gate) {
            (Some((process, rate)), Some(gate)) if same => {
                gate.verdict(spread, process, rate, urgent)
            }
            _ => Verdict::Open,
        };
        match verdict {
            Verdict::Quiet | Verdict::Wait if check => {
                check = false;
                summary.gated += 1;
            }
            Verdict::Moved => {
                check = true;
                summary.moved += 1;
            }
            Verdict::Quiet | Verdict::Wait | Verdict::Open => {}
        }
        Plan {
            entry,
            same,
            check,
            verdict,
        }
    }
}
