//! Which processes form which container: cgroup rules first, then runc/crun state, then
//! "own pid and mount namespaces" for what no runtime names.
//!
//! Each process belongs to at most one container. Its cgroup paths are tried v2 first, then
//! each v1 hierarchy in order (the root path `/` says nothing); the first path that names a
//! container decides, and within it the innermost container wins. A runc/crun state whose init
//! is alive claims its cgroup paths; a claim beats a rule only when it is strictly deeper (CRI-O
//! and Podman call runc/crun too, and their paths say more). Runtime helpers that live in a
//! container's cgroup are not its processes: `conmon` (Podman, CRI-O) and the
//! `systemd-nspawn` supervisor. Processes no cgroup names join a runc/crun container when they
//! descend from its init. What remains, in a pid AND a mount namespace that both differ from
//! the host's, is grouped by pid namespace as runtime `unknown`; such a group gets a
//! `cgroup_path` only when its cgroup is its own (`own_cgroup`: every member at the same
//! path in each hierarchy, non-root in every hierarchy carrying a controller — v1 ones on a
//! host that has them, else v2 — and no process outside the group there), else `None` like a
//! group sharing the host's cgroup.

pub(crate) mod own_cgroup;

use foldhash::{HashMap, HashSet};

use self::own_cgroup::{Occupancy, launcher_chain, own_cgroup_path};
use super::claim::{Checker, Trust};
use super::rules::{PathMatch, PathRules, segments};
use crate::host::HostRoot;
use crate::host::namespace::{NsKind, NsSet};
use crate::host::process::{Process, Records, read_environ_var};
use crate::host::runtime::Runtime;
use crate::host::runtime::containerd::TaskIndex;
use crate::host::runtime::file::Writers;
use crate::host::runtime::nspawn;
use crate::host::runtime::oci::OciState;

/// Longest parent chain followed (pid namespaces nest at most 32 deep; process trees are
/// shallow, but a corrupt snapshot must not loop forever).
const MAX_ANCESTRY: usize = 4096;

/// The processes of one container, before its runtime's files are read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub runtime: Runtime,
    pub id: String,
    /// The container's own cgroup path (`None` for a namespace-only group that shares its
    /// cgroup with processes outside it, e.g. the host's).
    pub cgroup_path: Option<String>,
    pub pod_uid: Option<String>,
    /// containerd namespace of the task.
    pub namespace: Option<String>,
    /// Index into the runc/crun states this group came from.
    pub oci: Option<usize>,
    /// Host pids, ascending.
    pub pids: Vec<i32>,
    /// Whether the files naming it may be believed.
    pub trust: Trust,
}

/// Key of a group while processes are added: a runc/crun state is its own container even when
/// another state (say, a user's) uses the same id.
type GroupKey = (Runtime, String, Option<String>, Option<usize>);

/// Groups `processes` (kernel threads are skipped) into containers.
pub fn group_processes<'p>(
    root: &HostRoot,
    processes: impl Into<Records<'p>>,
    host_ns: &NsSet,
    tasks: &TaskIndex,
    states: &[OciState],
) -> Vec<Group> {
    let live: Vec<&Process> = processes
        .into()
        .iter()
        .filter(|p| !p.kernel_thread)
        .collect();
    let by_pid: HashMap<i32, &Process> = live.iter().map(|p| (p.pid, *p)).collect();

    // runc/crun containers whose recorded init is this very process (pid and start time), and
    // whose state is root's or checks out; the cgroup paths each may claim.
    let mut checker = Checker::new(root);
    let mut trusts: Vec<Trust> = Vec::with_capacity(states.len());
    let mut claim_paths: Vec<Vec<String>> = vec![Vec::new(); states.len()];
    let mut alive_inits: HashMap<i32, usize> = HashMap::default();
    let mut unverified_alive: Vec<(usize, i32)> = Vec::new();
    for (index, state) in states.iter().enumerate() {
        let init = state
            .init_pid
            .and_then(|pid| by_pid.get(&pid).copied())
            .filter(|p| state.init_start_ticks.is_none_or(|t| t == p.start_ticks));
        let trust = checker.check(state, init);
        if let Some(init) = init {
            if trust.verified {
                // Root's state dirs are read first: a user's state cannot take their init.
                alive_inits.entry(init.pid).or_insert(index);
                claim_paths[index] = match state.writers {
                    Writers::User(uid) => checker.owned_cgroup_paths(state, uid, init),
                    _ => state.cgroup_paths.clone(),
                };
            } else {
                unverified_alive.push((index, init.pid));
            }
        }
        trusts.push(trust);
    }
    let claims: Vec<(&str, usize)> = alive_inits
        .values()
        .flat_map(|&i| claim_paths[i].iter().map(move |p| (p.as_str(), i)))
        .collect();
    let oci_group = |index: usize, path: Option<&str>| Group {
        runtime: states[index].runtime,
        id: states[index].id.clone(),
        cgroup_path: path.map(str::to_string),
        pod_uid: None,
        namespace: None,
        oci: Some(index),
        pids: Vec::new(),
        trust: trusts[index].clone(),
    };

    let mut rules = PathRules::new(tasks);
    let mut groups: Vec<Group> = Vec::new();
    let mut keys: HashMap<GroupKey, usize> = HashMap::default();
    let mut unassigned: Vec<&Process> = Vec::new();

    for process in &live {
        let key = match choose(process, &mut rules, &claims) {
            Some(Choice::Rule(hit)) => rule_group(root, process, hit, &by_pid),
            Some(Choice::Claim(path, index)) => Some(oci_group(index, Some(path))),
            None => None,
        };
        match key {
            Some(group) => add(&mut groups, &mut keys, group, process.pid),
            None => unassigned.push(process),
        }
    }

    let mut still_unassigned = Vec::new();
    for process in unassigned {
        // A user's container takes only descendants that user runs (not a setuid child).
        match oci_ancestor(process, &by_pid, &alive_inits)
            .filter(|&index| checker.admits(&states[index], process.pid))
        {
            Some(index) => {
                let path = claim_paths[index].first().map(String::as_str);
                add(&mut groups, &mut keys, oci_group(index, path), process.pid);
            }
            None => still_unassigned.push(process),
        }
    }

    for process in still_unassigned {
        if let Some(pid_ns) = own_namespaces(process, host_ns) {
            let group = Group {
                runtime: Runtime::Unknown,
                id: format!("{}{pid_ns}", super::UNKNOWN_ID_PREFIX),
                cgroup_path: None,
                pod_uid: None,
                namespace: None,
                oci: None,
                pids: Vec::new(),
                trust: Trust::root(),
            };
            add(&mut groups, &mut keys, group, process.pid);
        }
    }

    // Claims that did not check out: shown with the process they name only when nothing else
    // took it (never its descendants, never a cgroup).
    let mut taken: HashSet<i32> = groups.iter().flat_map(|g| g.pids.iter().copied()).collect();
    for (index, pid) in unverified_alive {
        let mut group = oci_group(index, None);
        if taken.insert(pid) {
            group.pids.push(pid);
        }
        groups.push(group);
    }
    for group in &mut groups {
        group.pids.sort_unstable();
    }
    give_unknown_groups_own_cgroups(&mut groups, &live, &by_pid);
    groups
}

/// Sets `cgroup_path` of each `unknown` group whose cgroup holds it alone. The occupancy count
/// (one pass over every process) is made only when there is such a group.
fn give_unknown_groups_own_cgroups<'p>(
    groups: &mut [Group],
    live: &[&'p Process],
    by_pid: &HashMap<i32, &'p Process>,
) {
    if !groups.iter().any(|g| g.runtime == Runtime::Unknown) {
        return;
    }
    let occupancy = Occupancy::count(live);
    for group in groups.iter_mut().filter(|g| g.runtime == Runtime::Unknown) {
        let members: Vec<&Process> = group
            .pids
            .iter()
            .filter_map(|pid| by_pid.get(pid).copied())
            .collect();
        let launchers = launcher_chain(&members, |pid| by_pid.get(&pid).copied());
        group.cgroup_path = own_cgroup_path(&members, &launchers, &occupancy);
    }
}

enum Choice<'s> {
    Rule(PathMatch),
    Claim(&'s str, usize),
}

/// The container the process's cgroup paths name: v2 first, then v1 in order.
fn choose<'s>(
    process: &Process,
    rules: &mut PathRules<'_>,
    claims: &[(&'s str, usize)],
) -> Option<Choice<'s>> {
    for path in candidate_paths(process) {
        let rule = rules.match_path(path);
        let claim = claims
            .iter()
            .filter(|(c, _)| is_at_or_below(path, c))
            .max_by_key(|(c, _)| segments(c).len());
        let rule_depth = rule.as_ref().map_or(0, |r| r.depth);
        match (rule, claim) {
            (_, Some((c, i))) if segments(c).len() > rule_depth => {
                return Some(Choice::Claim(c, *i));
            }
            (Some(hit), _) => return Some(Choice::Rule(hit)),
            _ => {}
        }
    }
    None
}

/// The process's distinct non-root cgroup paths, the v2 one first.
fn candidate_paths(process: &Process) -> Vec<&str> {
    let mut paths: Vec<&str> = Vec::new();
    let v2 = process
        .cgroups
        .iter()
        .filter(|m| m.hierarchy == 0 && m.controllers.is_empty());
    let v1 = process
        .cgroups
        .iter()
        .filter(|m| !(m.hierarchy == 0 && m.controllers.is_empty()));
    for membership in v2.chain(v1) {
        let path = membership.path.as_str();
        if path.trim_end_matches('/').is_empty() || paths.contains(&path) {
            continue;
        }
        paths.push(path);
    }
    paths
}

/// True when `path` is `base` or a cgroup below it.
pub fn is_at_or_below(path: &str, base: &str) -> bool {
    let base = base.trim_end_matches('/');
    path == base
        || path
            .strip_prefix(base)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// The group a rule match puts the process in, after excluding runtime helpers and checking a
/// bare nspawn `payload`.
fn rule_group(
    root: &HostRoot,
    process: &Process,
    hit: PathMatch,
    by_pid: &HashMap<i32, &Process>,
) -> Option<Group> {
    let helper = match hit.runtime {
        Runtime::Podman | Runtime::CriO | Runtime::Kubernetes => process.comm == "conmon",
        Runtime::Nspawn => process.comm == "systemd-nspawn",
        _ => false,
    };
    if helper || (hit.runtime == Runtime::Nspawn && nspawn::is_vm(root, &hit.id)) {
        return None;
    }
    let mut hit = hit;
    if hit.bare_payload {
        match ancestors(process, by_pid).find(|a| a.comm == "systemd-nspawn") {
            Some(supervisor) => {
                if let Some(name) = nspawn::machine_name_from_cmdline(&supervisor.cmdline) {
                    hit.id = name;
                }
            }
            None if read_environ_var(root, process.pid, "container").as_deref()
                == Some("systemd-nspawn") => {}
            // Merely a cgroup called `payload`: the container around it, if any, owns it.
            None => return rule_group(root, process, *hit.outer?, by_pid),
        }
    }
    Some(Group {
        runtime: hit.runtime,
        id: hit.id,
        cgroup_path: Some(hit.container_path),
        pod_uid: hit.pod_uid,
        namespace: hit.namespace,
        oci: None,
        pids: Vec::new(),
        trust: Trust::root(),
    })
}

/// The process's parents, nearest first (itself excluded), as far as the snapshot knows them.
fn ancestors<'p>(
    process: &Process,
    by_pid: &'p HashMap<i32, &'p Process>,
) -> impl Iterator<Item = &'p Process> {
    let mut next = process.ppid;
    std::iter::from_fn(move || {
        let parent = *by_pid.get(&next)?;
        next = parent.ppid;
        Some(parent)
    })
    .take(MAX_ANCESTRY)
}

/// The runc/crun container whose live init is this process or one of its ancestors.
fn oci_ancestor(
    process: &Process,
    by_pid: &HashMap<i32, &Process>,
    alive_inits: &HashMap<i32, usize>,
) -> Option<usize> {
    if let Some(index) = alive_inits.get(&process.pid) {
        return Some(*index);
    }
    ancestors(process, by_pid).find_map(|a| alive_inits.get(&a.pid).copied())
}

/// The process's pid namespace inode when both its pid and mount namespaces are known and
/// differ from the host's (both of the host's must be known too).
fn own_namespaces(process: &Process, host_ns: &NsSet) -> Option<u64> {
    let differs = |kind: NsKind| match (process.ns.get(kind), host_ns.get(kind)) {
        (Some(own), Some(host)) => own != host,
        _ => false,
    };
    (differs(NsKind::Pid) && differs(NsKind::Mnt))
        .then(|| process.ns.get(NsKind::Pid))
        .flatten()
}

fn add(groups: &mut Vec<Group>, keys: &mut HashMap<GroupKey, usize>, group: Group, pid: i32) {
    let key = (
        group.runtime,
        group.id.clone(),
        group.namespace.clone(),
        group.oci,
    );
    let index = *keys.entry(key).or_insert_with(|| {
        groups.push(group);
        groups.len() - 1
    });
    groups[index].pids.push(pid);
}

#[cfg(test)]
mod tests;
