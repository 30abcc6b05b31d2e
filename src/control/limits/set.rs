//! One limit change on one container or one cgroup target (`control::cgroup_target`), end to
//! end: refusals, the container's cgroup
//! directories, the plan (old values read, memory below usage refused unless forced), the
//! ownership check of each cgroup, the write-ahead records, the writes with read-back, and
//! their confirmation. `isotop limit` (CPU, memory, pids and I/O) and the dashboard's
//! `c`/`m`/`p` keys both call
//! [`set_limits_for`] (through [`set_limits`] when nothing reverts by itself); the worker of a
//! timed revert is started right after its write-ahead record through the binary the caller
//! names, so a SIGKILL at any later point still leaves a worker that reverts on time.
//!
//! Order of one change, all under the journal lock (see `journal`: the journal's order is the
//! order of the writes):
//! 1. check each cgroup the request touches is the container's own (`control::owned`; for a
//!    cgroup target: not PID 1's or isotop's), refusing before anything is read or recorded;
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
use super::{ControllerDir, LimitDirs, LimitRequest, apply, plan};
use crate::control::cgroup_target::{self, CgroupTarget};
use crate::control::error::ControlError;
use crate::control::guard;
use crate::control::owned::{self, Owner, Site};
use crate::host::HostRoot;
use crate::host::cgroup::{CgroupLayout, Limit, detect_layout};
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
    let check = |sites: &[Site]| owned::check_all(root, &owner, sites);
    let on = Acting {
        target: &view.container.id,
        label: &owner.label,
        check: &check,
    };
    set_limits_on(root, &on, &dirs, request, revert_after)
}

/// Applies `request` to the cgroup `target` (see `control::cgroup_target`): its directory in
/// the hierarchy of each controller the request changes must exist; each is checked right
/// before it is written (no PID 1, no isotop in it). A systemd unit's cgroup gets a note.
pub fn set_cgroup_limits(
    root: &HostRoot,
    target: &CgroupTarget,
    request: &LimitRequest,
    layout: &CgroupLayout,
    revert_after: Option<RevertAfter<'_>>,
) -> Result<LimitOutcome, ControlError> {
    guard::require_root("limit")?;
    let mut dirs = LimitDirs::for_path(layout, &target.path);
    for dir in [
        &mut dirs.cpu,
        &mut dirs.memory,
        &mut dirs.pids,
        &mut dirs.io,
    ] {
        if dir
            .as_ref()
            .is_some_and(|d| !d.dir.join("cgroup.procs").exists())
        {
            *dir = None;
        }
    }
    let label = target.label();
    for (controller, dir) in requested_dirs(&dirs, request) {
        if dir.is_none() {
            return Err(ControlError::InvalidValue {
                what: "cgroup".into(),
                value: target.path.clone(),
                hint: format!(
                    "it has no {controller} cgroup: no mounted hierarchy carrying {controller} \
                     has this path (v2: is {controller} enabled in the parent's \
                     cgroup.subtree_control?)"
                ),
            });
        }
    }
    let check = |sites: &[Site]| {
        sites
            .iter()
            .try_for_each(|site| cgroup_target::check_site(root, &target.path, site))
    };
    let on = Acting {
        target: &label,
        label: &label,
        check: &check,
    };
    let mut outcome = set_limits_on(root, &on, &dirs, request, revert_after)?;
    if let Some(unit) = &target.unit {
        outcome.notes.push(cgroup_target::systemd_note(
            unit,
            &systemd_settings(request),
        ));
    }
    Ok(outcome)
}

/// What a limit change is made for: the record's target (a container id or `cgroup:/x`), the
/// label refusals carry, and the check each cgroup must pass right before it is written.
struct Acting<'a> {
    target: &'a str,
    label: &'a str,
    check: &'a dyn Fn(&[Site]) -> Result<(), ControlError>,
}

/// The change itself, in the module's order, once the target's directories are known.
fn set_limits_on(
    root: &HostRoot,
    on: &Acting<'_>,
    dirs: &LimitDirs,
    request: &LimitRequest,
    revert_after: Option<RevertAfter<'_>>,
) -> Result<LimitOutcome, ControlError> {
    let target = on.target.to_string();
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
    (on.check)(&requested_sites(dirs, request))?;
    let plan = plan(root, dirs, request)?;
    let sites = dirs
        .sites(&plan.writes)
        .ok_or_else(|| ControlError::Refused {
            target: on.label.to_string(),
            reason: "a planned write is outside the target's cgroups".into(),
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

    let written = (on.check)(&sites).and_then(|()| apply(&target, &plan.writes));
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

/// The controllers `request` changes, each with the target's directory for it (`None`: the
/// host has none).
fn requested_dirs<'d>(
    dirs: &'d LimitDirs,
    request: &LimitRequest,
) -> Vec<(&'static str, &'d Option<ControllerDir>)> {
    let cpu =
        request.cpus.is_some() || request.period_usec.is_some() || request.cpu_weight.is_some();
    let memory = request.memory.is_some() || request.memory_high.is_some();
    [
        (cpu, "cpu", &dirs.cpu),
        (memory, "memory", &dirs.memory),
        (request.pids.is_some(), "pids", &dirs.pids),
        (super::io::requested(request), "io", &dirs.io),
    ]
    .into_iter()
    .filter(|(wanted, _, _)| *wanted)
    .map(|(_, controller, dir)| (controller, dir))
    .collect()
}

/// The cgroups of the controllers `request` changes (those the host has for the target).
fn requested_sites(dirs: &LimitDirs, request: &LimitRequest) -> Vec<Site> {
    requested_dirs(dirs, request)
        .into_iter()
        .filter_map(|(controller, dir)| {
            let dir = dir.as_ref()?;
            Some(Site {
                controller: controller.to_string(),
                path: dir.path.clone(),
                dir: dir.dir.clone(),
            })
        })
        .collect()
}

/// The systemd unit properties that would make `request` last (`systemctl set-property`).
fn systemd_settings(request: &LimitRequest) -> Vec<String> {
    let bytes = |limit: Limit<u64>| match limit {
        Limit::Max => "infinity".to_string(),
        Limit::Value(b) => b.to_string(),
    };
    let mut out = Vec::new();
    if let Some((cpus, _)) = &request.cpus {
        out.push(match cpus {
            Limit::Max => "CPUQuota=".to_string(),
            // Millicores → percent of one CPU.
            Limit::Value(m) => format!("CPUQuota={}%", format_percent(*m)),
        });
    }
    if let Some(period) = request.period_usec {
        out.push(format!("CPUQuotaPeriodSec={period}us"));
    }
    if let Some(weight) = request.cpu_weight {
        out.push(format!("CPUWeight={weight}"));
    }
    if let Some(memory) = request.memory {
        out.push(format!("MemoryMax={}", bytes(memory)));
    }
    if let Some(high) = request.memory_high {
        out.push(format!("MemoryHigh={}", bytes(high)));
    }
    if let Some(pids) = request.pids {
        out.push(match pids {
            Limit::Max => "TasksMax=infinity".to_string(),
            Limit::Value(n) => format!("TasksMax={n}"),
        });
    }
    for limit in &request.io {
        // systemd names devices by path: a MAJ:MIN by its udev link.
        let device = if limit.device.starts_with('/') {
            limit.device.clone()
        } else {
            format!("/dev/block/{}", limit.device)
        };
        let value = match limit.limit {
            Limit::Max => "infinity".to_string(),
            Limit::Value(v) => v.to_string(),
        };
        out.push(format!(
            "\"{}={device} {value}\"",
            limit.knob.systemd_property()
        ));
    }
    if let Some(weight) = request.io_weight {
        out.push(format!("IOWeight={weight}"));
    }
    out
}

/// Millicores as a percent of one CPU: 100 → `10`, 1250 → `125`, 5 → `0.5`.
fn format_percent(millicores: u64) -> String {
    if millicores.is_multiple_of(10) {
        (millicores / 10).to_string()
    } else {
        format!("{}.{}", millicores / 10, millicores % 10)
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_is_named_as_the_systemd_properties_that_make_it_last() {
        let request = LimitRequest {
            cpus: Some((Limit::Value(1250), "1.25".into())),
            period_usec: Some(50_000),
            memory: Some(Limit::Max),
            memory_high: Some(Limit::Value(1 << 30)),
            pids: Some(Limit::Value(64)),
            ..LimitRequest::default()
        };
        assert_eq!(
            systemd_settings(&request),
            [
                "CPUQuota=125%",
                "CPUQuotaPeriodSec=50000us",
                "MemoryMax=infinity",
                "MemoryHigh=1073741824",
                "TasksMax=64"
            ]
        );
        assert_eq!(format_percent(5), "0.5");
        assert_eq!(format_percent(100), "10");
        let unlimited = LimitRequest {
            cpus: Some((Limit::Max, "max".into())),
            pids: Some(Limit::Max),
            ..LimitRequest::default()
        };
        assert_eq!(
            systemd_settings(&unlimited),
            ["CPUQuota=", "TasksMax=infinity"]
        );
    }
}
