//! TARGET resolution for `inspect`, `ps`, `enter`, `limit`, `freeze`, `kill`: which one running
//! container a word the operator typed names. Names, ids and even pids can be chosen by
//! strangers (a user's rootless runc or Podman container, a process in its own namespaces
//! calling itself `8d36a66111ac`), so within a tier no kind of match outranks another: a match
//! of one kind never hides a match of another kind that names a different container.
//!
//! Contract, tier by tier; the first tier that matches anything decides:
//! 1. The target is tried as every kind it can be, all at once: the whole **id**; the id **as
//!    shown** by `ls` and the dashboard ([`ShortIds`]); a **prefix of a generated id** (a
//!    [`ContainerId`]: 64 lowercase hex digits, Docker's short ids among its prefixes); a
//!    **name** a runtime recorded; a host **pid** of any of its processes (digits only, `0273`
//!    is pid 273); a **cgroup path** (starts with `/`). If these name exactly one container
//!    (possibly by several kinds), it is the answer. If they name more, the target is ambiguous: exit 2, listing every candidate
//!    with how it matched — so `0273`, pid 273 of one container and an id prefix of another,
//!    lists both, and so does a name of one that is an id prefix of another, or a user's runc
//!    id that is another container's short id.
//! 2. A **prefix of any other id** (name-like ids: LXC, nspawn, runc ids people chose), so
//!    `web1` is LXC's `web1` even beside `web10`, and a unique prefix still works.
//! 3. A **process-chosen name**: the name of a container no runtime names is its init's own
//!    `comm` ([`Container::name_is_process_chosen`]). It can pick its own container, but never
//!    capture a target that names anything else, e.g. another container's short id.
//! 4. Nothing matched: exit 2, listing the containers there are.
//!
//! The acts (`limit`, `freeze`, `thaw`, `kill`) first ask [`cgroup_path`]: a target starting
//! with `/` (or forced with `cgroup:`) is then the cgroup itself, not the container whose
//! cgroup it is (see `control::cgroup_target`); the other subcommands resolve `/x` to the
//! container as above (`cgroup:/x` too).
//!
//! Within every tier, a container named by root-written sources (verified, claimed by no user:
//! Docker, root's runc, the kernel's cgroups and pids) outranks one named by a stranger's
//! files (a rootless runc state, a user's Podman index, verified or not): when both match,
//! only the root-written ones count, so a user who forges a state with a Docker container's id
//! or a Podman entry named `web` cannot make root's `kill web` ambiguous. Two root-written
//! matches are still ambiguous; so are two strangers' matches when nothing root-written
//! matches.

use super::CliError;
use super::short_id::ShortIds;
use crate::control::cgroup_target;
use crate::host::container::Container;
use crate::host::scan::ContainerView;
use crate::units::ContainerId;

/// How a target matched a container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum How {
    Id,
    ShownId,
    IdPrefix,
    Name,
    Pid(i32),
    Cgroup,
    ProcessName,
}

impl How {
    fn describe(self) -> String {
        match self {
            How::Id => "id".into(),
            How::ShownId => "id as shown".into(),
            How::IdPrefix => "id prefix".into(),
            How::Name => "name".into(),
            How::Pid(pid) => format!("pid {pid} is its process"),
            How::Cgroup => "cgroup path".into(),
            How::ProcessName => "name its process gave itself".into(),
        }
    }
}

/// One container the target matched, and every way it did.
struct Candidate<'a> {
    view: &'a ContainerView,
    how: Vec<How>,
}

/// Finds the one container `target` names.
pub(crate) fn resolve<'a>(
    containers: &'a [ContainerView],
    target: &str,
) -> Result<&'a ContainerView, CliError> {
    let target = target.trim();
    let target = target.strip_prefix(cgroup_target::PREFIX).unwrap_or(target);
    if target.is_empty() {
        return Err(CliError::Usage(
            "empty target: give a container id, name, pid or cgroup path".into(),
        ));
    }
    let shown = ShortIds::new(containers.iter().map(|c| c.container.id.as_str()));
    let pid = as_pid(target);
    let mut candidates: Vec<Candidate<'a>> = containers
        .iter()
        .filter_map(|view| {
            let how = trusted_matches(&view.container, target, pid, &shown);
            (!how.is_empty()).then_some(Candidate { view, how })
        })
        .collect();
    if candidates.is_empty() {
        candidates = tier(containers, How::IdPrefix, |c| c.id.starts_with(target));
    }
    if candidates.is_empty() {
        candidates = tier(containers, How::ProcessName, |c| {
            c.name_is_process_chosen() && c.name == target
        });
    }
    prefer_root_written(&mut candidates);
    match candidates.len() {
        1 => Ok(candidates[0].view),
        0 => Err(unknown(target, pid, containers, &shown)),
        _ => Err(ambiguous(target, &candidates, &shown)),
    }
}

/// The cgroup an act's `target` names itself (`/x`, `cgroup:/x`), normalised; `None` for a
/// container target. A malformed path is a usage error.
pub(crate) fn cgroup_path(target: &str) -> Result<Option<String>, CliError> {
    cgroup_target::parse(target)
        .transpose()
        .map_err(CliError::from)
}

/// A record's target as the operator reads it: a cgroup label whole, an id in its short form.
pub(crate) fn shown(target: &str) -> String {
    if target.starts_with(cgroup_target::PREFIX) || target.starts_with('/') {
        crate::host::text::clean_str(target)
    } else {
        super::short_id(target)
    }
}

/// True when only root's files (or the kernel) name `c`: no other user could have written
/// what it is known by.
fn root_written(c: &Container) -> bool {
    c.trust.verified && c.trust.claimed_by_uid.is_none()
}

/// Drops strangers' matches when a root-written container matched too (see the contract).
fn prefer_root_written(candidates: &mut Vec<Candidate<'_>>) {
    if candidates.iter().any(|c| root_written(&c.view.container)) {
        candidates.retain(|c| root_written(&c.view.container));
    }
}

/// The containers `matches` holds for, each matched as `how`.
fn tier<'a>(
    containers: &'a [ContainerView],
    how: How,
    matches: impl Fn(&Container) -> bool,
) -> Vec<Candidate<'a>> {
    containers
        .iter()
        .filter(|view| matches(&view.container))
        .map(|view| Candidate {
            view,
            how: vec![how],
        })
        .collect()
}

/// Every way `target` names `c` in the first tier.
fn trusted_matches(c: &Container, target: &str, pid: Option<i32>, shown: &ShortIds) -> Vec<How> {
    let mut how = Vec::new();
    if c.id == target {
        how.push(How::Id);
    } else if shown.get(&c.id) == target {
        how.push(How::ShownId);
    } else if ContainerId::is_valid(&c.id) && c.id.starts_with(target) {
        how.push(How::IdPrefix);
    }
    if c.name == target && c.name != c.id && !c.name_is_process_chosen() {
        how.push(How::Name);
    }
    if let Some(pid) = pid
        && (c.init_pid == Some(pid) || c.pids.contains(&pid))
    {
        how.push(How::Pid(pid));
    }
    if target.starts_with('/') {
        let path = target.trim_end_matches('/');
        if c.cgroup_path.as_deref() == Some(path) || c.cgroups.iter().any(|m| m.path == path) {
            how.push(How::Cgroup);
        }
    }
    how
}

/// The pid a target of digits only names (leading zeros allowed: `0273` is 273).
fn as_pid(target: &str) -> Option<i32> {
    if !target.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    target.parse::<i32>().ok().filter(|pid| *pid > 0)
}

/// `  8d36a66111ac  web  (docker, pid 4242)`.
fn describe(c: &ContainerView, shown: &ShortIds) -> String {
    let k = &c.container;
    format!(
        "{}  {}  ({}, pid {})",
        shown.get(&k.id),
        k.name,
        k.runtime,
        k.init_pid
            .map(|p| p.to_string())
            .unwrap_or_else(|| "-".into())
    )
}

fn ambiguous(target: &str, candidates: &[Candidate<'_>], shown: &ShortIds) -> CliError {
    let lines: Vec<String> = candidates
        .iter()
        .map(|c| {
            let how: Vec<String> = c.how.iter().map(|h| h.describe()).collect();
            format!("  {}: {}", how.join(", "), describe(c.view, shown))
        })
        .collect();
    CliError::Usage(format!(
        "target {target:?} is ambiguous; it names {} containers:\n{}\n\
         give the whole id, the id as `isotop ls` shows it, a pid or the cgroup path",
        candidates.len(),
        limited(lines)
    ))
}

fn unknown(
    target: &str,
    pid: Option<i32>,
    containers: &[ContainerView],
    shown: &ShortIds,
) -> CliError {
    if let Some(pid) = pid {
        return CliError::Usage(format!(
            "no container has the id, name or pid {target:?}: pid {pid} is not a process of \
             any container (see `isotop ls`, or `isotop ns -p {pid}` for its namespaces)"
        ));
    }
    if target.starts_with('/') {
        return CliError::Usage(format!(
            "no container has the cgroup {target} (see `isotop cgroups` for the tree, \
             `isotop ls` for containers)"
        ));
    }
    if containers.is_empty() {
        return CliError::Usage(format!(
            "no container matches {target:?}: no containers are running"
        ));
    }
    let lines = containers
        .iter()
        .map(|c| format!("  {}", describe(c, shown)))
        .collect();
    CliError::Usage(format!(
        "no container matches {target:?}; the containers are:\n{}",
        limited(lines)
    ))
}

/// At most 20 lines, then a count of the rest (a busy host has thousands).
fn limited(mut lines: Vec<String>) -> String {
    const SHOWN: usize = 20;
    if lines.len() > SHOWN {
        let rest = lines.len() - SHOWN;
        lines.truncate(SHOWN);
        lines.push(format!("  … and {rest} more (see `isotop ls`)"));
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests;
