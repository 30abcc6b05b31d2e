//! Freeze, thaw and kill of a cgroup target (see the parent module): the same freezer and the
//! same cgroup-wide kill as a container's (`control::freeze`, `control::kill`), on the cgroup
//! the operator named.
//!
//! Contract. Freeze: the cgroup's directory in the v1 `freezer` hierarchy when it has one there,
//! else in the v2 tree (`cgroup.freeze`, present in every v2 cgroup but the root whatever
//! controllers are enabled; on a hybrid host the outcome says the unified hierarchy was used).
//! Kill: every hierarchy holding the cgroup, the freezer's first, is emptied in turn — frozen
//! around the signals where it can be, `cgroup.kill` for KILL on a v2 cgroup that has it —
//! so a process the cgroup holds in any hierarchy is signalled. Each listing is checked before
//! anything is frozen, written or signalled on its strength: PID 1 or isotop in it stops the
//! act. One audit line per act, target `cgroup:/x`.

use std::time::Duration;

use nix::sys::signal::Signal;

use super::{CgroupTarget, check_listed, check_site};
use crate::control::audit::{self, AuditEntry};
use crate::control::error::ControlError;
use crate::control::freeze::{FreezeOutcome, Freezer, freeze_audited};
use crate::control::kill::{
    CgroupKill, CgroupKillReport, KillMethod, KillOutcome, cgroup_pids, kill_cgroup_checked,
};
use crate::control::owned::Site;
use crate::control::signal::signal_name;
use crate::host::HostRoot;
use crate::host::cgroup::{CgroupLayout, CgroupMode};

/// The freezer of `target` and a note when it is the unified hierarchy's on a hybrid host.
fn freezer_of(
    layout: &CgroupLayout,
    target: &CgroupTarget,
) -> Result<(Freezer, Site, Option<String>), ControlError> {
    let in_hierarchy = |dir: Option<&std::path::Path>| {
        let dir = dir?;
        target
            .sites
            .iter()
            .find(|s| s.dir.starts_with(dir))
            .cloned()
    };
    let v1 = layout.v1_carrying("freezer");
    if let Some(site) = in_hierarchy(v1.map(|h| h.dir.as_path())) {
        return Ok((Freezer::V1(site.dir.clone()), site, None));
    }
    let v2 = in_hierarchy(layout.v2().map(|h| h.dir.as_path()))
        .filter(|s| s.dir.join("cgroup.freeze").exists());
    match v2 {
        Some(site) => {
            let note = (layout.mode != CgroupMode::V2 && v1.is_some()).then(|| {
                format!(
                    "the v1 freezer hierarchy has no cgroup {}: used the unified hierarchy's \
                     cgroup.freeze ({}), which freezes the processes of {} there",
                    target.path,
                    site.dir.display(),
                    target.path
                )
            });
            Ok((Freezer::V2(site.dir.clone()), site, note))
        }
        None => Err(ControlError::Refused {
            target: target.label(),
            reason: "no freezer for it: neither the v1 freezer hierarchy nor the v2 tree has \
                     this cgroup (with cgroup.freeze)"
                .into(),
        }),
    }
}

/// Freezes (`frozen`) or thaws cgroup `target`; waits for the kernel to confirm; one audit line
/// whatever the result.
pub fn set_cgroup_frozen(
    root: &HostRoot,
    layout: &CgroupLayout,
    target: &CgroupTarget,
    frozen: bool,
) -> Result<FreezeOutcome, ControlError> {
    let act = if frozen { "freeze" } else { "thaw" };
    crate::control::guard::require_root(act)?;
    let (freezer, site, note) = freezer_of(layout, target)?;
    let before = freezer.state()?;
    // Right before the write.
    check_site(root, &target.path, &site)?;
    let label = target.label();
    let (result, after, audit_error) = freeze_audited(&freezer, frozen, &label, before);
    result?;
    Ok(FreezeOutcome::written(
        label,
        target.path.clone(),
        freezer,
        frozen,
        before,
        (after, audit_error),
        note.into_iter().collect(),
    ))
}

/// The kill sites of `target`: the freezer's hierarchy first (frozen around the signals), then
/// every other hierarchy holding the cgroup (signalled each; `cgroup.kill` on v2 for KILL).
fn kill_sites(layout: &CgroupLayout, target: &CgroupTarget) -> Vec<(CgroupKill, Site)> {
    let freezer = freezer_of(layout, target).ok();
    let mut sites = Vec::new();
    if let Some((freezer, site, _)) = &freezer {
        let v2_dir = matches!(freezer, Freezer::V2(_))
            .then(|| site.dir.clone())
            .filter(|d| d.join("cgroup.kill").exists());
        sites.push((
            CgroupKill {
                freezer: Some(freezer.clone()),
                v2_dir,
                procs_dir: site.dir.clone(),
            },
            site.clone(),
        ));
    }
    for site in &target.sites {
        if sites
            .iter()
            .any(|(_, s): &(CgroupKill, Site)| s.dir == site.dir)
        {
            continue;
        }
        let v2_dir = site
            .dir
            .join("cgroup.kill")
            .exists()
            .then(|| site.dir.clone());
        sites.push((
            CgroupKill {
                freezer: None,
                v2_dir,
                procs_dir: site.dir.clone(),
            },
            site.clone(),
        ));
    }
    sites
}

/// Signals every process cgroup `target` holds in any hierarchy (see the module contract);
/// waits up to `timeout` for the cgroup to empty. `Ok` also when processes remain.
pub fn kill_cgroup_target(
    root: &HostRoot,
    layout: &CgroupLayout,
    target: &CgroupTarget,
    signal: Signal,
    timeout: Duration,
) -> Result<KillOutcome, ControlError> {
    crate::control::guard::require_root("kill")?;
    let label = target.label();
    let sites = kill_sites(layout, target);
    for (_, site) in &sites {
        check_site(root, &target.path, site)?;
    }
    if sites
        .iter()
        .map(|(kill, _)| cgroup_pids(&kill.procs_dir))
        .collect::<Result<Vec<_>, _>>()?
        .iter()
        .all(|pids| pids.is_empty())
    {
        return Err(ControlError::Other(format!(
            "cgroup {} holds no process: nothing to kill",
            target.path
        )));
    }
    let started = std::time::Instant::now();
    let mut done: Vec<(KillMethod, CgroupKillReport)> = Vec::new();
    let mut result = Ok(());
    for (kill, site) in &sites {
        if cgroup_pids(&kill.procs_dir).is_ok_and(|pids| pids.is_empty()) {
            continue;
        }
        let check = |pids: &[i32]| check_listed(&target.path, site, pids);
        let left = timeout.saturating_sub(started.elapsed());
        match kill_cgroup_checked(kill, signal, left, None, &check) {
            Ok(report) => done.push((report.method, report)),
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    let name = signal_name(signal);
    let mut entry = AuditEntry::now(&label, "kill", None, Some(name.to_string()));
    let remaining = remaining(&sites);
    entry.result = match &result {
        Ok(()) if remaining.is_empty() => "ok".into(),
        Ok(()) => format!("{} processes still running", remaining.len()),
        Err(e) => e.to_string(),
    };
    let audit_error = audit::append(&entry).err().map(|e| e.to_string());
    result?;
    let mut notes = Vec::new();
    if let Some(unit) = &target.unit {
        notes.push(format!(
            "this cgroup is systemd's unit {unit}: systemd may start it again (Restart=); \
             `systemctl stop {unit}` stops it for good"
        ));
    }
    Ok(KillOutcome {
        target: label,
        name: target.path.clone(),
        signal: name,
        method: done
            .first()
            .map(|(m, _)| *m)
            .unwrap_or(KillMethod::SignalEach),
        signalled: done.iter().map(|(_, r)| r.signalled).sum(),
        rounds: done.iter().map(|(_, r)| r.rounds).sum(),
        gone: remaining.is_empty(),
        remaining,
        init_survived: false,
        init_pid: None,
        waited_seconds: started.elapsed().as_secs_f64(),
        audit_error,
        notes,
    })
}

/// Every pid still in any of `sites` (PID 1 and isotop never counted: never signalled).
fn remaining(sites: &[(CgroupKill, Site)]) -> Vec<i32> {
    let me = std::process::id() as i32;
    let mut pids: Vec<i32> = sites
        .iter()
        .flat_map(|(kill, _)| cgroup_pids(&kill.procs_dir).unwrap_or_default())
        .filter(|&p| p > 1 && p != me)
        .collect();
    pids.sort_unstable();
    pids.dedup();
    pids
}
