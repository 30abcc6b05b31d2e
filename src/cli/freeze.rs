//! `isotop freeze|thaw TARGET`: stops (or resumes) every process of a container — or of the
//! cgroup a path names (`/x`, `cgroup:/x`) — through its cgroup freezer — v1 `freezer.state`, v2 `cgroup.freeze` — and returns once the kernel
//! confirms. The state then shows in `isotop ls` (`frozen`). Refusals exit 2.

use super::{CliError, TargetArgs, print_json, print_text, target};
use crate::control::cgroup_target::CgroupTarget;
use crate::control::cgroup_target::acts::set_cgroup_frozen;
use crate::control::freeze::set_frozen;
use crate::host::HostRoot;
use crate::host::cgroup::detect_layout;
use crate::host::scan::{ScanOptions, scan};

/// Freezes (`freeze`) or thaws the container `args.target`.
pub(crate) fn run(root: &HostRoot, args: &TargetArgs, freeze: bool) -> Result<(), CliError> {
    crate::control::guard::require_root(if freeze { "freeze" } else { "thaw" })?;
    let outcome = match target::cgroup_path(&args.target)? {
        Some(path) => {
            let layout = detect_layout(root)?;
            let cgroup = CgroupTarget::resolve(root, &layout, &path)?;
            set_cgroup_frozen(root, &layout, &cgroup, freeze)?
        }
        None => {
            let snapshot = scan(root, ScanOptions::TARGETS)?;
            let view = target::resolve(&snapshot.containers, &args.target)?;
            set_frozen(root, view, freeze)?
        }
    };
    if args.json {
        print_json(&outcome)?;
    } else {
        let verb = if freeze { "frozen" } else { "thawed" };
        let mut text = format!(
            "{} {verb}: {} {} → {}\n",
            heading(&outcome.name, &outcome.target),
            outcome.file.display(),
            outcome.before,
            outcome.after
        );
        for note in &outcome.notes {
            text.push_str(&format!("note: {note}\n"));
        }
        if let Some(e) = &outcome.audit_error {
            text.push_str(&format!("warning: not written to the audit log: {e}\n"));
        }
        print_text(&text)?;
    }
    Ok(())
}

/// `web (8d36a66111ac)` for a container, `cgroup /x` for a cgroup target.
pub(crate) fn heading(name: &str, target: &str) -> String {
    if target.starts_with(crate::control::cgroup_target::PREFIX) {
        format!("cgroup {}", crate::host::text::clean_str(name))
    } else {
        format!("{name} ({})", super::short_id(target))
    }
}
