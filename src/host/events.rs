//! What happened to a container: the event vocabulary every source speaks — the sampler's
//! comparisons of two ticks (`sample::events`), the runtimes' files and the kernel's log
//! (`host::events::*` readers), isotop's audit log — and every consumer shows (`isotop events`,
//! the dashboard's Events view, the Containers view's latest-event mark, the exporter and the
//! recorder later).
//!
//! Contract: an [`Event`] is a plain value with the moment it happened (or was noticed, see
//! [`Timing`]), whom it concerns, what kind it is with its figures, and a one-line
//! description. Text in it that came from strangers (names, commands, health output) is
//! cleaned by whoever made the event (`host::text`). No I/O in this file.

pub mod runtime;

use serde::{Deserialize, Serialize};

pub mod audit;
pub mod kmsg;

/// One event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// When it happened, ms since the Unix epoch (see `timing`).
    pub at_ms: u64,
    pub timing: Timing,
    pub subject: Subject,
    #[serde(flatten)]
    pub kind: EventKind,
    /// One line an operator reads, cleaned: `OOM kill: pid 4711 (python3) in memory.max 64M`.
    pub detail: String,
}

/// How `at_ms` is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Timing {
    /// A source dated it: the kernel log, a runtime's file, the audit log.
    Dated,
    /// Seen changed between two samples: it happened within the interval before `at_ms`.
    Sampled,
}

/// Whom an event concerns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    /// The container's id (raw, as `Container::id`); `None` for a cgroup no container owns.
    pub container_id: Option<String>,
    /// The container's name, or the cgroup's path; cleaned.
    pub name: String,
    /// The cgroup concerned, when one is (a container's own, or a cgroup target).
    pub cgroup: Option<String>,
}

/// What kind of event, with its figures (`kind` in JSON, the figures beside it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventKind {
    /// A container appeared (its init started).
    Started,
    /// A container's processes are gone; the exit code where the runtime records it, and
    /// whether the runtime records that someone asked it to stop them (`docker stop`, `isotop
    /// stop`): then the code is the stop's signal (143, 137), not trouble.
    Exited {
        exit_code: Option<i32>,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        stop_requested: bool,
    },
    /// The runtime started it again (Docker's `RestartCount`, CRI's attempt, …).
    Restarted {
        restart_count: Option<u64>,
    },
    Frozen,
    Thawed,
    /// The kernel's OOM killer ended a process of the cgroup (`oom_kill` grew); the victim
    /// where the kernel log names it.
    OomKill {
        pid: Option<i32>,
        command: Option<String>,
        /// How many kills this event stands for (the counter's growth since the last tick).
        count: u64,
    },
    /// Forks refused at `pids.max` (`pids.events max` grew by `refused`).
    PidsLimitHit {
        refused: u64,
    },
    /// Throttled in at least `percent` of the CFS periods of the last interval (above the
    /// threshold; one event when it starts, one when it ends).
    Throttled {
        percent: f64,
        ended: bool,
    },
    /// PSI `some avg10` of `resource` above the threshold (one event when it starts, one when
    /// it ends).
    Pressure {
        resource: PressureResource,
        percent: f64,
        ended: bool,
    },
    /// A limit file changed: `limit` names it (`memory.max`, `cpu.max`, `io.max 7:3 wbps`…).
    LimitChanged {
        limit: String,
        from: Option<String>,
        to: Option<String>,
        by: ChangedBy,
    },
    /// The runtime's health check changed status (`healthy`, `unhealthy`, `starting`).
    HealthChanged {
        status: String,
    },
}

/// A PSI resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PressureResource {
    Cpu,
    Memory,
    Io,
}

/// Who changed a limit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangedBy {
    /// isotop (its audit log has the line).
    Isotop,
    /// Someone else: a file that changed behind isotop's back.
    Other,
}

impl EventKind {
    /// The kind's name as JSON and the Events view show it (`oom_kill`).
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::Started => "started",
            EventKind::Exited { .. } => "exited",
            EventKind::Restarted { .. } => "restarted",
            EventKind::Frozen => "frozen",
            EventKind::Thawed => "thawed",
            EventKind::OomKill { .. } => "oom_kill",
            EventKind::PidsLimitHit { .. } => "pids_limit_hit",
            EventKind::Throttled { .. } => "throttled",
            EventKind::Pressure { .. } => "pressure",
            EventKind::LimitChanged { .. } => "limit_changed",
            EventKind::HealthChanged { .. } => "health_changed",
        }
    }

    /// Trouble an operator should look at (drawn in the warning colour): OOM kills, refused
    /// forks, throttling and pressure starting, a non-zero exit nobody asked for, an unhealthy
    /// check.
    pub fn is_trouble(&self) -> bool {
        match self {
            EventKind::OomKill { .. } | EventKind::PidsLimitHit { .. } => true,
            EventKind::Throttled { ended, .. } | EventKind::Pressure { ended, .. } => !ended,
            EventKind::Exited {
                exit_code,
                stop_requested,
            } => !stop_requested && exit_code.is_some_and(|c| c != 0),
            EventKind::HealthChanged { status } => status == "unhealthy",
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_names_the_kind_beside_its_figures() {
        let event = Event {
            at_ms: 1,
            timing: Timing::Sampled,
            subject: Subject {
                container_id: Some("abc".into()),
                name: "web".into(),
                cgroup: Some("/docker/abc".into()),
            },
            kind: EventKind::OomKill {
                pid: Some(42),
                command: Some("python3".into()),
                count: 1,
            },
            detail: "OOM kill: pid 42 (python3)".into(),
        };
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["kind"], "oom_kill");
        assert_eq!(json["pid"], 42);
        assert_eq!(json["timing"], "sampled");
        assert_eq!(event.kind.name(), "oom_kill");
        assert!(event.kind.is_trouble());
        assert!(
            !EventKind::Exited {
                exit_code: Some(0),
                stop_requested: false
            }
            .is_trouble()
        );
    }
}
