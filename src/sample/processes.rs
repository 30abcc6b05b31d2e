//! The sampler's process table: every process of the host, kept between ticks so a tick costs
//! one `stat` read per process.
//!
//! A process is identified by its pid AND its start time ([`ProcessKey`]): a pid seen with a new
//! start time is a new process (the old one exited and the pid was reused), so everything
//! cached for the old one is dropped. What does not change while a process lives (namespaces,
//! cgroup memberships, cmdline, owner) is read once, when the process is first seen, and read
//! again: on the tick after it was first seen (runtimes move a fresh process into its cgroup
//! and namespaces right after starting it), when its `comm` changes (an exec, so a new
//! cmdline), and for every process once every `reread_every` ticks, spread over the ticks by
//! pid (setns, cgroup moves and setuid of older processes are noticed within that period).
//! Processes that vanish mid-read are dropped silently.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use super::rates::cpu_percent_from_ticks;
use crate::host::process::{Process, ReadDepth, list_pids, read_process, read_stat};

/// The type of `Process::cgroups`. Most processes of a host share one membership list, so the
/// table keeps one copy of each distinct list and hands it to every process that has it: with
/// a shared type (`Arc<[CgroupMembership]>`) that makes a frame's copy of 11,700 processes cost
/// ~25 MiB less (measured); with a `Vec` it only costs an equality check per newly read process.
type Memberships = std::sync::Arc<[crate::host::process::CgroupMembership]>;
use crate::host::{HostError, HostRoot};

/// The identity of a process: a pid is reused, a (pid, start time) pair is not (start times
/// are clock ticks after boot, and reusing a pid takes a wrap of the whole pid space, far
/// longer than one clock tick).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProcessKey {
    pub pid: i32,
    pub start_ticks: u64,
}

/// How a process seen now relates to what the table holds for its pid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifecycle {
    /// Nothing was cached for this pid.
    New,
    /// The cached entry is this very process.
    Same,
    /// The pid was reused by another process: the cached entry must be dropped.
    Replaced,
}

impl Lifecycle {
    pub fn of(cached: Option<ProcessKey>, seen: ProcessKey) -> Lifecycle {
        match cached {
            None => Lifecycle::New,
            Some(key) if key == seen => Lifecycle::Same,
            Some(_) => Lifecycle::Replaced,
        }
    }
}

/// Per-process figures the table keeps beside the [`Process`] record.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProcessRates {
    /// CPU ticks used since the previous tick (`None` for a process first seen this tick).
    pub cpu_delta_ticks: Option<u64>,
    /// Share of one CPU over the last interval, percent.
    pub cpu_percent: Option<f64>,
    /// Tick on which the process was first seen.
    first_tick: u64,
}

/// What one refresh found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RefreshSummary {
    /// Processes seen for the first time (pid reuse included).
    pub added: usize,
    /// Processes gone since the previous tick (pid reuse included).
    pub gone: usize,
    /// Processes whose namespaces, cgroups or owner were read again this tick.
    pub reread: usize,
    /// A re-read found different namespaces or cgroup memberships.
    pub memberships_changed: bool,
    /// Processes that could not be read (permission); they are left out.
    pub denied: usize,
    /// Other read failures, in words.
    pub warnings: Vec<String>,
}

impl RefreshSummary {
    /// True when the set of processes or what they belong to changed.
    pub fn changed(&self) -> bool {
        self.added > 0 || self.gone > 0 || self.memberships_changed
    }
}

/// Every process of the host, ascending pid, with its rates.
#[derive(Debug)]
pub struct ProcessTable {
    processes: Vec<Process>,
    /// Distinct membership lists by hash (see [`Memberships`]).
    interned: HashMap<u64, Vec<Memberships>>,
    rates: Vec<ProcessRates>,
    tick: u64,
    reread_every: u64,
    buf: Vec<u8>,
}

impl ProcessTable {
    /// An empty table; each process's slow-changing fields are re-read every `reread_every`
    /// ticks (at least 1).
    pub fn new(reread_every: u64) -> ProcessTable {
        ProcessTable {
            processes: Vec::new(),
            interned: HashMap::new(),
            rates: Vec::new(),
            tick: 0,
            reread_every: reread_every.max(1),
            buf: Vec::with_capacity(512),
        }
    }

    /// The processes, ascending pid.
    pub fn processes(&self) -> &[Process] {
        &self.processes
    }

    /// Rates parallel to [`ProcessTable::processes`].
    pub fn rates(&self) -> &[ProcessRates] {
        &self.rates
    }

    /// Position of `pid` in [`ProcessTable::processes`].
    pub fn index_of(&self, pid: i32) -> Option<usize> {
        self.processes.binary_search_by_key(&pid, |p| p.pid).ok()
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
        let pids = list_pids(root)?;
        let tick = self.tick;
        self.tick += 1;
        let mut summary = RefreshSummary::default();
        let old_processes = std::mem::take(&mut self.processes);
        let old_rates = std::mem::take(&mut self.rates);
        let mut old = old_processes.into_iter().zip(old_rates).peekable();
        let mut processes = Vec::with_capacity(pids.len());
        let mut rates = Vec::with_capacity(pids.len());

        for pid in pids {
            while old.peek().is_some_and(|(p, _)| p.pid < pid) {
                old.next();
                summary.gone += 1;
            }
            let cached = old.next_if(|(p, _)| p.pid == pid);
            let stat = match read_stat(root, pid, &mut self.buf) {
                Ok(Some(stat)) => stat,
                Ok(None) => {
                    summary.gone += usize::from(cached.is_some());
                    continue;
                }
                Err(e) => {
                    summary.gone += usize::from(cached.is_some());
                    if e.is_permission() {
                        summary.denied += 1;
                    } else {
                        summary.warnings.push(e.to_string());
                    }
                    continue;
                }
            };
            let seen = ProcessKey {
                pid,
                start_ticks: stat.start_ticks,
            };
            let cached_key = cached.as_ref().map(|(p, _)| ProcessKey {
                pid: p.pid,
                start_ticks: p.start_ticks,
            });
            match (Lifecycle::of(cached_key, seen), cached) {
                (Lifecycle::Same, Some((mut process, mut rate))) => {
                    let exec = process.comm != stat.comm;
                    let previous_ticks = process.cpu_ticks;
                    stat.apply_to(&mut process);
                    rate.cpu_delta_ticks = stat.cpu_ticks.checked_sub(previous_ticks);
                    rate.cpu_percent = wall_usec.and_then(|wall| {
                        cpu_percent_from_ticks(
                            Some(previous_ticks),
                            stat.cpu_ticks,
                            ticks_per_second,
                            wall,
                        )
                    });
                    // Present since the first tick: not fresh from a runtime, nothing to catch.
                    let young = rate.first_tick > 0 && rate.first_tick + 1 == tick;
                    let due = (pid as u64)
                        .wrapping_add(tick)
                        .is_multiple_of(self.reread_every);
                    if exec || young || due {
                        match read_process(root, pid, ReadDepth::Full) {
                            Ok(Some(fresh)) if fresh.start_ticks == process.start_ticks => {
                                summary.reread += 1;
                                if fresh.ns != process.ns || fresh.cgroups != process.cgroups {
                                    summary.memberships_changed = true;
                                }
                                process = fresh;
                                self.intern(&mut process);
                            }
                            // Gone, or replaced between the two reads: next tick sorts it out.
                            Ok(_) => {
                                summary.gone += 1;
                                continue;
                            }
                            // Unreadable now: keep what was read before.
                            Err(_) => {}
                        }
                    }
                    processes.push(process);
                    rates.push(rate);
                }
                (lifecycle, _) => {
                    if lifecycle == Lifecycle::Replaced {
                        summary.gone += 1;
                    }
                    match read_process(root, pid, ReadDepth::Full) {
                        Ok(Some(mut process)) => {
                            self.intern(&mut process);
                            summary.added += 1;
                            processes.push(process);
                            rates.push(ProcessRates {
                                cpu_delta_ticks: None,
                                cpu_percent: None,
                                first_tick: tick,
                            });
                        }
                        Ok(None) => {}
                        Err(e) if e.is_permission() => summary.denied += 1,
                        Err(e) => summary.warnings.push(e.to_string()),
                    }
                }
            }
        }
        summary.gone += old.count();
        self.processes = processes;
        self.rates = rates;
        // Lists no process has any more (bounded by the number of distinct lists seen).
        if self.interned.values().map(Vec::len).sum::<usize>() > 4 * self.processes.len() + 64 {
            self.interned.clear();
        }
        Ok(summary)
    }

    /// Gives `process` the table's copy of its membership list (see [`Memberships`]).
    fn intern(&mut self, process: &mut Process) {
        let mut hasher = DefaultHasher::new();
        for m in process.cgroups.iter() {
            m.hierarchy.hash(&mut hasher);
            m.controllers.hash(&mut hasher);
            m.path.hash(&mut hasher);
        }
        let bucket = self.interned.entry(hasher.finish()).or_default();
        match bucket.iter().find(|known| **known == process.cgroups) {
            Some(known) => process.cgroups = known.clone(),
            None => bucket.push(process.cgroups.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_pid_and_start_is_the_same_process() {
        let key = ProcessKey {
            pid: 42,
            start_ticks: 1000,
        };
        assert_eq!(Lifecycle::of(None, key), Lifecycle::New);
        assert_eq!(Lifecycle::of(Some(key), key), Lifecycle::Same);
        let reused = ProcessKey {
            pid: 42,
            start_ticks: 1001,
        };
        assert_eq!(Lifecycle::of(Some(key), reused), Lifecycle::Replaced);
    }
}
