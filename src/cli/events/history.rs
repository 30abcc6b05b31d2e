//! The past events `isotop events` lists without `--follow` (and before following): those a
//! source dated — isotop's acts from its audit log, OOM kills from the kernel log (when this
//! user may read it), the starts, restarts and exits runtimes record
//! (`host::events::runtime::dated_events` of `host::runtime::state`), else a running
//! container's start from its init's start time. What no source dates (throttling,
//! pressure, refused forks, changes by others) is seen only while a sampler runs.

use std::path::Path;

use crate::host::HostRoot;
use crate::host::container::measure::ContainerView;
use crate::host::events::audit::{self, AuditRecord};
use crate::host::events::kmsg::{KmsgReader, OomVictim, Start, own_memory_cgroups};
use crate::host::events::runtime::dated_events;
use crate::host::events::{Event, EventKind, Subject, Timing};
use crate::host::runtime::state::read_state;
use crate::host::scan::Snapshot;
use crate::host::text::clean_str;
use crate::units::short_id;

/// The dated events at or after `since_ms` (ms since the epoch), oldest first, and notes on
/// the sources that could not be read.
pub(super) fn past_events(
    root: &HostRoot,
    snapshot: &Snapshot,
    audit_log: &Path,
    since_ms: u64,
) -> (Vec<Event>, Vec<String>) {
    let mut events = Vec::new();
    let mut notes = Vec::new();
    let v2 = snapshot
        .layout
        .as_ref()
        .is_some_and(|l| l.v1_carrying("memory").is_none());
    match audit::read_since(audit_log, since_ms / 1000) {
        Ok((records, skipped)) => {
            events.extend(
                records
                    .iter()
                    .filter_map(|r| act_event(r, &snapshot.containers, v2))
                    .filter(|e| e.at_ms >= since_ms),
            );
            if skipped > 0 {
                notes.push(format!(
                    "{skipped} unreadable line(s) in {} skipped",
                    audit_log.display()
                ));
            }
        }
        Err(e) => notes.push(format!("isotop's acts not listed: {e}")),
    }
    match KmsgReader::open(root, Start::Oldest) {
        Ok(mut kmsg) => events.extend(
            kmsg.read_victims()
                .into_iter()
                .filter(|v| v.at_ms >= since_ms)
                .map(|v| kill_event(v, &snapshot.containers)),
        ),
        Err(e) => notes.push(format!(
            "past OOM kills not listed: the kernel log is not readable ({e})"
        )),
    }
    let boot_ms = snapshot
        .uptime_seconds
        .map(|up| snapshot.taken_at_ms.saturating_sub((up * 1000.0) as u64));
    for view in &snapshot.containers {
        // What the runtime dates (start or restart, exit: `host::events::runtime`), else the
        // start of the running init.
        let mut dated = read_state(root, &view.container)
            .map(|state| dated_events(&view.container, &state))
            .unwrap_or_default();
        let started = dated
            .iter()
            .any(|e| matches!(e.kind, EventKind::Started | EventKind::Restarted { .. }));
        if !started {
            dated.extend(start_event(view, boot_ms, snapshot.clock_ticks));
        }
        events.extend(dated.into_iter().filter(|e| e.at_ms >= since_ms));
    }
    events.sort_by_key(|e| e.at_ms);
    (events, notes)
}

/// Whom a container's events concern.
pub(super) fn subject_of(view: &ContainerView) -> Subject {
    Subject {
        container_id: Some(view.container.id.clone()),
        name: view.container.name.clone(),
        cgroup: view
            .cgroup
            .as_ref()
            .map(|r| r.path.clone())
            .or_else(|| view.container.cgroup_path.clone()),
    }
}

/// A cgroup no container is known to own.
fn cgroup_subject(path: &str) -> Subject {
    let path = clean_str(path);
    Subject {
        container_id: None,
        name: path.clone(),
        cgroup: Some(path),
    }
}

/// The event of an audited act: its target a container (by id, named when it still exists)
/// or a cgroup (`cgroup:/path`).
fn act_event(record: &AuditRecord, containers: &[ContainerView], v2: bool) -> Option<Event> {
    let target = record.target.as_str();
    let subject = if let Some(path) = target.strip_prefix("cgroup:") {
        cgroup_subject(path)
    } else if let Some(view) = containers.iter().find(|v| v.container.id == target) {
        subject_of(view)
    } else {
        Subject {
            container_id: Some(clean_str(target)),
            name: short_id(target),
            cgroup: None,
        }
    };
    audit::event_of(record, subject, v2)
}

/// A kill the kernel logged: in the container whose own memory cgroup holds its victim's, else
/// in the victim's cgroup.
fn kill_event(victim: OomVictim, containers: &[ContainerView]) -> Event {
    // A running container by the memory cgroups it owns; a stopped one (nothing owned any
    // more) by the cgroup its runtime recorded it in.
    let owner = containers
        .iter()
        .find(|v| {
            own_memory_cgroups(v)
                .iter()
                .any(|memcg| victim.in_cgroup(memcg))
        })
        .or_else(|| {
            containers.iter().find(|v| {
                !v.container.running
                    && v.container
                        .cgroup_path
                        .as_deref()
                        .is_some_and(|path| victim.in_cgroup(path))
            })
        });
    let memcg = victim.task_memcg.clone().or(victim.oom_memcg.clone());
    let subject = match (owner, &memcg) {
        (Some(view), _) => subject_of(view),
        (None, Some(path)) => cgroup_subject(path),
        (None, None) => Subject {
            container_id: None,
            name: "-".into(),
            cgroup: None,
        },
    };
    let place = memcg.map_or(String::new(), |m| format!(" in memory cgroup {m}"));
    Event {
        at_ms: victim.at_ms,
        timing: Timing::Dated,
        subject,
        detail: format!("OOM kill: pid {} ({}){place}", victim.pid, victim.command),
        kind: EventKind::OomKill {
            pid: Some(victim.pid),
            command: Some(victim.command),
            count: 1,
        },
    }
}

/// A running container's start: its init's start time.
fn start_event(view: &ContainerView, boot_ms: Option<u64>, clock_ticks: u64) -> Option<Event> {
    let c = &view.container;
    if !c.running {
        return None;
    }
    let ticks = c.start_ticks?;
    let at_ms = boot_ms?.saturating_add(ticks.saturating_mul(1000) / clock_ticks.max(1));
    let pid = c
        .init_pid
        .map_or(String::new(), |p| format!(", init pid {p}"));
    Some(Event {
        at_ms,
        timing: Timing::Dated,
        subject: subject_of(view),
        kind: EventKind::Started,
        detail: format!("started ({}{pid})", c.runtime),
    })
}
