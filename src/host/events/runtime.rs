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
        let (kind, detail) = exited(state.exit_code, state.stop_requested == Some(true));
        events.push(event(at_ms, &subject, kind, detail));
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

/// `137 (128 + signal 9)`, `3`: an exit code as runtimes give it, a death by signal spelled out.
pub fn exit_code_text(code: i32) -> String {
    if (129..=128 + 64).contains(&code) {
        format!("{code} (128 + signal {})", code - 128)
    } else {
        code.to_string()
    }
}

/// The exit event's kind and line, for every source that learns of an exit from a runtime:
/// `exited with code 137 (128 + signal 9)` (codes above 128 are how runtimes report a death by
/// signal), `stopped on request, code 143 (128 + signal 15)`.
pub fn exited(exit_code: Option<i32>, stop_requested: bool) -> (EventKind, String) {
    let code = match exit_code {
        Some(code) => format!("code {}", exit_code_text(code)),
        None => "its runtime recorded no exit code".into(),
    };
    let detail = match (stop_requested, exit_code) {
        (true, _) => format!("stopped on request, {code}"),
        (false, Some(_)) => format!("exited with {code}"),
        (false, None) => format!("exited ({code})"),
    };
    let kind = EventKind::Exited {
        exit_code,
        stop_requested,
    };
    (kind, detail)
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
                exit_code: Some(137),
                stop_requested: false,
            }
        );
        assert_eq!(events[1].detail, "exited with code 137 (128 + signal 9)");
        assert!(events[1].kind.is_trouble());
        assert!(events.iter().all(|e| e.timing == Timing::Dated));
        assert_eq!(events[0].subject.cgroup.as_deref(), Some("/docker/x?"));
        assert_eq!(events[0].subject.container_id, Some("ab".repeat(32)));
    }

    #[test]
    fn an_exit_someone_asked_for_is_no_trouble() {
        let state = RuntimeState {
            exit_code: Some(143),
            started_at_ms: Some(1_000),
            finished_at_ms: Some(5_000),
            stop_requested: Some(true),
            ..RuntimeState::default()
        };
        let events = dated_events(&container(), &state);
        assert_eq!(
            events[1].kind,
            EventKind::Exited {
                exit_code: Some(143),
                stop_requested: true,
            }
        );
        assert_eq!(
            events[1].detail,
            "stopped on request, code 143 (128 + signal 15)"
        );
        assert!(!events[1].kind.is_trouble());
        // Asked for or not, it is in JSON only when true (older readers see what they knew).
        let json = serde_json::to_value(&events[1]).unwrap();
        assert_eq!(json["stop_requested"], true);
        let plain = exited(Some(1), false).0;
        let json = serde_json::to_value(&plain).unwrap();
        assert!(json.get("stop_requested").is_none(), "{json}");
        let back: EventKind = serde_json::from_value(json).unwrap();
        assert_eq!(back, plain);
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
