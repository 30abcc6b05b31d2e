//! The detector's containers: what it keeps of each from the previous tick (by id) and the
//! comparison that turns the differences into drafts of events (see `sample::events`).

use foldhash::HashMap;
use std::sync::Arc;

use super::attribution::{LimitDraft, OomDraft};
use super::exits::ExitDraft;
use super::limits::limit_changes;
use super::pressure::{Crossing, PressureNow, crossing, pressure_events};
use super::{Draft, EventInputs, EventThresholds};
use crate::host::cgroup::CgroupLimits;
use crate::host::container::measure::ContainerState;
use crate::host::container::{Container, UNKNOWN_ID_PREFIX};
use crate::host::events::kmsg::own_memory_cgroups;
use crate::host::events::{Event, EventKind, Subject, Timing};
use crate::host::runtime::state::RuntimeState;
use crate::sample::frame::ContainerSample;
use crate::sample::pressure_triggers::{FiredTriggers, container_key};
use crate::units::format;

/// How long an exited container's id is remembered: one seen again within it restarted.
const EXITED_KEPT_MS: u64 = 10 * 60 * 1000;

/// A restart count that grows within this long of a restart already told is that restart.
const RESTART_TOLD_MS: u64 = 30 * 1000;

/// What the detector keeps of the containers of the previous tick.
#[derive(Debug, Default)]
pub(super) struct ContainerMemos {
    by_id: HashMap<String, Memo>,
    /// Ids gone, and when (ms since the epoch).
    exited: HashMap<String, u64>,
    /// Counts calls, to find the containers a tick no longer has.
    tick: u64,
    /// The baseline tick's time, ms since the epoch: a container started after it was born
    /// while isotop watched.
    watching_since_ms: Option<u64>,
}

/// One container as the previous tick saw it.
#[derive(Debug)]
struct Memo {
    /// Its identity, for its runtime's state when it exits (taken when first seen and when its
    /// init changes; shared with the frame's sample).
    container: Arc<Container>,
    /// When this run was first seen, ms since the epoch.
    first_seen_ms: u64,
    init: (Option<i32>, Option<u64>),
    state: ContainerState,
    oom_kills: Option<u64>,
    refused_forks: Option<u64>,
    /// Its own cgroup's limits (`None` without one).
    limits: Option<CgroupLimits>,
    throttled: Crossing,
    /// CPU, memory, I/O pressure above the threshold.
    pressure: [Crossing; 3],
    runtime: Option<RuntimeState>,
    /// Its processes: an OOM kill's victim is among them.
    pids: Vec<i32>,
    last_restart_ms: Option<u64>,
    tick: u64,
}

/// Whom a container's events concern.
pub(super) fn subject_of(c: &ContainerSample) -> Subject {
    Subject {
        container_id: Some(c.view.container.id.clone()),
        name: c.view.container.name.clone(),
        cgroup: c
            .view
            .cgroup
            .as_ref()
            .map(|r| r.path.clone())
            .or_else(|| c.view.container.cgroup_path.clone()),
    }
}

fn sampled(at_ms: u64, subject: Subject, kind: EventKind, detail: String) -> Event {
    Event {
        at_ms,
        timing: Timing::Sampled,
        subject,
        kind,
        detail,
    }
}

/// How much a counter grew (`None`: no growth, unknown, or it went back).
pub(super) fn growth(previous: Option<u64>, now: Option<u64>) -> Option<u64> {
    let grown = now?.checked_sub(previous?)?;
    (grown > 0).then_some(grown)
}

impl Memo {
    fn new(c: &ContainerSample, at_ms: u64, tick: u64) -> Memo {
        let container = &c.view.container;
        Memo {
            container: container.clone(),
            first_seen_ms: at_ms,
            init: (container.init_pid, container.start_ticks),
            state: c.view.state,
            oom_kills: c.kernel.oom_kills,
            refused_forks: c.kernel.pids_refused_forks,
            limits: c.view.cgroup.as_ref().map(|r| r.limits.clone()),
            throttled: Crossing::default(),
            pressure: [Crossing::default(); 3],
            runtime: c.runtime_state.clone(),
            pids: container.pids.clone(),
            last_restart_ms: None,
            tick,
        }
    }
}

impl ContainerMemos {
    /// Remembers the baseline tick's containers; no event.
    pub(super) fn baseline(&mut self, inputs: &EventInputs<'_>) {
        self.tick += 1;
        self.watching_since_ms = Some(inputs.at_ms);
        for c in inputs.containers {
            let memo = Memo::new(c, inputs.at_ms, self.tick);
            self.by_id.insert(c.view.container.id.clone(), memo);
        }
    }

    /// Drafts the events of this tick's containers against the previous tick's (taken at
    /// `previous_ms`), and remembers this tick's.
    pub(super) fn compare(
        &mut self,
        thresholds: &EventThresholds,
        inputs: &EventInputs<'_>,
        previous_ms: u64,
        drafts: &mut Vec<Draft>,
    ) {
        self.tick += 1;
        let at_ms = inputs.at_ms;
        for c in inputs.containers {
            let id = &c.view.container.id;
            if let Some(memo) = self.by_id.get_mut(id) {
                memo.compare(c, thresholds, at_ms, previous_ms, inputs.fired, drafts);
                memo.tick = self.tick;
                continue;
            }
            let init = c
                .view
                .container
                .init_pid
                .map_or(String::new(), |pid| format!(", init pid {pid}"));
            let mut memo = Memo::new(c, at_ms, self.tick);
            let seen_before = self.exited.remove(id).is_some();
            let (kind, detail) = if seen_before && !id_is_reused(&c.view.container) {
                memo.last_restart_ms = Some(at_ms);
                let restart_count = c.runtime_state.as_ref().and_then(|s| s.restart_count);
                (
                    EventKind::Restarted { restart_count },
                    format!("restarted{}{init}", restarts_text(restart_count)),
                )
            } else {
                (
                    EventKind::Started,
                    format!("started ({}{init})", c.view.container.runtime),
                )
            };
            drafts.push(Draft::Ready(sampled(at_ms, subject_of(c), kind, detail)));
            // Born while isotop watched (it started after the baseline tick): every OOM kill and
            // refused fork of its life happened since then, even those before the grouping
            // first saw it (a container OOM-killed in its first second, found a tick later).
            if self.born_while_watching(c, at_ms) {
                memo.oom_kills = memo.oom_kills.map(|_| 0);
                memo.refused_forks = memo.refused_forks.map(|_| 0);
                memo.kernel_events(c, thresholds, at_ms, inputs.fired, drafts);
            }
            self.by_id.insert(id.clone(), memo);
        }
        let tick = self.tick;
        let gone: Vec<String> = self
            .by_id
            .iter()
            .filter(|(_, memo)| memo.tick != tick)
            .map(|(id, _)| id.clone())
            .collect();
        for id in gone {
            let Some(memo) = self.by_id.remove(&id) else {
                continue;
            };
            self.exited.insert(id, at_ms);
            let subject = Subject {
                container_id: Some(memo.container.id.clone()),
                name: memo.container.name.clone(),
                cgroup: memo.container.cgroup_path.clone(),
            };
            let event = sampled(
                at_ms,
                subject,
                EventKind::Exited {
                    exit_code: None,
                    stop_requested: false,
                },
                "exited".into(),
            );
            drafts.push(Draft::Exit(Box::new(ExitDraft {
                event,
                container: memo.container,
                first_seen_ms: memo.first_seen_ms,
            })));
        }
        self.exited
            .retain(|_, at| at_ms.saturating_sub(*at) < EXITED_KEPT_MS);
    }
}

impl ContainerMemos {
    /// True when `c`'s init started after the baseline tick (its uptime, seconds, is shorter
    /// than the time since).
    fn born_while_watching(&self, c: &ContainerSample, at_ms: u64) -> bool {
        let (Some(since_ms), Some(uptime)) = (self.watching_since_ms, c.view.uptime_seconds) else {
            return false;
        };
        let watched_s = at_ms.saturating_sub(since_ms) as f64 / 1000.0;
        uptime.is_finite() && uptime >= 0.0 && uptime < watched_s
    }
}

/// True for an id made of a number the kernel hands out again (an `unknown` container's pid
/// namespace inode): the same id later may be another container, never a restart.
fn id_is_reused(container: &Container) -> bool {
    container.id.starts_with(UNKNOWN_ID_PREFIX)
}

fn restarts_text(count: Option<u64>) -> String {
    count.map_or(String::new(), |n| format!(" (restart count {n})"))
}

impl Memo {
    fn compare(
        &mut self,
        c: &ContainerSample,
        thresholds: &EventThresholds,
        at_ms: u64,
        previous_ms: u64,
        fired: &FiredTriggers,
        drafts: &mut Vec<Draft>,
    ) {
        let event = |kind: EventKind, detail: String| {
            Draft::Ready(sampled(at_ms, subject_of(c), kind, detail))
        };
        let container = &c.view.container;
        let init = (container.init_pid, container.start_ticks);
        let restart_count = c.runtime_state.as_ref().and_then(|s| s.restart_count);
        if init != self.init && container.init_pid.is_some() && id_is_reused(container) {
            // Another container under a number the kernel gave again: the old one exited.
            let pid = container.init_pid.unwrap_or_default();
            let gone = Subject {
                container_id: Some(self.container.id.clone()),
                name: self.container.name.clone(),
                cgroup: self.container.cgroup_path.clone(),
            };
            drafts.push(Draft::Ready(sampled(
                at_ms,
                gone,
                EventKind::Exited {
                    exit_code: None,
                    stop_requested: false,
                },
                "exited".into(),
            )));
            drafts.push(event(
                EventKind::Started,
                format!("started ({}, init pid {pid})", container.runtime),
            ));
            *self = Memo::new(c, at_ms, self.tick);
            return;
        }
        if init != self.init && container.init_pid.is_some() {
            let pid = container.init_pid.unwrap_or_default();
            drafts.push(event(
                EventKind::Restarted { restart_count },
                format!(
                    "restarted{}, new init pid {pid}",
                    restarts_text(restart_count)
                ),
            ));
            self.init = init;
            self.container = container.clone();
            self.first_seen_ms = at_ms;
            self.last_restart_ms = Some(at_ms);
        }
        if c.runtime_state != self.runtime {
            let old = self.runtime.take();
            let new = c.runtime_state.as_ref();
            let told = self
                .last_restart_ms
                .is_some_and(|t| at_ms.saturating_sub(t) < RESTART_TOLD_MS);
            if let Some(count) = growth(old.as_ref().and_then(|s| s.restart_count), restart_count)
                && !told
            {
                drafts.push(event(
                    EventKind::Restarted { restart_count },
                    format!("restarted {count} time(s){}", restarts_text(restart_count)),
                ));
                self.last_restart_ms = Some(at_ms);
            }
            if let (Some(old), Some(status)) = (&old, new.and_then(|s| s.health.as_ref()))
                && old.health.as_ref() != Some(status)
            {
                drafts.push(event(
                    EventKind::HealthChanged {
                        status: status.clone(),
                    },
                    format!("health: {status}"),
                ));
            }
            self.runtime = c.runtime_state.clone();
        }
        match (self.state, c.view.state) {
            (ContainerState::Running, ContainerState::Frozen) => {
                drafts.push(event(EventKind::Frozen, "frozen".into()));
            }
            (ContainerState::Frozen, ContainerState::Running) => {
                drafts.push(event(EventKind::Thawed, "thawed".into()));
            }
            _ => {}
        }
        self.state = c.view.state;
        self.kernel_events(c, thresholds, at_ms, fired, drafts);
        self.limit_events(c, at_ms, previous_ms, drafts);
        self.pids.clear();
        self.pids.extend_from_slice(&container.pids);
    }

    /// OOM kills, refused forks, throttling and pressure (a trigger of its cgroup that
    /// fired, among `fired`, counts as above).
    fn kernel_events(
        &mut self,
        c: &ContainerSample,
        thresholds: &EventThresholds,
        at_ms: u64,
        fired: &FiredTriggers,
        drafts: &mut Vec<Draft>,
    ) {
        let event = |kind: EventKind, detail: String| {
            Draft::Ready(sampled(at_ms, subject_of(c), kind, detail))
        };
        let kernel = &c.kernel;
        if let Some(count) = growth(self.oom_kills, kernel.oom_kills) {
            let mut pids = self.pids.clone();
            pids.extend_from_slice(&c.view.container.pids);
            let memcgs = own_memory_cgroups(&c.view);
            let limit = c
                .memory_limit_bytes
                .map(|l| format!(" at memory limit {}", l.map(format::bytes)));
            drafts.push(Draft::Oom(OomDraft::new(
                sampled(
                    at_ms,
                    subject_of(c),
                    EventKind::OomKill {
                        pid: None,
                        command: None,
                        count,
                    },
                    String::new(),
                ),
                pids,
                memcgs,
                limit.unwrap_or_default(),
            )));
        }
        if let Some(refused) = growth(self.refused_forks, kernel.pids_refused_forks) {
            let limit = c
                .pids_limit
                .map_or(String::new(), |l| format!(" at pids.max {l}"));
            drafts.push(event(
                EventKind::PidsLimitHit { refused },
                format!("{refused} fork(s) refused{limit}"),
            ));
        }
        self.oom_kills = kernel.oom_kills;
        self.refused_forks = kernel.pids_refused_forks;
        if let Some((percent, ended)) = crossing(
            &mut self.throttled,
            c.throttled_percent,
            thresholds.throttled_percent,
        ) {
            let detail = if ended {
                format!("throttling ended ({percent:.0}% of CPU periods)")
            } else {
                let quota = c.cpu_limit_cpus.map_or(String::new(), |l| {
                    format!(" at {} CPUs", l.map(|v| format!("{v:.2}")))
                });
                format!("throttled in {percent:.0}% of CPU periods{quota}")
            };
            drafts.push(event(EventKind::Throttled { percent, ended }, detail));
        }
        let now = PressureNow {
            figures: [
                kernel.cpu_pressure_percent,
                kernel.memory_pressure_percent,
                kernel.io_pressure_percent,
            ],
            fires: container_key(c).map_or_else(Default::default, |key| fired.of(key)),
        };
        let subject = subject_of(c);
        drafts.extend(
            pressure_events(
                &mut self.pressure,
                &now,
                [true; 3],
                thresholds.pressure_percent,
                at_ms,
                &subject,
            )
            .into_iter()
            .map(Draft::Ready),
        );
    }

    /// Each limit of its own cgroup that changed.
    fn limit_events(
        &mut self,
        c: &ContainerSample,
        at_ms: u64,
        previous_ms: u64,
        drafts: &mut Vec<Draft>,
    ) {
        let Some(reading) = &c.view.cgroup else {
            self.limits = None;
            return;
        };
        match &self.limits {
            Some(previous) if *previous != reading.limits => {
                let mut targets = vec![c.view.container.id.clone()];
                targets.extend(
                    c.view
                        .ownership
                        .iter()
                        .filter(|o| o.own)
                        .map(|o| format!("cgroup:{}", o.path)),
                );
                targets.push(format!("cgroup:{}", reading.path));
                for change in limit_changes(previous, &reading.limits, &reading.sources) {
                    drafts.push(Draft::Limit(LimitDraft::new(
                        subject_of(c),
                        change,
                        targets.clone(),
                        (previous_ms, at_ms),
                    )));
                }
            }
            Some(_) => return,
            None => {}
        }
        self.limits = Some(reading.limits.clone());
    }
}
