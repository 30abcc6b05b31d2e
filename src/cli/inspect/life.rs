//! What the container's runtime recorded of its life (`host::runtime::state`): restarts,
//! health, the last exit code, when it started and finished — `inspect`'s "Life" block and
//! `runtime_state` (JSON, with the files read), and the five fields every `ls --json` row
//! carries ([`Life`]). Times are shown as RFC 3339 UTC with milliseconds
//! (`2024-05-01T12:00:00.123Z`); the JSON of `inspect` has them in ms since the epoch too.

use serde::Serialize;

use crate::host::HostRoot;
use crate::host::container::Container;
use crate::host::events::runtime::exit_code_text;
use crate::host::runtime::state::{self, RuntimeState};
use crate::host::text::clean_str;

/// The life fields of a row (flattened into `ls --json`), `null` where not recorded.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub(crate) struct Life {
    /// Restarts by the runtime (Docker's restart policy, Kubernetes' attempt number).
    pub restart_count: Option<u64>,
    /// The health check's status while it runs (`starting`, `healthy`, `unhealthy`).
    pub health: Option<String>,
    /// The exit code of its last run, when that run finished.
    pub exit_code: Option<i32>,
    /// When it last started and finished, RFC 3339 UTC.
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
}

impl Life {
    pub(crate) fn of(state: &RuntimeState) -> Life {
        Life {
            restart_count: state.restart_count,
            health: state.health.clone(),
            exit_code: state.exit_code,
            started_at: state.started_at_ms.map(rfc3339_ms),
            finished_at: state.finished_at_ms.map(rfc3339_ms),
        }
    }

    /// The life `c`'s runtime recorded; every field null when it records none.
    pub(crate) fn read(root: &HostRoot, c: &Container) -> Life {
        state::read_state(root, c)
            .map(|s| Life::of(&s))
            .unwrap_or_default()
    }
}

/// `inspect --json`'s `runtime_state`.
#[derive(Debug, Serialize)]
pub(crate) struct RuntimeStateSection {
    #[serde(flatten)]
    pub life: Life,
    /// The same times in ms since the Unix epoch.
    pub started_at_ms: Option<u64>,
    pub finished_at_ms: Option<u64>,
    /// Whether the last exit followed a stop someone asked for (`docker stop`, `isotop stop`;
    /// null where the runtime does not record it).
    pub stop_requested: Option<bool>,
    /// The runtime's files it was read from.
    pub sources: Vec<String>,
}

/// The section of `c`; `None` when its runtime records none of it.
pub(super) fn section(root: &HostRoot, c: &Container) -> Option<RuntimeStateSection> {
    let reading = state::read(root, c)?;
    let sources = reading.sources.iter().map(|p| p.display().to_string());
    Some(RuntimeStateSection::of(&reading.state, sources.collect()))
}

impl RuntimeStateSection {
    /// The section of `state`, read from the files `sources` (empty for a recorded state: a
    /// frame keeps the state, not the files).
    pub(super) fn of(state: &RuntimeState, sources: Vec<String>) -> RuntimeStateSection {
        RuntimeStateSection {
            life: Life::of(state),
            started_at_ms: state.started_at_ms,
            finished_at_ms: state.finished_at_ms,
            stop_requested: state.stop_requested,
            sources,
        }
    }
}

/// The "Life" block: each field or `-`, the files read, and what the runtime does not record.
pub(super) fn render(section: Option<&RuntimeStateSection>, c: &Container) -> String {
    let unrecorded = state::unrecorded(c.runtime);
    let Some(s) = section else {
        return format!(
            "Life           not recorded{}\n",
            unrecorded.map(|u| format!(": {u}")).unwrap_or_default()
        );
    };
    // Paths name ids and pods their owners chose: cleaned for display.
    let mut out = if s.sources.is_empty() {
        "Life           (as the recording holds it)\n".to_string()
    } else {
        format!(
            "Life           (from {})\n",
            clean_str(&s.sources.join(", "))
        )
    };
    let dash = || "-".to_string();
    let l = &s.life;
    for (field, value) in [
        ("restarts", l.restart_count.map(|n| n.to_string())),
        ("health", l.health.clone()),
        (
            "last exit",
            l.exit_code.map(|code| last_exit(code, s.stop_requested)),
        ),
        ("started", l.started_at.clone()),
        ("finished", l.finished_at.clone()),
    ] {
        out.push_str(&format!("  {field:<12} {}\n", value.unwrap_or_else(dash)));
    }
    if let Some(u) = unrecorded {
        out.push_str(&format!("  note: {u}\n"));
    }
    out
}

/// `137 (128 + signal 9), stopped on request`.
fn last_exit(code: i32, stop_requested: Option<bool>) -> String {
    let code = exit_code_text(code);
    match stop_requested {
        Some(true) => format!("{code}, stopped on request"),
        _ => code,
    }
}

/// Ms since the epoch as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub(crate) fn rfc3339_ms(ms: u64) -> String {
    let seconds = crate::control::audit::rfc3339(ms / 1_000);
    let whole = seconds.strip_suffix('Z').unwrap_or(&seconds);
    format!("{whole}.{:03}Z", ms % 1_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_back_as_they_were_written() {
        assert_eq!(rfc3339_ms(1_714_564_800_123), "2024-05-01T12:00:00.123Z");
        assert_eq!(rfc3339_ms(5), "1970-01-01T00:00:00.005Z");
        let parsed = state::time_ms(&rfc3339_ms(1_714_564_800_123));
        assert_eq!(parsed, Some(1_714_564_800_123));
    }

    #[test]
    fn a_row_names_the_five_fields() {
        let life = Life::of(&RuntimeState {
            restart_count: Some(3),
            health: Some("unhealthy".into()),
            exit_code: Some(137),
            started_at_ms: Some(1_714_564_800_123),
            finished_at_ms: None,
            stop_requested: Some(true),
        });
        let json = serde_json::to_value(&life).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "restart_count": 3,
                "health": "unhealthy",
                "exit_code": 137,
                "started_at": "2024-05-01T12:00:00.123Z",
                "finished_at": null,
            })
        );
        assert_eq!(last_exit(137, None), "137 (128 + signal 9)");
        assert_eq!(last_exit(1, Some(false)), "1");
        assert_eq!(
            last_exit(143, Some(true)),
            "143 (128 + signal 15), stopped on request"
        );
    }
}
