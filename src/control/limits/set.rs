//! One limit change on one container, end to end: refusals, the container's cgroup
//! directories, the plan (old values read, memory below usage refused unless forced), the
//! ownership check of each cgroup, the write-ahead records, the writes with read-back, and
//! their confirmation. `isotop limit` and the dashboard's `c`/`m`/`p` keys both call
//! [`set_limits_for`] (through [`set_limits`] when nothing reverts by itself); the worker of a
//! timed revert is started right after its write-ahead record through the binary the caller
//! names, so a SIGKILL at any later point still leaves a worker that reverts on time.
//!
//! Order of one change, all under the journal lock (see `journal`: the journal's order is the
//! order of the writes):
//! 1. check each cgroup the request touches is the container's own (`control::owned`),
//!    refusing before anything is read or recorded;
//! 2. plan: read every old value (a racing change has finished writing: its values are old);
//! 3. write-ahead: the pending revert (`--for`) and the journal entry, files `in_flight`,
//!    fsync'd; then the revert's worker is started and its pid recorded (it waits for the due
//!    time, then for this change's lock, and reverts whatever was written);
//! 4. check again, right before the writes, then write (each read back; a failure puts back
//!    the files before it and drops both records);
//! 5. confirm both records with the read-backs.

use std::path::Path;
use std::time::Duration;

use super::journal::{self, Change, JournalLock};
use super::pending::{self, PendingRevert};
use super::{LimitDirs, LimitRequest, apply, plan};
use crate::control::error::ControlError;
use crate::control::guard;
use crate::control::owned::{self, Owner, Site};
use crate::host::HostRoot;
use crate::host::cgroup::{CgroupLayout, detect_layout};
use crate::host::scan::ContainerView;

/// What a limit change did.
#[derive(Debug, Clone)]
pub struct LimitOutcome {
    /// The change as journalled: its id, target and each file's old → new contents.
    pub change: Change,
    /// What the operator should know (e.g. the v1 weight → shares conversion).
    pub notes: Vec<String>,
    /// Audit-log and journal failures: the change itself happened.
    pub warnings: Vec<String>,
    /// The timed revert, recorded and confirmed, with its worker's pid once started (a worker
    /// that did not start is a warning, and the caller may try again).
    pub pending: Option<PendingRevert>,
}

/// Applies `request` to the container `view` with no timed revert (see [`set_limits_for`]).
pub fn set_limits(
    root: &HostRoot,
    view: &ContainerView,
    request: &LimitRequest,
    layout: Option<&CgroupLayout>,
) -> Result<LimitOutcome, ControlError> {
    set_limits_for(root, view, request, layout, None)
}

/// A timed revert's request: due `after` from now, its worker run from `worker_exe` (isotop's
/// own binary).
#[derive(Debug, Clone, Copy)]
pub struct RevertAfter<'a> {
    pub after: Duration,
    pub worker_exe: &'a Path,
}

/// Applies `request` to the container `view`; with `revert_after`, records its revert first
/// (see the module's order). `layout` is the scan's, when the caller has one; otherwise it is
/// detected. Nothing is written when a refusal, the plan or a write-ahead record fails.
pub fn set_limits_for(
    root: &HostRoot,
    view: &ContainerView,
    request: &LimitRequest,
    layout: Option<&CgroupLayout>,
    revert_after: Option<RevertAfter<'_>>,
) -> Result<LimitOutcome, ControlError> {
    guard::check(root, view, "limit", true)?;
    let layout = match layout {
        Some(layout) => layout.clone(),
        None => detect_layout(root)?,
    };
    let dirs = LimitDirs::for_memberships(&layout, &view.container.cgroups);
    let owner = Owner::of(view);
    let target = view.container.id.clone();
    let mut warnings = Vec::new();
    // Without the lock a change could still be made, but not journalled; a timed change
    // needs its records, so it is not made at all.
    let lock = match journal::lock(root) {
        Ok(lock) => Some(lock),
        Err(e) if revert_after.is_none() => {
            warnings.push(format!(
                "undo journal: {e} (this change cannot be undone by isotop)"
            ));
            None
        }
        Err(e) => return Err(e),
    };
    // Before anything is read from the cgroups (a root may lack the very files).
    owned::check_all(root, &owner, &requested_sites(&dirs, request))?;
    let plan = plan(&dirs, request)?;
    let sites = dirs
        .sites(&plan.writes)
        .ok_or_else(|| ControlError::Refused {
            target: owner.label.clone(),
            reason: "a planned write is outside the container's cgroups".into(),
        })?;

    let mut change = Change::planned(&target, &plan.writes);
    let mut pending = match revert_after {
        Some(timed) => {
            let mut p = pending::prepare(root, &change, timed.after).map_err(|e| {
                ControlError::Other(format!(
                    "the timed revert could not be recorded ({e}): nothing was changed"
                ))
            })?;
            // Before any write: from here on a worker exists whatever happens to this process.
            match pending::launch_worker(root, &p.id, timed.worker_exe) {
                Ok(pid) => {
                    p.worker_pid = Some(pid);
                    if let Err(e) = pending::store(root, &p) {
                        warnings.push(format!("timed revert {}: worker pid {pid}: {e}", p.id));
                    }
                }
                Err(e) => warnings.push(format!(
                    "the revert worker did not start before the change ({e})"
                )),
            }
            Some(p)
        }
        None => None,
    };
    let journalled = record(lock.as_ref(), root, &change, &mut warnings);

    let written =
        owned::check_all(root, &owner, &sites).and_then(|()| apply(&target, &plan.writes));
    let (files, apply_warnings) = match written {
        Ok(done) => done,
        Err(e) => {
            // Nothing of the change is left (apply put back what it wrote): drop its records.
            if let Some(p) = &pending {
                let _ = pending::discard(root, &p.id);
            }
            if journalled && let Some(lock) = &lock {
                let _ = journal::forget_locked(lock, root, &change.id);
            }
            return Err(e);
        }
    };
    warnings.extend(apply_warnings);
    change.files = files;
    if let Some(p) = &mut pending {
        p.files = change.files.clone();
        if let Err(e) = pending::store(root, p) {
            // The in-flight record still reverts correctly; only the read-backs are missing.
            warnings.push(format!("timed revert {}: {e}", p.id));
        }
    }
    if journalled {
        record(lock.as_ref(), root, &change, &mut warnings);
    }
    drop(lock);
    Ok(LimitOutcome {
        change,
        notes: plan.notes,
        warnings,
        pending,
    })
}

/// The cgroups of the controllers `request` changes (those the host has for the container).
fn requested_sites(dirs: &LimitDirs, request: &LimitRequest) -> Vec<Site> {
    let cpu =
        request.cpus.is_some() || request.period_usec.is_some() || request.cpu_weight.is_some();
    let memory = request.memory.is_some() || request.memory_high.is_some();
    [
        (cpu, "cpu", &dirs.cpu),
        (memory, "memory", &dirs.memory),
        (request.pids.is_some(), "pids", &dirs.pids),
    ]
    .into_iter()
    .filter_map(|(wanted, controller, dir)| {
        let dir = dir.as_ref().filter(|_| wanted)?;
        Some(Site {
            controller: controller.to_string(),
            path: dir.path.clone(),
            dir: dir.dir.clone(),
        })
    })
    .collect()
}

/// Records (or confirms) `change` in the journal; a failure is a warning (the change can then
/// not be undone by isotop). True when recorded.
fn record(
    lock: Option<&JournalLock>,
    root: &HostRoot,
    change: &Change,
    warnings: &mut Vec<String>,
) -> bool {
    let Some(lock) = lock else {
        return false;
    };
    match journal::record_locked(lock, root, change) {
        Ok(()) => true,
        Err(e) => {
            warnings.push(format!(
                "undo journal: {e} (this change cannot be undone by isotop)"
            ));
            false
        }
    }
}
