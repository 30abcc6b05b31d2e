//! TARGET resolution for `inspect`, `ps` (and later the acts): an id or unique id prefix, a
//! name, a host pid, or a cgroup path. An unknown or ambiguous target is the user's mistake:
//! a `CliError::Usage` (exit 2) that lists the candidates.

use super::CliError;
use crate::host::scan::ContainerView;

/// Finds the one container `target` names.
pub fn resolve<'a>(
    containers: &'a [ContainerView],
    target: &str,
) -> Result<&'a ContainerView, CliError> {
    let target = target.trim();
    if target.is_empty() {
        return Err(CliError::Usage(
            "empty target: give a container id, name, pid or cgroup path".into(),
        ));
    }
    // Exact id or exact name wins over everything else.
    let exact: Vec<&ContainerView> = containers
        .iter()
        .filter(|c| c.container.id == target || c.container.name == target)
        .collect();
    if exact.len() == 1 {
        return Ok(exact[0]);
    }
    if exact.len() > 1 {
        return Err(ambiguous(target, &exact));
    }
    if let Ok(pid) = target.parse::<i32>() {
        return by_pid(containers, pid);
    }
    if target.starts_with('/') {
        return by_cgroup_path(containers, target);
    }
    let prefixed: Vec<&ContainerView> = containers
        .iter()
        .filter(|c| c.container.id.starts_with(target))
        .collect();
    match prefixed.len() {
        1 => Ok(prefixed[0]),
        0 => Err(unknown(target, containers)),
        _ => Err(ambiguous(target, &prefixed)),
    }
}

fn by_pid(containers: &[ContainerView], pid: i32) -> Result<&ContainerView, CliError> {
    // Innermost first: containers list each process once, so at most one matches.
    containers
        .iter()
        .find(|c| c.container.pids.contains(&pid) || c.container.init_pid == Some(pid))
        .ok_or_else(|| {
            CliError::Usage(format!(
                "pid {pid} is not a process of any container (see `isotop ls`, or `isotop ns -p {pid}` for its namespaces)"
            ))
        })
}

fn by_cgroup_path<'a>(
    containers: &'a [ContainerView],
    path: &str,
) -> Result<&'a ContainerView, CliError> {
    let path = path.trim_end_matches('/');
    let matching: Vec<&ContainerView> = containers
        .iter()
        .filter(|c| {
            c.container.cgroup_path.as_deref() == Some(path)
                || c.container.cgroups.iter().any(|m| m.path == path)
        })
        .collect();
    match matching.len() {
        1 => Ok(matching[0]),
        0 => Err(CliError::Usage(format!(
            "no container has the cgroup {path} (see `isotop cgroups` for the tree, `isotop ls` for containers)"
        ))),
        _ => Err(ambiguous(path, &matching)),
    }
}

fn describe(c: &ContainerView) -> String {
    let short = super::short_id(&c.container.id);
    format!(
        "  {short}  {}  ({}, pid {})",
        c.container.name,
        c.container.runtime,
        c.container
            .init_pid
            .map(|p| p.to_string())
            .unwrap_or_else(|| "-".into())
    )
}

fn ambiguous(target: &str, candidates: &[&ContainerView]) -> CliError {
    CliError::Usage(format!(
        "target {target:?} is ambiguous; it matches {} containers:\n{}\ngive more of the id, or the pid",
        candidates.len(),
        candidate_list(candidates)
    ))
}

fn unknown(target: &str, containers: &[ContainerView]) -> CliError {
    if containers.is_empty() {
        return CliError::Usage(format!(
            "no container matches {target:?}: no containers are running"
        ));
    }
    CliError::Usage(format!(
        "no container matches {target:?}; the containers are:\n{}",
        candidate_list(&containers.iter().collect::<Vec<_>>())
    ))
}

/// At most 20 candidates, then a count of the rest (a busy host has thousands).
fn candidate_list(candidates: &[&ContainerView]) -> String {
    const SHOWN: usize = 20;
    let mut lines: Vec<String> = candidates.iter().take(SHOWN).map(|c| describe(c)).collect();
    if candidates.len() > SHOWN {
        lines.push(format!(
            "  … and {} more (see `isotop ls`)",
            candidates.len() - SHOWN
        ));
    }
    lines.join("\n")
}
