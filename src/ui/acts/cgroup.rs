//! The dashboard's acts on a cgroup itself (the Cgroups view's `c` `m` `p` `f` `K`): the same
//! `control::cgroup_target` functions `isotop limit|freeze|thaw|kill /path` call, with the
//! same refusals, journal, timed reverts and audit lines. Blocking: run off the UI thread.

use super::limit_line::LimitLine;
use super::{KILL_WAIT, KillSignal, LimitKind, Outcome, TERM_GRACE, limit_outcome, timed};
use crate::control::ControlError;
use crate::control::cgroup_target::acts::{kill_cgroup_target, set_cgroup_frozen};
use crate::control::cgroup_target::{CgroupTarget, label};
use crate::control::limits;
use crate::host::HostRoot;
use crate::host::cgroup::{CgroupLayout, detect_layout};
use nix::sys::signal::Signal;

/// The layout and the resolved target (refusals included), or the failure to show.
fn target(root: &HostRoot, path: &str) -> Result<(CgroupLayout, CgroupTarget), Outcome> {
    let layout = detect_layout(root).map_err(|e| Outcome::Failed(e.to_string()))?;
    let target =
        CgroupTarget::resolve(root, &layout, path).map_err(|e| Outcome::Failed(e.to_string()))?;
    Ok((layout, target))
}

/// Sets one limit of cgroup `path` from the prompt's line (value and options).
pub fn run_limit(root: &HostRoot, path: &str, kind: LimitKind, text: &str) -> Outcome {
    let (request, duration) = match LimitLine::parse(kind, text) {
        Ok((_, request, duration)) => (request, duration),
        Err(e) => return Outcome::Failed(e.to_string()),
    };
    let (layout, target) = match target(root, path) {
        Ok(found) => found,
        Err(outcome) => return outcome,
    };
    let exe = match super::worker_exe(duration) {
        Ok(exe) => exe,
        Err(e) => return Outcome::Failed(e.to_string()),
    };
    let result = limits::set_cgroup_limits(
        root,
        &target,
        &request,
        &layout,
        timed(duration, exe.as_deref()),
    );
    limit_outcome(root, &format!("cgroup {path}"), result)
}

/// Freezes or thaws cgroup `path`.
pub fn run_freeze(root: &HostRoot, path: &str, frozen: bool) -> Outcome {
    let (layout, target) = match target(root, path) {
        Ok(found) => found,
        Err(outcome) => return outcome,
    };
    match set_cgroup_frozen(root, &layout, &target, frozen) {
        Ok(o) => {
            let mut text = format!(
                "{} cgroup {path}: {} → {}",
                if frozen { "froze" } else { "thawed" },
                o.before,
                o.after
            );
            for note in &o.notes {
                text.push_str(&format!("; {note}"));
            }
            Outcome::Done(text)
        }
        Err(e) => Outcome::Failed(e.to_string()),
    }
}

/// Signals every process of cgroup `path`; TERM that leaves processes offers KILL.
pub fn run_kill(root: &HostRoot, path: &str, signal: KillSignal) -> Outcome {
    let (layout, target) = match target(root, path) {
        Ok(found) => found,
        Err(outcome) => return outcome,
    };
    let (sig, wait) = match signal {
        KillSignal::Term => (Signal::SIGTERM, TERM_GRACE),
        KillSignal::Kill => (Signal::SIGKILL, KILL_WAIT),
    };
    match kill_cgroup_target(root, &layout, &target, sig, wait) {
        Ok(o) if o.gone => Outcome::Done(format!(
            "cgroup {path} is empty: {} signalled {} process(es)",
            o.signal, o.signalled
        )),
        Ok(o) if signal == KillSignal::Term => Outcome::SurvivedTerm {
            id: label(path),
            text: format!(
                "cgroup {path}: {} process(es) still running after TERM — press K again for KILL",
                o.remaining.len()
            ),
        },
        Ok(o) => Outcome::Failed(format!(
            "cgroup {path}: {} sent, {} process(es) still running after {:.0} s",
            o.signal,
            o.remaining.len(),
            o.waited_seconds
        )),
        Err(ControlError::Other(text)) => Outcome::Failed(text),
        Err(e) => Outcome::Failed(e.to_string()),
    }
}
