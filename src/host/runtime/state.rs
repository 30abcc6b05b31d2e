//! What a runtime records of a container's life beyond its processes: restarts, health, the
//! last exit, when it started and finished — each runtime in its own files.
//!
//! Contract: [`read_state`] reads the files of container `c`'s runtime (never a daemon socket)
//! through `runtime::file` like every runtime file: no symlink followed below a trusted base,
//! no FIFO opened, regular files only, capped at [`Cap::STATE`]. A file is believed only when
//! root (or isotop's own user) alone could have written it, or — for a rootless container —
//! the user whose container it is ([`believed`]). A runtime that records none of it gives
//! `None`; a field it does not record is `None` (never a guess, never a zero standing for
//! "unknown"). Text is cleaned and bounded. Times are ms since the Unix epoch, parsed by the one
//! RFC 3339 parser (`oci::parse_rfc3339_ms`); Go's zero time `0001-01-01T00:00:00Z` means
//! "never". An exit code is given only for a run that finished; health only for a running
//! container (a stopped one's last check would read as current).
//!
//! Where each runtime keeps it ([`docker`], [`cri`], [`podman`], [`isotop`], [`oci`]):
//! - Docker: `/var/lib/docker/containers/<id>/config.v2.json`: `RestartCount` (restarts by its
//!   restart policy), `State.Health.Status`, `State.ExitCode`, `State.StartedAt`/`FinishedAt`,
//!   `HasBeenManuallyStopped` (`docker stop`/`kill` set it, a start clears it).
//! - Kubernetes: the attempt number kubelet gave the container (its restart count): the
//!   `io.kubernetes.container.restartCount` annotation (CRI-O's spec; dockershim's labels,
//!   prefixed `annotation.`), CRI-O's `io.kubernetes.cri-o.Metadata` `attempt`, else the
//!   newest `N.log` of its CRI log dir (`/var/log/pods/<ns>_<pod>_<uid>/<name>/`, kubelet
//!   names each attempt's log by its number); times and exit code from its CRI runtime's
//!   files: containerd's status checkpoint
//!   `/var/lib/containerd/io.containerd.grpc.v1.cri/containers/<id>/status`, CRI-O's
//!   `userdata/state.json`, or Docker's config (dockershim).
//! - Podman: conmon's exit file (`/run/libpod/persist/<id>/exit`, else `exits/<id>`: the exit
//!   code, dated by its mtime) and the health check log (`healthcheck.log` beside `userdata`
//!   in the run root). Its restart count and start time live only in its database (BoltDB or
//!   SQLite): not read.
//! - isotop: its record (`/run/isotop/<id>/state.json`): start, finish, exit code, whether a
//!   stop was asked for.
//! - runc, crun: only when they created the container (`created`), shown as its start.
//! - LXC, systemd-nspawn and processes no runtime names: nothing on disk; `None`.

pub mod cri;
pub mod docker;
pub mod isotop;
pub mod oci;
pub mod podman;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::Runtime;
use super::file::{Cap, Writers, read_beneath};
use crate::host::container::Container;
use crate::host::text::clean_str;

/// A container's life as its runtime recorded it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
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
    /// Whether the last run ended because someone asked the runtime to stop it (`docker
    /// stop`/`kill`: `HasBeenManuallyStopped`; `isotop stop`/`rm --force`): its exit code is
    /// then the stop's signal, not trouble. Given with `exit_code`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_requested: Option<bool>,
}

impl RuntimeState {
    /// True when no field is known.
    pub fn is_empty(&self) -> bool {
        *self == RuntimeState::default()
    }

    /// True when the last run finished (at or after its start, when the start is known).
    pub fn finished_last_run(&self) -> bool {
        match (self.started_at_ms, self.finished_at_ms) {
            (_, None) => false,
            (Some(started), Some(finished)) => finished >= started,
            (None, Some(_)) => true,
        }
    }
}

/// A reading with the files it came from (`inspect` names them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StateReading {
    pub state: RuntimeState,
    pub sources: Vec<PathBuf>,
}

/// The state container `c`'s runtime records (see the module); `None` when it records none.
pub fn read_state(
    root: &crate::host::HostRoot,
    c: &crate::host::container::Container,
) -> Option<RuntimeState> {
    read(root, c).map(|r| r.state)
}

/// [`read_state`] with the files read.
pub fn read(root: &crate::host::HostRoot, c: &Container) -> Option<StateReading> {
    let reading = match c.runtime {
        Runtime::Docker => docker::read(root, c),
        Runtime::Kubernetes => cri::read_kubernetes(root, c),
        Runtime::Containerd => cri::read_containerd(root, c),
        Runtime::CriO => cri::read_crio(root, c),
        Runtime::Podman => podman::read(root, c),
        Runtime::Isotop => isotop::read(root, c),
        Runtime::Runc | Runtime::Crun => oci::read(root, c),
        Runtime::Lxc | Runtime::Nspawn | Runtime::Unknown => None,
    }?;
    (!reading.state.is_empty()).then_some(reading)
}

/// What `runtime` keeps in no file isotop reads, for views to say instead of showing blanks;
/// `None` when its files hold every field it knows.
pub fn unrecorded(runtime: Runtime) -> Option<&'static str> {
    Some(match runtime {
        Runtime::Podman => {
            "Podman keeps restart counts and start times in its database (BoltDB/SQLite), not in \
             files: `podman inspect` has them"
        }
        Runtime::Containerd => {
            "containerd records a container's times and exit code only for Kubernetes (CRI) \
             containers; `ctr` and nerdctl keep none on disk"
        }
        Runtime::Runc | Runtime::Crun => {
            "runc and crun record only when they created a container: no restarts, health or \
             exit code"
        }
        Runtime::Lxc => "LXC records no restarts, health or exit codes on disk",
        Runtime::Nspawn => "systemd-nspawn records no restarts, health or exit codes on disk",
        Runtime::Unknown => "no runtime names this container: nothing is recorded",
        Runtime::Docker | Runtime::Kubernetes | Runtime::CriO | Runtime::Isotop => return None,
    })
}

/// The longest health status kept, in characters: runtimes write one word.
const HEALTH_MAX_CHARS: usize = 32;

/// Ms since the Unix epoch of an RFC 3339 time as Go runtimes write them; `None` for Go's zero
/// time (`0001-01-01T00:00:00Z`: never), anything before 1970, and anything not RFC 3339.
pub fn time_ms(text: &str) -> Option<u64> {
    let ms = super::oci::parse_rfc3339_ms(text)?;
    u64::try_from(ms).ok()
}

/// Ms since the Unix epoch of nanoseconds since it (containerd's `StartedAt`); `None` for 0
/// (never) and negatives.
pub fn ns_to_ms(ns: i64) -> Option<u64> {
    u64::try_from(ns)
        .ok()
        .filter(|n| *n > 0)
        .map(|n| n / 1_000_000)
}

/// A health status as shown: cleaned, cut to [`HEALTH_MAX_CHARS`]; `None` for an empty one
/// and Docker's `none` (no check configured).
pub fn health(text: &str) -> Option<String> {
    let trimmed = text.trim();
    if trimmed.is_empty() || trimmed == "none" {
        return None;
    }
    Some(clean_str(
        &trimmed.chars().take(HEALTH_MAX_CHARS).collect::<String>(),
    ))
}

/// Whether a file `writers` could have written may speak for `c`: only root's (and isotop's
/// user's), or the own files of the user whose rootless container it is (a claim that checked
/// out: an unverified one's files say nothing).
pub fn believed(c: &Container, writers: &Writers) -> bool {
    match writers {
        Writers::Trusted => true,
        Writers::User(uid) => c.trust.verified && c.trust.claimed_by_uid == Some(*uid),
        Writers::Anyone(_) => false,
    }
}

/// A believed file's bytes, its mtime and its path.
pub struct StateFile {
    pub bytes: Vec<u8>,
    pub modified_ms: Option<u64>,
    pub path: PathBuf,
}

/// Reads `base/rel` for `c` (see the module contract); `None` when missing, refused, too big
/// or not [`believed`].
pub fn read_file(c: &Container, base: &Path, rel: &Path) -> Option<StateFile> {
    let file = read_beneath(base, rel, Cap::STATE).ok()?;
    believed(c, &file.writers).then(|| StateFile {
        bytes: file.bytes,
        modified_ms: file.modified_ms,
        path: base.join(rel),
    })
}

/// Reads and parses the JSON file `base/rel` for `c`, as [`read_file`].
pub fn read_json<T: serde::de::DeserializeOwned>(
    c: &Container,
    base: &Path,
    rel: &Path,
) -> Option<(T, PathBuf)> {
    let file = read_file(c, base, rel)?;
    let value = serde_json::from_slice(&file.bytes).ok()?;
    Some((value, file.path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_as_runtimes_write_them() {
        // Docker: nanoseconds, UTC.
        assert_eq!(
            time_ms("2024-05-01T12:00:00.123456789Z"),
            Some(1_714_564_800_123)
        );
        // An offset moves the instant, not the digits.
        assert_eq!(
            time_ms("2024-05-01T14:00:00.5+02:00"),
            Some(1_714_564_800_500)
        );
        assert_eq!(
            time_ms("2024-05-01T10:30:00-01:30"),
            Some(1_714_564_800_000)
        );
        // Go's zero time is "never"; so is the epoch's day before.
        assert_eq!(time_ms("0001-01-01T00:00:00Z"), None);
        assert_eq!(time_ms("1969-12-31T23:59:59Z"), None);
        for garbage in [
            "",
            "yesterday",
            "2024-05-01",
            "2024-05-01T25:00:00Z",
            "\u{1b}[31m",
        ] {
            assert_eq!(time_ms(garbage), None, "{garbage:?}");
        }
        assert_eq!(ns_to_ms(1_714_564_800_123_456_789), Some(1_714_564_800_123));
        assert_eq!(ns_to_ms(0), None);
        assert_eq!(ns_to_ms(-5), None);
    }

    #[test]
    fn health_is_one_clean_word_or_nothing() {
        assert_eq!(health(" healthy\n").as_deref(), Some("healthy"));
        assert_eq!(health("none"), None);
        assert_eq!(health(""), None);
        assert_eq!(health("bad\u{1b}[2J").as_deref(), Some("bad?[2J"));
        assert_eq!(health(&"x".repeat(1000)).map(|h| h.len()), Some(32));
    }

    #[test]
    fn a_finished_run_ends_after_it_started() {
        let state = |started, finished| RuntimeState {
            started_at_ms: started,
            finished_at_ms: finished,
            ..RuntimeState::default()
        };
        assert!(state(Some(1), Some(2)).finished_last_run());
        assert!(state(None, Some(2)).finished_last_run());
        // Restarted after its last exit: running again.
        assert!(!state(Some(3), Some(2)).finished_last_run());
        assert!(!state(Some(3), None).finished_last_run());
        assert!(RuntimeState::default().is_empty());
    }
}
