//! Refusals shared by every act: the host's PID 1, the root cgroup, isotop's own process and
//! cgroup, a container whose claim did not check out (a stranger's state file naming someone
//! else's process, see `host::container::claim`), and a non-root user are refused with a
//! reason before anything is written.

use super::error::ControlError;
use crate::host::HostRoot;
use crate::host::process::{ReadDepth, read_process};
use crate::host::scan::ContainerView;

/// Acts write to kernel files and signal other users' processes: root only.
pub fn require_root(act: &str) -> Result<(), ControlError> {
    if nix::unistd::geteuid().is_root() {
        Ok(())
    } else {
        Err(ControlError::NotRoot {
            what: act.to_string(),
        })
    }
}

/// Checks that `view` may be acted on with `act`: root, not the host's PID 1, not isotop
/// itself, and (when `needs_own_cgroup`) a cgroup of its own that is not the root cgroup — one
/// path in every hierarchy, or at least one cgroup measure found to be its own.
pub fn check(
    root: &HostRoot,
    view: &ContainerView,
    act: &str,
    needs_own_cgroup: bool,
) -> Result<(), ControlError> {
    require_root(act)?;
    let c = &view.container;
    let refuse = |reason: String| ControlError::Refused {
        target: format!("{} ({})", c.name, c.id),
        reason,
    };
    if let Some(reason) = c.trust.refusal() {
        return Err(refuse(format!(
            "it is unverified: {reason}; isotop never acts on a claim it cannot check"
        )));
    }
    if c.pids.contains(&1) || c.init_pid == Some(1) {
        return Err(refuse(
            "it holds the host's PID 1 (the machine's init): isotop never acts on it".into(),
        ));
    }
    let me = std::process::id() as i32;
    if c.pids.contains(&me) {
        return Err(refuse("it is isotop's own process".into()));
    }
    if needs_own_cgroup {
        match c.cgroup_path.as_deref() {
            // No one path in every hierarchy, but some cgroup measure found to be its own
            // (on a hybrid host, typically its unified cgroup with every v1 controller at the
            // root): acts go on, and each write's own live check picks or refuses its site.
            None if own_paths(view).next().is_some() => {
                if let Some(path) = own_paths(view).find(|p| own_cgroup_paths(root).contains(p)) {
                    return Err(refuse(format!("its cgroup {path} is isotop's own cgroup")));
                }
            }
            None => {
                return Err(refuse(format!(
                    "it has no cgroup of its own (runtime {}): {act} would change its parent \
                     cgroup, shared with other processes",
                    c.runtime
                )));
            }
            Some("/") | Some("") => {
                return Err(refuse(
                    "its cgroup is the root cgroup: that would act on the whole host".into(),
                ));
            }
            Some(path) => {
                if own_cgroup_paths(root).iter().any(|p| p == path) {
                    return Err(refuse(format!("its cgroup {path} is isotop's own cgroup")));
                }
            }
        }
    }
    Ok(())
}

/// The paths of the cgroups `measure` found to be the container's own (any hierarchy).
pub(crate) fn own_paths(view: &ContainerView) -> impl Iterator<Item = &String> {
    view.ownership.iter().filter(|o| o.own).map(|o| &o.path)
}

/// The cgroup paths isotop itself is in (every hierarchy), from `/proc/self/cgroup`.
pub fn own_cgroup_paths(root: &HostRoot) -> Vec<String> {
    let me = std::process::id() as i32;
    read_process(root, me, ReadDepth::Full)
        .ok()
        .flatten()
        .map(|p| {
            p.cgroups
                .iter()
                .map(|m| m.path.clone())
                .filter(|p| p != "/")
                .collect()
        })
        .unwrap_or_default()
}
