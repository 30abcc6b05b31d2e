//! One limit change on one container, end to end: refusals, the container's cgroup
//! directories, the plan (old values read, memory below usage refused unless forced), the
//! writes with read-back, and the undo journal. `isotop limit` and the dashboard's `c`/`m`/`p`
//! keys both call [`set_limits`]; the timed revert (`--for`) stays with the caller, which knows
//! the binary to run as the revert worker.

use super::journal::{self, Change};
use super::{LimitDirs, LimitRequest, apply, plan};
use crate::control::error::ControlError;
use crate::control::guard;
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
}

/// Applies `request` to the container `view`. `layout` is the scan's, when the caller has
/// one; otherwise it is detected. Nothing is written when a refusal or the plan fails.
pub fn set_limits(
    root: &HostRoot,
    view: &ContainerView,
    request: &LimitRequest,
    layout: Option<&CgroupLayout>,
) -> Result<LimitOutcome, ControlError> {
    guard::check(root, view, "limit", true)?;
    let layout = match layout {
        Some(layout) => layout.clone(),
        None => detect_layout(root)?,
    };
    let dirs = LimitDirs::for_memberships(&layout, &view.container.cgroups);
    let plan = plan(&dirs, request)?;
    let target = view.container.id.clone();
    let (changes, mut warnings) = apply(&target, &plan.writes)?;
    let change = Change::new(&target, changes);
    if let Err(e) = journal::record(root, &change) {
        warnings.push(format!(
            "undo journal: {e} (this change cannot be undone by isotop)"
        ));
    }
    Ok(LimitOutcome {
        change,
        notes: plan.notes,
        warnings,
    })
}
