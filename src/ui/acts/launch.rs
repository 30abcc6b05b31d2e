//! The dashboard's launch acts, run off the UI thread like the others: `n` starts a container
//! with [`lifecycle::run_detached`] (the same call as `isotop run -d`, with this very binary as
//! the supervisor), `x` stops one with [`lifecycle::stop`] or removes one with
//! [`lifecycle::remove`]. Each returns an [`Outcome`] for the status line.

use std::time::Duration;

use super::Outcome;
use crate::host::HostRoot;
use crate::host::text::clean_str;
use crate::launch::RunSpec;
use crate::launch::lifecycle;
use crate::units::short_id;

/// How long a stop waits after TERM before it sends KILL, seconds.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// Starts the container detached; blocks until its command runs or its setup failed.
pub fn run_launch(root: &HostRoot, mut spec: RunSpec) -> Outcome {
    spec.detach = true;
    // A relative image path means relative to where the operator started isotop, not to
    // wherever the supervisor runs.
    if let Some(image) = &spec.image
        && image.is_relative()
    {
        match std::path::absolute(image) {
            Ok(abs) => spec.image = Some(abs),
            Err(e) => {
                return Outcome::Failed(format!("launch: image {}: {e}", image.display()));
            }
        }
    }
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => {
            return Outcome::Failed(format!(
                "launch: cannot find isotop's own binary to supervise the container: {e}"
            ));
        }
    };
    match lifecycle::run_detached(root, spec, &exe) {
        Ok(started) => Outcome::Started {
            id: started.id,
            name: clean_str(&started.name),
        },
        Err(e) => Outcome::Failed(format!("launch failed: {e}")),
    }
}

/// TERM to the container's init, KILL after [`STOP_TIMEOUT`].
pub fn run_stop(root: &HostRoot, id: &str, name: &str) -> Outcome {
    match lifecycle::stop(root, id, STOP_TIMEOUT) {
        Ok(stopped) => Outcome::Done(format!(
            "stopped {name}{}{}; x again removes it",
            if stopped.killed {
                format!(" (KILL after {} s)", STOP_TIMEOUT.as_secs())
            } else {
                String::new()
            },
            stopped
                .exit_code
                .map(|c| format!(", exit code {c}"))
                .unwrap_or_default()
        )),
        Err(e) => Outcome::Failed(format!("stop {name}: {e}")),
    }
}

/// Stops the container first when it was running (so its command gets TERM, not KILL), then
/// removes it with `force` (a container that came back to life between the two is killed).
pub fn run_remove(root: &HostRoot, id: &str, name: &str, running: bool) -> Outcome {
    let mut notes = Vec::new();
    if running && let Err(e) = lifecycle::stop(root, id, STOP_TIMEOUT) {
        // The remove below kills what the stop could not end; say what happened.
        notes.push(format!("stop: {e}"));
    }
    match lifecycle::remove(root, id, true) {
        Ok(removed) => {
            let mut text = format!("removed {name} ({})", short_id(&removed));
            for note in notes {
                text.push_str(&format!("; {note}"));
            }
            Outcome::Done(text)
        }
        Err(e) => Outcome::Failed(format!("remove {name}: {e}")),
    }
}
