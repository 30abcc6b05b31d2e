//! isotop's own containers: their record, `/run/isotop/<id>/state.json`, read as
//! `runtime::isotop` reads it (by its documented layout; the read side never imports
//! `launch`).
//!
//! The supervisor records `started_ms` when it started the command, and on its exit
//! `finished_ms` with `exit_code` (the code, or 128 + the signal's number), `status` `exited`;
//! `isotop stop` records the finish of a container whose supervisor was gone, and
//! `stop_requested` when the exit followed `isotop stop` or `rm --force`. isotop has no
//! restart policy and no health check: those stay `None`.

use super::{RuntimeState, StateReading};
use crate::host::HostRoot;
use crate::host::container::Container;
use crate::host::runtime::isotop::read_record;

/// What container `c`'s record says of its life.
pub fn read(root: &HostRoot, c: &Container) -> Option<StateReading> {
    let (record, path) = read_record(root, &c.id)?;
    let mut state = RuntimeState {
        started_at_ms: record.started_ms.filter(|ms| *ms > 0),
        finished_at_ms: record.finished_ms.filter(|ms| *ms > 0),
        ..RuntimeState::default()
    };
    if record.status.as_deref() != Some("running") && state.finished_last_run() {
        state.exit_code = record.exit_code;
        state.stop_requested = Some(record.stop_requested);
    }
    Some(StateReading {
        state,
        sources: vec![path],
    })
}
