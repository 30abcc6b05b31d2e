//! Events the runtimes' own files date: when a container started (or was restarted) and when
//! it exited, with its exit code, as `runtime::state::read_state` read them.
//!
//! Contract: pure (no I/O): [`dated_events`] turns a container and its [`RuntimeState`] into
//! [`Timing::Dated`] events, oldest first — `Started` at its start, or `Restarted` there when
//! the runtime counts restarts and this start was one (a restart is the start, not a second
//! event beside it), and `Exited` at its finish when that run finished (at or after its start:
//! a finish before the latest start belongs to a run the restart ended, and its exit code is no
//! longer recorded). What the runtime does not date gives no event: a sampler notices it
//! between ticks instead. Text is the container's already cleaned name; the cgroup path is
//! cleaned here.

use super::{Event, EventKind, Subject, Timing};
use crate::host::container::Container;
use crate::host::runtime::state::RuntimeState;
use crate::host::text::clean_str;

/// The dated events `state` holds for container `c`, oldest first.
pub fn dated_events(c: &Container, state: &RuntimeState) -> Vec<Event> {
    let subject = Subject {
        container_id: Some(c.id.clone()),
        name: c.name.clone(),
        cgroup: c.cgroup_path.as_deref().map(clean_str),
    };
    let runtime = c.runtime.name();
    let mut events = Vec::new();
    if let Some(at_ms) = state.started_at_ms {
        let (kind, detail) = match state.restart_count.filter(|n| *n > 0) {
            Some(n) => (
                EventKind::Restarted {
                    restart_count: Some(n),
                },
                format!("restarted by {runtime} (restart {n})"),
            ),
            None => (
                EventKind::Started,
                format!("started ({runtime} recorded it)"),
            ),
        };
        events.push(event(at_ms, &subject, kind, detail));
    }
    if let Some(at_ms) = state.finished_at_ms.filter(|_| state.finished_last_run()) {
        let exit_code = state.exit_code;
        events.push(event(
            at_ms,
            &subject,
            EventKind::Exited { exit_code },
            exited_detail(exit_code),
        ));
    }
    events.sort_by_key(|e| e.at_ms);
    events
}

fn event(at_ms: u64, subject: &Subject, kind: EventKind, detail: String) -> Event {
    Event {
        at_ms,
        timing: Timing::Dated,
        subject: subject.clone(),
        kind,
        detail,
    }
}

/// `exited with code 137 (128 + signal 9)`: codes above 128 are how runtimes report a death by
/// signal.
fn exited_detail(exit_code: Option<i32>) -> String {
    match exit_code {
        Some(code) if (129..=128 + 64).contains(&code) => {
            format!("exited with code {code} (128 + signal {})", code - 128)
        }
        Some(code) => format!("exited with code {code}"),
        None => "exited (its runtime recorded no exit code)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::container::{Runtime, Trust};

    fn container() -> Container {
        Container {
            id: "ab".repeat(32),
            name: "web".into(),
            runtime: Runtime::Docker,
            image: None,
            init_pid: None,
            pids: Vec::new(),
            cgroups: std::sync::Arc::from([]),
            cgroup_path: Some("/docker/x\u{1b}".into()),
            namespaces: Default::default(),
            shared_with_host: Vec::new(),
            pod: None,
            labels: Default::default(),
            metadata: None,
            start_ticks: None,
            running: false,
            trust: Trust::root(),
        }
    }

    #[test]
    fn a_finished_run_is_a_start_then_an_exit() {
        let state = RuntimeState {
            exit_code: Some(137),
            started_at_ms: Some(1_000),
            finished_at_ms: Some(5_000),
            ..RuntimeState::default()
        };
        let events = dated_events(&container(), &state);
        let kinds: Vec<&str> = events.iter().map(|e| e.kind.name()).collect();
        assert_eq!(kinds, ["started", "exited"]);
        assert_eq!(events[0].at_ms, 1_000);
        assert_eq!(events[1].at_ms, 5_000);
        assert_eq!(
            events[1].kind,
            EventKind::Exited {
                exit_code: Some(137)
            }
        );
        assert_eq!(events[1].detail, "exited with code 137 (128 + signal 9)");
        assert!(events[1].kind.is_trouble());
        assert!(events.iter().all(|e| e.timing == Timing::Dated));
        assert_eq!(events[0].subject.cgroup.as_deref(), Some("/docker/x?"));
        assert_eq!(events[0].subject.container_id, Some("ab".repeat(32)));
    }

    #[test]
    fn a_restart_after_the_last_exit_is_one_restarted_event() {
        let state = RuntimeState {
            restart_count: Some(3),
            started_at_ms: Some(9_000),
            finished_at_ms: Some(8_000),
            ..RuntimeState::default()
        };
        let events = dated_events(&container(), &state);
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(
            events[0].kind,
            EventKind::Restarted {
                restart_count: Some(3)
            }
        );
        assert_eq!(events[0].at_ms, 9_000);
        assert_eq!(events[0].detail, "restarted by docker (restart 3)");
    }

    #[test]
    fn what_is_not_dated_makes_no_event() {
        assert!(dated_events(&container(), &RuntimeState::default()).is_empty());
        let undated = RuntimeState {
            restart_count: Some(2),
            exit_code: Some(1),
            health: Some("unhealthy".into()),
            ..RuntimeState::default()
        };
        assert!(dated_events(&container(), &undated).is_empty());
        // An exit without a recorded start (Podman's exit file) is dated by itself.
        let podman = RuntimeState {
            exit_code: Some(0),
            finished_at_ms: Some(7),
            ..RuntimeState::default()
        };
        let events = dated_events(&container(), &podman);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].detail, "exited with code 0");
        assert!(!events[0].kind.is_trouble());
    }
}
