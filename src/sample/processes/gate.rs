//! The cgroup gate: a process cannot have run while the cgroup it is in used no CPU, so one
//! read of a cgroup's usage counter stands for the `schedstat` checks of all its members.
//!
//! Contract: at the start of each refresh, [`CgroupGate::prepare`] reads the usage counter
//! (`host::cgroup::usage`) of every cgroup (of the CPU-accounting hierarchy, the root left
//! out) that holds a process the gate may skip. A cgroup whose counter did not move since the
//! previous read is quiet, and its members are considered together, every [`CHECK_EVERY`]
//! ticks on the cgroup's turn (cgroups take turns, half on even ticks, half on odd) rather
//! than each on its own pid's turn: off its turn, [`Verdict::Wait`] (nothing read, nothing
//! checked); on it, its `cgroup.procs` is read (once, when the first member asks) — on a
//! host of many quiet cgroups that listing was most of the gate's cost, and is now read half
//! as often. A process that must be checked every tick (it ran at its last check) asks for
//! the listing off its cgroup's turn too. [`CgroupGate::verdict`] skips a process
//! ([`Verdict::Quiet`]) only when all of these hold:
//! - it is single-threaded, not a zombie, not a kernel thread, and `schedstat` gates it (a
//!   v1 thread may sit in another cgroup than its process; those keep today's reads);
//! - its cgroup's counter has not moved since a read taken before the process's last
//!   `schedstat` read (reads of a tick come before that tick's `schedstat` reads, so the
//!   quiet stretch covers the whole time since the process was last seen);
//! - that cgroup's `cgroup.procs`, read this tick, lists it: a process moved by someone else
//!   (`echo PID > cgroup.procs`) while asleep is no longer listed where the table places it,
//!   is checked that tick ([`Verdict::Moved`]), and its memberships are read again — within
//!   [`CHECK_EVERY`] ticks of the move, as a process of a busy cgroup is checked.
//!
//! A process moved out and back in between two ticks, having run elsewhere meanwhile, is not
//! seen this way; its periodic full re-read (`reread_every`) catches it. A cgroup that
//! cannot be read, or read only once so far, gates nothing.

use std::sync::Arc;

use foldhash::HashMap;

use crate::host::cgroup::CgroupLayout;
use crate::host::cgroup::usage::{UsageReader, usage_hierarchy};
use crate::host::process::CgroupMembership;
use crate::host::process::Process;

use super::{CHECK_EVERY, ProcessRates};

/// What the gate says about one process this tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verdict {
    /// Not gated: the table's own rules decide.
    Open,
    /// Its cgroup is quiet and this is not the cgroup's turn: not checked this tick.
    Wait,
    /// Its cgroup used no CPU since its last check: it did not run.
    Quiet,
    /// Not listed in the quiet cgroup the table places it in: check it and re-read where it is.
    Moved,
}

/// One watched cgroup.
#[derive(Debug)]
struct Watched {
    usage: Option<u64>,
    /// The tick of the first read that showed the current counter.
    still_since: u64,
    /// Last tick it was read (entries not wanted on a tick are dropped).
    read_tick: u64,
    /// Its pids, ascending, as read on `procs_tick` (quiet cgroups, on their turn).
    procs: Vec<i32>,
    procs_tick: Option<u64>,
    /// The read on `procs_tick` gave a listing of pids.
    procs_ok: bool,
    /// Its members are considered on the ticks `t` with `(t + turn) % CHECK_EVERY == 0`.
    turn: u64,
}

/// The gate's state between ticks.
#[derive(Debug)]
pub(super) struct CgroupGate {
    reader: UsageReader,
    /// `CgroupMembership::hierarchy` of the reader's hierarchy (0 for v2), learned from the
    /// first membership line that maps to it.
    membership_id: Option<u32>,
    layout: CgroupLayout,
    /// By cgroup path, looked up twice a tick for every process the gate may skip.
    cgroups: HashMap<String, Watched>,
    /// The last membership list looked at and the index of its line in the gate's hierarchy:
    /// the table shares one list among every process of the same cgroups (`interned`), so
    /// consecutive processes mostly hit it. The `Arc` is held so its address cannot be reused.
    last: Option<(Arc<[CgroupMembership]>, Option<usize>)>,
    /// Cgroup files read this tick (`prepare` and the verdicts).
    pub(super) reads: usize,
    /// The turn the next cgroup watched gets (they alternate).
    next_turn: u64,
}

impl CgroupGate {
    /// A gate on `layout`'s CPU-accounting hierarchy; `None` when there is none or it cannot
    /// be opened (then nothing is gated).
    pub(super) fn new(layout: &CgroupLayout) -> Option<CgroupGate> {
        let hierarchy = usage_hierarchy(layout)?;
        let reader = UsageReader::open(hierarchy).ok()?;
        Some(CgroupGate {
            membership_id: (hierarchy.version == 2).then_some(0),
            reader,
            layout: layout.clone(),
            cgroups: HashMap::default(),
            last: None,
            reads: 0,
            next_turn: 0,
        })
    }

    /// True when this gate reads `layout`'s hierarchy already.
    pub(super) fn reads_layout(&self, layout: &CgroupLayout) -> bool {
        usage_hierarchy(layout).is_some_and(|h| h == self.reader.hierarchy())
    }

    /// The cgroup path of `process` in the gate's hierarchy, when the gate may skip it.
    fn path_of<'p>(&mut self, process: &'p Process, rate: &ProcessRates) -> Option<&'p str> {
        if process.threads != 1
            || process.state == 'Z'
            || process.kernel_thread
            || !rate.counts_schedules()
        {
            return None;
        }
        let line = match &self.last {
            Some((list, line)) if Arc::ptr_eq(list, &process.cgroups) => *line,
            _ => {
                let line = self.line_in_hierarchy(&process.cgroups);
                self.last = Some((Arc::clone(&process.cgroups), line));
                line
            }
        };
        line.map(|at| process.cgroups[at].path.as_str())
            // The root always moves (every kernel thread is in it): reading it gains nothing.
            .filter(|path| *path != "/")
    }

    /// Which line of `cgroups` is the process's cgroup in the gate's hierarchy.
    fn line_in_hierarchy(&mut self, cgroups: &[CgroupMembership]) -> Option<usize> {
        let id = match self.membership_id {
            Some(id) => id,
            None => {
                let m = cgroups
                    .iter()
                    .find(|m| self.layout.hierarchy_for(m) == Some(self.reader.hierarchy()))?;
                self.membership_id = Some(m.hierarchy);
                m.hierarchy
            }
        };
        let v2 = self.reader.hierarchy().version == 2;
        cgroups
            .iter()
            .position(|m| m.hierarchy == id && (!v2 || m.controllers.is_empty()))
    }

    /// Reads the counters of the cgroups holding `processes` the gate may skip, and the pids
    /// of those that stayed quiet. Runs before the tick's `schedstat` reads.
    pub(super) fn prepare(
        &mut self,
        tick: u64,
        processes: &[Arc<Process>],
        rates: &[ProcessRates],
    ) {
        self.reads = 0;
        for (process, rate) in processes.iter().zip(rates) {
            let Some(path) = self.path_of(process, rate) else {
                continue;
            };
            if self.cgroups.get(path).is_some_and(|w| w.read_tick == tick) {
                continue;
            }
            let usage = self.reader.usage(path);
            self.reads += 1;
            let watched = self.cgroups.entry(path.to_string()).or_insert_with(|| {
                self.next_turn = (self.next_turn + 1) % CHECK_EVERY;
                Watched {
                    usage: None,
                    still_since: tick,
                    read_tick: tick,
                    procs: Vec::new(),
                    procs_tick: None,
                    procs_ok: false,
                    turn: self.next_turn,
                }
            });
            if usage.is_none() || watched.usage != usage {
                watched.still_since = tick;
            }
            watched.usage = usage;
            watched.read_tick = tick;
        }
        self.cgroups.retain(|_, w| w.read_tick == tick);
    }

    /// Whether `process` (checked last on `rate.sched_tick`) may be skipped this tick; `urgent`
    /// when the table would check it this tick whatever its pid's turn (it ran at its last
    /// check): then its cgroup's listing is read off the cgroup's turn too.
    pub(super) fn verdict(
        &mut self,
        tick: u64,
        process: &Process,
        rate: &ProcessRates,
        urgent: bool,
    ) -> Verdict {
        let Some(path) = self.path_of(process, rate) else {
            return Verdict::Open;
        };
        let Some(watched) = self.cgroups.get_mut(path) else {
            return Verdict::Open;
        };
        if watched.usage.is_none()
            || watched.read_tick != tick
            || watched.still_since >= tick
            || watched.still_since > rate.sched_tick()
        {
            return Verdict::Open;
        }
        // Quiet since before its last check: it did not run.
        if !urgent && !(tick + watched.turn).is_multiple_of(CHECK_EVERY) {
            return Verdict::Wait;
        }
        if watched.procs_tick != Some(tick) {
            self.reads += 1;
            watched.procs_ok = self.reader.procs(path, &mut watched.procs);
            watched.procs_tick = Some(tick);
        }
        if !watched.procs_ok {
            Verdict::Open
        } else if watched.procs.binary_search(&process.pid).is_ok() {
            Verdict::Quiet
        } else {
            Verdict::Moved
        }
    }
}

#[cfg(test)]
mod tests;
