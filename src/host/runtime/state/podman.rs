//! Podman's record of a container's life, from the files it keeps outside its database.
//!
//! Podman keeps a container's state (restart count, start and finish times, exit code) in its
//! database — BoltDB `bolt_state.db` or SQLite `db.sql` under the store — which isotop does not
//! read. Two files hold part of it:
//! - conmon's exit file: conmon writes the exit code (decimal text) when the container's init
//!   exits, to `<tmpdir>/persist/<id>/exit` and to `<tmpdir>/exits/<id>` (Podman dates the exit
//!   by that file, as this reader does with its mtime). Podman removes them when it starts the
//!   container again, so they speak of a stopped container only.
//! - the health check log `<runroot>/overlay-containers/<id>/healthcheck.log`: JSON with the
//!   current `Status` (`starting`, `healthy`, `unhealthy`) and the last checks.
//!
//! `<tmpdir>` is `/run/libpod` for root and `/run/user/<uid>/libpod/tmp` rootless; `<runroot>` is
//! `/run/containers/storage` and `/run/user/<uid>/containers`. A rootless container's files are
//! its user's: believed for that container only ([`super::believed`]).

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{RuntimeState, StateReading, health, read_file, read_json};
use crate::host::HostRoot;
use crate::host::container::Container;
use crate::units::ContainerId;

#[derive(Deserialize)]
struct HealthLog {
    #[serde(rename = "Status")]
    status: Option<String>,
}

/// Where one container's files are: (trusted base, tmpdir below it, runroot below it).
fn dirs(root: &HostRoot, c: &Container) -> (PathBuf, PathBuf, PathBuf) {
    match c.trust.claimed_by_uid {
        Some(uid) => (
            root.run.join("user").join(uid.to_string()),
            PathBuf::from("libpod/tmp"),
            PathBuf::from("containers"),
        ),
        None => (
            root.run.clone(),
            PathBuf::from("libpod"),
            PathBuf::from("containers/storage"),
        ),
    }
}

/// What Podman's files say of container `c` (64-hex id): the last exit of a stopped one, the
/// health of a running one.
pub fn read(root: &HostRoot, c: &Container) -> Option<StateReading> {
    if !ContainerId::is_valid(&c.id) {
        return None;
    }
    let (base, tmpdir, runroot) = dirs(root, c);
    let mut reading = StateReading::default();
    if c.running {
        let rel = runroot
            .join("overlay-containers")
            .join(&c.id)
            .join("healthcheck.log");
        if let Some((log, path)) = read_json::<HealthLog>(c, &base, &rel) {
            reading.state.health = log.status.as_deref().and_then(health);
            reading.sources.push(path);
        }
    } else {
        let exit_files = [
            tmpdir.join("persist").join(&c.id).join("exit"),
            tmpdir.join("exits").join(&c.id),
        ];
        if let Some((code, at, path)) = exit_files.iter().find_map(|rel| exit_file(c, &base, rel)) {
            reading.state = RuntimeState {
                exit_code: Some(code),
                finished_at_ms: at,
                ..RuntimeState::default()
            };
            reading.sources.push(path);
        }
    }
    Some(reading)
}

/// conmon's exit file: the code, when it was written, its path.
fn exit_file(c: &Container, base: &Path, rel: &Path) -> Option<(i32, Option<u64>, PathBuf)> {
    let file = read_file(c, base, rel)?;
    let code = std::str::from_utf8(&file.bytes).ok()?.trim().parse().ok()?;
    Some((code, file.modified_ms, file.path))
}
