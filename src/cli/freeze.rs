//! `isotop freeze|thaw TARGET`: stops (or resumes) every process of a container through its
//! cgroup freezer — v1 `freezer.state`, v2 `cgroup.freeze` — and returns once the kernel
//! confirms. The state then shows in `isotop ls` (`frozen`). Refusals exit 2.

use super::{CliError, TargetArgs, print_json, print_text, target};
use crate::control::freeze::set_frozen;
use crate::host::HostRoot;
use crate::host::scan::{ScanOptions, scan};

/// Freezes (`freeze`) or thaws the container `args.target`.
pub(crate) fn run(root: &HostRoot, args: &TargetArgs, freeze: bool) -> Result<(), CliError> {
    crate::control::guard::require_root(if freeze { "freeze" } else { "thaw" })?;
    let snapshot = scan(root, ScanOptions::TARGETS)?;
    let view = target::resolve(&snapshot.containers, &args.target)?;
    let outcome = set_frozen(root, view, freeze)?;
    if args.json {
        print_json(&outcome)?;
    } else {
        let verb = if freeze { "frozen" } else { "thawed" };
        let mut text = format!(
            "{} ({}) {verb}: {} {} → {}\n",
            outcome.name,
            super::short_id(&outcome.target),
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
