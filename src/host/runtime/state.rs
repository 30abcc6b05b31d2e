//! What a runtime records of a container's life beyond its processes: restarts, health, the
//! last exit — Docker's `config.v2.json` `RestartCount`, `State.Health.Status`,
//! `State.ExitCode`, `State.StartedAt`/`FinishedAt`; Podman's and CRI's equivalents where they
//! keep them.
//!
//! Contract: read through `runtime::file` like every runtime file; a runtime that records
//! none of it gives `None`; a field it does not record is `None`. Text is cleaned.

use serde::Serialize;

/// A container's life as its runtime recorded it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RuntimeState {
    /// Times the runtime restarted it (Docker `RestartCount`, CRI attempt number).
    pub restart_count: Option<u64>,
    /// The health check's status (`healthy`, `unhealthy`, `starting`), cleaned.
    pub health: Option<String>,
    /// The last exit code (of a stopped container, or of the previous run).
    pub exit_code: Option<i32>,
    /// When it last started and finished, ms since the Unix epoch.
    pub started_at_ms: Option<u64>,
    pub finished_at_ms: Option<u64>,
}

/// The state container `c`'s runtime records (see the module); `None` when it records none.
pub fn read_state(
    _root: &crate::host::HostRoot,
    _c: &crate::host::container::Container,
) -> Option<RuntimeState> {
    // Filled per runtime by the runtime-state work of issue 14 (helper E2).
    None
}
