//! Docker's record of a container's life: `config.v2.json`'s `RestartCount` and `State`.
//!
//! The daemon rewrites the file on every change of state: `State.Running`, `State.ExitCode`
//! (reset to 0 while running: only a stopped container's is its last exit),
//! `State.StartedAt`/`FinishedAt` (RFC 3339 with nanoseconds, Go's zero time until it
//! happened), `State.Health.Status` (`starting`, `healthy`, `unhealthy`; absent without a
//! check) and, beside `State`, `RestartCount` (restarts by its restart policy since it was last
//! started by hand) and `HasBeenManuallyStopped` (the last stop was `docker stop`/`kill`).
//! Read below `/var/lib` without following a symlink ([`super::read_json`]).

use std::path::Path;

use serde::Deserialize;

use super::{RuntimeState, StateReading, health, read_json, time_ms};
use crate::host::HostRoot;
use crate::host::container::Container;
use crate::units::ContainerId;

#[derive(Deserialize)]
struct ConfigV2 {
    #[serde(rename = "RestartCount")]
    restart_count: Option<u64>,
    #[serde(rename = "State")]
    state: Option<State>,
    /// `docker stop` and `docker kill` set it (not while the daemon shuts down), a start
    /// clears it: the restart policy's "stopped by hand".
    #[serde(rename = "HasBeenManuallyStopped")]
    manually_stopped: Option<bool>,
}

#[derive(Deserialize)]
struct State {
    #[serde(rename = "Running")]
    running: Option<bool>,
    #[serde(rename = "ExitCode")]
    exit_code: Option<i32>,
    #[serde(rename = "StartedAt")]
    started_at: Option<String>,
    #[serde(rename = "FinishedAt")]
    finished_at: Option<String>,
    #[serde(rename = "Health")]
    health: Option<Health>,
}

#[derive(Deserialize)]
struct Health {
    #[serde(rename = "Status")]
    status: Option<String>,
}

/// What Docker recorded of container `c` (its id must be 64 hex); `None` without a believed
/// config.
pub fn read(root: &HostRoot, c: &Container) -> Option<StateReading> {
    if !ContainerId::is_valid(&c.id) {
        return None;
    }
    let rel = Path::new("docker/containers")
        .join(&c.id)
        .join("config.v2.json");
    let (config, path): (ConfigV2, _) = read_json(c, &root.var_lib, &rel)?;
    let state = config.state;
    let running = state.as_ref().and_then(|s| s.running).unwrap_or(false);
    let mut life = RuntimeState {
        restart_count: config.restart_count,
        started_at_ms: state
            .as_ref()
            .and_then(|s| s.started_at.as_deref())
            .and_then(time_ms),
        finished_at_ms: state
            .as_ref()
            .and_then(|s| s.finished_at.as_deref())
            .and_then(time_ms),
        ..RuntimeState::default()
    };
    if running {
        life.health = state
            .as_ref()
            .and_then(|s| s.health.as_ref())
            .and_then(|h| h.status.as_deref())
            .and_then(health);
    } else if life.finished_last_run() {
        life.exit_code = state.as_ref().and_then(|s| s.exit_code);
        life.stop_requested = config.manually_stopped;
    }
    Some(StateReading {
        state: life,
        sources: vec![path],
    })
}
