//! The sampler's process table: every process of the host, kept between ticks so that a tick
//! costs one `/proc` listing, a run check every other tick per idle process (every tick per
//! running one), plus a `stat` read for the few that ran.
//!
//! A process is identified by its pid AND its start time ([`ProcessKey`]): a pid seen with a new
//! start time is a new process (the old one exited and the pid was reused), so everything
//! cached for the old one is dropped. On procfs the listing's inode number of `/proc/PID`
//! stands in for the start time between ticks (see [`crate::host::process::proc_dir`]): an
//! unchanged inode is the same process; a changed one has its `stat` read and its start time
//! compared.
//!
//! Freshness, per process of the same identity:
//! - The run check — on the live host, the process's CPU clock: the CPU time of all its
//!   threads, ns (one system call: [`ProcDir::read_run_check`]); else `schedstat`
//!   (`sum_exec_runtime`, `pcount` of the main thread) — is read every tick for a
//!   process that ran at its last check, and every [`CHECK_EVERY`] (2) ticks, spread by pid, for
//!   one that was idle. A process whose pair did not change has not run, so its state, comm,
//!   CPU time, owner and namespaces cannot have changed: its `stat` is not read. One whose pair
//!   changed ("ran") has its `stat` read and its namespace links read again the same tick, so an
//!   `unshare` or `setns` without exec is seen within two refreshes (one for a process that was
//!   running already); a change made after the links were read moves the pair again. A process
//!   that woke up since its last check shows 0 % CPU for that tick at most, then its CPU time
//!   over the whole time since its previous `stat` read (never twice its share).
//! - `stat` is read every tick anyway for multi-threaded processes when the check is
//!   `schedstat` (another thread may run while the main one sleeps), for children of a
//!   process that exited or became a zombie (they were re-parented without running), for
//!   every process once every [`IDLE_STAT_EVERY`] ticks, spread by pid, while the kernel has
//!   reclaimed or swapped out pages within that many ticks ([`ReclaimWatch`]: how RSS shrinks
//!   without the process running), and for every process at its periodic re-read (below:
//!   RSS also shrinks when a file it maps is truncated, which no counter tells).
//! - No cgroup file stands in for a process's check: a cgroup's usage counter and its
//!   `cgroup.procs` (two kernfs reads) cost more than the CPU clocks of ~100 processes
//!   (`bench/profiles/round11.md`).
//! - Without a usable `schedstat` (not procfs, file missing, or a kernel without sched_info that
//!   prints `0 0 0`) `stat` is read every tick, and a changed CPU time stands for "ran".
//! - What needs more than `stat` and namespaces (cmdline, cgroup memberships, owner) is read
//!   again on each of the [`rates::YOUNG_TICKS`] ticks after a process was first seen (runtimes
//!   move a fresh process into its cgroup and namespaces in its first moments, often while it
//!   waits), when its `comm` changes (an exec), and for every process once every
//!   `reread_every` ticks, spread by pid (cgroup moves, made by others without the process
//!   running, are noticed within that period). That periodic read is of `/proc/PID/cgroup`
//!   alone for a process that has not run since its last full read (only the process itself
//!   changes its namespaces, command line and owner, and only while it runs; a check that
//!   cannot see every run — none, or `schedstat` of a multi-threaded process — counts as one).
//!
//! Processes that vanish mid-read are dropped silently. The table holds ONE record a process
//! ([`ProcessList`], shared by `Arc` with the frames) and its packed [`ProcessRates`], brought
//! in line with the listing in place (no second list kept between ticks): an unchanged process
//! costs no allocation and no copy, a changed one a copy only while a frame still holds it.

mod identity;
mod idle_stat;
mod interned;
mod list;
mod plan;
mod rates;
mod settling;
mod summary;
mod turnover;

use std::sync::Arc;

pub use identity::{Lifecycle, ProcessKey};
use idle_stat::idle_stat_turns;
use interned::Interned;
pub use list::ProcessList;
use list::stat_moves;
use plan::Plan;
pub use rates::ProcessRates;
pub use summary::RefreshSummary;

use crate::host::namespace::{NsSet, read_ns_set};
use crate::host::process::proc_dir::{PidEntry, ProcDir, SchedStat};
use crate::host::process::{Process, ReadDepth, read_memberships, read_process};
use crate::host::reclaim::ReclaimWatch;

use crate::host::{HostError, HostRoot};

/// Every how many ticks an idle process's `stat` is read anyway (spread by pid) while the
/// kernel reclaims memory: its RSS can shrink without it running.
pub const IDLE_STAT_EVERY: u64 = 16;

/// Every how many ticks the `schedstat` of a process that was idle at its last check is read
/// (spread by pid): a change it makes is seen by the second refresh after it at the latest.
pub const CHECK_EVERY: u64 = 2;

/// Every process of the host, ascending pid, with its rates.
#[derive(Debug)]
pub struct ProcessTable {
    /// The records, shared with the frames (see [`list`]).
    processes: ProcessList,
    /// Parallel to `processes`.
    rates: Vec<ProcessRates>,
    /// What a slot holds until its process is read (one shared empty record: no allocation).
    vacant: Arc<Process>,
    /// Distinct membership lists (see [`Interned`]).
    interned: Interned,
    /// `/proc`, kept open between ticks (reopened when the root's `/proc` changes).
    dir: Option<ProcDir>,
    listing: Vec<PidEntry>,
    /// Pids that exited or became zombies this tick: their children were re-parented.
    orphaning: Vec<i32>,
    /// Refreshes so far (wraps after 2^32: 136 years at 1 s).
    tick: u32,
    reread_every: u64,
    /// Bumped by each refresh that saw a process come or go, or one's namespaces, cgroups,
    /// parent or name change ([`ProcessTable::generation`]).
    generation: u64,
    /// The host's reclaim counters, looked at each refresh.
    reclaim: ReclaimWatch,
    /// The last tick at which they had moved (or could not be read): while within
    /// [`IDLE_STAT_EVERY`] ticks, an idle process's `stat` is read on its turn.
    reclaimed_at: Option<u32>,
}

/// Whether a process's figures are read this tick, and why.
struct Reads {
    /// Known to be the process the table holds (same procfs inode).
    same: bool,
    /// Its main thread was scheduled since the last read (`schedstat` moved).
    ran: bool,
    /// `schedstat` says something for this process (else `stat` every tick).
    gated: bool,
}

/// A process the table holds: its shared record and its rates.
type Held = (Arc<Process>, ProcessRates);

impl ProcessTable {
    /// An empty table; each process's slow-changing fields are re-read every `reread_every`
    /// ticks (at least 1).
    pub fn new(reread_every: u64) -> ProcessTable {
        ProcessTable {
            processes: ProcessList::default(),
            rates: Vec::new(),
            vacant: Arc::new(Process::new(0, 0, NsSet::default())),
            interned: Interned::default(),
            dir: None,
            listing: Vec::new(),
            orphaning: Vec::new(),
            tick: 0,
            reread_every: reread_every.max(1),
            generation: 0,
            reclaim: ReclaimWatch::new(),
            reclaimed_at: None,
        }
    }

    /// Changes whenever a refresh saw a process come or go, or one's namespaces, cgroups,
    /// parent or name change: equal across two refreshes, everything a container's ownership
    /// of its cgroups is judged by (`host::container::ownership`) is the same.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The processes, ascending pid: the records the frames share.
    pub fn processes(&self) -> &ProcessList {
        &self.processes
    }

    /// Rates parallel to [`ProcessTable::processes`].
    pub fn rates(&self) -> &[ProcessRates] {
        &self.rates
    }

    /// Position of `pid` in [`ProcessTable::processes`].
    pub fn index_of(&self, pid: i32) -> Option<usize> {
        self.processes.position(pid)
    }

    /// Lists `/proc` and brings the table up to date. `wall_usec` is the time since the
    /// previous refresh (`None` on the first), `ticks_per_second` the unit of `stat` times.
    /// Fails only when `/proc` cannot be listed.
    pub fn refresh(
        &mut self,
        root: &HostRoot,
        wall_usec: Option<u64>,
        ticks_per_second: u64,
    ) -> Result<RefreshSummary, HostError> {
        let mut dir = match self.dir.take() {
            Some(dir) if dir.path() == root.proc => dir,
            _ => ProcDir::open(root)?,
        };
        let listed = dir.list(&mut self.listing);
        let procfs = dir.is_procfs();
        self.dir = Some(dir);
        listed?;
        let tick = self.tick;
        self.tick = self.tick.wrapping_add(1);
        if self.reclaim.moved(root) {
            self.reclaimed_at = Some(tick);
        }
        let mut summary = RefreshSummary::default();
        self.orphaning.clear();
        let listing = std::mem::take(&mut self.listing);
        // Slot `at` belongs to `listing[at]` from here on; one whose read finds the process
        // gone stays vacant and is dropped below.
        self.processes
            .align(&mut self.rates, &listing, &self.vacant, |gone| {
                self.orphaning.push(gone);
                summary.gone += 1;
            });
        let mut vacated = false;
        for (at, entry) in listing.iter().enumerate() {
            let plan = {
                let rate = &self.rates[at];
                Plan::of(*entry, (!rate.is_vacant()).then_some(rate), procfs, tick)
            };
            let cached = (!self.rates[at].is_vacant()).then(|| {
                let record = std::mem::replace(&mut self.processes.0[at], Arc::clone(&self.vacant));
                (record, self.rates[at])
            });
            match self.refresh_one(root, cached, plan, procfs, tick, &mut summary) {
                Some((record, rates)) => {
                    self.processes.0[at] = record;
                    self.rates[at] = rates;
                }
                None => {
                    self.rates[at].vacate();
                    vacated = true;
                }
            }
        }
        if vacated {
            self.processes.drop_vacant(&mut self.rates);
        }
        self.listing = listing;
        self.adopt_orphans(tick, &mut summary);
        if summary.changed() || summary.facts_changed {
            self.generation += 1;
        }
        rates::rate_all(&mut self.rates, wall_usec, ticks_per_second, tick);
        // Lists, names and lines no process has any more.
        self.interned.prune_when_grown(self.processes.len());
        Ok(summary)
    }

    /// Brings one listed pid up to date: its record and rates, or `None` when it is gone.
    fn refresh_one(
        &mut self,
        root: &HostRoot,
        cached: Option<Held>,
        plan: Plan,
        procfs: bool,
        tick: u32,
        summary: &mut RefreshSummary,
    ) -> Option<Held> {
        let Plan { entry, same, check } = plan;
        let pid = entry.pid;
        let spread = u64::from(tick);
        // schedstat first: a process that runs after this read shows a new pair next check.
        let sched: Option<Option<SchedStat>> = if check {
            summary.schedstat_reads += usize::from(procfs);
            match self.run_check(procfs, pid) {
                Ok(sched) => Some(sched),
                Err(()) => {
                    summary.gone += usize::from(cached.is_some());
                    return None;
                }
            }
        } else {
            None
        };
        let Some((mut process, mut rate)) = cached else {
            return self.add(root, entry, sched.flatten(), tick, summary);
        };
        let gated = match sched {
            Some(read) => read.is_some_and(|s| s.pcount > 0),
            None => rate.counts_schedules(),
        };
        let reads = Reads {
            same,
            ran: !gated || sched.is_some_and(|read| !rate.sched_is(read)),
            gated,
        };
        if let Some(read) = sched {
            rate.checked(reads.ran, procfs);
            rate.set_sched(read);
        }
        let young = rate.young(tick);
        // This pid's place in the periods (spread by pid).
        let slot = (pid as u64).wrapping_add(spread);
        let periodic_due = slot.is_multiple_of(self.reread_every);
        let stat_due = periodic_due
            || (slot.is_multiple_of(IDLE_STAT_EVERY) && idle_stat_turns(self.reclaimed_at, tick));
        // schedstat counts the main thread only: another may run while it sleeps. The CPU
        // clock counts them all, so a check sees any of them run.
        let multithreaded = process.threads > 1 && !self.checks_all_threads();
        let mut comm_changed = false;
        let previous_ticks = process.cpu_ticks;
        if !reads.same || reads.ran || young || stat_due || multithreaded {
            let dir = self.dir.as_mut();
            let stat = match dir.map(|d| d.read_stat(pid)) {
                Some(Ok(Some(stat))) => stat,
                Some(Ok(None)) | None => return self.lost(pid, None, summary),
                Some(Err(e)) => return self.lost(pid, Some(e), summary),
            };
            let seen = ProcessKey {
                pid,
                start_ticks: stat.start_ticks,
            };
            let known = ProcessKey {
                pid,
                start_ticks: process.start_ticks,
            };
            if Lifecycle::of(Some(known), seen) == Lifecycle::Replaced {
                summary.gone += 1;
                self.orphaning.push(pid);
                return self.add(root, entry, sched.flatten(), tick, summary);
            }
            summary.stat_reads += 1;
            let was_zombie = process.state == 'Z';
            let ppid_before = process.ppid;
            // Changed only when a figure moved: a frame holding the record keeps its copy.
            if stat_moves(&stat, &process) {
                comm_changed = stat.apply_to(Arc::make_mut(&mut process));
            }
            summary.facts_changed |= comm_changed || process.ppid != ppid_before;
            if process.state == 'Z' && !was_zombie {
                self.orphaning.push(pid);
            }
            rate.stat_read(tick, process.cpu_ticks.checked_sub(previous_ticks));
        } else {
            rate.set_delta(Some(0));
        }
        rate.set_ino(entry.ino);
        // Without schedstat, a moved CPU time is the sign that the process ran.
        let ran = if reads.gated {
            reads.ran
        } else {
            process.cpu_ticks != previous_ticks
        };
        // Only the process itself changes its namespaces, command line and owner, and only
        // while it runs; someone else may move it to another cgroup at any time. A check
        // that cannot see every run (none, or the main thread's `schedstat` of a
        // multi-threaded process) counts as a run.
        if ran || !reads.gated || multithreaded {
            rate.note_ran();
        }
        let full_due = comm_changed || young || (periodic_due && rate.ran_since_full_read());
        if periodic_due && !full_due {
            // Asleep since its last full read: its cgroups are all that may have changed.
            summary.memberships_reads += 1;
            if let Some(memberships) = read_memberships(root, pid)
                && *memberships != *process.cgroups
            {
                summary.memberships_changed = true;
                summary.arrived.push(pid);
                let mut moved = Process::clone(&process);
                moved.cgroups = memberships.into();
                self.interned.share(&mut moved);
                process = Arc::new(moved);
            }
        } else if full_due {
            match read_process(root, pid, ReadDepth::Full) {
                Ok(Some(mut fresh)) if fresh.start_ticks == process.start_ticks => {
                    summary.reread += 1;
                    rate.full_read();
                    if fresh.ns != process.ns || fresh.cgroups != process.cgroups {
                        summary.memberships_changed = true;
                        summary.arrived.push(pid);
                    }
                    summary.facts_changed |= fresh.ppid != process.ppid
                        || (fresh.comm != process.comm && !fresh.kernel_thread);
                    self.interned.share(&mut fresh);
                    if fresh != *process {
                        match Arc::get_mut(&mut process) {
                            Some(alone) => *alone = fresh,
                            None => process = Arc::new(fresh),
                        }
                    }
                }
                // Gone, or replaced between the two reads: next tick sorts it out.
                Ok(_) => {
                    summary.gone += 1;
                    self.orphaning.push(pid);
                    return None;
                }
                // Unreadable now: keep what was read before.
                Err(_) => {}
            }
        } else if ran && !process.kernel_thread {
            match read_ns_set(root, pid) {
                Ok(Some(ns)) => {
                    summary.namespace_reads += 1;
                    if ns != process.ns {
                        summary.memberships_changed = true;
                        summary.arrived.push(pid);
                        Arc::make_mut(&mut process).ns = ns;
                    }
                }
                Ok(None) => {
                    summary.gone += 1;
                    self.orphaning.push(pid);
                    return None;
                }
                Err(_) => {}
            }
        }
        Some((process, rate))
    }

    /// True while the checks come from the CPU clocks (every thread counted).
    fn checks_all_threads(&self) -> bool {
        self.dir.as_ref().is_some_and(ProcDir::checks_all_threads)
    }

    /// The run check (the CPU clock, else `schedstat`) when it can gate reads (procfs only);
    /// `Err` when the process is gone.
    fn run_check(&mut self, procfs: bool, pid: i32) -> Result<Option<SchedStat>, ()> {
        if !procfs {
            return Ok(None);
        }
        match self.dir.as_mut().map(|d| d.read_run_check(pid)) {
            Some(Ok(Some(sched))) => Ok(Some(sched)),
            Some(Ok(None)) => Err(()),
            // Unreadable or odd: fall back to stat for this process.
            Some(Err(_)) | None => Ok(None),
        }
    }
}
