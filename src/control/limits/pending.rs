//! Timed reverts (`limit --for 10m`): a pending file per change under `<run>/isotop/pending`
//! when root (else the state directory's `pending/`; `ISOTOP_STATE_DIR` overrides), named
//! `<id>@<due unix seconds>.json` so that finding the overdue ones is one `readdir`. It holds
//! the exact old contents, the due time and the worker's pid.
//!
//! Crash safety (write-ahead): the file is written and fsync'd (file and directory) BEFORE the
//! limit files are written, with each file marked `in_flight`; the worker is started right
//! then, still before any write (its pid recorded in the file), and the file is confirmed (the
//! read-backs filled in) after the writes. Whatever moment isotop is killed at, either nothing
//! was written or a pending file says how to undo it and a worker (started before the first
//! write) carries it out at the due time, with no later isotop run needed. A revert whose
//! write never happened is harmless: a file that already holds its old value is left alone.
//!
//! Who reverts ([`revert`]): the detached worker (`isotop revert-worker ID`, its own process
//! group, stdio on /dev/null, reparented away by a double spawn) at the due time; and, when
//! the worker is gone (never started, killed, machine rebooted with `/run` kept), ANY later
//! isotop run as root — every subcommand, through [`revert::apply_overdue`], and the dashboard
//! on start and every few seconds. A revert restores each file only if it still holds what
//! isotop left there (the operator's later change is left as is, and the audit log says so),
//! and only in cgroups that are the container's own at that moment (`control::owned`).
//! Cancelling removes the file (the worker checks it every second) and signals the worker
//! through a pidfd after checking its command line names this revert.

pub mod revert;

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::FileChange;
use super::audit_or_warn;
use super::journal::{self, Change, load_json, store_json, sync_dir};
use crate::control::audit::AuditEntry;
use crate::control::error::ControlError;
use crate::control::signal::PidFd;
use crate::host::HostRoot;
use crate::units::clock::since_epoch;
use nix::sys::signal::Signal;

pub use revert::{
    WorkerStart, apply_overdue, launch_worker, run_worker, spawn_worker, spawn_worker_recording,
    start_worker, watch_overdue,
};

/// The hidden subcommand the worker runs as (checked in its command line before signalling).
pub const WORKER_COMMAND: &str = "revert-worker";

/// One timed revert waiting for its time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct PendingRevert {
    /// The change's id (also the start of the file name).
    pub id: String,
    pub target: String,
    /// Seconds since the epoch when the revert is due.
    pub due_unix: u64,
    /// The worker process, once started.
    pub worker_pid: Option<i32>,
    /// The files to restore, as the change wrote them (`in_flight` until confirmed).
    pub files: Vec<FileChange>,
}

/// When a revert `after` from now is due, in whole seconds since the epoch, rounded UP: the
/// change holds for at least `after` (and at least 1 s). Rounding down would make it due up to
/// a second early (`--for 1s` at once), before isotop has even started its worker.
pub(crate) fn due_after(after: Duration) -> u64 {
    let now = since_epoch();
    let due = now + after.max(Duration::from_secs(1));
    due.as_secs() + u64::from(due.subsec_nanos() > 0)
}

/// The directory of pending files.
pub fn pending_dir(root: &HostRoot) -> PathBuf {
    if std::env::var_os("ISOTOP_STATE_DIR").is_some_and(|d| !d.is_empty())
        || !nix::unistd::geteuid().is_root()
    {
        journal::state_dir(root).join("pending")
    } else {
        root.run.join("isotop/pending")
    }
}

/// Ids are ours (`digits-digits-digits`): anything else could name a file elsewhere.
fn check_id(id: &str) -> Result<(), ControlError> {
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
        return Err(ControlError::InvalidValue {
            what: "pending revert id".into(),
            value: id.to_string(),
            hint: "give an id as `isotop pending` lists it".into(),
        });
    }
    Ok(())
}

/// The file name of a pending revert.
fn file_name(id: &str, due_unix: u64) -> String {
    format!("{id}@{due_unix}.json")
}

/// The id and due time a pending file's name carries (`<id>@<due>.json`); `None` for any
/// other name (temporary files). A file of an older isotop (`<id>.json`) has no due time in
/// its name: `Some((id, None))`.
pub(crate) fn parse_file_name(name: &str) -> Option<(&str, Option<u64>)> {
    let stem = name.strip_suffix(".json")?;
    let (id, due) = match stem.split_once('@') {
        Some((id, due)) => (id, Some(due.parse().ok()?)),
        None => (stem, None),
    };
    check_id(id).ok()?;
    Some((id, due))
}

/// The path of pending revert `id`, if it exists.
pub(crate) fn find_path(root: &HostRoot, id: &str) -> Result<Option<PathBuf>, ControlError> {
    check_id(id)?;
    let dir = pending_dir(root);
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(ControlError::Read { path: dir, source }),
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if let Some((found, _)) = name.to_str().and_then(parse_file_name)
            && found == id
        {
            return Ok(Some(entry.path()));
        }
    }
    Ok(None)
}

/// Reads one pending revert; `None` when it is gone (done or cancelled).
pub fn read(root: &HostRoot, id: &str) -> Result<Option<PendingRevert>, ControlError> {
    let Some(path) = find_path(root, id)? else {
        return Ok(None);
    };
    match load_json::<PendingRevert>(&path) {
        Ok(pending) => Ok(Some(pending)),
        // Removed between the readdir and the read: done meanwhile.
        Err(_) if !path.exists() => Ok(None),
        Err(e) => Err(e),
    }
}

/// Every pending revert, soonest first.
pub fn list(root: &HostRoot) -> Result<Vec<PendingRevert>, ControlError> {
    let dir = pending_dir(root);
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(ControlError::Read { path: dir, source }),
    };
    let mut pending = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if entry.file_name().to_str().and_then(parse_file_name).is_some()
            // A worker may remove it between listing and reading: skip it then.
            && let Ok(p) = load_json::<PendingRevert>(&path)
            && !p.id.is_empty()
        {
            pending.push(p);
        }
    }
    pending.sort_by(|a, b| (a.due_unix, &a.id).cmp(&(b.due_unix, &b.id)));
    Ok(pending)
}

/// The write-ahead step: records the revert of `change` (planned, nothing written yet), due
/// `after` from now, durably. No worker yet.
pub fn prepare(
    root: &HostRoot,
    change: &Change,
    after: Duration,
) -> Result<PendingRevert, ControlError> {
    check_id(&change.id)?;
    let pending = PendingRevert {
        id: change.id.clone(),
        target: change.target.clone(),
        due_unix: due_after(after),
        worker_pid: None,
        files: change.files.clone(),
    };
    store(root, &pending)?;
    Ok(pending)
}

/// Writes `pending` to its file (durably).
pub fn store(root: &HostRoot, pending: &PendingRevert) -> Result<(), ControlError> {
    check_id(&pending.id)?;
    let path = pending_dir(root).join(file_name(&pending.id, pending.due_unix));
    store_json(&path, pending)
}

/// Removes pending revert `id` (durably); nothing when it is gone already.
pub fn discard(root: &HostRoot, id: &str) -> Result<(), ControlError> {
    let Some(path) = find_path(root, id)? else {
        return Ok(());
    };
    match std::fs::remove_file(&path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => return Err(ControlError::Write { path, source }),
    }
    sync_dir(&pending_dir(root)).map_err(|source| ControlError::Write {
        path: pending_dir(root),
        source,
    })
}

/// Cancels a pending revert: its change stays. The worker is signalled only if its command
/// line still names this revert (a recycled pid is never hit); it also stops by itself within
/// a second once the pending file is gone.
pub fn cancel(root: &HostRoot, id: &str) -> Result<PendingRevert, ControlError> {
    let Some(pending) = read(root, id)? else {
        return Err(ControlError::InvalidValue {
            what: "pending revert id".into(),
            value: id.to_string(),
            hint: "no such pending revert (it may be done already): see `isotop pending`".into(),
        });
    };
    discard(root, id)?;
    // The pidfd is opened before the command line is checked: if the pid is recycled after
    // the check, the signal still goes to the process that was checked (or nowhere).
    if let Some(pid) = pending.worker_pid
        && let Ok(Some(worker)) = PidFd::open(pid)
        && is_worker(root, pid, id)
    {
        let _ = worker.send(Signal::SIGTERM);
    }
    let mut warnings = Vec::new();
    let entry = AuditEntry::now(&pending.target, "revert.cancel", None, Some(id.to_string()));
    audit_or_warn(&entry, &mut warnings);
    Ok(pending)
}

/// True when `pid`'s command line is `... revert-worker <id>`.
pub fn is_worker(root: &HostRoot, pid: i32, id: &str) -> bool {
    let Ok(bytes) = std::fs::read(root.proc.join(pid.to_string()).join("cmdline")) else {
        return false;
    };
    let args: Vec<&[u8]> = bytes.split(|b| *b == 0).collect();
    args.windows(2)
        .any(|w| w[0] == WORKER_COMMAND.as_bytes() && w[1] == id.as_bytes())
}

/// True when `pending`'s worker is running.
pub fn worker_alive(root: &HostRoot, pending: &PendingRevert) -> bool {
    pending
        .worker_pid
        .is_some_and(|pid| is_worker(root, pid, &pending.id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_carry_the_due_time() {
        assert_eq!(
            parse_file_name("1-2-3@1700000000.json"),
            Some(("1-2-3", Some(1_700_000_000)))
        );
        assert_eq!(parse_file_name("1-2-3.json"), Some(("1-2-3", None)));
        assert_eq!(parse_file_name("1-2-3@soon.json"), None);
        assert_eq!(parse_file_name("../x@1.json"), None);
        assert_eq!(parse_file_name("1-2-3@1.tmp42"), None);
    }

    /// Rounded down, `--for 1s` was due at the next whole second: often a few ms later, so
    /// the revert was carried out before `limit` had recorded its worker.
    #[test]
    fn a_revert_is_never_due_before_its_whole_duration() {
        for after in [1.0, 1.5, 2.0, 600.25] {
            let start = since_epoch();
            let due = due_after(Duration::from_secs_f64(after));
            let end = since_epoch();
            assert!(
                due as f64 >= start.as_secs_f64() + after,
                "--for {after}s from {start:?}: due at {due}"
            );
            // Whole seconds, rounded up: less than a second later than asked.
            assert!((due as f64) < end.as_secs_f64() + after + 1.0);
        }
        // Below a second: a second.
        let start = since_epoch();
        assert!(due_after(Duration::from_millis(10)) as f64 >= start.as_secs_f64() + 1.0);
    }
}
